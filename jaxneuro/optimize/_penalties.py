"""Regularisers of an optimised stimulus."""

from __future__ import annotations

import math

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, Float


class Penalties(eqx.Module):
    """Weights of the stimulus regularisers added to the user's loss by :func:`stimulus`.

    On the optimised input columns ``x`` (``[T, k]``, in the channels' own units), each term is a
    time average summed over the columns, so a weight does not depend on the duration:

    - ``amplitude · mean_t |x|`` — L1, favours sparse stimuli;
    - ``energy · mean_t x²`` — L2, favours weak stimuli;
    - ``smoothness · mean_t (x[t+1] − x[t])²`` — squared first differences, favours slow stimuli.

    Weights are non-negative numbers (units: loss per unit of the penalised quantity).
    """

    amplitude: float = eqx.field(static=True, default=0.0)
    energy: float = eqx.field(static=True, default=0.0)
    smoothness: float = eqx.field(static=True, default=0.0)

    def __check_init__(self):
        for name in ("amplitude", "energy", "smoothness"):
            w = getattr(self, name)
            ok = isinstance(w, int | float) and not isinstance(w, bool)
            if not (ok and math.isfinite(w) and w >= 0):
                raise ValueError(f"Penalties.{name} must be a non-negative number, got {w!r}")

    def __call__(self, x: Float[Array, "T k"]) -> Float[Array, ""]:
        total = jnp.zeros((), x.dtype)
        if self.amplitude:
            total += self.amplitude * jnp.sum(jnp.mean(jnp.abs(x), axis=0))
        if self.energy:
            total += self.energy * jnp.sum(jnp.mean(x**2, axis=0))
        if self.smoothness and x.shape[0] > 1:
            total += self.smoothness * jnp.sum(jnp.mean(jnp.diff(x, axis=0) ** 2, axis=0))
        return total
