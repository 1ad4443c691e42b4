"""Do the shipped point-neuron surrogates still reproduce their model cards' fidelity?

For each HH / LIF card: 50 fresh stimuli of 600 ms from the card's own sampler (seed 1, as the
cards' test sets), the teacher from the card, ``jaxneuro.evaluate`` with its defaults (the card's
calibrated threshold, ±3 ms, 100 ms burn-in), and the card's numbers beside the new ones. The
L5PC cards are checked by tests/test_simulators.py::test_shipped_surrogate_reproduces_its_teacher.

    python scripts/reproduce_cards.py [--cells 50] [--out benchmarks/results/card_reproduction.json]
"""

from __future__ import annotations

import argparse
import json

import jax

import jaxneuro as jn
from jaxneuro._saving import read_card
from jaxneuro.data import sampler_from_description

CARDS = ("hh-tcn", "hh-elm", "hh-cnnlstm", "lif-tcn")
KEYS = ("f1_pooled", "precision_pooled", "recall_pooled", "auc")


def reproduce(name: str, n_cells: int) -> dict:
    card = read_card(name)
    surrogate, params = jn.load(name)
    teacher, teacher_params = jn.load_teacher(name)
    fid = card["fidelity"]
    burn = fid["settings"]["burn_in_ms"]
    duration = fid["duration_ms"] + burn
    sampler = sampler_from_description(card["data"]["sampler"], duration, teacher.spec.dt)
    keys = jax.random.split(jax.random.key(1), n_cells)
    stimuli = jax.vmap(sampler)(keys)
    report = jn.evaluate(
        surrogate,
        teacher,
        stimuli,
        params=params,
        teacher_params=teacher_params,
        burn_in_ms=burn,
        gradient_cells=0,
    )
    row = {"card": {k: fid["spikes"][k] for k in KEYS}, "now": {}}
    row["now"] = {k: float(report["spikes"][k]) for k in KEYS}
    row["card"]["rmse_clipped_mv"] = fid["voltage"]["rmse_clipped_mv"]
    row["now"]["rmse_clipped_mv"] = float(report["voltage"]["rmse_clipped_mv"])
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cells", type=int, default=50)
    ap.add_argument("--out", default="benchmarks/results/card_reproduction.json")
    args = ap.parse_args()
    rows = {name: reproduce(name, args.cells) for name in CARDS}
    print(f"{'card':12s} " + " ".join(f"{k:>22s}" for k in (*KEYS, "rmse_clipped_mv")))
    for name, row in rows.items():
        cells = [f"{row['card'][k]:.4f} → {row['now'][k]:.4f}" for k in (*KEYS, "rmse_clipped_mv")]
        print(f"{name:12s} " + " ".join(f"{c:>22s}" for c in cells))
    worst = max(abs(r["card"][k] - r["now"][k]) for r in rows.values() for k in KEYS)
    print(f"largest change in a spike metric: {worst:.4f}")
    meta = {"jax": jax.__version__, "n_cells": args.cells, "largest_spike_metric_change": worst}
    with open(args.out, "w") as f:
        json.dump({"meta": meta, "cards": rows}, f, indent=1)


if __name__ == "__main__":
    main()
