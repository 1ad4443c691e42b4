"""Shared base of integrate-and-fire models: the threshold-reset step around any fixed-step solver."""

from typing import ClassVar

import diffrax

from ..solvers import SpikingTerm, ThresholdReset
from ._parameters import NONNEGATIVE
from ._point_neuron import PointNeuron


class IntegrateAndFire(PointNeuron):
    """A :class:`PointNeuron` whose spikes are threshold events with reset.

    ``solver`` advances the subthreshold dynamics; it is wrapped in
    :class:`~jaxneuro.solvers.ThresholdReset`, which applies threshold, reset, refractory clamp
    and the model's own jumps after each internal step, and emits the spike. Fixed steps only.
    The state holds ``"refractory"`` (ms left) and ``"spike"`` besides the model's variables.
    """

    parameter_constraints: ClassVar[dict[str, str]] = {"t_ref": NONNEGATIVE}

    def __check_init__(self):
        if self.adaptive:
            raise ValueError(
                f"{type(self).__name__} resets at threshold events and needs fixed steps; "
                "use diffrax.ConstantStepSize() with a small solver_dt"
            )

    def threshold(self, args):
        """``(v_th, v_reset, t_ref)`` in mV, mV, ms from the parameters."""
        params, _ = args
        return params["v_th"], params["v_reset"], params["t_ref"]

    def on_spike(self, y, s, args):
        """Extra jumps on a spike (none by default)."""
        return y

    def term(self) -> diffrax.AbstractTerm:
        return SpikingTerm(self.rates, self.threshold, self.on_spike)

    def stepper(self) -> diffrax.AbstractSolver:
        solver = self.solver
        return solver if isinstance(solver, ThresholdReset) else ThresholdReset(solver)

    def with_clock(self, y: dict) -> dict:
        """Add the refractory clock and spike flag to a model's rest state."""
        zero = 0.0 * y["v"]
        return dict(y, refractory=zero, spike=zero)

    def frozen(self, drive: dict, decay: dict, y: dict) -> tuple[dict, dict]:
        """Zero rates for the clock and flag: the threshold-reset step owns them (Python
        zeros, which the exponential solvers skip)."""
        return dict(drive, refractory=0.0, spike=0.0), dict(decay, refractory=0.0, spike=0.0)
