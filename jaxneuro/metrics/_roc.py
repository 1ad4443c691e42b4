"""Spike classification on time bins: ROC curve, AUC, TPR at a fixed FPR, partial AUC, d′.

Conventions shared by every function here (Beniaguev et al. 2021, Neuron 109:2727, §"Evaluation";
Spieler et al. 2024, ELM):

- ``spike_prob`` is any real score per bin (probability, logit or voltage: only the order
  matters) and ``spike_true`` the 0/1 (or bool) label of the same bins, usually 1 ms bins.
  Both may have any shape and are pooled over all bins (``[cells, T]`` gives the pooled AUC of
  the papers). Evaluation filters (skip the first 500 ms, keep cells with ≤ 24 spikes) are the
  caller's: slice before calling.
- A bin is predicted positive when ``spike_prob >= threshold``; tied scores move together,
  so the ROC curve has diagonal segments at ties.
- Inputs are NumPy-converted and computed in float64 (not traceable under ``jit``).
- Degenerate labels: with no positive or no negative bin the ROC curve is undefined, and every
  function raises ``ValueError`` (as sklearn's ``roc_auc_score`` does).
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import ndtri

from ._checks import binary, number, real_array, same_shape


def _scores_labels(spike_prob, spike_true):
    s = real_array("spike_prob", spike_prob).ravel()
    y = binary("spike_true", spike_true)
    same_shape("spike_prob", np.asarray(spike_prob), "spike_true", y)
    y = y.ravel()
    n_pos = int(y.sum())
    if n_pos == 0 or n_pos == y.size:
        which = "positive (spike)" if n_pos == 0 else "negative (no-spike)"
        raise ValueError(
            f"spike_true has no {which} bin among {y.size}; the ROC curve is undefined"
        )
    return s, y, n_pos, y.size - n_pos


def _curve_counts(spike_prob, spike_true, drop_intermediate=False):
    """Validated ROC vertices as integer counts: (fps, tps, thresholds, n_pos, n_neg).

    One sort of the scores; the order within tied scores is irrelevant because only the last
    index of each group of equal scores is kept.
    """
    s, y, n_pos, n_neg = _scores_labels(spike_prob, spike_true)
    order = np.argsort(s)[::-1]
    s, y = s[order], y[order]
    last = np.r_[np.flatnonzero(np.diff(s)), s.size - 1]  # last index of each distinct score
    tps = np.cumsum(y, dtype=np.int64)[last]
    fps = (last + 1) - tps
    thr = s[last]
    if drop_intermediate and tps.size > 2:
        keep = np.r_[True, np.logical_or(np.diff(fps, 2), np.diff(tps, 2)), True]
        tps, fps, thr = tps[keep], fps[keep], thr[keep]
    return np.r_[0, fps], np.r_[0, tps], np.r_[np.inf, thr], n_pos, n_neg


def roc_curve(spike_prob, spike_true, *, drop_intermediate=False):
    """ROC curve: ``(fpr, tpr, thresholds)``, float64 arrays of equal length, fpr non-decreasing.

    Point ``i`` is the operating point "positive iff ``spike_prob >= thresholds[i]``";
    ``thresholds`` is strictly decreasing from ``+inf`` (the point (0, 0)) through every distinct
    score, so the last point is (1, 1). Identical to ``sklearn.metrics.roc_curve`` (≥ 1.3)
    with the same ``drop_intermediate``; sklearn's default ``True`` drops collinear interior
    points, which leaves the curve's shape unchanged but removes achievable thresholds.
    Conventions and errors: module docstring.
    """
    fps, tps, thr, n_pos, n_neg = _curve_counts(spike_prob, spike_true, drop_intermediate)
    return fps / n_neg, tps / n_pos, thr


def _auc(fps, tps, n_pos, n_neg):
    """Mann–Whitney U / (n_pos n_neg) from the vertex counts, in exact integer arithmetic.

    Each group of tied scores adds (its negatives) × (positives above it + half its own
    positives), i.e. 2U = Σ Δfps · (tps_prev + tps): the rank-sum statistic with average ranks.
    """
    twice_u = int(np.sum(np.diff(fps) * (tps[1:] + tps[:-1])))
    return twice_u / (2.0 * n_pos * n_neg)


def roc_auc(spike_prob, spike_true):
    """Area under the ROC curve, exact and tie-aware (dimensionless, 0.5 = chance).

    The Mann–Whitney statistic U / (n_pos · n_neg) with average ranks for ties: the probability
    that a random spike bin scores above a random no-spike bin, ties counting ½; counted in exact
    integer arithmetic from one sort. Equals the trapezoidal area under :func:`roc_curve` and
    sklearn's ``roc_auc_score``. Beniaguev et al. 2021 report ≈ 0.991 (TCN) and ELM 0.9946 on
    NeuronIO, pooled over all 1 ms test bins. Conventions and errors: module docstring.
    """
    fps, tps, _, n_pos, n_neg = _curve_counts(spike_prob, spike_true)
    return _auc(fps, tps, n_pos, n_neg)


def _check_fpr(name, fpr):
    arr = np.asarray(fpr, dtype=np.float64)
    if arr.ndim > 1 or arr.size == 0 or np.any(~np.isfinite(arr)) or np.any((arr < 0) | (arr > 1)):
        raise ValueError(f"{name} must be a number or 1-D sequence in [0, 1], got {fpr!r}")
    return arr


def _tpr_interp(fp, tp, x):
    """TPR of the piecewise-linear ROC curve at FPR ``x`` (top of a vertical segment)."""
    i = np.searchsorted(fp, x, side="right") - 1  # last point with fp <= x
    if fp[i] == x or i == fp.size - 1:
        return tp[i]
    w = (x - fp[i]) / (fp[i + 1] - fp[i])
    return tp[i] + w * (tp[i + 1] - tp[i])


def _tpr_on_curve(fp, tp, targets, method):
    """TPR at each FPR in the 1-D ``targets``; "nearest" expects sklearn's dropped curve."""
    if method == "interpolate":
        return np.array([_tpr_interp(fp, tp, x) for x in targets], dtype=np.float64)
    if method == "threshold":  # tp is non-decreasing along the curve: the last admissible vertex
        return tp[np.searchsorted(fp, targets, side="right") - 1]
    idx = np.argmin(np.abs(fp[None, :] - targets[:, None]), axis=1)  # "nearest"
    return tp[np.maximum(idx, 1)]


def _partial_on_curve(fp, tp, m, standardized):
    stop = np.searchsorted(fp, m, side="right")
    x = np.r_[fp[:stop], m]
    y = np.r_[tp[:stop], _tpr_interp(fp, tp, m)]
    area = float(np.sum(np.diff(x) * (y[1:] + y[:-1]) / 2.0))
    if not standardized:
        return area / m
    lo, hi = 0.5 * m * m, m
    return 0.5 * (1.0 + (area - lo) / (hi - lo))


_METHODS = ("interpolate", "threshold", "nearest")


def tpr_at_fpr(spike_prob, spike_true, fpr=0.01, *, method="interpolate"):
    """True-positive rate at a false-positive rate ``fpr`` (fraction of no-spike bins).

    Beniaguev et al. 2021 and ELM report it at 0.25 % and 1 % FPR (``fpr=0.0025``, ``0.01``;
    ELM: 0.43–0.80 at 1 %), because pooled AUC flatters rare spikes. ``fpr`` may be a number
    (returns a float) or a 1-D sequence (returns an array). ``method``:

    - ``"interpolate"`` (default): the ROC curve as a piecewise-linear function (the curve whose
      area is :func:`roc_auc`), read at ``fpr``; at a vertical segment, its top.
    - ``"threshold"``: the best TPR of a single deterministic threshold with FPR ≤ ``fpr``
      (conservative; a step function of ``fpr``).
    - ``"nearest"``: Beniaguev's ``calc_TP_at_desired_FP``: the vertex of sklearn's default
      (``drop_intermediate=True``) curve whose FPR is nearest ``fpr``, never the (0, 0) vertex.
      For reproducing published numbers only.

    Conventions and errors: module docstring.
    """
    targets = _check_fpr("fpr", fpr)
    if method not in _METHODS:
        raise ValueError(f"method must be one of {_METHODS}, got method={method!r}")
    fp, tp, _ = roc_curve(spike_prob, spike_true, drop_intermediate=method == "nearest")
    out = _tpr_on_curve(fp, tp, targets.ravel(), method)
    return float(out[0]) if targets.ndim == 0 else out.astype(np.float64)


def _check_max_fpr(max_fpr):
    m = number("max_fpr", max_fpr, low=0.0, strict=True)
    if m > 1:
        raise ValueError(f"max_fpr must be in (0, 1], got max_fpr={max_fpr!r}")
    return m


def partial_auc(spike_prob, spike_true, max_fpr=0.01, *, standardized=False):
    """Area under the ROC curve for FPR in [0, ``max_fpr``], divided by ``max_fpr``.

    The mean TPR over that FPR range: 1 for a perfect classifier, ``max_fpr / 2`` at chance.
    This is ELM's "AUC @ FP" (``calc_AUC_at_desired_FP``, which averages the interpolated curve
    on a 20,000-point grid; here the integral is exact). ``standardized=True`` returns instead
    McClish's standardisation ``0.5 * (1 + (A - max_fpr²/2) / (max_fpr - max_fpr²/2))`` of the
    raw area A, as sklearn's ``roc_auc_score(max_fpr=...)`` does (0.5 = chance, 1 = perfect).
    Conventions and errors: module docstring.
    """
    m = _check_max_fpr(max_fpr)
    fp, tp, _ = roc_curve(spike_prob, spike_true)
    return _partial_on_curve(fp, tp, m, standardized)


def roc_metrics(spike_prob, spike_true, fprs=(0.0025, 0.01)) -> dict[str, float]:
    """AUC, d′, TPR (interpolated) and partial AUC at each FPR in ``fprs``, from one sort.

    Keys ``auc``, ``d_prime``, ``tpr_at_fpr_{f:g}``, ``partial_auc_{f:g}`` (e.g.
    ``tpr_at_fpr_0.0025``); values as the single functions give them, at a quarter of the cost
    on millions of bins. Conventions and errors: module docstring.
    """
    targets = _check_fpr("fprs", fprs).ravel()
    if targets.size and targets.min() <= 0:
        raise ValueError(f"fprs must be in (0, 1] (a partial AUC needs a range), got {fprs!r}")
    fps, tps, _, n_pos, n_neg = _curve_counts(spike_prob, spike_true)
    auc = _auc(fps, tps, n_pos, n_neg)
    fp, tp = fps / n_neg, tps / n_pos
    out = {"auc": auc, "d_prime": d_prime(auc)}
    tprs = _tpr_on_curve(fp, tp, targets, "interpolate")
    out.update({f"tpr_at_fpr_{f:g}": float(v) for f, v in zip(targets, tprs, strict=True)})
    out.update({f"partial_auc_{f:g}": _partial_on_curve(fp, tp, f, False) for f in targets})
    return out


def d_prime(auc):
    """Sensitivity index ``d' = sqrt(2) * Φ⁻¹(AUC)`` (dimensionless) of an equal-variance model.

    The conversion listed by Beniaguev et al. 2021 for comparing AUCs near 1. ``auc`` is a number
    in [0, 1]; 1 gives ``inf``, 0.5 gives 0.
    """
    a = number("auc", auc, low=0.0)
    if a > 1:
        raise ValueError(f"auc must be in [0, 1], got auc={auc!r}")
    return float(math.sqrt(2.0) * ndtri(a))
