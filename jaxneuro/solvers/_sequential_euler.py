"""Izhikevich's published integration scheme, generalised: Gauss–Seidel forward Euler."""

from typing import ClassVar

import diffrax

from ._exponential import _exp_update
from ._terms import QuasiLinearTerm, rates_of


class SequentialEuler(diffrax.AbstractSolver):
    """Forward Euler on named state variables in a fixed order, each with its own sub-steps.

    ``SequentialEuler((("v", 2), ("u", 1)))`` is the scheme of Izhikevich (2003, IEEE TNN
    14:1569): ``v`` advanced by two half-step Euler updates, then ``u`` by one full step using the
    new ``v``. Firing patterns depend on this scheme, so it is offered as published. Variables not
    listed (e.g. synaptic conductances) take one exponential-Euler step first. The state must be a
    dict.

    Attributes:
        order_of_updates: ``((name, n_substeps), ...)`` in update order.
    """

    order_of_updates: tuple[tuple[str, int], ...] = (("v", 2), ("u", 1))
    term_structure: ClassVar = QuasiLinearTerm
    interpolation_cls: ClassVar = diffrax.LocalLinearInterpolation

    def order(self, terms):
        return 1

    def init(self, terms, t0, t1, y0, args):
        return None

    def step(self, terms, t0, t1, y0, args, solver_state, made_jump):
        h = t1 - t0
        listed = {name for name, _ in self.order_of_updates}
        drive, decay = rates_of(terms)(t0, y0, args)
        rest = [k for k in y0 if k not in listed]
        y = dict(y0)
        y.update(
            _exp_update(
                {k: y0[k] for k in rest},
                {k: drive[k] for k in rest},
                {k: decay[k] for k in rest},
                h,
            )
        )
        for name, n in self.order_of_updates:
            for _ in range(n):
                drive, decay = rates_of(terms)(t0, y, args)
                y[name] = y[name] + (h / n) * (drive[name] - decay[name] * y[name])
        return y, None, dict(y0=y0, y1=y), None, diffrax.RESULTS.successful

    def func(self, terms, t0, y0, args):
        return terms.vf(t0, y0, args)
