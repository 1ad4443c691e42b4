"""Spike delivery: one exchange interval's presynaptic spikes to a window of postsynaptic input.

Every function maps spikes ``[m, n_pre]`` (one row per sample of the interval) and weights to a
window ``[R, n_post]`` whose row ``r`` is due ``offset + r`` samples after the interval's first
sample; ``lag`` (per synapse, in samples) is each synapse's delay minus ``offset``, so a spike in
row ``j`` through synapse ``s`` lands in window row ``j + lag[s]``.

Three ways: a dense matrix product (:func:`dense`); a gather per postsynaptic cell over its
fixed-width presynaptic list (:func:`gather`); and event-driven delivery (:func:`events`), which
touches only the synapses of the cells that spiked, through a fixed-capacity list of events (in a
network, every event-driven projection at once: the spikes of all their presynaptic populations
are searched once and their synapses gathered and scattered once, :func:`packed_events`), with a
JVP equal to the full matrix–vector product on the tangent (non-spiking cells, whose surrogate
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


TIER_MIN, TIER_GROWTH = 8, 2
"""Event lists come in tiers of 8, 16, 32 … events up to the capacity; each interval uses the
smallest tier that holds its spikes (``lax.switch``), so quiet intervals cost little and no
interval gathers more than twice the synapses it needs (COBA 4,000: 33 → 30 µs per step on one
core against tiers growing by 4; compile ≈ 1 s longer). Under ``vmap`` over parameter sets the
switch runs every tier: use dense delivery there."""

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
    custom call (≈ 6 µs for 3,200 cells on one core of this CPU); the blocks cut that to
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
    capacity (most presynaptic spikes per interval), its name for errors, its synapse slots per
    presynaptic cell (``K``), and where its presynaptic cells lie among the spikes delivered
    together (``first``, ``cells``; set by :func:`events` or the network)."""

    n_rows: int
    n_post: int
    capacity: int
    label: str = ""
    synapses: int = 0
    first: int = 0
    cells: int = 0


def _offsets(targets) -> np.ndarray:
    """Where each target's window starts in the packed flat window, and (last) its size."""
    return np.cumsum([0] + [t.n_rows * t.n_post for t in targets])


def _slots(targets) -> tuple[list[int], int]:
    """Each target's first synapse column in the packed rows of its presynaptic cells
    (projections of one population side by side; different populations share columns, since
    their rows differ), and the packed width."""
    start, used = [], {}
    for t in targets:
        start.append(used.get(t.first, 0))
        used[t.first] = start[-1] + t.synapses
    return start, max(used.values())


def pack(
    indices: tuple[Int[Array, "n_pre K"], ...],
    lags: tuple[Int[Array, "n_pre K"] | None, ...],
    targets: tuple[Target, ...],
) -> tuple[UInt[Array, "N K_all"], Int[Array, "N K_all"] | None, tuple | None]:
    """The synapses of every projection delivered together, one row per presynaptic cell of
    any of their populations (rows ``first … first + cells``): each synapse's column in the
    packed flat window (its projection's window starts at :func:`_offsets`; no synapse → the
    size of the whole, dropped), its lag (``None`` when no projection has per-synapse lags),
    and, when some window has several rows, each synapse's window width and rows. Once per
    run, outside the loop over intervals."""
    offsets = _offsets(targets)
    size = int(offsets[-1])
    start, width = _slots(targets)
    n = max(t.first + t.cells for t in targets)
    columns = jnp.full((n, width), size, jnp.uint32)
    for i, t, o, c in zip(indices, targets, offsets[:-1], start, strict=True):
        column = jnp.where(i < t.n_post, i + int(o), size).astype(jnp.uint32)
        columns = columns.at[t.first : t.first + t.cells, c : c + t.synapses].set(column)
    lag = None
    if any(d is not None for d in lags):
        lag = jnp.zeros((n, width), jnp.int32)
        for d, t, c in zip(lags, targets, start, strict=True):
            if d is not None:
                lag = lag.at[t.first : t.first + t.cells, c : c + t.synapses].set(d)
    geometry = None
    if any(t.n_rows > 1 for t in targets):
        n_post, n_rows = np.ones((n, width), np.int32), np.ones((n, width), np.int32)
        for t, c in zip(targets, start, strict=True):
            n_post[t.first : t.first + t.cells, c : c + t.synapses] = t.n_post
            n_rows[t.first : t.first + t.cells, c : c + t.synapses] = t.n_rows
        geometry = (jnp.asarray(n_post), jnp.asarray(n_rows))
    return columns, lag, geometry


def pack_weights(
    weights: tuple[Float[Array, "n_pre K"], ...], targets: tuple[Target, ...]
) -> Float[Array, "N K_all"]:
    """The projections' weights in the layout of :func:`pack` (zero where no synapse)."""
    start, width = _slots(targets)
    n = max(t.first + t.cells for t in targets)
    packed = jnp.zeros((n, width), jnp.result_type(*weights))
    for w, t, c in zip(weights, targets, start, strict=True):
        packed = packed.at[t.first : t.first + t.cells, c : c + t.synapses].set(w)
    return packed


def _scatter(row, cell, value, weight, columns, lag, geometry, size):
    """Add ``value · weight[cell]`` into the packed flat window (``size`` entries) at rows
    ``row + lag[cell]`` (``lag`` ``None``: 0) of each synapse's projection, columns
    ``columns[cell]``; padding and rows past a window are dropped. One gather of the event
    cells' synapses and one flat scatter for every projection (XLA:CPU scatters serially, at
    roughly 10 ns per update, and each gather or scatter is a kernel launch)."""
    # unsigned indices: no per-element wrap-around of negative indices in gathers and scatter
    cell = jnp.minimum(cell, columns.shape[0] - 1).astype(jnp.uint32)  # fill entries carry 0
    cols = columns[cell]
    if geometry is None:  # one row each: a zero-lag, one-sample interval
        at = cols
    else:  # each synapse's window rows and width, by its projection
        n_post, n_rows = geometry[0][cell], geometry[1][cell]
        rows = row[:, None] + (0 if lag is None else lag[cell])
        at = jnp.where((cols < size) & (rows < n_rows), cols + rows * n_post, size)
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


def _deliver(spikes, weight, columns, lag, geometry, targets):
    """Scatter the synapses of the non-zero entries of ``spikes [m, N]`` (the presynaptic cells
    of every projection in ``targets``, side by side) through their projections, packed
    (:func:`pack`): the spikes are found once (:func:`_find`, through the smallest tier of event
    list that holds them), their synapses gathered and scattered once for all projections. More
    spikes of a population than a projection's capacity is an ``eqx.error_if`` naming it,
    never a silent drop. Linear in ``weight``."""
    m, n_cells = spikes.shape
    flat = spikes.reshape(-1)
    n_events = jnp.sum(flat != 0)
    window_size = int(_offsets(targets)[-1])

    def tier(size):
        def deliver(flat, weight):
            # top_k searches (a zero value pads): faster on CPU than nonzero's cumulative sum
            where = _find(flat, size).astype(jnp.uint32)
            value = flat.at[where].get(mode="fill", fill_value=0)  # padding positions: 0
            row, cell = where // n_cells, where % n_cells
            return _scatter(row, cell, value, weight, columns, lag, geometry, window_size)

        return deliver

    most = {}  # the most events each presynaptic population can bring
    for t in targets:
        most[t.first] = max(most.get(t.first, 0), min(t.capacity, m * t.cells))
    sizes = _tiers(min(sum(most.values()), flat.size))
    if len(sizes) == 1:
        window = tier(sizes[0])(flat, weight)
    else:
        # the first tier that holds them (a compare-and-sum: searchsorted is a loop on CPU)
        k = jnp.sum(n_events > jnp.asarray(sizes[:-1]))  # at most len(sizes) - 1
        window = jax.lax.switch(k, [tier(size) for size in sizes], flat, weight)
    counts, windows = {}, []
    for w, t in zip(_split(window, targets), targets, strict=True):
        if t.capacity < m * t.cells:  # overflow possible: count this population's spikes
            if t.first not in counts:  # (all the spikes when it is the only population)
                mine = spikes[:, t.first : t.first + t.cells]
                counts[t.first] = n_events if t.cells == n_cells else jnp.sum(mine != 0)
            w = eqx.error_if(
                w,
                counts[t.first] > t.capacity,
                f"spike buffer overflow in projection {t.label}: more than {t.capacity} "
                "presynaptic spikes in one exchange interval; raise its capacity "
                "(Projection(..., capacity=...))",
            )
        windows.append(w)
    return tuple(windows)


@functools.partial(jax.custom_jvp, nondiff_argnums=(5,))
def packed_events(
    spikes: Float[Array, "m N"],
    weight: Float[Array, "N K_all"],
    columns: UInt[Array, "N K_all"],
    lag: Int[Array, "N K_all"] | None,
    geometry: tuple | None,
    targets: tuple[Target, ...],
) -> tuple[Float[Array, "R n_post"], ...]:
    """:func:`events` on projections packed together (:func:`pack`, :func:`pack_weights`;
    ``spikes`` their presynaptic populations side by side): what a network runs in each
    interval."""
    return _deliver(spikes, weight, columns, lag, geometry, targets)


@packed_events.defjvp
def _packed_events_jvp(targets, primals, tangents):
    spikes, weight, columns, lag, geometry = primals
    d_spikes, d_weight, _, _, _ = tangents
    out = _deliver(spikes, weight, columns, lag, geometry, targets)
    by_weight = _deliver(spikes, d_weight, columns, lag, geometry, targets)
    m, n_cells = spikes.shape
    every_row = jnp.repeat(jnp.arange(m), n_cells)
    every_cell = jnp.tile(jnp.arange(n_cells), m)
    size = int(_offsets(targets)[-1])
    d_flat = d_spikes.reshape(-1)
    by_spike = _scatter(every_row, every_cell, d_flat, weight, columns, lag, geometry, size)
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
    n_pre = spikes.shape[1]
    targets = tuple(
        t._replace(synapses=i.shape[1], first=0, cells=n_pre)
        for i, t in zip(indices, targets, strict=True)
    )
    columns, lag, geometry = pack(indices, lags, targets)
    weight = pack_weights(weights, targets)
    return packed_events(spikes, weight, columns, lag, geometry, targets)
