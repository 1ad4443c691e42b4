"""Spike-time matching within a window: one-to-one matches, precision / recall / F1, jitter.

Oláh, Pedersen & Rowan 2022 (eLife 11:e79535): a predicted spike is a true positive if it lies
within 10 ms of a ground-truth spike (``window_ms=10.0``); they report precision 83.9 %,
recall 90.9 % and a spike shift of 0.24 ± 0.79 ms for the closed-loop point neuron.

Conventions: spike times are 1-D arrays in ms, in any order (see :func:`spike_times` to convert
an indicator trace); a pair matches when ``|t_pred - t_true| <= window_ms`` (inclusive, with a
1e-9 relative tolerance so float round-off in ``i * dt`` cannot decide an edge case); lags are
``t_pred - t_true`` (positive = predicted spike late). NumPy, float64, not traceable.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from ._checks import EDGE_TOL, number, ratio, spike_train


class SpikeMatch(NamedTuple):
    """One-to-one matched spike pairs, sorted by true spike time.

    ``pred_idx[k]`` and ``true_idx[k]`` index the caller's (unsorted) input arrays;
    ``lag_ms[k] = pred_times[pred_idx[k]] - true_times[true_idx[k]]`` in ms.
    """

    pred_idx: np.ndarray
    true_idx: np.ndarray
    lag_ms: np.ndarray


class PrecisionRecall(NamedTuple):
    """Fractions in [0, 1]; ``nan`` where undefined (see :func:`precision_recall`)."""

    precision: float
    recall: float
    f1: float


class Jitter(NamedTuple):
    """Mean and population SD (ddof=0) of matched lags ``t_pred - t_true``, in ms."""

    mean_ms: float
    std_ms: float


def match_spikes(pred_times, true_times, window_ms) -> SpikeMatch:
    """Optimal one-to-one matching of predicted to true spikes within ``±window_ms``.

    Each spike is matched at most once. Among all such matchings this returns one with the
    most pairs and, among those, the least total ``|lag|`` (so the count is order-independent
    and never lower than a greedy match's, and jitter is not inflated by a poor pairing).
    Exact: some optimal matching never crosses (if p1 < p2 and t1 < t2, pairing p1–t1, p2–t2
    is as feasible and no dearer than p1–t2, p2–t1), so a dynamic programme over the pairs within
    the window, with a Fenwick tree for the prefix maxima, finds it in O(E log n) for E
    candidate pairs. Conventions: module docstring.
    """
    pred = spike_train("pred_times", pred_times)
    true = spike_train("true_times", true_times)
    w = number("window_ms", window_ms, low=0.0)
    limit = w + EDGE_TOL * (1.0 + w)
    p_order, t_order = np.argsort(pred, kind="stable"), np.argsort(true, kind="stable")
    p, t = pred[p_order], true[t_order]
    lo = np.searchsorted(t, p - limit, side="left")
    hi = np.searchsorted(t, p + limit, side="right")

    m = t.size
    tree = [(0, 0.0, -1)] * (m + 1)  # Fenwick prefix maxima of (count, -cost, edge) over j
    edges: list[tuple[int, int, int]] = []  # (i, j, parent edge or -1)
    best = (0, 0.0, -1)
    for i in np.flatnonzero(hi > lo):
        row = []
        for j in range(lo[i], hi[i]):
            # prefix maximum over true indices < j, among pairs of earlier predicted spikes
            q, k = (0, 0.0, -1), j
            while k > 0:
                if tree[k][:2] > q[:2]:
                    q = tree[k]
                k -= k & -k
            value = (q[0] + 1, q[1] - abs(p[i] - t[j]), len(edges))
            edges.append((int(i), int(j), q[2]))
            row.append((j, value))
            if value[:2] > best[:2]:
                best = value
        for j, value in row:  # insert after the row: a spike is used at most once
            k = j + 1
            while k <= m:
                if value[:2] > tree[k][:2]:
                    tree[k] = value
                k += k & -k

    pairs = []
    e = best[2]
    while e >= 0:
        i, j, e = edges[e]
        pairs.append((i, j))
    pairs.reverse()
    pi = np.array([i for i, _ in pairs], dtype=np.intp)
    ti = np.array([j for _, j in pairs], dtype=np.intp)
    return SpikeMatch(p_order[pi], t_order[ti], p[pi] - t[ti])


def precision_recall(pred_times, true_times, window_ms) -> PrecisionRecall:
    """Precision, recall and F1 of predicted spikes, matched one-to-one within ``±window_ms``.

    precision = matched / n_pred, recall = matched / n_true, F1 = 2 · matched / (n_pred + n_true),
    with matches from :func:`match_spikes` (Oláh et al. 2022 use ``window_ms=10.0``).
    Undefined ratios are ``nan``: precision with no predicted spike, recall with no true spike,
    F1 with neither. Conventions: module docstring.
    """
    pred = spike_train("pred_times", pred_times)
    true = spike_train("true_times", true_times)
    n = len(match_spikes(pred, true, window_ms).lag_ms)
    return PrecisionRecall(
        ratio(n, pred.size), ratio(n, true.size), ratio(2 * n, pred.size + true.size)
    )


def jitter(pred_times, true_times, window_ms) -> Jitter:
    """Mean and SD (ddof=0) of ``t_pred - t_true`` over matched pairs, in ms.

    Oláh et al. 2022's "spike shift" (0.24 ± 0.79 ms, point neuron; 0.44 ± 4.18 ms, L5 PC).
    Pairs from :func:`match_spikes`; ``(nan, nan)`` when nothing matches. Conventions: module
    docstring.
    """
    lag = match_spikes(pred_times, true_times, window_ms).lag_ms
    if lag.size == 0:
        return Jitter(math.nan, math.nan)
    return Jitter(float(lag.mean()), float(lag.std()))
