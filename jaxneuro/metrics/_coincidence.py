"""Coincidence factor Γ between a predicted and a true spike train."""

from __future__ import annotations

import math

from ._checks import number, spike_train, within
from ._matching import match_spikes


def coincidence_factor(pred_times, true_times, window_ms, duration_ms) -> float:
    """Coincidence factor Γ (dimensionless; 1 = identical trains, ≈ 0 = chance, can be < 0).

    Kistler, Gerstner & van Hemmen 1997 (Neural Comput. 9:1015); Jolivet et al. 2008
    (J. Neurosci. Methods 169:417), who use Δ = 4 ms:

        Γ = (N_coinc − E[N_coinc]) / (½ (N_pred + N_true)) · 1 / (1 − 2 ν Δ)

    - N_coinc: pairs matched one-to-one within ``±window_ms`` = Δ (:func:`match_spikes`);
    - E[N_coinc] = 2 Δ N_pred N_true / T: the coincidences expected by chance, i.e. 2 ν Δ N
      with ν the rate of one train and N the count of the other (symmetric);
    - ν = N_true / T, the true train's rate (Brian2's ``gamma_factor`` also normalises with the
      data rate; Kistler et al. write the model's, which agrees when the rates agree). With it
      Γ ≤ 1, with equality only for perfectly matched trains of equal count.

    Times in ms in [0, ``duration_ms``] (T). ``nan`` when both trains are empty; ``ValueError``
    when 2 ν Δ ≥ 1 (the window is too wide for the rate: chance alone fills it).
    """
    pred = spike_train("pred_times", pred_times)
    true = spike_train("true_times", true_times)
    delta = number("window_ms", window_ms, low=0.0, strict=True)
    duration = number("duration_ms", duration_ms, low=0.0, strict=True)
    within("pred_times", pred, duration)
    within("true_times", true, duration)
    norm = 1.0 - 2.0 * delta * true.size / duration
    if norm <= 0:
        raise ValueError(
            f"coincidence factor undefined: 2·rate·window = {1 - norm:.3g} ≥ 1 "
            f"({true.size} true spikes in {duration:g} ms, window_ms={delta:g}); use a "
            "narrower window"
        )
    if pred.size + true.size == 0:
        return math.nan
    n_coinc = len(match_spikes(pred, true, delta).lag_ms)
    expected = 2.0 * delta * pred.size * true.size / duration
    return float((n_coinc - expected) / (0.5 * (pred.size + true.size)) / norm)
