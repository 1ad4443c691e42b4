"""The Zhang & Young (2020) E/I cortical circuit, its response statistics, dataset and surrogate.

:class:`Circuit` is the normalised conductance-based integrate-and-fire network of Chariker,
Shapley & Young (2016) (``cortical_circuit.md`` §2; ``S_QQ'`` is the coupling from Q' to Q).
"""

from ._circuit import PARAMETER_NAMES as PARAMETER_NAMES
from ._circuit import STATISTIC_NAMES as STATISTIC_NAMES
from ._circuit import V_E as V_E
from ._circuit import V_I as V_I
from ._circuit import Circuit as Circuit
from ._circuit import Graph as Graph
from ._circuit import from_mV as from_mV
from ._circuit import to_mV as to_mV
from ._circuit import trace_statistics as trace_statistics
from ._dataset import BOX as BOX
from ._dataset import REGIMES as REGIMES
from ._dataset import box_arrays as box_arrays
from ._dataset import generate_sweep as generate_sweep
from ._dataset import latin_hypercube as latin_hypercube
from ._dataset import load_sweep as load_sweep
from ._dataset import noise_key as noise_key
from ._dataset import regime as regime
from ._saving import load_fit as load_fit
from ._saving import read_fit_card as read_fit_card
from ._saving import save_fit as save_fit
from ._saving import shipped_fits as shipped_fits
from ._saving import write_fit_card as write_fit_card
from ._surrogate import Fitted as Fitted
from ._surrogate import fit_regimes as fit_regimes
from ._surrogate import fit_statistics as fit_statistics
from ._surrogate import gains as gains
from ._surrogate import predict as predict
from ._surrogate import search_couplings as search_couplings
from ._surrogate import split as split
