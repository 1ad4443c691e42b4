"""What every command shares: argument types, the output-folder check, sample counts, models."""

from __future__ import annotations

import argparse
import math
import tempfile
from pathlib import Path

from .._registry import create
from .._simulator import IOSpec, n_samples


class UsageError(ValueError):
    """A bad combination of arguments, reported like an argparse error."""


def positive(kind):
    """An argparse type: a positive ``kind`` (``int`` or ``float``)."""

    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            what = "an integer" if kind is int else "a number"
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
        if not (math.isfinite(value) and value > 0):
            raise argparse.ArgumentTypeError(f"must be positive, got {text}")
        return value

    parse.__name__ = f"positive {kind.__name__}"
    return parse


def finite(text: str) -> float:
    """An argparse type: a finite float."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be finite, got {text}")
    return value


def nonnegative_float(text: str) -> float:
    """An argparse type: a finite float >= 0."""
    value = finite(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {text}")
    return value


def nonnegative_int(text: str) -> int:
    """An argparse type: an integer >= 0."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {text}")
    return value


def check_writable(path: Path, option: str = "--out") -> None:
    """Refuse ``path`` unless it is a folder we can write in, or one we can create; before any
    work starts. Creates nothing (a probe file in the folder, or in its nearest existing parent,
    is removed at once)."""
    if path.exists() and not path.is_dir():
        raise UsageError(f"{option} {path} exists and is not a folder")
    base = path.absolute()
    while not base.exists():
        base = base.parent
    if not base.is_dir():
        raise UsageError(f"{option} {path} cannot be created: {base} is not a folder")
    try:
        with tempfile.TemporaryFile(dir=base, prefix=".jaxneuro-probe-"):
            pass
    except OSError as e:
        raise UsageError(f"cannot write to {option} {path}: {e.strerror or e} ({base})") from None


def samples(
    duration: float, spec: IOSpec, *, option: str = "--duration", dt_given: bool = False
) -> int:
    """Input samples in ``duration`` ms of ``spec`` (:func:`jaxneuro._simulator.n_samples`): a
    :class:`UsageError` naming ``option`` unless the output interval divides it."""
    step = spec.output_dt
    try:
        return n_samples(duration, step) * spec.decimation
    except ValueError:
        pass
    if spec.decimation > 1:
        where = f"the model's output interval of {step:g} ms"
    else:
        where = f"--dt {step:g} ms" if dt_given else f"the model's sample interval of {step:g} ms"
    ratio = duration / step
    if ratio < 1 - 1e-6:
        raise UsageError(f"{option} {duration:g} ms is shorter than one sample ({where})")
    raise UsageError(
        f"{option} {duration:g} ms is not a whole number of samples of {where} "
        f"({ratio:.6g} samples); pass a multiple of {step:g} ms"
    )


def build(name: str, dt: float | None = None, solver_dt: float | None = None):
    """``(simulator, keywords)``: the registered model ``name`` with ``--dt`` / ``--solver-dt``."""
    kwargs = {} if dt is None else {"dt": dt}
    if solver_dt is not None:
        kwargs["solver_dt"] = solver_dt
    try:
        return create(name, **kwargs), kwargs
    except TypeError as e:  # a factory that fixes dt itself
        raise UsageError(f"model {name!r} cannot be built with {kwargs}: {e}") from None


def flatten(tree, prefix: str = "") -> dict:
    """``{"a.b": value}`` of nested dicts."""
    if not isinstance(tree, dict):
        return {prefix: tree}
    flat = {}
    for k, v in tree.items():
        flat.update(flatten(v, f"{prefix}.{k}" if prefix else str(k)))
    return flat


def provenance(program: str, argv: list[str]) -> dict:
    """The opening entries of a command's ``manifest.json``: what wrote it, with which versions,
    when, and the command line."""
    import datetime
    import platform

    import jax

    from .. import __version__

    return {
        "program": program,
        "jaxneuro_version": __version__,
        "jax_version": jax.__version__,
        "python": platform.python_version(),
        "created": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "command": ["jaxneuro", *argv],
    }
