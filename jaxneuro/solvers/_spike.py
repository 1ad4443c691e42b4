"""The spike nonlinearity: an exact Heaviside step forward, a smooth surrogate backward."""

import jax
import jax.numpy as jnp

SURROGATE_SLOPE = 5.0
"""Slope β (1/mV) of the fast-sigmoid surrogate derivative 1/(1 + β|x|)² (Zenke & Ganguli 2018)."""


@jax.custom_jvp
def spike_fn(x):
    """``1.0 where x >= 0 else 0.0``, with the SuperSpike surrogate derivative.

    Forward, the threshold event is exact. Backward, d spike/dx = 1/(1 + β|x|)² with β =
    ``SURROGATE_SLOPE`` per mV of distance to threshold (Zenke & Ganguli 2018, Neural Comput.
    30:1514), so spike-count losses have useful gradients. The surrogate is documented, not
    exact: it is the derivative of a smoothed threshold.
    """
    return jnp.where(x >= 0, 1.0, 0.0).astype(jnp.result_type(x, float))


@spike_fn.defjvp
def _spike_fn_jvp(primals, tangents):
    (x,), (dx,) = primals, tangents
    return spike_fn(x), dx / (1.0 + SURROGATE_SLOPE * jnp.abs(x)) ** 2
