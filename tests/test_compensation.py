"""Hearing-loss compensation (issue 16, deliverable 7): the BandGains front end and the loop of
Drakopoulos & Verhulst (2023), on a cheap stand-in ear (the real periphery costs minutes per
gradient step; ``scripts/compensation.py`` runs it)."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.signal import firwin

from jaxneuro import Channel, IOSpec, Simulator
from jaxneuro.optimize import BandGains, compensate, response_error
from jaxneuro.stimuli import pure_tone


class ToyEar(Simulator):
    """Three fixed band-pass channels (500 Hz, 2 kHz, 6 kHz), a per-channel gain (the
    'outer hair cells'), a saturating rate ``300 y²/(y² + 0.02²)`` and decimation by 5 (a 1 ms
    moving average then every 5th sample): pressure [Pa] at 100 kHz → rate at 20 kHz."""

    gain: tuple[float, ...] = eqx.field(static=True)

    @property
    def spec(self):
        return IOSpec(
            0.01,
            (Channel("pressure", "Pa"),),
            (Channel("rate", "spikes/s", "rate", width=3),),
            output_dt=0.05,
        )

    def init(self, key=None):
        bands = [(300.0, 800.0), (1400.0, 2800.0), (4500.0, 8000.0)]
        return {
            "taps": jnp.asarray(np.stack([firwin(201, b, pass_zero=False, fs=1e5) for b in bands]))
        }

    def init_state(self, params):
        return ()

    def apply(self, params, inputs, state=None):
        x = jnp.asarray(inputs)[:, 0]
        y = jnp.stack([jnp.convolve(x, h)[: x.shape[0]] for h in params["taps"]], axis=1)
        y = y * jnp.asarray(self.gain)
        r = 300.0 * y**2 / (y**2 + 0.02**2)
        k = jnp.ones(100) / 100
        r = jax.vmap(lambda c: jnp.convolve(c, k)[: x.shape[0]], in_axes=1, out_axes=1)(r)
        return {"rate": r[4::5]}, ()


def test_band_gains_at_0db_is_a_pure_delay():
    aid = BandGains()
    assert aid.n_bands == 10 and aid.latency == 1000  # 10 ms at 100 kHz
    assert aid.centres_hz[0] == pytest.approx(125.0, rel=0.01)
    x = pure_tone(60.0, 0.01, 1000.0, 70.0)
    y = aid(x)
    assert y.shape == x.shape
    d = aid.latency
    ripple = float(jnp.max(jnp.abs(y[d:] - x[:-d])) / jnp.max(jnp.abs(x)))
    f = np.geomspace(50.0, 20000.0, 200)
    mag = np.asarray(aid.frequency_response_db(f))
    # measured: 4.6e-7 of the peak in the time domain, 4e-6 dB in magnitude (float32 rounding)
    print(f"BandGains at 0 dB: ripple {ripple:.1e} (time), {np.abs(mag).max():.1e} dB")
    assert ripple < 1e-5
    assert np.abs(mag).max() < 1e-3


def test_band_gains_shape_the_spectrum():
    aid = BandGains(gains_db=[0, 0, 0, 0, 0, 0, 20, 20, 20, 20])
    mag = np.asarray(aid.frequency_response_db([250.0, 500.0, 4000.0, 8000.0]))
    np.testing.assert_allclose(mag, [0.0, 0.0, 20.0, 20.0], atol=0.2)
    clipped = BandGains(gains_db=np.full(10, 99.0)).project()
    assert float(clipped.gains_db.max()) == 60.0


def test_gains_are_differentiable():
    aid = BandGains(crossovers_hz=(1000.0, 4000.0), n_taps=201, gains_db=[1.0, -2.0, 3.0])
    x = pure_tone(10.0, 0.01, 2000.0, 70.0) + pure_tone(10.0, 0.01, 500.0, 60.0)

    def energy(g):
        return jnp.sum(eqx.tree_at(lambda m: m.gains_db, aid, g)(x) ** 2)

    g0 = aid.gains_db
    grad = jax.grad(energy)(g0)
    eps = 1e-3
    fd = [(energy(g0.at[i].add(eps)) - energy(g0.at[i].add(-eps))) / (2 * eps) for i in range(3)]
    np.testing.assert_allclose(grad, fd, rtol=1e-2, atol=1e-3 * float(jnp.abs(grad).max()))
    assert float(grad[0]) > 0 and float(grad[1]) > 0  # both tones gain energy with their bands


def test_optimisation_reduces_the_error_on_a_toy_ear():
    normal, impaired = ToyEar(gain=(1.0, 1.0, 1.0)), ToyEar(gain=(1.0, 0.5, 0.15))
    aid = BandGains(crossovers_hz=(1000.0, 4000.0), n_taps=201)
    sounds = [
        pure_tone(20.0, 0.01, 500.0, 60.0) + pure_tone(20.0, 0.01, 6000.0, 55.0),
        pure_tone(20.0, 0.01, 2000.0, 60.0) + pure_tone(20.0, 0.01, 5000.0, 60.0),
    ]
    result = compensate(
        normal,
        impaired,
        aid,
        sounds,
        steps=20,
        readout_normal=lambda o: o["rate"],
        readout_impaired=lambda o: o["rate"],
        learning_rate=1.5,
    )
    assert result.history.shape == (21,)
    assert result.error < 0.3 * result.initial_error
    g = np.asarray(result.front_end.gains_db)
    assert g[2] > g[1] > 2.0  # more gain where more is lost (6, 3 … 16 dB in the toy ear)
    # held out: a tone the loop never heard
    held = pure_tone(20.0, 0.01, 2500.0, 58.0) + pure_tone(20.0, 0.01, 7000.0, 52.0)
    run = lambda m, x: m.apply(m.init(), x)[0]["rate"]  # noqa: E731
    nh, hi = run(normal, held), run(impaired, held)
    d = result.front_end.latency
    x = jnp.concatenate([held, jnp.zeros((d, 1))])
    aided = run(impaired, result.front_end(x))[d // 5 :]
    assert float(response_error(nh, aided)) < 0.5 * float(response_error(nh, hi))


def test_bad_inputs_raise_clear_errors():
    with pytest.raises(ValueError, match="odd"):
        BandGains(n_taps=200)
    with pytest.raises(ValueError, match="increase"):
        BandGains(crossovers_hz=(1000.0, 500.0))
    with pytest.raises(ValueError, match="Nyquist"):
        BandGains(crossovers_hz=(1000.0, 60000.0))
    with pytest.raises(ValueError, match="shape"):
        BandGains(gains_db=[0.0, 1.0])
    with pytest.raises(ValueError, match="kind"):
        response_error(jnp.zeros(3), jnp.zeros(3), kind="rms")
    with pytest.raises(ValueError, match="shape"):
        response_error(jnp.zeros(3), jnp.zeros(4))
    ear = ToyEar(gain=(1.0, 1.0, 1.0))
    aid = BandGains(crossovers_hz=(1000.0,), n_taps=201)
    tone = pure_tone(5.0, 0.01, 1000.0, 60.0)
    with pytest.raises(ValueError, match="steps"):
        compensate(ear, ear, aid, [tone], steps=0)
    with pytest.raises(ValueError, match="non-empty"):
        compensate(ear, ear, aid, [], steps=1)
    with pytest.raises(TypeError, match="Simulator"):
        compensate(lambda p, x: x, ear, aid, [tone], steps=1)
    with pytest.raises(ValueError, match="kind"):
        compensate(ear, ear, aid, [tone], steps=1, kind="rms")
    with pytest.raises(ValueError, match="multiple of the impaired"):
        compensate(ear, ear, BandGains(crossovers_hz=(1000.0,), n_taps=203), [tone], steps=1)
