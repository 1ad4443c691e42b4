"""Populations with a coarser sample interval than the network's: their inputs gathered from,
and their outputs spread over, the network's finer samples.

The network runs on the finest ``dt`` of its populations; a population whose ``dt`` is ``r``
times longer sees ``r`` network samples as one of its own. Events (spike counts) add over the
``r`` samples; traces and rates average (a current pulse keeps its charge). A coarse sample's
events appear in the last of its ``r`` network samples (a spike is detected at the end of the
step that crosses threshold), its traces in all ``r`` (held).
"""

from __future__ import annotations

import jax.numpy as jnp
from jaxtyping import Array, Float

from .._simulator import EVENTS


def gather(x: Float[Array, "T ..."], r: int, kind: str) -> Float[Array, "T/r ..."]:
    """``x`` at the network's dt as ``T / r`` samples of a population ``r`` times coarser."""
    if r == 1:
        return x
    grouped = x.reshape(x.shape[0] // r, r, *x.shape[1:])
    return grouped.sum(1) if kind == EVENTS else grouped.mean(1)


def spread(y: Float[Array, "m ..."], r: int, kind: str) -> Float[Array, "m*r ..."]:
    """A coarse population's outputs ``y`` at the network's dt (``r`` samples per sample)."""
    if r == 1:
        return y
    if kind == EVENTS:
        zeros = jnp.zeros((y.shape[0], r - 1, *y.shape[1:]), y.dtype)
        return jnp.concatenate([zeros, y[:, None]], axis=1).reshape(-1, *y.shape[1:])
    return jnp.repeat(y, r, axis=0)
