"""Where a shipped HH surrogate's clipped-voltage error lies: around spikes it times right, shifts,
misses or invents, and everywhere else.

On the held-out stimuli of ``train_pretrained.py`` (seed 1, 50 runs × 600 ms, first 100 ms
skipped), with the card's spike threshold and ±3 ms matching: each sample is assigned to the
first of these that claims it (a spike claims its bin and the ``--after`` bins after it):
a missed teacher spike, a false surrogate spike, a matched pair at different bins (both spikes'
windows), a matched pair in the same bin, else "elsewhere". Prints each share of the squared
clipped error (−55 mV) and the RMSE within it. For scale, it also compares the teacher with
itself under an injected current 0.1 % larger (``i_ext`` × 1.001).

With ``--segments`` it instead prints the clipped RMSE over time: from rest (the first 100 ms of
the demo's inputs: Oláh et al.'s synapses, no injected current, 64 runs) and in 300 ms segments
of 2 s runs from the training distribution (seed 1, 50 runs), to show settling and drift.

    python scripts/hh_error_budget.py hh-tcn [--after 4] [--segments]
"""

from __future__ import annotations

import argparse
import json

import jax
import numpy as np
from train_pretrained import RECIPES, eval_stimuli

import jaxneuro as jn

CLIP_MV, WINDOW_MS, DEAD_TIME_MS = -55.0, 3.0, 2.0
CATEGORIES = ("missed", "false", "shifted", "timed", "elsewhere")


def _outputs(simulator, params, x) -> dict:
    """``simulator`` on each row of ``x`` (jit + vmap), from rest."""
    return jax.jit(jax.vmap(lambda xi: simulator.apply(params, xi)[0]))(x)


def _clipped(v, skip: int = 0) -> np.ndarray:
    """Voltages (mV) from sample ``skip`` on, float64, clipped at −55 mV."""
    return np.minimum(np.asarray(v, np.float64)[:, skip:], CLIP_MV)


def budget(name: str, after: int = 4) -> dict:
    recipe = RECIPES.get(name, RECIPES["hh-tcn"])  # the held-out protocol (same for both HH)
    surrogate, params = jn.load(name)
    teacher, teacher_params = jn.load_teacher(name)
    threshold = jn.read_card(name)["spike_threshold"]
    x = eval_stimuli(recipe, seed=1)
    dt = teacher.spec.dt
    skip = round(recipe.eval_burn_in_ms / dt)
    pred, true = _outputs(surrogate, params, x), _outputs(teacher, teacher_params, x)
    v_pred, v_true = _clipped(pred["v"], skip), _clipped(true["v"], skip)
    s_pred = jn.metrics.decode_spikes(
        np.asarray(pred["spikes"])[:, skip:], threshold, round(DEAD_TIME_MS / dt), mode="peak"
    )
    s_true = np.asarray(true["spikes"])[:, skip:] > 0
    label = np.full(v_true.shape, len(CATEGORIES) - 1)  # "elsewhere"
    counts = dict.fromkeys(CATEGORIES[:-1], 0)

    def claim(run, index, category):
        lo, hi = index, min(index + after + 1, label.shape[1])
        rank = CATEGORIES.index(category)
        label[run, lo:hi] = np.minimum(label[run, lo:hi], rank)

    for run in range(len(x)):
        tp = np.flatnonzero(s_pred[run])
        tt = np.flatnonzero(s_true[run])
        m = jn.metrics.match_spikes(tp * dt, tt * dt, WINDOW_MS)
        for i in np.setdiff1d(np.arange(len(tt)), m.true_idx):
            claim(run, tt[i], "missed")
            counts["missed"] += 1
        for i in np.setdiff1d(np.arange(len(tp)), m.pred_idx):
            claim(run, tp[i], "false")
            counts["false"] += 1
        for ip, it in zip(m.pred_idx, m.true_idx, strict=True):
            kind = "timed" if tp[ip] == tt[it] else "shifted"
            claim(run, tt[it], kind)
            claim(run, tp[ip], kind)
            counts[kind] += 1
    sq = (v_pred - v_true) ** 2
    total = sq.sum()
    rows = {}
    for rank, category in enumerate(CATEGORIES):
        here = label == rank
        rows[category] = {
            "spikes": counts.get(category),
            "samples_share": float(here.mean()),
            "sq_error_share": float(sq[here].sum() / total),
            "rmse_mv": float(np.sqrt(sq[here].mean())) if here.any() else None,
        }
    # the teacher against itself with i_ext scaled by 1.001: how fragile its spike decisions are
    scale = np.array([1.001 if c.name == "i_ext" else 1.0 for c in teacher.spec.inputs], x.dtype)
    nudged = _outputs(teacher, teacher_params, x * scale)
    v_nudged = _clipped(nudged["v"], skip)
    moved = int((s_true != (np.asarray(nudged["spikes"])[:, skip:] > 0)).sum())
    return {"surrogate": name, "rmse_clipped_mv": float(np.sqrt(sq.mean())), "after": after,
            "categories": rows,
            "teacher_nudged": {"i_ext_scale": 1.001, "spike_bins_changed": moved,
                               "rmse_clipped_mv": float(np.sqrt(((v_nudged - v_true) ** 2).mean()))},
            }  # fmt: skip


def segments(name: str, segment_ms: float = 300.0) -> dict:
    """Clipped RMSE (mV) in the first 100 ms from rest and per segment of 2 s runs."""
    surrogate, params = jn.load(name)
    teacher, teacher_params = jn.load_teacher(name)
    dt = teacher.spec.dt
    rows = {}
    demo = jn.data.OlahSynaptic(duration_ms=1000.0, dt=dt)
    x = np.asarray(jax.vmap(demo)(jax.random.split(jax.random.key(0), 64)))
    err = _clipped(_outputs(surrogate, params, x)["v"]) - _clipped(
        _outputs(teacher, teacher_params, x)["v"]
    )
    err = err[:, : round(100 / dt)]
    rows["from rest, 0-100 ms"] = float(np.sqrt((err**2).mean()))
    sampler = RECIPES["hh-tcn"].sampler  # 2,000 ms, the training distribution
    x = np.asarray(jax.vmap(sampler)(jax.random.split(jax.random.key(1), 50)))
    err = _clipped(_outputs(surrogate, params, x)["v"]) - _clipped(
        _outputs(teacher, teacher_params, x)["v"]
    )
    step = round(segment_ms / dt)
    for a in range(round(100 / dt), err.shape[1], step):
        rows[f"{a * dt:g}-{min(a + step, err.shape[1]) * dt:g} ms"] = float(
            np.sqrt((err[:, a : a + step] ** 2).mean())
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("name", help="a shipped HH surrogate or a saved folder")
    parser.add_argument("--after", type=int, default=4, help="bins after a spike it claims")
    parser.add_argument("--segments", action="store_true", help="RMSE over time instead")
    args = parser.parse_args()
    if args.segments:
        for span, value in segments(args.name).items():
            print(f"{args.name}: clipped RMSE {value:.3f} mV, {span}")
        return
    result = budget(args.name, args.after)
    print(f"{args.name}: clipped RMSE {result['rmse_clipped_mv']:.3f} mV")
    print(f"{'category':<10} {'spikes':>6} {'samples':>8} {'sq. error':>9} {'RMSE mV':>8}")
    for category, row in result["categories"].items():
        spikes = "" if row["spikes"] is None else row["spikes"]
        print(
            f"{category:<10} {spikes:>6} {row['samples_share']:>8.1%} "
            f"{row['sq_error_share']:>9.1%} {row['rmse_mv']:>8.2f}"
        )
    nudged = result["teacher_nudged"]
    print(
        f"teacher vs itself with i_ext x 1.001: {nudged['spike_bins_changed']} spike bins changed, "
        f"clipped RMSE {nudged['rmse_clipped_mv']:.3f} mV"
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
