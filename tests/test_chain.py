"""Chain: stages in sequence are one Simulator (spec, params, state, streaming, jit, grad)."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxneuro as jn
from jaxneuro import RATE, TRACE, Channel, IOSpec, Simulator


class LowPass(Simulator):
    """Toy stage: ``width`` leaky integrators of the input (time constants ``tau_ms``), sampled
    every ``every`` input samples."""

    dt: float = eqx.field(static=True, default=0.1)
    width: int = eqx.field(static=True, default=3)
    every: int = eqx.field(static=True, default=2)

    @property
    def spec(self):
        return IOSpec(
            self.dt,
            (Channel("p", "Pa"),),
            (Channel("drive", "mV", TRACE, self.width),),
            output_dt=self.every * self.dt,
        )

    def init(self, key=None):
        return {"tau_ms": jnp.geomspace(0.5, 4.0, self.width)}

    def init_state(self, params):
        return jnp.zeros(self.width)

    def apply(self, params, inputs, state=None):
        x = jn.check_inputs(self.spec, inputs)[:, 0]
        a = jnp.exp(-self.dt / params["tau_ms"])
        s0 = self.init_state(params) if state is None else state
        s, ys = jax.lax.scan(lambda s, u: (a * s + (1 - a) * u,) * 2, s0, x)
        return {"drive": ys[self.every - 1 :: self.every]}, s


class Rate(Simulator):
    """Toy stage: a memoryless sigmoidal rate of a 3-wide drive, every 3 samples."""

    @property
    def spec(self):
        return IOSpec(
            0.2,
            (Channel("drive", "mV", TRACE, 3),),
            (Channel("rate", "spikes/s", RATE, 3),),
            output_dt=0.6,
        )

    def init(self, key=None):
        return {"gain": jnp.array(2.0)}

    def init_state(self, params):
        return jnp.zeros(())

    def apply(self, params, inputs, state=None):
        x = jn.check_inputs(self.spec, inputs)
        return {"rate": 100 * jax.nn.sigmoid(params["gain"] * x[2::3])}, jnp.zeros(())


def test_a_chain_equals_its_stages_by_hand_and_streams():
    chain = jn.Chain([LowPass(), Rate()])
    assert chain.spec.dt == 0.1 and chain.spec.output_dt == pytest.approx(0.6)
    assert chain.spec.decimation == 6 and chain.spec.output_names == ("rate",)
    params = chain.init()
    x = jnp.sin(jnp.arange(120) * 0.3)[:, None]
    out, state = jax.jit(chain.apply)(params, x)
    mid, _ = LowPass().apply(params[0], x)
    by_hand, _ = Rate().apply(params[1], mid["drive"])
    np.testing.assert_allclose(out["rate"], by_hand["rate"], rtol=1e-6)
    assert out["rate"].shape == (20, 3)
    a, s = chain.apply(params, x[:60])
    b, _ = chain.apply(params, x[60:], s)
    np.testing.assert_allclose(np.concatenate([a["rate"], b["rate"]]), out["rate"], rtol=1e-6)
    grad = jax.grad(lambda p: chain.apply(p, x)[0]["rate"].mean())(params)
    assert np.isfinite(grad[0]["tau_ms"]).all() and float(grad[1]["gain"]) != 0.0


def test_mismatched_stages_are_refused():
    with pytest.raises(ValueError, match="every 0.2 ms"):
        jn.Chain([LowPass(every=1), Rate()])
    with pytest.raises(ValueError, match="drive"):
        jn.Chain([LowPass(width=4), Rate()])
    with pytest.raises(ValueError, match="needs input 'p'"):
        jn.Chain([Rate(), LowPass(dt=0.6)])
    with pytest.raises(ValueError, match="tuple of 2"):
        jn.Chain([LowPass(), Rate()]).apply({}, jnp.zeros((12, 1)))
    with pytest.raises(ValueError, match="multiple of 6"):
        chain = jn.Chain([LowPass(), Rate()])
        chain.apply(chain.init(), jnp.zeros((13, 1)))
