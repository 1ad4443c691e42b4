"""Stimulus generators: injected currents and spike trains, sampled every ``dt`` ms."""

from ._currents import (
    ornstein_uhlenbeck as ornstein_uhlenbeck,
)
from ._currents import (
    ramp as ramp,
)
from ._currents import (
    sine as sine,
)
from ._currents import (
    step as step,
)
from ._doubly_stochastic import HOLD_MENU_MS as HOLD_MENU_MS
from ._doubly_stochastic import SIGMA_MENU_MS as SIGMA_MENU_MS
from ._doubly_stochastic import check_doubly_stochastic as check_doubly_stochastic
from ._doubly_stochastic import (
    doubly_stochastic as doubly_stochastic,
)
from ._spike_trains import (
    inhomogeneous_poisson as inhomogeneous_poisson,
)
from ._spike_trains import (
    poisson as poisson,
)
from ._stack import stack as stack

__all__ = [
    "HOLD_MENU_MS",
    "SIGMA_MENU_MS",
    "check_doubly_stochastic",
    "doubly_stochastic",
    "inhomogeneous_poisson",
    "ornstein_uhlenbeck",
    "poisson",
    "ramp",
    "sine",
    "stack",
    "step",
]
