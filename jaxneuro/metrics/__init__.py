"""Fidelity metrics: pure functions comparing a prediction with its ground truth.

- traces (mV): :func:`rmse`, :func:`mae`, :func:`explained_variance`,
  :func:`coefficient_of_determination`, :func:`pearson_r` (optional spike clipping and moment
  matching; jnp-compatible);
- spike classification on bins: :func:`roc_curve`, :func:`roc_auc`, :func:`tpr_at_fpr`,
  :func:`partial_auc`, :func:`d_prime`, and :func:`roc_metrics` (all of them from one sort);
- spike timing (ms): :func:`match_spikes`, :func:`precision_recall`, :func:`jitter`,
  :func:`coincidence_factor`, :func:`firing_rate_error`;
- decoding: :func:`spike_times`, :func:`decode_spikes`;
- reports: :func:`summarise` (one cell), :func:`summarise_batch` (``[cells, T]``).

Malformed input raises ``ValueError``; a metric undefined for well-formed data is ``nan``,
except the ROC family, which raises on single-class labels. Each docstring cites its source.
"""

from ._coincidence import coincidence_factor as coincidence_factor
from ._decoding import decode_spikes as decode_spikes
from ._decoding import spike_times as spike_times
from ._matching import Jitter as Jitter
from ._matching import PrecisionRecall as PrecisionRecall
from ._matching import SpikeMatch as SpikeMatch
from ._matching import jitter as jitter
from ._matching import match_spikes as match_spikes
from ._matching import precision_recall as precision_recall
from ._rates import RateError as RateError
from ._rates import firing_rate_error as firing_rate_error
from ._roc import d_prime as d_prime
from ._roc import partial_auc as partial_auc
from ._roc import roc_auc as roc_auc
from ._roc import roc_curve as roc_curve
from ._roc import roc_metrics as roc_metrics
from ._roc import tpr_at_fpr as tpr_at_fpr
from ._summary import summarise as summarise
from ._summary import summarise_batch as summarise_batch
from ._voltage import coefficient_of_determination as coefficient_of_determination
from ._voltage import explained_variance as explained_variance
from ._voltage import mae as mae
from ._voltage import pearson_r as pearson_r
from ._voltage import rmse as rmse

__all__ = [
    "Jitter",
    "PrecisionRecall",
    "RateError",
    "SpikeMatch",
    "coefficient_of_determination",
    "coincidence_factor",
    "d_prime",
    "decode_spikes",
    "explained_variance",
    "firing_rate_error",
    "jitter",
    "mae",
    "match_spikes",
    "partial_auc",
    "pearson_r",
    "precision_recall",
    "rmse",
    "roc_auc",
    "roc_curve",
    "roc_metrics",
    "spike_times",
    "summarise",
    "summarise_batch",
    "tpr_at_fpr",
]
