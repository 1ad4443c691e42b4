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
from ._standard import BRUNEL_REGIMES as BRUNEL_REGIMES
from ._standard import brunel as brunel
from ._standard import brunel_rate as brunel_rate
from ._standard import brunel_state as brunel_state
from ._standard import cuba as cuba
from ._standard import cuba_input as cuba_input
from ._standard import poisson_drive as poisson_drive
from ._standard import run_poisson as run_poisson
from ._standard import spike_statistics as spike_statistics
