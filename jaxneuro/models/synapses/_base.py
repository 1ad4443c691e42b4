"""The one interface of every synapse: event counts in, a conductance (or, for current-based
synapses on point neurons, a current or a voltage jump) out."""

import abc
from collections.abc import Mapping
from typing import ClassVar

import equinox as eqx
from equinox import AbstractClassVar

from .._parameters import check_constraints, check_value


class AbstractSynapse(eqx.Module):
    """A synaptic conductance driven by event counts, in the quasi-linear form of the solvers.

    A synapse keeps a small kinetic state per site (a scalar on a point neuron, one value per
    site on a cable). Each sample's event counts jump that state (:meth:`receive`, at the start
    of the sample — never a rectangular pulse); between samples it relaxes as
    ``dstate/dt = drive − decay · state`` (:meth:`rates`); it opens :meth:`conductance`, and the
    current into the cell is ``g · (e_rev − v)``.

    Subclasses are final; they declare ``parameter_constraints`` (``{parameter: "positive" |
    "nonnegative" | "any"}``) for the parameters of :meth:`params`, which are checked against
    them at construction and, as part of a neuron's parameters, on every ``apply``.
    """

    parameter_constraints: AbstractClassVar[Mapping[str, str]]
    kind: AbstractClassVar[str]
    """A short name of the kinetics (``"exp"``, ``"alpha"``, ``"receptor"``, ``"current"`` …)."""

    def __check_init__(self):
        owner = type(self).__name__
        check_constraints(owner, self.parameter_constraints)
        for name, value in self.params().items():
            check_value(owner, name, value, self.parameter_constraints.get(name, "any"))

    @abc.abstractmethod
    def params(self) -> dict:
        """Default parameters (floats; units in the class docstring)."""

    @abc.abstractmethod
    def zero_state(self, shape: tuple[int, ...], dtype) -> dict:
        """The state with no events, one value per site (``shape``)."""

    @abc.abstractmethod
    def receive(self, state: dict, params: dict, counts) -> dict:
        """The state after this sample's event ``counts`` (one per site)."""

    @abc.abstractmethod
    def rates(self, state: dict, params: dict) -> tuple[dict, dict]:
        """``(drive, decay)`` of the kinetic state."""

    @abc.abstractmethod
    def conductance(self, state: dict, params: dict, v):
        """Conductance at each site (the model's unit) at membrane potential ``v`` (mV)."""

    instantaneous: ClassVar[bool] = False
    """Whether :meth:`jump` moves the membrane potential (δ synapses); point neurons only."""

    def current(self, state: dict, params: dict, v):
        """A current independent of ``v`` (the model's current unit), added to ``g·(e_rev −
        v)``: zero for conductance synapses, the whole input of current-based ones."""
        return 0.0

    def describe(self) -> str:
        """One line for a channel's description: the kind, and the reversal potential of a
        conductance synapse."""
        e_rev = getattr(self, "e_rev", None)  # conductance synapses hold one; current ones don't
        return f"{self.kind} synapse" + ("" if e_rev is None else f", E={e_rev} mV")

    def jump(self, params: dict, counts):
        """The membrane potential's jump (mV) for this sample's event ``counts``, applied at
        the start of the sample (only read where :attr:`instantaneous`)."""
        return 0.0 * counts
