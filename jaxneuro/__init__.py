"""jaxneuro: differentiable simulation for computational neuroscience."""

from . import circuits as circuits
from . import data as data
from . import metrics as metrics
from . import models as models
from . import networks as networks
from . import optimize as optimize
from . import solvers as solvers
from . import stimuli as stimuli
from . import surrogates as surrogates
from . import training as training
from ._chain import Chain as Chain
from ._population import population as population
from ._registry import available as available
from ._registry import create as create
from ._registry import register as register
from ._registry import register_family as register_family
from ._registry import surrogate_families as surrogate_families
from ._saving import load as load
from ._saving import load_teacher as load_teacher
from ._saving import pretrained as pretrained
from ._saving import read_card as read_card
from ._saving import save as save
from ._simulator import EVENTS as EVENTS
from ._simulator import KINDS as KINDS
from ._simulator import RATE as RATE
from ._simulator import TRACE as TRACE
from ._simulator import Channel as Channel
from ._simulator import IOSpec as IOSpec
from ._simulator import Simulator as Simulator
from ._simulator import check_inputs as check_inputs
from ._simulator import n_samples as n_samples
from .evaluation import evaluate as evaluate
from .networks import Network as Network
from .training import fit as fit

__version__ = "0.1.0"
