"""The NEURON ``hh`` squid axon as each simulator spells it, for ``population.py``.

Every method simulates N unconnected single-compartment HH cells (NEURON ``hh`` at 6.3 °C) under
a constant, per-cell current density from rest (-65 mV) at a fixed step of ``dt`` ms. A method's
``prepare(currents, duration_ms, dt, record)`` builds the population and returns a
:class:`Prepared`, whose ``run()`` is the timed simulation. With ``record=True`` the run also
returns the membrane-potential traces at every step (for spike times); without, only what the
simulator records cheaply (jax methods always return traces: that is their protocol).

Areas: NEURON and jaxley take point currents (nA). Their compartments have an area of exactly
1e5 µm² = 1e-3 cm², so 1 nA ≙ 1 µA/cm² and the same numbers go in everywhere.
"""

from __future__ import annotations

import gc
import math
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

AREA_UM2 = 1e5
"""Membrane area of the NEURON / jaxley compartments: 1e-3 cm², so 1 nA ≙ 1 µA/cm²."""

HH = dict(
    c_m=1.0,
    g_na=120.0,
    g_k=36.0,
    g_l=0.3,
    e_na=50.0,
    e_k=-77.0,
    e_l=-54.3,
    celsius=6.3,
    v_init=-65.0,
    v_spike=0.0,
)
"""NEURON ``hh`` defaults (µF/cm², mS/cm², mV, °C), as in ``HodgkinHuxley.default_params``."""


# --------------------------------------------------------------------------------------------
# Reference: scipy DOP853, float64, exact spike times from event location
# --------------------------------------------------------------------------------------------
def _vtrap(x, y):
    r = x / y
    if abs(r) < 1e-6:
        return y * (1.0 - r / 2.0)
    return x / math.expm1(r)


def _rates(v):
    return (
        0.1 * _vtrap(-(v + 40.0), 10.0),
        4.0 * math.exp(-(v + 65.0) / 18.0),
        0.07 * math.exp(-(v + 65.0) / 20.0),
        1.0 / (math.exp(-(v + 35.0) / 10.0) + 1.0),
        0.01 * _vtrap(-(v + 55.0), 10.0),
        0.125 * math.exp(-(v + 65.0) / 80.0),
    )


def rest_gates(v: float) -> tuple[float, float, float]:
    am, bm, ah, bh, an, bn = _rates(v)
    return am / (am + bm), ah / (ah + bh), an / (an + bn)


def reference_spike_times(current: float, duration_ms: float, tol: float = 1e-10) -> np.ndarray:
    """Upward 0 mV crossings of NEURON ``hh`` (6.3 °C) under ``current`` µA/cm² from rest.

    scipy ``solve_ivp(method="DOP853", rtol=atol=tol)`` in float64, crossings located by the
    solver's event root-finding on its dense output.
    """
    from scipy.integrate import solve_ivp

    p = HH
    phi = 3.0 ** ((p["celsius"] - 6.3) / 10.0)

    def rhs(t, y):
        v, m, h, n = y
        am, bm, ah, bh, an, bn = _rates(v)
        dv = (
            current
            - p["g_na"] * m**3 * h * (v - p["e_na"])
            - p["g_k"] * n**4 * (v - p["e_k"])
            - p["g_l"] * (v - p["e_l"])
        ) / p["c_m"]
        return [
            dv,
            phi * (am * (1 - m) - bm * m),
            phi * (ah * (1 - h) - bh * h),
            phi * (an * (1 - n) - bn * n),
        ]

    def crossing(t, y):
        return y[0] - p["v_spike"]

    crossing.direction = 1.0
    y0 = [p["v_init"], *rest_gates(p["v_init"])]
    sol = solve_ivp(
        rhs, (0.0, duration_ms), y0, method="DOP853", rtol=tol, atol=tol, events=crossing
    )
    if sol.status != 0:
        raise RuntimeError(f"reference solve failed at I={current}: {sol.message}")
    return np.asarray(sol.t_events[0], dtype=np.float64)


def crossings(t: np.ndarray, v: np.ndarray, threshold: float = 0.0) -> np.ndarray:
    """Upward crossings of ``threshold`` in a sampled trace, linearly interpolated (ms)."""
    v = np.asarray(v, dtype=np.float64)
    k = np.nonzero((v[:-1] < threshold) & (v[1:] >= threshold))[0]
    frac = (threshold - v[k]) / (v[k + 1] - v[k])
    return t[k] + frac * (t[k + 1] - t[k])


def compare_spikes(ref: np.ndarray, got: np.ndarray, duration_ms: float | None = None) -> dict:
    """Index-matched spike-time error (k-th spike against k-th spike) and count mismatch.

    With ``duration_ms``, also says whether a count mismatch is only phase drift at the end of
    the run: every unmatched spike (of either train) lies within the largest matched error
    (+ 1 ms) of the end, i.e. the trains agree spike for spike and one of them ran out of time.
    """
    n = min(len(ref), len(got))
    err = np.abs(got[:n] - ref[:n])
    max_err = float(err.max()) if n else 0.0
    out = dict(
        n_ref=len(ref),
        n_got=len(got),
        count_mismatch=int(len(got) - len(ref)),
        max_abs_dt_ms=max_err,
        mean_abs_dt_ms=float(err.mean()) if n else 0.0,
        first_spike_dt_ms=float(err[0]) if n else None,
    )
    if duration_ms is not None:
        unmatched = np.concatenate([ref[n:], got[n:]])
        out["mismatch_is_end_drift"] = bool(np.all(unmatched > duration_ms - max_err - 1.0))
    return out


# --------------------------------------------------------------------------------------------
# The prepared-simulation record every method returns
# --------------------------------------------------------------------------------------------
@dataclass
class Prepared:
    run: Callable[[], Any]
    """One timed simulation."""
    spike_counts: Callable[[Any], np.ndarray]
    """Spike counts per cell from ``run``'s result (outside the timed region)."""
    traces: Callable[[Any], tuple[np.ndarray, np.ndarray]] | None = None
    """``(t [K], v [N, K])`` from ``run``'s result when prepared with ``record=True``."""
    compile_s: float | None = None
    compile_note: str = ""
    setup_s: float = 0.0
    dt_ms: float | None = None
    """The step (and, for jax methods, the sample interval) actually used."""
    xla_memory: dict | None = None
    input_mb: float | None = None
    device: str = ""
    notes: list[str] = field(default_factory=list)
    compile_from_first_run: bool = False
    """Compile time is first run minus best later run (Brian2): needs two runs."""
    before_run: Callable[[], None] = lambda: None
    """Untimed reset before each run (NEURON ``finitialize``, Brian2 ``restore``)."""
    teardown: Callable[[], None] = lambda: None


def xla_memory(compiled) -> dict | None:
    try:
        m = compiled.memory_analysis()
    except Exception:  # noqa: BLE001 - not every backend implements it
        return None
    if m is None:
        return None
    d = dict(
        argument_mb=m.argument_size_in_bytes / 2**20,
        output_mb=m.output_size_in_bytes / 2**20,
        temp_mb=m.temp_size_in_bytes / 2**20,
        alias_mb=m.alias_size_in_bytes / 2**20,
    )
    d["total_mb"] = d["argument_mb"] + d["output_mb"] + d["temp_mb"] - d["alias_mb"]
    return d


def jax_device() -> str:
    import jax

    d = jax.devices()[0]
    return f"{d.platform}:{d.device_kind}" if d.platform != "cpu" else "cpu (XLA)"


# --------------------------------------------------------------------------------------------
# jax: jaxneuro's diffrax path and the hand-written scan
# --------------------------------------------------------------------------------------------
_INPUTS: dict = {}
"""Input arrays shared by the jax methods of one population size (cleared by ``clear_inputs``)."""


def constant_inputs(currents: np.ndarray, n_steps: int):
    """The protocol's input array ``[N, T, 1]`` float32, materialised on the device (shared)."""
    import jax
    import jax.numpy as jnp

    key = (np.asarray(currents, dtype=np.float64).tobytes(), n_steps)
    if key not in _INPUTS:
        c = jnp.asarray(currents, dtype=jnp.float32)
        make = jax.jit(lambda c: jnp.broadcast_to(c[:, None, None], (c.shape[0], n_steps, 1)))
        _INPUTS[key] = jax.block_until_ready(make(c))
    return _INPUTS[key]


def clear_inputs() -> None:
    _INPUTS.clear()
    gc.collect()


def hand_written_hh(dt: float, scheme: str = "exp_euler", expm1=None):
    """``apply(params, inputs[T, 1]) -> (v [T], spikes [T])``: NEURON ``hh`` written directly as
    a jnp ``lax.scan``, with jaxneuro's rate functions (same ``vtrap``) and spike rule.

    ``scheme="exp_euler"`` is jaxneuro's :class:`~jaxneuro.solvers.ExponentialEuler` on the
    quasi-linear form ``dx/dt = d(y) − k(y)·x``: with all rates frozen at the start of a step each
    variable follows its exact exponential, ``x₁ = x₀ + h·(d − k·x₀)·φ₁(−k·h)`` (Rush–Larsen gates,
    exact-in-V step). ``scheme="heun"`` is ``diffrax.Heun`` (explicit trapezoidal RK2) on the
    vector field ``f = d − k·x``: ``y₁ = y₀ + h/2·(f(y₀) + f(y₀ + h·f(y₀)))``. Spikes are upward
    ``v_spike`` crossings between steps. Parameters are runtime arguments (as in jaxneuro), not
    constants XLA could fold. ``expm1`` swaps the expm1 implementation (the profile's
    ``exp(x) − 1`` variant); default ``jnp.expm1`` as in jaxneuro.
    """
    import jax
    import jax.numpy as jnp

    expm1 = jnp.expm1 if expm1 is None else expm1

    def vtrap(x, y):
        ratio = x / y
        small = jnp.abs(ratio) < 1e-6
        return jnp.where(small, y * (1.0 - ratio / 2.0), x / expm1(jnp.where(small, 1.0, ratio)))

    def phi1(z):
        small = jnp.abs(z) < 1e-6
        z_safe = jnp.where(small, 1.0, z)
        return jnp.where(small, 1.0 + z / 2, expm1(z_safe) / z_safe)

    def quasi_linear(p, phi, y, i):
        """(drive, decay) of (v, m, h, n)."""
        v, m, h, n = y
        am = 0.1 * vtrap(-(v + 40.0), 10.0)
        bm = 4.0 * jnp.exp(-(v + 65.0) / 18.0)
        ah = 0.07 * jnp.exp(-(v + 65.0) / 20.0)
        bh = 1.0 / (jnp.exp(-(v + 35.0) / 10.0) + 1.0)
        an = 0.01 * vtrap(-(v + 55.0), 10.0)
        bn = 0.125 * jnp.exp(-(v + 65.0) / 80.0)
        g_na = p["g_na"] * m**3 * h
        g_k = p["g_k"] * n**4
        drive_v = (i + g_na * p["e_na"] + g_k * p["e_k"] + p["g_l"] * p["e_l"]) / p["c_m"]
        decay_v = (g_na + g_k + p["g_l"]) / p["c_m"]
        drive = (drive_v, phi * am, phi * ah, phi * an)
        decay = (decay_v, phi * (am + bm), phi * (ah + bh), phi * (an + bn))
        return drive, decay

    def step_exp_euler(p, phi, y, i):
        drive, decay = quasi_linear(p, phi, y, i)
        return tuple(
            x + dt * (d - k * x) * phi1(-k * dt) for x, d, k in zip(y, drive, decay, strict=False)
        )

    def f(p, phi, y, i):
        drive, decay = quasi_linear(p, phi, y, i)
        return tuple(d - k * x for x, d, k in zip(y, drive, decay, strict=False))

    def step_heun(p, phi, y, i):
        k1 = f(p, phi, y, i)
        y_pred = tuple(x + dt * a for x, a in zip(y, k1, strict=False))
        k2 = f(p, phi, y_pred, i)
        return tuple(x + dt * (0.5 * a + 0.5 * b) for x, a, b in zip(y, k1, k2, strict=False))

    step_fn = {"exp_euler": step_exp_euler, "heun": step_heun}[scheme]

    def apply(p, inputs):
        phi = 3.0 ** ((p["celsius"] - 6.3) / 10.0)
        v0 = p["v_init"]
        drive, decay = quasi_linear(p, phi, (v0, v0, v0, v0), 0.0)
        y0 = (v0, *(d / k for d, k in zip(drive[1:], decay[1:], strict=False)))  # x∞ = α/(α+β)

        def step(y, i):
            y1 = step_fn(p, phi, y, i)
            spike = ((y[0] < p["v_spike"]) & (y1[0] >= p["v_spike"])).astype(y1[0].dtype)
            return y1, (y1[0], spike)

        _, (v, spikes) = jax.lax.scan(step, y0, inputs[:, 0])
        return v, spikes

    return apply


def _prepare_jax(fn, params, currents, duration_ms, dt, record, unpack):
    import jax

    n_steps = round(duration_ms / dt)
    t0 = time.perf_counter()
    x = constant_inputs(currents, n_steps)
    setup = time.perf_counter() - t0
    batched = jax.jit(jax.vmap(fn, in_axes=(None, 0)))
    t0 = time.perf_counter()
    compiled = batched.lower(params, x).compile()
    compile_s = time.perf_counter() - t0

    def run():
        return jax.block_until_ready(compiled(params, x))

    def counts(out):
        return np.asarray(unpack(out)[1]).sum(axis=1)

    def traces(out):
        v = np.asarray(unpack(out)[0], dtype=np.float64)
        v = np.concatenate([np.full((v.shape[0], 1), HH["v_init"]), v], axis=1)
        return np.arange(n_steps + 1) * dt, v

    return Prepared(
        run=run,
        spike_counts=counts,
        traces=traces,
        compile_s=compile_s,
        compile_note="jit(vmap(.)).lower().compile()",
        setup_s=setup,
        dt_ms=dt,
        xla_memory=xla_memory(compiled),
        input_mb=x.nbytes / 2**20,
        device=jax_device(),
    )


def jaxneuro_hh(dt: float, solver: str = "default"):
    """``HodgkinHuxley(dt=dt)`` with its default solver, ``"exp_euler"`` or ``"diffrax_heun"``."""
    import diffrax

    from jaxneuro.models import HodgkinHuxley
    from jaxneuro.solvers import ExponentialEuler

    if solver == "default":
        return HodgkinHuxley(dt=dt)
    if solver == "diffrax_heun":
        return HodgkinHuxley(dt=dt, solver=diffrax.Heun())
    if solver == "exp_euler":
        return HodgkinHuxley(dt=dt, solver=ExponentialEuler())
    raise ValueError(solver)


def prepare_jaxneuro(currents, duration_ms, dt, record, solver="default", step_ms=None):
    """``step_ms`` overrides the protocol's dt (sample interval = step): accuracy-matched runs."""
    dt = step_ms or dt
    model = jaxneuro_hh(dt, solver)
    params = model.init()
    prep = _prepare_jax(
        model.apply,
        params,
        currents,
        duration_ms,
        dt,
        record,
        lambda o: (o[0]["v"], o[0]["spikes"]),
    )
    prep.notes.append(f"solver {type(model.solver).__name__}, dt {model.dt} ms, float32")
    return prep


def prepare_hand_scan(currents, duration_ms, dt, record, scheme="exp_euler", expm1=None):
    import jax.numpy as jnp

    params = {k: jnp.asarray(v, jnp.float32) for k, v in HH.items()}
    fn = hand_written_hh(dt, scheme, expm1)
    prep = _prepare_jax(fn, params, currents, duration_ms, dt, record, lambda o: o)
    prep.notes.append(f"hand-written lax.scan, scheme {scheme}, float32")
    return prep


# --------------------------------------------------------------------------------------------
# jaxley
# --------------------------------------------------------------------------------------------
def prepare_jaxley(currents, duration_ms, dt, record):
    import jax
    import jax.numpy as jnp
    import jaxley as jx
    from jaxley.channels import HH as JxHH

    n_steps = round(duration_ms / dt)
    t0 = time.perf_counter()
    cell = jx.Cell(jx.Branch(jx.Compartment(), ncomp=1), parents=[-1])
    cell.insert(JxHH())
    radius = 10.0
    cell.set("radius", radius)
    cell.set("length", AREA_UM2 / (2 * np.pi * radius))  # lateral area, as jaxley computes it
    cell.set("capacitance", HH["c_m"])
    for k, v in dict(
        HH_gNa=HH["g_na"] / 1e3,  # S/cm²
        HH_gK=HH["g_k"] / 1e3,
        HH_gLeak=HH["g_l"] / 1e3,
        HH_eNa=HH["e_na"],
        HH_eK=HH["e_k"],
        HH_eLeak=HH["e_l"],
    ).items():
        cell.set(k, v)
    cell.set("v", HH["v_init"])
    cell.init_states()  # gates at x∞(v_init)
    cell.record("v", verbose=False)
    area = float(cell.nodes["area"].iloc[0])
    if abs(area - AREA_UM2) > 1e-3 * AREA_UM2:
        raise RuntimeError(f"jaxley compartment area {area} µm² != {AREA_UM2}")

    def simulate(amp_na):
        stim = cell.data_stimulate(jnp.full((n_steps,), amp_na, dtype=jnp.float32))
        return jx.integrate(cell, data_stimuli=stim, delta_t=dt)[0]  # v [T + 1]

    amps = jnp.asarray(currents, dtype=jnp.float32)  # nA ≙ µA/cm² at this area
    batched = jax.jit(jax.vmap(simulate))
    setup = time.perf_counter() - t0
    t0 = time.perf_counter()
    compiled = batched.lower(amps).compile()
    compile_s = time.perf_counter() - t0

    def run():
        return jax.block_until_ready(compiled(amps))

    def traces(v):
        return np.arange(n_steps + 1) * dt, np.asarray(v, dtype=np.float64)

    def counts(v):
        v = np.asarray(v)
        return ((v[:, :-1] < HH["v_spike"]) & (v[:, 1:] >= HH["v_spike"])).sum(axis=1)

    return Prepared(
        run=run,
        spike_counts=counts,
        traces=traces,
        compile_s=compile_s,
        compile_note="jit(vmap(jx.integrate)).lower().compile()",
        setup_s=setup,
        dt_ms=dt,
        xla_memory=xla_memory(compiled),
        input_mb=amps.nbytes / 2**20,
        device=jax_device(),
        notes=[
            "jaxley HH channel (rates identical to NEURON hh at 6.3 °C; no temperature factor); "
            "solver bwd_euler (implicit voltage, exponential gates), float32; stimulus built as "
            "a [T] array per cell inside jit; records v at every step"
        ],
    )


# --------------------------------------------------------------------------------------------
# NEURON
# --------------------------------------------------------------------------------------------
def prepare_neuron(currents, duration_ms, dt, record, threads: int = 1, use_table: bool = True):
    from neuron import h

    h.load_file("stdrun.hoc")
    t0 = time.perf_counter()
    diam = math.sqrt(AREA_UM2 / math.pi)  # L = diam: lateral area π·d·L = 1e5 µm²
    cells = []
    for i, amp in enumerate(np.asarray(currents, dtype=float)):
        sec = h.Section(name=f"hh{i}")
        sec.nseg, sec.L, sec.diam, sec.cm = 1, diam, diam, HH["c_m"]
        sec.insert("hh")
        seg = sec(0.5)
        seg.hh.gnabar, seg.hh.gkbar, seg.hh.gl, seg.hh.el = (
            HH["g_na"] / 1e3,
            HH["g_k"] / 1e3,
            HH["g_l"] / 1e3,
            HH["e_l"],
        )
        sec.ena, sec.ek = HH["e_na"], HH["e_k"]
        stim = h.IClamp(seg)
        stim.delay, stim.dur, stim.amp = 0.0, 1e9, float(amp)  # nA ≙ µA/cm² at this area
        spikes = h.Vector()
        nc = h.NetCon(seg._ref_v, None, sec=sec)
        nc.threshold = HH["v_spike"]
        nc.record(spikes)
        rec = None
        if record:
            rec = h.Vector()
            rec.record(seg._ref_v)
        cells.append((sec, stim, nc, spikes, rec))
    area = cells[0][0](0.5).area()
    if abs(area - AREA_UM2) > 1e-6 * AREA_UM2:
        raise RuntimeError(f"NEURON segment area {area} µm² != {AREA_UM2}")
    h.celsius = HH["celsius"]
    h.dt = dt
    h.steps_per_ms = 1.0 / dt
    h.cvode_active(0)
    h.usetable_hh = 1 if use_table else 0
    pc = h.ParallelContext()
    pc.nthread(threads)
    setup = time.perf_counter() - t0

    def before_run():
        h.finitialize(HH["v_init"])

    def run():
        h.continuerun(duration_ms)
        return None

    def counts(_):
        return np.array([len(c[3]) for c in cells])

    def traces(_):
        v = np.array([np.asarray(c[4]) for c in cells])
        return np.arange(v.shape[1]) * dt, v

    def teardown():
        pc.nthread(1)
        h.usetable_hh = 1
        cells.clear()
        gc.collect()

    from neuron import __version__ as nrn_version

    return Prepared(
        run=run,
        spike_counts=counts,
        traces=traces if record else None,
        compile_s=None,
        compile_note="n/a: mechanisms are compiled when NEURON is built; setup_s is model build",
        setup_s=setup,
        dt_ms=dt,
        device=f"cpu (NEURON {nrn_version}, {threads} thread{'s' if threads > 1 else ''})",
        notes=[
            f"fixed step dt={dt}, cvode off, secondorder=0 (implicit Euler for v, cnexp gates), "
            f"usetable_hh={1 if use_table else 0}; finitialize({HH['v_init']}) + continuerun; "
            "timed run records spikes by NetCon only (traces only in the accuracy run)"
        ],
        before_run=before_run,
        teardown=teardown,
    )


# --------------------------------------------------------------------------------------------
# Brian2
# --------------------------------------------------------------------------------------------
_BRIAN_CACHE = {"dir": None}


def brian2_cache(cold: bool) -> None:
    """Point Brian2's Cython cache at a fresh directory (cold) or leave the user's (warm)."""
    _BRIAN_CACHE["dir"] = tempfile.mkdtemp(prefix="brian2-cython-") if cold else None


def prepare_brian2(currents, duration_ms, dt, record, target: str = "cython"):
    import brian2 as b2

    b2.prefs.codegen.target = target
    if target == "cython" and _BRIAN_CACHE["dir"]:
        b2.prefs.codegen.runtime.cython.cache_dir = _BRIAN_CACHE["dir"]
    b2.defaultclock.dt = dt * b2.ms
    t0 = time.perf_counter()
    eqs = """
    dv/dt = (I_ext - g_na*m**3*h*(v - E_na) - g_k*n**4*(v - E_k) - g_l*(v - E_l))/C_m : volt
    dm/dt = phi*(alpha_m*(1 - m) - beta_m*m) : 1
    dh/dt = phi*(alpha_h*(1 - h) - beta_h*h) : 1
    dn/dt = phi*(alpha_n*(1 - n) - beta_n*n) : 1
    alpha_m = 1.0/exprel(-(v + 40*mV)/(10*mV))/ms : Hz
    beta_m = 4.0*exp(-(v + 65*mV)/(18*mV))/ms : Hz
    alpha_h = 0.07*exp(-(v + 65*mV)/(20*mV))/ms : Hz
    beta_h = 1.0/(exp(-(v + 35*mV)/(10*mV)) + 1)/ms : Hz
    alpha_n = 0.1/exprel(-(v + 55*mV)/(10*mV))/ms : Hz
    beta_n = 0.125*exp(-(v + 65*mV)/(80*mV))/ms : Hz
    I_ext : amp/meter**2
    """  # 0.1·vtrap(x, 10) = 0.1·10/exprel(x/10) = 1/exprel(x/10); 0.01·vtrap = 0.1/exprel
    ns = dict(
        C_m=HH["c_m"] * b2.uF / b2.cm**2,
        g_na=HH["g_na"] * b2.msiemens / b2.cm**2,
        g_k=HH["g_k"] * b2.msiemens / b2.cm**2,
        g_l=HH["g_l"] * b2.msiemens / b2.cm**2,
        E_na=HH["e_na"] * b2.mV,
        E_k=HH["e_k"] * b2.mV,
        E_l=HH["e_l"] * b2.mV,
        phi=3.0 ** ((HH["celsius"] - 6.3) / 10.0),
    )
    # Fixed names, so that code (and its compiled Cython) is shared across population sizes.
    group = b2.NeuronGroup(
        len(currents),
        eqs,
        method="exponential_euler",
        threshold="v > 0*mV",
        refractory="v > 0*mV",  # one event per upward crossing
        namespace=ns,
        name="hh",
    )
    group.v = HH["v_init"] * b2.mV
    group.m, group.h, group.n = rest_gates(HH["v_init"])
    group.I_ext = np.asarray(currents, dtype=float) * b2.uA / b2.cm**2
    spikes = b2.SpikeMonitor(group, name="hh_spikes")
    objects = [group, spikes]
    state = None
    if record:
        state = b2.StateMonitor(group, "v", record=True, when="end", name="hh_v")
        objects.append(state)
    net = b2.Network(*objects, name="hh_net")
    net.store("start")
    setup = time.perf_counter() - t0

    def before_run():
        net.restore("start")

    def run():
        net.run(duration_ms * b2.ms, report=None)
        return None

    def counts(_):
        return np.asarray(spikes.count[:])

    def traces(_):
        v = np.asarray(state.v / b2.mV, dtype=np.float64)  # after each step ('end' slot)
        v = np.concatenate([np.full((v.shape[0], 1), HH["v_init"]), v], axis=1)
        return np.arange(v.shape[1]) * dt, v

    def teardown():
        objects.clear()
        gc.collect()

    return Prepared(
        run=run,
        spike_counts=counts,
        traces=traces if record else None,
        compile_s=None,
        compile_note="first run minus best later run (code generation + Cython build)",
        setup_s=setup,
        dt_ms=dt,
        device=f"cpu (Brian2 {b2.__version__} runtime, codegen target '{b2.prefs.codegen.target}')",
        notes=[
            f"Brian2 runtime mode, target '{target}', exponential_euler, float64; Network.restore() "
            "untimed, run() timed (includes its per-run code-object preparation); "
            "SpikeMonitor only in the timed run"
        ],
        compile_from_first_run=True,
        before_run=before_run,
        teardown=teardown,
    )
