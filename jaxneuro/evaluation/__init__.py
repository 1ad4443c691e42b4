"""Fidelity and speed of a surrogate against its teacher."""

from ._gradients import cosine_similarity as cosine_similarity
from ._report import evaluate as evaluate
from ._speed import timed_run as timed_run
from ._tables import fidelity_rows as fidelity_rows
from ._tables import format_seconds as format_seconds
from ._tables import format_table as format_table
from ._threshold import THRESHOLDS as THRESHOLDS
from ._threshold import calibrate_threshold as calibrate_threshold
