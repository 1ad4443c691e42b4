"""The parser of every command, and how errors end a run: one line on stderr, an exit status."""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Sequence

import equinox as eqx

from .. import __version__
from . import _demo, _evaluate, _fit, _generate, _hear, _models, _simulate

COMMANDS = (_models, _simulate, _generate, _fit, _evaluate, _demo, _hear)
"""One module per command, in ``--help`` order; each has ``add(commands)`` and ``run(args)``."""

PATH_ERRORS = (
    FileNotFoundError,
    FileExistsError,
    PermissionError,
    IsADirectoryError,
    NotADirectoryError,
)
"""OS errors about a path named by the arguments (exit 2); others (a full disk) exit 1."""


def parser() -> argparse.ArgumentParser:
    """The ``jaxneuro`` argument parser with every command."""
    top = argparse.ArgumentParser(
        prog="jaxneuro",
        description="Differentiable neuron models on diffrax: list them, simulate populations, "
        "generate teacher data, fit, evaluate and demo surrogates.",
    )
    top.add_argument("--version", action="version", version=f"jaxneuro {__version__}")
    commands = top.add_subparsers(title="commands", required=True, metavar="COMMAND")
    for command in COMMANDS:
        command.add(commands)
    return top


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line ``argv`` (default ``sys.argv[1:]``); return the exit status.

    Argument errors, ``ValueError`` from the library, and missing, unreadable or unwritable files
    print ``jaxneuro: error: ...`` (one line) on stderr and return 2; errors found while a
    simulation or a fit runs (solver divergence, a non-finite loss, a full disk) return 1.
    """
    try:
        args = parser().parse_args(argv)
    except SystemExit as e:  # argparse has printed usage and message
        return e.code if isinstance(e.code, int) else 2
    args.argv = list(sys.argv[1:] if argv is None else argv)
    try:
        return args.run(args)
    except ValueError as e:  # bad arguments, or data and files named by them
        return fail(e, 2)
    except (eqx.EquinoxRuntimeError, FloatingPointError) as e:  # found while running
        return fail(e, 1)
    except BrokenPipeError:  # e.g. `jaxneuro models | head`: the reader has gone, quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except OSError as e:
        return fail(e, 2 if isinstance(e, PATH_ERRORS) else 1)


def fail(error: Exception, code: int) -> int:
    """Print ``error`` as one ``jaxneuro: error: ...`` line on stderr; return ``code``."""
    if isinstance(error, OSError) and error.strerror:
        where = error.filename if error.filename is not None else ""
        text = f"{where}: {error.strerror}" if where else error.strerror
    else:
        text = str(error)
    found = re.search(r"EquinoxRuntimeError: (.*)", text)
    lines = text.strip().splitlines()
    line = found.group(1) if found else (lines[0] if lines else type(error).__name__)
    print(f"jaxneuro: error: {line}", file=sys.stderr)
    return code
