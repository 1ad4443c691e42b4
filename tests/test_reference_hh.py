"""HodgkinHuxley against an independent scipy reference and the regression table of §5.4.

The reference ODE below is written from ``reference/point_neuron_and_networks.md`` §5.4 (NEURON
``hh`` rates with vtrap, φ = 3^((T − 6.3)/10), gates at x∞(−65 mV), V₀ = −65 mV), not from
jaxneuro, and integrated by ``solve_ivp(method="DOP853", rtol=atol=1e-10)`` in float64. Spike
times are upward 0 mV crossings, located to ~1e-12 ms by root-finding on scipy's dense output, and
from jaxneuro's sampled ``v`` (sampled at t = (k+1)·dt) by a local cubic spline.

Measured on the reference machine (max |Δt| over 200 ms, 14 / 13 spikes):

================================  ==============  ==============
solver (sample dt = 0.025 ms)      10 µA/cm²       noisy (seed 0)
================================  ==============  ==============
Tsit5, PID 1e-10, float64          5.3e-7 ms       1.0e-4 ms
Kvaerno5, PID 1e-10, float64       5.3e-7 ms       1.0e-4 ms
Heun (default, ExplicitTrapezoid)  0.019 ms        0.045 ms
ExponentialEuler, f64/32           2.46 ms         7.19 ms
ExponentialMidpoint, f64/32        0.150 ms        0.322 ms
ExponentialMidpoint h=0.0125       0.040 ms        0.104 ms
================================  ==============  ==============

The default (Heun's explicit trapezoid rule, second order) meets the 0.15 ms target at dt = 0.025 ms.
Exponential Euler is cleanly first order (2.46, 1.23, 0.61, 0.31 ms at h = 0.025, 0.0125,
0.00625, 0.003125 ms) and misses it at that step; the exponential schemes have large error
constants on the spike upstroke. The noisy current (mean 8 µA/cm², near the type-II onset) is
ill-conditioned: timing errors grow between spikes, which is why its errors exceed the
constant-current ones.
"""

import functools

import diffrax
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.integrate import solve_ivp
from scipy.interpolate import CubicSpline
from scipy.optimize import brentq

from jaxneuro.models import HodgkinHuxley
from jaxneuro.solvers import ExponentialMidpoint

DT = 0.025  # ms, sample interval of every jaxneuro run here
DURATION = 200.0  # ms, spike-timing runs
SEGMENT = 0.5  # ms, the noisy current is piecewise constant over these segments

# --------------------------------------------------------------------------- reference ODE


def _vtrap(x, y):
    r = x / y
    return y * (1.0 - r / 2.0) if abs(r) < 1e-6 else x / np.expm1(r)


def _rates(v):
    """(α_m, β_m, α_h, β_h, α_n, β_n) in 1/ms at 6.3 °C (NEURON hh.mod)."""
    return (
        0.1 * _vtrap(-(v + 40.0), 10.0),
        4.0 * np.exp(-(v + 65.0) / 18.0),
        0.07 * np.exp(-(v + 65.0) / 20.0),
        1.0 / (np.exp(-(v + 35.0) / 10.0) + 1.0),
        0.01 * _vtrap(-(v + 55.0), 10.0),
        0.125 * np.exp(-(v + 65.0) / 80.0),
    )


def _hh_rhs(t, y, i_ext, phi):
    v, m, h, n = y
    am, bm, ah, bh, an, bn = _rates(v)
    i_ion = 120.0 * m**3 * h * (v - 50.0) + 36.0 * n**4 * (v + 77.0) + 0.3 * (v + 54.3)
    return [
        i_ext - i_ion,  # C_m = 1 µF/cm²
        phi * (am * (1.0 - m) - bm * m),
        phi * (ah * (1.0 - h) - bh * h),
        phi * (an * (1.0 - n) - bn * n),
    ]


def _rest(v0=-65.0):
    am, bm, ah, bh, an, bn = _rates(v0)
    return np.array([v0, am / (am + bm), ah / (ah + bh), an / (an + bn)])


def scipy_spike_times(currents, segment, celsius=6.3):
    """Upward 0 mV crossings (ms) of the reference under a piecewise-constant current."""
    phi = 3.0 ** ((celsius - 6.3) / 10.0)
    y, t0, spikes = _rest(), 0.0, []
    for i_ext in currents:
        sol = solve_ivp(
            _hh_rhs,
            (t0, t0 + segment),
            y,
            method="DOP853",
            rtol=1e-10,
            atol=1e-10,
            dense_output=True,
            args=(float(i_ext), phi),
        )
        assert sol.success, sol.message
        ts, vs, dense_v = sol.t, sol.y[0], (lambda t, s=sol.sol: s(t)[0])
        for k in np.nonzero((vs[:-1] < 0.0) & (vs[1:] >= 0.0))[0]:
            spikes.append(brentq(dense_v, ts[k], ts[k + 1], xtol=1e-13))
        y, t0 = sol.y[:, -1], t0 + segment
    return np.array(spikes)


def sampled_spike_times(v, dt=DT):
    """Upward 0 mV crossings of v sampled at t = (k+1)·dt, by a cubic spline on 6 samples."""
    v = np.asarray(v, dtype=np.float64)
    t = dt * np.arange(1, v.size + 1)
    out = []
    for k in np.nonzero((v[:-1] < 0.0) & (v[1:] >= 0.0))[0]:
        lo, hi = max(k - 2, 0), min(k + 4, v.size)
        out.append(brentq(CubicSpline(t[lo:hi], v[lo:hi]), t[k], t[k + 1], xtol=1e-13))
    return np.array(out)


# --------------------------------------------------------------------------- stimuli


def _segments(case):
    if case == "constant":
        return np.array([10.0]), DURATION
    rng = np.random.default_rng(0)  # mean 8, std 3 µA/cm², new value every 0.5 ms
    return 8.0 + 3.0 * rng.standard_normal(round(DURATION / SEGMENT)), SEGMENT


def _inputs(case, dtype):
    values, segment = _segments(case)
    return np.repeat(values, round(segment / DT))[:, None].astype(dtype)


@functools.cache
def _reference(case):
    return scipy_spike_times(*_segments(case))


TIGHT = diffrax.PIDController(rtol=1e-10, atol=1e-10)
MODELS = {
    "tsit5": lambda: HodgkinHuxley(dt=DT, solver=diffrax.Tsit5(), stepsize_controller=TIGHT),
    "kvaerno5": lambda: HodgkinHuxley(dt=DT, solver=diffrax.Kvaerno5(), stepsize_controller=TIGHT),
    "default": lambda: HodgkinHuxley(),
    "midpoint-half-step": lambda: HodgkinHuxley(
        dt=DT, solver_dt=DT / 2, solver=ExponentialMidpoint()
    ),
}


@functools.cache
def _compiled(name):
    """One jitted ``apply`` per model, so both stimuli (same shape) share a compilation."""
    model = MODELS[name]()
    return model, jax.jit(model.apply)


def _max_timing_error(name, case, x64):
    dtype = np.float64 if x64 else np.float32
    with jax.enable_x64(x64):
        model, apply = _compiled(name)
        out, _ = apply(model.init(), _inputs(case, dtype))
        assert out["v"].dtype == dtype
        v, n_counted = np.asarray(out["v"]), int(np.asarray(out["spikes"]).sum())
    got, ref = sampled_spike_times(v), _reference(case)
    # The model's own spike counter must agree with the crossings of its trace.
    assert n_counted == got.size
    assert got.size == ref.size, f"{got.size} spikes, reference {ref.size}"
    return float(np.max(np.abs(got - ref)))


CASES = ["constant", "noisy"]
PRECISIONS = pytest.mark.parametrize("x64", [True, False], ids=["float64", "float32"])


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize(
    "name",
    [
        "tsit5",
        # ~35 s on 2 CPU cores (implicit stages at rtol = atol = 1e-10).
        pytest.param("kvaerno5", marks=pytest.mark.slow),
    ],
)
def test_adaptive_spike_times_match_scipy(name, case):
    err = _max_timing_error(name, case, x64=True)
    assert err <= 0.005, f"max |Δt| = {err:.3g} ms"


@pytest.mark.parametrize("case", CASES)
@PRECISIONS
def test_default_solver_spike_times(x64, case):
    err = _max_timing_error("default", case, x64)
    assert err <= 0.15, f"max |Δt| = {err:.3g} ms"


@pytest.mark.parametrize("case", CASES)
@PRECISIONS
def test_exponential_midpoint_half_step_spike_times(x64, case):
    # The fast family meets the 0.15 ms target with ExponentialMidpoint at h = dt/2
    # (measured 0.040 / 0.104 ms); at h = dt it gives 0.150 / 0.322 ms.
    err = _max_timing_error("midpoint-half-step", case, x64)
    assert err <= 0.15, f"max |Δt| = {err:.3g} ms"


# --------------------------------------------------------------------------- §5.4 table

# (label, I µA/cm², °C). Rates: spikes in (200, 1000] ms / 0.8 s, the definition that the table
# follows (the scipy reference gives 56.25, 68.75, 86.25, 116.25 and 158.75 Hz this way, while
# 1/mean-ISI would give 117.06 Hz at 50 µA/cm²). Counting quantises rates to 1.25 Hz, so ±1 Hz
# means the exact count, or one off where the table value sits between two counts.
CONDITIONS = [
    ("rest", 0.0, 6.3),
    ("5uA", 5.0, 6.3),
    ("6uA", 6.0, 6.3),
    ("6.5uA", 6.5, 6.3),
    ("10uA", 10.0, 6.3),
    ("20uA", 20.0, 6.3),
    ("50uA", 50.0, 6.3),
    ("10uA-16C", 10.0, 16.0),
]
TABLE_RATES = {"6.5uA": 56.0, "10uA": 68.8, "20uA": 86.3, "50uA": 116.0, "10uA-16C": 159.0}
T_TABLE = 1000.0  # ms


@functools.cache
def _table_run(solver_name):
    """Spike counts per sample and v for every condition, in one vmapped float32 run."""
    solver = {"default": None, "midpoint": ExponentialMidpoint()}[solver_name]
    model = HodgkinHuxley() if solver is None else HodgkinHuxley(solver=solver)
    params = model.init()
    batch = len(CONDITIONS)
    params = jax.tree.map(lambda a: jnp.full((batch,), a), params)
    params["celsius"] = jnp.array([c for _, _, c in CONDITIONS], dtype=params["celsius"].dtype)
    n = round(T_TABLE / DT)
    currents = np.array([i for _, i, _ in CONDITIONS], dtype=np.float32)
    x = np.broadcast_to(currents[:, None, None], (batch, n, 1))
    out, _ = jax.jit(jax.vmap(model.apply))(params, x)
    assert out["v"].dtype == jnp.float32
    return {
        label: (np.asarray(out["spikes"][b]), np.asarray(out["v"][b]))
        for b, (label, _, _) in enumerate(CONDITIONS)
    }


def _rate(spikes):
    return float(spikes[round(200.0 / DT) :].sum()) / 0.8


RATE_CASES = [
    pytest.param(solver, label, id=f"{solver}-{label}")
    for solver in ("default", "midpoint")
    for label in TABLE_RATES
]


@pytest.mark.parametrize(("solver", "label"), RATE_CASES)
def test_table_rates(solver, label):
    spikes, _ = _table_run(solver)[label]
    assert abs(_rate(spikes) - TABLE_RATES[label]) <= 1.0 + 1e-9, _rate(spikes)


@pytest.mark.parametrize("solver", ["default", "midpoint"])
def test_table_rest_threshold_and_peak(solver):
    run = _table_run(solver)
    spikes, v = run["rest"]
    assert spikes.sum() == 0
    assert abs(v[-1] - (-64.97)) <= 0.01, v[-1]
    # Type-II onset: a single spike at 5 µA/cm², two at 6, repetitive firing at 6.5.
    assert run["5uA"][0].sum() == 1
    assert run["6uA"][0].sum() == 2
    assert run["6.5uA"][0][round(900.0 / DT) :].sum() >= 5
    # Spike peak about +40 mV: the first spike from rest (the reference peaks at 40.27 mV; later
    # spikes of the train, starting from the afterhyperpolarisation, peak near +30 mV).
    _, v = run["10uA"]
    first = v[: round(20.0 / DT)]
    assert 39.0 <= first.max() <= 41.5, first.max()
