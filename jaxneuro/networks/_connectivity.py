"""Connectivity between two populations: a dense matrix, or fixed-width sparse lists, and the
builders that draw them (fixed probability, fixed in-degree, explicit)."""

from __future__ import annotations

import abc
import math

import equinox as eqx
import numpy as np
from jaxtyping import Bool, Float, Int

_BLOCK = 2**22
"""Random draws per block when sampling a graph (bounds the builders' memory)."""


def _count(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")
    return int(value)


def _delays_ms(delay, shape: tuple[int, ...]) -> np.ndarray | None:
    """Per-synapse delays (ms) broadcast to ``shape``, or ``None``; a ``ValueError`` if any is
    negative or not finite."""
    if delay is None:
        return None
    d = np.asarray(delay, np.float64)
    if not np.all(np.isfinite(d)) or np.any(d < 0):
        bad = d[~(np.isfinite(d) & (d >= 0))].ravel()[:3]
        raise ValueError(f"delays must be finite and >= 0 ms, got {bad.tolist()}")
    try:
        return np.broadcast_to(d, shape).copy()
    except ValueError:
        raise ValueError(
            f"delays of shape {d.shape} do not match the synapses' shape {shape}"
        ) from None


class Frozen:
    """A read-only numpy array that hashes (once, by content), so that arrays of a graph can be
    static fields: a Network then holds no traced arrays and ``jax.jit(network.apply)`` works
    like any Simulator's, the graph compiled in as constants."""

    __slots__ = ("array", "_hash")

    def __init__(self, array):
        a = np.array(array)
        a.flags.writeable = False
        self.array = a
        self._hash = hash((a.shape, a.dtype.str, a.tobytes()))

    def __hash__(self):
        return self._hash

    def __eq__(self, other):
        return self is other or (
            isinstance(other, Frozen)
            and self._hash == other._hash
            and self.array.dtype == other.array.dtype
            and np.array_equal(self.array, other.array)
        )

    def __repr__(self):
        return f"Frozen(shape={self.array.shape}, dtype={self.array.dtype})"


def _frozen(a) -> Frozen | None:
    return None if a is None else Frozen(a)


class Connectivity(eqx.Module):
    """Which presynaptic cell reaches which postsynaptic cell, with what weight and delay.

    The weights here are initial values: a :class:`~jaxneuro.networks.Network` returns them from
    ``init`` as parameters (dimensionless multipliers of the target synapse's conductance per
    event, see :class:`~jaxneuro.networks.Projection`), so they can be trained; the graph itself
    (which synapses exist, their delays) is fixed.

    Attributes:
        n_pre, n_post: sizes of the presynaptic and postsynaptic populations.
        seed: the seed the graph was drawn with (``None`` for explicit graphs).
        rule: how the graph was built (e.g. ``"fixed_probability(p=0.02)"``).
    """

    n_pre: int = eqx.field(static=True)
    n_post: int = eqx.field(static=True)
    seed: int | None = eqx.field(static=True)
    rule: str = eqx.field(static=True)

    @abc.abstractmethod
    def synapses(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
        """``(pre, post, weight, delay_ms or None)``, one entry per synapse, in numpy."""

    @property
    def n_synapses(self) -> int:
        return int(self.synapses()[0].shape[0])

    def to_dense(self) -> Dense:
        pre, post, w, d = self.synapses()
        return _dense(self.n_pre, self.n_post, pre, post, w, d, self.seed, self.rule)

    def to_sparse(self) -> Sparse:
        pre, post, w, d = self.synapses()
        return _sparse(self.n_pre, self.n_post, pre, post, w, d, self.seed, self.rule)

    def matrix(self) -> np.ndarray:
        """The weights as a dense ``[n_pre, n_post]`` numpy matrix (repeated synapses add)."""
        pre, post, w, _ = self.synapses()
        m = np.zeros((self.n_pre, self.n_post))
        np.add.at(m, (pre, post), w)
        return m


class Dense(Connectivity):
    """All pairs as a ``[n_pre, n_post]`` matrix: for small networks (a few hundred cells) and
    for ``vmap`` over parameter sets (one matrix product per exchange).

    Attributes:
        weight: initial weights, zero where there is no synapse.
        mask: which synapses exist (only these receive gradients).
        delay: per-synapse delays (ms), or ``None`` (the projection's delay applies).
    """

    _weight: Frozen = eqx.field(static=True)
    _mask: Frozen = eqx.field(static=True)
    _delay: Frozen | None = eqx.field(static=True)

    @property
    def weight(self) -> Float[np.ndarray, "n_pre n_post"]:
        return self._weight.array

    @property
    def mask(self) -> Bool[np.ndarray, "n_pre n_post"]:
        return self._mask.array

    @property
    def delay(self) -> Float[np.ndarray, "n_pre n_post"] | None:
        return None if self._delay is None else self._delay.array

    def synapses(self):
        mask = np.asarray(self.mask)
        pre, post = np.nonzero(mask)
        w = np.asarray(self.weight)[pre, post]
        d = None if self.delay is None else self.delay[pre, post]
        return pre, post, w, d


class Sparse(Connectivity):
    """Fixed-width ("ELL") lists, pre-major: row ``i`` holds the ``K`` targets of presynaptic
    cell ``i``, padded with ``n_post`` (weight 0). Delivery touches only the cells that spiked
    (event-driven) or gathers per postsynaptic cell through the post-major transpose
    (:meth:`post_major`). ``K`` is the largest out-degree.

    Attributes:
        indices: ``[n_pre, K]`` postsynaptic indices (``n_post`` = padding).
        weight: ``[n_pre, K]`` initial weights (0 at padding).
        delay: ``[n_pre, K]`` per-synapse delays (ms), or ``None``.
    """

    _indices: Frozen = eqx.field(static=True)
    _weight: Frozen = eqx.field(static=True)
    _delay: Frozen | None = eqx.field(static=True)

    @property
    def indices(self) -> Int[np.ndarray, "n_pre K"]:
        return self._indices.array

    @property
    def weight(self) -> Float[np.ndarray, "n_pre K"]:
        return self._weight.array

    @property
    def delay(self) -> Float[np.ndarray, "n_pre K"] | None:
        return None if self._delay is None else self._delay.array

    @property
    def width(self) -> int:
        return int(self.indices.shape[1])

    def synapses(self):
        idx = np.asarray(self.indices)
        pre, slot = np.nonzero(idx < self.n_post)
        w = np.asarray(self.weight)[pre, slot]
        d = None if self.delay is None else self.delay[pre, slot]
        return pre, idx[pre, slot], w, d

    def post_major(self) -> tuple[np.ndarray, np.ndarray]:
        """``(pre [n_post, K_in], slot [n_post, K_in])``: for each postsynaptic cell, its
        presynaptic cells (padding ``n_pre``) and their flat positions in the pre-major
        ``weight`` (padding ``n_pre · K``), for delivery by gather."""
        idx = np.asarray(self.indices)
        pre, k = np.nonzero(idx < self.n_post)
        post = idx[pre, k]
        flat = pre * idx.shape[1] + k
        order = np.lexsort((pre, post))
        post, pre, flat = post[order], pre[order], flat[order]
        degree = np.bincount(post, minlength=self.n_post)
        width = max(1, int(degree.max(initial=0)))
        rank = np.arange(post.size) - np.repeat(np.cumsum(degree) - degree, degree)
        pre_of = np.full((self.n_post, width), self.n_pre, np.int32)
        slot_of = np.full((self.n_post, width), idx.size, np.int32)
        pre_of[post, rank], slot_of[post, rank] = pre, flat
        return pre_of, slot_of


def _dense(n_pre, n_post, pre, post, w, d, seed, rule) -> Dense:
    if np.unique(pre * n_post + post).size != pre.size:
        raise ValueError(
            "a Dense matrix holds one synapse per pair; this graph repeats pairs (multapses): "
            "use Sparse"
        )
    weight = np.zeros((n_pre, n_post))
    mask = np.zeros((n_pre, n_post), bool)
    weight[pre, post], mask[pre, post] = w, True
    delay = None
    if d is not None:
        delay = np.zeros((n_pre, n_post))
        delay[pre, post] = d
    return Dense(n_pre, n_post, seed, rule, Frozen(weight), Frozen(mask), _frozen(delay))


def _sparse(n_pre, n_post, pre, post, w, d, seed, rule) -> Sparse:
    order = np.lexsort((post, pre))
    pre, post, w = pre[order], post[order], w[order]
    degree = np.bincount(pre, minlength=n_pre)
    width = max(1, int(degree.max(initial=0)))
    rank = np.arange(pre.size) - np.repeat(np.cumsum(degree) - degree, degree)
    indices = np.full((n_pre, width), n_post, np.int32)
    weight = np.zeros((n_pre, width))
    indices[pre, rank], weight[pre, rank] = post, w
    delay = None
    if d is not None:
        delay = np.zeros((n_pre, width))
        delay[pre, rank] = d[order]
    return Sparse(n_pre, n_post, seed, rule, Frozen(indices), Frozen(weight), _frozen(delay))


def _finish(n_pre, n_post, pre, post, weight, delay, seed, rule, format) -> Connectivity:
    pre, post = np.asarray(pre, np.int64), np.asarray(post, np.int64)
    w = np.broadcast_to(np.asarray(weight, np.float64), pre.shape).copy()
    if not np.all(np.isfinite(w)):
        raise ValueError("weights must be finite")
    d = _delays_ms(delay, pre.shape)
    if format == "dense":
        return _dense(n_pre, n_post, pre, post, w, d, seed, rule)
    if format == "sparse":
        return _sparse(n_pre, n_post, pre, post, w, d, seed, rule)
    raise ValueError(f"format must be 'sparse' or 'dense', got {format!r}")


def _seed(seed) -> int:
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer):
        raise ValueError(f"seed must be an int (it is recorded with the graph), got {seed!r}")
    return int(seed)


def fixed_probability(
    n_pre: int,
    n_post: int,
    p: float,
    weight: float = 1.0,
    *,
    seed: int,
    autapses: bool = True,
    delay=None,
    format: str = "sparse",
) -> Connectivity:
    """Each pair connects independently with probability ``p`` (COBA/CUBA: Vogels & Abbott 2005;
    Brette et al. 2007, p = 0.02), drawn with ``numpy.random.default_rng(seed)``.

    Args:
        n_pre, n_post: population sizes.
        p: connection probability in [0, 1].
        weight: initial weight of every synapse (multiplier of the target synapse's conductance
            per event).
        seed: the graph's seed (recorded as ``connectivity.seed``).
        autapses: whether cell ``i`` may connect to itself (only where ``n_pre == n_post``,
            i.e. a recurrent projection; ``False`` for COBA).
        delay: per-synapse delays (ms): a scalar, or ``None`` (the projection's delay applies).
        format: ``"sparse"`` (:class:`Sparse`) or ``"dense"`` (:class:`Dense`).
    """
    n_pre, n_post, seed = _count("n_pre", n_pre), _count("n_post", n_post), _seed(seed)
    if not (isinstance(p, int | float) and 0.0 <= p <= 1.0):
        raise ValueError(f"connection probability p must be in [0, 1], got {p!r}")
    rng = np.random.default_rng(seed)
    rows = max(1, _BLOCK // n_post)
    pres, posts = [], []
    for start in range(0, n_pre, rows):  # blocks of rows bound the memory of the draws
        hit = rng.random((min(rows, n_pre - start), n_post)) < p
        i, j = np.nonzero(hit)
        pres.append(i + start)
        posts.append(j)
    pre, post = np.concatenate(pres), np.concatenate(posts)
    if not autapses:
        keep = pre != post
        pre, post = pre[keep], post[keep]
    rule = f"fixed_probability(p={p}, autapses={autapses})"
    return _finish(n_pre, n_post, pre, post, weight, delay, seed, rule, format)


def fixed_indegree(
    n_pre: int,
    n_post: int,
    k: int,
    weight: float = 1.0,
    *,
    seed: int,
    autapses: bool = True,
    delay=None,
    format: str = "sparse",
) -> Connectivity:
    """Every postsynaptic cell receives exactly ``k`` synapses from distinct presynaptic cells
    chosen uniformly (Brunel 2000; NEST ``fixed_indegree`` without multapses), drawn with
    ``numpy.random.default_rng(seed)``. Arguments as :func:`fixed_probability`."""
    n_pre, n_post, seed = _count("n_pre", n_pre), _count("n_post", n_post), _seed(seed)
    k = _count("in-degree k", k)
    pool = n_pre - (0 if autapses or n_pre != n_post else 1)
    if k > pool:
        raise ValueError(
            f"in-degree k = {k} exceeds the {pool} distinct presynaptic cells available"
        )
    rng = np.random.default_rng(seed)
    rows = max(1, _BLOCK // n_pre)
    pres = []
    for start in range(0, n_post, rows):
        keys = rng.random((min(rows, n_post - start), n_pre))
        if not autapses and n_pre == n_post:
            r = np.arange(keys.shape[0])
            keys[r, r + start] = np.inf  # never among the k smallest
        pres.append(np.argpartition(keys, k - 1, axis=1)[:, :k])
    pre = np.concatenate(pres).ravel()
    post = np.repeat(np.arange(n_post), k)
    rule = f"fixed_indegree(k={k}, autapses={autapses})"
    return _finish(n_pre, n_post, pre, post, weight, delay, seed, rule, format)


def explicit(
    n_pre: int,
    n_post: int,
    pre,
    post,
    weight=1.0,
    *,
    delay=None,
    format: str = "sparse",
) -> Connectivity:
    """Synapses listed one by one: ``pre[s] → post[s]`` with ``weight[s]`` and ``delay[s]`` (ms;
    scalars broadcast). Indices are checked against the population sizes."""
    n_pre, n_post = _count("n_pre", n_pre), _count("n_post", n_post)
    pre, post = np.atleast_1d(np.asarray(pre)), np.atleast_1d(np.asarray(post))
    if pre.shape != post.shape or pre.ndim != 1:
        raise ValueError(f"pre and post must be 1-D of one length, got {pre.shape}, {post.shape}")
    for name, idx, n in (("pre", pre, n_pre), ("post", post, n_post)):
        if idx.size and not np.issubdtype(idx.dtype, np.integer):
            raise ValueError(f"{name} indices must be integers, got dtype {idx.dtype}")
        if idx.size and (idx.min() < 0 or idx.max() >= n):
            raise ValueError(f"{name} indices must lie in [0, {n}), got {idx.min()}..{idx.max()}")
    return _finish(n_pre, n_post, pre, post, weight, delay, None, "explicit", format)


def from_matrix(matrix, *, delay=None, format: str = "dense") -> Connectivity:
    """A synapse for every non-zero entry of ``matrix[n_pre, n_post]``, with that weight;
    ``delay`` (ms) a scalar or a matrix of the same shape."""
    m = np.asarray(matrix, np.float64)
    if m.ndim != 2:
        raise ValueError(f"matrix must be [n_pre, n_post], got shape {m.shape}")
    pre, post = np.nonzero(m)
    d = _delays_ms(delay, m.shape)
    d = None if d is None else d[pre, post]
    return _finish(*m.shape, pre, post, m[pre, post], d, None, "from_matrix", format)


def describe(c: Connectivity) -> str:
    """One line: format, sizes, synapses and mean degree, rule and seed."""
    n = c.n_synapses
    mean = n / c.n_pre if c.n_pre else math.nan
    return (
        f"{type(c).__name__} {c.n_pre}→{c.n_post}: {n} synapses ({mean:.1f} per presynaptic "
        f"cell), {c.rule}, seed {c.seed}"
    )
