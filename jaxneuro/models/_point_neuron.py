"""Single-compartment neurons: a quasi-linear diffrax ODE with synapses, stepped per sample."""

from __future__ import annotations

import abc
from typing import ClassVar

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from .._simulator import EVENTS, TRACE, Channel, IOSpec, Outputs, Params, State
from ..solvers import ExponentialEuler, QuasiLinearTerm
from ._stepping import AbstractNeuron, as_float_tree, checkpointed_scan
from .synapses import AbstractSynapse


class PointNeuron(AbstractNeuron):
    """A single-compartment neuron written as a quasi-linear diffrax ODE.

    Input column 0 is the injected current (unit per model); one column per synapse follows,
    holding spike counts per sample. Outputs are ``"v"`` (mV, at the end of each sample) and
    ``"spikes"`` (spikes in each sample). Between samples the ODE is stepped by ``solver`` with
    internal step ``solver_dt``, or adaptively under an adaptive ``stepsize_controller``.

    A model defines :meth:`default_params`, :meth:`rest_state` and :meth:`membrane_rates`, and
    declares ``parameter_constraints`` (``{name: "positive" | "nonnegative" | "any"}``) and
    ``stiff_parameters`` (see :class:`AbstractNeuron`); its synapses' parameters are checked by
    their own declarations.

    Attributes:
        dt: sample interval of inputs and outputs (ms).
        solver_dt: internal step (ms); must divide ``dt``. Default: ``dt``. With an adaptive
            controller, the first trial step.
        solver: a diffrax solver. Default :class:`~jaxneuro.solvers.ExponentialEuler`.
        stepsize_controller: ``diffrax.ConstantStepSize()`` (default) or e.g.
            ``diffrax.PIDController(rtol=1e-8, atol=1e-8)`` for reference-accuracy runs.
        synapses: conductance synapses (:func:`~jaxneuro.models.synapses.Synapse`), one input
            channel each.
        max_steps: step budget per sample interval for adaptive solves.
    """

    dt: float = eqx.field(static=True, default=0.1)
    solver_dt: float | None = eqx.field(static=True, default=None)
    solver: diffrax.AbstractSolver = ExponentialEuler()
    stepsize_controller: diffrax.AbstractStepSizeController = diffrax.ConstantStepSize()
    synapses: tuple[AbstractSynapse, ...] = eqx.field(static=True, default=())
    max_steps: int = eqx.field(static=True, default=4096)

    current_channel: ClassVar[Channel] = Channel("i_ext", "?", description="injected current")

    def __check_init__(self):
        names = [s.name for s in self.synapses]
        if len(set(names)) != len(names) or self.current_channel.name in names:
            raise ValueError(f"synapse names must be unique and not {self.current_channel.name!r}")

    # --- what each model defines -------------------------------------------------------------
    @abc.abstractmethod
    def default_params(self) -> dict:
        """Physical parameters as floats (units in the model's docstring)."""

    @abc.abstractmethod
    def rest_state(self, params: dict) -> dict:
        """The cell's own state variables at rest (``"v"`` first), without synapses."""

    @abc.abstractmethod
    def membrane_rates(self, y: dict, params: dict, current, g_syn, ge_syn) -> tuple[dict, dict]:
        """``(drive, decay)`` of the cell's own variables, given total synaptic conductance
        ``g_syn`` and its reversal-weighted sum ``ge_syn``."""

    def spiked(self, y0: dict, y1: dict, params: dict):
        """Spike indicator of one internal step (default: set by the threshold-reset solver)."""
        return y1["spike"]

    def term(self) -> diffrax.AbstractTerm:
        return QuasiLinearTerm(self.rates)

    def stepper(self) -> diffrax.AbstractSolver:
        """The solver actually stepped (models may wrap ``solver``)."""
        return self.solver

    # --- the protocol ------------------------------------------------------------------------
    def constraints(self) -> dict[str, str]:
        own = super().constraints()
        for s in self.synapses:
            own |= {
                f"synapses.{s.name}.{k}": c
                for k, c in s.parameter_constraints.items()
                if k in s.params()
            }
        return own

    @property
    def spec(self) -> IOSpec:
        inputs = (self.current_channel,) + tuple(
            Channel(s.name, "spikes/sample", EVENTS, description=s.describe())
            for s in self.synapses
        )
        outputs = (
            Channel("v", "mV", TRACE, description="membrane potential"),
            Channel("spikes", "count", EVENTS, description="spikes per sample"),
        )
        return IOSpec(dt=self.dt, inputs=inputs, outputs=outputs)

    def init(self, key: Array | None = None) -> Params:
        """Default parameters (deterministic: ``key`` is accepted for the protocol, unused)."""
        params = dict(self.default_params())
        params["synapses"] = {s.name: s.params() for s in self.synapses}
        return as_float_tree(params, jnp.result_type(float))

    def init_state(self, params: Params) -> State:
        dtype = jnp.result_type(*jax.tree.leaves(params))
        params = as_float_tree(params, dtype)
        y = dict(self.rest_state(params))
        y["syn"] = {s.name: s.zero_state((), dtype) for s in self.synapses}
        return as_float_tree(y, dtype)

    def rates(self, t, y, args):
        params, current = args
        sp, ys = params["synapses"], y["syn"]
        g = [s.conductance(ys[s.name], sp[s.name], y["v"]) for s in self.synapses]
        g_syn = sum(g, 0.0)
        ge_syn = sum(
            (
                g_i * sp[s.name].get("e_rev", 0.0) + s.current(ys[s.name], sp[s.name], y["v"])
                for g_i, s in zip(g, self.synapses, strict=True)
            ),
            0.0,
        )
        own = {k: v for k, v in y.items() if k != "syn"}
        drive, decay = self.membrane_rates(own, params, current, g_syn, ge_syn)
        drive["syn"], decay["syn"] = {}, {}
        for s in self.synapses:
            drive["syn"][s.name], decay["syn"][s.name] = s.rates(ys[s.name], sp[s.name])
        return drive, decay

    def apply(
        self, params: Params, inputs: Float[Array, "T n_inputs"], state: State | None = None
    ) -> tuple[Outputs, State]:
        x, params, y0 = self.start(params, inputs, state)
        term, stepper = self.term(), self.stepper()
        spiked = lambda y0, y1: self.spiked(y0, y1, params)  # noqa: E731

        def sample(y, row):
            sp = params["synapses"]
            syn = {
                s.name: s.receive(y["syn"][s.name], sp[s.name], row[1 + i])
                for i, s in enumerate(self.synapses)
            }
            jumps = [
                s.jump(sp[s.name], row[1 + i])
                for i, s in enumerate(self.synapses)
                if s.instantaneous
            ]
            if jumps:  # δ synapses: the voltage jumps at the start of the sample
                y = dict(y, v=y["v"] + sum(jumps))
            y, n_spikes = self.advance(term, dict(y, syn=syn), (params, row[0]), spiked, stepper)
            return y, (y["v"], n_spikes)

        y1, (v, spikes) = checkpointed_scan(sample, y0, x)
        v = self.guard_divergence(params, v)
        return {"v": v, "spikes": spikes}, y1
