"""Spike decoding: spike times from a count trace; spikes from a probability or voltage trace."""

from __future__ import annotations

import numpy as np

from ._checks import number, real_array

_MODES = ("level", "rising", "peak")


def spike_times(spikes, dt) -> np.ndarray:
    """Spike times in ms from a 1-D spike-count (or 0/1, bool) trace sampled every ``dt`` ms.

    A count ``n`` in sample ``i`` gives ``n`` spikes at time ``i * dt``: the *start* of the bin,
    matching labels placed in bin ``floor(t / dt)``. Matching, rates and Γ are unaffected as long
    as both trains use the same convention. Counts must be non-negative integers; threshold
    a probability or voltage first with :func:`decode_spikes`. Returns sorted float64 times.
    """
    step = number("dt", dt, low=0.0, strict=True)
    x = real_array("spikes", spikes)
    if x.ndim != 1:
        raise ValueError(f"spikes must be a 1-D trace [T], got shape {x.shape}; call once per cell")
    if np.any((x < 0) | (x != np.round(x))):
        bad = np.flatnonzero((x < 0) | (x != np.round(x)))[0]
        raise ValueError(
            f"spikes must hold non-negative integer counts; index {bad} is {x[bad]!r}. "
            "Threshold a probability or voltage with metrics.decode_spikes first"
        )
    idx = np.repeat(np.arange(x.size), x.astype(np.int64))
    return idx * step


def _candidates(x, thr, mode):
    """Boolean [..., T]: samples that would start a spike before the dead time is applied."""
    above = x > thr
    if mode == "level":
        return above
    lower = np.full(x.shape[:-1] + (1,), -np.inf)
    prev = np.concatenate([lower, x[..., :-1]], axis=-1)
    if mode == "rising":
        return above & (prev <= thr)
    nxt = np.concatenate([x[..., 1:], lower], axis=-1)
    return above & (x > prev) & (x >= nxt)


def decode_spikes(prob_or_v, threshold, dead_time_steps=0, *, mode="level", axis=-1):
    """Spike indicator (int8 0/1, same shape) from a probability or voltage trace.

    A spike is emitted at sample ``t`` when ``prob_or_v[t] > threshold`` (strict) and the mode's
    condition holds, unless a spike was emitted in the previous ``dead_time_steps`` samples
    (a refractory lock-out, applied greedily forward in time). ``mode``:

    - ``"level"`` (default): every supra-threshold sample is a candidate. Oláh et al. 2022's
      evaluation decoding is ``decode_spikes(v_norm, 0.8, 6)`` on the min–max normalised
      voltage (a 6-step dead time).
    - ``"rising"``: only upward crossings (``prob_or_v[t-1] <= threshold``).
    - ``"peak"``: only local maxima (``x[t] > x[t-1]`` and ``x[t] >= x[t+1]``; the first sample of
      a flat top), as in Oláh et al.'s circuit script (> 0.3 at a peak) and Beniaguev et al.'s
      labels (local maxima above −25 mV).

    Samples outside the trace count as −∞ (a trace may start above threshold or end at a peak).
    ``axis`` is the time axis (default last: ``[T]`` or ``[cells, T]``). NumPy; input must be
    finite (a NaN from a diverged closed loop is a ``ValueError``).
    """
    thr = number("threshold", threshold)
    if isinstance(dead_time_steps, bool) or not isinstance(dead_time_steps, int | np.integer):
        raise ValueError(f"dead_time_steps must be a non-negative int, got {dead_time_steps!r}")
    if dead_time_steps < 0:
        raise ValueError(f"dead_time_steps must be >= 0, got {dead_time_steps!r}")
    if mode not in _MODES:
        raise ValueError(f"mode must be one of {_MODES}, got mode={mode!r}")
    x = real_array("prob_or_v", prob_or_v)
    x = np.moveaxis(x, axis, -1)
    cand = _candidates(x, thr, mode)
    out = np.zeros(x.shape, dtype=np.int8)
    flat_c, flat_o = cand.reshape(-1, x.shape[-1]), out.reshape(-1, x.shape[-1])
    for row in range(flat_c.shape[0]):
        idx = np.flatnonzero(flat_c[row])
        if dead_time_steps == 0:
            flat_o[row, idx] = 1
            continue
        k = 0
        while k < idx.size:  # one iteration per emitted spike
            flat_o[row, idx[k]] = 1
            k = np.searchsorted(idx, idx[k] + dead_time_steps + 1, side="left")
    return np.moveaxis(out, -1, axis)
