"""Variants of ``PointNeuron.apply`` for profiling where the diffrax path spends its time.

Benchmark-only copies of jaxneuro's sample loop (``PointNeuron.apply`` over ``jaxneuro/models/_stepping.py``) with one
change each, so ``population.py --diagnose`` can attribute the gap to the hand-written scan:

* ``scan``: how the time loop is built. ``"checkpointed"`` is what jaxneuro does above
  ``CHECKPOINT_ABOVE`` samples (``equinox.internal.scan(kind="checkpointed")``); ``"lax"`` is a
  plain ``lax.scan``; ``"nested"`` is an outer ``lax.scan`` over √T blocks, each a
  ``jax.checkpoint``-ed inner ``lax.scan`` (plain scan forward, O(√T) memory backward).
* ``checks``: ``"arrays"`` threads ``eqx.error_if`` through the ``[T, C]`` input and ``[T]``
  voltage arrays, as jaxneuro does; ``"state"`` attaches the same checks to the small state
  pytree instead.

Everything else calls the model's own methods, so the per-step arithmetic is jaxneuro's.
"""

from __future__ import annotations

import math

import equinox as eqx
import equinox.internal as eqxi
import jax
import jax.numpy as jnp

from jaxneuro.solvers import ExplicitTrapezoid


def make_apply(model, scan: str = "checkpointed", checks: str = "arrays"):
    from jaxneuro._simulator import check_inputs
    from jaxneuro.models import _stepping as pn

    self = model

    def apply(params, inputs, state=None):
        x = check_inputs(self.spec, inputs)
        dtype = jnp.result_type(x.dtype, *jax.tree.leaves(params))
        x, params = x.astype(dtype), pn.as_float_tree(params, dtype)
        bad_x = ~jnp.isfinite(x).all()
        bad_p = ~jnp.all(jnp.stack([jnp.isfinite(a).all() for a in jax.tree.leaves(params)]))
        y0 = self.init_state(params) if state is None else pn.as_float_tree(state, dtype)
        if checks == "arrays":
            x = eqx.error_if(x, bad_x, "inputs contain NaN or inf")
            x = eqx.error_if(x, bad_p, "parameters contain NaN or inf")
        else:
            y0 = eqx.error_if(y0, bad_x | bad_p, "inputs or parameters contain NaN or inf")
        term, stepper = self.term(), self.stepper()
        spiked = lambda y0, y1: self.spiked(y0, y1, params)  # noqa: E731

        def sample(y, row):
            sp = params["synapses"]
            syn = {
                s.name: s.receive(y["syn"][s.name], sp[s.name], row[1 + i])
                for i, s in enumerate(self.synapses)
            }
            y, n_spikes = self.advance(term, dict(y, syn=syn), (params, row[0]), spiked, stepper)
            return y, (y["v"], n_spikes)

        n = x.shape[0]
        if scan == "nested" and n > pn.CHECKPOINT_ABOVE:
            block = max(2, math.isqrt(n))
            n_blocks, rest = divmod(n, block)
            head = x[: n_blocks * block].reshape(n_blocks, block, *x.shape[1:])

            @jax.checkpoint
            def run_block(y, xs):
                return jax.lax.scan(sample, y, xs)

            y1, (v, spikes) = jax.lax.scan(run_block, y0, head)
            v, spikes = v.reshape(-1), spikes.reshape(-1)
            if rest:
                y1, (v2, s2) = jax.lax.scan(sample, y1, x[n_blocks * block :])
                v, spikes = jnp.concatenate([v, v2]), jnp.concatenate([spikes, s2])
        elif scan in ("lax", "nested"):
            y1, (v, spikes) = jax.lax.scan(sample, y0, x)
        else:
            kind = "checkpointed" if n > pn.CHECKPOINT_ABOVE else "lax"
            ck = max(2, math.isqrt(n)) if kind == "checkpointed" else None
            y1, (v, spikes) = eqxi.scan(sample, y0, x, kind=kind, checkpoints=ck)
        diverged = ~(jnp.isfinite(v) & (jnp.abs(v) < pn.DIVERGENCE_MV)).all()
        msg = "the solver diverged (non-finite v or |v| > 1e4 mV)"
        if checks == "arrays":
            v = eqx.error_if(v, diverged, msg)
        else:
            y1 = eqx.error_if(y1, diverged, msg)
        return {"v": v, "spikes": spikes}, y1

    return apply


# The straight-line Heun step this profile called for is now the library's own solver.
StraightLineHeun = ExplicitTrapezoid
