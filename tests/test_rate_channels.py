"""Protocol v2 end to end on a teacher with no voltage: a 16-wide rate output sampled every 5
input samples is simulated, generated into a dataset, fitted, evaluated, saved and loaded."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxneuro as jn
from jaxneuro import RATE, TRACE, Channel, IOSpec, Simulator
from jaxneuro.data import Sampler
from jaxneuro.surrogates import TCN

WIDTH, DECIMATION = 16, 5


class RateBank(Simulator):
    """Toy: a bank of ``WIDTH`` leaky integrators of a rectified drive, each read out as a
    sigmoidal rate (spikes/s), sampled every ``DECIMATION`` input samples."""

    dt: float = eqx.field(static=True, default=0.1)

    @property
    def spec(self) -> IOSpec:
        return IOSpec(
            dt=self.dt,
            inputs=(Channel("drive", "Pa", TRACE),),
            outputs=(Channel("rate", "spikes/s", RATE, WIDTH, "rate per filter"),),
            output_dt=DECIMATION * self.dt,
        )

    def init(self, key=None):
        return {"tau_ms": jnp.geomspace(0.5, 8.0, WIDTH), "gain": jnp.linspace(1.0, 4.0, WIDTH)}

    def init_state(self, params):
        return jnp.zeros(WIDTH, jnp.asarray(params["tau_ms"]).dtype)

    def apply(self, params, inputs, state=None):
        x = jn.check_inputs(self.spec, inputs)[:, 0]
        s0 = self.init_state(params) if state is None else state
        decay = jnp.exp(-self.dt / params["tau_ms"])

        def step(s, u):
            s = decay * s + (1 - decay) * jax.nn.relu(u)
            return s, s

        s, trace = jax.lax.scan(step, s0, x.astype(s0.dtype))
        rate = 200.0 * jax.nn.sigmoid(params["gain"] * trace[DECIMATION - 1 :: DECIMATION] - 2.0)
        return {"rate": rate}, s


class Tones(Sampler):
    """Sinusoids of random frequency and amplitude (Pa) with random onsets."""

    duration_ms: float = eqx.field(static=True, default=60.0)
    dt: float = eqx.field(static=True, default=0.1)

    @property
    def n_inputs(self) -> int:
        return 1

    def __call__(self, key):
        k1, k2, k3 = jax.random.split(key, 3)
        t = self.dt * jnp.arange(self.n_samples)
        freq = jax.random.uniform(k1, (), minval=0.02, maxval=0.3)  # kHz
        amp = jax.random.uniform(k2, (), minval=0.2, maxval=2.0)
        onset = jax.random.uniform(k3, (), minval=0.0, maxval=30.0)
        return (amp * jnp.sin(2 * jnp.pi * freq * t) * (t > onset))[:, None]

    def describe(self) -> dict:
        return {"class": "Tones", "duration_ms": self.duration_ms, "dt": self.dt}


@pytest.fixture(scope="module")
def registered():
    if "toy-rate-bank" not in jn.available():
        jn.register("toy-rate-bank", RateBank, "test: a bank of rate channels")
    return RateBank()


def test_rate_teacher_follows_the_protocol(registered):
    teacher = registered
    params = teacher.init()
    x = Tones()(jax.random.key(1))
    y, _ = teacher.apply(params, x)
    assert y["rate"].shape == (x.shape[0] // DECIMATION, WIDTH)
    k = 35 * DECIMATION
    a, s = teacher.apply(params, x[:k])
    b, _ = teacher.apply(params, x[k:], s)
    np.testing.assert_allclose(np.concatenate([a["rate"], b["rate"]]), y["rate"], rtol=1e-6)
    with pytest.raises(ValueError, match="multiple of 5"):
        teacher.apply(params, x[:7])


def test_rate_surrogate_fits_evaluates_saves_and_loads(registered, tmp_path):
    teacher = registered
    data = jn.data.generate(teacher, Tones(), 96, tmp_path / "data", chunk_size=32, progress=False)
    assert data.outputs["rate"].shape == (96, 120, WIDTH)
    surrogate = TCN(teacher.spec, n_layers=3, channels=16, kernel_sizes=8, dilations=(1, 2, 4))
    assert surrogate.n_heads == WIDTH
    untrained = surrogate.init()
    result = jn.fit(
        surrogate,
        data,
        steps=300,
        batch_size=16,
        window=200,
        eval_every=100,
        progress=False,
        learning_rate=3e-3,
    )
    assert result.history[-1]["val_loss"] < 0.3 * result.history[0]["val_loss"]

    stimuli = jax.vmap(Tones())(jax.random.split(jax.random.key(99), 8))
    before = jn.evaluate(surrogate, teacher, stimuli, params=untrained, gradient_cells=1)
    report = jn.evaluate(
        result.surrogate,
        teacher,
        stimuli,
        params=result.params,
        out=tmp_path / "eval",
        gradient_cells=2,
    )
    rate = report["channels"]["rate"]
    assert rate["kind"] == "rate" and rate["width"] == WIDTH
    assert rate["rmse"] < 0.5 * before["channels"]["rate"]["rmse"]
    assert "voltage" not in report and "spikes" not in report
    assert np.isfinite(report["gradient_cosine"]["mean"])
    assert (tmp_path / "eval" / "rate-map.png").stat().st_size > 1000

    folder = jn.save(tmp_path / "toy", result.surrogate, result.params, teacher="toy-rate-bank")
    loaded, params = jn.load(folder)
    assert loaded.spec == teacher.spec and loaded.spec.output_dt == DECIMATION * teacher.spec.dt
    same = loaded.apply(params, stimuli[0])[0]["rate"]
    np.testing.assert_allclose(same, result.surrogate.apply(result.params, stimuli[0])[0]["rate"])
