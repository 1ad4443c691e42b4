"""Injected-current waveforms: steps, ramps, sines and Ornstein–Uhlenbeck noise.

Every generator returns a 1-D array of ``T = round(duration / dt)`` samples; sample ``k`` stands
for the interval ``[k dt, (k + 1) dt)`` (ms). Amplitudes carry whatever unit the receiving model
expects (typically nA or µA/cm²) and may be traced, so a waveform can be optimised by gradients;
durations, time steps and onsets fix shapes and sample positions and must be concrete numbers.
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
from jax import lax
from jaxtyping import Array, ArrayLike, Float, PRNGKeyArray

from ._checks import as_scalar, index, n_samples, static_number


def _window(duration: float, dt: float, onset: float, offset: float | None) -> tuple[int, int, int]:
    """Number of samples and the on-window ``[k_on, k_off)`` in sample indices."""
    t = n_samples(duration, dt)
    duration, dt = float(duration), float(dt)
    onset = static_number("onset", onset)
    if onset < 0 or onset > duration:
        raise ValueError(f"onset must lie in [0, duration={duration!r}] ms, got onset={onset!r}")
    k_on = min(index(onset, dt), t)
    if offset is None:
        return t, k_on, t
    offset = static_number("offset", offset)
    if offset < onset or offset > duration:
        raise ValueError(
            f"offset must lie in [onset={onset!r}, duration={duration!r}] ms, got offset={offset!r}"
        )
    return t, k_on, min(index(offset, dt), t)


def step(
    duration: float,
    dt: float,
    amplitude: ArrayLike,
    onset: float = 0.0,
    offset: float | None = None,
    baseline: ArrayLike = 0.0,
) -> Float[Array, " T"]:
    """A current step: ``amplitude`` on ``[onset, offset)``, ``baseline`` elsewhere.

    Args:
        duration: length of the signal (ms).
        dt: sample interval (ms).
        amplitude: value during the step (e.g. nA).
        onset: start of the step (ms), rounded to the nearest sample.
        offset: end of the step (ms), exclusive, rounded to the nearest sample; ``None``: to
            the end.
        baseline: value outside the step (same unit as ``amplitude``).

    Returns:
        ``[T]`` array; sample ``k`` is on when ``round(onset/dt) <= k < round(offset/dt)``.
    """
    t, k_on, k_off = _window(duration, dt, onset, offset)
    amplitude = as_scalar("amplitude", amplitude)
    baseline = as_scalar("baseline", baseline)
    return _step(t, k_on, k_off, amplitude, baseline)


@partial(jax.jit, static_argnums=0)
def _step(t, k_on, k_off, amplitude, baseline):
    k = jnp.arange(t)
    return jnp.where((k >= k_on) & (k < k_off), amplitude, baseline)


def ramp(
    duration: float,
    dt: float,
    start: ArrayLike,
    stop: ArrayLike,
    onset: float = 0.0,
    offset: float | None = None,
    baseline: ArrayLike = 0.0,
) -> Float[Array, " T"]:
    """A linear ramp from ``start`` at ``onset`` towards ``stop`` at ``offset``, else ``baseline``.

    On samples ``k_on <= k < k_off`` (``k_on = round(onset/dt)``, ``k_off = round(offset/dt)``)
    the value is ``start + (stop - start) (k - k_on) / (k_off - k_on)``: it equals ``start`` on
    the first sample and would reach ``stop`` at ``offset``, the first sample after the ramp.

    Args:
        duration: length of the signal (ms).
        dt: sample interval (ms).
        start: value at ``onset`` (e.g. nA).
        stop: value reached at ``offset`` (same unit).
        onset: start of the ramp (ms).
        offset: end of the ramp (ms), exclusive; ``None`` = to the end.
        baseline: value outside the ramp (same unit).

    Returns:
        ``[T]`` array.
    """
    t, k_on, k_off = _window(duration, dt, onset, offset)
    start = as_scalar("start", start)
    stop = as_scalar("stop", stop)
    baseline = as_scalar("baseline", baseline)
    return _ramp(t, k_on, k_off, start, stop, baseline)


@partial(jax.jit, static_argnums=0)
def _ramp(t, k_on, k_off, start, stop, baseline):
    k = jnp.arange(t)
    frac = (k - k_on).astype(start.dtype) / jnp.maximum(k_off - k_on, 1).astype(start.dtype)
    return jnp.where((k >= k_on) & (k < k_off), start + (stop - start) * frac, baseline)


def sine(
    duration: float,
    dt: float,
    amplitude: ArrayLike,
    frequency: ArrayLike,
    phase: ArrayLike = 0.0,
    offset: ArrayLike = 0.0,
) -> Float[Array, " T"]:
    """A sinusoid ``offset + amplitude * sin(2π frequency t / 1000 + phase)`` at ``t = k dt``.

    Args:
        duration: length of the signal (ms).
        dt: sample interval (ms).
        amplitude: peak deviation from ``offset`` (e.g. nA).
        frequency: frequency (Hz), non-negative.
        phase: phase at ``t = 0`` (rad).
        offset: constant added to the sinusoid (same unit as ``amplitude``).

    Returns:
        ``[T]`` array.
    """
    t = n_samples(duration, dt)
    dt = float(dt)
    amplitude = as_scalar("amplitude", amplitude)
    frequency = as_scalar("frequency", frequency, "nonnegative")
    phase = as_scalar("phase", phase)
    offset = as_scalar("offset", offset)
    return _sine(t, as_scalar("dt", dt), amplitude, frequency, phase, offset)


@partial(jax.jit, static_argnums=0)
def _sine(t, dt, amplitude, frequency, phase, offset):
    times = jnp.arange(t, dtype=dt.dtype) * dt
    return offset + amplitude * jnp.sin(2.0 * jnp.pi * frequency * times / 1000.0 + phase)


def ornstein_uhlenbeck(
    key: PRNGKeyArray,
    duration: float,
    dt: float,
    mean: ArrayLike,
    std: ArrayLike,
    tau: ArrayLike,
    x0: ArrayLike | None = None,
) -> Float[Array, " T"]:
    """Ornstein–Uhlenbeck noise current, sampled with the exact discretisation.

    ``x[k+1] = mean + (x[k] - mean) a + std sqrt(1 - a²) ξ[k]``, ``a = exp(-dt/tau)``,
    ``ξ[k] ~ N(0, 1)``: the stationary process has mean ``mean``, standard deviation ``std`` and
    autocorrelation ``exp(-|lag|/tau)``, for any ``dt`` (Gillespie 1996, Phys. Rev. E 54:2084).

    Args:
        key: PRNG key.
        duration: length of the signal (ms).
        dt: sample interval (ms).
        mean: stationary mean (e.g. nA).
        std: stationary standard deviation (same unit), non-negative.
        tau: correlation time (ms), positive.
        x0: first sample; ``None`` draws it from the stationary distribution.

    Returns:
        ``[T]`` array whose first sample is ``x0``.
    """
    t = n_samples(duration, dt)
    mean = as_scalar("mean", mean)
    std = as_scalar("std", std, "nonnegative")
    tau = as_scalar("tau", tau, "positive")
    x0 = None if x0 is None else as_scalar("x0", x0)
    return _ou(t, key, as_scalar("dt", dt), mean, std, tau, x0)


@partial(jax.jit, static_argnums=0)
def _ou(t, key, dt, mean, std, tau, x0):
    a = jnp.exp(-dt / tau)
    b = std * jnp.sqrt(-jnp.expm1(-2.0 * dt / tau))
    key_x0, key_noise = jax.random.split(key)
    if x0 is None:  # stationary start; resolved at trace time
        x0 = mean + std * jax.random.normal(key_x0, (), mean.dtype)
    noise = jax.random.normal(key_noise, (t - 1,), mean.dtype)

    def advance(x, z):
        x = mean + (x - mean) * a + b * z
        return x, x

    _, xs = lax.scan(advance, x0, noise)
    return jnp.concatenate([x0[None], xs])
