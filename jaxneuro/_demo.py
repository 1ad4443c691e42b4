"""``jaxneuro demo``: one model in two forms, measured against each other and used for design.

:func:`run` loads a trained surrogate of the Oláh et al. (2022) Hodgkin–Huxley cell (by default
the shipped ``hh-elm``) and its analytical teacher (``hh-synaptic``), then

1. simulates a population on Oláh-style Poisson synaptic inputs
   (:class:`jaxneuro.data.OlahSynaptic`) with both forms and prints a fidelity and speed table
   (:func:`jaxneuro.evaluate`);
2. designs the injected current ``i_ext`` of one cell — its synaptic inputs held fixed — by
   gradient descent through each form (:func:`jaxneuro.optimize.stimulus`), to evoke a target
   spike train (loss: the van Rossum distance, :func:`jaxneuro.optimize.spike_train_loss`);
   each form tries the same optimisers (:func:`optimizers`) and keeps the design it rates best;
3. checks both designs on the analytical model: target spikes hit within ±3 ms, extra spikes,
   and the van Rossum distance before and after;
4. writes the figures and ``summary.json`` to the output folder.

Every number printed is measured in the run; nothing is asserted that was not checked.
"""

from __future__ import annotations

import math
import os
import platform
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax

from . import __version__, _io, _saving, metrics
from . import optimize as jo
from .data import OLAH_INPUTS, OlahSynaptic, takes_olah
from .evaluation import evaluate, fidelity_rows, format_seconds, format_table

SHIPPED = "hh-elm"
RECIPES = ("hh-tcn", "hh-cnnlstm", "hh-elm")
"""Names that ``scripts/train_pretrained.py`` knows how to train."""


@dataclass(frozen=True)
class Settings:
    """Sizes of one demo run.

    Attributes:
        n_cells: cells in the population comparison.
        duration_ms: their simulated time.
        gradient_cells: cells whose input gradients are compared (costly for the teacher).
        design_ms: length of the designed current.
        target_ms: times of the target spikes (ms from the start of the design window).
        steps: optimiser steps through each form.
    """

    n_cells: int
    duration_ms: float
    gradient_cells: int
    design_ms: float
    target_ms: tuple[float, ...]
    steps: int


FULL = Settings(64, 1000.0, 4, 300.0, (50.0, 110.0, 160.0, 230.0, 270.0), 200)
QUICK = Settings(8, 200.0, 1, 120.0, (40.0, 90.0), 25)

SEED = 0
CURRENT_BOUNDS = (-10.0, 20.0)
"""Bounds of the designed current (µA/cm²)."""
TAU_MS = 10.0
"""Time constant of the van Rossum distance (ms)."""
WINDOW_MS = 3.0
"""A target spike is hit by a spike within ±this many ms (one-to-one matching)."""
STEP_RMS = 0.6
"""Initial size of each normalised gradient step: its root mean square over the designed
samples (µA/cm²); the step's Euclidean length is ``STEP_RMS·√T``."""
ADAM_LR = 0.05
"""Adam's learning rate (µA/cm² per step)."""


class DemoError(ValueError):
    """The demo cannot run with what it was given (e.g. the surrogate is not there)."""


def normalized_descent(step_size: float, steps: int) -> optax.GradientTransformation:
    """Gradient descent with unit-norm gradients and a cosine-decaying step length.

    Spiking models give gradients whose size jumps by orders of magnitude when a spike appears
    or vanishes; Adam's per-sample scaling then either freezes or over-reacts. Normalising the
    whole gradient keeps its direction (where the current must change most) and fixes the step.
    """

    def init(params):
        return optax.EmptyState()

    def update(grads, state, params=None):
        norm = jnp.sqrt(sum(jnp.sum(jnp.square(g)) for g in jax.tree.leaves(grads)))
        return jax.tree.map(lambda g: g / (norm + 1e-30), grads), state

    schedule = optax.cosine_decay_schedule(step_size, steps, alpha=0.05)
    return optax.chain(optax.GradientTransformation(init, update), optax.sgd(schedule))


# ----------------------------------------------------------------------------- loading


def load_pair(surrogate: str | os.PathLike):
    """``(surrogate, params, teacher, teacher_params, card)`` of a saved surrogate of
    ``hh-synaptic``; a :class:`DemoError` that says what to do if there is none."""
    name = str(surrogate)
    if not Path(name).is_dir() and name not in _saving.pretrained():
        shipped = ", ".join(_saving.pretrained()) or "none"
        how = (
            f"train it with `python scripts/train_pretrained.py {name}` (it is then saved into "
            "jaxneuro/pretrained/), or pass --surrogate PATH to a saved surrogate of hh-synaptic"
            if name in RECIPES
            else "pass --surrogate with a shipped name or a folder written by jaxneuro.save"
        )
        raise DemoError(
            f"the surrogate {name!r} is not available: it is not shipped with this installation "
            f"(shipped: {shipped}) and is not a folder; {how}"
        )
    card = _saving.read_card(name)
    model, params = _saving.load(name)
    teacher, teacher_params = _saving.load_teacher(name)
    if not takes_olah(teacher.spec):
        raise DemoError(
            f"the demo drives the inputs {', '.join(OLAH_INPUTS)} (hh-synaptic), but {name!r} "
            f"imitates {card['teacher']['name']!r} with inputs {', '.join(teacher.spec.input_names)}"
        )
    return model, params, teacher, teacher_params, card


def untrained_current(card: dict) -> bool:
    """Whether the surrogate's training data held ``i_ext`` at zero (Oláh inputs, no current)."""
    sampler = (card.get("data") or {}).get("sampler") or {}
    return sampler.get("class") == "OlahSynaptic" and sampler.get("current") is None


# ----------------------------------------------------------------------------- design


def _pick_cell(x: np.ndarray) -> int:
    """The cell with the fewest excitatory events that still has synaptic input (so the target
    spikes must come from the designed current, against a real background)."""
    exc = x[:, :, 1].sum(axis=1)
    inputs = x[:, :, 1:].sum(axis=(1, 2))
    candidates = np.flatnonzero(inputs > 0)
    if candidates.size == 0:
        return 0
    return int(candidates[np.argmin(exc[candidates])])


def _check(spikes: np.ndarray, target: np.ndarray, target_ms: np.ndarray, dt: float) -> dict:
    """How a spike train meets the target: hits within ±WINDOW_MS, misses, extras, distance."""
    times = metrics.spike_times(spikes, dt)
    hits = len(metrics.match_spikes(times, target_ms, WINDOW_MS).lag_ms)
    d2 = float(jo.spike_train_loss(spikes, target, dt, tau=TAU_MS))
    return {
        "spike_times_ms": times.tolist(),
        "n_spikes": int(times.size),
        "hits": hits,
        "missed": int(target_ms.size - hits),
        "extra": int(times.size - hits),
        "van_rossum_d2": d2,
        "achieved": bool(hits == target_ms.size and times.size == hits),
    }


def optimizers(t: int, steps: int) -> dict[str, optax.GradientTransformation]:
    """The optimisers each form tries, by label. Spiking gradients are sparse and jump when a
    spike appears or vanishes; the HH model's design converges with large normalised steps, a
    trained surrogate's (a smooth but steep function) with small Adam steps, and neither with
    the other's (demo cell, when these were chosen: Adam through HH hits 2/5 target spikes;
    normalised descent through hh-tcn 3/5 with 3 extra spikes). Each form keeps its own best
    (demo cell now: HH by normalised descent, hh-elm by Adam, both 5/5 and no extra spike)."""
    return {
        f"normalised descent, {STEP_RMS:g} uA/cm2 RMS steps": normalized_descent(
            STEP_RMS * math.sqrt(t), steps
        ),
        f"Adam, lr {ADAM_LR:g} uA/cm2": optax.adam(ADAM_LR),
    }


def design(
    surrogate,
    params,
    teacher,
    teacher_params,
    x_cell: np.ndarray,
    settings: Settings,
    threshold: float,
    echo: Callable[[str], Any] = print,
) -> dict:
    """Design ``i_ext`` through each form with each of :func:`optimizers`; each form keeps the
    design its own loss rates best (the teacher is not consulted); check every design on the
    analytical model."""
    dt = teacher.spec.dt
    t = round(settings.design_ms / dt)
    target_ms = np.asarray(settings.target_ms, dtype=np.float64)
    target = np.zeros(t, np.float32)
    target[np.round(target_ms / dt).astype(int)] = 1.0
    x0 = np.array(x_cell[:t], np.float32)
    x0[:, 0] = 0.0

    def loss(outputs, x):
        return jo.spike_train_loss(outputs["spikes"], target, dt, tau=TAU_MS)

    run_teacher = eqx.filter_jit(lambda x: teacher.apply(teacher_params, x)[0])
    run_surrogate = eqx.filter_jit(lambda x: surrogate.apply(params, x)[0])

    def on_teacher(x):
        out = run_teacher(jnp.asarray(x))
        return np.asarray(out["v"]), np.asarray(out["spikes"])

    v0, s0 = on_teacher(x0)
    menu = optimizers(t, settings.steps)
    result = {
        "target_ms": target_ms.tolist(),
        "design_ms": t * dt,
        "bounds_uA_cm2": list(CURRENT_BOUNDS),
        "steps": settings.steps,
        "optimizers": list(menu),
        "selection": "per form, the design with the lowest loss on that form",
        "loss": f"van Rossum distance squared, tau = {TAU_MS:g} ms",
        "window_ms": WINDOW_MS,
        "x0": x0,
        "initial": {**_check(s0, target, target_ms, dt), "v": v0},
    }
    for form, sim, p in [("analytical", teacher, teacher_params), ("surrogate", surrogate, params)]:
        echo(f"designing i_ext through the {form} model ({len(menu)} x {settings.steps} steps) ...")
        t0 = time.perf_counter()
        tries = {}
        for label, optimizer in menu.items():
            res = jo.stimulus(
                sim,
                p,
                x0,
                loss,
                steps=settings.steps,
                channels="i_ext",
                bounds=CURRENT_BOUNDS,
                optimizer=optimizer,
            )
            tries[label] = res
        wall = time.perf_counter() - t0
        chosen = min(tries, key=lambda k: float(tries[k].loss))
        res = tries[chosen]
        x = np.asarray(res.x)
        on_hh = {k: on_teacher(np.asarray(r.x)) for k, r in tries.items()}
        checks = {k: _check(on_hh[k][1], target, target_ms, dt) for k in tries}
        v = on_hh[chosen][0]
        entry = {
            **checks[chosen],
            "wall_s_with_compile": wall,
            "optimizer": chosen,
            "attempts": {
                k: {"own_loss": float(r.loss), "best_step": r.best_step, "checked": checks[k]}
                for k, r in tries.items()
            },
            "best_step": res.best_step,
            "own_loss": float(res.loss),
            "loss_history": np.asarray(res.loss_history),
            "i_ext": x[:, 0],
            "v": v,
        }
        if form == "surrogate":
            own = np.asarray(run_surrogate(jnp.asarray(x))["spikes"])
            decoded = metrics.decode_spikes(own, threshold, round(2.0 / dt), mode="peak")
            entry["own_spike_times_ms"] = metrics.spike_times(decoded, dt).tolist()
        result[form] = entry
    return result


def design_rows(d: dict) -> list[tuple[str, ...]]:
    n = len(d["target_ms"])
    header = ("current", "spikes", f"hits (+-{WINDOW_MS:g} ms)", "missed", "extra")
    header += ("van Rossum D2", "design time")
    rows = [header]
    for key, label in [
        ("initial", "initial (i_ext = 0)"),
        ("analytical", "designed via analytical"),
        ("surrogate", "designed via surrogate"),
    ]:
        e = d[key]
        wall = format_seconds(e["wall_s_with_compile"]) if "wall_s_with_compile" in e else "-"
        rows.append(
            (
                label,
                str(e["n_spikes"]),
                f"{e['hits']}/{n}",
                str(e["missed"]),
                str(e["extra"]),
                f"{e['van_rossum_d2']:.3g}",
                wall,
            )
        )
    return rows


def _grid(rows: list[tuple[str, ...]]) -> str:
    """Rows of cells as a text table: the first column left-aligned, the others right-aligned."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]

    def line(row):
        pairs = enumerate(zip(row, widths, strict=True))
        cells = (c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in pairs)
        return "  " + "  ".join(cells)

    rule = "  " + "-" * (sum(widths) + 2 * len(widths) - 2)
    return "\n".join([line(rows[0]), rule, *map(line, rows[1:])])


def _verdict(e: dict, n: int) -> str:
    if e["achieved"]:
        return f"achieved: all {n} target spikes within +-{WINDOW_MS:g} ms and no extra spike"
    return (
        f"not achieved: {e['hits']}/{n} target spikes within +-{WINDOW_MS:g} ms, "
        f"{e['extra']} extra spike(s)"
    )


# ----------------------------------------------------------------------------- figure


def design_figure(d: dict, dt: float, title: str = ""):
    """Designed currents, the synaptic background, and the analytical model's responses."""
    from matplotlib.figure import Figure

    x0 = d["x0"]
    t = (np.arange(x0.shape[0]) + 1) * dt
    target = np.asarray(d["target_ms"])
    colors = {"analytical": "k", "surrogate": "tab:red"}
    fig = Figure(figsize=(9, 8), layout="constrained")
    axes = fig.subplots(4, 1, sharex=True, height_ratios=(2, 0.8, 2, 1.4))
    ax = axes[0]
    for form, c in colors.items():
        ax.plot(t, d[form]["i_ext"], color=c, lw=0.9, label=f"designed via {form}")
    ax.axhline(0.0, color="0.6", lw=0.6)
    ax.set_ylabel("i_ext (uA/cm2)")
    ax.legend(loc="upper right", fontsize="small", frameon=False)
    if title:
        ax.set_title(title, fontsize="medium")
    ax = axes[1]
    for col, (name, c) in enumerate([("exc", "tab:green"), ("inh", "tab:blue")], start=1):
        k = np.flatnonzero(x0[:, col] > 0)
        ax.plot(t[k], np.full(k.shape, col), "|", color=c, ms=8, label=name)
    ax.set_yticks([1, 2], ["exc", "inh"])
    ax.set_ylim(0.3, 2.7)
    ax.set_ylabel("synaptic\nevents")
    ax = axes[2]
    for form, c in colors.items():
        ax.plot(t, d[form]["v"], color=c, lw=0.8, label=f"analytical model, {form} design")
    for s in target:
        ax.axvline(s, color="tab:orange", lw=0.8, ls=":")
    ax.set_ylabel("v (mV)")
    ax.legend(loc="upper right", fontsize="small", frameon=False)
    ax = axes[3]
    rows = [
        ("target", target, "tab:orange"),
        ("initial", d["initial"]["spike_times_ms"], "0.5"),
        ("analytical design", d["analytical"]["spike_times_ms"], "k"),
        ("surrogate design", d["surrogate"]["spike_times_ms"], "tab:red"),
    ]
    if "own_spike_times_ms" in d["surrogate"]:
        rows.append(("surrogate's prediction", d["surrogate"]["own_spike_times_ms"], "salmon"))
    for i, (_, times, c) in enumerate(rows):
        times = np.asarray(times)
        ax.plot(times, np.full(times.shape, -i), "|", color=c, ms=10, mew=1.5)
    ax.set_yticks([-i for i in range(len(rows))], [r[0] for r in rows], fontsize="small")
    ax.set_ylim(-len(rows) + 0.5, 0.5)
    ax.set_xlabel("time (ms)")
    ax.set_title("spikes of the analytical model (and the surrogate's own prediction)", fontsize=9)
    return fig


# ----------------------------------------------------------------------------- the demo


def run(
    out: str | os.PathLike = "demo",
    *,
    quick: bool = False,
    surrogate: str | os.PathLike = SHIPPED,
    echo: Callable[[str], Any] = print,
) -> dict:
    """Run the demo (see the module docstring); return the summary also written to
    ``out/summary.json``. ``quick`` shrinks it to well under a minute on a CPU."""
    settings = QUICK if quick else FULL
    out = Path(out)
    t_start = time.perf_counter()
    model, params, teacher, teacher_params, card = load_pair(surrogate)
    spec = teacher.spec
    device = jax.devices()[0]
    n_params = int(sum(a.size for a in jax.tree.leaves(params)))
    where = device.platform
    if device.device_kind.lower() != where:
        where += f" ({device.device_kind})"
    echo(
        f"jaxneuro {__version__} demo on {where}; surrogate {surrogate} ({card['family']}, "
        f"{n_params} parameters) of {card['teacher']['name']}"
    )
    threshold = float(card.get("spike_threshold", 0.5))

    # (b) a population on Olah et al.'s synaptic inputs, both forms, fidelity and speed
    sampler = OlahSynaptic(duration_ms=settings.duration_ms, dt=spec.dt)
    keys = jax.random.split(jax.random.key(SEED), settings.n_cells)
    x = np.asarray(jax.jit(jax.vmap(sampler))(keys))
    echo(
        f"simulating {settings.n_cells} cells x {settings.duration_ms:g} ms of Olah-style Poisson "
        "inputs with both forms (the first calls compile) ..."
    )
    t0 = time.perf_counter()
    report = evaluate(
        model,
        teacher,
        x,
        params=params,
        teacher_params=teacher_params,
        out=out,
        spike_threshold=threshold,
        window_ms=WINDOW_MS,
        gradient_cells=settings.gradient_cells,
    )
    t_population = time.perf_counter() - t0
    title = (
        f"fidelity and speed: {surrogate} vs the analytical {card['teacher']['name']}, "
        f"{settings.n_cells} cells, seed {SEED}"
    )
    echo("")
    echo(format_table(fidelity_rows(report), title))
    echo("")

    # (c) design i_ext through both forms, check both designs on the analytical model
    t_design = round(settings.design_ms / spec.dt)
    cell = _pick_cell(x[:, :t_design])
    n_exc, n_inh = (int(x[cell, :t_design, k].sum()) for k in (1, 2))
    if untrained_current(card):
        echo(
            f"note: {surrogate} was trained on inputs with i_ext = 0 (its training sampler "
            "has no injected current), so its response to i_ext is untrained: its design "
            "below tests extrapolation"
        )
    d = design(model, params, teacher, teacher_params, x[cell], settings, threshold, echo)
    targets = ", ".join(f"{s:g}" for s in settings.target_ms)
    title = (
        f"designing i_ext of cell {cell} ({n_exc} exc, {n_inh} inh events held fixed) for "
        f"target spikes at {targets} ms; {settings.steps} steps, i_ext in "
        f"[{CURRENT_BOUNDS[0]:g}, {CURRENT_BOUNDS[1]:g}] uA/cm2; every design checked on the "
        "analytical model"
    )
    echo("")
    echo(title)
    echo(_grid(design_rows(d)))
    n = len(settings.target_ms)
    for form in ("analytical", "surrogate"):
        echo(f"  via {form}: {_verdict(d[form], n)} ({d[form]['optimizer']})")
    own = d["surrogate"]["own_loss"]
    echo(
        f"  the surrogate predicted D2 = {own:.3g} for its own design; the analytical model "
        f"gives {d['surrogate']['van_rossum_d2']:.3g}"
    )

    # (d) figures and summary
    fig = design_figure(d, spec.dt, title=f"i_ext designs for cell {cell}")
    _io.save_figure(fig, out / "design.png")
    summary = {
        "program": "jaxneuro demo",
        "jaxneuro_version": __version__,
        "jax_version": jax.__version__,
        "python": platform.python_version(),
        "device": {"platform": device.platform, "kind": device.device_kind},
        "quick": quick,
        "settings": asdict(settings),
        "surrogate": {
            "name_or_path": str(surrogate),
            "family": card["family"],
            "n_params": n_params,
            "teacher": card["teacher"],
            "spike_threshold": threshold,
            "trained_with_zero_i_ext": untrained_current(card),
        },
        "population": {"sampler": sampler.describe(), "seed": SEED, "n_cells": settings.n_cells},
        "fidelity": report,
        "design": {
            "cell": cell,
            "synaptic_events": {"exc": n_exc, "inh": n_inh},
            **{k: v for k, v in d.items() if k != "x0"},
        },
        "files": ["report.json", "traces.png", "raster.png", "roc.png", "design.png"],
        "wall_s": time.perf_counter() - t_start,
        "timings_s": {
            "population_and_fidelity": t_population,
            "design_analytical": d["analytical"]["wall_s_with_compile"],
            "design_surrogate": d["surrogate"]["wall_s_with_compile"],
        },
    }
    summary = _io._jsonable(summary)
    _io.write_json(out / "summary.json", summary)
    written = ", ".join(
        str(out / f) for f in ("summary.json", *summary["files"]) if (out / f).exists()
    )
    echo(f"\nwrote {written} ({format_seconds(summary['wall_s'])} in all)")
    return summary
