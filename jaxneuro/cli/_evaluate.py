"""``jaxneuro evaluate SURROGATE --out DIR``: fidelity and speed against its teacher."""

from __future__ import annotations

import argparse
from pathlib import Path

import jax
import numpy as np

from .. import _io, data
from .._saving import load, load_teacher, read_card
from ..evaluation import evaluate, fidelity_rows, format_table
from ._args import (
    UsageError,
    check_writable,
    nonnegative_float,
    nonnegative_int,
    positive,
    samples,
)


def add(commands) -> None:
    ev = commands.add_parser(
        "evaluate",
        help="fidelity and speed of a saved surrogate against its analytical teacher",
        description=(
            "Run a saved surrogate and its teacher on N held-out stimuli (from the sampler of "
            "the surrogate's training data when its model card records one, else the teacher's "
            "default: Olah synaptic inputs or an OU current), and write report.json with "
            "traces.png, raster.png and roc.png to DIR (jaxneuro.evaluate)."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    ev.set_defaults(run=run)
    ev.add_argument(
        "surrogate", metavar="SURROGATE", help="a shipped name (e.g. hh-tcn) or a saved folder"
    )
    ev.add_argument("--n", type=positive(int), default=20, help="number of stimuli")
    ev.add_argument(
        "--duration",
        type=positive(float),
        default=500.0,
        help="scored ms each; a multiple of the teacher's dt",
    )
    ev.add_argument(
        "--burn-in",
        type=nonnegative_float,
        default=100.0,
        help="ms simulated before the scored part (the surrogate's history fills up)",
    )
    ev.add_argument("--seed", type=nonnegative_int, default=1, help="seed of the stimuli")
    ev.add_argument(
        "--window", type=positive(float), default=3.0, help="spike matching window (+- ms)"
    )
    ev.add_argument(
        "--threshold",
        type=positive(float),
        default=None,
        help="spike-probability threshold (default: the model card's, else 0.5)",
    )
    ev.add_argument(
        "--gradient-cells", type=nonnegative_int, default=4, help="cells for gradient fidelity"
    )
    ev.add_argument("--out", type=Path, required=True, metavar="DIR", help="output folder")


def held_out_stimuli(card: dict, spec, n: int, duration_ms: float, seed: int):
    """``(stimuli [n, T, n_inputs], sampler description, source)``: stimuli drawn as
    ``jax.vmap(sampler)(jax.random.split(jax.random.key(seed), n))`` from the sampler of the
    surrogate's training data when ``card`` records one, else from
    :func:`jaxneuro.data.default_sampler`."""
    described = (card.get("data") or {}).get("sampler")
    sampler = None
    if described:
        sampler = data.sampler_from_description(described, duration_ms, spec.dt)
    source = "the training data's sampler"
    if sampler is None:
        sampler, source = data.default_sampler(spec, duration_ms), "the teacher's default sampler"
    keys = jax.random.split(jax.random.key(seed), n)
    stimuli = np.asarray(jax.jit(jax.vmap(sampler))(keys))
    return stimuli, sampler.describe(), source


def run(args) -> int:
    if args.out.exists() and not args.out.is_dir():
        raise UsageError(f"--out {args.out} exists and is not a folder")
    card = read_card(args.surrogate)
    surrogate, params = load(args.surrogate)
    teacher, teacher_params = load_teacher(args.surrogate)
    spec = teacher.spec
    t = samples(args.duration, spec)
    skip = samples(args.burn_in, spec, option="--burn-in") if args.burn_in > 0 else 0
    check_writable(args.out)
    stimuli, described, source = held_out_stimuli(
        card, spec, args.n, (skip + t) * spec.dt, args.seed
    )
    threshold = args.threshold if args.threshold is not None else card.get("spike_threshold", 0.5)
    report = evaluate(
        surrogate,
        teacher,
        stimuli,
        params=params,
        teacher_params=teacher_params,
        out=args.out,
        spike_threshold=threshold,
        window_ms=args.window,
        burn_in_ms=skip * spec.dt,
        gradient_cells=args.gradient_cells,
    )
    report["surrogate"] = {
        "name_or_path": str(args.surrogate),
        "family": card["family"],
        "teacher": card["teacher"],
    }
    report["stimuli"] = {
        "source": source,
        "sampler": described,
        "n": args.n,
        "seed": args.seed,
        "rule": "jax.vmap(sampler)(jax.random.split(jax.random.key(seed), n))",
    }
    report["command"] = ["jaxneuro", *args.argv]
    _io.write_json_atomic(args.out / "report.json", _io._jsonable(report))
    title = (
        f"{args.surrogate} ({card['family']}) vs {card['teacher']['name']}: {args.n} held-out "
        f"stimuli from {source}, seed {args.seed}"
    )
    print(format_table(fidelity_rows(report), title))
    print(f"wrote {args.out / 'report.json'} and figures traces.png, raster.png, roc.png")
    return 0
