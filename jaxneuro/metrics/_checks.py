"""Argument checks shared by the metrics (private).

Rule used throughout ``jaxneuro.metrics``: malformed input (wrong shape, empty, non-finite,
non-binary labels) is a ``ValueError`` naming the argument; a metric that is mathematically
undefined on well-formed input is ``nan``, as each docstring says.
"""

from __future__ import annotations

import math

import jax
import numpy as np

EDGE_TOL = 1e-9
"""Relative tolerance on window edges, so that float round-off in ``i * dt`` never decides
whether a spike lies exactly on ``±window`` (e.g. ``100 * 0.1 = 10.000000000000002``)."""


def is_jax(*arrays) -> bool:
    """True if any argument is a JAX array or tracer (then the jnp path is used)."""
    return any(isinstance(a, jax.Array) for a in arrays)


def number(name: str, value: object, *, low: float | None = None, strict: bool = False) -> float:
    """A concrete finite real scalar, optionally ``> low`` (strict) or ``>= low``."""
    if isinstance(value, jax.core.Tracer):
        raise ValueError(f"{name} must be a concrete number, got a traced value")
    arr = np.asarray(value)
    if arr.ndim != 0 or arr.dtype == np.bool_ or not np.issubdtype(arr.dtype, np.number):
        raise ValueError(f"{name} must be a real scalar, got {name}={value!r}")
    out = float(arr)
    if not math.isfinite(out):
        raise ValueError(f"{name} must be finite, got {name}={value!r}")
    if low is not None and (out <= low if strict else out < low):
        rel = ">" if strict else ">="
        raise ValueError(f"{name} must be {rel} {low:g}, got {name}={value!r}")
    return out


def real_array(name: str, value: object, *, finite: bool = True) -> np.ndarray:
    """A non-empty real float64 array (bool accepted as 0/1), finite unless told otherwise."""
    arr = np.asarray(value)
    if arr.dtype == np.bool_:
        arr = arr.astype(np.float64)
    if not np.issubdtype(arr.dtype, np.number) or np.issubdtype(arr.dtype, np.complexfloating):
        raise ValueError(f"{name} must be a real numeric array, got dtype {arr.dtype}")
    arr = arr.astype(np.float64, copy=False)
    if arr.size == 0:
        raise ValueError(f"{name} is empty; need at least one sample")
    if finite and not np.all(np.isfinite(arr)):
        bad = np.flatnonzero(~np.isfinite(arr.ravel()))[0]
        raise ValueError(
            f"{name} must be finite; flat index {bad} is {arr.ravel()[bad]!r} "
            "(a diverged prediction?)"
        )
    return arr


def same_shape(a_name: str, a: np.ndarray, b_name: str, b: object) -> None:
    if np.shape(a) != np.shape(b):
        raise ValueError(
            f"{a_name} and {b_name} must have the same shape, got {np.shape(a)} and {np.shape(b)}"
        )


def binary(name: str, value: object) -> np.ndarray:
    """A 0/1 (or bool) label array, returned as bool."""
    arr = real_array(name, value)
    ok = (arr == 0) | (arr == 1)
    if not np.all(ok):
        bad = np.flatnonzero(~ok.ravel())[0]
        raise ValueError(
            f"{name} must be binary (0/1 or bool); flat index {bad} is {arr.ravel()[bad]!r}. "
            f"Pass ({name} > 0) to treat spike counts as labels"
        )
    return arr.astype(bool)


def spike_train(name: str, value: object) -> np.ndarray:
    """Spike times (ms): a 1-D finite float64 array, possibly empty, in any order."""
    arr = np.asarray(value)
    if arr.ndim != 1:
        raise ValueError(
            f"{name} must be a 1-D array of spike times in ms, got shape {arr.shape}; "
            "convert an indicator trace with metrics.spike_times(spikes, dt)"
        )
    if arr.size == 0:
        return np.zeros(0)
    if arr.dtype == np.bool_ or not np.issubdtype(arr.dtype, np.number):
        raise ValueError(f"{name} must hold real spike times in ms, got dtype {arr.dtype}")
    arr = arr.astype(np.float64, copy=False)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite spike times in ms")
    return arr


def within(name: str, times: np.ndarray, duration_ms: float) -> None:
    """Spike times must lie in [0, duration_ms]."""
    if times.size and (times.min() < 0 or times.max() > duration_ms):
        raise ValueError(
            f"{name} must lie in [0, duration_ms={duration_ms:g}] ms, "
            f"got times in [{times.min():g}, {times.max():g}]"
        )


def ratio(num: float, den: float) -> float:
    """num / den, or nan when den == 0 (the metric is undefined)."""
    return float(num) / float(den) if den != 0 else math.nan
