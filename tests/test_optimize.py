"""jaxneuro.optimize: stimulus design and parameter fitting through any Simulator."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxneuro as jn
from jaxneuro import optimize as jo
from jaxneuro._simulator import Channel, IOSpec, Simulator, check_inputs


class LinearFilter(Simulator):
    """A stand-in learned model: ``v[t] = decay·v[t−1] + gain·x[t]`` (mV) and a per-sample spike
    probability ``sigmoid((v − theta)/width)``, as a surrogate reports it."""

    dt: float = eqx.field(static=True, default=0.5)
    n_in: int = eqx.field(static=True, default=1)

    @property
    def spec(self):
        inputs = tuple(Channel(f"u{i}", "nA") for i in range(self.n_in))
        outputs = (Channel("v", "mV"), Channel("spikes", "probability"))
        return IOSpec(dt=self.dt, inputs=inputs, outputs=outputs)

    def init(self, key=None):
        return {
            "decay": jnp.asarray(0.9),
            "gain": jnp.ones(self.n_in),
            "theta": jnp.asarray(2.0),
            "width": jnp.asarray(0.1),
        }

    def init_state(self, params):
        return jnp.zeros(())

    def apply(self, params, inputs, state=None):
        x = check_inputs(self.spec, inputs)
        v0 = self.init_state(params) if state is None else state

        def step(v, row):
            v = params["decay"] * v + row @ params["gain"]
            return v, v

        v1, v = jax.lax.scan(step, v0, x)
        return {"v": v, "spikes": jax.nn.sigmoid((v - params["theta"]) / params["width"])}, v1


def spike_times(spikes, dt):
    return np.nonzero(np.asarray(spikes) > 0.5)[0] * dt


# --- loss building blocks ------------------------------------------------------------------------


def test_filter_spikes_is_an_exponential_trace():
    s = jnp.zeros(50).at[10].set(1.0).at[30].set(2.0)
    f = jo.filter_spikes(s, dt=0.5, tau=4.0)
    t = np.arange(50)
    a = np.exp(-0.5 / 4.0)
    expect = (t >= 10) * a ** (t - 10) + 2 * (t >= 30) * a ** np.maximum(t - 30, 0)
    np.testing.assert_allclose(f, expect, rtol=1e-5, atol=1e-7)
    assert jo.filter_spikes(jnp.zeros((20, 3)), 0.1).shape == (20, 3)


def test_van_rossum_distance_normalisation():
    dt, tau, T = 0.1, 10.0, 3000
    one = jnp.zeros(T).at[100].set(1.0)
    assert float(jo.spike_train_loss(one, one, dt, tau)) == 0.0
    # One unmatched spike: (1/τ) ∫ e^{−2t/τ} dt = ½ (plus O(dt/τ) discretisation).
    lone = float(jo.spike_train_loss(one, jnp.zeros(T), dt, tau))
    assert abs(lone - 0.5) < 0.01
    shifted = float(jo.spike_train_loss(one, jnp.roll(one, 5), dt, tau))
    assert 0 < shifted < 0.1 * lone  # 0.5 ms displacement: D² ≈ δ/τ = 0.05
    # Differentiable, and trailing axes are averaged.
    g = jax.grad(lambda s: jo.spike_train_loss(s, one, dt, tau))(jnp.zeros(T))
    assert g[100] < 0 and np.isfinite(g).all()
    both = jo.spike_train_loss(jnp.stack([one, one], 1), jnp.zeros((T, 2)), dt, tau)
    assert np.isclose(float(both), lone)


def test_count_and_voltage_losses():
    s = jnp.zeros((100, 2)).at[10, 0].set(1.0).at[20, 0].set(1.0)
    assert float(jo.spike_count_loss(s, 2.0)) == pytest.approx(2.0)  # (0 + 4) / 2
    assert float(jo.spike_count_loss(s, jnp.array([2.0, 0.0]))) == 0.0
    assert float(jo.spike_count_loss(s, s)) == 0.0  # a train as the target
    v = jnp.array([-70.0, -60.0, 30.0])
    w = jnp.array([-70.0, -62.0, -10.0])
    assert float(jo.voltage_loss(v, w)) == pytest.approx((4 + 1600) / 3)
    assert float(jo.voltage_loss(v, w, clip_mv=-40.0)) == pytest.approx(4 / 3)


def test_loss_arguments_are_checked():
    with pytest.raises(ValueError, match="shapes differ"):
        jo.spike_train_loss(jnp.zeros(10), jnp.zeros(11), 0.1)
    with pytest.raises(ValueError, match="tau"):
        jo.spike_train_loss(jnp.zeros(10), jnp.zeros(10), 0.1, tau=0.0)
    with pytest.raises(ValueError, match="dt"):
        jo.filter_spikes(jnp.zeros(10), dt=-1.0)
    with pytest.raises(ValueError, match="neither"):
        jo.spike_count_loss(jnp.zeros((10, 3)), jnp.zeros(4))
    with pytest.raises(ValueError, match="Penalties.energy"):
        jo.Penalties(energy=-1.0)


# --- (a) stimulus design on an analytical model --------------------------------------------------


@pytest.fixture(scope="module")
def lif_target():
    sim = jn.models.LIF()
    params = sim.init()
    t = np.arange(1000) * sim.spec.dt  # 100 ms
    true = jnp.asarray(2.0 + 0.8 * np.sin(2 * np.pi * t / 30), jnp.float32)[:, None]
    return sim, params, sim.apply(params, true)[0]["spikes"]


def test_stimulus_evokes_target_spike_train(lif_target):
    """A constant 1.9 nA becomes a waveform that reproduces the train a hidden current evoked."""
    sim, params, target = lif_target
    dt = sim.spec.dt

    def loss(out, x):
        return jo.spike_train_loss(out["spikes"], target, dt, tau=20.0)

    res = jo.stimulus(sim, params, jnp.full((1000, 1), 1.9), loss, steps=300)
    assert res.x.shape == (1000, 1) and res.loss_history.shape == (301,)
    assert res.steps == 300 and 0 <= res.best_step <= 300
    assert float(res.loss) == pytest.approx(float(res.loss_history[res.best_step]), abs=1e-6)
    assert float(res.loss) < 0.1 * float(res.loss_history[0])
    want, got = spike_times(target, dt), spike_times(res.outputs["spikes"], dt)
    hit = [np.any(np.abs(got - s) <= 2.0) for s in want]
    assert len(want) >= 5 and np.mean(hit) >= 0.8, (want, got)
    assert abs(len(got) - len(want)) <= 1
    # The result is consistent: its outputs are the simulator's at (params, x).
    np.testing.assert_array_equal(sim.apply(params, res.x)[0]["spikes"], res.outputs["spikes"])


# --- (b) bounds and penalties --------------------------------------------------------------------


def test_bounds_are_respected_exactly(lif_target):
    """Ask for far more spikes than the box allows: the current presses against its bounds."""
    sim, params, _ = lif_target
    lo, hi = 0.3, 2.3  # neither is a float32 number: the box is rounded inwards
    x0 = jnp.asarray(np.random.default_rng(0).uniform(-1, 4, (500, 1)), jnp.float32)

    def loss(out, x):
        return jo.spike_count_loss(out["spikes"], 40.0)

    res = jo.stimulus(sim, params, x0, loss, steps=60, bounds=(lo, hi), keep="last")
    x = np.asarray(res.x, np.float64)
    assert x.min() >= lo and x.max() <= hi
    assert np.mean(np.abs(x - hi) < 1e-6) > 0.5  # mostly pinned at the upper bound
    assert float(res.loss) < float(res.loss_history[0])


@pytest.fixture(scope="module")
def penalty_design():
    """A linear filter driven to hold v = 3 mV from a noisy start; ``design(penalties)``."""
    sim = LinearFilter()
    target = jnp.full(200, 3.0)
    x0 = jnp.asarray(np.random.default_rng(1).normal(0.3, 0.3, (200, 1)), jnp.float32)

    def loss(out, x):
        return jo.voltage_loss(out["v"], target)

    def design(penalties):
        kw = dict(steps=150, learning_rate=0.02, penalties=penalties)
        return np.asarray(jo.stimulus(sim, sim.init(), x0, loss, **kw).x)

    return design, design(None)


@pytest.mark.parametrize(
    "penalty, weight, measure",
    [
        ("energy", 50.0, lambda x: np.sum(x**2)),
        ("amplitude", 30.0, lambda x: np.sum(np.abs(x))),
        ("smoothness", 50.0, lambda x: np.sum(np.diff(x, axis=0) ** 2)),
    ],
)
def test_penalties_move_the_solution_the_expected_way(penalty_design, penalty, weight, measure):
    design, free = penalty_design
    held = design(jo.Penalties(**{penalty: weight}))
    assert measure(held) < 0.8 * measure(free), (measure(held), measure(free))


# --- (c) parameter fitting -----------------------------------------------------------------------


def test_parameter_fit_recovers_lif_membrane():
    """τ_m (+40 %) and R_m (−25 %) recovered from a subthreshold voltage trace, in log space."""
    sim = jn.models.LIF()
    truth = sim.init()
    t = np.arange(600) * sim.spec.dt
    i_ext = np.where((t > 5) & (t < 35), 1.0, 0.0) + np.where(t > 40, 0.5, 0.0)
    x = jnp.asarray(i_ext[:, None], jnp.float32)
    v_rec = sim.apply(truth, x)[0]["v"]
    start = dict(truth, tau_m=truth["tau_m"] * 1.4, r_m=truth["r_m"] * 0.75)

    def loss(out, params):
        return jo.voltage_loss(out["v"], v_rec)

    res = jo.parameters(sim, start, x, loss, trainable=["tau_m", "r_m"], steps=200)
    assert float(res.params["tau_m"]) == pytest.approx(10.0, rel=0.02)
    assert float(res.params["r_m"]) == pytest.approx(10.0, rel=0.02)
    for k in ("e_l", "v_th", "t_ref"):  # not trainable: untouched
        assert float(res.params[k]) == float(start[k])
    assert float(res.loss) < 1e-3 * float(res.loss_history[0])


def test_parameter_bounds_transforms_batches_and_lbfgs():
    sim = LinearFilter()
    truth = sim.init()
    rng = np.random.default_rng(2)
    x = jnp.asarray(rng.normal(0, 1, (3, 120, 1)), jnp.float32)  # three recordings
    v_rec = jax.vmap(lambda xi: sim.apply(truth, xi)[0]["v"])(x)
    start = dict(truth, decay=jnp.asarray(0.7), gain=jnp.asarray([1.5]))

    def loss(out, params):
        assert out["v"].shape == (3, 120)
        return jo.voltage_loss(out["v"], v_rec)

    fit = jo.parameters(
        sim, start, x, loss, trainable=["decay", "gain"], steps=300, learning_rate=0.05
    )
    assert float(fit.params["decay"]) == pytest.approx(0.9, rel=0.01)
    assert float(fit.params["gain"][0]) == pytest.approx(1.0, rel=0.01)
    # A pytree of bools selects; transform=None optimises linearly; L-BFGS gets the objective
    # it needs; the truth lies outside the box, so the fit stops exactly on the bound.
    mask = {"decay": True, "gain": False, "theta": False, "width": False}
    kw = dict(trainable=mask, transform=None, bounds={"decay": (0.5, 0.8)}, steps=20)
    boxed = jo.parameters(sim, start, x, loss, optimizer=optax.lbfgs(), **kw)
    decay = float(boxed.params["decay"])
    assert decay <= 0.8 and decay == pytest.approx(0.8, abs=1e-6)
    assert float(boxed.loss) < 0.7 * float(boxed.loss_history[0])
    assert float(boxed.params["gain"][0]) == 1.5


# --- (d) the same call on a learned (non-analytical) simulator -----------------------------------


def test_same_stimulus_call_on_a_learned_simulator():
    """Spike probabilities instead of counts; a second input column held fixed by ``channels``."""
    sim = LinearFilter(n_in=2)
    params = sim.init()
    dt = sim.spec.dt
    T = 200
    true = np.zeros((T, 2), np.float32)
    true[:, 0] = 0.25 + 0.25 * np.sin(2 * np.pi * np.arange(T) / 50)
    target = (sim.apply(params, true)[0]["spikes"] > 0.5).astype(jnp.float32)
    drive = np.random.default_rng(3).normal(0, 0.05, T).astype(np.float32)
    x0 = np.stack([np.full(T, 0.1, np.float32), drive], 1)

    def loss(out, x):
        return jo.spike_train_loss(out["spikes"], target, dt, tau=5.0)

    res = jo.stimulus(sim, params, x0, loss, steps=200, channels=["u0"], bounds=(-1.0, 1.0))
    np.testing.assert_array_equal(res.x[:, 1], drive)  # held fixed, bit for bit
    assert float(res.loss) < 0.1 * float(res.loss_history[0])
    assert 0.0 <= float(res.outputs["spikes"].min()) <= float(res.outputs["spikes"].max()) <= 1.0


def test_compiled_once_callbacks_progress_and_early_stop():
    sim = LinearFilter()
    params = sim.init()
    traces = []

    def loss(out, x):
        traces.append(1)  # runs once per trace, never per step
        return jnp.mean((out["v"] - 1.0) ** 2)

    x0 = jnp.zeros(100)  # [T] is fine for a one-input simulator; x keeps its shape
    seen = []
    res = jo.stimulus(sim, params, x0, loss, steps=20, chunk=5, callback=seen.append)
    n_traces = len(traces)
    assert res.x.shape == (100,) and res.loss_history.shape == (21,)
    assert [p.step for p in seen] == [5, 10, 15, 20] and seen[0].value.shape == (100,)
    traces.clear()
    stop = jo.stimulus(
        sim, params, x0, loss, steps=80, chunk=5, progress=True, callback=lambda p: p.step >= 40
    )
    assert len(traces) == n_traces  # 9 calls of the chunk, the same compilations as 4 calls
    assert stop.stopped_early and stop.steps == 40 and stop.loss_history.shape == (41,)
    assert float(stop.loss) <= float(stop.loss_history[0])


def test_non_finite_objective_is_an_error():
    sim = LinearFilter()

    def loss(out, x):
        return jnp.log(jnp.mean(out["v"]))  # NaN once a big step drives v negative

    with pytest.raises(FloatingPointError, match="not finite at step 1"):
        jo.stimulus(sim, sim.init(), jnp.full(50, 0.1), loss, steps=10, learning_rate=1.0)


# --- (e) bad arguments ---------------------------------------------------------------------------


def test_bad_arguments_raise_clear_errors():
    lif = jn.models.LIF()
    p = lif.init()

    def vloss(out, x):
        return jnp.mean(out["v"])

    x = jnp.zeros((100, 1))
    with pytest.raises(ValueError, match="channels"):
        jo.stimulus(lif, p, jnp.zeros((100, 2)), vloss)
    with pytest.raises(ValueError, match=r"shape \[T, 1\]"):
        jo.stimulus(lif, p, jnp.zeros((2, 100, 1)), vloss)
    for steps in (0, -3, 2.5):
        with pytest.raises(ValueError, match="steps"):
            jo.stimulus(lif, p, x, vloss, steps=steps)
    with pytest.raises(ValueError, match="lower bound exceeds upper"):
        jo.stimulus(lif, p, x, vloss, bounds=(1.0, 0.0))
    with pytest.raises(ValueError, match="does not broadcast"):
        jo.stimulus(lif, p, x, vloss, bounds=(jnp.zeros(3), 1.0))
    with pytest.raises(ValueError, match="no input channel 'i_syn'"):
        jo.stimulus(lif, p, x, vloss, channels=["i_syn"])
    with pytest.raises(ValueError, match="learning_rate"):
        jo.stimulus(lif, p, x, vloss, optimizer=optax.sgd(0.1), learning_rate=0.1)
    with pytest.raises(ValueError, match="keep"):
        jo.stimulus(lif, p, x, vloss, keep="first")

    sim = LinearFilter()
    with pytest.raises(ValueError, match="objective must be a real scalar"):
        jo.stimulus(sim, sim.init(), jnp.zeros(10), lambda out, x: out["v"])
    with pytest.raises(ValueError, match=r"unknown parameter\(s\) \['tau'\]"):
        jo.parameters(lif, p, x, vloss, trainable=["tau"])
    with pytest.raises(ValueError, match="unknown parameter"):
        jo.parameters(lif, p, x, vloss, trainable=["tau_m"], bounds={"tau": (1.0, 2.0)})
    with pytest.raises(ValueError, match="lower bound exceeds upper"):
        jo.parameters(lif, p, x, vloss, trainable=["tau_m"], bounds={"tau_m": (20.0, 2.0)})
    with pytest.raises(ValueError, match="broadcastable"):
        jo.parameters(lif, p, x, vloss, trainable=["tau_m"], bounds={"tau_m": ([1.0, 2.0], 30.0)})
    with pytest.raises(ValueError, match="needs a positive parameter"):
        jo.parameters(lif, p, x, vloss, trainable=["e_l"], transform={"e_l": "log"})
    with pytest.raises(ValueError, match="trainable"):
        jo.parameters(lif, p, x, vloss, trainable={"tau_m": True})  # not a prefix of params
    with pytest.raises(ValueError, match="steps"):
        jo.parameters(lif, p, x, vloss, steps=0)
