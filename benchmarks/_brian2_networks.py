"""The standard networks (COBA, CUBA, Brunel 2000) in Brian2, on jaxneuro's graphs and conventions.

Each run happens in a fresh process (``python benchmarks/_brian2_networks.py SPEC.npz OUT.json``),
so runtime (Cython) and C++ standalone runs never share Brian2's global device state. The spec
carries the graph drawn by jaxneuro (``pre``/``post``/``weight`` per projection), the initial
voltages and the run's settings, so both simulators integrate the same network; only the random
numbers of the Poisson drive (Brunel) differ.

Conventions matched to jaxneuro (``reference/cortical_circuit.md`` §3.4):

* integration: ``exponential_euler`` (COBA, CUBA: the voltage step with the synaptic terms frozen
  over the step, the synapses decaying exactly — jaxneuro's :class:`ExponentialEuler`); ``exact``
  for Brunel's δ synapses; float64 in Brian2, float32 in jaxneuro (statistics, not trajectories,
  are compared);
* delays: jaxneuro's zero delay is one sample; Brian2's on_pre of a zero-delay synapse acts after
  the threshold of the emitting step, i.e. one step later in the voltage (the same). For a delay
  of ``D`` samples Brian2 adds one step more (its synapses act after the state update), so the
  Brian2 delay is ``D − 1`` samples;
* refractoriness: jaxneuro clamps ``v`` at reset for ``round(t_ref / dt)`` samples after the
  spike sample; Brian2's ``(unless refractory)`` frees ``v`` one step earlier, so its refractory
  period is ``t_ref + dt``. Synaptic conductances and currents keep integrating while refractory
  in both; δ inputs arriving while refractory are discarded in both (NEST's convention:
  ``int(not_refractory_post)`` in Brian2);
* thresholds ``v > θ``, reset ``v = V_reset`` at the emitting step.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def statistics(i, t_steps, n: int, steps: int, dt: float, transient_ms: float) -> dict:
    """Rate (Hz), mean ISI CV (cells with ≥ 3 spikes) and population Fano factor (1 ms bins) from
    spike indices ``i`` and sample numbers ``t_steps``, after ``transient_ms``."""
    first = round(transient_ms / dt)
    keep = t_steps >= first
    i, t = np.asarray(i)[keep], np.asarray(t_steps)[keep] - first
    duration_s = (steps - first) * dt / 1000.0
    rate = i.size / n / duration_s
    order = np.lexsort((t, i))
    i, t = i[order], t[order]
    cvs = []
    for times in np.split(t, np.flatnonzero(np.diff(i)) + 1):
        if times.size >= 3:
            isi = np.diff(times).astype(np.float64)
            cvs.append(isi.std() / isi.mean())
    width = max(1, round(1.0 / dt))
    n_bins = (steps - first) // width
    counts = np.bincount(t // width, minlength=n_bins)[:n_bins]
    mean = counts.mean() if n_bins else 0.0
    return dict(
        rate=float(rate),
        cv=float(np.mean(cvs)) if cvs else float("nan"),
        n_cv=len(cvs),
        fano=float(counts.var() / mean) if mean > 0 else float("nan"),
    )


def run(spec: dict) -> dict:
    import brian2 as b2

    device = str(spec.get("device", "runtime"))
    if device == "cpp_standalone":
        build_dir = tempfile.mkdtemp(prefix="brian2-standalone-")
        b2.set_device("cpp_standalone", directory=build_dir, build_on_run=False)
        b2.prefs.devices.cpp_standalone.openmp_threads = 0
    else:
        b2.prefs.codegen.target = str(spec.get("target", "cython"))
    dt = float(spec["dt"])
    b2.defaultclock.dt = dt * b2.ms
    seed = int(spec["seed"])
    b2.seed(seed)
    kind = str(spec["kind"])
    sizes = {"E": int(spec["n_E"]), "I": int(spec["n_I"])}
    t_ref = float(spec["t_ref"]) + dt  # see the module docstring
    t0 = time.perf_counter()
    groups = {}
    if kind == "coba":
        eqs = """
        dv/dt = (ge*(Ee - v) + gi*(Ei - v) - (v - El) + Ib)/taum : volt (unless refractory)
        dge/dt = -ge/taue : 1
        dgi/dt = -gi/taui : 1
        """
        ns = dict(
            Ee=0 * b2.mV, Ei=-80 * b2.mV, El=-60 * b2.mV, Ib=20 * b2.mV, taum=20 * b2.ms,
            taue=5 * b2.ms, taui=10 * b2.ms, Vt=-50 * b2.mV, Vr=-60 * b2.mV,
        )  # fmt: skip
        method, on_pre = "exponential_euler", {"E": "ge += w", "I": "gi += w"}
    elif kind == "cuba":
        eqs = """
        dv/dt = (ge + gi - (v - El))/taum : volt (unless refractory)
        dge/dt = -ge/taue : volt
        dgi/dt = -gi/taui : volt
        """
        ns = dict(
            El=-49 * b2.mV, taum=20 * b2.ms, taue=5 * b2.ms, taui=10 * b2.ms,
            Vt=-50 * b2.mV, Vr=-60 * b2.mV,
        )  # fmt: skip
        method, on_pre = "exponential_euler", {"E": "ge += w*mV", "I": "gi += w*mV"}
    elif kind == "brunel":
        eqs = "dv/dt = -v/taum : volt (unless refractory)"
        ns = dict(taum=float(spec["tau_m"]) * b2.ms, Vt=float(spec["theta"]) * b2.mV)
        ns["Vr"] = float(spec["v_reset"]) * b2.mV
        method = "exact"
        on_pre = {p: "v_post += w*mV*int(not_refractory_post)" for p in "EI"}
    else:
        raise ValueError(kind)
    for name, n in sizes.items():
        grp = b2.NeuronGroup(
            n, eqs, threshold="v > Vt", reset="v = Vr", refractory=t_ref * b2.ms,
            method=method, namespace=ns, name=f"pop_{name}",
        )  # fmt: skip
        grp.v = np.asarray(spec[f"v0_{name}"], np.float64) * b2.mV
        groups[name] = grp
    objects = list(groups.values())
    for a in "EI":
        for b in "EI":
            syn = b2.Synapses(
                groups[a], groups[b], "w : 1", on_pre=on_pre[a], namespace=ns,
                name=f"syn_{a}{b}",
            )  # fmt: skip
            pre = np.asarray(spec[f"pre_{a}{b}"], np.int64)
            if pre.size == 0:
                continue
            syn.connect(i=pre, j=np.asarray(spec[f"post_{a}{b}"], np.int64))
            syn.w = np.asarray(spec[f"w_{a}{b}"], np.float64)
            delay_steps = int(spec["delay_steps"])
            if delay_steps > 1:
                syn.delay = (delay_steps - 1) * dt * b2.ms
            objects.append(syn)
    if kind == "brunel":
        j = float(spec["j"])
        for grp in groups.values():
            objects.append(
                b2.PoissonInput(
                    grp,
                    "v",
                    int(spec["c_ext"]),
                    float(spec["nu_ext_hz"]) * b2.Hz,
                    weight=f"{j}*mV*int(not_refractory)",
                )  # fmt: skip
            )
    monitors = {name: b2.SpikeMonitor(grp) for name, grp in groups.items()}
    net = b2.Network(*objects, *monitors.values())
    duration = float(spec["duration"])
    setup = time.perf_counter() - t0
    warm = 0.0
    if device != "cpp_standalone":  # code generation and Cython compilation apart: one step
        net.store()
        t1 = time.perf_counter()
        net.run(dt * b2.ms, report=None)
        warm = time.perf_counter() - t1
        net.restore()
    t1 = time.perf_counter()
    net.run(duration * b2.ms, report=None)
    if device == "cpp_standalone":
        b2.device.build(run=False, directory=None)
        build = time.perf_counter() - t1
        t2 = time.perf_counter()
        b2.device.run()
        wall = time.perf_counter() - t2
        run_s = float(b2.device._last_run_time)
    else:
        wall = run_s = time.perf_counter() - t1
        build = warm
    steps = round(duration / dt)
    out = dict(kind=kind, device=device, setup_s=setup, build_s=build, run_s=run_s, wall_s=wall)
    for name, mon in monitors.items():
        t_steps = np.round(np.asarray(mon.t / b2.ms) / dt).astype(np.int64)
        i = np.asarray(mon.i)
        cells = int(spec.get("cv_cells", 0))
        out[name] = statistics(i, t_steps, sizes[name], steps, dt, float(spec["transient"]))
        if cells and name == "E":  # the CV over the first `cells` cells, as jaxneuro reports
            keep = i < cells
            cv = statistics(i[keep], t_steps[keep], cells, steps, dt, float(spec["transient"]))
            out[name]["cv"] = cv["cv"]
        if int(spec.get("return_spikes", 0)):
            out[name]["i"], out[name]["t"] = np.asarray(mon.i).tolist(), t_steps.tolist()
    out["brian2_version"] = b2.__version__
    return out


def run_subprocess(spec: dict, python: str | None = None, timeout: float = 1800.0) -> dict:
    """Run :func:`run` on ``spec`` in a fresh process of ``python`` (default: this one)."""
    import subprocess

    with tempfile.TemporaryDirectory() as d:
        path, out = Path(d) / "spec.npz", Path(d) / "out.json"
        np.savez(path, **{k: np.asarray(v) for k, v in spec.items()})
        cmd = [python or sys.executable, str(Path(__file__).resolve()), str(path), str(out)]
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        if res.returncode:
            raise RuntimeError(f"Brian2 run failed:\n{res.stderr[-3000:]}")
        return json.loads(out.read_text())


def network_spec(net, params, state, kind: str, duration: float, seed: int, **extra) -> dict:
    """The spec of a jaxneuro network from ``networks.coba``/``cuba``/``brunel``: its graph,
    weights in Brian2's units (COBA: g_L multiples; CUBA, Brunel: mV), initial voltages."""
    e = net.populations["E"]
    p = params["populations"]["E"]
    syn = p["synapses"]
    spec = dict(
        kind=kind, dt=net.dt, seed=seed, duration=duration, n_E=e.size,
        n_I=net.populations["I"].size, t_ref=float(p["t_ref"]), transient=0.0,
    )  # fmt: skip
    for name in "EI":
        spec[f"v0_{name}"] = np.asarray(state["populations"][name]["v"], np.float64)
    delay_steps = 1
    for proj in net.projections:
        key = f"{proj.pre}{proj.post}"
        pre, post, w, _ = proj.connectivity.synapses()
        unit = syn[proj.channel]["weight"]
        if kind in ("coba", "cuba"):
            unit = unit * p["r_m"]  # µS·MΩ → g_L multiples; nA·MΩ → mV
        w = np.asarray(w, np.float64) * float(unit)
        spec[f"pre_{key}"], spec[f"post_{key}"], spec[f"w_{key}"] = pre, post, w
        delay_steps = max(delay_steps, int(proj.samples(net.dt).max(initial=1)))
    spec["delay_steps"] = delay_steps
    spec.update(extra)
    return spec


if __name__ == "__main__":
    spec = dict(np.load(sys.argv[1]))
    Path(sys.argv[2]).write_text(json.dumps(run(spec)))
