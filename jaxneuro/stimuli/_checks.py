"""Argument checks shared by the stimulus generators (private)."""

from __future__ import annotations

import math
from typing import Literal

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike

from .._simulator import n_samples as core_n_samples

Kind = Literal["finite", "nonnegative", "positive"]

_WHAT = {
    "finite": "finite",
    "nonnegative": "non-negative and finite",
    "positive": "positive and finite",
}


def float_dtype() -> jnp.dtype:
    """The default JAX float dtype: float32, or float64 when x64 is enabled."""
    return jnp.dtype(jnp.result_type(float))


def _ok(x, kind: Kind, xp):
    finite = xp.isfinite(x)
    if kind == "nonnegative":
        return finite & (x >= 0)
    if kind == "positive":
        return finite & (x > 0)
    return finite


def static_number(name: str, value: object, kind: Kind = "finite") -> float:
    """A Python-level number (it fixes shapes or sample indices): must be concrete and scalar."""
    if isinstance(value, jax.core.Tracer):
        raise ValueError(
            f"{name} must be a concrete number (it sets the number or position of samples), "
            "got a traced value; pass it as a Python float or mark it static under jit"
        )
    arr = np.asarray(value)
    if arr.ndim != 0 or not np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_:
        raise ValueError(f"{name} must be a real scalar, got {name}={value!r}")
    out = float(arr)
    if not _ok(np.float64(out), kind, np):
        raise ValueError(f"{name} must be {_WHAT[kind]}, got {name}={value!r}")
    return out


def n_samples(duration: float, dt: float) -> int:
    """T = duration / dt samples (:func:`jaxneuro._simulator.n_samples`: ``dt`` must divide
    ``duration``); both concrete numbers of ms, positive and finite."""
    duration = static_number("duration", duration, "positive")
    dt = static_number("dt", dt, "positive")
    t = index(duration, dt)
    if t < 1:
        raise ValueError(
            f"duration={duration!r} ms with dt={dt!r} ms gives {t} samples; need at least one"
        )
    return core_n_samples(duration, dt)


def index(time: float, dt: float) -> int:
    """Sample index of a time (ms): round(time / dt), half up, robust to float error."""
    return int(math.floor(time / dt + 0.5))


def check_value(name: str, value: ArrayLike, kind: Kind) -> Array:
    """Check a (possibly traced) value and return it as a default-float array.

    Concrete values raise ``ValueError`` naming the first bad entry; traced values get an
    ``eqx.error_if`` that fires at run time, so the returned array must be the one used.
    """
    if isinstance(value, jax.core.Tracer):
        x = jnp.asarray(value, dtype=float_dtype())
        return eqx.error_if(x, ~_ok(x, kind, jnp), f"{name} must be {_WHAT[kind]}")
    arr = np.asarray(value)
    if not (np.issubdtype(arr.dtype, np.number) and arr.dtype != np.bool_):
        raise ValueError(f"{name} must be real numbers, got dtype {arr.dtype}")
    bad = ~_ok(arr.astype(np.float64), kind, np)
    if np.any(bad):
        if arr.ndim == 0:
            raise ValueError(f"{name} must be {_WHAT[kind]}, got {name}={arr.item()!r}")
        where = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(
            f"{name} must be {_WHAT[kind]}, got {name}[{', '.join(map(str, where))}]="
            f"{arr[where].item()!r} ({int(bad.sum())} bad entries of {arr.size})"
        )
    return jnp.asarray(value, dtype=float_dtype())


def as_scalar(name: str, value: ArrayLike, kind: Kind = "finite") -> Array:
    """A (possibly traced) scalar parameter, checked and cast to the default float."""
    if jnp.ndim(value) != 0:
        raise ValueError(f"{name} must be a scalar, got shape {jnp.shape(value)}")
    return check_value(name, value, kind)
