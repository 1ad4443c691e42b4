"""jaxneuro: differentiable simulation for computational neuroscience."""

from . import models as models
from . import solvers as solvers
from ._simulator import Channel as Channel
from ._simulator import IOSpec as IOSpec
from ._simulator import Simulator as Simulator

__version__ = "0.1.0"
