"""``jaxneuro demo``: the shipped HH surrogate against its teacher (:mod:`jaxneuro._demo`)."""

from __future__ import annotations

import argparse
from pathlib import Path

from ._args import check_writable


def add(commands) -> None:
    demo = commands.add_parser(
        "demo",
        help="the shipped HH surrogate against its teacher: fidelity, speed, stimulus design",
        description=(
            "Load the surrogate (default: the shipped hh-elm) and its analytical teacher, "
            "simulate a population on Olah et al.'s synaptic inputs with both and report "
            "fidelity and speed, then design an injected current by gradients through each "
            "form to evoke a target spike train, and check both designs on the analytical "
            "model. Writes figures and summary.json to DIR."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    demo.set_defaults(run=run)
    demo.add_argument("--out", type=Path, default=Path("demo"), metavar="DIR", help="output")
    demo.add_argument(
        "--quick", action="store_true", help="a small run (well under a minute on a CPU)"
    )
    demo.add_argument(
        "--surrogate",
        default="hh-elm",
        metavar="NAME_OR_PATH",
        help="a shipped name or saved folder of a surrogate of hh-synaptic",
    )


def run(args) -> int:
    from .. import _demo

    check_writable(args.out)
    _demo.run(out=args.out, quick=args.quick, surrogate=args.surrogate)
    return 0
