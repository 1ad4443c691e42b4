"""Spiking networks (jaxneuro.networks): the Network is a Simulator; connectivity formats and
builders; delays; exchange-interval checks; overflow; gradients through delivery; a COBA-like
network against a pure-numpy implementation of the same equations and graph."""

import diffrax
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxneuro import networks
from jaxneuro.models import LIF, HodgkinHuxley
from jaxneuro.models.synapses import Synapse
from jaxneuro.networks import (
    Dense,
    External,
    Network,
    Population,
    Projection,
    Sparse,
    delay_samples,
    explicit,
    fixed_indegree,
    fixed_probability,
    from_matrix,
)
from jaxneuro.networks._delivery import Target, events

W_E, W_I = 0.006, 0.067  # µS: COBA's 6 nS and 67 nS (Vogels & Abbott 2005)


def coba_cell(dt=0.1):
    return LIF(
        preset="vogels-abbott",
        dt=dt,
        synapses=(
            Synapse("exc", tau=5.0, e_rev=0.0, weight=W_E),
            Synapse("inh", tau=10.0, e_rev=-80.0, weight=W_I),
        ),
    )


def ei_network(n_e=16, n_i=4, p=0.3, scale=8.0, fmt="dense", delay=0.5, exchange_dt=None, **kw):
    """A small E/I network of COBA cells, one current column per cell."""
    cell = coba_cell()
    conn = {
        ("E", "E"): fixed_probability(n_e, n_e, p, scale, seed=1, autapses=False, format=fmt),
        ("E", "I"): fixed_probability(n_e, n_i, p, scale, seed=2, format=fmt),
        ("I", "E"): fixed_probability(n_i, n_e, p, scale, seed=3, format=fmt),
        ("I", "I"): fixed_probability(n_i, n_i, p, scale, seed=4, autapses=False, format=fmt),
    }
    projections = [
        Projection(a, b, "exc" if a == "E" else "inh", c, delay=delay, **kw)
        for (a, b), c in conn.items()
    ]
    pops = {"E": Population(cell, n_e, record=("spikes", "v")), "I": Population(cell, n_i)}
    return Network(pops, projections, exchange_dt=exchange_dt)


def drive(net, n, key=0):
    """Noisy suprathreshold currents (nA), one column per cell."""
    return 0.15 + 0.15 * jax.random.uniform(jax.random.key(key), (n, net.spec.n_inputs))


# --- the Simulator protocol ---------------------------------------------------------------------
def test_spec_params_and_state():
    net = ei_network()
    spec = net.spec
    assert spec.input_names == ("E.i_ext", "I.i_ext")
    assert [c.width for c in spec.inputs] == [16, 4]
    assert spec.output_names == ("E.spikes", "E.v", "I.spikes")
    assert spec.output("E.spikes").kind == "events" and spec.output("E.v").unit == "mV"
    p = net.init()
    assert set(p["projections"]) == {"E->E:exc", "E->I:exc", "I->E:inh", "I->I:inh"}
    assert p["projections"]["E->E:exc"]["weight"].shape == (16, 16)
    s = net.init_state(p)
    assert s["buffers"]["E.exc"].shape == (5, 16)  # 0.5 ms delay at 0.1 ms
    assert net.chunk == 5 and net.exchange_dt == 0.5  # default: the smallest delay


def test_jit_equals_eager_and_streaming():
    net = ei_network()
    p, x = net.init(), drive(net, 400)
    eager, s_eager = net.apply(p, x)
    jitted, s_jit = jax.jit(net.apply)(p, x)
    assert eager["E.spikes"].shape == (400, 16) and eager["E.spikes"].sum() > 20
    for k in eager:
        np.testing.assert_allclose(eager[k], jitted[k], rtol=1e-5, atol=5e-3)
    first, mid = jax.jit(net.apply)(p, x[:135])  # 135 samples: 27 exchange intervals
    rest, end = jax.jit(net.apply)(p, x[135:], mid)
    for k in eager:
        np.testing.assert_allclose(jnp.concatenate([first[k], rest[k]]), jitted[k], atol=5e-3)
    np.testing.assert_allclose(end["buffers"]["E.exc"], s_jit["buffers"]["E.exc"], atol=1e-5)
    with pytest.raises(ValueError, match="multiple of the 5 samples"):
        net.apply(p, x[:133])


def test_vmap_over_parameter_sets_equals_loop():
    net = ei_network()
    p, x = net.init(), drive(net, 200)
    sets = [jax.tree.map(lambda a, f=f: a * f, p["projections"]) for f in (0.5, 1.0, 2.0)]
    batched = {
        "populations": p["populations"],
        "projections": jax.tree.map(lambda *a: jnp.stack(a), *sets),
    }
    axes = {"populations": None, "projections": 0}
    out, _ = jax.jit(jax.vmap(net.apply, in_axes=(axes, None)))(batched, x)
    for i, proj in enumerate(sets):
        one, _ = jax.jit(net.apply)({"populations": p["populations"], "projections": proj}, x)
        np.testing.assert_allclose(out["E.spikes"][i], one["E.spikes"])
        np.testing.assert_allclose(out["E.v"][i], one["E.v"], atol=5e-3)


def test_float32_close_to_float64():
    net = ei_network()
    p32, x32 = net.init(), drive(net, 200)
    out32, _ = jax.jit(net.apply)(p32, x32)
    with jax.enable_x64(True):
        p64 = jax.tree.map(lambda a: jnp.asarray(a, jnp.float64), net.init())
        out64, state = jax.jit(net.apply)(p64, jnp.asarray(x32, jnp.float64))
        assert out64["E.v"].dtype == jnp.float64 and state["buffers"]["E.exc"].dtype == jnp.float64
        out64 = jax.tree.map(np.asarray, out64)
    assert out32["E.v"].dtype == jnp.float32
    np.testing.assert_array_equal(out32["E.spikes"], out64["E.spikes"])
    np.testing.assert_allclose(out32["E.v"], out64["E.v"], atol=5e-3)


def test_heterogeneous_population_and_shared_input():
    cell = coba_cell()
    pops = {"A": Population(cell, 3, heterogeneous=True, record=("v",))}
    net = Network(pops, inputs=[External("A", "i_ext", shared=True)])
    assert net.spec.inputs[0].width == 1 and net.exchange_dt == 0.1
    p = net.init()
    p["populations"]["A"]["tau_m"] = jnp.array([10.0, 20.0, 40.0])
    out, _ = net.apply(p, jnp.full((50, 1), 0.05))
    v = out["A.v"][-1]
    assert v[0] > v[1] > v[2] > -60.0  # faster membranes charge sooner


# --- connectivity --------------------------------------------------------------------------------
def test_fixed_probability_degrees_seed_and_autapses():
    c = fixed_probability(400, 300, 0.1, 2.0, seed=7)
    pre, post, w, d = c.synapses()
    n = pre.size
    assert abs(n - 12000) < 4 * np.sqrt(12000 * 0.9)  # binomial mean ± 4 σ
    assert np.all(w == 2.0) and d is None and c.seed == 7 and "p=0.1" in c.rule
    again = fixed_probability(400, 300, 0.1, 2.0, seed=7)
    assert np.array_equal(again.indices, c.indices)
    other = fixed_probability(400, 300, 0.1, 2.0, seed=8)
    assert not np.array_equal(other.matrix(), c.matrix())
    rec = fixed_probability(200, 200, 0.5, seed=1, autapses=False)
    assert np.all(np.diag(rec.matrix()) == 0)
    assert np.diag(fixed_probability(200, 200, 0.5, seed=1).matrix()).sum() > 50


def test_fixed_indegree():
    c = fixed_indegree(100, 80, 10, seed=3, autapses=True)
    m = c.matrix()
    assert np.all((m > 0).sum(axis=0) == 10) and m.max() == 1.0  # distinct presynaptic cells
    r = fixed_indegree(50, 50, 49, seed=3, autapses=False, format="dense")
    assert isinstance(r, Dense) and np.all(np.diag(r.matrix()) == 0)
    assert np.all((r.matrix() > 0).sum(axis=0) == 49)
    with pytest.raises(ValueError, match="in-degree k = 50 exceeds the 49"):
        fixed_indegree(50, 50, 50, seed=0, autapses=False)


def test_formats_round_trip():
    rng = np.random.default_rng(0)
    m = rng.random((30, 20)) * (rng.random((30, 20)) < 0.2)
    dense = from_matrix(m)
    sparse = from_matrix(m, format="sparse")
    assert isinstance(dense, Dense) and isinstance(sparse, Sparse)
    assert sparse.width == (m > 0).sum(axis=1).max()
    np.testing.assert_allclose(sparse.matrix(), m)
    np.testing.assert_allclose(dense.to_sparse().to_dense().matrix(), m)
    pre, post = np.nonzero(m)
    e = explicit(30, 20, pre, post, m[pre, post], delay=np.arange(pre.size) % 3)
    np.testing.assert_allclose(e.matrix(), m)
    assert e.to_dense().delay is not None
    with pytest.raises(ValueError, match=r"post indices must lie in \[0, 20\)"):
        explicit(30, 20, [0], [20])
    with pytest.raises(ValueError, match="delays must be finite and >= 0"):
        explicit(30, 20, [0], [1], delay=-1.0)


def test_dense_sparse_and_gather_agree():
    """One graph with per-synapse delays, delivered three ways: identical runs."""
    rng = np.random.default_rng(1)
    n = 24
    m = 6.0 * (rng.random((n, n)) < 0.25)
    delays = rng.choice([0.3, 0.5, 1.2], size=(n, n))
    runs = {}
    for method, fmt in (("dense", "dense"), ("events", "sparse"), ("gather", "sparse")):
        conn = from_matrix(m, delay=delays, format=fmt)
        net = Network(
            {"E": Population(coba_cell(), n, record=("spikes", "v"))},
            [Projection("E", "E", "exc", conn, method=method)],
            [External("E", "i_ext")],
        )
        assert net.chunk == 3  # the smallest delay, 0.3 ms
        p = net.init()
        runs[method] = jax.jit(net.apply)(p, drive(net, 600))[0]
    assert runs["dense"]["E.spikes"].sum() > 50
    for method in ("events", "gather"):
        np.testing.assert_array_equal(runs[method]["E.spikes"], runs["dense"]["E.spikes"])
        np.testing.assert_allclose(runs[method]["E.v"], runs["dense"]["E.v"], atol=1e-4)


# --- delays and exchange ------------------------------------------------------------------------
def chain(delay, connectivity_delay=None, exchange_dt=None, targets=1):
    """A → B (``targets`` cells): A fires under a step current, B is silent; record B's v."""
    cell = coba_cell()
    conn = explicit(1, targets, [0] * targets, list(range(targets)), 1.0, delay=connectivity_delay)
    pops = {"A": Population(cell, 1), "B": Population(cell, targets, record=("v",))}
    proj = Projection("A", "B", "exc", conn, delay=delay)
    net = Network(pops, [proj], [External("A", "i_ext")], exchange_dt=exchange_dt)
    n = 600
    x = jnp.zeros((n, 1)).at[20:, 0].set(0.3)
    out = net.apply(net.init(), x)[0]
    first_spike = int(jnp.argmax(out["A.spikes"] > 0))
    moved = jnp.abs(out["B.v"].reshape(n, targets) + 60.0) > 1e-6
    return first_spike, [int(jnp.argmax(moved[:, j])) for j in range(targets)]


@pytest.mark.parametrize("delay_ms, samples", [(0.0, 1), (0.1, 1), (1.5, 15), (2.04, 20)])
def test_delay_arrives_exactly(delay_ms, samples):
    assert delay_samples(delay_ms, 0.1) == samples
    spike, (arrival,) = chain(delay_ms)
    assert spike > 20 and arrival - spike == samples


def test_per_synapse_delays_and_short_exchange():
    spike, arrivals = chain(None, connectivity_delay=[0.5, 1.0, 3.3], exchange_dt=0.2, targets=3)
    assert [a - spike for a in arrivals] == [5, 10, 33]


def test_exchange_interval_checks():
    with pytest.raises(
        ValueError,
        match=r"exchange_dt = 1.0 ms is longer than the smallest "
        r"delay, 0.5 ms \(projection 'E->E:exc'",
    ):
        ei_network(delay=0.5, exchange_dt=1.0)
    with pytest.raises(ValueError, match="dt = 0.1 ms does not divide exchange_dt = 0.25 ms"):
        ei_network(delay=0.5, exchange_dt=0.25)
    with pytest.raises(ValueError, match="longer than the smallest delay, 0.1 ms"):
        ei_network(delay=0.0, exchange_dt=0.2)  # zero delay is one sample
    cell, odd = coba_cell(), coba_cell(dt=0.25)
    with pytest.raises(ValueError, match="dt = 0.25 ms, not a whole multiple of the finest"):
        Network({"A": Population(cell, 2), "B": Population(odd, 2)})
    pops = {"A": Population(cell, 2), "B": Population(coba_cell(dt=0.5), 2)}
    ab = [Projection("A", "B", "exc", fixed_probability(2, 2, 1.0, seed=0), delay=1.0)]
    with pytest.raises(ValueError, match="0.3 ms is not a multiple of every population's dt"):
        Network(pops, ab, exchange_dt=0.3)
    short = [Projection("A", "B", "exc", fixed_probability(2, 2, 1.0, seed=0), delay=0.2)]
    with pytest.raises(ValueError, match=r"smallest delay, 0.2 ms .* shorter than 0.5 ms"):
        Network(pops, short)


def test_mixed_sample_intervals_equal_each_population_run_alone():
    """A fine (0.1 ms) and a coarse (0.5 ms) population coupled both ways with 1 ms delays:
    each population's outputs equal its cell model run alone on the input the other's spikes
    make (a spike counts at the end of its sample, arrives 10 network samples later, and a
    coarse sample adds the events and averages the currents of its 5 network samples)."""
    with jax.enable_x64(True):
        fine, coarse = coba_cell(dt=0.1), coba_cell(dt=0.5)
        w_ab = np.array([[6.0, 0.0], [6.0, 6.0], [0.0, 6.0]])
        w_ba = np.array([[0.02, 0.0, 0.02], [0.0, 0.02, 0.02]])
        pops = {
            "A": Population(fine, 3, record=("spikes", "v")),
            "B": Population(coarse, 2, record=("spikes", "v")),
        }
        net = Network(
            pops,
            [
                Projection("A", "B", "exc", from_matrix(w_ab), delay=1.0),
                Projection("B", "A", "inh", from_matrix(w_ba), delay=1.0),
            ],
            inputs=[External("A", "i_ext"), External("B", "i_ext")],
        )
        assert net.dt == 0.1 and net.chunk == 10
        assert "held over each 0.5 ms step" in net.spec.output("B.v").description
        params = jax.tree.map(lambda a: jnp.asarray(a, jnp.float64), net.init())
        T = 3000  # 300 ms
        x = 0.2 + 0.2 * jax.random.uniform(jax.random.key(3), (T, 5), jnp.float64)
        out, _ = jax.jit(net.apply)(params, x)
        a_spikes, b_spikes = np.asarray(out["A.spikes"]), np.asarray(out["B.spikes"])
        b_coarse = b_spikes.reshape(-1, 5, 2)
        assert not b_coarse[:, :4].any()  # a coarse spike sits in its last network sample
        b_coarse = b_coarse[:, 4]
        assert a_spikes.sum() > 20 and b_coarse.sum() > 5

        exc = np.zeros((T + 10, 2))
        exc[10:] = a_spikes @ w_ab  # A's spikes, 10 network samples later
        b_in = np.concatenate(
            [
                x[:, 3:5].reshape(-1, 5, 2).mean(1)[..., None],
                exc[:T].reshape(-1, 5, 2).sum(1)[..., None],
            ],
            axis=2,
        )  # [T/5, 2 cells, (i_ext, exc)]
        b_in = np.concatenate([b_in, np.zeros_like(b_in[..., :1])], axis=2)  # no inh
        p = params["populations"]["B"]
        alone = jax.vmap(lambda xi: coarse.apply(p, xi)[0], in_axes=1)(jnp.asarray(b_in))
        np.testing.assert_array_equal(np.asarray(alone["spikes"]).T, b_coarse)
        np.testing.assert_allclose(
            np.repeat(np.asarray(alone["v"]).T, 5, axis=0), out["B.v"], atol=1e-9
        )

        inh = np.zeros((T + 14, 3))
        inh[14::5][: b_coarse.shape[0]] = b_coarse @ w_ba  # end of its sample + 10
        a_in = np.stack([x[:, :3], np.zeros((T, 3)), inh[:T]], axis=2)
        p = params["populations"]["A"]
        alone = jax.vmap(lambda xi: fine.apply(p, xi)[0], in_axes=1)(jnp.asarray(a_in))
        np.testing.assert_array_equal(np.asarray(alone["spikes"]).T, a_spikes)
        np.testing.assert_allclose(np.asarray(alone["v"]).T, out["A.v"], atol=1e-9)


def test_bad_construction_names_the_problem():
    cell = coba_cell()
    pops = {"E": Population(cell, 4)}
    with pytest.raises(ValueError, match="no input channel 'ampa'"):
        Network(pops, [Projection("E", "E", "ampa", fixed_probability(4, 4, 0.5, seed=0))])
    with pytest.raises(ValueError, match="connectivity is 5→4 but populations"):
        Network(pops, [Projection("E", "E", "exc", fixed_probability(5, 4, 0.5, seed=0))])
    with pytest.raises(ValueError, match="no population 'I'"):
        Network(pops, [Projection("E", "I", "exc", fixed_probability(4, 4, 0.5, seed=0))])
    with pytest.raises(ValueError, match="population size must be a positive int"):
        Population(cell, 0)
    with pytest.raises(ValueError, match="spike_channel 'v' must be an events output"):
        Population(cell, 2, spike_channel="v")
    net = ei_network()
    with pytest.raises(ValueError, match="weight must have shape"):
        p = net.init()
        p["projections"]["E->E:exc"]["weight"] = jnp.ones(3)
        net.apply(p, drive(net, 10))


def test_non_finite_inputs_and_weights_are_errors():
    """The network checks its external inputs and weights once per call (its populations,
    traced inside ``trusted_inputs``, do not rescan theirs in every interval)."""
    net = ei_network()
    run = jax.jit(net.apply)
    x = drive(net, 10).at[7, 0].set(jnp.nan)
    with pytest.raises(Exception, match="inputs contain NaN or inf"):
        jax.block_until_ready(run(net.init(), x))
    p = net.init()
    p["projections"]["I->E:inh"]["weight"] = (
        p["projections"]["I->E:inh"]["weight"].at[0].set(jnp.inf)
    )
    with pytest.raises(Exception, match="parameters contain NaN or inf"):
        jax.block_until_ready(run(p, drive(net, 10)))


def test_a_diverging_population_is_an_error():
    """Forward Euler at 0.5 ms blows a Hodgkin–Huxley cell up to NaN; the network reports it
    (naming the population) although it records only spikes, which fall silent."""
    cell = HodgkinHuxley(dt=0.5, solver=diffrax.Euler())
    net = Network({"H": Population(cell, 3)})
    with pytest.raises(Exception, match=r"population 'H' \(HodgkinHuxley\) diverged"):
        jax.block_until_ready(jax.jit(net.apply)(net.init(), jnp.full((400, 3), 30.0)))
    stable = Network({"H": Population(HodgkinHuxley(dt=0.05), 3)})  # the default solver passes
    out, _ = jax.jit(stable.apply)(stable.init(), jnp.full((400, 3), 10.0))
    assert float(out["H.spikes"].sum()) == 6.0


def test_population_parameters_are_checked_at_run_time():
    """Checked once per call, outside the loop over exchange intervals (``trusted_params``
    inside), for shared and per-cell parameters alike."""
    net = ei_network()
    run = jax.jit(net.apply)
    x = drive(net, 10)
    p = net.init()
    p["populations"]["I"] = dict(p["populations"]["I"], tau_m=jnp.asarray(-20.0))
    with pytest.raises(Exception, match="LIF: parameter 'tau_m' must be positive"):
        jax.block_until_ready(run(p, x))
    p = net.init()
    p["populations"]["E"] = dict(p["populations"]["E"], v_th=jnp.asarray(jnp.nan))
    with pytest.raises(Exception, match="parameters contain NaN or inf"):
        jax.block_until_ready(run(p, x))
    cell = coba_cell()
    het = Network({"E": Population(cell, 3, heterogeneous=True)})
    p = het.init()
    p["populations"]["E"]["tau_m"] = jnp.asarray([20.0, -1.0, 20.0])
    with pytest.raises(Exception, match="LIF: parameter 'tau_m' must be positive"):
        jax.block_until_ready(jax.jit(het.apply)(p, jnp.zeros((10, het.spec.n_inputs))))
    p["populations"]["E"]["tau_m"] = jnp.full(3, 20.0)
    jax.block_until_ready(jax.jit(het.apply)(p, jnp.zeros((10, het.spec.n_inputs))))


def test_overflow_is_an_error():
    net = ei_network(fmt="sparse", capacity=1)
    # both E projections overflow; which error fires first is XLA's scheduling
    with pytest.raises(Exception, match=r"spike buffer overflow in projection E->[EI]:exc"):
        jax.block_until_ready(jax.jit(net.apply)(net.init(), drive(net, 200)))


# --- gradients ----------------------------------------------------------------------------------
def test_event_delivery_jvp_reaches_non_spiking_cells():
    rng = np.random.default_rng(0)
    n_pre, n_post = 6, 5
    m = rng.random((n_pre, n_post)) * (rng.random((n_pre, n_post)) < 0.6)
    conn = from_matrix(m, format="sparse")
    idx, w = jnp.asarray(conn.indices), jnp.asarray(conn.weight)
    lag = jnp.zeros(idx.shape, jnp.int32)
    spikes = jnp.zeros((2, n_pre)).at[0, 1].set(1.0)  # one spike, cell 1
    ds = jnp.asarray(rng.normal(size=(2, n_pre)))  # tangents on every cell

    def run(s, w):
        return events(s, (w,), (idx,), (lag,), (Target(2, n_post, 4, "test"),))[0]

    out, tangent = jax.jvp(run, (spikes, w), (ds, jnp.zeros_like(w)))
    np.testing.assert_allclose(out, spikes @ m, rtol=1e-6)
    np.testing.assert_allclose(tangent, ds @ m, rtol=1e-5)  # the full matvec
    g = jax.grad(lambda s: (run(s, w) ** 2).sum())(spikes)
    np.testing.assert_allclose(g, 2 * (spikes @ m) @ m.T, rtol=1e-5)
    gw = jax.grad(lambda w: run(spikes, w).sum())(w)
    np.testing.assert_allclose(gw[1], (conn.indices[1] < n_post).astype(float))
    assert float(jnp.abs(gw[jnp.arange(n_pre) != 1]).sum()) == 0.0


def test_projections_of_one_population_are_delivered_together_as_each_alone():
    """Two event-driven projections of one presynaptic population (different targets, delays
    and capacities) are delivered from one search for the spikes: the same windows and
    tangents as each delivered alone; the smaller capacity still raises, naming its owner."""
    rng = np.random.default_rng(1)
    conns = [
        from_matrix(rng.random((6, n)) * (rng.random((6, n)) < 0.5), format="sparse")
        for n in (5, 3)
    ]
    idx = [jnp.asarray(c.indices) for c in conns]
    w = [jnp.asarray(c.weight) for c in conns]
    lag = [None, jnp.asarray(rng.integers(0, 2, conns[1].indices.shape), jnp.int32)]
    targets = [Target(2, 5, 12, "a"), Target(3, 3, 4, "b")]
    spikes = jnp.zeros((2, 6)).at[0, 1].set(1.0).at[1, 4].set(2.0).at[1, 5].set(1.0)
    ds = jnp.asarray(rng.normal(size=(2, 6)))

    def together(s):
        return events(s, tuple(w), tuple(idx), tuple(lag), tuple(targets))

    def alone(s):
        return tuple(events(s, (w[k],), (idx[k],), (lag[k],), (targets[k],))[0] for k in (0, 1))

    (out, tangent), (out1, tangent1) = (
        jax.jvp(together, (spikes,), (ds,)),
        jax.jvp(alone, (spikes,), (ds,)),
    )
    for a, b in zip(out + tangent, out1 + tangent1, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6)
    assert float(jnp.abs(out[1]).sum()) > 0
    five = jnp.zeros((2, 6)).at[0, :3].set(1.0).at[1, 3:5].set(1.0)
    with pytest.raises(Exception, match="spike buffer overflow in projection b"):
        jax.block_until_ready(jax.jit(together)(five))


@pytest.mark.parametrize("fmt", ["dense", "sparse"])
def test_gradient_of_rates_wrt_weights(fmt):
    net = ei_network(fmt=fmt)
    p, x = net.init(), drive(net, 300)

    def loss(proj):
        out = net.apply({"populations": p["populations"], "projections": proj}, x)[0]
        return out["E.spikes"].mean() * 1e4  # the E rate (spikes/s)

    g = jax.jit(jax.grad(loss))(p["projections"])
    for name, leaf in g.items():
        assert jnp.isfinite(leaf["weight"]).all(), name
    assert float(jnp.abs(g["E->E:exc"]["weight"]).sum()) > 0
    assert float(jnp.abs(g["I->E:inh"]["weight"]).sum()) > 0
    if fmt == "dense":  # absent synapses get no gradient
        mask = np.asarray(net.projections[0].connectivity.mask)
        assert float(jnp.abs(g["E->E:exc"]["weight"][~mask]).sum()) == 0.0


# --- COBA against a numpy implementation of the same network ---------------------------------
def numpy_coba(weights, n_e, v0, steps, dt=0.1, i_b=0.2):
    """Sample-by-sample float64 reference: LIF (Vogels & Abbott 2005, as ``LIF('vogels-abbott')``
    integrates it: exponential Euler with frozen conductances, then threshold, reset and a 5 ms
    refractory clamp), exponential synapses jumping at the start of a sample, and every spike
    delivered one sample later through the dense ``weights[n, n]``."""
    n = v0.size
    tau, e_l, r, v_th, v_reset, t_ref = 20.0, -60.0, 100.0, -50.0, -60.0, 5.0
    phi1 = lambda z: np.expm1(z) / z  # noqa: E731
    v, ge, gi, ref = v0.astype(np.float64).copy(), np.zeros(n), np.zeros(n), np.zeros(n)
    in_e, in_i = np.zeros(n), np.zeros(n)
    raster = np.zeros((steps, n))
    for k in range(steps):
        ge, gi = ge + W_E * in_e, gi + W_I * in_i
        decay = (1.0 + r * (ge + gi)) / tau
        drive = (e_l + r * (i_b + gi * -80.0)) / tau
        v1 = v + dt * (drive - decay * v) * phi1(-decay * dt)
        ge = ge + dt * (-ge / 5.0) * phi1(-dt / 5.0)
        gi = gi + dt * (-gi / 10.0) * phi1(-dt / 10.0)
        refractory = ref > 1e-3 * dt
        v1 = np.where(refractory, v_reset, v1)
        clock = np.where(refractory, np.maximum(ref - dt, 0.0), 0.0)
        s = (v1 >= v_th) & ~refractory
        v = np.where(s, v_reset, v1)
        ref = np.where(s, t_ref, clock)
        raster[k] = s
        in_e, in_i = s[:n_e] @ weights[:n_e], s[n_e:] @ weights[n_e:]
    return raster


def coba(n, seed, fmt):
    """COBA at ``n`` cells, weights × 4000 / n (``networks.coba``)."""
    return networks.coba(n, seed=seed, format=fmt)


def full_matrix(net, n_e):
    n = sum(pop.size for pop in net.cells)
    off = {"E": 0, "I": n_e}
    w = np.zeros((n, n))
    for p in net.projections:
        pre, post, weight, _ = p.connectivity.synapses()
        np.add.at(w, (pre + off[p.pre], post + off[p.post]), weight)
    return w


def run_coba(net, v0, steps, n_e, dtype=jnp.float32):
    p = jax.tree.map(lambda a: jnp.asarray(a, dtype), net.init())
    state = net.init_state(p)
    state["populations"]["E"]["v"] = jnp.asarray(v0[:n_e], dtype)
    state["populations"]["I"]["v"] = jnp.asarray(v0[n_e:], dtype)
    out, _ = jax.jit(net.apply)(p, jnp.full((steps, 2), 0.2, dtype), state)
    return np.concatenate([np.asarray(out["E.spikes"]), np.asarray(out["I.spikes"])], axis=1)


def test_coba_matches_numpy_reference_float64():
    """400 cells, 200 ms: the same float64 raster, spike for spike, as long as chaos allows
    (every spike of the first 50 ms), and population rates within 10 %."""
    n, n_e, steps = 400, 320, 2000
    v0 = np.random.default_rng(0).uniform(-60.0, -50.0, n)
    with jax.enable_x64(True):
        net = coba(n, seed=10, fmt="sparse")
        ours = run_coba(net, v0, steps, n_e, jnp.float64)
    ref = numpy_coba(full_matrix(net, n_e), n_e, v0, steps)
    assert ref[:500].sum() > 100
    np.testing.assert_array_equal(ours[:500], ref[:500])
    rate = lambda r: r.sum() / r.shape[1] / (r.shape[0] * 1e-4)  # noqa: E731
    assert 1.0 < rate(ref) < 200.0
    assert abs(rate(ours) - rate(ref)) < 0.1 * rate(ref)


@pytest.mark.slow
def test_coba_rates_float32_within_spread_over_seeds():
    """float32 dense and sparse runs against the float64 numpy reference over three graphs and
    initial conditions: the E rate over 100–200 ms agrees within the spread across seeds."""
    n, n_e, steps = 400, 320, 2000
    ours, ref = [], []
    for seed in range(3):
        v0 = np.random.default_rng(seed).uniform(-60.0, -50.0, n)
        net = coba(n, seed=20 + 4 * seed, fmt="dense")
        dense = run_coba(net, v0, steps, n_e)
        sparse = run_coba(coba(n, seed=20 + 4 * seed, fmt="sparse"), v0, steps, n_e)
        np.testing.assert_array_equal(dense[:300], sparse[:300])
        reference = numpy_coba(full_matrix(net, n_e), n_e, v0, steps)
        ours.append(dense[1000:, :n_e].mean() * 1e4)
        ref.append(reference[1000:, :n_e].mean() * 1e4)
    spread = np.std(ref) + np.std(ours) + 1.0
    assert abs(np.mean(ours) - np.mean(ref)) < 2 * spread, (ours, ref)
