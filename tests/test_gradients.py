"""Memory-bounded gradients of long runs (recursive checkpointing over samples)."""

import jax
import jax.numpy as jnp

import jaxneuro as jn
from jaxneuro.models import _stepping


def gradient_memory(steps: int, checkpointed: bool, monkeypatch) -> int:
    """XLA's temporary buffer size (bytes) for d loss/d input over ``steps`` samples of HH."""
    monkeypatch.setattr(_stepping, "CHECKPOINT_ABOVE", 0 if checkpointed else 10**12)
    sim = jn.models.HodgkinHuxley()
    params = sim.init()

    def loss(x):
        out, _ = sim.apply(params, x)
        return jnp.mean((out["v"] + 60.0) ** 2) + out["spikes"].sum()

    x = jnp.full((steps, 1), 10.0)
    compiled = jax.jit(jax.grad(loss)).lower(x).compile()
    return compiled.memory_analysis().temp_size_in_bytes


def test_gradient_memory_grows_sublinearly(monkeypatch):
    """Over 5,000 → 40,000 steps (8×) the full-stash adjoint grows 8× (68 B per sample for HH).
    With checkpointing, each extra sample costs only the cotangents of the traces themselves (v
    and spikes out, the input current in: 3 float32 = 12 B); what the solver keeps beyond that
    (chunk-boundary states) grows sub-linearly (√T chunks)."""
    trace = lambda t: 12 * t  # noqa: E731
    short, long = 5_000, 40_000
    full = [gradient_memory(t, False, monkeypatch) for t in (short, long)]
    ckpt = [gradient_memory(t, True, monkeypatch) for t in (short, long)]
    assert full[1] / full[0] > 7.0
    assert ckpt[1] < full[1] / 4, (ckpt, full)
    per_extra_sample = (ckpt[1] - ckpt[0]) / (long - short)
    assert per_extra_sample <= 13.0, per_extra_sample
    solver_part = [c - trace(t) for c, t in zip(ckpt, (short, long), strict=True)]
    assert solver_part[1] < 3 * max(solver_part[0], 16_384), (ckpt, solver_part)


def test_checkpointed_gradient_equals_direct(monkeypatch):
    """Same gradient either way (float64: recomputation reorders nothing but float32 rounding)."""
    sim = jn.models.HodgkinHuxley(dt=0.1, solver_dt=0.025)

    def grad(threshold):
        monkeypatch.setattr(_stepping, "CHECKPOINT_ABOVE", threshold)
        params = jax.tree.map(lambda a: a.astype(jnp.float64), sim.init())
        x = jnp.full((1_000, 1), 10.0, jnp.float64)
        return jax.jit(jax.grad(lambda p: jnp.mean(sim.apply(p, x)[0]["v"])))(params)

    with jax.enable_x64(True):
        direct, ckpt = grad(10**12), grad(0)
        for a, b in zip(jax.tree.leaves(direct), jax.tree.leaves(ckpt), strict=True):
            assert jnp.allclose(a, b, rtol=1e-10, atol=1e-12)
