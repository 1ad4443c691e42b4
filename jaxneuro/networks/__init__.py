"""Spiking networks: populations of any Simulators coupled by projections, as one Simulator.

:class:`Network` steps its :class:`Population` s in lock-step, exchanging spikes once per
exchange interval through :class:`Projection` s (dense matrices or fixed-width sparse lists with
delays in ring buffers); the connectivity builders draw graphs with a recorded seed.
"""

from ._coba import coba as coba
from ._coba import coba_input as coba_input
from ._coba import coba_state as coba_state
from ._connectivity import Connectivity as Connectivity
from ._connectivity import Dense as Dense
from ._connectivity import Sparse as Sparse
from ._connectivity import describe as describe
from ._connectivity import explicit as explicit
from ._connectivity import fixed_indegree as fixed_indegree
from ._connectivity import fixed_probability as fixed_probability
from ._connectivity import from_matrix as from_matrix
from ._delays import delay_samples as delay_samples
from ._network import Network as Network
from ._population import External as External
from ._population import Population as Population
from ._projection import Projection as Projection
from ._sharding import shard as shard
