"""Fidelity of one output channel, by its kind: traces, rates and events.

Each function takes teacher and surrogate arrays ``[cells, T]`` or ``[cells, T, width]`` at the
output sample interval (a wide channel's columns count as further cells) and returns a flat
``dict[str, float]``.
"""

from __future__ import annotations

import numpy as np

from .. import metrics
from .._simulator import Channel


def as_cells(a) -> np.ndarray:
    """``[cells, T]`` float64, with a wide channel's columns as further cells."""
    a = np.asarray(a, dtype=np.float64)
    if a.ndim == 3:
        a = np.moveaxis(a, 2, 1).reshape(-1, a.shape[1])
    return a


def trace_fidelity(c: Channel, y_true, y_pred, *, clip_mv: float | None) -> dict[str, float]:
    """RMSE, MAE (in the channel's unit), explained variance and Pearson r; for a trace in mV
    also with both traces clipped at ``clip_mv`` (Beniaguev et al. 2021's spike clipping)."""
    t, p = as_cells(y_true), as_cells(y_pred)
    out = {
        "rmse": metrics.rmse(p, t),
        "mae": metrics.mae(p, t),
        "explained_variance": metrics.explained_variance(p, t),
        "pearson_r": metrics.pearson_r(p, t),
    }
    if c.unit == "mV" and clip_mv is not None:
        out["rmse_clipped"] = metrics.rmse(p, t, clip_mv=clip_mv)
        out["explained_variance_clipped"] = metrics.explained_variance(p, t, clip_mv=clip_mv)
    return out


def rate_fidelity(c: Channel, y_true, y_pred) -> dict[str, float]:
    """RMSE and MAE (spikes/s), explained variance, Pearson r, and the error of the mean rate
    (absolute and relative to the teacher's)."""
    t, p = as_cells(y_true), as_cells(y_pred)
    mean_true, mean_pred = float(t.mean()), float(p.mean())
    return {
        "rmse": metrics.rmse(p, t),
        "mae": metrics.mae(p, t),
        "explained_variance": metrics.explained_variance(p, t),
        "pearson_r": metrics.pearson_r(p, t),
        "mean_true": mean_true,
        "mean_pred": mean_pred,
        "mean_error": mean_pred - mean_true,
        "mean_relative_error": (mean_pred - mean_true) / mean_true if mean_true else float("nan"),
    }


def _bins_1ms(events_true, prob, dt):
    """Labels and probabilities on 1 ms bins (any event; ``1 − Π(1 − p)``)."""
    k = round(1.0 / dt)
    if dt >= 1.0 or k <= 1:
        return (events_true > 0).astype(np.int8), prob
    if abs(k * dt - 1.0) > 1e-6:
        raise ValueError(f"dt = {dt} ms does not tile 1 ms bins")
    n, t = events_true.shape
    t = (t // k) * k
    true = events_true[:, :t].reshape(n, -1, k).sum(-1) > 0
    binned = 1.0 - np.prod(1.0 - prob[:, :t].reshape(n, -1, k), axis=-1)
    return true.astype(np.int8), binned


def events_fidelity(
    y_true, prob, *, dt: float, threshold: float, window_ms: float
) -> tuple[dict[str, float], dict[str, np.ndarray]]:
    """Event timing and detection of a surrogate's event probabilities against teacher counts.

    Predicted events are the peaks of ``prob`` above ``threshold`` (at least 2 ms apart);
    precision, recall, F1, jitter, coincidence factor Γ and rate error within ±``window_ms``;
    ROC AUC and true-positive rates at 0.25 % and 1 % false positives on 1 ms bins (when both
    classes occur). Returns the metrics and the arrays the figures need.
    """
    s_true, p = as_cells(y_true), as_cells(prob)
    s_pred = metrics.decode_spikes(p, threshold, max(1, round(2.0 / dt)), mode="peak")
    timing = metrics.summarise_batch(
        spikes_pred=s_pred,
        spikes_true=s_true,
        dt=dt,
        window_ms=window_ms,
        coincidence_window_ms=window_ms,
    )
    out = {k: timing[k] for k in timing if not k.endswith("_sd")}
    arrays = {"true": s_true, "pred": s_pred}
    bins_true, bins_prob = _bins_1ms(s_true, p, dt)
    if 0 < bins_true.sum() < bins_true.size:
        out.update(metrics.roc_metrics(bins_prob, bins_true))
        arrays.update(bins_true=bins_true, bins_prob=bins_prob)
    return out, arrays
