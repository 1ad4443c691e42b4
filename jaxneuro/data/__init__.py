"""Training data: stimulus distributions for teachers."""

from ._samplers import OlahSynaptic as OlahSynaptic
from ._samplers import OUCurrent as OUCurrent
from ._samplers import Sampler as Sampler

__all__ = ["OUCurrent", "OlahSynaptic", "Sampler"]
