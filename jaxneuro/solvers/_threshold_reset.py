"""The threshold-and-reset step of integrate-and-fire models."""

from typing import ClassVar

import diffrax
import jax
import jax.numpy as jnp

from ._exponential import ExponentialEuler
from ._spike import spike_fn
from ._terms import SpikingTerm, unwrap


class ThresholdReset(diffrax.AbstractSolver):
    """Wraps a fixed-step solver with the integrate-and-fire rule of a :class:`SpikingTerm`.

    After the inner step: while refractory, ``v`` is held at ``v_reset`` and the refractory clock
    runs down; then ``s = spike_fn(v − v_th)`` (outside the refractory period) and
    ``v ← (1 − s)·v + s·v_reset``, ``refractory ← t_ref`` where ``s = 1``, the model's own jumps
    (``on_spike``), and ``spike ← s``. The spike is exact forward and carries the surrogate
    gradient of :func:`~jaxneuro.solvers.spike_fn` backward, so spike-count losses differentiate.
    The reset and the model's jumps use ``stop_gradient(s)`` ("detached reset", Zenke & Vogels
    2021, Neural Comput. 33:899): gradients of subthreshold trajectories stay exact, and the
    surrogate enters only through the emitted spikes. Spike times are resolved to the step; use
    a smaller step for finer timing.

    Attributes:
        inner: the solver for the subthreshold dynamics (default :class:`ExponentialEuler`).
    """

    inner: diffrax.AbstractSolver = ExponentialEuler()
    term_structure: ClassVar = SpikingTerm
    interpolation_cls: ClassVar = diffrax.LocalLinearInterpolation

    def order(self, terms):
        return self.inner.order(terms)

    def init(self, terms, t0, t1, y0, args):
        return self.inner.init(terms, t0, t1, y0, args)

    def step(self, terms, t0, t1, y0, args, solver_state, made_jump):
        y1, _, _, solver_state, result = self.inner.step(
            terms, t0, t1, y0, args, solver_state, made_jump
        )
        v_th, v_reset, t_ref = unwrap(terms).threshold(args)
        h = t1 - t0
        # Refractory: clamp v, run the clock down (a 1e-3·h guard absorbs float round-off).
        refractory = y0["refractory"] > 1e-3 * h
        v = jnp.where(refractory, v_reset, y1["v"])
        clock = jnp.where(refractory, jnp.maximum(y0["refractory"] - h, 0.0), 0.0)
        s = spike_fn(v - v_th) * (1.0 - refractory)
        fired = jax.lax.stop_gradient(s)
        y1 = dict(
            y1, v=(1.0 - fired) * v + fired * v_reset, refractory=jnp.where(s > 0, t_ref, clock)
        )
        y1 = dict(unwrap(terms).on_spike(y1, fired, args), spike=s)
        return y1, None, dict(y0=y0, y1=y1), solver_state, result

    def func(self, terms, t0, y0, args):
        return terms.vf(t0, y0, args)
