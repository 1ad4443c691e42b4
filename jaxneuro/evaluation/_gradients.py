"""Gradient fidelity: do surrogate and teacher agree on which way to change the input?"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np


def default_gradient_loss(outputs) -> jnp.ndarray:
    """Mean membrane potential (mV): smooth in the input for both forms of a model."""
    return jnp.mean(outputs["v"])


def input_gradient(simulator, params, x, loss=default_gradient_loss) -> np.ndarray:
    """d loss(outputs) / d inputs, ``[T, n_in]``."""
    return np.asarray(jax.jit(jax.grad(lambda x: loss(simulator.apply(params, x)[0])))(x))


def cosine_similarity(a, b) -> float:
    """cos ∠(a, b) of two flattened arrays (nan if either is zero)."""
    a, b = np.ravel(a).astype(np.float64), np.ravel(b).astype(np.float64)
    denom = np.linalg.norm(a) * np.linalg.norm(b)
    return float(a @ b / denom) if denom > 0 else float("nan")
