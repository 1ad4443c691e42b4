"""Tests for jaxneuro.stimuli: exact waveforms, noise statistics against theory, errors."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxneuro import stimuli

# Statistical checks allow Z standard errors: a false failure has probability < 1e-6 per check.
Z = 5.0
KEY = jax.random.key(0)


# --------------------------------------------------------------------------- deterministic


def test_step_exact():
    x = stimuli.step(10.0, 1.0, 2.0, onset=2.0, offset=5.0, baseline=-1.0)
    np.testing.assert_array_equal(x, [-1, -1, 2, 2, 2, -1, -1, -1, -1, -1])
    np.testing.assert_array_equal(stimuli.step(4.0, 1.0, 3.0), [3, 3, 3, 3])
    np.testing.assert_array_equal(stimuli.step(4.0, 1.0, 3.0, onset=4.0), [0, 0, 0, 0])
    np.testing.assert_array_equal(stimuli.step(4.0, 1.0, 3.0, onset=1.0, offset=1.0), [0] * 4)


def test_step_robust_to_float_times():
    # 0.3 / 0.1 = 2.9999999999999996 and 0.7 / 0.1 = 6.999999999999999 in float64.
    x = stimuli.step(1.0, 0.1, 1.0, onset=0.3, offset=0.7)
    assert x.shape == (10,)
    np.testing.assert_array_equal(x, [0, 0, 0, 1, 1, 1, 1, 0, 0, 0])
    assert stimuli.step(100.0, 0.025, 1.0).shape == (4000,)


def test_ramp_exact():
    x = stimuli.ramp(10.0, 1.0, 0.0, 1.0, onset=2.0, offset=6.0, baseline=-1.0)
    np.testing.assert_allclose(x, [-1, -1, 0, 0.25, 0.5, 0.75, -1, -1, -1, -1], atol=1e-7)
    np.testing.assert_allclose(stimuli.ramp(4.0, 1.0, 2.0, -2.0), [2, 1, 0, -1], atol=1e-7)


def test_sine_exact():
    x = stimuli.sine(4.0, 1.0, 2.0, 250.0, offset=1.0)  # quarter period per sample
    np.testing.assert_allclose(x, [1, 3, 1, -1], atol=1e-6)
    y = stimuli.sine(4.0, 1.0, 1.0, 250.0, phase=math.pi / 2)
    np.testing.assert_allclose(y, [1, 0, -1, 0], atol=1e-6)
    np.testing.assert_allclose(stimuli.sine(3.0, 1.0, 5.0, 0.0, offset=2.0), [2, 2, 2])


# Random generators compile once per output shape, so tests share a few shapes.
T_SMALL, DT_SMALL, N_SMALL = 1000, 0.1, 3  # 100 ms
T_LONG, N_LONG = 100_000, 4  # statistics


def test_shapes_and_dtype():
    d = T_SMALL * DT_SMALL
    ones = jnp.ones((T_SMALL, N_SMALL), dtype=int)  # int rates still give float counts
    signals = {
        (T_SMALL,): [
            stimuli.step(d, DT_SMALL, 1),  # int amplitude still gives a float signal
            stimuli.ramp(d, DT_SMALL, 0, 1),
            stimuli.sine(d, DT_SMALL, 1, 10),
            stimuli.ornstein_uhlenbeck(KEY, d, DT_SMALL, 0, 1, 5),
        ],
        (T_SMALL, N_SMALL): [
            stimuli.poisson(KEY, d, DT_SMALL, 20, n_channels=N_SMALL),
            stimuli.inhomogeneous_poisson(KEY, ones, DT_SMALL),
        ],
        (T_SMALL, 1 + N_SMALL): [stimuli.stack(jnp.arange(T_SMALL), ones)],
    }
    for shape, xs in signals.items():
        for x in xs:
            assert x.shape == shape
            assert x.dtype == jnp.float32


def test_float64_when_x64_enabled():
    with jax.enable_x64(True):
        assert stimuli.step(2.0, 1.0, 1.0).dtype == jnp.float64
        assert stimuli.ornstein_uhlenbeck(KEY, 2.0, 1.0, 0.0, 1.0, 1.0).dtype == jnp.float64
        assert stimuli.stack(jnp.ones(2, dtype=jnp.float32)).dtype == jnp.float64


def test_stack():
    d = T_SMALL * DT_SMALL
    a = stimuli.step(d, DT_SMALL, 1.0, onset=2.0)
    b = stimuli.poisson(KEY, d, DT_SMALL, 100.0, n_channels=N_SMALL)
    x = stimuli.stack(a, b, jnp.arange(T_SMALL))
    assert x.shape == (T_SMALL, N_SMALL + 2)
    np.testing.assert_array_equal(x[:, 0], a)
    np.testing.assert_array_equal(x[:, 1:-1], b)
    np.testing.assert_array_equal(x[:, -1], np.arange(T_SMALL))


def test_jit_and_grad_through_amplitudes():
    def loss(amp, freq):
        return jnp.sum(stimuli.step(10.0, 1.0, amp, onset=2.0)) + jnp.sum(
            stimuli.sine(10.0, 1.0, 1.0, freq)
        )

    g_amp, g_freq = jax.jit(jax.grad(loss, argnums=(0, 1)))(1.0, 10.0)
    assert g_amp == 8.0
    t = np.arange(10.0)
    expected = np.sum(np.cos(2 * np.pi * 10.0 * t / 1000) * 2 * np.pi * t / 1000)
    np.testing.assert_allclose(g_freq, expected, rtol=1e-5)
    np.testing.assert_array_equal(
        jax.jit(lambda a: stimuli.step(10.0, 1.0, a, onset=2.0))(3.0),
        stimuli.step(10.0, 1.0, 3.0, onset=2.0),
    )


# --------------------------------------------------------------------------- Ornstein–Uhlenbeck


def test_ou_stationary_statistics():
    mean, std, tau, dt, n = 1.5, 0.8, 3.0, 1.0, 200_000
    x = np.asarray(stimuli.ornstein_uhlenbeck(KEY, n * dt, dt, mean, std, tau), dtype=np.float64)
    a = math.exp(-dt / tau)
    # AR(1) standard errors: var(mean) = s²/n (1+a)/(1-a); var(s²) ≈ 2 s⁴/n (1+a²)/(1-a²);
    # var(lag-1 autocorrelation) ≈ (1 - a²)/n (Bartlett).
    se_mean = std * math.sqrt((1 + a) / (1 - a) / n)
    se_std = 0.5 * std * math.sqrt(2 * (1 + a**2) / (1 - a**2) / n)
    se_r1 = math.sqrt((1 - a**2) / n)
    xc = x - x.mean()
    r1 = np.dot(xc[:-1], xc[1:]) / np.dot(xc, xc)
    assert abs(x.mean() - mean) < Z * se_mean
    assert abs(x.std() - std) < Z * se_std
    assert abs(r1 - a) < Z * se_r1


def test_ou_stationary_initial_draw():
    n = 4000
    keys = jax.random.split(KEY, n)
    x0 = jax.vmap(lambda k: stimuli.ornstein_uhlenbeck(k, 2.0, 1.0, -2.0, 0.5, 4.0)[0])(keys)
    x0 = np.asarray(x0, dtype=np.float64)
    assert abs(x0.mean() + 2.0) < Z * 0.5 / math.sqrt(n)
    assert abs(x0.std() - 0.5) < Z * 0.5 / math.sqrt(2 * n)


def test_ou_deterministic_relaxation_from_x0():
    # std = 0: exact exponential relaxation x_k = mean + (x0 - mean) exp(-k dt / tau).
    x = stimuli.ornstein_uhlenbeck(KEY, 10.0, 0.5, 1.0, 0.0, 2.0, x0=3.0)
    k = np.arange(20)
    np.testing.assert_allclose(x, 1.0 + 2.0 * np.exp(-k * 0.5 / 2.0), rtol=1e-5)


def test_ou_gradient_wrt_std():
    # With mean = 0 the sample path is linear in std, so d(sum x)/d std = sum(x) / std.
    def total(std):
        return jnp.sum(stimuli.ornstein_uhlenbeck(KEY, 50.0, 1.0, 0.0, std, 5.0))

    g = jax.jit(jax.grad(total))(2.0)
    np.testing.assert_allclose(g, total(2.0) / 2.0, rtol=1e-4)


# --------------------------------------------------------------------------- Poisson


def test_poisson_mean_and_variance():
    rates = np.array([10.0, 50.0, 200.0, 0.0])
    dt, n = 0.5, T_LONG
    counts = np.asarray(stimuli.poisson(KEY, n * dt, dt, rates, n_channels=N_LONG), np.float64)
    assert counts.shape == (n, N_LONG)
    np.testing.assert_array_equal(counts, np.round(counts))
    assert np.all(counts >= 0)
    np.testing.assert_array_equal(counts[:, 3], 0.0)
    for lam, c in zip(rates[:3] * dt / 1000, counts[:, :3].T, strict=True):
        assert abs(c.mean() - lam) < Z * math.sqrt(lam / n)
        # Poisson: var(s²) ≈ (μ4 - σ⁴)/n = (λ + 2λ²)/n.
        assert abs(c.var() - lam) < Z * math.sqrt((lam + 2 * lam**2) / n)


def test_poisson_scalar_rate_shared_across_channels():
    counts = np.asarray(stimuli.poisson(KEY, T_LONG * 1.0, 1.0, 100.0, n_channels=N_LONG))
    lam, n = 0.1, counts.size
    assert abs(counts.mean() - lam) < Z * math.sqrt(lam / n)
    assert not np.array_equal(counts[:, 0], counts[:, 1])  # channels are independent draws


def test_inhomogeneous_poisson_follows_rate_profile():
    dt, n_blocks = 1.0, 10
    block = T_LONG // n_blocks
    levels = np.linspace(0.0, 300.0, n_blocks)  # Hz, a staircase
    rates = np.broadcast_to(np.repeat(levels, block)[:, None], (T_LONG, N_LONG))
    counts = np.asarray(stimuli.inhomogeneous_poisson(KEY, rates, dt), dtype=np.float64)
    np.testing.assert_array_equal(counts[:block], 0.0)  # zero rate: no spikes
    per_block = counts.reshape(n_blocks, block * N_LONG).mean(axis=1)
    lam = levels * dt / 1000
    assert np.all(np.abs(per_block - lam) <= Z * np.sqrt(lam / (block * N_LONG)))
    assert np.all(np.diff(per_block) > 0)


def test_inhomogeneous_poisson_negative_rate_under_jit():
    f = jax.jit(lambda r: stimuli.inhomogeneous_poisson(KEY, r, 1.0))
    assert f(jnp.ones(3)).shape == (3, 1)  # 1-D rates: one channel
    with pytest.raises(Exception, match="rates must be non-negative"):
        jax.block_until_ready(f(jnp.array([1.0, -1.0, 2.0])))


# --------------------------------------------------------------------------- determinism


@pytest.mark.parametrize(
    "make",
    [
        lambda k: stimuli.ornstein_uhlenbeck(k, T_SMALL * DT_SMALL, DT_SMALL, 0.0, 1.0, 5.0),
        lambda k: stimuli.poisson(k, T_SMALL * DT_SMALL, DT_SMALL, 500.0, n_channels=N_SMALL),
        lambda k: stimuli.inhomogeneous_poisson(k, jnp.full((T_SMALL, N_SMALL), 500.0), DT_SMALL),
    ],
    ids=["ou", "poisson", "inhomogeneous_poisson"],
)
def test_determinism(make):
    np.testing.assert_array_equal(make(jax.random.key(7)), make(jax.random.key(7)))
    assert not np.array_equal(make(jax.random.key(7)), make(jax.random.key(8)))


def test_legacy_uint32_keys():
    def ou(k):
        return stimuli.ornstein_uhlenbeck(k, 10.0, 1.0, 0.0, 1.0, 5.0)

    np.testing.assert_array_equal(ou(jax.random.PRNGKey(7)), ou(jax.random.PRNGKey(7)))
    assert not np.array_equal(ou(jax.random.PRNGKey(7)), ou(jax.random.PRNGKey(8)))


# --------------------------------------------------------------------------- errors

_TRACED_DURATION = jax.jit(lambda d: stimuli.step(d, 1.0, 1.0))

ERRORS = {
    "duration zero": (lambda: stimuli.step(0.0, 1.0, 1.0), "duration"),
    "duration negative": (lambda: stimuli.sine(-1.0, 1.0, 1.0, 1.0), "duration=-1.0"),
    "duration inf": (lambda: stimuli.ramp(math.inf, 1.0, 0.0, 1.0), "duration=inf"),
    "duration nan": (lambda: stimuli.poisson(KEY, math.nan, 1.0, 1.0), "duration=nan"),
    "duration array": (lambda: stimuli.step(np.ones(2), 1.0, 1.0), "duration must be a real"),
    "duration traced": (lambda: _TRACED_DURATION(10.0), "duration must be a concrete"),
    "dt zero": (lambda: stimuli.step(10.0, 0.0, 1.0), "dt=0.0"),
    "dt negative": (lambda: stimuli.ornstein_uhlenbeck(KEY, 10.0, -1.0, 0, 1, 1), "dt=-1.0"),
    "dt nan inhomogeneous": (
        lambda: stimuli.inhomogeneous_poisson(KEY, jnp.ones(3), math.nan),
        "dt=nan",
    ),
    "no samples": (lambda: stimuli.step(0.4, 1.0, 1.0), "0 samples"),
    "onset negative": (lambda: stimuli.step(10.0, 1.0, 1.0, onset=-1.0), "onset=-1.0"),
    "onset after end": (lambda: stimuli.ramp(10.0, 1.0, 0, 1, onset=11.0), "onset=11.0"),
    "offset before onset": (
        lambda: stimuli.step(10.0, 1.0, 1.0, onset=5.0, offset=4.0),
        "offset=4.0",
    ),
    "offset after end": (lambda: stimuli.step(10.0, 1.0, 1.0, offset=12.0), "offset=12.0"),
    "amplitude nan": (lambda: stimuli.step(10.0, 1.0, math.nan), "amplitude=nan"),
    "amplitude array": (lambda: stimuli.step(10.0, 1.0, jnp.ones(3)), "amplitude must be a scalar"),
    "frequency negative": (lambda: stimuli.sine(10.0, 1.0, 1.0, -5.0), "frequency=-5.0"),
    "std negative": (
        lambda: stimuli.ornstein_uhlenbeck(KEY, 10.0, 1.0, 0.0, -1.0, 5.0),
        "std=-1.0",
    ),
    "tau zero": (lambda: stimuli.ornstein_uhlenbeck(KEY, 10.0, 1.0, 0.0, 1.0, 0.0), "tau=0.0"),
    "tau negative": (
        lambda: stimuli.ornstein_uhlenbeck(KEY, 10.0, 1.0, 0.0, 1.0, -2.0),
        "tau=-2.0",
    ),
    "x0 inf": (
        lambda: stimuli.ornstein_uhlenbeck(KEY, 10.0, 1.0, 0.0, 1.0, 1.0, x0=math.inf),
        "x0=inf",
    ),
    "rate negative": (lambda: stimuli.poisson(KEY, 10.0, 1.0, -3.0), "rate=-3.0"),
    "rate array negative": (
        lambda: stimuli.poisson(KEY, 10.0, 1.0, np.array([1.0, -2.0]), n_channels=2),
        r"rate\[1\]=-2.0",
    ),
    "rate shape": (
        lambda: stimuli.poisson(KEY, 10.0, 1.0, np.ones(3), n_channels=2),
        r"shape \(2,\)",
    ),
    "n_channels zero": (lambda: stimuli.poisson(KEY, 10.0, 1.0, 1.0, n_channels=0), "n_channels"),
    "n_channels float": (
        lambda: stimuli.poisson(KEY, 10.0, 1.0, 1.0, n_channels=1.5),
        "n_channels=1.5",
    ),
    "rates negative": (
        lambda: stimuli.inhomogeneous_poisson(KEY, np.array([[1.0, 2.0], [3.0, -4.0]]), 1.0),
        r"rates\[1, 1\]=-4.0",
    ),
    "rates nan": (
        lambda: stimuli.inhomogeneous_poisson(KEY, jnp.array([1.0, jnp.nan]), 1.0),
        r"rates\[1\]=nan",
    ),
    "rates 3-D": (
        lambda: stimuli.inhomogeneous_poisson(KEY, jnp.ones((2, 2, 2)), 1.0),
        r"shape \(2, 2, 2\)",
    ),
    "rates empty": (lambda: stimuli.inhomogeneous_poisson(KEY, jnp.ones(0), 1.0), "T >= 1"),
    "stack lengths": (
        lambda: stimuli.stack(jnp.ones(5), jnp.ones((4, 2))),
        r"lengths \[5, 4\]",
    ),
    "stack 3-D": (lambda: stimuli.stack(jnp.ones((2, 2, 2))), r"shape \(2, 2, 2\)"),
    "stack empty": (lambda: stimuli.stack(), "at least one"),
}


@pytest.mark.parametrize("case", list(ERRORS))
def test_value_errors(case):
    call, match = ERRORS[case]
    with pytest.raises(ValueError, match=match):
        call()
