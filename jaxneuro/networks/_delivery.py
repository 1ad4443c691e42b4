"""Spike delivery: one exchange interval's presynaptic spikes to a window of postsynaptic input.

Every function maps spikes ``[m, n_pre]`` (one row per sample of the interval) and weights to a
window ``[R, n_post]`` whose row ``r`` is due ``offset + r`` samples after the interval's first
sample; ``lag`` (per synapse, in samples) is each synapse's delay minus ``offset``, so a spike in
row ``j`` through synapse ``s`` lands in window row ``j + lag[s]``.

Three ways: a dense matrix product (:func:`dense`); a gather per postsynaptic cell over its
fixed-width presynaptic list (:func:`gather`); and event-driven delivery (:func:`events`), which
touches only the synapses of the cells that spiked, through a fixed-capacity list of events, with
a JVP equal to the full matrix–vector product on the tangent (non-spiking cells, whose surrogate
spike derivative is non-zero, still pass tangents on), as brainevent's event operators do.
"""

from __future__ import annotations

import functools

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float, Int


def dense_weights(
    weight: Float[Array, "n_pre n_post"], lag_masks: tuple[tuple[int, Array], ...]
) -> tuple[Float[Array, "n_pre n_post"], ...]:
    """``weight`` masked to the synapses of each distinct lag (``lag_masks``: ``(d, mask)``
    pairs); computed once per run, outside the loop over exchange intervals."""
    return tuple(jnp.where(mask, weight, 0.0) for _, mask in lag_masks)


def dense(
    spikes: Float[Array, "m n_pre"],
    weights: tuple[Float[Array, "n_pre n_post"], ...],
    lags: tuple[int, ...],
    n_rows: int,
) -> Float[Array, "R n_post"]:
    """``spikes @ W_d`` into rows ``d … d + m − 1`` for each distinct lag ``d``."""
    m = spikes.shape[0]
    window = jnp.zeros((n_rows, weights[0].shape[1]), jnp.result_type(spikes, weights[0]))
    for lag, w in zip(lags, weights, strict=True):  # a few distinct delays, unrolled
        window = window.at[lag : lag + m].add(spikes @ w)
    return window


def gather_weights(
    weight: Float[Array, "n_pre K"], lag_slots: tuple[tuple[int, Array], ...]
) -> tuple[Float[Array, "n_post K_in"], ...]:
    """The pre-major ``weight`` in post-major order, once per distinct lag (``lag_slots``:
    ``(d, slot [n_post, K_in])`` pairs of flat pre-major positions, padding ``n_pre · K``)."""
    flat = jnp.concatenate([weight.ravel(), jnp.zeros((1,), weight.dtype)])
    return tuple(flat[slot] for _, slot in lag_slots)


def gather(
    spikes: Float[Array, "m n_pre"],
    weights: tuple[Float[Array, "n_post K_in"], ...],
    pre_of: Int[Array, "n_post K_in"],
    lags: tuple[int, ...],
    n_rows: int,
) -> Float[Array, "R n_post"]:
    """Post-major delivery: each postsynaptic cell sums ``weight · spikes`` over its presynaptic
    list ``pre_of`` (padding ``n_pre`` reads a zero column)."""
    m = spikes.shape[0]
    s = jnp.concatenate([spikes, jnp.zeros((m, 1), spikes.dtype)], axis=1)[:, pre_of]
    window = jnp.zeros((n_rows, pre_of.shape[0]), jnp.result_type(spikes, weights[0]))
    for lag, w in zip(lags, weights, strict=True):
        window = window.at[lag : lag + m].add(jnp.einsum("jpk,pk->jp", s, w))
    return window


def _event_list(spikes, capacity: int, label: str):
    """Up to ``capacity`` non-zero entries of ``spikes [m, n_pre]`` as (row, cell, value); an
    ``eqx.error_if`` if there are more (never a silent drop)."""
    m, n_pre = spikes.shape
    flat = spikes.reshape(-1)
    nonzero = flat != 0
    (where,) = jnp.nonzero(nonzero, size=capacity, fill_value=flat.size)
    value = jnp.concatenate([flat, jnp.zeros((1,), flat.dtype)])[where]
    n_events = jnp.sum(nonzero)
    value = eqx.error_if(
        value,
        n_events > capacity,
        f"spike buffer overflow in projection {label}: more than {capacity} presynaptic "
        "spikes in one exchange interval; raise its capacity (Projection(..., capacity=...))",
    )
    return where // n_pre, where % n_pre, value


def _scatter(row, cell, value, weight, indices, lag, n_rows, n_post):
    """Add ``value · weight[cell]`` into window rows ``row + lag[cell]``, columns
    ``indices[cell]`` (out-of-range padding is dropped)."""
    cell = jnp.minimum(cell, indices.shape[0] - 1)  # the fill entries carry value 0
    rows = row[:, None] + lag[cell]
    vals = value[:, None] * weight[cell]
    window = jnp.zeros((n_rows, n_post), vals.dtype)
    return window.at[rows, indices[cell]].add(vals, mode="drop")


@functools.partial(jax.custom_jvp, nondiff_argnums=(4, 5, 6, 7))
def events(
    spikes: Float[Array, "m n_pre"],
    weight: Float[Array, "n_pre K"],
    indices: Int[Array, "n_pre K"],
    lag: Int[Array, "n_pre K"],
    n_rows: int,
    n_post: int,
    capacity: int,
    label: str = "",
) -> Float[Array, "R n_post"]:
    """Event-driven delivery over pre-major fixed-width lists: only the (at most ``capacity``)
    spikes of the interval scatter their ``K`` synapses; more spikes than ``capacity`` is a
    runtime error. JVP: the full scatter of the spike tangent over every presynaptic cell, plus
    the event scatter of the weight tangent."""
    row, cell, value = _event_list(spikes, capacity, label)
    return _scatter(row, cell, value, weight, indices, lag, n_rows, n_post)


@events.defjvp
def _events_jvp(n_rows, n_post, capacity, label, primals, tangents):
    spikes, weight, indices, lag = primals
    d_spikes, d_weight, _, _ = tangents
    row, cell, value = _event_list(spikes, capacity, label)
    out = _scatter(row, cell, value, weight, indices, lag, n_rows, n_post)
    m, n_pre = spikes.shape
    every_row = jnp.repeat(jnp.arange(m), n_pre)
    every_cell = jnp.tile(jnp.arange(n_pre), m)
    tangent = _scatter(
        every_row, every_cell, d_spikes.reshape(-1), weight, indices, lag, n_rows, n_post
    ) + _scatter(row, cell, value, d_weight, indices, lag, n_rows, n_post)
    return out, tangent
