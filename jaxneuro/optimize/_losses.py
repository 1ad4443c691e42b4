"""Loss building blocks: small pure functions of simulator outputs and targets.

Each works on one trace with time on axis 0 (``[T]`` or ``[T, ...]``); trailing axes (neurons,
trials) are averaged. All are differentiable: through the surrogate spike gradient of analytical
models (:func:`~jaxneuro.solvers.spike_fn`) or through the spike probabilities of surrogates.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float


def _positive(name: str, value: float) -> float:
    if isinstance(value, jax.core.Tracer):
        raise ValueError(f"{name} must be a concrete number of ms, got a traced value")
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a positive number of ms, got {value!r}") from None
    if not (math.isfinite(out) and out > 0):
        raise ValueError(f"{name} must be a positive, finite number of ms, got {value!r}")
    return out


def _same_shape(what: str, a: Array, b: Array) -> None:
    if a.shape != b.shape:
        raise ValueError(f"{what}: shapes differ, {tuple(a.shape)} vs {tuple(b.shape)}")
    if a.ndim == 0:
        raise ValueError(f"{what}: expected a trace with time on axis 0, got a scalar")


def filter_spikes(
    spikes: Float[ArrayLike, "T ..."], dt: float, tau: float = 10.0
) -> Float[Array, "T ..."]:
    """Exponential trace of a spike train: ``f[t] = exp(−dt/τ)·f[t−1] + s[t]``, ``f[−1] = 0``.

    Each spike (count, or probability) starts a causal kernel ``exp(−(t − t_s)/τ)`` of height 1.
    Computed with ``jax.lax.scan`` (compiles in a blink; the simulator is a scan anyway).

    Args:
        spikes: spike counts or probabilities per sample, time on axis 0.
        dt: sample interval (ms).
        tau: kernel time constant (ms).
    """
    dt, tau = _positive("dt", dt), _positive("tau", tau)
    s = jnp.asarray(spikes)
    s = s.astype(jnp.result_type(s.dtype, float))
    if s.ndim == 0:
        raise ValueError("filter_spikes: expected a train with time on axis 0, got a scalar")
    return _exp_trace(s, jnp.asarray(math.exp(-dt / tau), s.dtype))


@jax.jit
def _exp_trace(s: Array, decay: Array) -> Array:
    def step(f, s_t):
        f = decay * f + s_t
        return f, f

    return jax.lax.scan(step, jnp.zeros_like(s[0]), s)[1]


def spike_train_loss(
    spikes: Float[ArrayLike, "T ..."],
    target_spikes: Float[ArrayLike, "T ..."],
    dt: float,
    tau: float = 10.0,
) -> Float[Array, ""]:
    """Squared van Rossum (2001, Neural Comput. 13:751) distance between two spike trains.

    Both trains are filtered with :func:`filter_spikes` (kernel ``exp(−t/τ)``), and
    ``D² = (1/τ) ∫ (f − g)² dt ≈ (dt/τ) Σ_t (f[t] − g[t])²`` — the mean squared error of the
    filtered traces times ``T·dt/τ``, so that the value does not depend on the trace length: one
    unmatched spike adds ≈ ½, two coincident spikes add 0, and a spike displaced by ``δ ≪ τ``
    adds ≈ ``δ/τ``. Trailing axes (neurons, trials) are averaged.

    Differentiable in ``spikes``: through the surrogate gradient of analytical models' spikes,
    or directly through surrogates' spike probabilities (treated as expected counts).

    Args:
        spikes, target_spikes: counts (or probabilities) per sample, equal shapes, time on axis 0.
        dt: sample interval (ms); ``simulator.spec.dt``.
        tau: kernel time constant (ms). Small τ rewards precise timing; large τ, rate.
    """
    s, g = jnp.asarray(spikes), jnp.asarray(target_spikes)
    _same_shape("spike_train_loss", s, g)
    dt, tau = _positive("dt", dt), _positive("tau", tau)
    diff = filter_spikes(s, dt, tau) - filter_spikes(g, dt, tau)
    return jnp.mean(jnp.sum(diff**2, axis=0)) * (dt / tau)


def spike_count_loss(
    spikes: Float[ArrayLike, "T ..."], target: Float[ArrayLike, "..."]
) -> Float[Array, ""]:
    """Squared difference between the spike count of ``spikes`` and a target count.

    ``target`` is either a count (a number, or an array broadcastable to ``spikes.shape[1:]``,
    e.g. one count per neuron; for a rate, ``rate_hz · T · dt / 1000``) or a spike train of the
    same shape as ``spikes``, whose count is taken. Trailing axes are averaged.
    """
    s, g = jnp.asarray(spikes), jnp.asarray(target)
    if s.ndim == 0:
        raise ValueError("spike_count_loss: expected spikes with time on axis 0, got a scalar")
    count = jnp.sum(s, axis=0)
    goal = jnp.sum(g, axis=0) if g.shape == s.shape else g
    try:
        if np.broadcast_shapes(count.shape, goal.shape) != count.shape:
            raise ValueError
    except ValueError:
        raise ValueError(
            f"spike_count_loss: target of shape {tuple(g.shape)} is neither a spike train shaped "
            f"like spikes {tuple(s.shape)} nor counts broadcastable to {tuple(count.shape)}"
        ) from None
    return jnp.mean((count - goal) ** 2)


def voltage_loss(
    v: Float[ArrayLike, "T ..."], v_target: Float[ArrayLike, "T ..."], clip_mv: float | None = None
) -> Float[Array, ""]:
    """Mean squared difference of two voltage traces (mV²).

    Args:
        v, v_target: membrane potentials (mV), equal shapes.
        clip_mv: if given, both traces are clipped from above at this potential (mV) before they
            are compared, so that action potentials — whose slightest misalignment gives errors
            of ~100 mV — weigh no more than a clipped plateau (e.g. ``clip_mv=-40.0`` for a fit
            dominated by the subthreshold response). Above it the gradient is zero.
    """
    a, b = jnp.asarray(v), jnp.asarray(v_target)
    _same_shape("voltage_loss", a, b)
    if clip_mv is not None:
        if isinstance(clip_mv, jax.core.Tracer) or not math.isfinite(float(clip_mv)):
            raise ValueError(f"clip_mv must be a finite number of mV or None, got {clip_mv!r}")
        a, b = jnp.minimum(a, clip_mv), jnp.minimum(b, clip_mv)
    return jnp.mean((a - b) ** 2)
