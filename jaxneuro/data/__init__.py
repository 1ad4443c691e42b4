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
from ._describe import DEFAULT_AMPLITUDE as DEFAULT_AMPLITUDE
from ._describe import OLAH_INPUTS as OLAH_INPUTS
from ._describe import default_sampler as default_sampler
from ._describe import ou_defaults as ou_defaults
from ._describe import sampler_from_description as sampler_from_description
from ._describe import sampler_summary as sampler_summary
from ._describe import takes_olah as takes_olah
from ._generate import generate as generate
from ._samplers import BeniaguevSynaptic as BeniaguevSynaptic
from ._samplers import OlahSynaptic as OlahSynaptic
from ._samplers import OUCurrent as OUCurrent
from ._samplers import Sampler as Sampler
from ._store import DatasetError as DatasetError

__all__ = [
    "DEFAULT_AMPLITUDE",
    "OLAH_INPUTS",
    "Batch",
    "BeniaguevSynaptic",
    "Dataset",
    "DatasetError",
    "OUCurrent",
    "OlahSynaptic",
    "Sampler",
    "default_sampler",
    "generate",
    "open_dataset",
    "ou_defaults",
    "sampler_from_description",
    "sampler_summary",
    "takes_olah",
]
