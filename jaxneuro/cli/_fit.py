"""``jaxneuro fit FAMILY --data PATH --out DIR``: train a surrogate, resumable; save it."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import jax

from .. import __version__, _io, data
from .._registry import surrogate_families
from ..evaluation import calibrate_threshold
from ..training._steps import checkpoint_step
from ._args import (
    UsageError,
    check_writable,
    finite,
    flatten,
    nonnegative_float,
    nonnegative_int,
    positive,
)
from ._teacher import dataset_teacher

SIZE_OPTIONS = {
    # option: {family: (constructor keyword, kind)}; kinds: "int" one integer, "ints" one or
    # several (one is passed as an int), "seq" always a tuple, "str"
    "layers": {"tcn": ("n_layers", "int"), "encoder-decoder": ("levels", "int")},
    "channels": {
        "tcn": ("channels", "ints"),
        "encoder-decoder": ("channels", "ints"),
        "cnn-lstm": ("convs", "seq"),
    },
    "kernel": {
        "tcn": ("kernel_sizes", "ints"),
        "encoder-decoder": ("kernel_size", "int"),
        "cnn-lstm": ("kernels", "ints"),
    },
    "dilation": {"tcn": ("dilations", "ints")},
    "memory": {"elm": ("n_memory", "int")},
    "hidden": {"elm": ("mlp_hidden", "int"), "cnn-lstm": ("dense", "seq")},
    "history": {"cnn-lstm": ("window", "int")},
    "lstm": {"cnn-lstm": ("lstm", "int")},
    "activation": {f: ("activation", "str") for f in ("tcn", "elm", "encoder-decoder")},
}

SIZE_HELP = {
    "layers": "TCN: convolutions; encoder-decoder: stride-2 levels",
    "channels": "TCN, encoder-decoder: channels (one, or one per layer); CNN-LSTM: conv channels",
    "kernel": "TCN: kernel sizes (one, or one per layer); encoder-decoder: kernel; CNN-LSTM: kernels",
    "dilation": "TCN: dilations (one, or one per layer)",
    "memory": "ELM: memory units",
    "hidden": "ELM: MLP width; CNN-LSTM: dense widths",
    "history": "CNN-LSTM: input window (samples)",
    "lstm": "CNN-LSTM: LSTM size",
    "activation": "TCN, ELM, encoder-decoder: hidden nonlinearity (relu, tanh, silu, ...)",
}


def add(commands) -> None:
    from ..training import FitConfig

    d = FitConfig()
    families = list(surrogate_families())
    fit = commands.add_parser(
        "fit",
        help="train a surrogate on a generated dataset and save it",
        description=(
            "Fit a surrogate of FAMILY to the teacher that generated --data (jaxneuro.fit), with "
            "checkpoints in DIR/checkpoint: running the same command again resumes. The best "
            "weights are saved with a model card to DIR/surrogate (jaxneuro.save), ready for "
            "`jaxneuro evaluate DIR/surrogate` and jaxneuro.load."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    fit.set_defaults(run=run)
    fit.add_argument("family", metavar="FAMILY", choices=families, help=", ".join(families))
    fit.add_argument("--data", type=Path, required=True, metavar="PATH", help="dataset folder")
    fit.add_argument("--out", type=Path, required=True, metavar="DIR", help="output folder")
    fit.add_argument("--steps", type=positive(int), default=d.steps, help="optimiser steps")
    fit.add_argument("--batch-size", type=positive(int), default=d.batch_size, help="windows")
    fit.add_argument("--window", type=positive(int), default=d.window, help="samples in loss")
    fit.add_argument(
        "--burn-in",
        type=nonnegative_int,
        default=None,
        help="warm-up samples before each window (default: the surrogate's receptive field)",
    )
    fit.add_argument("--lr", type=positive(float), default=d.learning_rate, help="peak rate")
    fit.add_argument("--warmup-steps", type=nonnegative_int, default=d.warmup_steps)
    fit.add_argument("--eval-every", type=positive(int), default=d.eval_every, help="steps")
    fit.add_argument(
        "--patience", type=positive(int), default=d.patience, help="evaluations to wait"
    )
    fit.add_argument("--seed", type=nonnegative_int, default=d.seed, help="init and batches")
    fit.add_argument("--spike-weight", type=finite, default=d.loss.spike_bce, help="spike BCE")
    fit.add_argument("--v-weight", type=finite, default=d.loss.v_mse, help="voltage MSE")
    fit.add_argument(
        "--v-clip",
        type=finite,
        default=None,
        metavar="MV",
        help="clip the target voltage at MV before the MSE (Beniaguev et al.)",
    )
    fit.add_argument(
        "--clip-prediction",
        action="store_true",
        help="clip the predicted voltage at --v-clip too (no gradient above it: only to reproduce "
        "fits made that way)",
    )
    fit.add_argument(
        "--v-huber",
        type=positive(float),
        default=None,
        metavar="MV",
        help="count voltage errors beyond MV linearly (Huber), e.g. misplaced spikes",
    )
    loop = fit.add_argument_group("closed-loop training (cnn-lstm)")
    loop.add_argument(
        "--rollout",
        type=nonnegative_int,
        default=d.rollout,
        metavar="SAMPLES",
        help="run the last SAMPLES of each window closed loop on the surrogate's own voltage",
    )
    loop.add_argument(
        "--feedback-noise",
        type=nonnegative_float,
        default=d.feedback_noise_mv,
        metavar="MV",
        help="SD of Gaussian noise on the fed-back true voltage (training only)",
    )
    size = fit.add_argument_group("surrogate size (defaults: the family's)")
    for name, help_text in SIZE_HELP.items():
        if name == "activation":
            size.add_argument("--activation", default=None, help=help_text)
        elif any(kind in ("ints", "seq") for _, kind in SIZE_OPTIONS[name].values()):
            size.add_argument(f"--{name}", type=positive(int), nargs="+", help=help_text)
        else:
            size.add_argument(f"--{name}", type=positive(int), help=help_text)
    card = fit.add_argument_group("model card")
    card.add_argument(
        "--teacher",
        default=None,
        metavar="NAME",
        help="registry name of the teacher (default: the one that generated the data)",
    )
    card.add_argument(
        "--teacher-kwargs",
        default=None,
        metavar="JSON",
        help="its constructor keywords, e.g. '{\"dt\": 1.0}' (default: found from the data)",
    )
    fit.add_argument("--no-progress", action="store_true", help="hide the progress bar")


def surrogate_options(args) -> dict:
    """The family's constructor keywords from the size options given."""
    options = {}
    for name, families in SIZE_OPTIONS.items():
        value = getattr(args, name)
        if value is None:
            continue
        if args.family not in families:
            users = ", ".join(families)
            raise UsageError(f"--{name} does not apply to {args.family} (only to {users})")
        keyword, kind = families[args.family]
        if kind == "int" and isinstance(value, list):
            if len(value) != 1:
                raise UsageError(f"--{name} takes one value for {args.family}, got {len(value)}")
            value = value[0]
        elif kind == "ints":
            value = value[0] if len(value) == 1 else tuple(value)
        elif kind == "seq":
            value = tuple(value)
        options[keyword] = value
    return options


def _config(args):
    from ..training import FitConfig, LossMix

    loss = LossMix(
        spike_bce=args.spike_weight,
        v_mse=args.v_weight,
        v_clip_mv=args.v_clip,
        clip_prediction=args.clip_prediction,
        v_huber_mv=args.v_huber,
    )
    return FitConfig(
        steps=args.steps,
        batch_size=args.batch_size,
        window=args.window,
        burn_in=args.burn_in,
        learning_rate=args.lr,
        warmup_steps=args.warmup_steps,
        eval_every=args.eval_every,
        patience=args.patience,
        seed=args.seed,
        loss=loss,
        rollout=args.rollout,
        feedback_noise_mv=args.feedback_noise,
    )


def _check_resumable(out: Path, record: Path, settings: dict) -> None:
    """Refuse an ``--out`` that holds another fit, or anything else."""
    if record.is_file():
        previous = _io.read_json(record).get("settings", {})
        if previous != settings:
            old, new = flatten(previous), flatten(settings)
            changed = [
                f"{k}: {old.get(k, '<absent>')} there, {new.get(k, '<absent>')} now"
                for k in sorted({*old, *new})
                if old.get(k) != new.get(k)
            ]
            raise UsageError(
                f"{out} holds a fit with other settings ({'; '.join(changed[:4])}); rerun it "
                "with the same arguments to resume it, or choose another --out"
            )
    elif out.exists() and any(out.iterdir()):
        raise UsageError(f"--out {out} is not empty and holds no jaxneuro fit; choose another")


def run(args) -> int:
    from .._saving import save
    from ..training import fit
    from ..training._fit import burn_in_of

    out = args.out
    path = args.data.resolve()  # the checkpoint records the data's path: keep it absolute
    dataset = data.open_dataset(path)
    options = surrogate_options(args)
    surrogate = surrogate_families()[args.family](dataset.spec, **options)
    config = _config(args)
    teacher, teacher_kwargs = dataset_teacher(args, dataset)
    settings = {
        "family": args.family,
        "options": options,
        "data": str(path),
        "config": config.describe(),
        "teacher": {"name": teacher, "kwargs": teacher_kwargs},
    }
    settings = json.loads(json.dumps(settings))
    record = out / "fit.json"
    checkpoint = out / "checkpoint"
    check_writable(out)
    _check_resumable(out, record, settings)
    resumed = checkpoint_step(checkpoint / "checkpoint.safetensors")
    manifest = {
        "program": "jaxneuro fit",
        "jaxneuro_version": __version__,
        "command": ["jaxneuro", *args.argv],
        "settings": settings,
    }
    fresh = not record.is_file()
    _io.write_json_atomic(record, manifest)
    if resumed:
        print(f"resuming the fit in {checkpoint} from step {resumed}")
    t0 = time.perf_counter()
    try:
        result = fit(
            surrogate, dataset, config, checkpoint_dir=checkpoint, progress=not args.no_progress
        )
    except BaseException:
        if fresh and not (checkpoint / "checkpoint.safetensors").exists():
            record.unlink()  # refused before it started (e.g. a window too long for the data)
        raise
    wall = time.perf_counter() - t0
    history = result.history
    card = {
        "data": {
            "path": str(path),
            "n": dataset.n,
            "sampler": dataset.manifest["sampler"],
            "seed": dataset.manifest["seed"],
        },
        "training": {
            "config": config.describe(),
            "best_step": result.best_step,
            "history": history,
            "wall_s": wall,
            "command": manifest["command"],
        },
    }
    burn_in = burn_in_of(result.surrogate)
    threshold = calibrate_threshold(result.surrogate, result.params, dataset, burn_in=burn_in)
    if threshold is not None:
        card["spike_threshold"] = threshold["threshold"]
        card["spike_threshold_calibration"] = threshold
    saved = save(
        out / "surrogate",
        result.surrogate,
        result.params,
        teacher=teacher,
        teacher_kwargs=teacher_kwargs,
        card=card,
    )
    best = min(history, key=lambda r: r["val_loss"])
    last = history[-1]["step"]
    manifest["result"] = {
        "steps_done": last,
        "best_step": result.best_step,
        "val_loss_untrained": history[0]["val_loss"],
        "val_loss_best": best["val_loss"],
        "wall_s": wall,
        "surrogate": str(saved),
    }
    _io.write_json_atomic(record, manifest)
    _report(args, config, result, dataset, teacher, wall, saved, record, threshold)
    return 0


def _report(args, config, result, dataset, teacher, wall, saved, record, threshold) -> None:
    history = result.history
    best = min(history, key=lambda r: r["val_loss"])
    last = history[-1]["step"]
    n_params = int(sum(a.size for a in jax.tree.leaves(result.params)))
    stop = (
        ""
        if last >= config.steps
        else f" (stopped early: no gain in {config.patience} evaluations)"
    )
    print(
        f"fit {args.family} ({n_params} parameters) to {teacher} on {dataset.n} simulations: "
        f"{last}/{config.steps} steps{stop}, {wall:.1f} s this run"
    )
    print(
        f"validation loss {history[0]['val_loss']:.4g} untrained -> {best['val_loss']:.4g} at "
        f"step {result.best_step}; wrote {saved} and {record}"
    )
    if threshold is not None:
        print(
            f"spike threshold {threshold['threshold']:.2f}: the best pooled F1 "
            f"({threshold['f1_pooled']:.3g}, +-{threshold['window_ms']:g} ms) on "
            f"{threshold['n']} validation simulations"
        )
