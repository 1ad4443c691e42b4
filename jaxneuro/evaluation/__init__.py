"""Fidelity and speed of a surrogate against its teacher."""

from ._gradients import cosine_similarity as cosine_similarity
from ._report import evaluate as evaluate
from ._speed import timed_run as timed_run
