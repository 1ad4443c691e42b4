"""A projection: spikes of one population, through a connectivity, into a named synaptic input
channel of another (or the same) population."""

from __future__ import annotations

import math
from collections.abc import Sequence

import equinox as eqx
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from . import _delivery
from ._connectivity import Connectivity, Dense, Frozen, Sparse
from ._delays import delay_samples

METHODS = ("auto", "dense", "gather", "events")


class Projection(eqx.Module):
    """Spikes of population ``pre`` delivered to input channel ``channel`` of population ``post``.

    A spike of presynaptic cell ``i`` in sample ``k`` adds ``weight[i → j] × spikes`` to
    channel ``channel`` of cell ``j`` in sample ``k + D``, ``D = max(1, round(delay / dt))``
    samples (zero delay is one sample; see :func:`~jaxneuro.networks.delay_samples`). The target
    channel holds events (e.g. a point neuron's synapse ``"exc"``, in spikes/sample), so a weight
    is a dimensionless multiple of that synapse's conductance per event (its ``weight``
    parameter, e.g. 0.006 µS in COBA): weight 1 is one full synaptic event. Several projections
    into one channel add.

    Attributes:
        pre, post: population names.
        channel: the target population's input channel (width 1).
        connectivity: :class:`Dense` or :class:`Sparse` (converted as ``method`` needs).
        delay: one delay for every synapse (ms), or ``None``: the connectivity's per-synapse
            delays, else 0 ms (one sample).
        method: ``"dense"`` (matrix product), ``"gather"`` (post-major fixed-width lists),
            ``"events"`` (event-driven over the cells that spiked), or ``"auto"`` (dense for a
            :class:`Dense` connectivity, events for a :class:`Sparse` one).
        capacity: for ``"events"``, the most presynaptic spikes one exchange interval may hold;
            more is a runtime error naming the projection, never a silent drop. Default: every
            presynaptic cell-sample of the interval (no overflow possible). The work per
            interval follows its spike count through tiers of event lists (8, 32, 128 …
            events, see ``networks._delivery``), so a large capacity costs compile time only.
        name: key of its weights in the network's parameters (default ``"pre->post:channel"``).
    """

    pre: str = eqx.field(static=True)
    post: str = eqx.field(static=True)
    channel: str = eqx.field(static=True)
    connectivity: Connectivity = eqx.field(static=True)
    delay: float | None = eqx.field(static=True)
    method: str = eqx.field(static=True)
    capacity: int | None = eqx.field(static=True)
    name: str = eqx.field(static=True)

    def __init__(
        self,
        pre: str,
        post: str,
        channel: str,
        connectivity: Connectivity,
        *,
        delay: float | None = None,
        method: str = "auto",
        capacity: int | None = None,
        name: str | None = None,
    ):
        if not isinstance(connectivity, Connectivity):
            raise ValueError(
                f"projection {pre!r} → {post!r}: connectivity must be a Dense or Sparse "
                f"(e.g. networks.fixed_probability(...)), got {type(connectivity).__name__}"
            )
        if method not in METHODS:
            raise ValueError(f"projection method must be one of {METHODS}, got {method!r}")
        if delay is not None:
            if not (isinstance(delay, int | float) and math.isfinite(delay) and delay >= 0):
                raise ValueError(f"delay must be a finite number of ms >= 0, got {delay!r}")
            if connectivity.delay is not None:
                raise ValueError(
                    f"projection {pre!r} → {post!r}: the connectivity has per-synapse delays; "
                    f"do not also give delay={delay}"
                )
        if capacity is not None and (
            isinstance(capacity, bool) or not isinstance(capacity, int) or capacity < 1
        ):
            raise ValueError(f"capacity must be a positive int, got {capacity!r}")
        if method == "auto":
            method = "dense" if isinstance(connectivity, Dense) else "events"
        if method == "dense" and not isinstance(connectivity, Dense):
            connectivity = connectivity.to_dense()
        if method != "dense" and not isinstance(connectivity, Sparse):
            connectivity = connectivity.to_sparse()
        self.pre, self.post, self.channel = str(pre), str(post), str(channel)
        self.connectivity = connectivity
        self.delay = None if delay is None else float(delay)
        self.method, self.capacity = method, capacity
        self.name = f"{pre}->{post}:{channel}" if name is None else str(name)

    def delays_ms(self) -> np.ndarray:
        """Per-synapse delays (ms) in the connectivity's layout."""
        c = self.connectivity
        if c.delay is not None:
            return np.asarray(c.delay, np.float64)
        return np.full(c.weight.shape, 0.0 if self.delay is None else self.delay)

    def samples(self, dt: float) -> np.ndarray:
        """Per-synapse delays in samples of ``dt`` (padding and absent synapses excluded)."""
        c = self.connectivity
        present = np.asarray(c.mask) if isinstance(c, Dense) else np.asarray(c.indices) < c.n_post
        d = delay_samples(self.delays_ms(), dt)
        return d[present]

    def route(self, dt: float, chunk: int) -> Route:
        """The delivery plan at sample interval ``dt`` (ms), exchanging every ``chunk`` samples."""
        c = self.connectivity
        samples = self.samples(dt)
        lo = int(samples.min()) if samples.size else chunk
        hi = int(samples.max()) if samples.size else chunk
        d = delay_samples(self.delays_ms(), dt)
        n_rows = chunk + hi - lo
        lags = tuple(int(v) - lo for v in np.unique(samples)) or (0,)
        if self.method == "events":
            capacity = min(self.capacity or chunk * c.n_pre, chunk * c.n_pre)
            lag_samples = np.clip(d - lo, 0, None).astype(np.int32)
            lag = Frozen(lag_samples) if hi > lo else None  # one delay: no per-synapse lag
            indices = Frozen(c.indices)
            return Route(
                self.method, lo, n_rows, (), (), indices, lag, None, capacity, c.n_post, self.name
            )
        if self.method == "dense":
            present = np.asarray(c.mask)
            masks = tuple(Frozen(present & (d - lo == k)) for k in lags)
            return Route(self.method, lo, n_rows, lags, masks, None, None, None, 0, c.n_post)
        pre_of, slot = c.post_major()
        flat_lag = np.append((d - lo).ravel(), -1)  # padding: no lag
        slots = tuple(
            Frozen(np.where(flat_lag[slot] == k, slot, c.indices.size).astype(np.int32))
            for k in lags
        )
        return Route(self.method, lo, n_rows, lags, slots, None, None, Frozen(pre_of), 0, c.n_post)


class Route(eqx.Module):
    """A projection's delivery plan at one sample interval: window rows ``n_rows`` due from
    ``offset`` samples after each exchange interval's first sample, and the arrays of its
    method (see :mod:`._delivery`)."""

    method: str = eqx.field(static=True)
    offset: int = eqx.field(static=True)
    n_rows: int = eqx.field(static=True)
    lags: tuple[int, ...] = eqx.field(static=True)
    selectors: tuple[Frozen, ...] = eqx.field(static=True)
    indices: Frozen | None = eqx.field(static=True)
    lag: Frozen | None = eqx.field(static=True)
    pre_of: Frozen | None = eqx.field(static=True)
    capacity: int = eqx.field(static=True)
    n_post: int = eqx.field(static=True)
    label: str = eqx.field(static=True, default="")

    def prepare(self, weight: Array):
        """What the weights become once per run (masked or reordered per lag)."""
        if self.method == "dense":
            return _delivery.dense_weights(weight, self._selected())
        if self.method == "gather":
            return _delivery.gather_weights(weight, self._selected())
        return weight

    def _selected(self) -> tuple[tuple[int, Array], ...]:
        return tuple(
            (k, jnp.asarray(f.array)) for k, f in zip(self.lags, self.selectors, strict=True)
        )

    def window(self, prepared, spikes: Float[Array, "m n_pre"]) -> Float[Array, "R n_post"]:
        if self.method == "dense":
            return _delivery.dense(spikes, prepared, self.lags, self.n_rows)
        if self.method == "gather":
            pre_of = jnp.asarray(self.pre_of.array)
            return _delivery.gather(spikes, prepared, pre_of, self.lags, self.n_rows)
        lag = None if self.lag is None else jnp.asarray(self.lag.array)
        indices = jnp.asarray(self.indices.array)
        return _delivery.events(spikes, (prepared,), (indices,), (lag,), (self.target,))[0]

    @property
    def target(self) -> _delivery.Target:
        """The static part of event delivery."""
        slots = self.indices.array.shape[1]
        return _delivery.Target(self.n_rows, self.n_post, self.capacity, self.label, slots)


def _events_plan(projections: Sequence[Projection], routes: Sequence[Route]):
    """The event-driven projections (their positions), their presynaptic populations in order,
    and their targets placed among those populations' cells side by side."""
    ks = [k for k, r in enumerate(routes) if r.method == "events"]
    cells = {projections[k].pre: routes[k].indices.array.shape[0] for k in ks}
    first = dict(zip(cells, np.cumsum([0, *cells.values()])[:-1].tolist(), strict=True))
    targets = tuple(
        routes[k].target._replace(first=first[projections[k].pre], cells=cells[projections[k].pre])
        for k in ks
    )
    return ks, tuple(cells), targets


def prepare(
    projections: Sequence[Projection], routes: Sequence[Route], weights: dict[str, Array]
) -> tuple[tuple, tuple | None]:
    """What the weights (``{projection name: weight}``) become once per run, outside the loop
    over intervals: each dense or gather projection's masked or reordered weights, and every
    event-driven projection packed together, one row per presynaptic cell of their populations
    (one search for the spikes, one gather and one scatter of their synapses per interval; see
    ``_delivery.pack``)."""
    single = tuple(
        None if r.method == "events" else r.prepare(weights[p.name])
        for p, r in zip(projections, routes, strict=True)
    )
    ks, _, targets = _events_plan(projections, routes)
    if not ks:
        return single, None
    columns, lag, geometry = _delivery.pack(
        tuple(jnp.asarray(routes[k].indices.array) for k in ks),
        tuple(None if routes[k].lag is None else jnp.asarray(routes[k].lag.array) for k in ks),
        targets,
    )
    weight = _delivery.pack_weights(tuple(weights[projections[k].name] for k in ks), targets)
    return single, (weight, columns, lag, geometry)


def windows(
    projections: Sequence[Projection],
    routes: Sequence[Route],
    prepared: tuple[tuple, tuple | None],
    spikes: dict[str, Float[Array, "m n"]],
) -> list[Float[Array, "R n_post"]]:
    """Every projection's window for one exchange interval's ``spikes`` (``{population:
    [m, n]}``), in order, from the weights as :func:`prepare` left them."""
    single, packed = prepared
    out: list = [None] * len(routes)
    for k, (p, r) in enumerate(zip(projections, routes, strict=True)):
        if r.method != "events":
            out[k] = r.window(single[k], spikes[p.pre])
    ks, pres, targets = _events_plan(projections, routes)
    if ks:
        s = spikes[pres[0]] if len(pres) == 1 else jnp.concatenate([spikes[p] for p in pres], 1)
        for k, window in zip(ks, _delivery.packed_events(s, *packed, targets), strict=True):
            out[k] = window
    return out
