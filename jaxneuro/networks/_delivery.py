"""Spike delivery: one exchange interval's presynaptic spikes to a window of postsynaptic input.

Every function maps spikes ``[m, n_pre]`` (one row per sample of the interval) and weights to a
window ``[R, n_post]`` whose row ``r`` is due ``offset + r`` samples after the interval's first
sample; ``lag`` (per synapse, in samples) is each synapse's delay minus ``offset``, so a spike in
row ``j`` through synapse ``s`` lands in window row ``j + lag[s]``.

Three ways: a dense matrix product (:func:`dense`); a gather per postsynaptic cell over its
fixed-width presynaptic list (:func:`gather`); and event-driven delivery (:func:`events`), which
touches only the synapses of the cells that spiked (found once per presynaptic population for all
its projections), through a fixed-capacity list of events, with
a JVP equal to the full matrix–vector product on the tangent (non-spiking cells, whose surrogate
spike derivative is non-zero, still pass tangents on), as brainevent's event operators do.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, Int, UInt


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


TIER_MIN, TIER_GROWTH = 8, 4
"""Event lists come in tiers of 8, 32, 128 … events up to the capacity; each interval uses the
smallest tier that holds its spikes (``lax.switch``), so quiet intervals cost little. Under
``vmap`` over parameter sets the switch runs every tier: use dense delivery there. (Tiers
growing by 2 measured no faster in COBA 4,000 and compile a third slower.)"""

BLOCK = 32
"""Cells per block of the two-level search for the spikes (:func:`_find`)."""


def _tiers(capacity: int) -> tuple[int, ...]:
    sizes, size = [], TIER_MIN
    while size < capacity:
        sizes.append(size)
        size *= TIER_GROWTH
    return (*sizes, capacity)


def _find(flat: Float[Array, " N"], size: int) -> Int[Array, " size"]:
    """Positions of the non-zero entries of ``flat`` (at most ``size`` of them), padded with
    positions of zeros (or past the end: ``N … ``), in no particular order.

    Two-level: ``top_k`` of the spike counts of blocks of :data:`BLOCK` entries finds the
    (at most ``size``) blocks that hold spikes, a second ``top_k`` finds the spikes among their
    entries. ``top_k`` over all ``N`` entries costs O(N log size) comparisons in one serial
    custom call (≈ 6 µs for 3,200 cells on a 2-core CPU); the blocks cut that to
    O((N / 32 + 32 · size) log size)."""
    n = flat.size
    hit = (flat != 0).astype(jnp.float32)
    n_blocks = -(-n // BLOCK)
    if n_blocks <= size:  # as many blocks as events: one search over every entry
        return jax.lax.top_k(hit, size)[1]
    blocks = jnp.pad(hit, (0, n_blocks * BLOCK - n)).reshape(n_blocks, BLOCK)
    _, which = jax.lax.top_k(blocks.sum(axis=1), size)  # every block that holds a spike
    _, j = jax.lax.top_k(blocks[which].reshape(-1), size)
    return which[j // BLOCK] * BLOCK + j % BLOCK


class Target(NamedTuple):
    """The static part of one projection's event delivery: its window's rows and columns, its
    capacity (most presynaptic spikes per interval), its name for errors and its synapse slots
    per presynaptic cell (``K``, set by :func:`pack`)."""

    n_rows: int
    n_post: int
    capacity: int
    label: str = ""
    synapses: int = 0


def _offsets(targets) -> np.ndarray:
    """Where each target's window starts in the packed flat window, and (last) its size."""
    return np.cumsum([0] + [t.n_rows * t.n_post for t in targets])


def pack(
    indices: tuple[Int[Array, "n_pre K"], ...],
    lags: tuple[Int[Array, "n_pre K"] | None, ...],
    targets: tuple[Target, ...],
) -> tuple[UInt[Array, "n_pre K_all"], Int[Array, "n_pre K_all"] | None, tuple[Target, ...]]:
    """The synapses of every projection of one presynaptic population side by side: each
    synapse's column in the packed flat window (its projection's window starts at
    :func:`_offsets`; padding → the size of the whole, dropped), its lag (``None`` when no
    projection has per-synapse lags), and the targets with their synapse slots filled in.
    Once per run, outside the loop over intervals."""
    offsets = _offsets(targets)
    columns = jnp.concatenate(
        [
            jnp.where(i < t.n_post, i + int(o), int(offsets[-1])).astype(jnp.uint32)
            for i, t, o in zip(indices, targets, offsets[:-1], strict=True)
        ],
        axis=1,
    )
    targets = tuple(t._replace(synapses=i.shape[1]) for i, t in zip(indices, targets, strict=True))
    if all(lag is None for lag in lags):
        return columns, None, targets
    lag = jnp.concatenate(
        [
            jnp.zeros(i.shape, jnp.int32) if lag is None else jnp.asarray(lag, jnp.int32)
            for i, lag in zip(indices, lags, strict=True)
        ],
        axis=1,
    )
    return columns, lag, targets


def _scatter(row, cell, value, weight, columns, lag, targets):
    """Add ``value · weight[cell]`` into the packed flat window of ``targets`` at rows
    ``row + lag[cell]`` (``lag`` ``None``: 0) of each synapse's projection, columns
    ``columns[cell]``; padding and rows past a window are dropped. One gather of the event
    cells' synapses and one flat scatter for every projection (XLA:CPU scatters serially, at
    roughly 10 ns per update, and each gather or scatter is a kernel launch)."""
    # unsigned indices: no per-element wrap-around of negative indices in gathers and scatter
    cell = jnp.minimum(cell, columns.shape[0] - 1).astype(jnp.uint32)  # fill entries carry 0
    offsets = _offsets(targets)
    size = int(offsets[-1])
    cols = columns[cell]
    if all(t.n_rows == 1 for t in targets):  # one row each: a zero-lag, one-sample interval
        at = cols
    else:  # each synapse's window rows and width, by its projection
        slots = [t.synapses for t in targets]
        width = np.repeat([t.n_post for t in targets], slots)
        rows_of = np.repeat([t.n_rows for t in targets], slots)
        rows = row[:, None] + (0 if lag is None else lag[cell])
        at = jnp.where((cols < size) & (rows < rows_of), cols + rows * width, size)
        at = at.astype(jnp.uint32)
    vals = value[:, None] * weight[cell]
    return jnp.zeros((size,), vals.dtype).at[at.ravel()].add(vals.ravel(), mode="drop")


def _split(flat, targets):
    """The packed flat window as each target's ``[n_rows, n_post]`` window."""
    offsets = _offsets(targets)
    return tuple(
        flat[int(a) : int(b)].reshape(t.n_rows, t.n_post)
        for a, b, t in zip(offsets[:-1], offsets[1:], targets, strict=True)
    )


def _deliver(spikes, weight, columns, lag, targets):
    """Scatter the synapses of the non-zero entries of ``spikes [m, n_pre]`` through every
    projection of one presynaptic population, packed (:func:`pack`): the spikes are found once
    (:func:`_find`, through the smallest tier of event list that holds them), their synapses
    gathered and scattered once for all projections. More spikes than a projection's capacity
    is an ``eqx.error_if`` naming it, never a silent drop. Linear in ``weight``."""
    m, n_pre = spikes.shape
    flat = spikes.reshape(-1)
    n_events = jnp.sum(flat != 0)

    def tier(size):
        def deliver(flat, weight):
            # a top_k search (a zero value pads): faster on CPU than nonzero's cumulative sum
            where = _find(flat, size).astype(jnp.uint32)
            value = flat.at[where].get(mode="fill", fill_value=0)  # padding positions: 0
            row, cell = where // n_pre, where % n_pre
            return _scatter(row, cell, value, weight, columns, lag, targets)

        return deliver

    sizes = _tiers(min(max(t.capacity for t in targets), flat.size))
    if len(sizes) == 1:
        window = tier(sizes[0])(flat, weight)
    else:
        # the first tier that holds them (a compare-and-sum: searchsorted is a loop on CPU)
        k = jnp.sum(n_events > jnp.asarray(sizes[:-1]))  # at most len(sizes) - 1
        window = jax.lax.switch(k, [tier(size) for size in sizes], flat, weight)
    return tuple(
        window
        if t.capacity >= flat.size  # every cell-sample fits: no overflow to check
        else eqx.error_if(
            window,
            n_events > t.capacity,
            f"spike buffer overflow in projection {t.label}: more than {t.capacity} "
            "presynaptic spikes in one exchange interval; raise its capacity "
            "(Projection(..., capacity=...))",
        )
        for window, t in zip(_split(window, targets), targets, strict=True)
    )


@functools.partial(jax.custom_jvp, nondiff_argnums=(4,))
def packed_events(
    spikes: Float[Array, "m n_pre"],
    weight: Float[Array, "n_pre K_all"],
    columns: UInt[Array, "n_pre K_all"],
    lag: Int[Array, "n_pre K_all"] | None,
    targets: tuple[Target, ...],
) -> tuple[Float[Array, "R n_post"], ...]:
    """:func:`events` on projections packed side by side (:func:`pack`; ``weight`` their
    weights concatenated along the synapse axis): what a network runs in each interval."""
    return _deliver(spikes, weight, columns, lag, targets)


@packed_events.defjvp
def _packed_events_jvp(targets, primals, tangents):
    spikes, weight, columns, lag = primals
    d_spikes, d_weight, _, _ = tangents
    out = _deliver(spikes, weight, columns, lag, targets)
    by_weight = _deliver(spikes, d_weight, columns, lag, targets)
    m, n_pre = spikes.shape
    every_row = jnp.repeat(jnp.arange(m), n_pre)
    every_cell = jnp.tile(jnp.arange(n_pre), m)
    by_spike = _scatter(every_row, every_cell, d_spikes.reshape(-1), weight, columns, lag, targets)
    tangent = tuple(a + b for a, b in zip(_split(by_spike, targets), by_weight, strict=True))
    return out, tangent


def events(
    spikes: Float[Array, "m n_pre"],
    weights: tuple[Float[Array, "n_pre K"], ...],
    indices: tuple[Int[Array, "n_pre K"], ...],
    lags: tuple[Int[Array, "n_pre K"] | None, ...],
    targets: tuple[Target, ...],
) -> tuple[Float[Array, "R n_post"], ...]:
    """Event-driven delivery over pre-major fixed-width lists, for every projection of one
    presynaptic population at once (one per entry of ``weights``, ``indices``, ``lags``,
    ``targets``): only the interval's spikes (at most each projection's capacity; more is a
    runtime error naming it) scatter their ``K`` synapses, found once for all projections.
    JVP: the full scatter of the spike tangent over every presynaptic cell (so cells that did
    not spike pass their surrogate tangents on), plus the event scatter of the weight
    tangent."""
    columns, lag, targets = pack(indices, lags, targets)
    return packed_events(spikes, jnp.concatenate(weights, axis=1), columns, lag, targets)
