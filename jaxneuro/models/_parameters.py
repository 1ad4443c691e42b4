"""Checking a model's parameter pytree against its defaults and declared constraints.

A model declares, per parameter, one of :data:`POSITIVE`, :data:`NONNEGATIVE` or :data:`ANY`
(undeclared parameters are ``ANY``); :func:`check_params` then refuses, with a ``ValueError``
naming the parameter, before anything is simulated:

- unknown keys (suggesting the close match: ``'gna'`` → ``'g_na'``) and missing keys;
- values that are not numbers (a string, ``None``, a bool, a ragged list) or whose shape does not
  broadcast to the default's (a leading batch axis, one value per compartment of another cell);
- concrete values that are NaN or infinite, or break their constraint (``c_m = -1``).

Values only known under ``jit`` / ``grad`` / ``vmap`` (tracers) are checked at run time by
:func:`guard_params` (``eqx.error_if``), naming the parameter.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .._simulator import params_trusted

POSITIVE = "positive"
"""Strictly above zero: capacitances, time constants, resistances."""
NONNEGATIVE = "nonnegative"
"""Zero or above: conductances, refractory periods."""
ANY = "any"
"""Any finite real: potentials, temperatures, coupling constants that may change sign."""

_RULES = {
    POSITIVE: ("> 0", lambda a: a > 0),
    NONNEGATIVE: (">= 0", lambda a: a >= 0),
    ANY: ("finite", lambda a: a == a),
}


def check_constraints(owner: str, constraints: Mapping[str, str]) -> None:
    """A declaration error (for model authors) if a constraint is not one of the three."""
    for name, kind in constraints.items():
        if kind not in _RULES:
            raise ValueError(
                f"{owner}: constraint {kind!r} of {name!r} is not one of {sorted(_RULES)}"
            )


def flatten(tree: Mapping, prefix: str = "") -> dict[str, Any]:
    """``{"a.b": leaf}`` for a nested mapping of leaves."""
    flat = {}
    for key, value in tree.items():
        path = f"{prefix}{key}"
        flat |= flatten(value, path + ".") if isinstance(value, Mapping) else {path: value}
    return flat


def _suggest(key: str, known) -> str:
    match = difflib.get_close_matches(str(key), [str(k) for k in known], n=1, cutoff=0.6)
    return f" (did you mean {match[0]!r}?)" if match else ""


def _check_structure(model: str, params: Any, defaults: Mapping, prefix: str = "") -> None:
    where = f" in {prefix[:-1]!r}" if prefix else ""
    if not isinstance(params, Mapping):
        raise ValueError(
            f"{model}: parameters{where} must be a dict like init()'s, got {type(params).__name__}"
        )
    for key in params:
        if key not in defaults:
            known = ", ".join(map(str, defaults)) or "none"
            raise ValueError(
                f"{model}: unknown parameter '{prefix}{key!s}'{_suggest(key, defaults)}; "
                f"known{where}: {known}"
            )
    missing = [k for k in defaults if k not in params]
    if missing:
        raise ValueError(
            f"{model}: missing parameter(s) {', '.join(repr(prefix + str(k)) for k in missing)}; "
            "start from init() and change the values you need"
        )
    for key, default in defaults.items():
        if isinstance(default, Mapping):
            _check_structure(model, params[key], default, f"{prefix}{key}.")
        elif isinstance(params[key], Mapping):
            raise ValueError(f"{model}: parameter '{prefix}{key}' must be a number, got a dict")


def _check_leaf(model: str, path: str, value: Any, default: Any) -> None:
    bad_type = value is None or isinstance(value, str | bytes | bool | np.bool_)
    if not bad_type and not isinstance(value, jax.Array):
        try:
            dtype = np.asarray(value).dtype
        except (TypeError, ValueError):  # ragged lists, objects
            bad_type = True
        else:
            bad_type = dtype.kind not in "iuf"
    elif not bad_type:
        bad_type = not (
            jnp.issubdtype(value.dtype, jnp.floating) or jnp.issubdtype(value.dtype, jnp.integer)
        )
    if bad_type:
        raise ValueError(
            f"{model}: parameter '{path}' must be a real number or array of them "
            f"(default {_show(default)}), got {value!r}"
        )
    shape, expected = np.shape(value), np.shape(default)
    try:
        fits = np.broadcast_shapes(shape, expected) == expected
    except ValueError:
        fits = False
    if not fits:
        batch = (
            "; a leading axis of cells? use jaxneuro.population(..., batched_params=True) or "
            "jax.vmap"
            if len(shape) == len(expected) + 1
            else ""
        )
        raise ValueError(
            f"{model}: parameter '{path}' has shape {shape}, but this model takes shape "
            f"{expected}{' (or a scalar)' if expected else ''}{batch}"
        )


def _show(a: Any) -> str:
    a = np.asarray(a)
    return f"{a.item():g}" if a.ndim == 0 else f"array of shape {a.shape}"


def _violation(value: np.ndarray, kind: str) -> tuple[int, float] | None:
    """``(flat index, value)`` of the first element breaking ``kind``, or ``None``."""
    value = np.atleast_1d(value).astype(float).ravel()
    _, ok = _RULES[kind]
    bad = ~np.isfinite(value) | ~ok(value)
    if not bad.any():
        return None
    i = int(np.argmax(bad))
    return i, float(value[i])


def check_params(
    model: str, params: Any, defaults: Mapping, constraints: Mapping[str, str]
) -> list[tuple[str, Any, str]]:
    """Validate ``params`` against ``defaults`` (init()'s tree) and ``constraints`` (flat paths).

    Raises a ``ValueError`` naming the parameter for any structural, type, shape or concrete
    value problem. Returns ``(path, traced value, constraint)`` of the traced leaves with a
    sign constraint, for :func:`guard_params` to check at run time.
    """
    _check_structure(model, params, defaults)
    flat, flat_defaults = flatten(params), flatten(defaults)
    traced = []
    for path, value in flat.items():
        _check_leaf(model, path, value, flat_defaults[path])
        kind = constraints.get(path, ANY)
        if isinstance(value, jax.core.Tracer):
            if kind != ANY:
                traced.append((path, value, kind))
        else:
            check_value(model, path, value, kind)
    return traced


def check_value(owner: str, path: str, value: Any, kind: str) -> None:
    """A ``ValueError`` naming ``path`` if concrete ``value`` is non-finite or breaks ``kind``."""
    try:
        if isinstance(value, str | bytes | bool | np.bool_) or value is None:
            raise TypeError
        array = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(
            f"{owner}: parameter '{path}' must be a real number, got {value!r}"
        ) from None
    found = _violation(array, kind)
    if found is None:
        return
    index, bad = found
    at = f" (element {index})" if np.ndim(value) else ""
    if not np.isfinite(bad):
        raise ValueError(f"{owner}: parameter '{path}' is {bad}{at}: parameters contain NaN or inf")
    raise ValueError(
        f"{owner}: parameter '{path}' must be {kind} ({_RULES[kind][0]}), got {bad:g}{at}"
    )


def guard_params(model: str, x: jax.Array, traced: list[tuple[str, Any, str]]) -> jax.Array:
    """``x``, with a runtime error naming the first traced parameter that breaks its constraint.

    Non-finite values pass here (the NaN/inf guard names them); one branched check for all.
    None inside :func:`~jaxneuro._simulator.trusted_params` (the caller checked once).
    """
    if not traced or params_trusted():
        return x
    flags = []
    for _, value, kind in traced:
        _, ok = _RULES[kind]
        flags.append(jnp.any(jnp.isfinite(value) & ~ok(value)))
    flags = jnp.stack(flags)
    messages = [
        f"{model}: parameter '{path}' must be {kind} ({_RULES[kind][0]})"
        for path, _, kind in traced
    ]
    one = eqx.branched_error_if(jnp.ones((), x.dtype), flags.any(), jnp.argmax(flags), messages)
    return x * one
