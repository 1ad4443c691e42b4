"""Assemble stimulus signals into one simulator input array."""

from __future__ import annotations

import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float

from ._checks import float_dtype


def stack(*signals: Float[ArrayLike, " T"] | Float[ArrayLike, " T k"]) -> Float[Array, " T n"]:
    """Column-stack 1-D ``[T]`` signals and 2-D ``[T, k]`` blocks into one ``[T, n]`` input.

    Columns appear in argument order, so they must follow the simulator's ``spec.inputs``.
    All signals must have the same number of samples ``T`` (and hence the same ``dt``).
    """
    if not signals:
        raise ValueError("stack needs at least one signal")
    columns = []
    for i, s in enumerate(signals):
        s = jnp.asarray(s)
        if s.ndim == 1:
            s = s[:, None]
        elif s.ndim != 2:
            raise ValueError(f"signal {i} must be [T] or [T, k], got shape {s.shape}")
        columns.append(s)
    lengths = [c.shape[0] for c in columns]
    if len(set(lengths)) != 1:
        raise ValueError(
            f"signals must all have the same number of samples T, got lengths {lengths}"
        )
    return jnp.concatenate(columns, axis=1).astype(float_dtype())
