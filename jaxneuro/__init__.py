"""jaxneuro: differentiable simulation for computational neuroscience."""

from . import data as data
from . import metrics as metrics
from . import models as models
from . import optimize as optimize
from . import solvers as solvers
from . import stimuli as stimuli
from ._population import population as population
from ._registry import available as available
from ._registry import create as create
from ._registry import register as register
from ._simulator import Channel as Channel
from ._simulator import IOSpec as IOSpec
from ._simulator import Simulator as Simulator

__version__ = "0.1.0"
