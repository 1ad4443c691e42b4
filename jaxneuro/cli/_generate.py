"""``jaxneuro generate TEACHER --out PATH``: a teacher's training dataset, resumable."""

from __future__ import annotations

import argparse
import contextlib
from pathlib import Path

import numpy as np

from .. import data
from .._simulator import EVENTS, TRACE
from ..data._describe import OLAH_OPTIONS, SAMPLERS
from ._args import (
    UsageError,
    build,
    check_writable,
    finite,
    nonnegative_int,
    positive,
    samples,
)

OLAH_FLAGS = {name: "--" + name.replace("_", "-") for name in OLAH_OPTIONS}


def add(commands) -> None:
    gen = commands.add_parser(
        "generate",
        help="simulate a teacher on random stimuli and write a training dataset (zarr)",
        description=(
            "Simulate TEACHER on N stimuli drawn from a sampler (jaxneuro.data.generate) and "
            "write them with a manifest and train/validation/test splits to the zarr store PATH. "
            "Interrupted runs resume: run the same command again."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    gen.set_defaults(run=run)
    gen.add_argument("teacher", metavar="TEACHER", help="a name from `jaxneuro models`")
    gen.add_argument(
        "--sampler",
        choices=SAMPLERS,
        default=None,
        help="olah: Poisson synaptic inputs (Olah et al. 2022) for models with inputs i_ext, "
        "exc, inh; ou: an Ornstein-Uhlenbeck current on the first input (default: olah where "
        "the teacher takes it, else ou)",
    )
    gen.add_argument("--n", type=positive(int), default=100, help="number of simulations")
    gen.add_argument("--duration", type=positive(float), default=1000.0, help="length of each (ms)")
    gen.add_argument(
        "--dt",
        type=positive(float),
        default=None,
        help="sample interval (ms; default: model's); must divide --duration",
    )
    gen.add_argument(
        "--solver-dt",
        type=positive(float),
        default=None,
        help="internal step (ms) of the model's solver; must divide --dt (default: model's)",
    )
    gen.add_argument("--seed", type=nonnegative_int, default=0, help="seed of stimuli and splits")
    gen.add_argument(
        "--chunk-size", type=positive(int), default=64, help="simulations per batch and chunk"
    )
    gen.add_argument("--out", type=Path, required=True, metavar="PATH", help="dataset folder")
    gen.add_argument("--overwrite", action="store_true", help="replace an existing dataset at PATH")
    gen.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    ou = gen.add_argument_group(
        "OU current",
        "Each sweep draws its statistics uniformly from LO..HI (one value fixes it). Defaults "
        "by the current's unit: mean a/4..3a/4, std 0.15a..0.45a with a the `simulate` default "
        "amplitude, tau 2..10 ms. With --sampler olah, any of these adds an OU current to "
        "i_ext (mean 0 unless given).",
    )
    for name, what in [("mean", "stationary mean"), ("std", "standard deviation"), ("tau", "ms")]:
        ou.add_argument(
            f"--{name}", type=finite, nargs="+", metavar=("LO", "HI"), default=None, help=what
        )
    olah = gen.add_argument_group("Olah synaptic inputs (defaults: the paper's)")
    olah.add_argument("--s-max", type=finite, default=None, help="input scale s ~ U(0, s_max)")
    olah.add_argument("--exc-rate", type=finite, default=None, help="exc. Hz per unit s")
    olah.add_argument("--inh-rate", type=finite, default=None, help="inh. Hz per unit s")
    olah.add_argument(
        "--silent-fraction", type=finite, default=None, help="fraction of sweeps without input"
    )


def _range(option: str, values: list[float] | None) -> tuple[float, float] | None:
    if values is None:
        return None
    if len(values) > 2:
        raise UsageError(f"{option} takes one value or a LO HI range, got {len(values)} values")
    return (values[0], values[-1])


def make_sampler(args, spec, duration_ms: float) -> data.Sampler:
    """The sampler the arguments ask for (:func:`jaxneuro.data.default_sampler`)."""
    ou = {k: _range(f"--{k}", getattr(args, k)) for k in ("mean", "std", "tau")}
    ou = {k: v for k, v in ou.items() if v is not None}
    olah = {k: getattr(args, k) for k in OLAH_OPTIONS if getattr(args, k) is not None}
    kind = args.sampler or ("olah" if data.takes_olah(spec) else "ou")
    names = ", ".join(f"{c.name} [{c.unit}]" for c in spec.inputs)
    if kind == "olah" and not data.takes_olah(spec):
        raise UsageError(
            f"--sampler olah drives the inputs {', '.join(data.OLAH_INPUTS)} (Olah et al. "
            f"2022), but {args.teacher!r} has inputs {names}; use --sampler ou"
        )
    if olah and kind != "olah":
        given = ", ".join(OLAH_FLAGS[k] for k in olah)
        raise UsageError(f"{given} apply to --sampler olah only")
    if kind == "ou" and spec.inputs[0].kind != TRACE:
        raise UsageError(
            f"--sampler ou drives a current on the first input, but {args.teacher!r} has inputs "
            f"{names}"
        )
    return data.default_sampler(spec, duration_ms, kind, ou=ou, olah=olah)


def run(args) -> int:
    teacher, kwargs = build(args.teacher, args.dt, args.solver_dt)
    spec = teacher.spec
    t = samples(args.duration, spec, dt_given=args.dt is not None)
    sampler = make_sampler(args, spec, t * spec.dt)
    check_writable(args.out)
    before = 0
    if (args.out / "manifest.json").is_file() and not args.overwrite:
        with contextlib.suppress(ValueError, OSError):  # generate() says what is wrong
            before = data.open_dataset(args.out, allow_incomplete=True).n_completed
    dataset = data.generate(
        args.teacher if not kwargs else teacher,  # a name is recorded in the manifest
        sampler,
        args.n,
        args.out,
        seed=args.seed,
        chunk_size=args.chunk_size,
        progress=not args.no_progress,
        overwrite=args.overwrite,
    )
    splits = ", ".join(f"{k} {len(dataset.split(k))}" for k in dataset.split_names)
    print(
        f"generated {dataset.n} x {args.teacher} for {t * spec.dt:g} ms ({t} samples of "
        f"{spec.dt} ms) on {data.sampler_summary(dataset.manifest['sampler'])}"
    )
    if before:
        print(f"continued an interrupted run: {before} of {dataset.n} were already written")
    print(f"{_rate(dataset, t * spec.dt)}splits: {splits}; wrote {args.out}")
    return 0


def _rate(dataset, duration_ms: float) -> str:
    """``mean rate 12.3 spikes/s; `` of the dataset's first events channel (read chunk-wise)."""
    events = [c.name for c in dataset.spec.outputs_of(EVENTS) if c.name in dataset.outputs]
    if not events:
        return ""
    counts = dataset.outputs[events[0]]
    total = sum(
        float(np.sum(counts[i : i + dataset.chunk_size]))
        for i in range(0, dataset.n, dataset.chunk_size)
    )
    unit = "spikes/s" if events[0] == "spikes" else f"{events[0]}/s"
    return f"mean rate {total / dataset.n / (duration_ms / 1000.0):.3g} {unit}; "
