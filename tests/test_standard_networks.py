"""Current-based synapses (exponential current, δ pulse) and the standard networks beside COBA:
CUBA and Brunel (2000) builders, the Poisson drive and the population statistics. The runs
against Brian2 are in ``tests/test_network_peers.py``."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxneuro import networks
from jaxneuro.models import LIF
from jaxneuro.models.synapses import CurrentSynapse, DeltaSynapse, Synapse


def _cell(*synapses):
    return LIF(preset="vogels-abbott", dt=0.1, synapses=synapses)


def test_delta_synapse_jumps_at_the_start_of_its_sample():
    """One event of J mV: the voltage at the end of that sample is J·e^(−dt/τ_m) above rest."""
    m = _cell(DeltaSynapse("d", weight=2.0))
    p = m.init()
    x = jnp.zeros((6, 2)).at[2, 1].set(1.0)
    out, _ = m.apply(p, x)
    v = np.asarray(out["v"]) - p["e_l"]
    decay = math.exp(-0.1 / p["tau_m"])
    np.testing.assert_allclose(v[:2], 0.0, atol=1e-12)
    np.testing.assert_allclose(v[2:], 2.0 * decay ** np.arange(1, 5), rtol=1e-5)


def test_delta_synapse_is_discarded_while_refractory_and_negative_weights_are_allowed():
    m = _cell(DeltaSynapse("d", weight=15.0), DeltaSynapse("i", weight=-3.0))
    p = m.init()  # E_L −60, V_th −50: a 15 mV jump fires at once; t_ref 5 ms = 50 samples
    x = jnp.zeros((80, 3)).at[0, 1].set(1.0).at[10, 1].set(1.0).at[70, 2].set(1.0)
    out, _ = m.apply(p, x)
    v = np.asarray(out["v"])
    assert np.asarray(out["spikes"]).sum() == 1 and out["spikes"][0] == 1
    np.testing.assert_allclose(v[1:51], p["v_reset"], atol=1e-5)  # the jump at 10 is lost
    assert v[70] < p["v_reset"] - 2.9  # inhibition after the refractory period


def test_current_synapse_injects_a_decaying_current():
    """The current jumps by ``weight`` (nA) per event and decays with τ; the voltage integrates
    it held over each step (exponential Euler): ``ΔV = R·I·(1 − e^(−dt/τ_m))`` per step."""
    m = _cell(CurrentSynapse("c", tau=5.0, weight=-0.05))
    p = m.init()
    x = jnp.zeros((3, 2)).at[0, 1].set(2.0)
    out, y = m.apply(p, x)
    r, tau_m = float(p["r_m"]), float(p["tau_m"])
    dv1 = r * -0.1 * (1 - math.exp(-0.1 / tau_m))
    assert float(out["v"][0] - p["e_l"]) == pytest.approx(dv1, rel=1e-4)
    assert float(y["syn"]["c"]["i"]) == pytest.approx(-0.1 * math.exp(-0.3 / 5.0), rel=1e-5)
    assert "E=" not in m.spec.inputs[1].description


def test_conductance_synapses_unchanged_by_the_current_path():
    """A model mixing kinds: the conductance synapse's current is still g·(E − v)."""
    a = _cell(Synapse("e", tau=5.0, e_rev=0.0, weight=0.01))
    b = _cell(Synapse("e", tau=5.0, e_rev=0.0, weight=0.01), CurrentSynapse("c", weight=0.0))
    x = jnp.zeros((50, 3)).at[::5, 1].set(1.0)
    va = a.apply(a.init(), x[:, :2])[0]["v"]
    vb = b.apply(b.init(), x)[0]["v"]
    np.testing.assert_allclose(va, vb, rtol=1e-6)


def test_cuba_builder():
    net = networks.cuba(400, seed=2)
    assert [p.size for p in net.cells] == [320, 80]
    params = net.init()
    syn = params["populations"]["E"]["synapses"]
    assert syn["exc"]["weight"] * 100.0 == pytest.approx(1.62)
    assert syn["inh"]["weight"] * 100.0 == pytest.approx(-9.0)
    assert params["populations"]["E"]["e_l"] == -49.0
    ee = next(p for p in net.projections if (p.pre, p.post) == ("E", "E"))
    pre, post, w, _ = ee.connectivity.synapses()
    assert not np.any(pre == post) and np.allclose(w, 10.0)  # weights × 4000 / n
    assert abs(pre.size / (320 * 319) - 0.02) < 0.003
    assert net.exchange_dt == 0.1 and networks.cuba_input(10).shape == (10, 2)


def test_brunel_builder():
    net = networks.brunel(800, 200, g=6.0, eta=4.0, seed=1)
    assert net.exchange_dt == 0.5 and net.spec.n_inputs == 1000
    params = net.init()
    p = params["populations"]["I"]
    assert (p["e_l"], p["v_th"], p["v_reset"], p["t_ref"]) == (0.0, 20.0, 10.0, 2.0)
    j = 100.0 / 80
    assert p["synapses"]["exc"]["weight"] == pytest.approx(j)
    assert p["synapses"]["inh"]["weight"] == pytest.approx(-6.0 * j)
    for proj in net.projections:
        c = proj.connectivity
        k = 80 if proj.pre == "E" else 20
        assert np.all(np.bincount(c.synapses()[1], minlength=c.n_post) == k)
        assert np.all(proj.samples(net.dt) == 15)  # 1.5 ms
    # ν_ext = η ν_thr per input, C_E inputs: 4 × 10 Hz × 80 = 3.2 kHz
    assert networks.brunel_rate(net, 4.0) == pytest.approx(3.2)


def test_poisson_drive_and_statistics():
    x = np.asarray(networks.poisson_drive(jax.random.key(0), 2000, 500, 0.8))
    assert x.mean() == pytest.approx(0.8, rel=0.01) and x.var() == pytest.approx(0.8, rel=0.02)
    assert np.all(x == np.round(x))
    raster = np.zeros((1000, 3))
    raster[::100, 0] = 1  # regular, 10 Hz at dt 0.1 ms
    raster[[0, 10, 300, 310], 1] = 1
    s = networks.spike_statistics(raster, 0.1)
    assert s["rate"] == pytest.approx((10 + 4) / 3 / 0.1)
    assert s["n_cv"] == 2
    cv1 = np.std([10, 290, 10]) / np.mean([10, 290, 10])
    assert s["cv"] == pytest.approx(cv1 / 2)


@pytest.mark.slow
def test_brunel_regime_c_is_asynchronous_irregular():
    """Brunel's regime C (g = 5, η = 2) at the laptop scale (4000 + 1000 cells, C_E = 400):
    irregular firing (ISI CV > 0.5) at a few tens of Hz, 250 ms after a 100 ms transient."""
    g, eta = networks.BRUNEL_REGIMES["C"]
    net = networks.brunel(4000, 1000, g=g, eta=eta, seed=0)
    params = net.init()
    state = networks.brunel_state(net, params, jax.random.key(0))
    lam = networks.brunel_rate(net, eta) * net.dt
    run = jax.jit(lambda s, k: networks.run_poisson(net, params, s, k, 3500, lam, chunk=500))
    out, _ = run(state, jax.random.key(1))
    for pop in "EI":
        s = networks.spike_statistics(out[f"{pop}.spikes"], net.dt, transient=100.0)
        assert 15.0 < s["rate"] < 80.0, s
        assert s["cv"] > 0.5, s
