"""Shared machinery of single-compartment neurons: channels, synapses, and the sample loop."""

from __future__ import annotations

import abc
import math
from typing import ClassVar

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from .._simulator import (
    EVENTS,
    TRACE,
    Channel,
    IOSpec,
    Outputs,
    Params,
    Simulator,
    State,
    check_inputs,
    check_state,
    guard_finite,
)
from ..solvers import ExponentialEuler, QuasiLinearTerm
from . import _synapses as syn
from ._stepping import adaptive_steps, fixed_steps
from ._synapses import Synapse

DIVERGENCE_MV = 1e4
"""|v| beyond this (mV) is reported as divergence of the solver, not returned as a trace."""

CHECKPOINT_ABOVE = 2048
"""Runs longer than this many samples scan in √T chunks rematerialised on the backward pass."""


def checkpointed_scan(step, carry, xs):
    """``lax.scan(step, carry, xs)``, with √T-memory reverse mode for runs above
    ``CHECKPOINT_ABOVE`` samples: an outer scan over chunks of ≈√T samples whose bodies are
    rematerialised (``jax.checkpoint``) on the backward pass. Only chunk-boundary carries and
    the outputs are kept; the forward pass costs the same as a plain scan.
    """
    n = xs.shape[0]
    if n <= CHECKPOINT_ABOVE:
        return jax.lax.scan(step, carry, xs)
    k = math.isqrt(n)
    n_chunks, head = n // k, (n // k) * k
    chunk = jax.checkpoint(lambda c, x: jax.lax.scan(step, c, x))
    carry, ys = jax.lax.scan(chunk, carry, xs[:head].reshape(n_chunks, k, *xs.shape[1:]))
    ys = jax.tree.map(lambda a: a.reshape(head, *a.shape[2:]), ys)
    if head < n:
        carry, tail = jax.lax.scan(step, carry, xs[head:])
        ys = jax.tree.map(lambda a, b: jnp.concatenate([a, b]), ys, tail)
    return carry, ys


def _as_float_tree(tree, dtype):
    return jax.tree.map(lambda a: jnp.asarray(a, dtype=dtype), tree)


def start(sim: Simulator, params: Params, inputs, state: State | None):
    """The common opening of an analytical model's ``apply``: validated inputs and parameters in
    one float dtype (with the NaN/inf guard), and the initial state (given, checked, or at rest)."""
    x = check_inputs(sim.spec, inputs)
    dtype = jnp.result_type(x.dtype, *jax.tree.leaves(params))
    x, params = x.astype(dtype), _as_float_tree(params, dtype)
    x = guard_finite(x, params)
    y0 = sim.init_state(params)
    if state is not None:
        check_state(state, y0)
        y0 = _as_float_tree(state, dtype)
    return x, params, y0


def guard_divergence(sim: Simulator, v, *more):
    """``v``, with a runtime error if it or any array of ``more`` is non-finite or beyond
    ``DIVERGENCE_MV``: a diverged solver is reported, never returned as a trace."""
    diverged = False
    for a in (v, *more):
        diverged |= ~(jnp.isfinite(a) & (jnp.abs(a) < DIVERGENCE_MV)).all()
    return eqx.error_if(
        v,
        diverged,
        f"{type(sim).__name__}: the solver diverged (non-finite v or |v| > {DIVERGENCE_MV:g} mV);"
        " reduce solver_dt or choose a stabler solver",
    )


class PointNeuron(Simulator):
    """A single-compartment neuron written as a quasi-linear diffrax ODE.

    Input column 0 is the injected current (unit per model); one column per :class:`Synapse`
    follows, holding spike counts per sample. Outputs are ``"v"`` (mV, at the end of each sample)
    and ``"spikes"`` (spikes in each sample). Between samples the ODE is stepped by ``solver``
    with internal step ``solver_dt``, or adaptively under an adaptive ``stepsize_controller``.

    Attributes:
        dt: sample interval of inputs and outputs (ms).
        solver_dt: internal step (ms); must divide ``dt``. Default: ``dt``. With an adaptive
            controller, the first trial step.
        solver: a diffrax solver. Default :class:`~jaxneuro.solvers.ExponentialEuler`.
        stepsize_controller: ``diffrax.ConstantStepSize()`` (default) or e.g.
            ``diffrax.PIDController(rtol=1e-8, atol=1e-8)`` for reference-accuracy runs.
        synapses: conductance synapses, one input channel each.
        max_steps: step budget per sample interval for adaptive solves.
    """

    dt: float = eqx.field(static=True, default=0.1)
    solver_dt: float | None = eqx.field(static=True, default=None)
    solver: diffrax.AbstractSolver = ExponentialEuler()
    stepsize_controller: diffrax.AbstractStepSizeController = diffrax.ConstantStepSize()
    synapses: tuple[Synapse, ...] = eqx.field(static=True, default=())
    max_steps: int = eqx.field(static=True, default=4096)

    current_channel: ClassVar[Channel] = Channel("i_ext", "?", description="injected current")

    def __check_init__(self):
        if not (isinstance(self.dt, int | float) and math.isfinite(self.dt) and self.dt > 0):
            raise ValueError(f"dt must be a positive number of ms, got {self.dt!r}")
        h = self.internal_dt
        if not (math.isfinite(h) and h > 0):
            raise ValueError(f"solver_dt must be a positive number of ms, got {self.solver_dt!r}")
        if not self.adaptive and abs(self.dt / h - round(self.dt / h)) > 1e-6 * self.dt / h:
            raise ValueError(f"solver_dt={h} ms must divide the sample interval dt={self.dt} ms")
        names = [s.name for s in self.synapses]
        if len(set(names)) != len(names) or self.current_channel.name in names:
            raise ValueError(f"synapse names must be unique and not {self.current_channel.name!r}")
        for s in self.synapses:
            s.check()

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
    @property
    def internal_dt(self) -> float:
        return self.dt if self.solver_dt is None else self.solver_dt

    @property
    def adaptive(self) -> bool:
        return not isinstance(self.stepsize_controller, diffrax.ConstantStepSize)

    @property
    def spec(self) -> IOSpec:
        inputs = (self.current_channel,) + tuple(
            Channel(
                s.name, "spikes/sample", EVENTS, description=f"{s.kind} synapse, E={s.e_rev} mV"
            )
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
        params["synapses"] = syn.synapse_params(self.synapses)
        return _as_float_tree(params, jnp.result_type(float))

    def init_state(self, params: Params) -> State:
        dtype = jnp.result_type(*jax.tree.leaves(params))
        params = _as_float_tree(params, dtype)
        y = dict(self.rest_state(params))
        y["syn"] = syn.synapse_state(self.synapses, dtype)
        return _as_float_tree(y, dtype)

    def rates(self, t, y, args):
        params, current = args
        sp = params["synapses"]
        g_syn, ge_syn = syn.synaptic_conductance(self.synapses, y["syn"], sp)
        own = {k: v for k, v in y.items() if k != "syn"}
        drive, decay = self.membrane_rates(own, params, current, g_syn, ge_syn)
        drive["syn"], decay["syn"] = syn.synapse_rates(self.synapses, y["syn"], sp)
        return drive, decay

    def apply(
        self, params: Params, inputs: Float[Array, "T n_inputs"], state: State | None = None
    ) -> tuple[Outputs, State]:
        x, params, y0 = start(self, params, inputs, state)

        advance = self._adaptive_sample if self.adaptive else self._fixed_sample

        def sample(y, row):
            y = dict(y, syn=syn.receive(self.synapses, y["syn"], params["synapses"], row[1:]))
            y, n_spikes = advance(y, (params, row[0]))
            return y, (y["v"], n_spikes)

        y1, (v, spikes) = checkpointed_scan(sample, y0, x)
        v = guard_divergence(self, v)
        return {"v": v, "spikes": spikes}, y1

    def _fixed_sample(self, y, args):
        n_sub = round(self.dt / self.internal_dt)
        spiked = lambda y0, y1: self.spiked(y0, y1, args[0])  # noqa: E731
        return fixed_steps(self.term(), self.stepper(), self.internal_dt, n_sub, y, args, spiked)

    def _adaptive_sample(self, y, args):
        spiked = lambda y0, y1: self.spiked(y0, y1, args[0])  # noqa: E731
        return adaptive_steps(
            self.term(),
            self.solver,
            self.stepsize_controller,
            self.dt,
            self.internal_dt,
            y,
            args,
            spiked,
            self.max_steps,
        )
