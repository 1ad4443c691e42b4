"""A fidelity report as text: headline rows, two aligned columns, durations for people."""

from __future__ import annotations

import math

import jax

from .._simulator import RATE, TRACE


def _g(x, spec: str = ".3g") -> str:
    return "n/a" if x is None or not math.isfinite(x) else format(x, spec)


def format_seconds(t: float) -> str:
    """A duration for people: ``412 ms``, ``3.1 s``."""
    return f"{t * 1e3:.3g} ms" if t < 1.0 else f"{t:.3g} s"


def format_table(rows: list[tuple[str, str]], title: str = "") -> str:
    """Two aligned columns under an optional title."""
    width = max(len(label) for label, _ in rows)
    lines = [title, "-" * min(100, max(len(title), width + 30))] if title else []
    lines += [f"  {label:<{width}}  {value}" for label, value in rows]
    return "\n".join(lines)


def _voltage_rows(report: dict) -> list[tuple[str, str]]:
    v = report.get("voltage")
    if not v:
        return []
    rows = [("voltage RMSE", f"{_g(v['rmse_mv'])} mV")]
    if "rmse_clipped_mv" in v:
        clip = report["settings"]["clip_mv"]
        rows += [
            (f"voltage RMSE, clipped at {clip:g} mV", f"{_g(v['rmse_clipped_mv'])} mV"),
            ("explained variance (clipped)", _g(v["explained_variance_clipped"])),
        ]
    else:
        rows.append(("explained variance", _g(v["explained_variance"])))
    return rows + [("Pearson r", _g(v["pearson_r"]))]


def _spike_rows(report: dict) -> list[tuple[str, str]]:
    s = report.get("spikes")
    if not s:
        return []
    window = report["settings"]["window_ms"]
    rows = [
        (
            "spikes: teacher / surrogate",
            f"{int(s['n_true'])} / {int(s['n_pred'])} "
            f"({_g(s['rate_true_hz'])} / {_g(s['rate_pred_hz'])} Hz)",
        ),
        (
            f"precision / recall / F1 (+-{window:g} ms)",
            f"{_g(s['precision_pooled'])} / {_g(s['recall_pooled'])} / {_g(s['f1_pooled'])}",
        ),
        (
            "spike jitter (mean +- sd)",
            f"{_g(s['jitter_mean_ms'])} +- {_g(s['jitter_std_ms'])} ms",
        ),
        (f"coincidence factor (+-{window:g} ms)", _g(s["coincidence_factor"])),
    ]
    if "auc" in s:
        rows.append(
            (
                "spike AUC / TPR at 1% FPR (1 ms bins)",
                f"{_g(s['auc'], '.4f')} / {_g(s['tpr_at_fpr_0.01'])}",
            )
        )
    return rows


def _other_rows(report: dict) -> list[tuple[str, str]]:
    """Rates, and traces other than the voltage the ``voltage`` section repeats."""
    voltage = report.get("voltage")
    rows, seen_mv = [], False
    for name, m in (report.get("channels") or {}).items():
        if m.get("kind") not in (TRACE, RATE):
            continue
        if m.get("kind") == TRACE and m.get("unit") == "mV" and voltage and not seen_mv:
            seen_mv = True  # the first mV trace: already in the voltage rows
            continue
        rows.append(
            (
                f"{name}: RMSE / explained variance / r",
                f"{_g(m['rmse'])} {m.get('unit', '')} / {_g(m['explained_variance'])} / "
                f"{_g(m['pearson_r'])}",
            )
        )
    return rows


def fidelity_rows(report: dict) -> list[tuple[str, str]]:
    """The headline numbers of a :func:`jaxneuro.evaluate` report as ``(label, value)`` rows:
    the voltage, the first events channel, other traces and rates, gradient cosine and speed."""
    speed = report["speed"]
    rows = [("cells x scored duration", f"{report['n_cells']} x {report['duration_ms']:g} ms")]
    rows += _voltage_rows(report) + _spike_rows(report) + _other_rows(report)
    cos = report["gradient_cosine"]
    rows.append((f"input-gradient cosine ({len(cos['per_cell'])} cells)", _g(cos["mean"])))
    cell_s = speed["simulated_cell_seconds"]
    for who in ("teacher", "surrogate"):
        run, comp = speed[who]["run_s"], speed[who]["compile_s"]
        rows.append(
            (
                f"{who}: run (compile apart)",
                f"{format_seconds(run)} ({format_seconds(comp)}); "
                f"{cell_s / run:.3g} cell-s per wall-s",
            )
        )
    device = jax.devices()[0]
    rows.append(("speed-up, run only", f"{speed['speedup']:.3g}x on {device.platform}"))
    return rows
