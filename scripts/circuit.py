"""The Zhang & Young circuit end to end: dataset → MLP fit → analyses → figures (issue 17, 5–6).

    python scripts/circuit.py data      # resumable sweep (benchmarks/results/circuit_sweep/)
    python scripts/circuit.py fit       # MLP + regime classifier on the training split
    python scripts/circuit.py analyse   # held-out errors, gains vs simulator FD, search, speed-up

Every stage is seeded; ``data`` resumes where it stopped.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
SWEEP = RESULTS / "circuit_sweep"
N_POINTS = 3072
CHUNK = 32
T_TRANSIENT = 500.0
T_MEASURE = 1500.0


def cmd_data(args):
    from jaxneuro.circuits import generate_sweep

    t = time.time()
    generate_sweep(
        SWEEP,
        N_POINTS,
        n_seeds=2,
        chunk=CHUNK,
        t_transient=T_TRANSIENT,
        t_measure=T_MEASURE,
        sample_seed=0,
        noise_seed=1,
        max_seconds=args.max_seconds,
    )
    print(f"data: {time.time() - t:.0f} s this call")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__)
    sub = ap.add_subparsers(dest="cmd", required=True)
    d = sub.add_parser("data")
    d.add_argument("--max-seconds", type=float, default=None)
    args = ap.parse_args(argv)
    {"data": cmd_data}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
