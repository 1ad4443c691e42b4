"""Stimulus distributions for training data: one random input signal per PRNG key.

A sampler is a small frozen module: ``sampler(key) -> inputs [T, n_inputs]``, a pure function of
the key (so it jits, vmaps, and regenerates any simulation of a dataset from its index alone), and
``sampler.describe() -> dict`` (plain JSON, recorded in a dataset's manifest).
"""

from __future__ import annotations

import abc
import math
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, PRNGKeyArray

from .._simulator import n_samples
from ..stimuli import (
    HOLD_MENU_MS,
    SIGMA_MENU_MS,
    check_doubly_stochastic,
    doubly_stochastic,
    ornstein_uhlenbeck,
)

Range = tuple[float, float]


def as_range(value: Any) -> Range:
    """A number ``x`` as the degenerate range ``(x, x)``; a pair ``(lo, hi)`` as floats."""
    try:
        if isinstance(value, bool | str):
            raise TypeError
        if np.ndim(value) == 0:
            return (float(value), float(value))
        lo, hi = value
        if isinstance(lo, bool | str) or isinstance(hi, bool | str):
            raise TypeError
        return (float(lo), float(hi))
    except (TypeError, ValueError):
        raise ValueError(f"expected a number or a (low, high) pair, got {value!r}") from None


def _check(name: str, value: Any, test, what: str) -> None:
    try:
        ok = not isinstance(value, bool | str) and math.isfinite(value) and test(float(value))
    except TypeError:
        ok = False
    if not ok:
        raise ValueError(f"{name} must be {what}, got {name}={value!r}")


def _check_range(name: str, r: Range, minimum: float | None, strict: bool = False) -> None:
    lo, hi = r
    if not (math.isfinite(lo) and math.isfinite(hi) and lo <= hi):
        raise ValueError(f"{name} must be a finite number or a (low, high) pair, got {r!r}")
    if minimum is not None and (lo <= minimum if strict else lo < minimum):
        sign = ">" if strict else ">="
        raise ValueError(f"{name} must be {sign} {minimum}, got {name}={r!r}")


def _uniform(key: PRNGKeyArray, r: Range) -> Array:
    """U(lo, hi); exactly ``lo`` for a degenerate range (no sampling error)."""
    lo, hi = r
    if lo == hi:
        return jnp.asarray(lo, jnp.result_type(float))
    return jax.random.uniform(key, (), jnp.result_type(float), lo, hi)


def max_events(rate_hz: float, duration_ms: float) -> int:
    """Events to draw so a Poisson train of ``rate_hz`` outlasts ``duration_ms`` with
    probability > 1 − 1e-23: ``λ + 10√λ + 40`` for ``λ = rate · duration``."""
    lam = rate_hz * duration_ms / 1000.0
    return math.ceil(lam + 10.0 * math.sqrt(lam) + 40.0)


def poisson_event_counts(
    key: PRNGKeyArray, rates_hz: Array, n_samples: int, dt: float, n_events: int
) -> Float[Array, "T n"]:
    """Homogeneous Poisson events at ``rates_hz`` (one per column), counted per sample bin.

    Event times are cumulative sums of exponential intervals (so, given their number, they are
    uniform over the sweep); event ``t`` (ms) falls in bin ``floor(t / dt)``. ``n_events`` per
    column must outlast the sweep (:func:`max_events`); if one does not, an error is raised
    rather than the train silently cut short. Cheaper to compile than per-bin Poisson draws.
    """
    n = rates_hz.shape[0]
    unit = jax.random.exponential(key, (n_events, n), rates_hz.dtype)
    positive = rates_hz > 0
    intervals = jnp.where(positive, unit * (1000.0 / jnp.where(positive, rates_hz, 1.0)), jnp.inf)
    times = jnp.cumsum(intervals, axis=0)  # ms; inf (no events) for a zero rate
    span = n_samples * dt
    times = eqx.error_if(
        times,
        times[-1] < span,
        "Poisson event budget exhausted before the end of the sweep; raise max_events",
    )
    bins = jnp.where(times < span, jnp.floor(times / dt), n_samples).astype(jnp.int32)
    bins = jnp.minimum(bins, n_samples)  # float rounding at the last edge
    column = jnp.broadcast_to(jnp.arange(n), bins.shape)
    counts = jnp.zeros((n_samples + 1, n), rates_hz.dtype).at[bins, column].add(1.0)
    return counts[:n_samples]


def _range_json(r: Range) -> float | list[float]:
    return r[0] if r[0] == r[1] else list(r)


class Sampler(eqx.Module):
    """A distribution over input signals ``[T, n_inputs]`` sampled every ``dt`` ms.

    Subclasses define ``duration_ms``, ``dt``, ``n_inputs``, ``__call__`` and ``describe``.
    """

    duration_ms: eqx.AbstractVar[float]
    dt: eqx.AbstractVar[float]

    @property
    def n_samples(self) -> int:
        """T = round(duration_ms / dt)."""
        return n_samples(self.duration_ms, self.dt)

    @property
    @abc.abstractmethod
    def n_inputs(self) -> int:
        """Number of input columns."""

    @abc.abstractmethod
    def __call__(self, key: PRNGKeyArray) -> Float[Array, "T n_inputs"]:
        """One input signal; a deterministic function of ``key``."""

    @abc.abstractmethod
    def describe(self) -> dict:
        """Everything that defines the distribution, as plain JSON (class name included)."""


class OUCurrent(Sampler):
    """Ornstein–Uhlenbeck injected current for current-clamp teachers, varied per sweep.

    Each sweep draws its own stationary mean ``μ ~ U(mean)`` and standard deviation
    ``σ ~ U(std)`` (and ``τ ~ U(tau)``), then an OU process with those statistics sampled
    exactly every ``dt`` (:func:`jaxneuro.stimuli.ornstein_uhlenbeck`). A number instead of a
    ``(low, high)`` range fixes that statistic.

    Attributes:
        duration_ms: sweep length (ms).
        dt: sample interval (ms); must equal the teacher's ``spec.dt``.
        mean: stationary mean, or its range, in the teacher's current unit (nA for
            :class:`~jaxneuro.models.LIF`, µA/cm² for Hodgkin–Huxley).
        std: stationary standard deviation (same unit), non-negative, or its range.
        tau: correlation time (ms), positive, or its range.
        n_synaptic: extra all-zero columns after the current, for teachers with synaptic inputs
            (e.g. ``"hh-synaptic"`` driven in current clamp only).

    Returns (``__call__``): ``[T, 1 + n_synaptic]``, the current in column 0.
    """

    duration_ms: float = eqx.field(static=True)
    dt: float = eqx.field(static=True)
    mean: Range = eqx.field(static=True, converter=as_range)
    std: Range = eqx.field(static=True, converter=as_range)
    tau: Range = eqx.field(static=True, converter=as_range)
    n_synaptic: int = eqx.field(static=True, default=0)

    def __check_init__(self):
        n_samples(self.duration_ms, self.dt)
        _check_range("mean", self.mean, None)
        _check_range("std", self.std, 0.0)
        _check_range("tau", self.tau, 0.0, strict=True)
        if isinstance(self.n_synaptic, bool) or not isinstance(self.n_synaptic, int):
            raise ValueError(f"n_synaptic must be a non-negative int, got {self.n_synaptic!r}")
        if self.n_synaptic < 0:
            raise ValueError(f"n_synaptic must be a non-negative int, got {self.n_synaptic!r}")

    @property
    def n_inputs(self) -> int:
        return 1 + self.n_synaptic

    def __call__(self, key: PRNGKeyArray) -> Float[Array, "T n_inputs"]:
        k_mean, k_std, k_tau, k_ou = jax.random.split(key, 4)
        current = ornstein_uhlenbeck(
            k_ou,
            self.duration_ms,
            self.dt,
            _uniform(k_mean, self.mean),
            _uniform(k_std, self.std),
            _uniform(k_tau, self.tau),
        )
        zeros = jnp.zeros((current.shape[0], self.n_synaptic), current.dtype)
        return jnp.concatenate([current[:, None], zeros], axis=1)

    def describe(self) -> dict:
        return {
            "class": type(self).__name__,
            "duration_ms": float(self.duration_ms),
            "dt": float(self.dt),
            "n_samples": self.n_samples,
            "mean": _range_json(self.mean),
            "std": _range_json(self.std),
            "tau": _range_json(self.tau),
            "n_synaptic": self.n_synaptic,
        }


class OlahSynaptic(Sampler):
    """Oláh, Pedersen & Rowan (2022, eLife 11:e79535) sweep statistics, scaled to any duration.

    Per sweep a scale ``s ~ U(0, s_max)`` is drawn; excitatory events then arrive at
    ``exc_rate·s`` Hz and inhibitory events at ``inh_rate·s`` Hz, spread uniformly at random
    over the sweep (homogeneous Poisson event times; counted per sample). A fraction ``silent_fraction``
    of sweeps has no input at all (the paper: every 20th sweep). The paper specifies 800·s
    excitatory and 300·s inhibitory events per 10 s sweep, i.e. 80·s and 30·s Hz — the defaults
    here. The injected current is zero, or an optional :class:`OUCurrent`.

    Columns follow ``HodgkinHuxley.olah2022()``: ``i_ext`` (µA/cm²), ``exc`` and ``inh``
    (spike counts per sample).

    Attributes:
        duration_ms: sweep length (ms).
        dt: sample interval (ms); 1 ms in the paper.
        s_max: upper end of the input scale ``s`` (4 in the paper).
        exc_rate: excitatory event rate per unit ``s`` (Hz).
        inh_rate: inhibitory event rate per unit ``s`` (Hz).
        silent_fraction: probability that a sweep has no input (1/20 in the paper).
        current: optional injected current (its ``duration_ms`` and ``dt`` must match, and it
            must have ``n_synaptic=0``); ``None`` for zero current.
    """

    duration_ms: float = eqx.field(static=True)
    dt: float = eqx.field(static=True, default=1.0)
    s_max: float = eqx.field(static=True, default=4.0)
    exc_rate: float = eqx.field(static=True, default=80.0)
    inh_rate: float = eqx.field(static=True, default=30.0)
    silent_fraction: float = eqx.field(static=True, default=1.0 / 20.0)
    current: OUCurrent | None = None

    def __check_init__(self):
        n_samples(self.duration_ms, self.dt)
        nonnegative = lambda v: v >= 0  # noqa: E731
        _check("s_max", self.s_max, nonnegative, "non-negative and finite")
        _check("exc_rate", self.exc_rate, nonnegative, "a non-negative rate (Hz)")
        _check("inh_rate", self.inh_rate, nonnegative, "a non-negative rate (Hz)")
        _check("silent_fraction", self.silent_fraction, lambda v: v <= 1 and v >= 0, "in [0, 1]")
        c = self.current
        if c is not None:
            if not isinstance(c, OUCurrent) or c.n_synaptic != 0:
                raise ValueError(f"current must be an OUCurrent with n_synaptic=0, got {c!r}")
            if c.n_samples != self.n_samples or float(c.dt) != float(self.dt):
                raise ValueError(
                    f"current has duration {c.duration_ms} ms at dt={c.dt} ms, but the sweep has "
                    f"duration {self.duration_ms} ms at dt={self.dt} ms"
                )

    @property
    def n_inputs(self) -> int:
        return 3

    def __call__(self, key: PRNGKeyArray) -> Float[Array, "T 3"]:
        k_scale, k_silent, k_events, k_current = jax.random.split(key, 4)
        dtype = jnp.result_type(float)
        s = jax.random.uniform(k_scale, (), dtype, 0.0, self.s_max)
        rates = s * jnp.asarray([self.exc_rate, self.inh_rate], dtype)
        budget = max_events(
            self.s_max * max(self.exc_rate, self.inh_rate), self.n_samples * self.dt
        )
        events = poisson_event_counts(k_events, rates, self.n_samples, self.dt, budget)
        if self.current is None:
            current = jnp.zeros((events.shape[0], 1), dtype)
        else:
            current = self.current(k_current).astype(dtype)
        x = jnp.concatenate([current, events], axis=1)
        silent = jax.random.bernoulli(k_silent, self.silent_fraction)
        return jnp.where(silent, jnp.zeros_like(x), x)

    def describe(self) -> dict:
        return {
            "class": type(self).__name__,
            "duration_ms": float(self.duration_ms),
            "dt": float(self.dt),
            "n_samples": self.n_samples,
            "s_max": float(self.s_max),
            "exc_rate_hz_per_s": float(self.exc_rate),
            "inh_rate_hz_per_s": float(self.inh_rate),
            "silent_fraction": float(self.silent_fraction),
            "current": None if self.current is None else self.current.describe(),
            "columns": ["i_ext", "exc", "inh"],
            "reference": "Olah, Pedersen & Rowan 2022, eLife 11:e79535",
        }


def _frozen(value: Any) -> Any:
    """Arrays and lists as nested tuples of Python numbers (hashable static fields)."""
    if isinstance(value, np.ndarray | jax.Array | list | tuple):
        return tuple(_frozen(v) for v in (value.tolist() if hasattr(value, "tolist") else value))
    if isinstance(value, np.generic):
        return value.item()
    return value


def _jsonable(value: Any) -> Any:
    return [_jsonable(v) for v in value] if isinstance(value, tuple) else value


class BeniaguevSynaptic(Sampler):
    """Beniaguev, Segev & London (2021, Neuron 109:2727) doubly stochastic synaptic input.

    One excitatory and one inhibitory event-count channel per synapse site, drawn by
    :func:`jaxneuro.stimuli.doubly_stochastic` (see it for the algorithm and every parameter);
    the defaults are the paper's NMDA-cell ranges plus the spec's clustered mode (30 % of
    simulations; needs ``branch``). For the reduced L5PC (``dendritic_neuron.md`` §5.3) pass its
    47 sites and ``scale = 47/639 × input scale``.

    Attributes:
        duration_ms: simulation length (ms).
        segment_lengths: site lengths (µm), one per site.
        tree: tree label per site (e.g. 0 basal, 1 apical).
        dt: bin width (ms); 1 ms in the spec.
        branch: branch id per site (negative: never clustered), or ``None``.
        Remaining fields: as the keyword arguments of :func:`~jaxneuro.stimuli.doubly_stochastic`.

    Returns (``__call__``): ``[T, 2n]`` counts, excitatory sites ``0..n−1`` then inhibitory.
    """

    duration_ms: float = eqx.field(static=True)
    segment_lengths: tuple = eqx.field(static=True, converter=_frozen)
    tree: tuple = eqx.field(static=True, converter=_frozen)
    dt: float = eqx.field(static=True, kw_only=True, default=1.0)
    branch: tuple | None = eqx.field(static=True, kw_only=True, default=None, converter=_frozen)
    exc_range: tuple = eqx.field(static=True, kw_only=True, default=(0.0, 800.0), converter=_frozen)
    inh_diff_range: tuple = eqx.field(
        static=True, kw_only=True, default=(-600.0, 200.0), converter=_frozen
    )
    scale: float = eqx.field(static=True, kw_only=True, default=1.0)
    hold_menu: tuple = eqx.field(static=True, kw_only=True, default=HOLD_MENU_MS, converter=_frozen)
    hold_jitter: float = eqx.field(static=True, kw_only=True, default=20.0)
    sigma_menu: tuple = eqx.field(
        static=True, kw_only=True, default=SIGMA_MENU_MS, converter=_frozen
    )
    sigma_jitter: float = eqx.field(static=True, kw_only=True, default=20.0)
    length_offset: float = eqx.field(static=True, kw_only=True, default=10.0)
    site_jitter: tuple = eqx.field(static=True, kw_only=True, default=(0.5, 1.5), converter=_frozen)
    cluster_fraction: float = eqx.field(static=True, kw_only=True, default=0.3)
    cluster_trees: tuple | None = eqx.field(
        static=True, kw_only=True, default=None, converter=_frozen
    )
    cluster_events: tuple = eqx.field(static=True, kw_only=True, default=(5, 20), converter=_frozen)
    cluster_window: float = eqx.field(static=True, kw_only=True, default=10.0)
    cluster_interval: tuple = eqx.field(
        static=True, kw_only=True, default=(100.0, 500.0), converter=_frozen
    )

    def _options(self) -> dict:
        names = [
            "branch",
            "exc_range",
            "inh_diff_range",
            "scale",
            "hold_menu",
            "hold_jitter",
            "sigma_menu",
            "sigma_jitter",
            "length_offset",
            "site_jitter",
            "cluster_fraction",
            "cluster_trees",
            "cluster_events",
            "cluster_window",
            "cluster_interval",
        ]
        return {name: getattr(self, name) for name in names}

    def __check_init__(self):
        check_doubly_stochastic(
            self.duration_ms, self.dt, self.segment_lengths, self.tree, **self._options()
        )

    @property
    def n_inputs(self) -> int:
        return 2 * len(self.segment_lengths)

    def __call__(self, key: PRNGKeyArray) -> Float[Array, "T n_inputs"]:
        return doubly_stochastic(
            key,
            self.duration_ms,
            self.segment_lengths,
            self.tree,
            dt=self.dt,
            **self._options(),
        )

    def describe(self) -> dict:
        options = {k: _jsonable(v) for k, v in self._options().items()}
        return {
            "class": type(self).__name__,
            "duration_ms": float(self.duration_ms),
            "dt": float(self.dt),
            "n_samples": self.n_samples,
            "segment_lengths": _jsonable(self.segment_lengths),
            "tree": _jsonable(self.tree),
            **options,
            "columns": "excitatory sites 0..n-1, then inhibitory sites 0..n-1",
            "reference": "Beniaguev, Segev & London 2021, Neuron 109:2727",
        }
