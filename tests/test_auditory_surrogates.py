"""The shipped CoNNear-style surrogates of the IHC and ANF stages (``scripts/auditory_surrogates.py``):
each loads, copies its teacher's spec, and on a fresh sound (never trained on) tracks its teacher
about as well as its model card says."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxneuro as jn
from jaxneuro._saving import read_card
from jaxneuro.models.auditory import Decimate, InnerHairCell, MiddleEar, TransmissionLineCochlea

NAMES = ("ihc-connear", "anf-h-connear", "anf-m-connear", "anf-l-connear")
SHIPPED = [n for n in NAMES if n in jn.pretrained()]
SECTIONS = (200, 400, 600)  # CFs ~6 kHz, ~2 kHz, ~0.6 kHz
TOLERANCE = 2.0  # a fresh sound at one level against the card's average over many: 2× its RMSE


@pytest.fixture(scope="module")
def periphery():
    """A fresh 0.3 s speech-like sound at 70 dB SPL (seed 11; the cards' banks used seeds 0 and
    1) through the analytical middle ear, cochlea and IHC: ``v_bm`` [m/s, 100 kHz], ``v_ihc``
    [mV, 20 kHz], each ``[3 CFs, T, 1]``."""
    dt = jn.stimuli.DT_100KHZ
    x = jn.stimuli.speech_like(jax.random.key(11), 300.0, dt, 70.0)
    me, tl = MiddleEar(), TransmissionLineCochlea(sections=SECTIONS)
    v_bm = tl.apply(tl.init(), me.apply(me.init(), x)[0]["pressure_me"])[0]["v_bm"]
    ihc, dec = InnerHairCell(n_channels=len(SECTIONS)), Decimate(width=len(SECTIONS))
    v_ihc = dec.apply(dec.init(), ihc.apply(ihc.init(), v_bm)[0]["v_ihc"])[0]["v_ihc"]
    return {"v_bm": jnp.moveaxis(v_bm, 1, 0)[..., None], "v_ihc": v_ihc.T[..., None]}


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_auditory_surrogate_tracks_its_teacher(name, periphery):
    card = read_card(name)
    surrogate, params = jn.load(name)
    teacher, teacher_params = jn.load_teacher(name)
    assert surrogate.spec == teacher.spec
    x = periphery[surrogate.spec.input_names[0]]
    out = surrogate.spec.outputs[0].name
    run = lambda m, p: jax.jit(jax.vmap(lambda u: m.apply(p, u)[0][out]))(x)  # noqa: E731
    pred, true = np.asarray(run(surrogate, params)), np.asarray(run(teacher, teacher_params))
    assert np.isfinite(pred).all()
    rmse = float(np.sqrt(np.mean((pred - true) ** 2)))
    shipped = card["fidelity"]["heldout"]["rmse"]
    assert rmse <= TOLERANCE * shipped, (name, rmse, shipped)


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_auditory_surrogate_streams(name, periphery):
    """Two calls with the state between them equal one call, split off the stride phase."""
    surrogate, params = jn.load(name)
    x = periphery[surrogate.spec.input_names[0]][0]
    out = surrogate.spec.outputs[0].name
    whole = surrogate.apply(params, x)[0][out]
    k = x.shape[0] // 3 + 7  # any split: the state carries the stream phase
    a, state = surrogate.apply(params, x[:k])
    b, _ = surrogate.apply(params, x[k:], state)
    joined = np.concatenate([np.asarray(a[out]), np.asarray(b[out])])
    np.testing.assert_allclose(joined, np.asarray(whole), rtol=1e-4, atol=1e-3)
