"""Reduced L5PC: analytical cell vs its shipped surrogates, batches of 1 … 1,000 cells × 6 s.

Every model runs the same batch of Beniaguev inputs (``data.BeniaguevSynaptic`` laid out by ``models.reduced_l5pc_input_layout``) as
``jax.jit(jax.vmap(apply))``, compiled ahead of time (compilation timed apart); best of
``--repeats`` wall times (process CPU time beside it). The analytical cell is run up to
``--teacher-max`` cells (its time is linear in N beyond ~100: 0.16 s per cell-second); larger N
only for the surrogates. NEURON (one thread, same cell and step) comes from
``results/neuron_cable.json`` (``benchmarks/neuron_cable.py``, needs NEURON).

Also: the gradient of a soma-voltage loss w.r.t. 1 s of synaptic input, through the analytical
cell: wall time vs the forward run and XLA's temporary memory (the √T checkpointed scan keeps it
bounded; tests/test_l5pc.py checks the gradient against finite differences).

    python benchmarks/dendritic.py [--sizes 1 10 100 1000] [--teacher-max 100] [--repeats 2]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

import jaxneuro as jn
from jaxneuro.models import ReducedL5PC, reduced_l5pc_input_layout

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _harness as hn  # noqa: E402

RESULTS = Path(__file__).parent / "results"
SURROGATES = {"nmda": "l5pc-nmda", "ampa": "l5pc-ampa"}


def compiled(sim, params, x):
    fn = jax.jit(lambda p, x: jax.vmap(sim.apply, (None, 0))(p, x)[0])
    t0 = time.perf_counter()
    c = fn.lower(params, x).compile()
    return c, time.perf_counter() - t0


def best_of(fn, repeats):
    walls, cpus = [], []
    for _ in range(repeats):
        _, wall, cpu, _ = hn.timed(lambda: jax.block_until_ready(fn()))
        walls.append(wall)
        cpus.append(cpu)
    i = int(np.argmin(walls))
    return walls[i], cpus[i]


def speed(cell_name: str, sizes, duration_ms, teacher_max, repeats) -> list[dict]:
    cell = ReducedL5PC(nmda=cell_name == "nmda")
    sampler = jn.data.BeniaguevSynaptic(duration_ms, **reduced_l5pc_input_layout(cell))
    models = {"analytical": (cell, cell.init())}
    if SURROGATES[cell_name] in jn.pretrained():
        models["surrogate"] = jn.load(SURROGATES[cell_name])
    rows = []
    for n in sizes:
        x = np.asarray(jax.vmap(sampler)(jax.random.split(jax.random.key(0), n)))
        row = dict(cell=cell_name, n=n, duration_ms=duration_ms)
        for role, (sim, params) in models.items():
            if role == "analytical" and n > teacher_max:
                continue
            c, compile_s = compiled(sim, params, x)
            wall, cpu = best_of(
                lambda c=c, p=params, x=x: c(p, x), 1 if n * duration_ms > 6e5 else repeats
            )
            row |= {f"{role}_wall_s": wall, f"{role}_cpu_s": cpu, f"{role}_compile_s": compile_s}
            row[f"{role}_cell_s_per_s"] = n * duration_ms / 1000 / wall
            print(
                f"  {cell_name} {role:10s} N={n:5d}: {wall:8.3f} s wall, {cpu:8.3f} s cpu",
                flush=True,
            )
        if "analytical_wall_s" in row and "surrogate_wall_s" in row:
            row["speedup"] = row["analytical_wall_s"] / row["surrogate_wall_s"]
        rows.append(row)
    return rows


def gradient(duration_ms: int = 1000) -> dict:
    """Reverse-mode gradient w.r.t. the synaptic input of one cell over ``duration_ms``."""
    cell = ReducedL5PC()
    params = cell.init()
    x = jn.data.BeniaguevSynaptic(duration_ms, **reduced_l5pc_input_layout(cell))(jax.random.key(1))

    def loss(x):
        return jnp.mean(cell.apply(params, x)[0]["v"])

    fwd = jax.jit(loss).lower(x).compile()
    grad = jax.jit(jax.grad(loss)).lower(x).compile()
    out = {"duration_ms": duration_ms}
    for name, c in (("forward", fwd), ("gradient", grad)):
        out[f"{name}_wall_s"] = best_of(lambda c=c: c(x), 2)[0]
        m = c.memory_analysis()
        out[f"{name}_temp_mb"] = m.temp_size_in_bytes / 2**20 if m is not None else None
    out["gradient_over_forward"] = out["gradient_wall_s"] / out["forward_wall_s"]
    out["finite"] = bool(jnp.isfinite(grad(x)).all())
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1, 10, 100, 1000])
    ap.add_argument("--duration-ms", type=float, default=6000.0)
    ap.add_argument("--teacher-max", type=int, default=100)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--out", type=Path, default=RESULTS / "dendritic.json")
    args = ap.parse_args()
    rows = []
    for cell in ("nmda", "ampa"):
        rows += speed(cell, args.sizes, args.duration_ms, args.teacher_max, args.repeats)
    grad = gradient()
    neuron_path = RESULTS / "neuron_cable.json"
    neuron = json.loads(neuron_path.read_text()) if neuron_path.exists() else None
    headers = ["cell", "N", "analytical s", "surrogate s", "speed-up", "surrogate cell-s/s"]
    fmt = lambda v, f="{:.3f}": None if v is None else f.format(v)  # noqa: E731
    table = [
        [r["cell"], r["n"], fmt(r.get("analytical_wall_s")), fmt(r.get("surrogate_wall_s")),
         fmt(r.get("speedup"), "{:.1f}×"), fmt(r.get("surrogate_cell_s_per_s"), "{:.0f}")]
        for r in rows
    ]  # fmt: skip
    print(hn.format_table(headers, table, markdown=True))
    print(f"gradient over 1 s: {grad}")
    hn.write_json(
        args.out,
        {
            "machine": hn.machine_info(("jaxneuro", "jax", "jaxlib", "flax", "diffrax")),
            "surrogates": {k: v in jn.pretrained() for k, v in SURROGATES.items()},
            "rows": rows,
            "gradient": grad,
            "neuron": neuron,
        },
    )


if __name__ == "__main__":
    main()
