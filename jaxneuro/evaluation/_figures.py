"""Figures of a fidelity report: trace overlay, spike raster, ROC curve."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from .. import metrics


def _save(fig, path: Path) -> Path:
    tmp = path.with_name(path.stem + ".tmp.png")
    fig.savefig(tmp, dpi=110)
    tmp.replace(path)
    return path


def trace_overlay(v_true, v_pred, dt, path: Path, n_cells: int = 3) -> Path:
    n = min(n_cells, v_true.shape[0])
    t = dt * np.arange(1, v_true.shape[1] + 1)
    fig = Figure(figsize=(9, 2.2 * n))  # no pyplot: leaves the user's backend alone
    axes = fig.subplots(n, 1, sharex=True, squeeze=False)
    for i, ax in enumerate(axes[:, 0]):
        ax.plot(t, v_true[i], color="k", lw=0.8, label="teacher")
        ax.plot(t, v_pred[i], color="tab:red", lw=0.8, alpha=0.8, label="surrogate")
        ax.set_ylabel("v (mV)")
    axes[0, 0].legend(loc="upper right", frameon=False)
    axes[-1, 0].set_xlabel("time (ms)")
    fig.tight_layout()
    return _save(fig, path)


def raster(spikes_true, spikes_pred, dt, path: Path, n_cells: int = 20) -> Path:
    n = min(n_cells, spikes_true.shape[0])
    fig = Figure(figsize=(9, 0.25 * n + 1.2))
    ax = fig.subplots()
    for i in range(n):
        for trains, color, dy in [(spikes_true, "k", 0.15), (spikes_pred, "tab:red", -0.15)]:
            times = metrics.spike_times(trains[i], dt)
            ax.plot(times, np.full(times.shape, i + dy), "|", color=color, ms=5)
    ax.set_xlabel("time (ms)")
    ax.set_ylabel("cell")
    ax.set_title("spikes: teacher (black), surrogate (red)", fontsize=9)
    fig.tight_layout()
    return _save(fig, path)


def roc(spike_prob, spike_true, path: Path) -> Path:
    fpr, tpr, _ = metrics.roc_curve(spike_prob, spike_true)
    fig = Figure(figsize=(4, 4))
    ax = fig.subplots()
    ax.plot(fpr, tpr, color="tab:red")
    ax.plot([0, 1], [0, 1], color="0.7", ls="--")
    ax.set_xscale("symlog", linthresh=1e-3)
    ax.set_xlabel("false-positive rate (1 ms bins)")
    ax.set_ylabel("true-positive rate")
    fig.tight_layout()
    return _save(fig, path)
