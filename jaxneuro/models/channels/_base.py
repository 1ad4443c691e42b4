"""The one interface of every ion channel: gates in the quasi-linear form, and the currents."""

import abc
from collections.abc import Mapping

import equinox as eqx
from equinox import AbstractClassVar


class AbstractChannel(eqx.Module):
    """A voltage-gated (or passive) membrane mechanism, per unit area.

    Each gate ``x`` obeys ``dx/dt = drive − decay · x`` (:meth:`gate_rates`, rates in 1/ms at
    membrane potential ``v`` in mV), the form the exponential integrators treat exactly; the
    mechanism passes currents ``g · (e − v)`` (:meth:`currents`: conductance densities in
    mS/cm² with their reversal potentials in mV). Its densities and reversals are entries of
    the neuron's parameters, declared with their constraints in ``parameter_constraints``.
    Subclasses are final.
    """

    parameter_constraints: AbstractClassVar[Mapping[str, str]]

    @abc.abstractmethod
    def gate_rates(self, v, params: dict) -> dict[str, tuple]:
        """``{gate: (drive, decay)}`` at potential ``v`` (mV)."""

    @abc.abstractmethod
    def currents(self, y: dict, params: dict) -> tuple[tuple, ...]:
        """``((g, e_rev), …)``: open conductance (mS/cm²) and reversal (mV) of each current."""

    def steady_state(self, v, params: dict) -> dict:
        """Each gate's value held at ``v``: drive / decay."""
        return {k: d / k_ for k, (d, k_) in self.gate_rates(v, params).items()}


def add_currents(g, ge, currents):
    """``(g + Σ g_i, ge + Σ g_i·e_i)``, summed left to right."""
    for g_i, e_i in currents:
        g, ge = g + g_i, ge + g_i * e_i
    return g, ge
