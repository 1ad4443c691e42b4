"""Training data: stimulus distributions, resumable dataset generation, and reading datasets.

```python
sampler = jaxneuro.data.OlahSynaptic(duration_ms=1000.0)
ds = jaxneuro.data.generate("hh-synaptic", sampler, n=1000, path="hh.zarr")
x, y = ds.batch(ds.split("train")[:32])
```
"""

from ._dataset import Batch as Batch
from ._dataset import Dataset as Dataset
from ._dataset import open_dataset as open_dataset
from ._generate import generate as generate
from ._samplers import BeniaguevSynaptic as BeniaguevSynaptic
from ._samplers import OlahSynaptic as OlahSynaptic
from ._samplers import OUCurrent as OUCurrent
from ._samplers import Sampler as Sampler
from ._store import DatasetError as DatasetError

__all__ = [
    "Batch",
    "BeniaguevSynaptic",
    "Dataset",
    "DatasetError",
    "OUCurrent",
    "OlahSynaptic",
    "Sampler",
    "generate",
    "open_dataset",
]
