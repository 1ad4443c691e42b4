"""Gradient fidelity: do surrogate and teacher agree on which way to change the input?"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

from .._simulator import RATE, TRACE, IOSpec


def default_gradient_loss(outputs) -> jnp.ndarray:
    """Mean membrane potential (mV): smooth in the input for both forms of a model."""
    return jnp.mean(outputs["v"])


def mean_output_loss(spec: IOSpec) -> Callable[[dict], jnp.ndarray]:
    """The mean of the spec's first trace output (else its first rate): smooth in the input for
    both forms of a model (for a neuron, the mean membrane potential)."""
    smooth = spec.outputs_of(TRACE) + spec.outputs_of(RATE)
    if not smooth:
        raise ValueError(
            f"no trace or rate output to take a gradient of ({spec.describe()}); pass a "
            "gradient_loss"
        )
    name = smooth[0].name
    return lambda outputs: jnp.mean(outputs[name])


def input_gradients(simulator, params, xs, loss=default_gradient_loss) -> np.ndarray:
    """d loss(outputs) / d inputs for each stimulus of ``xs`` ``[N, T, n_in]``, ``[N, T, n_in]``:
    one compiled gradient, run stimulus by stimulus (``lax.map``: one stimulus's memory)."""
    grad = jax.grad(lambda x: loss(simulator.apply(params, x)[0]))
    return np.asarray(jax.jit(lambda xs: jax.lax.map(grad, xs))(xs))


def cosine_similarity(a, b) -> float:
    """cos ∠(a, b) of two flattened arrays (nan if either is zero)."""
    a, b = np.ravel(a).astype(np.float64), np.ravel(b).astype(np.float64)
    denom = np.linalg.norm(a) * np.linalg.norm(b)
    return float(a @ b / denom) if denom > 0 else float("nan")
