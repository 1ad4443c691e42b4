"""The Zhang & Young circuit (jaxneuro.circuits): statistics, dynamics, dataset and surrogate."""

from __future__ import annotations

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxneuro.circuits import (
    BOX,
    Circuit,
    Graph,
    box_arrays,
    fit_statistics,
    from_mV,
    gains,
    generate_sweep,
    latin_hypercube,
    load_sweep,
    regime,
    search_couplings,
    to_mV,
    trace_statistics,
)

# a moderate asynchronous point: S_EE, S_IE, S_EI, S_II, eta_E, eta_I (kHz)
P0 = np.array([0.015, 0.02, 0.1, 0.1, 1.5, 1.5])
CIRCUIT = Circuit()
GRAPH = CIRCUIT.graph()


def run(params, key=0, t0=50.0, t1=250.0, circuit=CIRCUIT, graph=None, **kw):
    g = GRAPH if graph is None and circuit is CIRCUIT else graph
    return circuit.simulate(
        jnp.asarray(params, jnp.float32), jax.random.key(key), t_transient=t0, t_measure=t1,
        graph=g, **kw,
    )  # fmt: skip


# ----------------------------------------------------------------------------- statistics


def test_statistics_of_periodic_trains():
    dt, T, n_E, n = 0.1, 10_000, 6, 10
    spikes = np.zeros((T, n), np.float32)
    spikes[5::100, :n_E] = 1  # 100 Hz, regular
    spikes[7::250, n_E:] = 1  # 40 Hz, regular
    v = np.random.default_rng(0).normal(size=(T, n)).astype(np.float32)
    out = trace_statistics(spikes, v, dt, n_E)
    assert float(out["rate_E"]) == pytest.approx(100.0, rel=1e-5)
    assert float(out["rate_I"]) == pytest.approx(40.0, rel=1e-5)
    assert float(out["cv_E"]) == pytest.approx(0.0, abs=1e-3)
    assert float(out["cv_I"]) == pytest.approx(0.0, abs=1e-3)
    assert float(out["chi"]) < 0.4  # 10 independent traces: about 1/sqrt(10)


def test_statistics_of_poisson_trains_and_synchrony():
    rng = np.random.default_rng(1)
    dt, T, n = 0.1, 50_000, 40
    spikes = (rng.random((T, n)) < 20.0 * dt / 1000).astype(np.float32)
    v_common = rng.normal(size=(T, 1))
    out = trace_statistics(spikes, np.repeat(v_common, n, 1).astype(np.float32), dt, 20)
    assert float(out["rate_E"]) == pytest.approx(20.0, rel=0.1)
    assert float(out["cv_E"]) == pytest.approx(1.0, abs=0.1)
    assert float(out["cv_I"]) == pytest.approx(1.0, abs=0.1)
    assert float(out["chi"]) == pytest.approx(1.0, abs=1e-3)  # identical voltages
    indep = trace_statistics(spikes, rng.normal(size=(T, n)).astype(np.float32), dt, 20)
    assert float(indep["chi"]) == pytest.approx(1 / np.sqrt(n), rel=0.2)
    silent = trace_statistics(np.zeros((100, 4), np.float32), np.zeros((100, 4), np.float32), dt, 2)
    assert float(silent["rate_E"]) == 0.0 and np.isnan(float(silent["cv_E"]))


def test_units_regimes_and_box():
    assert float(to_mV(1.0)) == pytest.approx(-55.0) and float(from_mV(0.0)) == pytest.approx(
        14 / 3
    )
    np.testing.assert_array_equal(regime([0.0, 5.0, 5.0], [0.9, 0.2, 0.8]), [0, 1, 2])
    x = latin_hypercube(50, 0)
    lo, hi = box_arrays()
    assert x.shape == (50, 6) and (x >= lo).all() and (x <= hi).all()
    # one point per stratum in each log coordinate
    u = (np.log(x) - np.log(lo)) / (np.log(hi) - np.log(lo))
    assert all(len(set(np.floor(u[:, j] * 50).astype(int))) == 50 for j in range(6))
    assert list(BOX) == ["S_EE", "S_IE", "S_EI", "S_II", "eta_E_ext", "eta_I_ext"]


# ----------------------------------------------------------------------------- dynamics


def test_graph_is_frozen_and_has_the_spec_probabilities():
    g2 = Circuit().graph()
    np.testing.assert_array_equal(np.asarray(GRAPH.C), np.asarray(g2.C))
    C = np.asarray(GRAPH.C)
    assert np.diag(C).sum() == 0
    assert C[:300, :300].mean() == pytest.approx(0.15, abs=0.01)  # E→E
    assert C[300:, :300].mean() == pytest.approx(0.5, abs=0.02)  # E→I
    assert C[:300, 300:].mean() == pytest.approx(0.5, abs=0.02)  # I→E
    assert C[300:, 300:].mean() == pytest.approx(0.4, abs=0.03)  # I→I
    assert not np.array_equal(C, np.asarray(Circuit(graph_seed=1).graph().C))
    th = np.asarray(Circuit(jitter=True).graph().threshold)
    assert th[:300].min() >= 0.95 and th[:300].max() <= 1.05 and th[300:].min() >= 0.9


def test_silent_without_drive_and_rates_rise_with_drive():
    quiet = run(np.r_[P0[:4], 1e-6, 1e-6])
    assert float(quiet["rate_E"]) == 0.0 and float(quiet["rate_I"]) == 0.0
    f = jax.jit(jax.vmap(lambda e: run(jnp.concatenate([jnp.asarray(P0[:4]), e * jnp.ones(2)]))))
    out = f(jnp.asarray([0.5, 1.0, 2.0, 4.0], jnp.float32))
    rE, rI = np.asarray(out["rate_E"]), np.asarray(out["rate_I"])
    assert (np.diff(rE) > 0).all() and (np.diff(rI) > 0).all(), (rE, rI)
    # without recurrence a mean drive of 0.04 / ms is suprathreshold, 0.01 / ms is not (§2.4)
    alone = jax.vmap(lambda e: run(jnp.asarray([1e-6, 1e-6, 1e-6, 1e-6, e, e])))
    r = alone(jnp.asarray([0.5, 2.0], jnp.float32))["rate_E"]
    assert float(r[0]) < 0.25 * float(r[1]) and float(r[1]) > 20.0


def test_refractoriness_respected():
    out = run(np.r_[0.03, 0.05, 0.02, 0.02, 4.0, 4.0], t0=10.0, t1=200.0, record=True)
    s = np.asarray(out["spikes"])
    assert s.sum() > 1000
    for cells, tref in ((slice(0, 300), 2.0), (slice(300, 400), 1.0)):
        t, i = np.nonzero(s[:, cells])
        order = np.lexsort((t, i))
        t, i = t[order], i[order]
        same = i[1:] == i[:-1]
        isi = (t[1:] - t[:-1])[same] * CIRCUIT.dt
        assert isi.min() >= tref - 1e-9, (isi.min(), tref)


def test_seed_determinism_and_vmap_equals_loop():
    a, b, c = run(P0, key=3), run(P0, key=3), run(P0, key=4)
    assert float(a["count_E"]) == float(b["count_E"]) and float(a["chi"]) == float(b["chi"])
    assert float(a["count_E"]) != float(c["count_E"])
    P = np.stack([P0, P0 * [1, 1, 1, 1, 0.7, 1.3], P0 * [2, 0.5, 1, 1, 1, 1]])
    keys = jax.random.split(jax.random.key(0), 3)
    sim = lambda p, k: CIRCUIT.simulate(p, k, t_transient=20.0, t_measure=100.0, graph=GRAPH)  # noqa: E731
    batched = jax.jit(jax.vmap(sim))(jnp.asarray(P, jnp.float32), keys)
    for i in range(3):
        one = jax.jit(sim)(jnp.asarray(P[i], jnp.float32), keys[i])
        for k in ("rate_E", "rate_I", "chi"):
            np.testing.assert_allclose(float(batched[k][i]), float(one[k]), rtol=1e-4)


def test_float32_matches_float64():
    with jax.enable_x64(True):
        g64 = CIRCUIT.graph()
        o64 = CIRCUIT.simulate(
            jnp.asarray(P0, jnp.float64), jax.random.key(0), t_transient=50.0, t_measure=250.0,
            graph=g64,
        )  # fmt: skip
        assert o64["rate_E"].dtype == jnp.float64
    o32 = run(P0)
    for k in ("rate_E", "rate_I"):
        assert float(o32[k]) == pytest.approx(float(o64[k]), rel=0.1), k
    assert float(o32["chi"]) == pytest.approx(float(o64["chi"]), abs=0.05)


def test_delay_buffer_with_zero_delays_equals_no_delays_and_delays_run():
    delayed = Circuit(max_delay=3.0)
    g = delayed.graph()
    np.testing.assert_array_equal(np.asarray(g.C), np.asarray(GRAPH.C))  # same graph
    d = np.asarray(g.delay_steps)
    assert d.max() == 29 and (d[np.asarray(g.C)[:300, :300] == 0] == 0).all()
    zero = Graph(g.C, jnp.zeros_like(g.delay_steps), g.threshold, g.seed)
    a = run(P0, circuit=delayed, graph=zero, t0=10.0, t1=100.0, record=True)
    b = run(P0, t0=10.0, t1=100.0, record=True)
    np.testing.assert_array_equal(np.asarray(a["spikes"]), np.asarray(b["spikes"]))
    c = run(P0, circuit=delayed, graph=g, t0=10.0, t1=100.0)
    assert np.isfinite(float(c["rate_E"])) and float(c["rate_E"]) > 0


# ----------------------------------------------------------------------------- dataset


def test_sweep_is_resumable_and_checksummed(tmp_path):
    small = Circuit(n_E=24, n_I=8)
    kw = dict(circuit=small, n_seeds=2, chunk=2, t_transient=10.0, t_measure=30.0, verbose=False)
    path = generate_sweep(tmp_path / "s", 5, max_seconds=0.0, **kw)  # stops after one chunk
    assert len(load_sweep(path)["params"]) == 2
    with pytest.raises(ValueError, match="chunks present"):
        load_sweep(path, complete=True)
    generate_sweep(path, 5, **kw)
    full = load_sweep(path, complete=True)
    assert full["per_seed"].shape == (5, 2, 5) and full["regime"].shape == (5,)
    np.testing.assert_array_equal(full["points"], np.arange(5))
    np.testing.assert_allclose(full["params"], latin_hypercube(5, 0))
    manifest = json.loads((path / "manifest.json").read_text())
    again = generate_sweep(path, 5, **kw)  # nothing left to do: unchanged
    assert json.loads((again / "manifest.json").read_text()) == manifest
    with pytest.raises(ValueError, match="another configuration"):
        generate_sweep(path, 5, **{**kw, "t_measure": 40.0})
    chunk = path / "chunk_00001.npz"
    chunk.write_bytes(chunk.read_bytes()[:-3] + b"xyz")
    with pytest.raises(ValueError, match="checksum"):
        load_sweep(path)


# ----------------------------------------------------------------------------- surrogate


def test_surrogate_fits_a_smooth_map_and_differentiates():
    x = latin_hypercube(400, 3)
    # a synthetic "circuit": rates rise with drives, fall with inhibition
    rE = 20 * x[:, 4] ** 1.2 / (1 + 20 * x[:, 2])
    rI = 30 * x[:, 5] * (1 + 10 * x[:, 1]) / (1 + 5 * x[:, 3])
    y = np.stack([rE, rI, 0.8 + 0 * rE, 0.7 + 0 * rE, 0.1 + 0 * rE], 1)
    std = 0.01 * np.abs(y)
    tr, va = slice(0, 350), slice(350, 400)
    fit = fit_statistics(
        x[tr], y[tr], std[tr], x[va], y[va], std[va], steps=600, hidden=(32, 32), seed=0
    )
    assert fit.history["best_val"] < 0.05
    J, H = gains(fit, x[va][:8])
    assert J.shape == (8, 2, 2) and H.shape == (8, 2, 2)
    assert (J[:, 0, 0] > 0).mean() >= 0.75 and (J[:, 1, 1] > 0).mean() >= 0.75
    assert np.isfinite(H).all() and np.abs(H).max() > 0  # smooth activations: curvature exists
    ens = fit_statistics(
        x[tr], y[tr], std[tr], x[va], y[va], std[va], steps=20, hidden=(8,), members=2
    )
    assert jax.tree.leaves(ens.params)[0].shape[0] == 2 and gains(ens, x[:2])[0].shape == (2, 2, 2)
    P, L = search_couplings(fit, jnp.asarray([5.0, 20.0]), jnp.asarray([2.0, 1.0]), restarts=4)
    lo, hi = box_arrays()
    assert P.shape == (4, 6) and (P[:, :4] >= lo[:4] * 0.999).all()
    assert (P[:, :4] <= hi[:4] * 1.001).all() and L[0] <= L[-1]


def test_fits_save_and_load_with_checksums(tmp_path):
    from jaxneuro._io import write_json_atomic
    from jaxneuro.circuits import load_fit, predict, read_fit_card, save_fit, write_fit_card
    from jaxneuro.training import CheckpointError

    x = latin_hypercube(64, 4)
    y = np.stack(
        [x[:, 4] * 10, x[:, 5] * 20, 0.8 + 0 * x[:, 0], 0.7 + 0 * x[:, 0], 0.1 + 0 * x[:, 0]], 1
    )
    fit = fit_statistics(x, y, 0.01 * y, x, y, 0.01 * y, steps=10, hidden=(8,), members=2)
    path = save_fit(tmp_path / "fit", fit, card={"data": "synthetic"})
    back = load_fit(path)
    assert back.mlp == fit.mlp and read_fit_card(path)["data"] == "synthetic"
    np.testing.assert_array_equal(predict(back, x[:5]), predict(fit, x[:5]))
    write_fit_card(path, {**read_fit_card(path), "held_out": {"rmse": 1.0}})  # weights untouched
    assert read_fit_card(path)["held_out"] == {"rmse": 1.0} and load_fit(path).mlp == fit.mlp
    bad = save_fit(tmp_path / "bad", fit)  # a re-sealed card whose MLP config lacks a field
    card = json.loads((bad / "card.json").read_text())
    del card["card_sha256"], card["mlp"]["hidden"]
    write_json_atomic(bad / "card.json", card, checksum="card_sha256")
    with pytest.raises(CheckpointError, match="MLP config is invalid"):
        load_fit(bad)
    weights = path / "weights.safetensors"
    raw = bytearray(weights.read_bytes())
    raw[-5] ^= 0xFF
    weights.write_bytes(bytes(raw))
    with pytest.raises(CheckpointError, match="weights.safetensors"):
        load_fit(path)
    with pytest.raises(FileNotFoundError, match="nor a shipped name"):
        load_fit(tmp_path / "nowhere")


def test_shipped_fits_reproduce_their_cards_on_the_held_out_points():
    """The shipped MLPs, re-scored on the stored sweep's test split (points never trained or tuned
    on): the errors their cards record, and the issue's targets (median relative error of E and
    I rates ≤ 5 % where rates exceed 1 Hz; regimes ≥ 95 % correct)."""
    from pathlib import Path

    from jaxneuro.circuits import load_fit, predict, read_fit_card, shipped_fits, split

    assert {"zhang-young-statistics", "zhang-young-regimes"} <= set(shipped_fits())
    sweep = Path(__file__).resolve().parents[1] / "benchmarks" / "results" / "circuit_sweep"
    data = load_sweep(sweep, complete=True)
    test = split(len(data["params"]), 0)[2]
    x, truth = data["params"][test], data["mean"][test]
    card = read_fit_card("zhang-young-statistics")["held_out"]
    pred = predict(load_fit("zhang-young-statistics"), x)
    for q, name in ((0, "E"), (1, "I")):
        sel = truth[:, q] > 1.0
        err = np.median(np.abs(pred[sel, q] - truth[sel, q]) / truth[sel, q])
        assert err == pytest.approx(card[f"median_rel_err_rate_{name}"], abs=1e-4)
        assert err <= 0.05
    labels = np.argmax(predict(load_fit("zhang-young-regimes"), x), 1)
    accuracy = (labels == data["regime"][test]).mean()
    assert accuracy == pytest.approx(
        read_fit_card("zhang-young-regimes")["held_out"]["regime_accuracy"]
    )
    assert accuracy >= 0.95
