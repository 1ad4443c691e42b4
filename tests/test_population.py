"""Populations: vmap over heterogeneous cells, sharded over devices, identical to unsharded."""

import os
import subprocess
import sys
import textwrap

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxneuro as jn


def test_population_matches_vmap_with_heterogeneous_params():
    sim = jn.models.HodgkinHuxley(dt=0.1, solver_dt=0.025)
    base = sim.init()
    params = jax.tree.map(lambda a: jnp.full((5,), a), base)
    params["g_na"] = jnp.linspace(100.0, 140.0, 5)
    x = jnp.full((400, 1), 8.0)
    out, state = jn.population(sim, params, x, batched_params=True)
    ref, ref_state = jax.vmap(sim.apply, (0, None))(params, x)
    np.testing.assert_array_equal(out["v"], ref["v"])
    np.testing.assert_array_equal(state["v"], ref_state["v"])
    assert out["spikes"].shape == (5, 400)
    # streaming a population continues from its state
    more, _ = jn.population(sim, params, x, state, batched_params=True)
    both, _ = jax.vmap(sim.apply, (0, None))(params, jnp.concatenate([x, x]))
    np.testing.assert_allclose(more["v"], both["v"][:, 400:], atol=5e-3)


def test_population_rejects_inconsistent_sizes():
    sim = jn.models.LIF()
    with pytest.raises(ValueError, match=r"\[N, T, n_inputs\]"):
        jn.population(sim, sim.init(), jnp.zeros((10, 1)))
    params = jax.tree.map(lambda a: jnp.full((3,), a), sim.init())
    with pytest.raises(ValueError, match="inconsistent population sizes"):
        jn.population(sim, params, jnp.zeros((4, 10, 1)), batched_params=True)


def test_batched_params_need_the_flag():
    """A leading cell axis on parameters without ``batched_params=True`` is named, not vmapped
    into a wrong-shaped simulation (or broadcast silently); and the flag without the axis too."""
    sim = jn.models.LIF()
    x = jnp.zeros((4, 10, 1))
    batched = jax.tree.map(lambda a: jnp.full((4,), a), sim.init())
    with pytest.raises(ValueError, match=r"tau_m \(4\).*batched_params=False"):
        jn.population(sim, batched, x)
    one_varied = sim.init() | {"r_m": jnp.linspace(5.0, 20.0, 4)}
    with pytest.raises(ValueError, match=r"parameters r_m \(4\) have a leading axis"):
        jn.population(sim, one_varied, x)
    with pytest.raises(ValueError, match=r"batched_params=True needs .*; e_l, t_ref, tau_m"):
        jn.population(sim, one_varied, x, batched_params=True)
    cable = jn.models.ReducedL5PC()  # per-compartment parameters: only an extra axis counts
    cells = jax.tree.map(lambda a: jnp.stack([a, a]), cable.init())
    with pytest.raises(ValueError, match=r"ampa.e_rev \(2\).*batched_params=False"):
        jn.population(cable, cells, jnp.zeros((2, 3, cable.spec.n_inputs)))


SHARDED = textwrap.dedent(
    """
    import jax, jax.numpy as jnp, numpy as np
    import jaxneuro as jn
    assert len(jax.devices()) == 4, jax.devices()
    sim = jn.models.HodgkinHuxley(dt=0.1, solver_dt=0.025)
    params = sim.init()
    x = jnp.linspace(2.0, 20.0, 7)[:, None, None] * jnp.ones((7, 300, 1))  # 7 cells: padded to 8
    out, state = jn.population(sim, params, x)
    ref, ref_state = jax.jit(jax.vmap(sim.apply, (None, 0)))(params, x)
    for a, b in zip(jax.tree.leaves((out, state)), jax.tree.leaves((ref, ref_state)), strict=True):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    assert out["spikes"].sum() > 0
    print("SHARDED-OK", out["v"].shape)
    """
)


@pytest.mark.slow
def test_sharded_population_identical_to_unsharded():
    flags = f"{os.environ.get('XLA_FLAGS', '')} --xla_force_host_platform_device_count=4"
    env = dict(os.environ, XLA_FLAGS=flags.strip(), JAX_PLATFORMS="cpu")
    result = subprocess.run(
        [sys.executable, "-c", SHARDED], env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "SHARDED-OK (7, 300)" in result.stdout
