"""Training autoregressive surrogates on their own feedback: CNNLSTM.apply_rollout and
FitConfig(rollout=..., feedback_noise_mv=...)."""

import dataclasses

import jax
import numpy as np
import pytest

import jaxneuro as jn
from jaxneuro.surrogates import CNNLSTM
from jaxneuro.training import FitConfig, fit

SPEC = jn.models.HodgkinHuxley(dt=1.0, solver_dt=0.025).spec
T = 24


def tiny(spec=SPEC):
    return CNNLSTM(spec, window=6, convs=(6, 6, 4), lstm=6, lstm_repeats=2, dense=(6,))


def close(a, b):
    for u, v in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True):
        np.testing.assert_allclose(np.asarray(u), np.asarray(v), rtol=1e-5, atol=1e-4)


def test_rollout_is_teacher_forced_then_closed_loop():
    sur = tiny()
    params = sur.init(jax.random.key(0))
    rng = np.random.default_rng(0)
    x = (10.0 + 3.0 * rng.standard_normal((T, 1))).astype(np.float32)
    v = (-65.0 + 5.0 * rng.standard_normal(T)).astype(np.float32)
    run = jax.jit(sur.apply_rollout, static_argnums=3)
    close(run(params, x, v, 0), sur.apply_teacher_forced(params, x, v))
    close(run(params, x, v, T), sur.apply(params, x))
    k = 10
    forced, buf = sur.apply_teacher_forced(params, x[: T - k], v[: T - k])
    closed, end = sur.apply(params, x[T - k :], buf)
    out, state = run(params, x, v, k)
    close(jax.tree.map(lambda a: a[: T - k], out), forced)
    close(jax.tree.map(lambda a: a[T - k :], out), closed)
    close(state, end)
    # the closed-loop part does not read the true voltage there
    v2 = v.copy()
    v2[T - k :] += 20.0
    close(run(params, x, v2, k)[0], out)
    with pytest.raises(ValueError, match="steps"):
        sur.apply_rollout(params, x, v, T + 1)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    teacher = jn.models.HodgkinHuxley.olah2022()
    sampler = jn.data.OlahSynaptic(duration_ms=120.0)
    path = tmp_path_factory.mktemp("data") / "hh.zarr"
    return jn.data.generate(teacher, sampler, 12, path, chunk_size=12, progress=False)


def test_fit_with_rollout_and_feedback_noise(dataset):
    base = dict(steps=6, eval_every=3, window=32, batch_size=4, val_windows=4, patience=10)
    config = FitConfig(**base, rollout=8, feedback_noise_mv=0.5)
    result = fit(tiny(dataset.spec), dataset, config, progress=False)
    assert len(result.history) == 3
    assert all(np.isfinite(r["val_loss"]) for r in result.history)
    assert config.describe()["rollout"] == 8
    # at their defaults the options stay out of describe(), so older checkpoints still resume
    assert "rollout" not in FitConfig(**base).describe()
    assert "feedback_noise_mv" not in FitConfig(**base).describe()
    for bad in (dict(rollout=33), dict(rollout=-1), dict(feedback_noise_mv=-1.0)):
        with pytest.raises(ValueError):
            FitConfig(**base, **bad)


def test_fit_starts_from_init_params(dataset):
    base = dict(steps=3, eval_every=3, window=32, batch_size=4, val_windows=4, patience=10)
    first = fit(tiny(dataset.spec), dataset, FitConfig(**base, seed=1), progress=False)
    again = fit(
        first.surrogate,
        dataset,
        FitConfig(**base, seed=1),
        progress=False,
        init_params=first.params,
        steps=3,
    )
    # the second fit's untrained baseline is the first fit's best validation loss
    best = min(r["val_loss"] for r in first.history)
    np.testing.assert_allclose(again.history[0]["val_loss"], best, rtol=1e-5)
    # the weights keep the scaling they were trained with, even where the data would give another
    scaling = first.surrogate.scaling
    other = dataclasses.replace(scaling, input_std=tuple(2.0 * s for s in scaling.input_std))
    tuned = fit(
        first.surrogate.with_scaling(other),
        dataset,
        FitConfig(**base, seed=1),
        progress=False,
        init_params=first.params,
    )
    assert tuned.surrogate.scaling == other
    fresh = fit(tiny(dataset.spec), dataset, FitConfig(**base), progress=False)
    assert fresh.surrogate.scaling == scaling  # without init_params: fitted to the data
