"""The dendritic experiment (issue 4): datasets from the reduced L5PC and its AMPA twin, the TCN
depth sweep (Beniaguev et al. 2021's finding: the NMDA cell needs depth), an ELM surrogate, and
the shipped ``l5pc-nmda`` / ``l5pc-ampa`` surrogates. Every stage resumes where it stopped.

    python scripts/dendritic.py data    [--work DIR] [--n 512]
    python scripts/dendritic.py sweep   [--work DIR] [--depths 1 2 3 4 5 7] [--width 24] [--field 61]
    python scripts/dendritic.py wide    [--work DIR] [--steps N]
    python scripts/dendritic.py elm     [--work DIR] [--steps N]
    python scripts/dendritic.py figure  [--work DIR]
    python scripts/dendritic.py diagnose [--work DIR] [--cells ...] [--models ...]
    python scripts/dendritic.py ship    [--work DIR]
    python scripts/dendritic.py rates   [--work DIR] [--cells ...] [--n 32] [--input-scale X]
                                        [--celsius C] [--ampa-scale A]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import jax
import numpy as np

import jaxneuro as jn
from jaxneuro._saving import write_card
from jaxneuro.models import LINEAR_SYNAPSES, ReducedL5PC, reduced_l5pc_input_layout
from jaxneuro.surrogates import ELM, TCN
from jaxneuro.training import FitConfig, LossMix

PACKAGE = Path(__file__).resolve().parents[1] / "jaxneuro" / "pretrained"
CELLS = {  # cell: (registry name, keywords)
    "nmda": ("reduced-l5pc", {}),
    "ampa": ("reduced-l5pc-ampa", {}),
    "ampa-linear": ("reduced-l5pc-ampa", LINEAR_SYNAPSES),
}
DURATION_MS = 6000.0
SKIP_MS = 500  # Beniaguev's evaluation discards each simulation's first 500 ms
MAX_SPIKES = 24  # … and keeps test simulations with ≤ 24 output spikes
CLIP_MV = -55.0
RECEPTIVE_FIELD = 61  # ms, the TCN history: 1 + Σ(k − 1) over layers
FIGURE = (
    Path(__file__).resolve().parents[1] / "benchmarks" / "results" / "dendritic_depth_sweep.png"
)


def teacher(cell: str, **changes) -> ReducedL5PC:
    """``cell``'s simulator; ``changes`` override or add :class:`ReducedL5PC` keywords."""
    name, keywords = CELLS[cell]
    return jn.create(name, **(keywords | changes))


def dataset_path(work: Path, cell: str) -> Path:
    return work / f"{cell}.zarr"


def make_data(work: Path, n: int, cells=tuple(CELLS), duration_ms: float = DURATION_MS) -> None:
    """Both cells on the same inputs (seed 0): 80/10/10 train/validation/test."""
    for cell in cells:
        sim = teacher(cell)
        sampler = jn.data.BeniaguevSynaptic(duration_ms, **reduced_l5pc_input_layout(sim))
        jn.data.generate(sim, sampler, n, dataset_path(work, cell), seed=0)


# --------------------------------------------------------------------------- surrogates
def kernel_split(depth: int, field: int = RECEPTIVE_FIELD) -> tuple[int, ...]:
    """Kernel sizes for ``depth`` causal layers with receptive field ``field``: the first layer
    takes about a third of the history (Beniaguev's larger first kernel), the rest share it."""
    if depth == 1:
        return (field,)
    first = (field - 1) // 3 + 1
    rest, extra = divmod(field - first, depth - 1)
    return (first + extra,) + (rest + 1,) * (depth - 1)


def build_tcn(spec, depth: int, width: int, field: int = RECEPTIVE_FIELD) -> TCN:
    return TCN(spec, n_layers=depth, channels=width, kernel_sizes=kernel_split(depth, field))


def tcn_name(depth: int, width: int, field: int = RECEPTIVE_FIELD) -> str:
    return f"tcn{depth}x{width}" + ("" if field == RECEPTIVE_FIELD else f"-t{field}")


def fit_config(
    steps: int, learning_rate: float = 3e-3, patience: int = 8, field: int = RECEPTIVE_FIELD
) -> FitConfig:
    """Training windows of ``field + 195`` ms: the first ``field`` (the history) are burn-in."""
    return FitConfig(
        steps=steps,
        batch_size=16,
        window=field + 195,
        burn_in=field,
        learning_rate=learning_rate,
        eval_every=max(steps // 20, 50),
        patience=patience,
        weight_decay=1e-4,
        loss=LossMix(spike_bce=1.0, v_mse=1.0, v_clip_mv=CLIP_MV, clip_prediction=True),
    )


def predict(surrogate, params, dataset, split: str):
    """The surrogate on ``split`` of Beniaguev's protocol: runs with ≤ 24 spikes, first 500 ms
    skipped. Returns predicted v and spike probability, true v and spikes (≤ 1 per bin)."""
    x, y = dataset.batch(dataset.split(split))
    keep = np.asarray(y["spikes"]).sum(axis=1) <= MAX_SPIKES
    x, v_true, s_true = x[keep], np.asarray(y["v"])[keep], np.asarray(y["spikes"])[keep]
    run = jax.jit(jax.vmap(lambda xi: surrogate.apply(params, xi)[0]))
    out = {k: [] for k in ("v", "spikes")}
    for i in range(0, len(x), 16):
        o = run(np.asarray(x[i : i + 16]))
        for k in out:
            out[k].append(np.asarray(o[k]))
    v_pred, p_spike = (np.concatenate(out[k])[:, SKIP_MS:] for k in ("v", "spikes"))
    return (
        v_pred,
        p_spike,
        v_true[:, SKIP_MS:],
        np.minimum(s_true[:, SKIP_MS:], 1),
        int((~keep).sum()),
    )


def test_metrics(surrogate, params, dataset) -> dict:
    """Held-out metrics of ``dataset``'s test split, Beniaguev's protocol: skip the first
    500 ms, keep simulations with ≤ 24 spikes, pool 1 ms bins; voltage clipped at −55 mV, raw
    (no rescaling) and moment-matched (Beniaguev/ELM convention)."""
    v_pred, p_spike, v_true, s_true, excluded = predict(surrogate, params, dataset, "test")
    roc = jn.metrics.roc_metrics(p_spike.ravel(), s_true.ravel())
    voltage = {
        "rmse_clipped_mv": jn.metrics.rmse(v_pred, v_true, clip_mv=CLIP_MV),
        "rmse_clipped_matched_mv": jn.metrics.rmse(
            v_pred, v_true, clip_mv=CLIP_MV, match_moments=True
        ),
        "ev_clipped": jn.metrics.explained_variance(v_pred, v_true, clip_mv=CLIP_MV),
    }
    return {
        "n_test": len(v_pred),
        "n_excluded": excluded,
        "spikes": {k: float(v) for k, v in roc.items()},
        "voltage": {k: float(v) for k, v in voltage.items()},
    }


def spike_decoding(surrogate, params, dataset, window_ms: float = 3.0) -> tuple[float, dict]:
    """The probability threshold with the best pooled F1 (±``window_ms``) on the validation
    split, and precision, recall and jitter with it on the test split."""
    scores = []
    thresholds = np.arange(0.1, 0.8, 0.05)
    _, prob, _, true, _ = predict(surrogate, params, dataset, "validation")
    for thr in thresholds:
        pred = jn.metrics.decode_spikes(prob, thr, 2, mode="peak")
        got = jn.metrics.summarise_batch(
            spikes_pred=pred, spikes_true=true, dt=1.0, window_ms=window_ms
        )
        scores.append(np.nan_to_num(got["f1_pooled"]))
    threshold = float(thresholds[int(np.argmax(scores))])
    _, prob, _, true, _ = predict(surrogate, params, dataset, "test")
    pred = jn.metrics.decode_spikes(prob, threshold, 2, mode="peak")
    got = jn.metrics.summarise_batch(
        spikes_pred=pred, spikes_true=true, dt=1.0, window_ms=window_ms
    )
    return threshold, {k: float(v) for k, v in got.items()}


def train(work: Path, cell: str, name: str, surrogate, steps: int, **config) -> dict:
    """Fit (resumable), then write the held-out metrics to ``work/runs/<cell>-<name>.json``.
    ``config``: :func:`fit_config`'s learning rate and patience."""
    out = work / "runs" / f"{cell}-{name}.json"
    if out.exists():  # done before: only if with the same training config
        done = json.loads((work / "models" / f"{cell}-{name}" / "card.json").read_text())
        wanted = json.loads(json.dumps(fit_config(steps, **config).describe()))
        if done["training"]["config"] != wanted:
            raise SystemExit(f"{out} was trained with another config; choose another --work")
        return json.loads(out.read_text())
    dataset = jn.data.open_dataset(dataset_path(work, cell))
    t0 = time.perf_counter()
    result = jn.fit(
        surrogate,
        dataset,
        fit_config(steps, **config),
        checkpoint_dir=work / "fit" / f"{cell}-{name}",
    )
    wall = time.perf_counter() - t0
    n_params = result.surrogate.n_params(result.params)
    record = {
        "cell": cell,
        "name": name,
        "family": type(surrogate).__name__,
        "n_params": n_params,
        "config": result.surrogate.config(),
        "fit_wall_s": wall,
        "best_step": result.best_step,
        **test_metrics(result.surrogate, result.params, dataset),
    }
    card = {
        "data": {"path": str(dataset_path(work, cell)), "n": dataset.n, "seed": 0,
                 "sampler": dataset.manifest.get("sampler")},
        "training": {"config": fit_config(steps, **config).describe(), "best_step": result.best_step,
                     "wall_s": wall, "history": result.history},
        "fidelity": {k: record[k] for k in ("n_test", "n_excluded", "spikes", "voltage")},
        "protocol": f"test split, first {SKIP_MS} ms skipped, runs with <= {MAX_SPIKES} spikes, "
                    f"1 ms bins pooled; voltage clipped at {CLIP_MV} mV",
    }  # fmt: skip
    jn.save(work / "models" / f"{cell}-{name}", result.surrogate, result.params,
            teacher=CELLS[cell][0], teacher_kwargs=CELLS[cell][1], card=card)  # fmt: skip
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(record, indent=1, default=float))
    print(
        json.dumps(
            {k: record[k] for k in ("cell", "name", "n_params", "spikes", "voltage")}, default=float
        )
    )
    return record


def sweep(
    work: Path, depths, width: int, steps: int, cells=tuple(CELLS), field: int = RECEPTIVE_FIELD
) -> None:
    for depth in depths:
        for cell in cells:
            tcn = build_tcn(teacher(cell).spec, depth, width, field)
            train(work, cell, tcn_name(depth, width, field), tcn, steps, field=field)


def wide(work: Path, steps: int, cells=tuple(CELLS), learning_rate: float = 3e-3,
         patience: int = 8) -> None:  # fmt: skip
    """Beniaguev's one-hidden-layer "FCN" for the AMPA cell: 1 layer × 128 units × 43 ms."""
    name = "fcn1x128" if learning_rate == 3e-3 else f"fcn1x128-lr{learning_rate:g}"
    for cell in cells:
        spec = teacher(cell).spec
        fcn = TCN(spec, n_layers=1, channels=128, kernel_sizes=43)
        train(work, cell, name, fcn, steps, learning_rate=learning_rate, patience=patience)


def elm(work: Path, n_memory: int, steps: int, cells=("nmda",)) -> None:
    for cell in cells:
        spec = teacher(cell).spec
        train(work, cell, f"elm{n_memory}", ELM(spec, n_memory=n_memory), steps)


def load_runs(work: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted((work / "runs").glob("*.json"))]


def spike_statistics(spikes: np.ndarray) -> dict:
    """§5.5(3) of runs ``spikes [n, T]`` (1 ms bins): mean rate, share of runs with ≤ 24 spikes,
    mean ISI CV (runs with ≥ 3 spikes; None if there are none)."""
    counts = spikes.sum(axis=1)
    cvs = []
    for row in spikes:
        isi = np.diff(np.flatnonzero(row))
        if len(isi) >= 2:
            cvs.append(isi.std() / isi.mean())
    return {
        "n": len(spikes),
        "rate_hz": float(counts.mean() / (spikes.shape[1] / 1000)),
        "share_le_24_spikes": float(np.mean(counts <= MAX_SPIKES)),
        "isi_cv": float(np.mean(cvs)) if cvs else None,
    }


def output_statistics(work: Path) -> dict:
    """:func:`spike_statistics` over each whole dataset."""
    stats = {}
    for cell in CELLS:
        ds = jn.data.open_dataset(dataset_path(work, cell))
        stats[cell] = spike_statistics(np.asarray(ds.batch(np.arange(ds.n)).outputs["spikes"]))
    return stats


def rates(work: Path, cell: str, n: int, input_scale: float, **keywords) -> dict:
    """Spike statistics and soma-voltage percentiles of ``cell`` with other ``keywords`` (e.g.
    ``celsius``, ``ampa_scale``) over ``n`` runs of 6 s (seed 1, not the datasets' seed), e.g.
    to calibrate a variant's input (§5.5(3)). Appends to ``benchmarks/results/dendritic_rates.json``."""
    sim = teacher(cell, **keywords)
    tag = "-".join(
        [cell, f"in{input_scale:g}", *(f"{k}{v:g}" for k, v in sorted(keywords.items()))]
    )
    sampler = jn.data.BeniaguevSynaptic(DURATION_MS, **reduced_l5pc_input_layout(sim, input_scale))
    ds = jn.data.generate(sim, sampler, n, work / "rates" / f"{tag}.zarr", seed=1, chunk_size=32)
    out = ds.batch(np.arange(ds.n)).outputs
    v = np.asarray(out["v"])
    row = {"cell": cell, "input_scale": input_scale, "keywords": keywords,
           **spike_statistics(np.asarray(out["spikes"])),
           "v_percentiles_mv": dict(zip(("50", "99", "99.9"), np.percentile(v, [50, 99, 99.9]).round(2).tolist(), strict=True))}  # fmt: skip
    path = FIGURE.with_name("dendritic_rates.json")
    table = json.loads(path.read_text()) if path.exists() else {}
    table[tag] = row
    path.write_text(json.dumps(table, indent=1))
    print(json.dumps(row))
    return row


def depth_of(run: dict) -> int:
    return len(run["config"]["channels"])


def tcn_shape(run: dict) -> tuple[int, int]:
    """A TCN run's width (first layer's channels) and receptive field (ms at 1 ms steps)."""
    c = run["config"]
    field = 1 + sum(d * (k - 1) for k, d in zip(c["kernel_sizes"], c["dilations"], strict=True))
    return c["channels"][0], field


def figure(work: Path, out: Path) -> None:
    """AUC and TPR at 0.25 % FPR against TCN depth, NMDA cell vs AMPA twin (+ ELM): the sweep
    at 24 channels × 61 ms, and at the spec's 64 channels × 121 ms (depths 1–3)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs = load_runs(work)
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.6))
    metrics = [("auc", "spike AUC"), ("tpr_at_fpr_0.0025", "TPR at 0.25 % FPR"),
               ("rmse_clipped_mv", "soma RMSE, clipped (mV)")]  # fmt: skip
    colours = {"nmda": "tab:red", "ampa": "tab:blue", "ampa-linear": "tab:gray"}
    styles = {(24, RECEPTIVE_FIELD): "o-", (64, 121): "s:"}  # the spec's width and history
    for cell, colour in colours.items():
        for (width, field), style in styles.items():
            tcn = sorted((r for r in runs if r["cell"] == cell and r["name"].startswith("tcn")
                          and tcn_shape(r) == (width, field)), key=depth_of)  # fmt: skip
            for ax, (key, _) in zip(axes, metrics, strict=True) if tcn else ():
                group = "voltage" if key.startswith("rmse") else "spikes"
                ax.plot([depth_of(r) for r in tcn], [r[group][key] for r in tcn], style,
                        color=colour, label=f"{cell.upper()}, TCN {width} ch, {field} ms")  # fmt: skip
        for ax, (key, label) in zip(axes, metrics, strict=True):
            group = "voltage" if key.startswith("rmse") else "spikes"
            for r in runs:
                if r["cell"] == cell and r["name"].startswith("fcn"):
                    ax.plot(
                        [1],
                        [r[group][key]],
                        "x",
                        ms=9,
                        color=colour,
                        label=f"{cell.upper()}, 1 × 128 FCN",
                    )
                if r["cell"] == cell and r["family"] == "ELM":
                    ax.axhline(
                        r[group][key], color=colour, ls="--", label=f"{cell.upper()}, {r['name']}"
                    )
            ax.set_xlabel("TCN depth (layers)")
            ax.set_title(label)
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=120)
    summary = [{k: r[k] for k in ("cell", "name", "family", "config", "n_params", "spikes", "voltage", "n_test",
                                  "fit_wall_s")} for r in runs]  # fmt: skip
    payload = {"datasets": output_statistics(work), "runs": summary}
    out.with_suffix(".json").write_text(json.dumps(payload, indent=1, default=float))
    print(f"wrote {out} and {out.with_suffix('.json')}")


def ms_since_spike(spikes: np.ndarray) -> np.ndarray:
    """Per 1 ms bin, ms since the last spike strictly before it (inf before the first)."""
    t = np.arange(spikes.shape[1], dtype=float)
    last = np.maximum.accumulate(np.where(spikes > 0, t, -np.inf), axis=1)
    before = np.concatenate([np.full((len(spikes), 1), -np.inf), last[:, :-1]], axis=1)
    return t - before


def diagnose(work: Path, cell: str, names: list[str]) -> dict:
    """Where a surrogate loses on ``cell``'s test split: spike AUC with the bins just after each
    true spike left out (refractoriness), and clipped RMSE by time since the last spike."""
    out = {}
    dataset = jn.data.open_dataset(dataset_path(work, cell))
    for name in names:
        surrogate, params = jn.load(work / "models" / f"{cell}-{name}")
        v_pred, p_spike, v_true, s_true, _ = predict(surrogate, params, dataset, "test")
        since = ms_since_spike(s_true)
        row = {"auc": jn.metrics.roc_metrics(p_spike.ravel(), s_true.ravel())["auc"]}
        for gap in (5, 20):
            keep = (since > gap).ravel()
            got = jn.metrics.roc_metrics(p_spike.ravel()[keep], s_true.ravel()[keep])
            row[f"auc_without_{gap}ms_after_spikes"] = got["auc"]
        err = (np.minimum(v_pred, CLIP_MV) - np.minimum(v_true, CLIP_MV)) ** 2
        for lo, hi in ((0, 10), (10, 30), (30, 100), (100, np.inf)):
            m = (since > lo) & (since <= hi)
            row[f"rmse_clipped_mv_{lo}_{hi}ms_after_spike"] = float(np.sqrt(err[m].mean()))
        out[name] = {k: float(v) for k, v in row.items()}
        print(cell, name, json.dumps(out[name]))
    path = FIGURE.with_name(f"dendritic_diagnosis_{cell}.json")
    path.write_text(json.dumps(out, indent=1))
    return out


def ship(work: Path, max_params: int = 100_000) -> None:
    """Copy the best small surrogate of each cell (by spike AUC, ≤ ``max_params``) into the
    package as ``l5pc-nmda`` / ``l5pc-ampa``."""
    import shutil

    for cell, name in (("nmda", "l5pc-nmda"), ("ampa", "l5pc-ampa")):
        runs = [r for r in load_runs(work) if r["cell"] == cell and r["n_params"] <= max_params]
        best = max(runs, key=lambda r: r["spikes"]["auc"])
        source = work / "models" / f"{cell}-{best['name']}"
        surrogate, params = jn.load(source)
        threshold, decoded = spike_decoding(
            surrogate, params, jn.data.open_dataset(dataset_path(work, cell))
        )
        card = jn.read_card(source)
        card["spike_threshold"] = threshold
        card["fidelity"]["spikes"] |= decoded
        card["fidelity"]["spike_window_ms"] = 3.0
        target = PACKAGE / name
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(source, target)
        write_card(target, card)  # re-sealed: the card's checksums cover the edit
        print(f"{name}: {best['name']} ({best['n_params']} params) AUC {best['spikes']['auc']:.4f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    stages = ["data", "sweep", "wide", "elm", "figure", "diagnose", "ship", "rates"]
    parser.add_argument("stage", choices=stages)
    parser.add_argument("--work", type=Path, default=Path("out/dendritic"))
    parser.add_argument("--n", type=int, default=512, help="simulations per cell (6 s each)")
    parser.add_argument("--duration-ms", type=float, default=DURATION_MS)
    parser.add_argument("--cells", nargs="+", default=list(CELLS), choices=list(CELLS))
    parser.add_argument("--depths", type=int, nargs="+", default=[1, 2, 3, 4, 5, 7])
    parser.add_argument("--width", type=int, default=24)
    parser.add_argument("--field", type=int, default=RECEPTIVE_FIELD, help="TCN history (ms)")
    parser.add_argument("--memory", type=int, default=20, help="ELM memory units")
    parser.add_argument("--input-scale", type=float, default=1.0, help="rates stage")
    parser.add_argument("--celsius", type=float, default=None, help="rates stage: soma °C")
    parser.add_argument("--ampa-scale", type=float, default=None, help="rates stage (AMPA twin)")
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--lr", type=float, default=3e-3, help="learning rate (wide stage)")
    parser.add_argument("--patience", type=int, default=8, help="evaluations (wide stage)")
    parser.add_argument("--models", nargs="+", default=["fcn1x128-lr0.001", "tcn1x24", "tcn3x24"],
                        help="runs to diagnose")  # fmt: skip
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    if args.stage == "data":
        make_data(args.work, args.n, args.cells, args.duration_ms)
    elif args.stage == "sweep":
        sweep(args.work, args.depths, args.width, args.steps, args.cells, args.field)
    elif args.stage == "wide":
        wide(args.work, args.steps, args.cells, args.lr, args.patience)
    elif args.stage == "elm":
        elm(args.work, args.memory, args.steps, args.cells)
    elif args.stage == "figure":
        figure(args.work, FIGURE)
    elif args.stage == "diagnose":
        for cell in args.cells:
            diagnose(args.work, cell, args.models)
    elif args.stage == "ship":
        ship(args.work)
    elif args.stage == "rates":
        keywords = {"celsius": args.celsius, "ampa_scale": args.ampa_scale}
        keywords = {k: v for k, v in keywords.items() if v is not None}
        for cell in args.cells:
            rates(args.work, cell, args.n, args.input_scale, **keywords)


if __name__ == "__main__":
    main()
