"""A synthetic speech-like sentence: a stand-in for recorded speech such as TIMIT.

The CoNNear models (Baby et al. 2021, Nat. Mach. Intell. 3:134) were trained and tested on
TIMIT sentences, which are licensed by the LDC and cannot be redistributed with jaxneuro, and
jaxneuro ships no recordings. :func:`speech_like` synthesises a signal with the properties of
running speech that matter to the auditory periphery: a voiced source at a speaking F0,
formants that move from syllable to syllable, a syllabic amplitude modulation at 3–6 Hz with
pauses, and short fricative noise bursts. It is a cascade formant synthesiser after Klatt 1980
(J. Acoust. Soc. Am. 67:971) with vowel targets from Peterson & Barney 1952 (J. Acoust. Soc.
Am. 24:175). It is not intelligible speech; for real recordings use :func:`load_wav`.
"""

from __future__ import annotations

import jax
import numpy as np
from jaxtyping import Array, Float, PRNGKeyArray
from scipy.signal import butter, lfilter, lfiltic, sosfilt

from ._checks import n_samples, static_number
from ._sound import calibrate_rms

# F1, F2, F3 (Hz) of ten American-English vowels, men's means (Peterson & Barney 1952, Table II).
_VOWELS = np.array(
    [
        [270, 2290, 3010],  # i (heed)
        [390, 1990, 2550],  # ɪ (hid)
        [530, 1840, 2480],  # ɛ (head)
        [660, 1720, 2410],  # æ (had)
        [730, 1090, 2440],  # ɑ (hod)
        [570, 840, 2410],  # ɔ (hawed)
        [440, 1020, 2240],  # ʊ (hood)
        [300, 870, 2240],  # u (who'd)
        [640, 1190, 2390],  # ʌ (hud)
        [490, 1350, 1690],  # ɝ (heard)
    ],
    dtype=np.float64,
)
_BANDWIDTHS = (80.0, 100.0, 150.0)  # F1–F3 bandwidths (Hz)
_FIXED_FORMANTS = ((3300.0, 250.0), (3750.0, 200.0))  # F4, F5 and bandwidths (Hz)
_F2_LOCI = (900.0, 1800.0, 2300.0)  # labial, alveolar, velar-like consonant loci (Hz)
_BLOCK_S = 0.0025  # formant coefficients are updated every 2.5 ms


def _resonator(x: np.ndarray, freq: np.ndarray, bw: np.ndarray, fs: float, block: int):
    """Klatt's digital resonator ``y[n] = A x[n] + B y[n-1] + C y[n-2]`` (unit gain at 0 Hz),
    with the frequency and bandwidth of each ``block`` of samples (their values at its start);
    the state (the last two outputs) carries over exactly from block to block."""
    y = np.empty_like(x)
    past = np.zeros(2)  # y[n-1], y[n-2]
    for start in range(0, len(x), block):
        f, b = freq[start], bw[start]
        c = -np.exp(-2.0 * np.pi * b / fs)
        bb = 2.0 * np.exp(-np.pi * b / fs) * np.cos(2.0 * np.pi * f / fs)
        num, den = [1.0 - bb - c], [1.0, -bb, -c]
        seg, _ = lfilter(num, den, x[start : start + block], zi=lfiltic(num, den, past))
        y[start : start + block] = seg
        past = np.array([seg[-1], seg[-2] if len(seg) > 1 else past[0]])
    return y


def _hann_bump(n: int) -> np.ndarray:
    return np.sin(np.pi * (np.arange(n) + 0.5) / n) ** 2


def speech_like(
    key: PRNGKeyArray,
    duration: float,
    dt: float,
    level_db: float,
    f0_range: tuple[float, float] = (100.0, 220.0),
    syllable_rate: tuple[float, float] = (3.0, 6.0),
) -> Float[Array, " T 1"]:
    """A synthetic speech-like sentence (Pa), RMS-calibrated to ``level_db`` dB SPL.

    A stand-in for TIMIT-style sentences, which cannot be redistributed (see the module
    docstring). The same ``key`` gives the same signal (NumPy synthesis seeded from the key; not
    differentiable, not jit-able). Construction:

    - syllables of ``1/r`` s, ``r`` drawn from ``syllable_rate`` (Hz) each, with occasional
      pauses of 80–200 ms, between 30 ms lead-in and lead-out silences;
    - a glottal pulse train at an F0 that declines over the sentence with accents, within
      ``f0_range`` (Hz), shaped by a −12 dB/octave glottal low-pass and +6 dB/octave lip
      radiation;
    - a cascade of five resonators: F1–F3 move linearly from a consonant-like onset (low F1,
      F2 towards a locus) to each syllable's vowel target, F4 and F5 fixed;
    - a raised-cosine (sin²) envelope on each syllable's vowel, and in about a third of the
      syllables a 2.5–7 kHz band of noise (a fricative) before it, about 14 dB weaker.

    The level is the RMS of the whole signal, pauses included (:func:`calibrate_rms`).

    Args:
        key: PRNG key.
        duration: length (ms), at least 100.
        dt: sample interval (ms); ``1000 / dt`` at least 16 kHz.
        level_db: level (dB SPL, RMS).
        f0_range: lowest and highest F0 (Hz).
        syllable_rate: slowest and fastest syllable rate (Hz).

    Returns:
        ``[T, 1]`` pressure (Pa).
    """
    t = n_samples(duration, dt)
    fs = 1000.0 / float(dt)
    level_db = static_number("level_db", level_db)
    if duration < 100.0:
        raise ValueError(f"speech_like needs duration >= 100 ms, got duration={duration!r}")
    if fs < 16_000.0:
        raise ValueError(f"speech_like needs a sampling rate >= 16 kHz, got dt={dt!r} ms")
    f0_lo, f0_hi = (static_number("f0_range", v, "positive") for v in f0_range)
    r_lo, r_hi = (static_number("syllable_rate", v, "positive") for v in syllable_rate)
    if not (f0_lo <= f0_hi and r_lo <= r_hi):
        raise ValueError(f"ranges must be (low, high), got {f0_range=}, {syllable_rate=}")
    seed = np.asarray(jax.random.randint(key, (4,), 0, np.iinfo(np.int32).max))
    rng = np.random.default_rng([int(s) for s in seed])

    # Syllable plan (seconds): (start, end, vowel index, has fricative).
    total, edge = t / fs, 0.03
    syllables, cursor = [], edge
    while True:
        if syllables and rng.random() < 0.1:
            cursor += rng.uniform(0.08, 0.2)  # a pause between words
        length = 1.0 / rng.uniform(r_lo, r_hi)
        if cursor + length > total - edge:
            break
        syllables.append((cursor, cursor + length, rng.integers(len(_VOWELS)), rng.random() < 0.35))
        cursor += length
    if not syllables:
        syllables.append((edge, total - edge, rng.integers(len(_VOWELS)), False))

    # Envelopes, formant and F0 anchors.
    voiced_env, fric_env = np.zeros(t), np.zeros(t)
    anchor_t, anchor_f, anchor_f0 = [], [], []
    for s0, s1, vowel, fricative in syllables:
        k0, k1 = int(s0 * fs), int(s1 * fs)
        kv = k0
        if fricative:
            kf = k0 + int((k1 - k0) * rng.uniform(0.25, 0.4))
            fric_env[k0:kf] = rng.uniform(0.15, 0.25) * _hann_bump(kf - k0)
            kv = k0 + int(0.7 * (kf - k0))
        k_end = k0 + int(0.92 * (k1 - k0))
        voiced_env[kv:k_end] = np.maximum(
            voiced_env[kv:k_end], rng.uniform(0.6, 1.0) * _hann_bump(k_end - kv)
        )
        target = _VOWELS[vowel] * rng.uniform(0.95, 1.05, 3)
        onset = target * np.array([0.6, 1.0, 1.0])
        onset[1] = 0.5 * (target[1] + rng.choice(_F2_LOCI))
        anchor_t += [kv, (kv + k_end) // 2]
        anchor_f += [onset, target]
        decline = 0.8 - 0.6 * (kv + k_end) / (2 * t)
        anchor_f0.append(np.clip(decline + rng.uniform(-0.1, 0.25), 0.0, 1.0))
    k = np.arange(t)
    formants = np.stack([np.interp(k, anchor_t, np.array(anchor_f)[:, i]) for i in range(3)])
    centres = [(a + b) // 2 for a, b in zip(anchor_t[::2], anchor_t[1::2], strict=True)]
    f0 = f0_lo + (f0_hi - f0_lo) * np.interp(k, centres, anchor_f0)

    # Voiced source: pulses where the F0 phase wraps, glottal low-pass, lip radiation.
    phase = np.cumsum(f0 / fs)
    pulses = np.diff(np.floor(phase), prepend=0.0) * voiced_env
    glottal = np.exp(-2.0 * np.pi * 100.0 / fs)  # double pole (−12 dB/octave above ~100 Hz)
    source = lfilter([(1.0 - glottal) ** 2], [1.0, -2.0 * glottal, glottal**2], pulses)
    voiced = np.diff(source, prepend=0.0)
    block = max(1, int(_BLOCK_S * fs))
    for i in range(3):
        voiced = _resonator(voiced, formants[i], np.full(t, _BANDWIDTHS[i]), fs, block)
    for f, b in _FIXED_FORMANTS:
        voiced = _resonator(voiced, np.full(t, f), np.full(t, b), fs, block)

    # Fricatives: band-passed noise.
    band = butter(4, [2500.0, min(7000.0, 0.45 * fs)], btype="band", fs=fs, output="sos")
    hiss = sosfilt(band, rng.standard_normal(t))
    voiced_rms = np.sqrt(np.mean(voiced[voiced_env > 0] ** 2))
    signal = voiced / voiced_rms + fric_env * hiss / np.sqrt(np.mean(hiss**2))
    return calibrate_rms(signal, level_db)[:, None]
