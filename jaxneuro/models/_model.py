"""The base of every analytical model: parameters validated in one place."""

from collections.abc import Mapping
from typing import ClassVar

from jaxtyping import Array

from .._simulator import Params, Simulator
from ._parameters import check_constraints, check_params, guard_params


class AbstractModel(Simulator):
    """An analytical model whose parameters are validated in one place, :meth:`check_params`:
    against ``init()``'s tree (no unknown, misspelt or missing keys; numbers of the right shape)
    and against :meth:`constraints` — the ``parameter_constraints`` declared by the class and its
    bases, each a mapping of parameter name (dotted for nested groups) to ``"positive"``,
    ``"nonnegative"`` or ``"any"`` (undeclared: ``"any"``). ``stiff_parameters`` names the
    parameters that set the fastest time constants, quoted when a solver diverges.

    Neurons stepped by an ODE solver build on :class:`~jaxneuro.models.AbstractNeuron`; stages
    defined as discrete maps or filters (the auditory periphery's) build on this class directly.
    """

    parameter_constraints: ClassVar[Mapping[str, str]] = {}
    stiff_parameters: ClassVar[tuple[str, ...]] = ()

    def __check_init__(self):
        check_constraints(type(self).__name__, self.constraints())

    def constraints(self) -> dict[str, str]:
        """``{parameter path: constraint}``: the ``parameter_constraints`` declared along the class
        hierarchy (a subclass adds to and overrides its bases'); subclasses add their
        components' (synapses, channels, receptors)."""
        merged = {}
        for cls in reversed(type(self).__mro__):
            merged |= cls.__dict__.get("parameter_constraints", {})
        return merged

    def check_params(self, params: Params) -> list[tuple[str, Array, str]]:
        """A ``ValueError`` naming any bad parameter (see :mod:`._parameters`); returns the
        traced, constrained leaves for a runtime check (:func:`._parameters.guard_params`)."""
        return check_params(type(self).__name__, params, self.init(), self.constraints())

    def guard(self, params: Params, x: Array) -> Array:
        """``x`` carrying the run-time checks of ``params`` (constraints, NaN/inf), as ``apply``
        makes them; see :func:`~jaxneuro._simulator.trusted_params`."""
        x = guard_params(type(self).__name__, x, self.check_params(params))
        return super().guard(params, x)
