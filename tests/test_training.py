"""Fitting: a tiny fit learns, a killed fit resumes to the same result, bad files are refused."""

import signal
import subprocess
import sys
import textwrap

import jax
import numpy as np
import pytest

import jaxneuro as jn
from jaxneuro.surrogates import TCN
from jaxneuro.training import CheckpointError, FitConfig, LossMix, fit, load_tree, save_tree

TEACHER = jn.models.LIF(dt=1.0, solver_dt=0.1)
CONFIG = FitConfig(
    steps=60,
    eval_every=10,
    window=64,
    batch_size=8,
    val_windows=16,
    patience=100,
    learning_rate=1e-2,
)


def small_tcn():
    return TCN(TEACHER.spec, n_layers=2, channels=8, kernel_sizes=(16, 8))


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    path = tmp_path_factory.mktemp("data") / "lif.zarr"
    sampler = jn.data.OUCurrent(duration_ms=200.0, dt=1.0, mean=(1.0, 2.5), std=(0.5, 1.5), tau=5.0)
    return jn.data.generate(TEACHER, sampler, 24, path, chunk_size=12, progress=False)


def test_tiny_fit_reduces_validation_loss(dataset):
    result = fit(small_tcn(), dataset, CONFIG, progress=False)
    val = [r["val_loss"] for r in result.history]
    assert len(val) == 7 and min(val[1:]) < 0.85 * val[0], val  # val[0]: untrained
    assert result.best_step == result.history[int(np.argmin(val))]["step"]
    # the returned surrogate carries the training data's scaling and runs on raw units
    x = dataset.batch([0]).inputs[0]
    out, _ = result.surrogate.apply(result.params, x)
    assert out["v"].shape == (x.shape[0],) and float(out["spikes"].min()) >= 0


def test_fit_is_deterministic(dataset):
    a = fit(
        small_tcn(),
        dataset,
        CONFIG.__class__(**{**CONFIG.describe(), "steps": 20, "loss": CONFIG.loss}),
        progress=False,
    )
    b = fit(
        small_tcn(),
        dataset,
        CONFIG.__class__(**{**CONFIG.describe(), "steps": 20, "loss": CONFIG.loss}),
        progress=False,
    )
    for u, v in zip(jax.tree.leaves(a.params), jax.tree.leaves(b.params), strict=True):
        np.testing.assert_array_equal(np.asarray(u), np.asarray(v))


KILLED_FIT = textwrap.dedent(
    """
    import os, signal, sys
    import jaxneuro as jn
    from jaxneuro.surrogates import TCN
    from jaxneuro.training import FitConfig, _fit, fit

    write_log = _fit._write_log

    def write_log_then_die(path, history):  # SIGKILL once the step-20 checkpoint is down
        write_log(path, history)
        if len(history) == 3:
            os.kill(os.getpid(), signal.SIGKILL)

    _fit._write_log = write_log_then_die
    teacher = jn.models.LIF(dt=1.0, solver_dt=0.1)
    config = FitConfig(steps=60, eval_every=10, window=64, batch_size=8, val_windows=16,
                       patience=100, learning_rate=1e-2)
    fit(TCN(teacher.spec, n_layers=2, channels=8, kernel_sizes=(16, 8)), sys.argv[1], config,
        checkpoint_dir=sys.argv[2], progress=False)
    """
)


@pytest.mark.slow
def test_killed_fit_resumes_to_the_same_result(dataset, tmp_path):
    # The subprocess kills itself at a fixed point (polling from here raced a fast fit).
    ckpt = tmp_path / "ckpt"
    proc = subprocess.run(
        [sys.executable, "-c", KILLED_FIT, str(dataset.path), str(ckpt)], timeout=600
    )
    assert proc.returncode == -signal.SIGKILL
    log = ckpt / "metrics.jsonl"
    assert len(log.read_text().splitlines()) == 3  # steps 0, 10, 20

    resumed = fit(small_tcn(), dataset, CONFIG, checkpoint_dir=ckpt, progress=False)
    whole = fit(small_tcn(), dataset, CONFIG, progress=False)
    assert [r["step"] for r in resumed.history] == [0, 10, 20, 30, 40, 50, 60]
    assert resumed.history == whole.history
    for u, v in zip(jax.tree.leaves(resumed.params), jax.tree.leaves(whole.params), strict=True):
        np.testing.assert_array_equal(np.asarray(u), np.asarray(v))
    assert len(log.read_text().splitlines()) == 7  # no duplicated log lines


def test_corrupt_or_foreign_checkpoint_is_a_clear_error(tmp_path):
    params = small_tcn().init(jax.random.key(0))
    path = tmp_path / "w.safetensors"
    save_tree(path, params, {"note": "test"})
    restored, meta = load_tree(path, params)
    assert meta == {"note": "test"}
    path.write_bytes(path.read_bytes()[:100])  # truncated
    with pytest.raises(CheckpointError, match="corrupt or truncated"):
        load_tree(path, params)
    save_tree(path, params)
    other = TCN(TEACHER.spec, n_layers=1, channels=4, kernel_sizes=3).init(jax.random.key(0))
    with pytest.raises(CheckpointError, match="another model|shape"):
        load_tree(path, other)
    with pytest.raises(CheckpointError, match="no checkpoint"):
        load_tree(tmp_path / "missing.safetensors", params)


def test_fit_refuses_mismatched_surrogate_and_bad_config(dataset):
    other = TCN(jn.models.HodgkinHuxley(dt=1.0, solver_dt=0.025).spec)
    with pytest.raises(ValueError, match="spec"):
        fit(other, dataset, CONFIG, progress=False)
    with pytest.raises(ValueError, match="steps"):
        FitConfig(steps=0)
    with pytest.raises(ValueError, match="exceed"):
        fit(small_tcn(), dataset, CONFIG, window=10_000, progress=False)


VOLTAGE = (jn.Channel("v", "mV", jn.TRACE),)


def test_loss_terms_follow_channel_kinds_not_names():
    """A trace, a 2-wide rate and an events channel under unusual names: each gets its kind's
    term (hand-computed), a channel missing from the target is skipped."""
    channels = (
        jn.Channel("u", "mV", jn.TRACE),
        jn.Channel("r", "spikes/s", jn.RATE, 2),
        jn.Channel("ev", "count", jn.EVENTS),
    )
    pred = {
        "u": jax.numpy.array([1.0, 3.0]),
        "r": jax.numpy.array([[10.0, 20.0], [30.0, 40.0]]),
        "ev": jax.numpy.array([0.5, 0.5]),
        "ev_logits": jax.numpy.array([0.0, 0.0]),
    }
    target = {
        "u": jax.numpy.array([0.0, 0.0]),
        "r": jax.numpy.zeros((2, 2)),
        "ev": jax.numpy.array([0.0, 2.0]),
    }
    mix = LossMix(spike_bce=2.0, v_mse=3.0, rate_mse=0.5)
    expected = 2.0 * np.log(2.0) + 3.0 * (1 + 9) / 2 / 4 + 0.5 * (1 + 4 + 9 + 16) / 4
    np.testing.assert_allclose(
        mix(pred, target, channels, {"u": 2.0, "r": 10.0}), expected, rtol=1e-6
    )
    np.testing.assert_allclose(
        mix(pred, {"u": target["u"]}, channels, {"u": 2.0}), 3.0 * 10 / 2 / 4, rtol=1e-6
    )
    assert FitConfig(loss=mix).describe()["loss"]["rate_mse"] == 0.5
    assert "rate_mse" not in FitConfig().describe()["loss"]


def test_voltage_clip_pulls_a_prediction_above_it_down():
    """Beniaguev's clip is on the target: a prediction above the clip where the teacher is below
    it is still pulled down (clipping the prediction too leaves it there, with zero gradient)."""
    target = {"v": jax.numpy.array([-70.0, -60.0, 20.0])}  # the last sample: a spike

    def loss(v, **kwargs):
        mix = LossMix(spike_bce=0.0, v_mse=1.0, v_clip_mv=-55.0, **kwargs)
        return mix({"v": v}, target, VOLTAGE, {"v": 10.0})

    pred = jax.numpy.array([-40.0, -60.0, -55.0])
    grad = np.asarray(jax.grad(loss)(pred))
    # d/dv mean((v - min(t, -55)) / 10)^2 = 2 (v - t_clipped) / (3 * 100)
    np.testing.assert_allclose(grad, [2 * 30.0 / 300, 0.0, 0.0], atol=1e-7)
    np.testing.assert_allclose(loss(pred), 30.0**2 / 300, rtol=1e-6)
    grad_clipped = np.asarray(jax.grad(lambda v: loss(v, clip_prediction=True))(pred))
    np.testing.assert_array_equal(grad_clipped[0], 0.0)  # the trap the default avoids
    assert FitConfig(loss=LossMix(v_clip_mv=-55.0, clip_prediction=True)).describe()["loss"][
        "clip_prediction"
    ]
    assert "clip_prediction" not in FitConfig(loss=LossMix(v_clip_mv=-55.0)).describe()["loss"]


def test_huber_voltage_term_is_the_mse_inside_and_linear_beyond():
    """Hand-computed: errors of 1 mV and 30 mV with a 5 mV Huber threshold (scale 10 mV)."""
    target = {"v": jax.numpy.array([-65.0, -60.0])}
    pred = jax.numpy.array([-64.0, -30.0])
    mix = LossMix(spike_bce=0.0, v_mse=2.0, v_huber_mv=5.0)
    # scaled errors 0.1 and 3, delta 0.5: inside e^2, beyond 2 delta (|e| - delta / 2)
    loss = lambda v: mix({"v": v}, target, VOLTAGE, {"v": 10.0})  # noqa: E731
    np.testing.assert_allclose(loss(pred), (0.1**2 + 1.0 * 2.75), rtol=1e-6)
    grad = np.asarray(jax.grad(loss)(pred))
    # d/dv of 2 · mean(·) over 2 samples: 2 e / 10 inside, 2 delta / 10 beyond
    np.testing.assert_allclose(grad, [2 * 0.1 / 10, 2 * 0.5 / 10], rtol=1e-5)
    assert FitConfig(loss=mix).describe()["loss"]["v_huber_mv"] == 5.0
    assert "v_huber_mv" not in FitConfig().describe()["loss"]  # old fingerprints unchanged
    with pytest.raises(ValueError, match="v_huber_mv"):
        LossMix(v_huber_mv=0.0)
