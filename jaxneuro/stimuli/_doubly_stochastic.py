"""Beniaguev's doubly stochastic synaptic input, with an optional clustered-input mode.

Beniaguev, Segev & London 2021, *Neuron* 109:2727 (``simulate_L5PC_and_create_dataset.py`` in
``SelfishGene/neuron_as_deep_net``); spec: ``dendritic_neuron.md`` §1 "Input generator" and §5.3.
Per simulation:

1. a hold interval ``T_h`` from ``hold_menu`` + U(−``hold_jitter``, ``hold_jitter``) ms
   (rounded to whole bins, at least one) and a smoothing σ from ``sigma_menu``
   + U(−``sigma_jitter``, ``sigma_jitter``) ms (at least 0);
2. per hold window and tree, an excitatory count per 100 ms ``E ~ U(exc_range)`` and an
   inhibitory count ``I ~ U[max(0, E + d_lo), E + d_hi]`` with ``(d_lo, d_hi) = inh_diff_range``
   (both ranges multiplied by ``scale``; ``I`` is clipped at 0);
3. site ``i`` of tree ``τ`` gets ``count / (Σ_τ adjusted lengths × 100) × adjusted length_i ×
   jitter_i`` events per ms, with adjusted length = length + ``length_offset`` and a U(``site_jitter``)
   jitter drawn per site, hold window and sign (so each tree receives ``count`` events per 100 ms
   on average);
4. the per-bin rates are smoothed with a normalised Gaussian window of ``1 + 7σ`` samples
   (``mode='same'``, zero-padded: rates fade near both ends, as in the original);
5. in each bin ``p ~ Exponential(mean = rate)`` and ``spike ~ Bernoulli(min(p, 1))``, drawn
   as one Bernoulli of the same marginal probability (:func:`spike_probability`).

Clustered mode (§5.3, not in Beniaguev): with probability ``cluster_fraction`` per simulation, one
branch (uniformly among the branch ids ``>= 0`` of sites in ``cluster_trees``) receives extra
excitatory bursts. Bursts arrive as a Poisson process whose mean interval is drawn once per
simulation from U(``cluster_interval``) ms (default 100–500 ms); each burst has
``U{cluster_events}`` events (default 5–20), each at a uniform time within ``cluster_window`` ms
(default 10) of the burst onset, on a uniformly chosen site of that branch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float, PRNGKeyArray

from ._checks import float_dtype, n_samples, static_number

HOLD_MENU_MS = (25, 30, 35, 40, 45, 55, 60, 65, 70, 75, 80, 85, 90, 100, 150, 200, 300, 450)
SIGMA_MENU_MS = (25, 30, 35, 40, 50, 60, 80, 100, 150, 200, 300, 400, 500, 600)


def doubly_stochastic(
    key: PRNGKeyArray,
    duration: float,
    segment_lengths: ArrayLike,
    tree: ArrayLike,
    *,
    dt: float = 1.0,
    branch: ArrayLike | None = None,
    exc_range: Any = (0.0, 800.0),
    inh_diff_range: Any = (-600.0, 200.0),
    scale: float = 1.0,
    hold_menu: Any = HOLD_MENU_MS,
    hold_jitter: float = 20.0,
    sigma_menu: Any = SIGMA_MENU_MS,
    sigma_jitter: float = 20.0,
    length_offset: float = 10.0,
    site_jitter: Any = (0.5, 1.5),
    cluster_fraction: float = 0.3,
    cluster_trees: Any = None,
    cluster_events: Any = (5, 20),
    cluster_window: float = 10.0,
    cluster_interval: Any = (100.0, 500.0),
    return_latents: bool = False,
) -> Float[Array, "T two_n"] | tuple[Float[Array, "T two_n"], dict[str, Array]]:
    """Doubly stochastic excitatory and inhibitory event counts for ``n`` synapse sites.

    The morphology arguments (``segment_lengths``, ``tree``, ``branch``) and every option must be
    concrete (they fix shapes); only ``key`` may be traced, so ``jax.vmap`` over keys draws a
    batch. The defaults are Beniaguev's NMDA-cell values plus the spec's clustered mode.

    Args:
        key: PRNG key; the output is a deterministic function of it.
        duration: length of the simulation (ms).
        segment_lengths: ``[n]`` site lengths (µm), non-negative.
        tree: ``[n]`` integer tree label per site, ``0 .. n_trees − 1`` (e.g. 0 basal, 1 apical);
            the generator runs independently per tree.
        dt: bin width (ms); 1 ms in the spec.
        branch: ``[n]`` integer branch id per site (needed when ``cluster_fraction > 0``);
            sites with a negative id (e.g. the trunk) are never clustered.
        exc_range: excitatory events per tree per 100 ms, ``(low, high)`` shared by all trees
            or one pair per tree label (``[n_trees, 2]``). Beniaguev: (0, 800) (NMDA), basal
            (0, 1900) / apical (0, 2000) (AMPA).
        inh_diff_range: ``(d_lo, d_hi)`` of inhibitory minus excitatory count, shared or per
            tree. Beniaguev: (−600, 200) (NMDA), (−1650, 150) (AMPA).
        scale: multiplies both count ranges (the reduced cell: 47/639 × a global input scale).
        hold_menu: hold-interval menu (ms), positive.
        hold_jitter: half-width of the uniform jitter added to the hold interval (ms).
        sigma_menu: Gaussian smoothing σ menu (ms), non-negative (0: no smoothing).
        sigma_jitter: half-width of the uniform jitter added to σ (ms).
        length_offset: added to every length (µm) before normalising (10 µm in the original).
        site_jitter: ``(low, high)`` of the per-site multiplicative rate jitter.
        cluster_fraction: probability that a simulation is clustered.
        cluster_trees: tree labels whose branches may be clustered; ``None``: all.
        cluster_events: ``(low, high)`` events per burst, integers, inclusive.
        cluster_window: a burst's events fall within this many ms of its onset.
        cluster_interval: ``(low, high)`` of the mean interval between bursts (ms).
        return_latents: also return the drawn latent variables (for diagnostics and tests).

    Returns:
        ``[T, 2n]`` float event counts, ``T = round(duration / dt)``: excitatory columns for
        sites ``0 .. n − 1``, then inhibitory columns in the same order. Bins hold 0 or 1
        except where a clustered burst adds events. With ``return_latents``, also a dict:
        ``hold_ms``, ``sigma_ms``, ``exc_count`` and ``inh_count`` (``[W, n_trees]``, events per
        tree per 100 ms for hold window ``w``, which spans bins ``[w·hold, (w+1)·hold)``;
        ``W`` is a static upper bound: windows past the end are unused), ``exc_jitter`` and
        ``inh_jitter`` (``[W, n]``), ``hold_bins``, ``exc_rate`` and ``inh_rate`` (``[T, n]``,
        smoothed mean events per bin), ``clustered`` and ``cluster_branch`` (−1 if none).
    """
    plan = _plan(
        duration,
        dt,
        segment_lengths,
        tree,
        branch,
        exc_range,
        inh_diff_range,
        scale,
        hold_menu,
        hold_jitter,
        sigma_menu,
        sigma_jitter,
        length_offset,
        site_jitter,
        cluster_fraction,
        cluster_trees,
        cluster_events,
        cluster_window,
        cluster_interval,
    )
    x, latents = _draw(key, *_split(plan))
    return (x, latents) if return_latents else x


# ------------------------------------------------------------------------------ validation


@dataclass(frozen=True)
class _Plan:
    """Validated, preprocessed arguments: Python numbers and tuples (hashable, so static)."""

    t: int
    dt: float
    share: tuple[float, ...]  # [n] adjusted length / tree total
    tree: tuple[int, ...]  # [n]
    n_trees: int
    exc_lo: tuple[float, ...]  # [n_trees], scaled
    exc_hi: tuple[float, ...]
    diff_lo: tuple[float, ...]
    diff_hi: tuple[float, ...]
    hold_menu: tuple[float, ...]
    hold_jitter: float
    n_windows: int
    sigma_menu: tuple[float, ...]
    sigma_jitter: float
    half_width: int  # kernel offsets -K..K cover every window length
    site_jitter: tuple[float, float]
    cluster_fraction: float
    cluster_sites: tuple[bool, ...]  # [n]: site may be clustered
    cluster_branch: tuple[int, ...]  # [n] branch ids
    eligible: tuple[int, ...]  # eligible branch ids
    cluster_events: tuple[int, int]
    cluster_window: float
    cluster_interval: tuple[float, float]
    n_bursts: int


def _int_array(name: str, value: Any, n: int) -> np.ndarray:
    if isinstance(value, jax.core.Tracer):
        raise ValueError(f"{name} must be concrete (it fixes the input layout), got a traced value")
    arr = np.asarray(value)
    if arr.ndim != 1 or arr.shape[0] != n:
        raise ValueError(
            f"{name} must have shape ({n},), one entry per site like segment_lengths, "
            f"got shape {arr.shape}"
        )
    integral = np.issubdtype(arr.dtype, np.integer) or arr.dtype == np.bool_
    whole = np.issubdtype(arr.dtype, np.floating) and np.all(arr == np.round(arr))
    if not (integral or whole):
        raise ValueError(f"{name} must hold integers, got {arr!r}")
    return arr.astype(np.int64)


def _pair(name: str, value: Any) -> tuple[float, float]:
    arr = np.asarray(value, dtype=object)
    if arr.shape != (2,):
        raise ValueError(f"{name} must be a (low, high) pair, got {value!r}")
    lo = static_number(f"{name}[0]", arr[0])
    hi = static_number(f"{name}[1]", arr[1])
    if lo > hi:
        raise ValueError(f"{name} must have low <= high, got {value!r}")
    return lo, hi


def _tree_ranges(name: str, value: Any, n_trees: int) -> tuple[np.ndarray, np.ndarray]:
    """A shared ``(low, high)`` pair or one pair per tree, as ``[n_trees]`` lows and highs."""
    try:
        arr = np.asarray(value, dtype=object)
    except ValueError:
        raise ValueError(f"{name} must be a (low, high) pair or one pair per tree") from None
    if arr.shape == (2,):
        pairs = [_pair(name, value)] * n_trees
    elif arr.ndim == 2 and arr.shape[1] == 2:
        if arr.shape[0] != n_trees:
            raise ValueError(
                f"{name} has {arr.shape[0]} per-tree ranges, but tree labels run "
                f"0..{n_trees - 1} ({n_trees} trees)"
            )
        pairs = [_pair(f"{name}[{i}]", p) for i, p in enumerate(arr)]
    else:
        raise ValueError(f"{name} must be a (low, high) pair or one pair per tree, got {value!r}")
    lo, hi = np.asarray(pairs, dtype=np.float64).T
    return lo, hi


def _menu(name: str, value: Any, positive: bool) -> np.ndarray:
    arr = np.atleast_1d(np.asarray(value, dtype=object))
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D sequence of times (ms), got {value!r}")
    kind = "positive" if positive else "nonnegative"
    return np.asarray([static_number(f"{name}[{i}]", v, kind) for i, v in enumerate(arr)])


def _plan(
    duration,
    dt,
    segment_lengths,
    tree,
    branch,
    exc_range,
    inh_diff_range,
    scale,
    hold_menu,
    hold_jitter,
    sigma_menu,
    sigma_jitter,
    length_offset,
    site_jitter,
    cluster_fraction,
    cluster_trees,
    cluster_events,
    cluster_window,
    cluster_interval,
) -> _Plan:
    t = n_samples(duration, dt)
    dt = float(dt)
    if isinstance(segment_lengths, jax.core.Tracer):
        raise ValueError("segment_lengths must be concrete, got a traced value")
    lengths = np.asarray(segment_lengths)
    if lengths.ndim != 1 or lengths.size == 0:
        raise ValueError(
            f"segment_lengths must be a non-empty 1-D array (µm, one per site), "
            f"got shape {lengths.shape}"
        )
    if not np.issubdtype(lengths.dtype, np.number) or lengths.dtype == np.bool_:
        raise ValueError(f"segment_lengths must be real numbers, got dtype {lengths.dtype}")
    lengths = lengths.astype(np.float64)
    if not np.all(np.isfinite(lengths) & (lengths >= 0)):
        raise ValueError("segment_lengths must be non-negative and finite")
    n = lengths.size
    tree = _int_array("tree", tree, n)
    if tree.min() < 0:
        raise ValueError(f"tree labels must be >= 0, got {tree.min()}")
    n_trees = int(tree.max()) + 1
    length_offset = static_number("length_offset", length_offset, "nonnegative")
    adjusted = lengths + length_offset
    totals = np.bincount(tree, weights=adjusted, minlength=n_trees)
    if np.any(totals[tree] <= 0):
        raise ValueError(
            "a tree has zero total adjusted length; give its sites positive lengths or a "
            "positive length_offset"
        )
    share = adjusted / totals[tree]

    scale = static_number("scale", scale, "nonnegative")
    exc_lo, exc_hi = _tree_ranges("exc_range", exc_range, n_trees)
    if np.any(exc_lo < 0):
        raise ValueError(f"exc_range must be non-negative event counts, got {exc_range!r}")
    diff_lo, diff_hi = _tree_ranges("inh_diff_range", inh_diff_range, n_trees)

    hold = _menu("hold_menu", hold_menu, positive=True)
    hold_jitter = static_number("hold_jitter", hold_jitter, "nonnegative")
    sigma = _menu("sigma_menu", sigma_menu, positive=False)
    sigma_jitter = static_number("sigma_jitter", sigma_jitter, "nonnegative")
    # Fewest bins a hold window can have (floor <= the run-time round): bounds the window count.
    min_hold = max(1, math.floor((hold.min() - hold_jitter) / dt))
    n_windows = -(-t // min_hold)
    longest = 1 + math.ceil(7.0 * (sigma.max() + sigma_jitter) / dt) + 1
    half_width = longest // 2 + 1

    site_jitter = _pair("site_jitter", site_jitter)
    if site_jitter[0] < 0:
        raise ValueError(f"site_jitter must be non-negative, got {site_jitter!r}")

    cluster_fraction = static_number("cluster_fraction", cluster_fraction, "nonnegative")
    if cluster_fraction > 1:
        raise ValueError(f"cluster_fraction must lie in [0, 1], got {cluster_fraction!r}")
    if branch is None:
        if cluster_fraction > 0:
            raise ValueError(
                "the clustered-input mode needs branch ids per site: pass branch=..., or "
                "cluster_fraction=0 for Beniaguev's unclustered input"
            )
        branch_ids = np.full(n, -1, np.int64)
    else:
        branch_ids = _int_array("branch", branch, n)
    if cluster_trees is None:
        in_trees = np.ones(n, bool)
    else:
        labels = np.atleast_1d(np.asarray(cluster_trees))
        if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
            raise ValueError(f"cluster_trees must be tree labels (ints), got {cluster_trees!r}")
        in_trees = np.isin(tree, labels)
    cluster_sites = in_trees & (branch_ids >= 0)
    eligible = np.unique(branch_ids[cluster_sites])
    if cluster_fraction > 0 and eligible.size == 0:
        raise ValueError(
            "cluster_fraction > 0 but no site has a branch id >= 0 in cluster_trees="
            f"{cluster_trees!r}"
        )
    ev = np.asarray(cluster_events)
    if ev.shape != (2,) or not np.issubdtype(ev.dtype, np.integer) or ev[0] < 1 or ev[0] > ev[1]:
        raise ValueError(
            f"cluster_events must be an integer (low, high) pair, 1 <= low <= high, "
            f"got {cluster_events!r}"
        )
    cluster_window = static_number("cluster_window", cluster_window, "positive")
    cluster_interval = _pair("cluster_interval", cluster_interval)
    if cluster_interval[0] <= 0:
        raise ValueError(f"cluster_interval must be positive (ms), got {cluster_interval!r}")
    lam = t * dt / cluster_interval[0]  # bursts expected at the shortest mean interval
    n_bursts = math.ceil(lam + 10.0 * math.sqrt(lam) + 40.0) if cluster_fraction > 0 else 1

    return _Plan(
        t=t,
        dt=dt,
        share=tuple(share.tolist()),
        tree=tuple(tree.tolist()),
        n_trees=n_trees,
        exc_lo=tuple((scale * exc_lo).tolist()),
        exc_hi=tuple((scale * exc_hi).tolist()),
        diff_lo=tuple((scale * diff_lo).tolist()),
        diff_hi=tuple((scale * diff_hi).tolist()),
        hold_menu=tuple(hold.tolist()),
        hold_jitter=hold_jitter,
        n_windows=n_windows,
        sigma_menu=tuple(sigma.tolist()),
        sigma_jitter=sigma_jitter,
        half_width=half_width,
        site_jitter=site_jitter,
        cluster_fraction=cluster_fraction,
        cluster_sites=tuple(cluster_sites.tolist()),
        cluster_branch=tuple(branch_ids.tolist()),
        eligible=tuple(eligible.tolist()) if eligible.size else (0,),
        cluster_events=(int(ev[0]), int(ev[1])),
        cluster_window=cluster_window,
        cluster_interval=cluster_interval,
        n_bursts=n_bursts,
    )


# ---------------------------------------------------------------------------------- drawing


class _Uniforms:
    """Slices of one U[0, 1) draw (one random call compiles far faster than many)."""

    def __init__(self, key, sizes: dict[str, tuple[int, ...]], dtype):
        total = sum(math.prod(shape) for shape in sizes.values())
        u = jax.random.uniform(key, (total,), dtype)
        self.parts, start = {}, 0
        for name, shape in sizes.items():
            size = math.prod(shape)
            self.parts[name] = u[start : start + size].reshape(shape)
            start += size

    def __getitem__(self, name: str) -> Array:
        return self.parts[name]

    def uniform(self, name: str, lo, hi) -> Array:
        return lo + self.parts[name] * (hi - lo)

    def integer(self, name: str, n) -> Array:
        """Uniform integers in ``[0, n)`` (``n`` may be traced, >= 1)."""
        return jnp.minimum(jnp.floor(self.parts[name] * n), n - 1).astype(jnp.int32)

    def exponential(self, name: str) -> Array:
        return -jnp.log1p(-self.parts[name])


def check_doubly_stochastic(duration, dt, segment_lengths, tree, **options) -> None:
    """Validate :func:`doubly_stochastic`'s arguments without drawing (a ``ValueError`` naming
    the bad one); ``options`` are its keyword arguments from ``branch`` on."""
    _plan(duration=duration, dt=dt, segment_lengths=segment_lengths, tree=tree, **options)


def _menu_draw(u: _Uniforms, name: str, menu: Array, jitter: Array) -> Array:
    value = menu[u.integer(f"{name}_pick", menu.shape[0])]
    return value + u.uniform(f"{name}_jitter", -jitter, jitter)


@dataclass(frozen=True)
class _Shape:
    """The static part of a plan: everything that fixes shapes or the traced program."""

    t: int
    dt: float
    n: int
    n_trees: int
    n_windows: int
    half_width: int
    clustered: bool
    n_bursts: int
    max_events: int


def _split(p: _Plan) -> tuple[_Shape, dict[str, np.ndarray]]:
    """Static shapes and (traced) values, so plans that differ only in values share a compile."""
    shape = _Shape(
        t=p.t,
        dt=p.dt,
        n=len(p.share),
        n_trees=p.n_trees,
        n_windows=p.n_windows,
        half_width=p.half_width,
        clustered=p.cluster_fraction > 0,
        n_bursts=p.n_bursts,
        max_events=p.cluster_events[1],
    )
    dtype = float_dtype()
    values = {
        name: np.asarray(getattr(p, name), dtype)
        for name in [
            "share",
            "exc_lo",
            "exc_hi",
            "diff_lo",
            "diff_hi",
            "hold_menu",
            "hold_jitter",
            "sigma_menu",
            "sigma_jitter",
            "site_jitter",
            "cluster_fraction",
            "cluster_window",
            "cluster_interval",
        ]
    }
    values |= {
        "tree": np.asarray(p.tree, np.int32),
        "cluster_sites": np.asarray(p.cluster_sites, bool),
        "cluster_branch": np.asarray(p.cluster_branch, np.int32),
        "eligible": np.asarray(p.eligible, np.int32),
        "cluster_events": np.asarray(p.cluster_events, np.int32),
    }
    return shape, values


def _smooth(x: Array, sigma_bins: Array, half_width: int) -> Array:
    """``signal.convolve(x, gaussian(1 + 7σ, σ) / sum, mode='same')`` along axis 0, by FFT."""
    t = x.shape[0]
    m = 1 + jnp.round(7.0 * sigma_bins).astype(jnp.int32)  # window length (samples)
    left = (m - 1) // 2  # 'same' keeps full[left : left + T]
    k = jnp.arange(-half_width, half_width + 1)
    centre = (m - 1).astype(x.dtype) / 2 - left.astype(x.dtype)  # 0, or 1/2 for even m
    inside = (k >= -left) & (k <= m - 1 - left)
    s = jnp.maximum(sigma_bins, 1e-3)
    w = jnp.where(inside, jnp.exp(-0.5 * ((k - centre) / s) ** 2), 0.0)
    w = w / w.sum()
    kc = min(half_width, t - 1)  # offsets |k| >= T never reach a sample
    w = w[half_width - kc : half_width + kc + 1]
    n_fft = 1 << (t + 2 * kc - 1).bit_length()
    full = jnp.fft.irfft(
        jnp.fft.rfft(x, n_fft, axis=0) * jnp.fft.rfft(w, n_fft)[:, None], n_fft, axis=0
    )
    return jnp.maximum(full[kc : kc + t], 0.0)  # y[t] = sum_k x[t - k] w[k]


def spike_probability(rate: Array) -> Array:
    """P(spike) when ``p ~ Exponential(mean = rate)`` and ``spike ~ Bernoulli(min(p, 1))``.

    ``E[min(p, 1)] = rate · (1 − exp(−1/rate))``. Bins draw independent ``p``, so one uniform per
    bin against this probability has exactly the two-stage distribution at half the random draws.
    """
    positive = rate > 0
    safe = jnp.where(positive, rate, 1.0)
    return jnp.where(positive, -safe * jnp.expm1(-1.0 / safe), 0.0)


@partial(jax.jit, static_argnums=1)
def _draw(key: PRNGKeyArray, p: _Shape, v: dict[str, Array]) -> tuple[Array, dict[str, Array]]:
    dtype = float_dtype()
    k_base, k_bursts = jax.random.split(key)
    n, w_max, n_trees = p.n, p.n_windows, p.n_trees
    tree = v["tree"]
    u = _Uniforms(
        k_base,
        {
            "hold_pick": (),
            "hold_jitter": (),
            "sigma_pick": (),
            "sigma_jitter": (),
            "exc": (w_max, n_trees),
            "inh": (w_max, n_trees),
            "exc_jitter": (w_max, n),
            "inh_jitter": (w_max, n),
            "spike": (p.t, 2 * n),
        },
        dtype,
    )

    hold_ms = _menu_draw(u, "hold", v["hold_menu"], v["hold_jitter"])
    hold_bins = jnp.maximum(1, jnp.round(hold_ms / p.dt)).astype(jnp.int32)
    sigma_ms = jnp.maximum(_menu_draw(u, "sigma", v["sigma_menu"], v["sigma_jitter"]), 0.0)

    exc = u.uniform("exc", v["exc_lo"], v["exc_hi"])
    inh_lo = jnp.maximum(0.0, exc + v["diff_lo"])
    inh = jnp.maximum(u.uniform("inh", inh_lo, exc + v["diff_hi"]), 0.0)
    jit_exc = u.uniform("exc_jitter", *v["site_jitter"])
    jit_inh = u.uniform("inh_jitter", *v["site_jitter"])

    # Mean events per bin for each hold window and site, then per bin.
    per_bin = v["share"] * (p.dt / 100.0)
    window = jnp.minimum(jnp.arange(p.t) // hold_bins, w_max - 1)
    rates = jnp.concatenate(
        [(exc[:, tree] * per_bin * jit_exc)[window], (inh[:, tree] * per_bin * jit_inh)[window]],
        axis=1,
    )
    rates = _smooth(rates, sigma_ms / p.dt, p.half_width)

    x = (u["spike"] < spike_probability(rates)).astype(dtype)

    clustered = jnp.asarray(False)
    chosen = jnp.asarray(-1)
    if p.clustered:
        clustered, chosen, extra = _bursts(k_bursts, p, v, dtype)
        x = x.at[:, :n].add(extra)

    latents = {
        "hold_ms": hold_bins * p.dt,
        "hold_bins": hold_bins,
        "sigma_ms": sigma_ms,
        "exc_count": exc,
        "inh_count": inh,
        "exc_jitter": jit_exc,
        "inh_jitter": jit_inh,
        "exc_rate": rates[:, :n],
        "inh_rate": rates[:, n:],
        "clustered": clustered,
        "cluster_branch": chosen,
    }
    return x, latents


def _bursts(key, p: _Shape, v: dict[str, Array], dtype) -> tuple[Array, Array, Array]:
    """Clustered extra excitatory events: (clustered?, branch id or −1, counts [T, n])."""
    n, span = p.n, p.t * p.dt
    lo, hi = v["cluster_events"]
    shape = (p.n_bursts, p.max_events)
    u = _Uniforms(
        key,
        {
            "on": (),
            "branch": (),
            "gap_mean": (),
            "gap": (p.n_bursts,),
            "count": (p.n_bursts,),
            "offset": shape,
            "site": shape,
        },
        dtype,
    )
    clustered = u["on"] < v["cluster_fraction"]
    chosen = v["eligible"][u.integer("branch", v["eligible"].shape[0])]
    sites = v["cluster_sites"] & (v["cluster_branch"] == chosen)

    onsets = jnp.cumsum(u.exponential("gap")) * u.uniform("gap_mean", *v["cluster_interval"])
    count = lo + u.integer("count", hi - lo + 1)
    times = onsets[:, None] + u.uniform("offset", 0.0, v["cluster_window"])
    valid = clustered & (jnp.arange(p.max_events) < count[:, None]) & (times < span)
    # A uniform site of the branch: the j-th True entry of ``sites``, j ~ U{0, ..., count - 1}.
    cum = jnp.cumsum(sites)
    site = jnp.searchsorted(cum, u.integer("site", cum[-1]) + 1, side="left")
    bins = jnp.where(valid, jnp.floor(times / p.dt).astype(jnp.int32), p.t)
    extra = jnp.zeros((p.t, n), dtype).at[bins, site].add(1.0, mode="drop")
    return clustered, jnp.where(clustered, chosen, -1), extra
