"""``evaluate``: how faithfully, and how fast, a surrogate imitates its teacher."""

from __future__ import annotations

import json
import os
from pathlib import Path

import jax.numpy as jnp
import numpy as np

from .._io import atomic_write
from .._simulator import EVENTS, RATE, TRACE, IOSpec
from . import _figures
from ._channels import events_fidelity, rate_fidelity, trace_fidelity
from ._gradients import cosine_similarity, input_gradients, mean_output_loss
from ._speed import timed_run

DEFAULT_SPIKE_THRESHOLD = 0.5
"""Event-probability threshold of a surrogate without a calibrated one."""


def default_threshold(surrogate) -> float:
    """The surrogate's calibrated event threshold (from its model card), else 0.5."""
    for obj in (surrogate, getattr(surrogate, "surrogate", None)):
        value = getattr(obj, "spike_threshold", None)
        if isinstance(value, float):
            return value
    return DEFAULT_SPIKE_THRESHOLD


def _legacy_views(spec: IOSpec, channels: dict) -> dict:
    """``report["voltage"]`` (the first trace in mV, with ``_mv`` keys) and ``report["spikes"]``
    (the first events channel), the sections older reports and model cards have."""
    out = {}
    volts = [c for c in spec.outputs_of(TRACE) if c.unit == "mV" and c.name in channels]
    if volts:
        m = channels[volts[0].name]
        out["voltage"] = {
            "rmse_mv": m["rmse"],
            "explained_variance": m["explained_variance"],
            "pearson_r": m["pearson_r"],
        }
        if "rmse_clipped" in m:
            out["voltage"]["rmse_clipped_mv"] = m["rmse_clipped"]
            out["voltage"]["explained_variance_clipped"] = m["explained_variance_clipped"]
    events = [c for c in spec.outputs_of(EVENTS) if c.name in channels]
    if events:
        out["spikes"] = {
            k: v for k, v in channels[events[0].name].items() if k not in ("kind", "unit", "width")
        }
    return out


def evaluate(
    surrogate,
    teacher,
    stimuli,
    *,
    params,
    teacher_params=None,
    out: str | os.PathLike | None = None,
    spike_threshold: float | None = None,
    window_ms: float = 3.0,
    clip_mv: float = -55.0,
    burn_in_ms: float = 0.0,
    gradient_cells: int = 4,
    gradient_loss=None,
    names: tuple[str, str] = ("teacher", "surrogate"),
) -> dict:
    """A fidelity and speed report of ``surrogate`` (weights ``params``) against ``teacher``.

    Both run the same ``stimuli [N, T, n_inputs]`` (the surrogate closed loop); a surrogate with a
    latency is compared ``latency`` output samples later. Each output channel is judged by its
    kind, under ``report["channels"][name]``:

    - trace: RMSE, MAE (channel unit), explained variance, Pearson r; in mV also with spikes
      clipped at ``clip_mv`` (Beniaguev et al. 2021);
    - rate: RMSE, MAE (spikes/s), explained variance, Pearson r, error of the mean rate;
    - events: precision, recall, F1, jitter, coincidence factor Γ and rate error within
      ±``window_ms`` (predicted events: peaks of the probability above ``spike_threshold``,
      default the surrogate's calibrated threshold from its card, else 0.5), ROC AUC and
      true-positive rate at 0.25 % and 1 % false positives on 1 ms bins.

    ``report["voltage"]`` and ``report["spikes"]`` repeat the first mV trace and the first events
    channel (the sections of earlier reports). Also: **gradient fidelity**, the cosine similarity
    of the two models' input gradients of ``gradient_loss(outputs)`` (default: the mean of the
    first trace, else rate, output) on the first ``gradient_cells`` stimuli; **speed**, wall time
    of the batched teacher and surrogate on this device, compilation apart. The first
    ``burn_in_ms`` are left out. With ``out``, writes ``report.json`` and figures there (titled
    with ``names``).
    """
    spec: IOSpec = teacher.spec
    if surrogate.spec != spec:
        raise ValueError(
            f"surrogate and teacher specs differ: {surrogate.spec.describe()} vs {spec.describe()}"
        )
    x = jnp.asarray(stimuli)
    if x.ndim != 3 or x.shape[-1] != spec.n_inputs:
        raise ValueError(f"stimuli must be [N, T, {spec.n_inputs}], got {tuple(x.shape)}")
    threshold = default_threshold(surrogate) if spike_threshold is None else float(spike_threshold)
    teacher_params = teacher.init() if teacher_params is None else teacher_params
    dt = spec.output_dt
    y_true, t_speed = timed_run(teacher, teacher_params, x)
    y_pred, s_speed = timed_run(surrogate, params, x)
    lag = getattr(surrogate, "latency", 0)
    n_out = spec.n_outputs(x.shape[1])
    skip = round(burn_in_ms / dt)
    if skip + lag >= n_out:
        raise ValueError(f"burn_in_ms = {burn_in_ms} leaves no samples to evaluate")
    true = lambda a: np.asarray(a, np.float64)[:, skip : n_out - lag]  # noqa: E731
    pred = lambda a: np.asarray(a, np.float64)[:, skip + lag :]  # noqa: E731

    channels: dict[str, dict] = {}
    figures: dict[str, tuple] = {}
    for c in spec.outputs:
        if c.name not in y_true or c.name not in y_pred:
            continue
        t, p = true(y_true[c.name]), pred(y_pred[c.name])
        if c.kind == EVENTS:
            m, arrays = events_fidelity(t, p, dt=dt, threshold=threshold, window_ms=window_ms)
        elif c.kind == RATE:
            m, arrays = rate_fidelity(c, t, p), {"true": t, "pred": p}
        else:
            m, arrays = trace_fidelity(c, t, p, clip_mv=clip_mv), {"true": t, "pred": p}
        channels[c.name] = {"kind": c.kind, "unit": c.unit, "width": c.width, **m}
        figures[c.name] = (c, arrays)

    report: dict = {"n_cells": int(x.shape[0]), "duration_ms": float((n_out - skip - lag) * dt)}
    report["channels"] = channels
    report.update(_legacy_views(spec, channels))

    loss = mean_output_loss(spec) if gradient_loss is None else gradient_loss
    cells = min(gradient_cells, x.shape[0])
    cosines = (
        [
            cosine_similarity(a, b)
            for a, b in zip(
                input_gradients(surrogate, params, x[:cells], loss),
                input_gradients(teacher, teacher_params, x[:cells], loss),
                strict=True,
            )
        ]
        if cells
        else []
    )
    report["gradient_cosine"] = {
        "mean": float(np.nanmean(cosines)) if cosines else float("nan"),
        "per_cell": cosines,
    }
    report["speed"] = {
        "teacher": t_speed,
        "surrogate": s_speed,
        "speedup": t_speed["run_s"] / s_speed["run_s"],
        "simulated_cell_seconds": float(x.shape[0] * x.shape[1] * spec.dt / 1000.0),
    }
    report["settings"] = dict(
        spike_threshold=threshold,
        window_ms=window_ms,
        clip_mv=clip_mv,
        burn_in_ms=burn_in_ms,
        dt=dt,
        latency=lag,
    )
    if out is not None:
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        seen: set[str] = set()
        for name, (c, arrays) in figures.items():
            first = c.kind not in seen
            seen.add(c.kind)
            _figures.channel_figures(c, arrays, dt, out, names, channels[name], first)
        atomic_write(out / "report.json", json.dumps(report, indent=2, default=float))
    return report
