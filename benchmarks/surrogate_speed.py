"""Teacher vs shipped surrogate: simulated cell-seconds per wall second, batch by batch.

For each shipped surrogate (``jaxneuro.pretrained()``) and its analytical teacher, both run the
same batch of stimuli from the surrogate's training distribution (``jax.jit(jax.vmap(apply))``,
compiled ahead of time with ``.lower().compile()`` so compilation is timed apart). Their
repetitions are interleaved (teacher, surrogate, teacher, surrogate, …) and each records wall
time and process CPU time (all threads); the best of each is reported, with XLA's memory
analysis. Prints a Markdown table and writes JSON with machine info. On a shared CPU, quote the
ratio, not the absolute times.

    python benchmarks/surrogate_speed.py [--sizes 1 10 100 1000 10000] [--duration-ms 1000]
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
from pathlib import Path

import jax
import numpy as np

import jaxneuro as jn
from jaxneuro._saving import read_card
from jaxneuro.data import sampler_from_description

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _harness as hn  # noqa: E402

RESULTS = Path(__file__).parent / "results"
PACKAGES = ("jaxneuro", "jax", "jaxlib", "flax", "diffrax", "equinox", "numpy")


def sampler_for(card: dict, duration_ms: float):
    """The surrogate's training stimulus distribution (as its model card records it), at
    ``duration_ms``."""
    return sampler_from_description(card["data"]["sampler"], duration_ms, card["spec"]["dt"])


def _compiled(sim, params, x):
    """AOT-compiled ``jit(vmap(apply))`` over the cells of ``x``, its compile time and XLA MB."""
    fn = jax.jit(lambda p, x: jax.vmap(sim.apply, (None, 0))(p, x)[0])
    t0 = time.perf_counter()
    c = fn.lower(params, x).compile()
    compile_s = time.perf_counter() - t0
    try:
        m = c.memory_analysis()
        parts = ("argument", "output", "temp")
        xla_mb = sum(getattr(m, f"{p}_size_in_bytes") for p in parts) / 2**20
    except Exception:  # noqa: BLE001 - not every backend reports it
        xla_mb = None
    return c, compile_s, xla_mb


def time_pair(name, card, teacher, t_params, surrogate, s_params, sampler, n, args) -> dict:
    x = np.asarray(jax.vmap(sampler)(jax.random.split(jax.random.key(0), n)))
    runs = {}
    for role, sim, p in [("teacher", teacher, t_params), ("surrogate", surrogate, s_params)]:
        c, compile_s, xla_mb = _compiled(sim, p, x)
        runs[role] = dict(fn=lambda c=c, p=p: jax.block_until_ready(c(p, x)), compile_s=compile_s,
                          xla_mb=xla_mb, timings=hn.Timings())  # fmt: skip
    for r in range(args.repeats):
        for role, info in runs.items():
            tm = info["timings"]
            if r > 0 and tm.wall and tm.wall[0] > args.max_run_s:
                continue
            out, wall, cpu, rss = hn.timed(info["fn"])
            del out
            gc.collect()
            tm.add(wall, cpu, rss)
            print(f"  {name} {role:9s} N={n:6d} round {r}: wall {wall:8.4f} s cpu {cpu:8.4f} s",
                  flush=True)  # fmt: skip
    cell_s = n * args.duration_ms / 1000.0
    row = dict(surrogate=name, teacher=card["teacher"]["name"], n=n, duration_ms=args.duration_ms)
    for role, info in runs.items():
        tm = info["timings"]
        row |= {
            f"{role}_run_s": tm.best_wall,
            f"{role}_cpu_s": tm.best_cpu,
            f"{role}_wall_s_all": tm.wall,
            f"{role}_cpu_s_all": tm.cpu,
            f"{role}_compile_s": info["compile_s"],
            f"{role}_xla_mb": info["xla_mb"],
            f"{role}_peak_rss_delta_mb": tm.peak_rss,
            f"{role}_cell_s_per_s": cell_s / tm.best_wall,
            f"{role}_runs": len(tm.wall),
        }
    row["speedup"] = row["teacher_run_s"] / row["surrogate_run_s"]
    row["speedup_cpu"] = row["teacher_cpu_s"] / row["surrogate_cpu_s"]
    return row


def table(rows) -> str:
    headers = ["surrogate", "teacher", "N", "teacher s", "surrogate s", "teacher cell-s/s",
               "surrogate cell-s/s", "speed-up (wall)", "speed-up (CPU)", "XLA MB t / s", "runs"]  # fmt: skip
    body = [
        [
            r["surrogate"],
            r["teacher"],
            f"{r['n']:,}",
            hn.fmt(r["teacher_run_s"]),
            hn.fmt(r["surrogate_run_s"]),
            hn.fmt(r["teacher_cell_s_per_s"]),
            hn.fmt(r["surrogate_cell_s_per_s"]),
            f"{r['speedup']:.2f}×",
            f"{r['speedup_cpu']:.2f}×",
            f"{hn.fmt(r['teacher_xla_mb'])} / {hn.fmt(r['surrogate_xla_mb'])}",
            f"{r['teacher_runs']} / {r['surrogate_runs']}",
        ]  # fmt: skip
        for r in rows
    ]
    return hn.format_table(headers, body, markdown=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 10, 100, 1000, 10000])
    parser.add_argument("--duration-ms", type=float, default=1000.0)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--max-run-s", type=float, default=60.0, help="don't repeat slower runs")
    parser.add_argument(
        "--only", nargs="+", default=None, help="shipped names or saved folders (default: all)"
    )
    parser.add_argument("--out", type=Path, default=RESULTS / "surrogate_speed.json")
    args = parser.parse_args()
    machine = hn.machine_info(PACKAGES)
    rows = []
    for name in args.only or jn.pretrained():
        card = read_card(name)
        surrogate, params = jn.load(name)
        teacher, teacher_params = jn.load_teacher(name)
        sampler = sampler_for(card, args.duration_ms)
        for n in args.sizes:
            rows.append(time_pair(name, card, teacher, teacher_params, surrogate, params,
                                  sampler, n, args))  # fmt: skip
            r = rows[-1]
            print(f"{name:8s} N={n:6d} teacher {r['teacher_run_s']:.4f} s  surrogate "
                  f"{r['surrogate_run_s']:.4f} s  speed-up {r['speedup']:.2f}x "
                  f"(CPU {r['speedup_cpu']:.2f}x)", flush=True)  # fmt: skip
    print("\n" + table(rows))
    machine["load_average_end"] = list(__import__("os").getloadavg())
    payload = {"machine": machine, "duration_ms": args.duration_ms, "rows": rows}
    tmp = args.out.with_suffix(".tmp")
    hn.write_json(tmp, payload)
    tmp.replace(args.out)
    print(f"\nJSON: {args.out}")


if __name__ == "__main__":
    main()
