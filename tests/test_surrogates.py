"""Surrogate families: streaming in short chunks, trainability, and each family's specifics.

The protocol itself (jit = eager, vmap = loop, streamed = whole, float32 ≈ float64, finite
differences, no recompilation, bad inputs) is checked for every registered family and shipped
surrogate by the common suite, ``tests/test_simulators.py``.
"""

import functools
import json
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxneuro as jn
from jaxneuro import Channel, IOSpec
from jaxneuro.models import LIF, HodgkinHuxley
from jaxneuro.surrogates import CNNLSTM, ELM, MLP, TCN, ConvEncoderDecoder, Scaling

HH_SPEC = HodgkinHuxley(dt=1.0, solver_dt=0.025).spec
LIF_SPEC = LIF(dt=1.0).spec
T = 39  # 13 chunks of 3 samples: every stride phase of the encoder–decoder

# Tiny configurations: the protocol, not the capacity, is under test.
FAMILIES = {
    "tcn": lambda spec: TCN(spec, n_layers=2, channels=8, kernel_sizes=(7, 5), dilations=(1, 2)),
    "elm": lambda spec: ELM(spec, n_memory=6, learn_tau_m=True),
    "cnn-lstm": lambda spec: CNNLSTM(
        spec, window=8, convs=(8, 8, 4), lstm=8, lstm_repeats=2, dense=(8,)
    ),
    "encoder-decoder": lambda spec: ConvEncoderDecoder(spec, levels=2, channels=8, kernel_size=4),
}
NAMES = sorted(FAMILIES)
TOL = dict(rtol=1e-5, atol=1e-4)


class Case(NamedTuple):
    sur: Any
    params: Any
    x: Any
    run: Any  # jitted apply, shared by the tests of one family (compiles once per shape)


@functools.cache
def case(name):
    sur = FAMILIES[name](HH_SPEC)
    x = (10.0 + 3.0 * np.random.default_rng(1).standard_normal((T, 1))).astype(np.float32)  # µA/cm²
    return Case(sur, sur.init(jax.random.key(0)), x, jax.jit(sur.apply))


def close(a, b, **tol):
    for u, v in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True):
        np.testing.assert_allclose(np.asarray(u), np.asarray(v), **(tol or TOL))


@pytest.mark.parametrize("name", NAMES)
def test_streams_in_chunks_of_three(name):
    """13 chunks of 3 samples: shorter than every history and window, and split at every stride
    phase of the encoder–decoder (the common suite splits in three)."""
    sur, params, x, run = case(name)
    whole, final = run(params, x)
    parts, state = [], None
    for lo in range(0, T, 3):
        out, state = run(params, x[lo : lo + 3], state)
        parts.append(out)
    close(whole, {k: np.concatenate([p[k] for p in parts]) for k in whole})
    close(final, state)


def _targets(x):
    t = np.arange(T)
    v_target = -65.0 + 8.0 * np.sin(t / 5.0) + 0.5 * (x[:, 0] - 10.0)
    return v_target.astype(np.float32), (np.sin(t / 5.0) > 0.9).astype(np.float32)


def _loss(out, v_target, s_target):
    mse = jnp.mean(((out["v"] - v_target) / 10.0) ** 2)
    return mse + optax.sigmoid_binary_cross_entropy(out["spike_logits"], s_target).mean()


@pytest.mark.parametrize("name", NAMES)
def test_gradients_finite_and_adam_reduces_loss(name):
    """Finite gradients w.r.t. weights and inputs; a few Adam steps on a small synthetic target
    reduce the loss (the CNN-LSTM trains with teacher forcing; its closed loop is checked too)."""
    sur, params, x, _ = case(name)
    v_target, s_target = _targets(x)
    opt = optax.adam(1e-2)

    def closed_loss(p, x):
        return _loss(sur.apply(p, x)[0], v_target, s_target)

    def train_loss(p, x):
        if isinstance(sur, CNNLSTM):
            return _loss(sur.apply_teacher_forced(p, x, v_target)[0], v_target, s_target)
        return closed_loss(p, x)

    @jax.jit
    def step(p, o):
        value, (g_p, g_x) = jax.value_and_grad(train_loss, argnums=(0, 1))(p, x)
        updates, o = opt.update(g_p, o, p)
        return optax.apply_updates(p, updates), o, value, (g_p, g_x)

    grads = [step(params, opt.init(params))[3]]
    if isinstance(sur, CNNLSTM):
        grads.append(jax.jit(jax.grad(closed_loss, argnums=(0, 1)))(params, x))
    for g_p, g_x in grads:
        leaves = jax.tree.leaves(g_p)
        leaves, g_x = [np.asarray(g) for g in leaves], np.asarray(g_x)
        assert all(np.isfinite(g).all() for g in leaves) and np.isfinite(g_x).all()
        assert all(np.abs(g).sum() > 0 for g in leaves) and np.abs(g_x).sum() > 0

    p, o, losses = params, opt.init(params), []
    for _ in range(16):
        p, o, value, _ = step(p, o)
        losses.append(float(value))
    assert losses[-1] < 0.9 * losses[0], losses


# --- family specifics --------------------------------------------------------------------------


def test_tcn_receptive_field_and_lif_case():
    sur, params, x, run = case("tcn")
    assert sur.receptive_field == 1 + 6 + 2 * 4
    base, _ = run(params, x)
    moved, _ = run(params, x + 5.0 * (np.arange(T)[:, None] == 10))
    changed = np.nonzero(np.abs(np.asarray(moved["v"] - base["v"])) > 0)[0]
    assert changed.min() == 10 and changed.max() == 10 + sur.receptive_field - 1
    # one layer, one hidden unit: Beniaguev et al.'s integrate-and-fire case
    one = TCN(LIF_SPEC, n_layers=1, channels=1, kernel_sizes=20, activation="tanh")
    p1 = one.init()
    assert one.n_params(p1) == 20 + 1 + 2 * 1 + 2  # kernel, bias, two heads
    run1 = jax.jit(one.apply)
    whole, _ = run1(p1, x)
    _, s1 = run1(p1, x[:3])
    close(whole["v"][3:6], run1(p1, x[3:6], s1)[0]["v"])
    with pytest.raises(ValueError, match="kernel_sizes"):
        TCN(HH_SPEC, n_layers=2, kernel_sizes=(3, 3, 3))


def test_tcn_widens_to_the_same_function_and_trains_the_new_channels():
    sur, params, x, run = case("tcn")
    wide, wparams = sur.widen(params, (12, 10), jax.random.key(3))
    assert wide.channels == (12, 10) and wide.kernel_sizes == sur.kernel_sizes
    assert wide.dilations == sur.dilations and wide.scaling == sur.scaling
    close(run(params, x)[0], jax.jit(wide.apply)(wparams, x)[0], rtol=1e-6, atol=1e-5)

    def loss(p):
        return jnp.mean(wide.apply(p, x)[0]["v"] ** 2)

    grads = jax.grad(loss)(wparams)  # the zero weights from new into old channels learn first
    g2 = np.asarray(grads["convs"][1]["kernel"][...])
    assert np.abs(g2[:, 8:, :8]).max() > 0
    with pytest.raises(ValueError, match="at least"):
        sur.widen(params, 4)


def test_scaling_maps_units():
    sur, params, x, run = case("tcn")
    a, _ = run(params, x)
    shifted = sur.with_scaling(Scaling.for_spec(HH_SPEC, output_offset={"v": -55.0}))
    b, _ = jax.jit(shifted.apply)(params, x)
    np.testing.assert_allclose(b["v"] - a["v"], 10.0, rtol=1e-5)
    scaled = sur.with_scaling(Scaling.for_spec(HH_SPEC, input_mean=[10.0], input_std=[2.0]))
    c, _ = jax.jit(scaled.apply)(params, 2.0 * x + 10.0)
    r = sur.receptive_field  # before that, the zero-input rest history differs in network units
    np.testing.assert_allclose(c["v"][r:], a["v"][r:], rtol=1e-5)
    fitted = Scaling.from_data(HH_SPEC, x[None], {"v": -65.0 + x[:, 0], "spikes": x[:, 0]})
    assert fitted.outputs == ("v",)
    np.testing.assert_allclose(fitted.input_mean[0], float(x.mean()), rtol=1e-5)
    np.testing.assert_allclose(fitted.output_offset[0], float(x.mean()) - 65.0, rtol=1e-5)
    with pytest.raises(ValueError, match="input_std"):
        Scaling.for_spec(HH_SPEC, input_std=[0.0])
    two_inputs = IOSpec(
        dt=1.0, inputs=(*HH_SPEC.inputs, Channel("g", "nS")), outputs=HH_SPEC.outputs
    )
    with pytest.raises(ValueError, match="spec"):
        TCN(HH_SPEC, scaling=Scaling.for_spec(two_inputs))


@pytest.mark.parametrize("name", NAMES)
def test_config_round_trips_through_json(name):
    sur = FAMILIES[name](HH_SPEC).with_scaling(
        Scaling.for_spec(HH_SPEC, input_mean=[10.0], input_std=[3.0])
    )
    config = json.loads(json.dumps(sur.config()))
    assert type(sur).from_config(HH_SPEC, config) == sur


def test_cnn_lstm_closed_loop_matches_teacher_forcing_on_its_own_trace():
    sur, params, x, run = case("cnn-lstm")
    closed, buf = run(params, x)
    forced, buf2 = jax.jit(sur.apply_teacher_forced)(params, x, closed["v"])
    close(closed, forced)
    close(buf, buf2)
    wins, _ = sur.windows(x, closed["v"])
    assert wins.shape == (T, sur.window, 2)
    close(jax.jit(sur.one_step)(params, wins[3:5]), jax.tree.map(lambda a: a[3:5], forced))
    rest = sur.init_state()
    assert rest.shape == (sur.window, 2) and (rest[:, 0] == sur.v_rest).all()
    with pytest.raises(ValueError, match="'v'"):
        CNNLSTM(IOSpec(dt=1.0, inputs=HH_SPEC.inputs, outputs=HH_SPEC.outputs[1:]))


def test_encoder_decoder_is_causal_with_documented_latency():
    sur, params, x, run = case("encoder-decoder")
    assert sur.latency == 0 and ConvEncoderDecoder(HH_SPEC, right_context=4).latency == 4
    base, _ = run(params, x)
    for k in (8, 9, 10, 11):  # every stride phase
        moved, _ = run(params, x + 5.0 * (np.arange(T)[:, None] == k))
        changed = np.nonzero(np.abs(np.asarray(moved["v"] - base["v"])) > 0)[0]
        assert changed.min() == k and changed.max() <= k + sur.receptive_field


def test_elm_memory_timescales():
    frozen = ELM(LIF_SPEC, n_memory=4)
    abstract = jax.eval_shape(frozen.init)
    assert "tau_raw" not in abstract  # frozen, log-spaced τ_m (the released configuration)
    tau = frozen.merge(abstract).tau_m()
    np.testing.assert_allclose(tau, np.logspace(0, np.log10(150.0), 4), rtol=1e-5)
    sur, params, *_ = case("elm")  # learnable τ_m, bounded by a scaled sigmoid
    tau = sur.merge(params).tau_m()
    assert (tau > 1.0).all() and (tau < 150.0).all()


def test_elm_rest_state_is_its_state_under_no_input():
    """With ``rest_ms`` the ELM starts where no input leaves it (traces at their x = 0 fixed
    point, memory run on), not at zero state (which stands for mean input)."""
    sur, params = jn.load("hh-elm")
    assert sur.rest_ms > 0
    zero = ELM.from_config(sur.spec, {**sur.config(), "rest_ms": 0.0})
    rest = sur.init_state(params)
    assert all(np.all(np.asarray(v) == 0) for v in zero.init_state(params).values())
    assert np.abs(np.asarray(rest["s"])).max() > 0.1  # inputs normalised: zero input ≠ zero trace
    _, after = sur.apply(params, jnp.zeros((300, sur.spec.n_inputs)))  # from rest, no input
    np.testing.assert_allclose(after["s"], rest["s"], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(after["m"], rest["m"], atol=5e-3)  # rest_ms covers ~7 slowest τ_m
    x = jnp.ones((50, sur.spec.n_inputs))
    np.testing.assert_array_equal(sur.apply(params, x)[0]["v"], sur.apply(params, x, rest)[0]["v"])
    assert sur.init_state() is not None and zero.rest_ms == 0.0  # without params: zero state
    with pytest.raises(ValueError, match="rest_ms"):
        ELM(HH_SPEC, rest_ms=-1.0)


def test_elm_follows_its_equations():
    """The fast path (one input projection, hidden-sized carry) = eqs 1–4 stepped literally, in
    float64 numpy, on the shipped l5pc-nmda weights; the returned traces and memory too."""
    sur, params = jn.load("l5pc-nmda")
    x = np.random.default_rng(0).poisson(0.05, (300, sur.spec.n_inputs)).astype(np.float64)
    p64 = jax.tree.map(lambda a: np.asarray(a, np.float64), params)
    with jax.enable_x64(True):
        out, state = sur.apply(p64, x)
        net = sur.merge(p64)
        k_m = np.exp(-sur.spec.dt / np.asarray(net.tau_m()))
    k_s = np.exp(-sur.spec.dt / sur.tau_s)
    w_s = np.maximum(p64["w_syn"], 0.0)
    w1, b1 = p64["mlp_in"]["kernel"], p64["mlp_in"]["bias"]
    w2, b2 = p64["mlp_out"]["kernel"], p64["mlp_out"]["bias"]
    xn = (x - np.asarray(sur.scaling.input_mean)) / np.asarray(sur.scaling.input_std)
    s, m, v = np.zeros(sur.spec.n_inputs), np.zeros(sur.n_memory), []
    for row in xn:
        s = k_s * s + w_s * row
        md = k_m * m
        z = np.concatenate([s, md]) @ w1 + b1
        h = z / (1 + np.exp(-z))  # SiLU
        m = md + sur.lam * (1 - k_m) * 1.7159 * np.tanh(2 / 3 * (h @ w2 + b2))
        v.append((m @ p64["readout"]["kernel"] + p64["readout"]["bias"])[1])
    v = sur.scaling.to_units("v", np.array(v))
    np.testing.assert_allclose(out["v"], v, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(state["s"], s, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(state["m"], m, rtol=1e-9, atol=1e-12)
    # values are checked on the input projection: inf on a ReLU-silenced synapse still raises
    silenced = jax.tree.map(np.array, params)
    silenced["w_syn"][3] = -1.0
    x[5, 3] = np.inf
    with pytest.raises(Exception, match="NaN or inf"):
        jax.block_until_ready(sur.apply(silenced, x.astype(np.float32)))


# --- MLP ----------------------------------------------------------------------------------------


def test_mlp_shapes_grads_and_scaling():
    mlp = MLP(hidden=(16, 16))
    params = mlp.init(jax.random.key(0))
    x = np.array([0.02, 0.03, 0.1, 0.1, 1.0, 1.5], np.float32)
    xs = np.stack([x, 2 * x])
    batch = jax.jit(jax.vmap(mlp.apply, (None, 0)))(params, xs)
    assert mlp.statistic_names == ("rate_E", "rate_I", "cv_E", "cv_I", "chi")
    assert set(batch) == set(mlp.statistic_names)
    assert all(v.shape == (2,) for v in batch.values())
    g_p, g_x = jax.jit(jax.grad(lambda p, x: mlp.apply(p, x)["rate_I"], argnums=(0, 1)))(params, x)
    assert all(np.isfinite(g).all() for g in jax.tree.leaves(g_p)) and np.isfinite(g_x).all()
    assert np.abs(g_x).sum() > 0
    hess = jax.jit(jax.hessian(lambda x: mlp.apply(params, x)["rate_E"]))(x)
    assert hess.shape == (6, 6) and np.isfinite(hess).all()
    y = np.array([5.0, 20.0, 0.9, 1.1, 0.1], np.float32)
    np.testing.assert_allclose(
        mlp.untransform_statistics(mlp.transform_statistics(y)), y, rtol=1e-5
    )
    rng = np.random.default_rng(2)
    xs = np.exp(rng.standard_normal((50, 6))).astype(np.float32)
    ys = (10 * np.abs(rng.standard_normal((50, 5)))).astype(np.float32)
    fitted = mlp.with_data_scaling(xs, ys)
    np.testing.assert_allclose(fitted.transform_features(xs).mean(0), 0.0, atol=1e-5)
    np.testing.assert_allclose(fitted.transform_statistics(ys).std(0), 1.0, rtol=1e-4)
    with pytest.raises(ValueError, match="shape"):
        mlp.apply(params, np.ones(5))
    with pytest.raises(Exception, match="positive"):
        jax.jit(mlp.apply)(params, -x)
