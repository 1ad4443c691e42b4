"""Fidelity reports: every applicable metric for one cell, or aggregated over a batch of cells.

Keys (all values are Python floats; a metric that is undefined for the data is ``nan``):

- voltage (``v_pred``, ``v_true`` given): ``rmse``, ``mae`` (mV), ``explained_variance``,
  ``r2`` (:func:`coefficient_of_determination`), ``pearson_r``; and ``rmse_matched``,
  ``mae_matched``, ``explained_variance_matched``, ``r2_matched`` with the prediction z-scored
  onto the truth (Beniaguev's convention). All on traces clipped at ``clip_mv`` if given.
- classification (``spike_prob``, ``spikes_true`` given): ``auc``, ``d_prime``, and for each
  ``f`` in ``fprs``: ``tpr_at_fpr_{f:g}`` (interpolated) and ``partial_auc_{f:g}``
  (e.g. ``tpr_at_fpr_0.0025``). ``nan`` if the labels hold a single class.
- timing (``spikes_pred``, ``spikes_true`` given): ``n_pred``, ``n_true``, ``n_matched``,
  ``precision``, ``recall``, ``f1`` (within ``window_ms``), ``jitter_mean_ms``,
  ``jitter_std_ms``, ``coincidence_factor`` (within ``coincidence_window_ms``; ``nan`` where
  2νΔ ≥ 1), ``rate_pred_hz``, ``rate_true_hz``, ``rate_error_hz`` (signed),
  ``rate_abs_error_hz``, ``rate_rel_error``. With ``spikes_true`` alone: ``n_true``,
  ``rate_true_hz``.

Spike traces are counts per sample (0/1 indicators); times are taken as bin starts
(:func:`spike_times`). Selection (≤ 24 spikes), burn-in and the skipped first 500 ms are the caller's: slice first.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from ._checks import number, real_array, same_shape
from ._coincidence import coincidence_factor
from ._decoding import spike_times
from ._matching import match_spikes
from ._rates import firing_rate_error
from ._roc import roc_metrics
from ._voltage import (
    coefficient_of_determination,
    explained_variance,
    mae,
    pearson_r,
    rmse,
)

_VOLTAGE = {
    "rmse": rmse,
    "mae": mae,
    "explained_variance": explained_variance,
    "r2": coefficient_of_determination,
}


def _inputs(ndim, v_pred, v_true, spike_prob, spikes_pred, spikes_true):
    """Check presence, dimensionality and matching shapes; return float64 arrays (or None)."""
    if (v_pred is None) != (v_true is None):
        raise ValueError("give both v_pred and v_true, or neither")
    if spike_prob is not None and spikes_true is None:
        raise ValueError("spike_prob needs spikes_true (the 0/1 labels of the same bins)")
    if spikes_pred is not None and spikes_true is None:
        raise ValueError("spikes_pred needs spikes_true")
    given = {
        "v_pred": v_pred,
        "v_true": v_true,
        "spike_prob": spike_prob,
        "spikes_pred": spikes_pred,
        "spikes_true": spikes_true,
    }
    arrays = {k: real_array(k, v) for k, v in given.items() if v is not None}
    if not arrays:
        raise ValueError("nothing to summarise: give v_pred/v_true and/or spikes_true")
    shape_of = "[T]" if ndim == 1 else "[cells, T]"
    first = next(iter(arrays))
    for name, arr in arrays.items():
        if arr.ndim != ndim:
            raise ValueError(f"{name} must be {shape_of}, got shape {arr.shape}")
        same_shape(first, arrays[first], name, arr)
        if name.startswith("spikes_") and np.any((arr < 0) | (arr != np.round(arr))):
            raise ValueError(
                f"{name} must hold non-negative integer spike counts (0/1 indicators); "
                "threshold a probability or voltage with metrics.decode_spikes first"
            )
    return [arrays.get(k) for k in given]


def _fpr_list(fprs):
    return [number("fprs entry", f, low=0.0, strict=True) for f in np.atleast_1d(np.asarray(fprs))]


def _voltage(v_pred, v_true, clip_mv, *, axis=None, suffix=""):
    out = {}
    for name, fn in _VOLTAGE.items():
        out[name + suffix] = fn(v_pred, v_true, clip_mv=clip_mv, axis=axis)
    out["pearson_r" + suffix] = pearson_r(v_pred, v_true, clip_mv=clip_mv, axis=axis)
    for name, fn in _VOLTAGE.items():
        out[name + "_matched" + suffix] = fn(
            v_pred, v_true, clip_mv=clip_mv, match_moments=True, axis=axis
        )
    return out


def _classification(spike_prob, spikes_true, fprs):
    labels = spikes_true > 0
    if labels.all() or not labels.any():  # single class: every ROC metric is undefined
        keys = ["auc", "d_prime"]
        keys += [f"tpr_at_fpr_{f:g}" for f in fprs] + [f"partial_auc_{f:g}" for f in fprs]
        return dict.fromkeys(keys, math.nan)
    return roc_metrics(spike_prob, labels, fprs)


def _timing(spikes_pred, spikes_true, dt, window_ms, coincidence_window_ms):
    pred, true = spike_times(spikes_pred, dt), spike_times(spikes_true, dt)
    duration = spikes_true.size * dt
    match = match_spikes(pred, true, window_ms)
    n = match.lag_ms.size
    lag = match.lag_ms
    try:
        gamma = coincidence_factor(pred, true, coincidence_window_ms, duration)
    except ValueError:  # 2·rate·window ≥ 1: Γ undefined for this cell
        gamma = math.nan
    rate = firing_rate_error(pred, true, duration)
    return {
        "n_pred": float(pred.size),
        "n_true": float(true.size),
        "n_matched": float(n),
        "precision": n / pred.size if pred.size else math.nan,
        "recall": n / true.size if true.size else math.nan,
        "f1": 2 * n / (pred.size + true.size) if pred.size + true.size else math.nan,
        "jitter_mean_ms": float(lag.mean()) if n else math.nan,
        "jitter_std_ms": float(lag.std()) if n else math.nan,
        "coincidence_factor": gamma,
        "rate_pred_hz": rate.rate_pred_hz,
        "rate_true_hz": rate.rate_true_hz,
        "rate_error_hz": rate.error_hz,
        "rate_abs_error_hz": rate.abs_error_hz,
        "rate_rel_error": rate.rel_error,
    }


def summarise(
    v_pred=None,
    v_true=None,
    *,
    spike_prob=None,
    spikes_pred=None,
    spikes_true=None,
    dt,
    clip_mv=None,
    window_ms=10.0,
    coincidence_window_ms=4.0,
    fprs=(0.0025, 0.01),
) -> dict[str, float]:
    """Every applicable fidelity metric for one cell: a flat ``dict[str, float]``.

    All inputs are 1-D traces ``[T]`` sampled every ``dt`` ms: voltages (mV, or any trace),
    the predicted spike score per bin, and spike count/indicator traces (decode a score first
    with :func:`decode_spikes`). Give any subset that makes sense; the keys are listed in the
    module docstring. Defaults: ``window_ms=10`` (Oláh et al. 2022), ``coincidence_window_ms=4``
    (Jolivet et al. 2008), ``fprs=(0.0025, 0.01)`` (Beniaguev et al. 2021); ``clip_mv=-55.0``
    gives Beniaguev's clipped soma metrics.
    """
    dt = number("dt", dt, low=0.0, strict=True)
    v_pred, v_true, prob, s_pred, s_true = _inputs(
        1, v_pred, v_true, spike_prob, spikes_pred, spikes_true
    )
    fprs = _fpr_list(fprs)
    out: dict[str, float] = {}
    if v_pred is not None:
        out.update(_voltage(v_pred, v_true, clip_mv))
    if prob is not None:
        out.update(_classification(prob, s_true, fprs))
    if s_pred is not None:
        out.update(_timing(s_pred, s_true, dt, window_ms, coincidence_window_ms))
    elif s_true is not None:
        out["n_true"] = float(spike_times(s_true, dt).size)
        out["rate_true_hz"] = 1000.0 * out["n_true"] / (s_true.size * dt)
    return out


def _nanmean_sd(values):
    x = np.asarray(values, dtype=np.float64)
    if np.all(np.isnan(x)):
        return math.nan, math.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return float(np.nanmean(x)), float(np.nanstd(x))


def summarise_batch(
    v_pred=None,
    v_true=None,
    *,
    spike_prob=None,
    spikes_pred=None,
    spikes_true=None,
    dt,
    clip_mv=None,
    window_ms=10.0,
    coincidence_window_ms=4.0,
    fprs=(0.0025, 0.01),
) -> dict[str, float]:
    """Fidelity over a batch of cells: inputs ``[cells, T]``, a flat ``dict[str, float]``.

    - ``n_cells``; counts ``n_pred``, ``n_true``, ``n_matched`` are totals over cells.
    - Every other per-cell key of :func:`summarise` (voltage and timing) is the mean over cells,
      ignoring cells where it is ``nan``, and ``<key>_sd`` its SD across cells (ddof=0), as
      Oláh et al. 2022 report mean ± SD over runs.
    - Pooled over all cells' samples, Beniaguev et al. 2021's convention for the headline
      numbers: ``auc``, ``d_prime``, ``tpr_at_fpr_*``, ``partial_auc_*`` (over all bins);
      ``<voltage key>_pooled`` (including ``rmse_matched_pooled``: moments matched over the
      whole batch, as in ``evaluate_CNN_test.py``); ``precision_pooled``, ``recall_pooled``,
      ``f1_pooled`` from the total counts.

    Arguments as :func:`summarise`.
    """
    dt = number("dt", dt, low=0.0, strict=True)
    v_pred, v_true, prob, s_pred, s_true = _inputs(
        2, v_pred, v_true, spike_prob, spikes_pred, spikes_true
    )
    fprs = _fpr_list(fprs)
    n_cells = next(a for a in (v_pred, s_true) if a is not None).shape[0]
    per_cell: dict[str, np.ndarray] = {}
    if v_pred is not None:  # vectorised over cells
        per_cell.update(_voltage(v_pred, v_true, clip_mv, axis=1))
    if s_pred is not None:
        cells = [
            _timing(s_pred[c], s_true[c], dt, window_ms, coincidence_window_ms)
            for c in range(n_cells)
        ]
        per_cell.update({k: np.array([cell[k] for cell in cells]) for k in cells[0]})
    elif s_true is not None:
        per_cell["n_true"] = s_true.sum(axis=1)
        per_cell["rate_true_hz"] = 1000.0 * per_cell["n_true"] / (s_true.shape[1] * dt)
    out: dict[str, float] = {"n_cells": float(n_cells)}
    for key, values in per_cell.items():
        if key in ("n_pred", "n_true", "n_matched"):
            out[key] = float(np.sum(values))
        else:
            out[key], out[key + "_sd"] = _nanmean_sd(values)
    if v_pred is not None:
        out.update(_voltage(v_pred, v_true, clip_mv, suffix="_pooled"))
    if prob is not None:
        out.update(_classification(prob, s_true, fprs))
    if s_pred is not None:
        n, n_p, n_t = out["n_matched"], out["n_pred"], out["n_true"]
        out["precision_pooled"] = n / n_p if n_p else math.nan
        out["recall_pooled"] = n / n_t if n_t else math.nan
        out["f1_pooled"] = 2 * n / (n_p + n_t) if n_p + n_t else math.nan
    return out
