"""Synaptic delays: milliseconds to samples, and the ring buffer of future synaptic input."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, Int


def delay_samples(delay_ms, dt: float) -> np.ndarray:
    """Delays in samples of ``dt`` ms: ``max(1, round(delay / dt))``.

    A spike emitted in sample ``k`` enters its target's input in sample ``k + D``: the smallest
    delay in discrete time is one sample, so a delay of zero (or below ``dt / 2``) is one sample,
    as in NEST's minimum delay of one step. Other delays are rounded to the nearest sample (ties
    to even), so a delay of ``D · dt`` ms arrives exactly ``D`` samples later.
    """
    d = np.asarray(delay_ms, np.float64) / dt
    return np.maximum(1, np.rint(d + 1e-9 * np.sign(d))).astype(np.int64)


def ring_length(max_delay: int, chunk: int) -> int:
    """Rows of a ring buffer for delays up to ``max_delay`` samples delivered once every
    ``chunk`` samples: the smallest multiple of ``chunk`` that is at least ``max_delay``."""
    return chunk * max(1, -(-max_delay // chunk))


def read(
    buffer: Float[Array, "L n"], head: Int[Array, ""], chunk: int
) -> tuple[Float[Array, "chunk n"], Float[Array, "L n"]]:
    """The ``chunk`` rows due now (starting at row ``head``), and the buffer with them cleared.

    ``head`` is a multiple of ``chunk`` and the buffer's length a multiple of ``chunk``, so the
    rows are contiguous.
    """
    due = jax.lax.dynamic_slice_in_dim(buffer, head, chunk)
    cleared = jax.lax.dynamic_update_slice_in_dim(buffer, jnp.zeros_like(due), head, 0)
    return due, cleared


def write(
    buffer: Float[Array, "L n"], head: Int[Array, ""], offset: int, window: Float[Array, "R n"]
) -> Float[Array, "L n"]:
    """Add ``window`` (row ``r`` due ``offset + r`` samples after the chunk that starts at row
    ``head``) into the ring. ``offset + R − 1`` must be below ``L + chunk``: the rows just read
    are free again and stand for the farthest future."""
    length = buffer.shape[0]
    rows = (head + offset + jnp.arange(window.shape[0])) % length
    return buffer.at[rows].add(window.astype(buffer.dtype))
