"""COBA (Vogels & Abbott 2005; Brette et al. 2007 benchmark 1) on jaxneuro.networks.

``networks.coba(n)``: 0.8 n E + 0.2 n I LIF cells, p = 0.02, weights × 4000 / n, background
I_b = 0.2 nA (20 mV), voltages uniform in [−60, −50] mV, dt = 0.1 ms, float32. Per size and
delivery method: compile time (``jit(...).lower(...).compile()``) apart from run time, best of
``--repeats`` interleaved runs (wall and process CPU), seconds per simulated second, and the
firing statistics beside the times (mean E and I rates over the run, mean CV of E interspike
intervals), because simulators that disagree silently are not faster. Ratios between methods
measured in one run are what matter on shared CPUs; absolute times only on a quiet machine.

    python benchmarks/networks.py --sweep              # delivery methods, 400 and 4000 × 1 s
    python benchmarks/networks.py --sweep --sizes 400 --duration 200 --methods dense events

The standard networks against their peers (the default, without ``--sweep``): COBA 4,000 and
40,000 cells, CUBA 4,000 and Brunel (2000) 12,500 cells (regime C, 1.5 ms delay), each 5 s at
dt 0.1 ms, in jaxneuro (event-driven delivery, float32, the run streamed in 100 ms chunks with
the statistics reduced inside: rates of all cells, ISI CV of the first 500 E cells), Brian2
runtime (Cython) and Brian2 C++ standalone (one thread; build time apart) on the same graphs
(``_brian2_networks.py``, run in a fresh process of ``--peer-python``), and BrainPy's COBA when
``--brainpy-python`` imports it (``_brainpy_coba.py``)::

    python benchmarks/networks.py --peer-python /work/peers-venv/bin/python \
        --brainpy-python /work/brainpy-venv/bin/python
    python benchmarks/networks.py --networks coba:4000 --duration 1000 --peers brian2-cpp
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _brian2_networks as brian2_peer  # noqa: E402
from _harness import Timings, fmt, format_table, machine_info, timed, write_json  # noqa: E402

from jaxneuro import networks  # noqa: E402

METHODS = {
    "dense": ("dense", "dense"),
    "events": ("sparse", "events"),
    "gather": ("sparse", "gather"),
}
DENSE_MAX = 4000
"""Dense delivery above this size is skipped (it grows as n²)."""


def build(n: int, method: str, seed: int):
    fmt_, how = METHODS[method]
    net = networks.coba(n, seed=seed, format=fmt_)
    if how != "auto":
        projections = [
            networks.Projection(p.pre, p.post, p.channel, p.connectivity, method=how)
            for p in net.projections
        ]
        net = networks.Network(net.populations, projections, net.inputs)
    return net


def statistics(raster: np.ndarray, dt: float) -> tuple[float, float]:
    """Mean rate (spikes/s) and mean CV of interspike intervals (cells with ≥ 3 spikes)."""
    rate = raster.mean() * 1000.0 / dt
    t, cell = np.nonzero(raster)
    cvs = []
    for c in np.unique(cell):
        isi = np.diff(t[cell == c])
        if isi.size >= 2:
            cvs.append(isi.std() / isi.mean())
    return float(rate), float(np.mean(cvs)) if cvs else float("nan")


def run(n: int, method: str, duration: float, repeats: int, seed: int) -> dict:
    net = build(n, method, seed)
    params = net.init()
    state = networks.coba_state(net, params, jax.random.key(seed))
    steps = round(duration / net.dt)
    x = networks.coba_input(steps)
    (compiled, compile_wall, compile_cpu, _) = timed(
        lambda: jax.jit(net.apply).lower(params, x, state).compile()
    )
    times = Timings()
    for _ in range(repeats):
        (out, _), wall, cpu, rss = timed(lambda: jax.block_until_ready(compiled(params, x, state)))
        times.add(wall, cpu, rss)
    rate_e, cv_e = statistics(np.asarray(out["E.spikes"]), net.dt)
    rate_i, _ = statistics(np.asarray(out["I.spikes"]), net.dt)
    return dict(
        n=n,
        method=method,
        duration_ms=duration,
        compile_s=compile_wall,
        compile_cpu_s=compile_cpu,
        wall_s=times.best_wall,
        cpu_s=times.best_cpu,
        s_per_sim_s=times.best_wall / (duration / 1000.0),
        peak_rss_mb=times.peak_rss,
        rate_e_hz=rate_e,
        rate_i_hz=rate_i,
        cv_e=cv_e,
        synapses=sum(p.connectivity.n_synapses for p in net.projections),
    )


def sweep(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sweep", action="store_true")
    ap.add_argument("--sizes", type=int, nargs="+", default=[400, 4000])
    ap.add_argument("--methods", nargs="+", default=["dense", "events", "gather"])
    ap.add_argument("--duration", type=float, default=1000.0, help="ms")
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--out", type=Path, default=Path(__file__).parent / "results" / "networks_methods.json"
    )
    args = ap.parse_args(argv)
    rows = []
    for n in args.sizes:
        for method in args.methods:
            if method == "dense" and n > DENSE_MAX:
                continue
            r = run(n, method, args.duration, args.repeats, args.seed)
            rows.append(r)
            print(
                f"n={n} {method}: {r['s_per_sim_s']:.2f} s per simulated s, compile "
                f"{r['compile_s']:.1f} s, E {r['rate_e_hz']:.1f} Hz",
                flush=True,
            )
    for n in args.sizes:  # ratios within one run
        base = {r["method"]: r["wall_s"] for r in rows if r["n"] == n}
        for r in rows:
            if r["n"] == n and "events" in base:
                r["wall_vs_events"] = r["wall_s"] / base["events"]
    headers = [
        "n",
        "method",
        "compile s",
        "run s",
        "s / sim s",
        "vs events",
        "E Hz",
        "I Hz",
        "CV E",
    ]
    table = [
        [
            r["n"],
            r["method"],
            fmt(r["compile_s"]),
            fmt(r["wall_s"]),
            fmt(r["s_per_sim_s"]),
            fmt(r.get("wall_vs_events")),
            fmt(r["rate_e_hz"]),
            fmt(r["rate_i_hz"]),
            fmt(r["cv_e"]),
        ]
        for r in rows
    ]
    print(format_table(headers, table, markdown=True))
    write_json(
        args.out,
        dict(
            benchmark="COBA (networks.coba), float32, dt 0.1 ms",
            args={k: str(v) for k, v in vars(args).items()},
            machine=machine_info(("jax", "jaxlib", "equinox", "numpy")),
            jax_version=jax.__version__,
            results=rows,
        ),
    )


# --- the standard networks against Brian2 and BrainPy ----------------------------------------
CV_CELLS = 500
"""ISI CVs are averaged over the first this many E cells (all simulators alike)."""

CHUNK = 1000
"""Samples per streamed chunk of a jaxneuro run (100 ms at dt 0.1 ms)."""


def build_standard(kind: str, n: int, seed: int):
    """``(network, params, state, drive, brian2 extras)`` of one standard network."""
    if kind == "brunel":
        g, eta = networks.BRUNEL_REGIMES["C"]
        n_e = n * 4 // 5
        net = networks.brunel(n_e, n - n_e, g=g, eta=eta, seed=seed)
        params = net.init()
        state = networks.brunel_state(net, params, jax.random.key(seed))
        lam = networks.brunel_rate(net, eta) * net.dt
        width = net.spec.n_inputs
        j = float(params["populations"]["E"]["synapses"]["ext"]["weight"])
        extra = dict(
            j=j,
            c_ext=round(0.1 * n_e),
            nu_ext_hz=eta * 10.0,
            tau_m=20.0,
            theta=20.0,
            v_reset=10.0,
        )
        return net, params, state, lambda k, m: networks.poisson_drive(k, m, width, lam), extra
    net = getattr(networks, kind)(n, seed=seed)
    params = net.init()
    state = networks.coba_state(net, params, jax.random.key(seed))
    make = networks.coba_input if kind == "coba" else networks.cuba_input
    return net, params, state, lambda k, m: make(m), {}


def simulate(net, params, state, drive, steps: int, key):
    """Run ``steps`` samples in chunks; per chunk keep the spike counts per cell and the raster of
    the first :data:`CV_CELLS` E cells (the whole raster of 40,000 cells × 5 s would not fit)."""

    def body(s, k):
        out, s = net.apply(params, drive(k, CHUNK), s)
        counts = {p: out[f"{p}.spikes"].sum(0) for p in ("E", "I")}
        return s, (counts, out["E.spikes"][:, :CV_CELLS].astype(jnp.uint8))

    _, (counts, sub) = jax.lax.scan(body, state, jax.random.split(key, steps // CHUNK))
    return {p: c.sum(0) for p, c in counts.items()}, sub.reshape(steps, -1)


def jaxneuro_row(kind: str, n: int, duration: float, repeats: int, seed: int) -> dict:
    net, params, state, drive, _ = build_standard(kind, n, seed)
    steps = round(duration / net.dt)
    key = jax.random.key(seed + 1)
    fn = jax.jit(lambda p, s, k: simulate(net, p, s, drive, steps, k))
    compiled, compile_wall, _, _ = timed(lambda: fn.lower(params, state, key).compile())
    times = Timings()
    for _ in range(repeats):
        res, wall, cpu, rss = timed(lambda: jax.block_until_ready(compiled(params, state, key)))
        times.add(wall, cpu, rss)
    counts, sub = res
    seconds = duration / 1000.0
    t, cell = np.nonzero(np.asarray(sub))
    cv = brian2_peer.statistics(cell, t, CV_CELLS, steps, net.dt, 0.0)["cv"]
    return dict(
        network=kind,
        n=n,
        simulator="jaxneuro",
        duration_ms=duration,
        compile_s=compile_wall,
        run_s=times.best_wall,
        cpu_s=times.best_cpu,
        peak_rss_mb=times.peak_rss,
        rate_e_hz=float(np.asarray(counts["E"]).mean() / seconds),
        rate_i_hz=float(np.asarray(counts["I"]).mean() / seconds),
        cv_e=cv,
        synapses=sum(p.connectivity.n_synapses for p in net.projections),
    )


def brian2_row(kind, n, duration, seed, device, python) -> dict:
    net, params, state, _, extra = build_standard(kind, n, seed)
    spec = brian2_peer.network_spec(net, params, state, kind, duration, seed, **extra)
    spec.update(device=device, cv_cells=CV_CELLS)
    r = brian2_peer.run_subprocess(spec, python)
    return dict(
        network=kind,
        n=n,
        simulator=f"brian2-{'cpp' if device == 'cpp_standalone' else 'runtime'}",
        duration_ms=duration,
        compile_s=r["build_s"],
        run_s=r["run_s"],
        wall_s=r["wall_s"],
        rate_e_hz=r["E"]["rate"],
        rate_i_hz=r["I"]["rate"],
        cv_e=r["E"]["cv"],
        version=r["brian2_version"],
    )


def brainpy_row(n, duration, python) -> dict:
    script = Path(__file__).resolve().parent / "_brainpy_coba.py"
    res = subprocess.run(
        [python, str(script), str(n), str(duration), str(CV_CELLS)],
        capture_output=True,
        text=True,
        timeout=3600,
    )
    if res.returncode:
        raise RuntimeError(res.stderr[-2000:])
    r = json.loads(res.stdout.strip().splitlines()[-1])
    return dict(network="coba", n=n, simulator="brainpy", duration_ms=duration, **r)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if "--sweep" in argv:
        return sweep(argv)
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--networks",
        nargs="+",
        default=["coba:4000", "coba:40000", "cuba:4000", "brunel:12500"],
        help="kind:cells[:ms] (ms default --duration)",
    )
    ap.add_argument("--duration", type=float, default=5000.0, help="ms")
    ap.add_argument("--peers", nargs="*", default=["brian2-runtime", "brian2-cpp", "brainpy"])
    ap.add_argument("--peer-python", default=sys.executable, help="a python with brian2")
    ap.add_argument("--brainpy-python", default=None, help="a python with brainpy")
    ap.add_argument(
        "--repeats", type=int, default=1, help="runs of jaxneuro and of each Brian2 (best counts)"
    )
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "networks.json")
    args = ap.parse_args(argv)
    rows = []

    def report(r):
        rows.append(r)
        print(
            f"{r['network']} {r['n']} {r['simulator']}: run {r['run_s']:.2f} s, compile "
            f"{fmt(r.get('compile_s'))} s, E {r['rate_e_hz']:.1f} Hz, CV {r['cv_e']:.2f}",
            flush=True,
        )

    for item in args.networks:
        kind, n, *ms = item.split(":")
        n, duration = int(n), float(ms[0]) if ms else args.duration
        report(jaxneuro_row(kind, n, duration, args.repeats, args.seed))
        for peer in args.peers:
            try:
                if peer == "brainpy":
                    if kind == "coba" and args.brainpy_python:
                        report(brainpy_row(n, duration, args.brainpy_python))
                    continue
                device = "cpp_standalone" if peer == "brian2-cpp" else "runtime"
                runs = [
                    brian2_row(kind, n, duration, args.seed, device, args.peer_python)
                    for _ in range(args.repeats)
                ]  # each a fresh process (and, standalone, a fresh build): the best run counts
                report(dict(min(runs, key=lambda r: r["run_s"]), runs=len(runs)))
            except Exception as e:  # noqa: BLE001 - a peer that fails is reported, not fatal
                print(f"{item} {peer}: failed: {e}", flush=True)
                rows.append(dict(network=kind, n=n, simulator=peer, error=str(e)[-500:]))
    for r in rows:  # ratios within one run: peer time / jaxneuro time (> 1: jaxneuro faster)
        ours = next(
            (q for q in rows if q["simulator"] == "jaxneuro" and q["n"] == r["n"]
             and q["network"] == r["network"]),
            None,
        )  # fmt: skip
        if ours and "run_s" in r:
            r["time_vs_jaxneuro"] = r["run_s"] / ours["run_s"]
    headers = ["network", "cells", "simulator", "compile/build s", "run s", "s / sim s",
               "peer / jaxneuro", "E Hz", "I Hz", "CV E"]  # fmt: skip
    table = [
        [
            r["network"],
            r["n"],
            r["simulator"],
            fmt(r.get("compile_s")),
            fmt(r.get("run_s")),
            fmt(r["run_s"] / (r["duration_ms"] / 1000.0)) if "run_s" in r else None,
            fmt(r.get("time_vs_jaxneuro")),
            fmt(r.get("rate_e_hz")),
            fmt(r.get("rate_i_hz")),
            fmt(r.get("cv_e")),
        ]
        for r in rows
    ]
    print(format_table(headers, table, markdown=True))
    write_json(
        args.out,
        dict(
            benchmark="standard networks (COBA, CUBA, Brunel C), dt 0.1 ms; jaxneuro float32, "
            "Brian2 float64; run time apart from compile/build; CV over the first "
            f"{CV_CELLS} E cells",
            args={k: str(v) for k, v in vars(args).items()},
            machine=machine_info(("jax", "jaxlib", "equinox", "numpy")),
            jax_version=jax.__version__,
            results=rows,
        ),
    )


if __name__ == "__main__":
    main()
