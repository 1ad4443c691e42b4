"""COBA (Vogels & Abbott 2005; Brette et al. 2007 benchmark 1) on jaxneuro.networks.

``networks.coba(n)``: 0.8 n E + 0.2 n I LIF cells, p = 0.02, weights × 4000 / n, background
I_b = 0.2 nA (20 mV), voltages uniform in [−60, −50] mV, dt = 0.1 ms, float32. Per size and
delivery method: compile time (``jit(...).lower(...).compile()``) apart from run time, best of
``--repeats`` interleaved runs (wall and process CPU), seconds per simulated second, and the
firing statistics beside the times (mean E and I rates over the run, mean CV of E interspike
intervals), because simulators that disagree silently are not faster. Ratios between methods
measured in one run are what matter on shared CPUs; absolute times only on a quiet machine.

    python benchmarks/networks.py                      # 400 and 4000 cells × 1 s (~3 min)
    python benchmarks/networks.py --sizes 400 --duration 200 --methods dense events
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import jax
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
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


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[400, 4000])
    ap.add_argument("--methods", nargs="+", default=["dense", "events", "gather"])
    ap.add_argument("--duration", type=float, default=1000.0, help="ms")
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "networks.json")
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


if __name__ == "__main__":
    main()
