"""jaxneuro.solvers: convergence orders, exactness for linear ODEs, threshold-reset semantics,
and stock diffrax solvers on the same models.

HH references come from an independent scipy ``solve_ivp(method="DOP853", rtol=atol=1e-12)``
integration of reference §5.4 in float64; measured errors are in the per-test comments.
"""

import diffrax
import jax
import numpy as np
import pytest
from scipy.integrate import solve_ivp

from jaxneuro.models import LIF, HodgkinHuxley, Izhikevich
from jaxneuro.solvers import ExplicitTrapezoid, ExponentialEuler, ExponentialMidpoint
from jaxneuro.solvers._exponential import _phi1

# --------------------------------------------------------------------------- HH reference


def _vtrap(x, y):
    r = x / y
    return y * (1.0 - r / 2.0) if abs(r) < 1e-6 else x / np.expm1(r)


def _gates(v):
    """((α, β) for m, h, n) in 1/ms at 6.3 °C, NEURON hh.mod (reference §5.4)."""
    return (
        (0.1 * _vtrap(-(v + 40.0), 10.0), 4.0 * np.exp(-(v + 65.0) / 18.0)),
        (0.07 * np.exp(-(v + 65.0) / 20.0), 1.0 / (np.exp(-(v + 35.0) / 10.0) + 1.0)),
        (0.01 * _vtrap(-(v + 55.0), 10.0), 0.125 * np.exp(-(v + 65.0) / 80.0)),
    )


def _hh_rhs(t, y, i_ext):
    v, m, h, n = y
    i_ion = 120.0 * m**3 * h * (v - 50.0) + 36.0 * n**4 * (v + 77.0) + 0.3 * (v + 54.3)
    return [i_ext - i_ion] + [
        a * (1.0 - x) - b * x for (a, b), x in zip(_gates(v), (m, h, n), strict=True)
    ]


def scipy_hh_v(i_ext, duration, dt):
    """v (mV) of an independent HH reference at t = dt, 2·dt, …, duration, from rest at −65 mV."""
    y0 = [-65.0] + [a / (a + b) for a, b in _gates(-65.0)]
    t = dt * np.arange(1, round(duration / dt) + 1)
    sol = solve_ivp(
        _hh_rhs,
        (0.0, duration),
        y0,
        method="DOP853",
        rtol=1e-12,
        atol=1e-12,
        t_eval=t,
        args=(i_ext,),
    )
    assert sol.success, sol.message
    return sol.y[0]


def _hh_v(solver, solver_dt, i_ext, duration, dt):
    with jax.enable_x64(True):
        model = HodgkinHuxley(dt=dt, solver_dt=solver_dt, solver=solver)
        out, _ = jax.jit(model.apply)(model.init(), np.full((round(duration / dt), 1), i_ext))
        return np.asarray(out["v"])


# --------------------------------------------------------------------------- convergence order

ORDER_DT = 0.1  # ms, sample interval of the comparison
ORDER_SUBSTEPS = [2, 4, 8, 16, 32]  # solver steps per sample: h = 0.05 … 0.003125 ms
ORDER_CURRENT = 2.0  # µA/cm², 20 ms: a smooth subthreshold response (v peaks at −59.9 mV)


@pytest.fixture(scope="module")
def hh_subthreshold_reference():
    return scipy_hh_v(ORDER_CURRENT, 20.0, ORDER_DT)


def _hh_errors(solver, reference):
    """Max |Δv| over 20 ms for each step count, stepping ``solver.step`` on the model's term.

    The step count is traced (``fori_loop``), so all step sizes share one compilation.
    """
    with jax.enable_x64(True):
        model = HodgkinHuxley()
        params = model.init()
        term, y0, args = model.term(), model.init_state(params), (params, ORDER_CURRENT)

        @jax.jit
        def run(n_sub):
            h = ORDER_DT / n_sub

            def step(_, y):
                return solver.step(term, 0.0, h, y, args, None, False)[0]

            def sample(y, _):
                y = jax.lax.fori_loop(0, n_sub, step, y)
                return y, y["v"]

            return jax.lax.scan(sample, y0, length=reference.size)[1]

        return np.array([np.max(np.abs(np.asarray(run(n)) - reference)) for n in ORDER_SUBSTEPS])


@pytest.mark.parametrize(
    ("solver", "order"),
    [
        (ExponentialEuler(), 1),
        (ExponentialMidpoint(), 2),
        (diffrax.Heun(), 2),
        (ExplicitTrapezoid(), 2),
    ],
    ids=["exp-euler", "exp-midpoint", "heun", "explicit-trapezoid"],
)
def test_convergence_order_on_hh(solver, order, hh_subthreshold_reference):
    # Measured max |Δv| (mV) at h = 0.05 … 0.003125 ms: exp-Euler 0.192 → 0.0121 (slope 1.00),
    # exp-midpoint 0.0121 → 5.0e-5 (1.98), Heun 5.4e-4 → 2.1e-6 (2.00).
    assert solver.order(None) == order
    errors = _hh_errors(solver, hh_subthreshold_reference)
    steps = ORDER_DT / np.array(ORDER_SUBSTEPS)
    slope = np.polyfit(np.log(steps), np.log(errors), 1)[0]
    assert abs(slope - order) < 0.1, (slope, errors)
    # Every halving gains close to 2^order, not just the fit.
    assert np.all(np.abs(np.log2(errors[:-1] / errors[1:]) - order) < 0.1), errors


@pytest.mark.parametrize(
    "solver", [ExponentialEuler(), ExponentialMidpoint()], ids=["euler", "midpoint"]
)
def test_exponential_solvers_run_under_diffeqsolve(solver):
    with jax.enable_x64(True):
        model = HodgkinHuxley()
        params = model.init()
        sol = diffrax.diffeqsolve(
            model.term(), solver, 0.0, 1.0, 0.025, model.init_state(params), (params, 0.0)
        )
        assert np.isfinite(np.asarray(sol.ys["v"])).all()


# --------------------------------------------------------------------------- exactness (LIF)


@pytest.mark.parametrize("solver_dt", [None, 0.025])
def test_exponential_euler_exact_for_lif_subthreshold(solver_dt):
    """LIF below threshold is linear with step-constant input: exponential Euler is exact."""
    dt, n = 0.1, 2000
    rng = np.random.default_rng(1)
    current = np.repeat(rng.uniform(-1.0, 1.4, n // 20), 20)  # nA, R·I < V_th − E_L = 15 mV
    with jax.enable_x64(True):
        model = LIF(dt=dt, solver_dt=solver_dt)
        p = model.init()
        out, _ = jax.jit(model.apply)(p, current[:, None])
        v, n_spikes = np.asarray(out["v"]), int(out["spikes"].sum())
    assert n_spikes == 0
    p = {k: float(a) for k, a in p.items() if k != "synapses"}
    decay = np.exp(-dt / p["tau_m"])
    expected, v_k = np.empty(n), p["e_l"]
    for k in range(n):  # v(t + dt) = v∞ + (v(t) − v∞)·e^(−dt/τ), v∞ = E_L + R·I
        v_inf = p["e_l"] + p["r_m"] * current[k]
        v_k = v_inf + (v_k - v_inf) * decay
        expected[k] = v_k
    np.testing.assert_allclose(v, expected, rtol=0, atol=1e-12)


# --------------------------------------------------------------------------- ThresholdReset


def _lif_run(params, current, n, dt=0.1, x64=True, **kwargs):
    dtype = np.float64 if x64 else np.float32
    with jax.enable_x64(x64):
        model = LIF(dt=dt, **kwargs)
        p = dict(model.init(), **params)
        out, state = jax.jit(model.apply)(p, np.full((n, 1), current, dtype))
        return model, p, {k: np.asarray(a) for k, a in out.items()}, state


@pytest.mark.parametrize("x64", [True, False], ids=["float64", "float32"])
def test_threshold_reset_refractory_holds_v_reset_for_t_ref(x64):
    dt, t_ref, v_reset = 0.1, 2.0, -70.0
    params = dict(t_ref=t_ref, v_reset=v_reset)
    _, _, out, _ = _lif_run(params, 5.0, 400, dt=dt, x64=x64)
    spikes, v = out["spikes"], out["v"]
    idx = np.nonzero(spikes)[0]
    assert idx.size >= 3 and spikes.max() == 1
    hold = round(t_ref / dt)
    for k in idx[:-1]:
        # The spike sample ends at the reset value, which is then held for exactly t_ref …
        np.testing.assert_array_equal(v[k : k + hold + 1], v_reset)
        # … and integration resumes at t_spike + t_ref.
        assert v[k + hold + 1] > v_reset
    # Equal ISIs: t_ref plus the (step-quantised) free flight from v_reset to v_th.
    assert np.unique(np.diff(idx)).size == 1


def test_threshold_reset_state_flag_clock_and_reset():
    dt, t_ref, v_reset = 0.1, 2.0, -70.0
    params = dict(t_ref=t_ref, v_reset=v_reset)
    model, p, out, _ = _lif_run(params, 5.0, 200, dt=dt)
    k = int(np.nonzero(out["spikes"])[0][0])
    x = np.full((200, 1), 5.0)
    with jax.enable_x64(True):
        # Streaming: stop right after the spike sample, then one sample more.
        apply = jax.jit(model.apply)
        _, s_spike = apply(p, x[: k + 1])
        _, s_next = apply(p, x[k + 1 : k + 2], s_spike)
        _, s_before = apply(p, x[:k])
        v_th = float(p["v_th"])
    assert float(s_before["spike"]) == 0.0 and float(s_before["refractory"]) == 0.0
    assert float(s_before["v"]) < v_th
    assert float(s_spike["spike"]) == 1.0
    assert float(s_spike["refractory"]) == t_ref
    assert float(s_spike["v"]) == v_reset
    assert float(s_next["spike"]) == 0.0
    assert float(s_next["refractory"]) == pytest.approx(t_ref - dt, abs=1e-12)
    assert float(s_next["v"]) == v_reset


def test_threshold_reset_counts_several_spikes_per_sample():
    # With t_ref = 0 and a strong current the ISI is < 1 ms: a 1 ms sample of 0.1 ms internal
    # steps holds several spikes, and the total equals the fine-sampled run's.
    params = dict(t_ref=0.0)
    _, _, coarse, _ = _lif_run(params, 20.0, 50, dt=1.0, solver_dt=0.1)
    _, _, fine, _ = _lif_run(params, 20.0, 500, dt=0.1)
    assert coarse["spikes"].max() >= 2
    np.testing.assert_array_equal(coarse["spikes"], fine["spikes"].reshape(50, 10).sum(axis=1))
    np.testing.assert_allclose(coarse["v"], fine["v"][9::10], rtol=0, atol=1e-12)


@pytest.mark.parametrize("x64", [True, False], ids=["float64", "float32"])
def test_threshold_reset_lands_exactly_on_reset_value(x64):
    dtype = np.float64 if x64 else np.float32
    with jax.enable_x64(x64):
        model = Izhikevich(regime="CH")
        out, _ = jax.jit(model.apply)(model.init(), np.full((5000, 1), 10.0, dtype))
    fired = np.asarray(out["spikes"]) > 0
    assert fired.sum() >= 20
    np.testing.assert_array_equal(np.asarray(out["v"])[fired], -50.0)


# --------------------------------------------------------------------------- stock diffrax solvers


@pytest.fixture(scope="module")
def hh_spiking_reference():
    # 10 µA/cm² for 30 ms: two spikes.
    return scipy_hh_v(10.0, 30.0, 0.025)


@pytest.mark.parametrize(
    ("solver", "tolerance_mv"),
    [(diffrax.Tsit5(), 1e-3), (diffrax.Heun(), 2.0), (ExponentialMidpoint(), 5.0)],
    ids=["tsit5", "heun", "exp-midpoint"],
)
def test_stock_solvers_run_hh_and_agree_with_reference(solver, tolerance_mv, hh_spiking_reference):
    # Fixed h = 0.025 ms, float64, max |Δv| over 30 ms with two spikes (the error peaks on the
    # upstroke): Tsit5 7.7e-5 mV, Heun 0.62 mV, ExponentialMidpoint 3.56 mV.
    v = _hh_v(solver, None, 10.0, 30.0, 0.025)
    err = np.max(np.abs(v - hh_spiking_reference))
    assert err <= tolerance_mv, err


def test_explicit_trapezoid_is_diffrax_heun():
    """Our lean Heun step computes what diffrax.Heun computes (the HH default, 1.8x cheaper)."""
    with jax.enable_x64(True):
        x = np.full((2000, 1), 10.0)
        ours, _ = HodgkinHuxley(solver=ExplicitTrapezoid()).apply(HodgkinHuxley().init(), x)
        theirs, _ = HodgkinHuxley(solver=diffrax.Heun()).apply(HodgkinHuxley().init(), x)
    np.testing.assert_allclose(np.asarray(ours["v"]), np.asarray(theirs["v"]), rtol=0, atol=1e-9)
    np.testing.assert_array_equal(np.asarray(ours["spikes"]), np.asarray(theirs["spikes"]))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_phi1_matches_expm1_in_float64(dtype):
    """φ₁(z) = (eᶻ − 1)/z: float32's Taylor/exp split and float64's expm1 both within a few ulp
    of the float64 expm1 value, across the Taylor boundary at |z| = 0.5 and at 0."""
    z = np.concatenate(
        [-np.logspace(-9, 3, 2001), np.logspace(-9, 1.4, 2001), [0.0, -0.5, 0.5, -0.49999, 0.49999]]
    )
    ref = np.where(z == 0, 1.0, np.expm1(z) / np.where(z == 0, 1.0, z))
    with jax.enable_x64(dtype == "float64"):
        got = np.asarray(_phi1(jax.numpy.asarray(z, dtype)), np.float64)
    np.testing.assert_allclose(got, ref, rtol=2e-6 if dtype == "float32" else 1e-12)
