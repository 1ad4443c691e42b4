"""jaxneuro: differentiable simulation for computational neuroscience."""

from . import data as data
from . import metrics as metrics
from . import models as models
from . import optimize as optimize
from . import solvers as solvers
from . import stimuli as stimuli
from . import surrogates as surrogates
from . import training as training
from ._population import population as population
from ._registry import available as available
from ._registry import create as create
from ._registry import register as register
from ._saving import load as load
from ._saving import load_teacher as load_teacher
from ._saving import pretrained as pretrained
from ._saving import read_card as read_card
from ._saving import save as save
from ._simulator import Channel as Channel
from ._simulator import IOSpec as IOSpec
from ._simulator import Simulator as Simulator
from .evaluation import evaluate as evaluate
from .training import fit as fit

__version__ = "0.1.0"
