"""Figures of a fidelity report, per output channel by kind: overlays of traces and rates, maps
of wide channels, event rasters and ROC curves. Each is titled with the two models' names and
says how many cells it shows."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from .. import metrics
from .._io import save_figure
from .._simulator import EVENTS, TRACE, Channel

TEACHER, SURROGATE = "k", "tab:red"


def _save(fig, path: Path) -> Path:
    return save_figure(fig, path, dpi=110)


def _shown(n: int, total: int) -> str:
    return f"{n} of {total} cells" if n < total else f"{n} cell{'s' * (n != 1)}"


def trace_overlay(
    y_true, y_pred, dt, path: Path, *, label="v (mV)", names=("teacher", "surrogate"), n_cells=3
) -> Path:
    """Teacher and surrogate traces ``[cells, T]`` of the first ``n_cells`` cells."""
    n = min(n_cells, y_true.shape[0])
    t = dt * np.arange(1, y_true.shape[1] + 1)
    fig = Figure(figsize=(9, 2.2 * n + 0.5))  # no pyplot: leaves the user's backend alone
    axes = fig.subplots(n, 1, sharex=True, squeeze=False)
    for i, ax in enumerate(axes[:, 0]):
        ax.plot(t, y_true[i], color=TEACHER, lw=0.8, label=names[0])
        ax.plot(t, y_pred[i], color=SURROGATE, lw=0.8, alpha=0.8, label=names[1])
        ax.set_ylabel(label)
        ax.set_title(f"cell {i}", fontsize=8, loc="left")
    axes[0, 0].legend(loc="upper right", frameon=False)
    axes[-1, 0].set_xlabel("time (ms)")
    fig.suptitle(f"{label}: {names[0]} vs {names[1]} ({_shown(n, y_true.shape[0])})", fontsize=10)
    fig.tight_layout()
    return _save(fig, path)


def channel_map(
    y_true, y_pred, dt, path: Path, *, label: str, names=("teacher", "surrogate")
) -> Path:
    """A wide channel of cell 0 as two images ``[time, column]``, teacher above surrogate."""
    fig = Figure(figsize=(9, 5))
    axes = fig.subplots(2, 1, sharex=True)
    lo = float(min(y_true[0].min(), y_pred[0].min()))
    hi = float(max(y_true[0].max(), y_pred[0].max()))
    extent = (0.0, dt * y_true.shape[1], -0.5, y_true.shape[2] - 0.5)
    for ax, y, name in zip(axes, (y_true, y_pred), names, strict=True):
        im = ax.imshow(
            y[0].T, aspect="auto", origin="lower", extent=extent, vmin=lo, vmax=hi, cmap="viridis"
        )
        ax.set_ylabel("column")
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_title(name, fontsize=9, loc="left")
    axes[-1].set_xlabel("time (ms)")
    fig.colorbar(im, ax=list(axes), label=label)
    fig.suptitle(f"{label}, cell 0 of {y_true.shape[0]}: {names[0]} vs {names[1]}", fontsize=10)
    return _save(fig, path)


def raster(
    events_true, events_pred, dt, path: Path, *, names=("teacher", "surrogate"), n_cells=20
) -> Path:
    """Event rasters ``[cells, T]`` of the first ``n_cells`` cells, teacher above surrogate."""
    n = min(n_cells, events_true.shape[0])
    fig = Figure(figsize=(9, 0.25 * n + 1.4))
    ax = fig.subplots()
    for i in range(n):
        for trains, color, dy in [(events_true, TEACHER, 0.15), (events_pred, SURROGATE, -0.15)]:
            times = metrics.spike_times(trains[i], dt)
            ax.plot(times, np.full(times.shape, i + dy), "|", color=color, ms=5)
    ax.set_xlabel("time (ms)")
    ax.set_ylabel("cell")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylim(-0.6, n - 0.4)
    ax.set_title(
        f"events: {names[0]} (black), {names[1]} (red); {_shown(n, events_true.shape[0])}",
        fontsize=9,
    )
    fig.tight_layout()
    return _save(fig, path)


def roc(prob, labels, path: Path, *, names=("teacher", "surrogate"), auc=None) -> Path:
    """ROC of event probabilities on 1 ms bins, with its AUC."""
    fpr, tpr, _ = metrics.roc_curve(prob, labels)
    auc = metrics.roc_auc(prob, labels) if auc is None else auc
    fig = Figure(figsize=(4.2, 4.2))
    ax = fig.subplots()
    ax.plot(fpr, tpr, color=SURROGATE, label=f"AUC = {auc:.4f}")
    ax.plot([0, 1], [0, 1], color="0.7", ls="--")
    ax.set_xscale("symlog", linthresh=1e-3)
    ax.set_xlabel("false-positive rate (1 ms bins)")
    ax.set_ylabel("true-positive rate")
    ax.legend(loc="lower right", frameon=False)
    ax.set_title(f"{names[1]} events vs {names[0]} ({np.shape(labels)[0]} cells)", fontsize=9)
    fig.tight_layout()
    return _save(fig, path)


def channel_figures(
    c: Channel, arrays: dict, dt: float, out: Path, names, metrics_: dict, first: bool = True
):
    """The figures of one output channel into ``out``. The first channel of its kind writes
    ``traces.png`` (trace), ``rates.png`` (rate), or ``raster.png`` and ``roc.png`` (events);
    others add ``-<name>`` to these; a wide channel writes ``<name>-map.png`` instead."""
    suffix = "" if first else f"-{c.name}"
    label = f"{c.name} ({c.unit})"
    true, pred = arrays["true"], arrays["pred"]
    if c.kind == EVENTS:
        raster(true, pred, dt, out / f"raster{suffix}.png", names=names)
        if "bins_prob" in arrays:
            roc(
                arrays["bins_prob"],
                arrays["bins_true"],
                out / f"roc{suffix}.png",
                names=names,
                auc=metrics_.get("auc"),
            )
    elif c.width > 1:
        channel_map(true, pred, dt, out / f"{c.name}-map.png", label=label, names=names)
    else:
        stem = "traces" if c.kind == TRACE else "rates"
        trace_overlay(true, pred, dt, out / f"{stem}{suffix}.png", label=label, names=names)
