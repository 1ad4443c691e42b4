"""Vector fields in the quasi-linear form that exponential integrators need."""

from collections.abc import Callable

import diffrax
import jax
from jaxtyping import PyTree

Rates = Callable[[float, PyTree, PyTree], tuple[PyTree, PyTree]]


class QuasiLinearTerm(diffrax.AbstractTerm):
    """``dy/dt = drive(t, y) - decay(t, y) * y``, leaf by leaf.

    Every conductance-based neuron has this form: gating variables (drive = φα, decay = φ(α+β)),
    synaptic conductances (decay = 1/τ) and the membrane potential (decay = total conductance / C).
    Stock diffrax solvers see an ordinary ODE term (``vf = drive - decay * y``); exponential
    integrators (:class:`ExponentialEuler`) use the split through :meth:`rates`.

    Attributes:
        rates: ``rates(t, y, args) -> (drive, decay)``, two pytrees shaped like ``y``.
    """

    rates: Rates

    def vf(self, t, y, args):
        drive, decay = self.rates(t, y, args)
        return jax.tree.map(lambda d, k, x: d - k * x, drive, decay, y)

    def contr(self, t0, t1, **kwargs):
        return t1 - t0

    def prod(self, vf, control):
        return jax.tree.map(lambda v: v * control, vf)


class SpikingTerm(QuasiLinearTerm):
    """A :class:`QuasiLinearTerm` with an integrate-and-fire threshold rule.

    The state is a dict with at least ``"v"`` (mV), ``"refractory"`` (ms left) and ``"spike"``
    (1 on the step that fired). :class:`ThresholdReset` applies the rule after each step.

    Attributes:
        threshold: ``threshold(args) -> (v_th, v_reset, t_ref)`` in mV, mV, ms.
        on_spike: ``on_spike(y, s, args) -> y``: the model's extra jumps on a spike ``s`` ∈ {0, 1},
            e.g. adaptation ``w += b·s`` (AdEx) or ``u += d·s`` (Izhikevich).
    """

    threshold: Callable
    on_spike: Callable


def unwrap(terms):
    """The term itself, also when ``diffrax.diffeqsolve`` has wrapped it (``WrapTerm``)."""
    while isinstance(terms, diffrax._term.WrapTerm):
        terms = terms.term
    return terms


def rates_of(terms) -> Rates:
    """The ``rates`` of a (possibly wrapped) quasi-linear term."""
    term = unwrap(terms)
    if not isinstance(term, QuasiLinearTerm):
        raise ValueError(f"exponential solvers need a QuasiLinearTerm, got {type(term).__name__}")
    return term.rates
