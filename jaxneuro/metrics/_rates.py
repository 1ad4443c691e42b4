"""Firing-rate error between a predicted and a true spike train."""

from __future__ import annotations

from typing import NamedTuple

from ._checks import number, ratio, spike_train, within


class RateError(NamedTuple):
    """Rates in spikes/s (Hz); ``error_hz`` is signed (pred − true); ``rel_error`` a fraction."""

    rate_pred_hz: float
    rate_true_hz: float
    error_hz: float
    abs_error_hz: float
    rel_error: float


def firing_rate_error(pred_times, true_times, duration_ms) -> RateError:
    """Mean firing rates of both trains over ``duration_ms`` and their difference, in spikes/s.

    rate = N / (duration_ms / 1000); ``abs_error_hz = |rate_pred - rate_true|`` (the form of
    CoNNear's "ANF error ≤ 3.4 / 4.6 / 2.5 spikes/s", Drakopoulos et al. 2021, and of Oláh et
    al.'s 12.39 vs 12.42 Hz); ``rel_error = abs_error_hz / rate_true_hz``, ``nan`` when the true
    train is silent. Spike times in ms, within [0, ``duration_ms``].
    """
    pred = spike_train("pred_times", pred_times)
    true = spike_train("true_times", true_times)
    duration = number("duration_ms", duration_ms, low=0.0, strict=True)
    within("pred_times", pred, duration)
    within("true_times", true, duration)
    r_pred, r_true = 1000.0 * pred.size / duration, 1000.0 * true.size / duration
    err = r_pred - r_true
    return RateError(r_pred, r_true, err, abs(err), ratio(abs(err), r_true))
