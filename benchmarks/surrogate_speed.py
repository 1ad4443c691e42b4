"""Teacher vs shipped surrogate: simulated cell-seconds per wall second, batch by batch.

For each shipped surrogate (``jaxneuro.pretrained()``) and its analytical teacher, both run the
same batch of stimuli from the surrogate's training distribution (``jax.vmap`` of ``apply``,
one jit each, compilation timed apart: first call minus the best of the later calls). Prints a
Markdown table and writes JSON. On a shared CPU, quote the ratio, not the absolute times.

    python benchmarks/surrogate_speed.py [--sizes 1 10 100 1000] [--duration-ms 1000]
"""

from __future__ import annotations

import argparse
import json
import platform
from pathlib import Path

import jax
import numpy as np

import jaxneuro as jn
from jaxneuro._saving import read_card
from jaxneuro.evaluation import timed_run

RESULTS = Path(__file__).parent / "results"


def sampler_for(card: dict, duration_ms: float):
    """The surrogate's training stimulus distribution, at ``duration_ms``."""
    spec = dict(card["data"]["sampler"])
    kind = spec.pop("class")
    if kind == "OlahSynaptic":
        current = spec.get("current")
        ou = None
        if current:
            ou = jn.data.OUCurrent(
                duration_ms=duration_ms,
                dt=current["dt"],
                mean=tuple(current["mean"]),
                std=tuple(current["std"]),
                tau=tuple(current["tau"]),
            )
        return jn.data.OlahSynaptic(duration_ms=duration_ms, dt=spec["dt"], current=ou)
    return jn.data.OUCurrent(
        duration_ms=duration_ms, dt=spec["dt"], mean=tuple(spec["mean"]), std=tuple(spec["std"]),
        tau=tuple(spec["tau"]), n_synaptic=spec.get("n_synaptic", 0),
    )  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 10, 100, 1000])
    parser.add_argument("--duration-ms", type=float, default=1000.0)
    parser.add_argument("--out", type=Path, default=RESULTS / "surrogate_speed.json")
    args = parser.parse_args()
    rows = []
    for name in jn.pretrained():
        card = read_card(name)
        surrogate, params = jn.load(name)
        teacher, teacher_params = jn.load_teacher(name)
        sampler = sampler_for(card, args.duration_ms)
        for n in args.sizes:
            x = np.asarray(jax.vmap(sampler)(jax.random.split(jax.random.key(0), n)))
            _, t = timed_run(teacher, teacher_params, x)
            _, s = timed_run(surrogate, params, x)
            cell_s = n * args.duration_ms / 1000.0
            rows.append(
                dict(
                    surrogate=name,
                    teacher=card["teacher"]["name"],
                    n=n,
                    teacher_run_s=t["run_s"],
                    surrogate_run_s=s["run_s"],
                    teacher_compile_s=t["compile_s"],
                    surrogate_compile_s=s["compile_s"],
                    teacher_cell_s_per_s=cell_s / t["run_s"],
                    surrogate_cell_s_per_s=cell_s / s["run_s"],
                    speedup=t["run_s"] / s["run_s"],
                )  # fmt: skip
            )
            r = rows[-1]
            print(
                f"{name:8s} N={n:6d} teacher {r['teacher_run_s']:.4f} s  surrogate "
                f"{r['surrogate_run_s']:.4f} s  speed-up {r['speedup']:.2f}x",
                flush=True,
            )
    header = "| surrogate | teacher | N | teacher s | surrogate s | teacher cell-s/s | surrogate cell-s/s | speed-up |"
    print("\n" + header + "\n|" + "---|" * 8)
    for r in rows:
        print(
            f"| {r['surrogate']} | {r['teacher']} | {r['n']} | {r['teacher_run_s']:.4f} | "
            f"{r['surrogate_run_s']:.4f} | {r['teacher_cell_s_per_s']:.1f} | "
            f"{r['surrogate_cell_s_per_s']:.1f} | {r['speedup']:.2f}× |"
        )
    machine = dict(
        platform=platform.platform(), processor=platform.processor(),
        devices=[str(d) for d in jax.devices()], jax=jax.__version__,
    )  # fmt: skip
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_suffix(".tmp")
    tmp.write_text(
        json.dumps({"machine": machine, "duration_ms": args.duration_ms, "rows": rows}, indent=1)
    )
    tmp.replace(args.out)
    print(f"\nJSON: {args.out}")


if __name__ == "__main__":
    main()
