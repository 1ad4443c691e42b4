"""Poisson spike trains, as spike counts per sample bin.

A bin of width ``dt`` ms at rate ``r`` Hz holds ``Poisson(r dt / 1000)`` spikes. Counts (not
0/1 indicators) keep the statistics exact at any ``dt``; they are returned as floats so they feed
a simulator's input array directly.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float, PRNGKeyArray

from ._checks import check_value, n_samples, static_number


def poisson(
    key: PRNGKeyArray,
    duration: float,
    dt: float,
    rate: ArrayLike,
    n_channels: int = 1,
) -> Float[Array, " T n_channels"]:
    """Homogeneous Poisson spike counts per bin.

    Args:
        key: PRNG key.
        duration: length of the signal (ms).
        dt: bin width (ms).
        rate: firing rate (Hz), non-negative: a scalar shared by all channels or an array of
            length ``n_channels``.
        n_channels: number of independent spike trains.

    Returns:
        ``[T, n_channels]`` array of spike counts, ``T = round(duration / dt)``.
    """
    t = n_samples(duration, dt)
    dt = float(dt)
    if isinstance(n_channels, bool) or not isinstance(n_channels, int) or n_channels < 1:
        raise ValueError(f"n_channels must be a positive int, got n_channels={n_channels!r}")
    shape = jnp.shape(rate)
    if shape not in ((), (n_channels,)):
        raise ValueError(
            f"rate must be a scalar or have shape ({n_channels},) to match n_channels, "
            f"got shape {shape}"
        )
    rate = check_value("rate", rate, "nonnegative")
    return _counts(key, jnp.broadcast_to(rate * (dt / 1000.0), (t, n_channels)))


def inhomogeneous_poisson(
    key: PRNGKeyArray,
    rates: Float[ArrayLike, " T *n"],
    dt: float,
) -> Float[Array, " T n"]:
    """Inhomogeneous Poisson spike counts: bin ``k``, channel ``i`` ~ Poisson(rates[k, i] dt/1000).

    Args:
        key: PRNG key.
        rates: firing rates (Hz), non-negative, one per bin: ``[T, n]``, or ``[T]`` for one channel.
            Negative or non-finite rates raise ``ValueError`` when concrete, and an error at run
            time under ``jit``.
        dt: bin width (ms).

    Returns:
        ``[T, n]`` array of spike counts (``[T, 1]`` for 1-D ``rates``).
    """
    dt = static_number("dt", dt, "positive")
    shape = jnp.shape(rates)
    if len(shape) not in (1, 2) or shape[0] == 0:
        raise ValueError(f"rates must have shape [T] or [T, n] with T >= 1, got shape {shape}")
    rates = check_value("rates", rates, "nonnegative")
    if rates.ndim == 1:
        rates = rates[:, None]
    return _counts(key, rates * (dt / 1000.0))


@jax.jit
def _counts(key, lam):
    """Poisson(lam) counts, elementwise, as floats of lam's dtype."""
    return jax.random.poisson(key, lam, lam.shape).astype(lam.dtype)
