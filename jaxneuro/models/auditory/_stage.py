"""The common opening of the auditory stages' ``apply``: checks, dtype, state."""

from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp
from jaxtyping import Array

from ..._simulator import Params, Simulator, State, check_inputs, check_state, guard_finite
from .._model import AbstractModel
from .._parameters import guard_params
from .._stepping import as_float_tree


def prepare(sim: AbstractModel, params: Params, inputs: Any):
    """The common opening of the auditory stages' ``apply``: parameters checked by
    ``sim.check_params`` (trace time, else run time), inputs checked against ``sim.spec``, both
    cast to one float dtype, with the NaN/inf guard. Returns ``(x, params)``."""
    owner = type(sim).__name__
    traced = sim.check_params(params)
    x = check_inputs(sim.spec, inputs)
    dtype = jnp.result_type(x.dtype, *jax.tree.leaves(params))
    x, params = x.astype(dtype), as_float_tree(params, dtype)
    x = guard_finite(guard_params(owner, x, traced), params)
    return x, params


def start_state(sim: Simulator, params: Params, state: State | None, dtype) -> State:
    """``sim.init_state(params)``, or ``state`` after checking it has the same shapes."""
    if state is None:
        return as_float_tree(sim.init_state(params), dtype)
    check_state(state, jax.eval_shape(sim.init_state, params))
    return as_float_tree(state, dtype)


def as_channel(a: Array, width: int) -> Array:
    """``[T, width]`` as the protocol's output shape: ``[T]`` for width 1."""
    return a[:, 0] if width == 1 else a


def check_positive_ms(owner: str, name: str, value: Any) -> None:
    """A ``ValueError`` unless ``value`` (a static field of ``owner``) is a positive, finite
    number of ms."""
    if not (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and value > 0
    ):
        raise ValueError(f"{owner}: {name} must be a positive number of ms, got {value!r}")


def check_positive_int(owner: str, name: str, value: Any) -> None:
    """A ``ValueError`` unless ``value`` (a static field of ``owner``) is an int ≥ 1."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{owner}: {name} must be a positive int, got {value!r}")
