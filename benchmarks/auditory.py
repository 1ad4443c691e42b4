"""The auditory periphery's speed: each analytical stage and the whole chain, and the shipped
CoNNear-style surrogates beside the stages they replace, for 1 s of sound at 201 CFs.

Every model runs ``jax.jit(jax.vmap(apply))`` on a batch of ``--batches`` sounds (speech-like, 65
dB SPL, seed 0), compiled ahead of time (compilation timed apart); best wall time of
``--repeats`` runs, with process CPU time beside it. Each stage gets its own input: the sound,
the middle-ear output, the cochlea's ``v_bm`` (201 CFs), the IHC's potential (100 kHz, and
decimated to 20 kHz for the nerve). Surrogates (``ihc-connear``, ``anf-*-connear``, when shipped)
are width-1 models applied across the CFs with ``jax.vmap``, as CoNNear folds CF into the
batch. Ratios are measured in one run on one device; on a shared CPU quote the ratios.

    python benchmarks/auditory.py [--duration-ms 1000] [--batches 1 16] [--repeats 2]
    python benchmarks/auditory.py --batches 1 --repeats 1 --connear --out FILE  # + published sizes
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import jax
import jax.numpy as jnp

import jaxneuro as jn
from jaxneuro.models.auditory import (
    AuditoryNerve,
    AuditoryPeriphery,
    Decimate,
    InnerHairCell,
    MiddleEar,
    TransmissionLineCochlea,
)

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _harness as hn  # noqa: E402

RESULTS = Path(__file__).parent / "results"
PACKAGES = ("jaxneuro", "jax", "jaxlib", "flax", "diffrax", "equinox", "numpy")
SURROGATES = {"ihc": "ihc-connear", "anf-hsr": "anf-h-connear", "anf-msr": "anf-m-connear"}
SURROGATES |= {"anf-lsr": "anf-l-connear"}


def compiled(fn, *args):
    """``fn`` compiled ahead of time for ``args``, and the compile time (s)."""
    t0 = time.perf_counter()
    c = jax.jit(fn).lower(*args).compile()
    return c, time.perf_counter() - t0


def batched(sim):
    return lambda p, x: jax.vmap(sim.apply, (None, 0))(p, x)[0]


def across_cf(sim):
    """A width-1 model over ``[B, T, n_cf]`` (CF folded into the batch)."""

    def run(p, x):
        cols = jnp.moveaxis(x, -1, 1)[..., None]  # [B, n_cf, T, 1]
        out = jax.vmap(jax.vmap(sim.apply, (None, 0)), (None, 0))(p, cols)[0]
        return {k: jnp.moveaxis(a, 1, -1) for k, a in out.items()}

    return run


def measure(label, fn, params, x, repeats) -> dict:
    c, compile_s = compiled(fn, params, x)
    t = hn.Timings()
    for _ in range(repeats):
        out, wall, cpu, rss = hn.timed(lambda: jax.block_until_ready(c(params, x)))
        t.add(wall, cpu, rss)
    return {"model": label, "compile_s": compile_s, "wall_s": t.best_wall, "cpu_s": t.best_cpu}


def stage_inputs(duration_ms: float, batch: int):
    """The sound and each stage's input, for ``batch`` speech-like sounds at 65 dB SPL."""
    keys = jax.random.split(jax.random.key(0), batch)
    sound = jnp.stack([jn.stimuli.speech_like(k, duration_ms, 0.01, 65.0) for k in keys])
    sound = sound.astype(jnp.float32)
    ear = MiddleEar()
    me = jax.jit(batched(ear))(ear.init(), sound)["pressure_me"][..., None]
    cochlea = TransmissionLineCochlea()
    v_bm = jax.jit(batched(cochlea))(cochlea.init(), me)["v_bm"]
    ihc = InnerHairCell(n_channels=v_bm.shape[-1])
    v_ihc = jax.jit(batched(ihc))(ihc.init(), v_bm)["v_ihc"]
    dec = Decimate(width=v_bm.shape[-1])
    v_20k = jax.jit(batched(dec))(dec.init(), v_ihc)["v_ihc"]
    return {"sound": sound, "me": me, "v_bm": v_bm, "v_ihc": v_ihc, "v_20k": v_20k}


def run_batch(duration_ms: float, batch: int, repeats: int) -> list[dict]:
    x = stage_inputs(duration_ms, batch)
    n_cf = x["v_bm"].shape[-1]
    stages = [
        ("middle ear", MiddleEar(), x["sound"]),
        ("cochlea (1000 sections, 201 CFs)", TransmissionLineCochlea(), x["me"]),
        ("IHC (201 CFs, 100 kHz)", InnerHairCell(n_channels=n_cf), x["v_bm"]),
        ("decimation 100 → 20 kHz", Decimate(width=n_cf), x["v_ihc"]),
        ("ANF HSR+MSR+LSR (201 CFs)", AuditoryNerve(n_channels=n_cf), x["v_20k"]),
        ("whole chain", AuditoryPeriphery(), x["sound"]),
    ]
    rows = [measure(name, batched(sim), sim.init(), xi, repeats) for name, sim, xi in stages]
    shipped = set(jn.pretrained())
    for key, name in SURROGATES.items():
        if name not in shipped:
            continue
        surrogate, params = jn.load(name)
        xi = x["v_bm"] if key == "ihc" else x["v_20k"]
        if surrogate.spec.dt == 0.05 and key == "ihc":  # a 20 kHz IHC surrogate
            xi = xi[:, ::5]
        rows.append(measure(f"{name} (surrogate, 201 CFs)", across_cf(surrogate), params, xi, 1))
    for r in rows:
        r |= {"batch": batch, "duration_ms": duration_ms}
    return rows


CONNEAR_SIZES = {  # spec §6's published layer sizes, run at 20 kHz as CoNNear does
    "cochlea": dict(levels=4, channels=128, kernel_size=64, output_kernel=64, width=201),
    "ihc": dict(levels=3, channels=128, kernel_size=16, output_kernel=16, width=1),
    "anf": dict(levels=14, channels=64, kernel_size=8, output_kernel=8, width=1),
}


def connear_rows(x: dict, repeats: int, n_cf: int = 4) -> list[dict]:
    """Untrained networks of the published CoNNear sizes (weights do not change the cost), at
    20 kHz: the cochlea on the sound (every 5th sample) → 201 CFs, timed whole; the IHC on
    ``v_bm`` (every 5th sample) and one ANF fibre type on the 20 kHz potential, width-1 networks
    timed on ``n_cf`` CF columns one after another (``lax.map``: their activations do not fit
    in memory across 201 CFs at once) and scaled to 201 CFs (the cost is per column). The cost an
    ideal surrogate of that size would have here, whatever its fidelity."""
    from jaxneuro.surrogates import ConvEncoderDecoder

    inputs = {
        "cochlea": x["sound"][:, ::5],
        "ihc": x["v_bm"][0, ::5, :n_cf],
        "anf": x["v_20k"][0, :, :n_cf],
    }
    total = x["v_bm"].shape[-1]
    rows = []
    for name, size in CONNEAR_SIZES.items():
        size = dict(size)
        width = size.pop("width")
        spec = jn.IOSpec(
            dt=0.05, inputs=(jn.Channel("x", "1"),), outputs=(jn.Channel("y", "1", width=width),)
        )
        net = ConvEncoderDecoder(spec, **size)
        params = net.init(jax.random.key(0))
        n = sum(a.size for a in jax.tree.leaves(params))
        label = f"CoNNear-size {name} network, untrained ({n / 1e6:.2f} M weights, 20 kHz)"
        if width > 1:
            rows.append(measure(label, batched(net), params, inputs[name], repeats))
            continue

        def columns(p, cols, net=net):
            return jax.lax.map(lambda c: net.apply(p, c[:, None])[0]["y"], cols.T)

        r = measure(label, columns, params, inputs[name], repeats)
        scale = total / n_cf
        rows.append(
            r
            | {
                "model": f"{label}, {n_cf} CFs measured, × {scale:g} for {total}",
                "measured_cfs": n_cf,
                "measured_wall_s": r["wall_s"],
                "wall_s": r["wall_s"] * scale,
                "cpu_s": r["cpu_s"] * scale,
            }
        )
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--duration-ms", type=float, default=1000.0)
    ap.add_argument("--batches", type=int, nargs="+", default=[1, 16])
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument(
        "--connear", action="store_true", help="also time untrained CoNNear-size networks"
    )
    ap.add_argument("--out", type=Path, default=RESULTS / "auditory.json")
    args = ap.parse_args()
    rows = []
    for b in args.batches:
        rows += run_batch(args.duration_ms, b, args.repeats)
        print(f"batch {b} done", file=sys.stderr)
    if args.connear:
        x = stage_inputs(args.duration_ms, 1)
        for r in connear_rows(x, 1):
            rows.append(r | {"batch": 1, "duration_ms": args.duration_ms})
    headers = ["batch", "model", "compile s", "wall s", "CPU s", "× real time (wall)"]
    table = [
        [
            r["batch"],
            r["model"],
            hn.fmt(r["compile_s"]),
            hn.fmt(r["wall_s"]),
            hn.fmt(r["cpu_s"]),
            hn.fmt(r["batch"] * r["duration_ms"] / 1000 / r["wall_s"]),
        ]
        for r in rows
    ]
    print(hn.format_table(headers, table, markdown=True))
    hn.write_json(
        args.out, {"machine": hn.machine_info(PACKAGES), "args": vars(args), "rows": rows}
    )
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
