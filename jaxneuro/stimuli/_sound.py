"""Sound pressure for the auditory periphery: calibration, tones, clicks, noise, SAM tones.

Every builder returns sound pressure in Pa as a ``[T, 1]`` array (one input channel, ready for a
simulator or :func:`stack`), ``T = duration / dt``, sampled every ``dt`` ms like the rest of
:mod:`jaxneuro.stimuli`: the periphery's 100 kHz is ``dt = 0.01`` ms (:data:`DT_100KHZ`), its
20 kHz ``dt = 0.05``. Sample ``k`` is the pressure at ``t = k dt``. Levels are dB SPL re
``P0_PA = 20 µPa`` and follow Verhulst, Altoè & Vasilkov 2018 (Hear. Res. 360:55):

- an RMS-calibrated signal is ``p = p0 10^(L/20) x / rms(x)`` (:func:`calibrate_rms`);
- a pure tone has amplitude ``√2 p0 10^(L/20)`` (:func:`tone_amplitude`);
- a condensation click in dB peSPL has peak ``2√2 p0 10^(L/20)`` (:func:`click_peak`).

Levels, frequencies and phases may be traced (a waveform can be optimised by gradients);
durations, ``dt``, ramps and onsets fix shapes and sample positions and must be concrete.
"""

from __future__ import annotations

import math
from typing import Literal

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float, PRNGKeyArray

from ._checks import as_scalar, float_dtype, index, n_samples, static_number

P0_PA = 2e-5
"""Reference sound pressure of dB SPL (Pa)."""

DT_100KHZ = 0.01
"""Sample interval (ms) of the periphery's 100 kHz stages (middle ear, cochlea, IHC)."""


# --------------------------------------------------------------------------- calibration


def tone_amplitude(level_db: ArrayLike) -> Array:
    """Amplitude (Pa) of a pure tone of ``level_db`` dB SPL: ``√2 p0 10^(L/20)``."""
    return math.sqrt(2.0) * P0_PA * 10.0 ** (as_scalar("level_db", level_db) / 20.0)


def click_peak(level_db: ArrayLike) -> Array:
    """Peak (Pa) of a click of ``level_db`` dB peSPL: ``2√2 p0 10^(L/20)``.

    Peak-equivalent SPL: the peak-to-peak of a tone of that level, ``2 × √2 p0 10^(L/20)``.
    """
    return 2.0 * math.sqrt(2.0) * P0_PA * 10.0 ** (as_scalar("level_db", level_db) / 20.0)


def spl(pressure: Float[ArrayLike, " T *n"], axis: int | None = None) -> Array:
    """Level (dB SPL) of a pressure signal (Pa): ``20 log10(rms / p0)``.

    ``axis=None``: the RMS of all samples (a scalar); ``axis=0``: one level per channel of a
    ``[T, n]`` signal. Silence gives ``-inf``.
    """
    x = jnp.asarray(pressure, dtype=float_dtype())
    return 20.0 * jnp.log10(jnp.sqrt(jnp.mean(x * x, axis=axis)) / P0_PA)


def calibrate_rms(x: Float[ArrayLike, "..."], level_db: ArrayLike) -> Array:
    """Scale ``x`` (any unit, any shape) to ``level_db`` dB SPL: ``p0 10^(L/20) x / rms(x)`` (Pa).

    The RMS is over all samples. A concrete all-zero ``x`` raises ``ValueError`` (silence has no
    level to scale).
    """
    x = jnp.asarray(x, dtype=float_dtype())
    rms = jnp.sqrt(jnp.mean(x * x))
    if not isinstance(rms, jax.core.Tracer) and not float(rms) > 0:
        raise ValueError(f"cannot calibrate a signal whose RMS is {float(rms)!r} to a level")
    return P0_PA * 10.0 ** (as_scalar("level_db", level_db) / 20.0) * x / rms


# --------------------------------------------------------------------------- helpers


def _nyquist_hz(dt: float) -> float:
    return 500.0 / dt  # fs / 2 with fs = 1000 / dt Hz


def _frequency(name: str, value: ArrayLike, dt: float) -> Array:
    """A non-negative frequency (Hz), below Nyquist when concrete."""
    f = as_scalar(name, value, "nonnegative")
    if not isinstance(f, jax.core.Tracer) and float(f) >= _nyquist_hz(dt):
        raise ValueError(
            f"{name}={float(f)!r} Hz must lie below the Nyquist frequency "
            f"{_nyquist_hz(dt):g} Hz of dt={dt!r} ms"
        )
    return f


def _times_s(t: int, dt: float) -> Array:
    """Sample times ``k dt`` in seconds."""
    return jnp.arange(t, dtype=float_dtype()) * (dt / 1000.0)


def _ramp_window(t: int, dt: float, ramp: float) -> Array:
    """``[T]`` gate with raised-cosine on- and off-ramps of ``ramp`` ms (``n = round(ramp/dt)``).

    ``w[k] = sin²(π k / 2n) = (1 - cos(π k / n)) / 2`` for ``k < n``, mirrored at the end
    (``w[T-1-k] = w[k]``), 1 in between: the first and last samples are 0.
    """
    ramp = static_number("ramp", ramp, "nonnegative")
    n = index(ramp, dt)
    if 2 * n > t:
        raise ValueError(f"two ramps of {ramp!r} ms ({n} samples each) exceed the {t} samples")
    k = jnp.arange(t, dtype=float_dtype())
    if n == 0:
        return jnp.ones(t, float_dtype())
    on = jnp.sin(0.5 * jnp.pi * jnp.minimum(k, n) / n) ** 2
    off = jnp.sin(0.5 * jnp.pi * jnp.minimum(t - 1 - k, n) / n) ** 2
    return on * off


def _column(x: Array) -> Float[Array, " T 1"]:
    return x.astype(float_dtype())[:, None]


# --------------------------------------------------------------------------- builders


def silence(duration: float, dt: float) -> Float[Array, " T 1"]:
    """Zero pressure for ``duration`` ms: ``[T, 1]`` (e.g. spontaneous rates, gaps)."""
    return jnp.zeros((n_samples(duration, dt), 1), float_dtype())


def pure_tone(
    duration: float,
    dt: float,
    frequency: ArrayLike,
    level_db: ArrayLike,
    ramp: float = 2.5,
    phase: ArrayLike = 0.0,
) -> Float[Array, " T 1"]:
    """A pure tone ``A sin(2π f t + phase) w(t)``, ``A = √2 p0 10^(L/20)`` (Pa), ``t = k dt``.

    Args:
        duration: length (ms).
        dt: sample interval (ms); 0.01 for 100 kHz.
        frequency: frequency (Hz), non-negative and below Nyquist (``500 / dt``).
        level_db: level of the steady part (dB SPL).
        ramp: raised-cosine on- and off-ramps of ``ramp`` ms each, ``n = round(ramp/dt)``
            samples: ``w[k] = sin²(π k / 2n)`` for ``k < n``, mirrored at the end, so the first
            and last samples are 0; 0 for none.
        phase: phase at ``t = 0`` (rad).

    Returns:
        ``[T, 1]`` pressure (Pa).
    """
    t = n_samples(duration, dt)
    f = _frequency("frequency", frequency, dt)
    phase = as_scalar("phase", phase)
    x = jnp.sin(2.0 * jnp.pi * f * _times_s(t, dt) + phase)
    return _column(tone_amplitude(level_db) * x * _ramp_window(t, dt, ramp))


def sam_tone(
    duration: float,
    dt: float,
    carrier: ArrayLike,
    modulation: ArrayLike,
    depth: ArrayLike,
    level_db: ArrayLike,
    ramp: float = 2.5,
    phase: ArrayLike = 0.0,
    calibration: Literal["rms", "carrier"] = "rms",
) -> Float[Array, " T 1"]:
    """A sinusoidally amplitude-modulated tone ``c (1 + m sin(2π f_m t)) sin(2π f_c t + phase)``.

    ``calibration="rms"`` (default): the modulated steady part has ``level_db`` dB SPL (RMS),
    ``c = √2 p0 10^(L/20) / √(1 + m²/2)``; ``"carrier"``: the unmodulated carrier has that
    level, ``c = √2 p0 10^(L/20)``. The synchrony-level test (Verhulst et al. 2018) uses
    ``f_m = 100`` Hz, ``m = 1``.

    Args:
        duration: length (ms).
        dt: sample interval (ms).
        carrier: carrier frequency ``f_c`` (Hz), below Nyquist.
        modulation: modulation frequency ``f_m`` (Hz), non-negative.
        depth: modulation depth ``m`` in ``[0, 1]``.
        level_db: level (dB SPL), see ``calibration``.
        ramp: raised-cosine on- and off-ramps (ms).
        phase: carrier phase at ``t = 0`` (rad).
        calibration: ``"rms"`` or ``"carrier"``.

    Returns:
        ``[T, 1]`` pressure (Pa).
    """
    t = n_samples(duration, dt)
    fc = _frequency("carrier", carrier, dt)
    fm = _frequency("modulation", modulation, dt)
    m = as_scalar("depth", depth, "nonnegative")
    if not isinstance(m, jax.core.Tracer) and float(m) > 1.0:
        raise ValueError(f"depth must lie in [0, 1], got depth={float(m)!r}")
    if calibration not in ("rms", "carrier"):
        raise ValueError(f"calibration must be 'rms' or 'carrier', got {calibration!r}")
    phase = as_scalar("phase", phase)
    amplitude = tone_amplitude(level_db)
    if calibration == "rms":
        amplitude = amplitude / jnp.sqrt(1.0 + 0.5 * m * m)
    s = _times_s(t, dt)
    x = (1.0 + m * jnp.sin(2.0 * jnp.pi * fm * s)) * jnp.sin(2.0 * jnp.pi * fc * s + phase)
    return _column(amplitude * x * _ramp_window(t, dt, ramp))


def click(
    duration: float,
    dt: float,
    level_db: ArrayLike,
    onset: float = 0.0,
    width: float = 0.1,
    rarefaction: bool = False,
) -> Float[Array, " T 1"]:
    """A rectangular click of ``level_db`` dB peSPL: peak ``2√2 p0 10^(L/20)`` Pa.

    Args:
        duration: length (ms).
        dt: sample interval (ms).
        level_db: peak-equivalent level (dB peSPL).
        onset: start of the click (ms), rounded to the nearest sample.
        width: click duration (ms), at least one sample; 0.1 ms is the 10-sample click of
            Verhulst et al. 2018 at 100 kHz.
        rarefaction: ``False`` (default): a condensation click (positive pressure);
            ``True``: rarefaction (negative).

    Returns:
        ``[T, 1]`` pressure (Pa): the peak on samples ``round(onset/dt) ≤ k <
        round(onset/dt) + round(width/dt)``, 0 elsewhere.
    """
    t = n_samples(duration, dt)
    onset = static_number("onset", onset, "nonnegative")
    width = static_number("width", width, "positive")
    k_on, n_w = index(onset, dt), index(width, dt)
    if n_w < 1:
        raise ValueError(f"width={width!r} ms is shorter than one sample (dt={dt!r} ms)")
    if k_on + n_w > t:
        raise ValueError(
            f"a click at onset={onset!r} ms of width={width!r} ms does not fit in "
            f"duration={duration!r} ms"
        )
    k = jnp.arange(t)
    peak = click_peak(level_db) * (-1.0 if rarefaction else 1.0)
    return _column(jnp.where((k >= k_on) & (k < k_on + n_w), peak, 0.0))


def noise(
    key: PRNGKeyArray,
    duration: float,
    dt: float,
    level_db: ArrayLike,
    band: tuple[float, float] | None = None,
    ramp: float = 0.0,
) -> Float[Array, " T 1"]:
    """Gaussian noise, white or band-limited, RMS-calibrated to exactly ``level_db`` dB SPL.

    Band-limiting zeroes the Fourier components outside ``band`` (an ideal filter, circular
    over the signal). The calibration (:func:`calibrate_rms`) applies to the un-gated noise; the
    ramps then gate it, so ``level_db`` is the level of the steady part.

    Args:
        key: PRNG key.
        duration: length (ms).
        dt: sample interval (ms).
        level_db: level (dB SPL, RMS).
        band: ``(low, high)`` Hz with ``0 ≤ low < high ≤ 500/dt``; ``None``: white.
        ramp: raised-cosine on- and off-ramps (ms); 0 (default) for none.

    Returns:
        ``[T, 1]`` pressure (Pa).
    """
    t = n_samples(duration, dt)
    window = _ramp_window(t, dt, ramp)
    x = jax.random.normal(key, (t,), float_dtype())
    if band is not None:
        if len(band) != 2:
            raise ValueError(f"band must be (low, high) in Hz, got band={band!r}")
        lo = static_number("band[0]", band[0], "nonnegative")
        hi = static_number("band[1]", band[1], "positive")
        if not lo < hi <= _nyquist_hz(dt):
            raise ValueError(
                f"band must satisfy 0 <= low < high <= {_nyquist_hz(dt):g} Hz (Nyquist of "
                f"dt={dt!r} ms), got band={band!r}"
            )
        freqs = np.fft.rfftfreq(t, dt / 1000.0)
        keep = (freqs >= lo) & (freqs <= hi)
        if not keep.any():
            raise ValueError(
                f"band={band!r} Hz holds no frequency of a {duration!r} ms signal "
                f"(resolution {1000.0 / duration:g} Hz)"
            )
        x = jnp.fft.irfft(jnp.fft.rfft(x) * jnp.asarray(keep), n=t).astype(float_dtype())
    return _column(calibrate_rms(x, level_db) * window)


def tone_pair(
    dt: float,
    frequency: ArrayLike,
    level_db: ArrayLike,
    gap: float,
    tone_duration: float = 100.0,
    ramp: float = 2.5,
    before: float = 0.0,
    after: float = 0.0,
) -> Float[Array, " T 1"]:
    """Two equal tones separated by ``gap`` ms of silence: the forward-masking recovery protocol.

    Silence of ``before`` ms, a :func:`pure_tone` of ``tone_duration`` ms, ``gap`` ms of silence,
    the same tone again, ``after`` ms of silence (Verhulst et al. 2018: 100 ms 2 kHz tones, gaps
    of 0.1, 0.3 and 1.9 s; compare the second onset response with the first). Every part must be
    a whole number of samples.

    Returns:
        ``[T, 1]`` pressure (Pa), ``T = (before + 2 tone_duration + gap + after) / dt``.
    """
    tone = pure_tone(tone_duration, dt, frequency, level_db, ramp=ramp)
    parts = []
    for name, value, part in (
        ("before", before, None),
        ("tone_duration", tone_duration, tone),
        ("gap", gap, None),
        ("tone_duration", tone_duration, tone),
        ("after", after, None),
    ):
        value = static_number(name, value, "nonnegative")
        if part is None and value > 0:
            part = silence(value, dt)
        if part is not None:
            parts.append(part)
    return jnp.concatenate(parts, axis=0)
