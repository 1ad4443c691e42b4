"""``evaluate``: how faithfully, and how fast, a surrogate imitates its teacher."""

from __future__ import annotations

import json
import os
from pathlib import Path

import jax.numpy as jnp
import numpy as np

from .. import metrics
from . import _figures
from ._gradients import cosine_similarity, default_gradient_loss, input_gradient
from ._speed import timed_run


def _bins_1ms(spikes_true, spike_prob, dt):
    """Spike labels and probabilities on 1 ms bins (any spike; 1 − Π(1 − p))."""
    k = round(1.0 / dt)
    if dt >= 1.0 or k <= 1:
        return (spikes_true > 0).astype(np.int8), spike_prob
    if abs(k * dt - 1.0) > 1e-6:
        raise ValueError(f"dt = {dt} ms does not tile 1 ms bins")
    n, t = spikes_true.shape
    t = (t // k) * k
    true = spikes_true[:, :t].reshape(n, -1, k).sum(-1) > 0
    prob = 1.0 - np.prod(1.0 - spike_prob[:, :t].reshape(n, -1, k), axis=-1)
    return true.astype(np.int8), prob


def evaluate(
    surrogate,
    teacher,
    stimuli,
    *,
    params,
    teacher_params=None,
    out: str | os.PathLike | None = None,
    spike_threshold: float = 0.5,
    window_ms: float = 3.0,
    clip_mv: float = -55.0,
    burn_in_ms: float = 0.0,
    gradient_cells: int = 4,
    gradient_loss=default_gradient_loss,
) -> dict:
    """A fidelity and speed report of ``surrogate`` (weights ``params``) against ``teacher``.

    Both run the same ``stimuli [N, T, n_inputs]`` (the surrogate closed loop). Reported:
    voltage RMSE, explained variance and Pearson r, raw and with spikes clipped at ``clip_mv``
    (Beniaguev et al. 2021); spike ROC AUC and true-positive rate at 0.25 % and 1 % false
    positives on 1 ms bins; spike precision, recall, F1 and jitter within ±``window_ms``
    (surrogate spikes: peaks of the spike probability above ``spike_threshold``); coincidence
    factor Γ (±``window_ms``); firing-rate error; **gradient fidelity**: cosine similarity of the
    two models' gradients of ``gradient_loss(outputs)`` with respect to the input, on the first
    ``gradient_cells`` stimuli; **speed**: wall time of the batched teacher and surrogate on this
    device, compilation apart. The first ``burn_in_ms`` are left out of the metrics. With
    ``out``, writes ``report.json`` and ``traces.png``, ``raster.png``, ``roc.png`` there.
    """
    if surrogate.spec != teacher.spec:
        raise ValueError(
            f"surrogate and teacher specs differ: {surrogate.spec.describe()} vs "
            f"{teacher.spec.describe()}"
        )
    x = jnp.asarray(stimuli)
    if x.ndim != 3 or x.shape[-1] != teacher.spec.n_inputs:
        raise ValueError(f"stimuli must be [N, T, {teacher.spec.n_inputs}], got {tuple(x.shape)}")
    teacher_params = teacher.init() if teacher_params is None else teacher_params
    dt = teacher.spec.dt
    y_true, t_speed = timed_run(teacher, teacher_params, x)
    y_pred, s_speed = timed_run(surrogate, params, x)
    skip = round(burn_in_ms / dt)
    if skip >= x.shape[1]:
        raise ValueError(f"burn_in_ms = {burn_in_ms} leaves no samples to evaluate")
    cut = lambda a: np.asarray(a, dtype=np.float64)[:, skip:]  # noqa: E731
    v_true, v_pred = cut(y_true["v"]), cut(y_pred["v"])
    report: dict = {"n_cells": int(x.shape[0]), "duration_ms": float((x.shape[1] - skip) * dt)}
    report["voltage"] = {
        "rmse_mv": metrics.rmse(v_pred, v_true),
        "explained_variance": metrics.explained_variance(v_pred, v_true),
        "pearson_r": metrics.pearson_r(v_pred, v_true),
        "rmse_clipped_mv": metrics.rmse(v_pred, v_true, clip_mv=clip_mv),
        "explained_variance_clipped": metrics.explained_variance(v_pred, v_true, clip_mv=clip_mv),
    }
    if "spikes" in y_true and "spikes" in y_pred:
        s_true, prob = cut(y_true["spikes"]), cut(y_pred["spikes"])
        s_pred = metrics.decode_spikes(prob, spike_threshold, round(2.0 / dt), mode="peak")
        timing = metrics.summarise_batch(
            spikes_pred=s_pred,
            spikes_true=s_true,
            dt=dt,
            window_ms=window_ms,
            coincidence_window_ms=window_ms,
        )
        bins_true, bins_prob = _bins_1ms(s_true, prob, dt)
        report["spikes"] = {k: timing[k] for k in timing if not k.endswith("_sd")}
        if 0 < bins_true.sum() < bins_true.size:
            report["spikes"].update(metrics.roc_metrics(bins_prob, bins_true))
            _spike_figures = (bins_prob, bins_true)
        else:
            _spike_figures = None
    cells = min(gradient_cells, x.shape[0])
    cosines = [
        cosine_similarity(
            input_gradient(surrogate, params, x[i], gradient_loss),
            input_gradient(teacher, teacher_params, x[i], gradient_loss),
        )
        for i in range(cells)
    ]
    report["gradient_cosine"] = {"mean": float(np.nanmean(cosines)), "per_cell": cosines}
    report["speed"] = {
        "teacher": t_speed,
        "surrogate": s_speed,
        "speedup": t_speed["run_s"] / s_speed["run_s"],
        "simulated_cell_seconds": float(x.shape[0] * x.shape[1] * dt / 1000.0),
    }
    report["settings"] = dict(
        spike_threshold=spike_threshold,
        window_ms=window_ms,
        clip_mv=clip_mv,
        burn_in_ms=burn_in_ms,
        dt=dt,
    )
    if out is not None:
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        _figures.trace_overlay(v_true, v_pred, dt, out / "traces.png")
        if "spikes" in report:
            _figures.raster(s_true, s_pred, dt, out / "raster.png")
            if _spike_figures is not None:
                _figures.roc(*_spike_figures, out / "roc.png")
        tmp = out / "report.json.tmp"
        tmp.write_text(json.dumps(report, indent=2, default=float))
        tmp.replace(out / "report.json")
    return report
