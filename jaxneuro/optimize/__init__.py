"""Gradient-based design and fitting through any Simulator (optax).

Verbs that build an objective — :func:`spike_train_loss`, :func:`spike_count_loss`,
:func:`voltage_loss`, :func:`filter_spikes` — and two finished products that minimise one:
:func:`stimulus` (an input waveform) and :func:`parameters` (model parameters). Both run the
same loop, a jitted ``lax.scan`` of optax updates, and return an :class:`OptimizeResult`; both
take analytical models and learned surrogates alike.
"""

from ._compensation import BandGains as BandGains
from ._compensation import Compensation as Compensation
from ._compensation import CompensationResult as CompensationResult
from ._compensation import compensate as compensate
from ._compensation import response_error as response_error
from ._engine import OptimizeResult as OptimizeResult
from ._engine import Progress as Progress
from ._losses import filter_spikes as filter_spikes
from ._losses import spike_count_loss as spike_count_loss
from ._losses import spike_train_loss as spike_train_loss
from ._losses import voltage_loss as voltage_loss
from ._parameters import parameters as parameters
from ._penalties import Penalties as Penalties
from ._stimulus import stimulus as stimulus

__all__ = [
    "BandGains",
    "Compensation",
    "CompensationResult",
    "compensate",
    "response_error",
    "OptimizeResult",
    "Penalties",
    "Progress",
    "filter_spikes",
    "parameters",
    "spike_count_loss",
    "spike_train_loss",
    "stimulus",
    "voltage_loss",
]
