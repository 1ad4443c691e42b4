"""The shared base of the analytical neurons: :class:`AbstractNeuron`, and the machinery it uses to
advance an ODE state across one sample interval (fixed substeps or an adaptive solve), to scan
over samples with √T-memory gradients, and to report a diverged solver."""

import math
import numbers
from collections.abc import Mapping

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from equinox import AbstractVar

from .._simulator import Params, State, check_inputs, check_state, guard_finite
from ._model import AbstractModel
from ._parameters import guard_params

DIVERGENCE_MV = 1e4
"""|v| beyond this (mV) is reported as divergence of the solver, not returned as a trace."""

CHECKPOINT_ABOVE = 2048
"""Runs longer than this many samples scan in √T chunks rematerialised on the backward pass."""


def fixed_steps(term, solver, h: float, n_sub: int, y, args, spiked):
    """``n_sub`` steps of size ``h`` (ms); returns the state and the summed ``spiked(y0, y1)``."""

    def substep(carry, _):
        y, count = carry
        state = solver.init(term, 0.0, h, y, args)
        y1 = solver.step(term, 0.0, h, y, args, state, False)[0]
        return (y1, count + spiked(y, y1)), None

    zero = jnp.zeros((), y["v"].dtype)
    (y, count), _ = jax.lax.scan(substep, (y, zero), length=n_sub, unroll=n_sub <= 8)
    return y, count


def adaptive_steps(
    term, solver, controller, duration: float, h0: float, y, args, spiked, max_steps
):
    """An adaptive ``diffeqsolve`` over ``duration`` ms; spikes are only seen between samples."""
    sol = diffrax.diffeqsolve(
        term,
        solver,
        0.0,
        duration,
        h0,
        y,
        args,
        stepsize_controller=controller,
        saveat=diffrax.SaveAt(t1=True),
        max_steps=max_steps,
        adjoint=diffrax.DirectAdjoint(),
    )
    y1 = jax.tree.map(lambda a: a[-1], sol.ys)
    return y1, spiked(y, y1)


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


def as_float_tree(tree, dtype):
    """Every leaf of ``tree`` as a ``dtype`` array."""
    return jax.tree.map(lambda a: jnp.asarray(a, dtype=dtype), tree)


class AbstractNeuron(AbstractModel):
    """An analytical neuron: an ODE stepped by a diffrax solver between input samples.

    Subclasses hold the fields below and define ``spec``, ``init``, ``init_state`` and ``apply``;
    their ``apply`` opens with :meth:`start` (inputs, parameters and state checked), advances
    each sample with :meth:`advance`, scans with :func:`checkpointed_scan` and closes with
    :meth:`guard_divergence`.

    Parameters are validated as every :class:`AbstractModel`'s are (:meth:`check_params`);
    ``stiff_parameters`` are quoted when the solver diverges.

    Attributes:
        dt: sample interval of inputs and outputs (ms).
        solver_dt: internal step (ms; ``None``: ``dt``); with an adaptive controller, the first
            trial step.
        solver: a diffrax solver.
        stepsize_controller: ``diffrax.ConstantStepSize()`` or an adaptive controller.
        max_steps: step budget per sample interval for adaptive solves.
    """

    dt: AbstractVar[float]
    solver_dt: AbstractVar[float | None]
    solver: AbstractVar[diffrax.AbstractSolver]
    stepsize_controller: AbstractVar[diffrax.AbstractStepSizeController]
    max_steps: AbstractVar[int]

    def __check_init__(self):
        if not (isinstance(self.dt, int | float) and math.isfinite(self.dt) and self.dt > 0):
            raise ValueError(f"dt must be a positive number of ms, got {self.dt!r}")
        h = self.internal_dt
        if not (isinstance(h, numbers.Real) and math.isfinite(h) and h > 0):
            raise ValueError(f"solver_dt must be a positive number of ms, got {self.solver_dt!r}")
        if not self.adaptive and abs(self.dt / h - round(self.dt / h)) > 1e-6 * self.dt / h:
            raise ValueError(f"solver_dt={h} ms must divide the sample interval dt={self.dt} ms")

    @property
    def internal_dt(self) -> float:
        return self.dt if self.solver_dt is None else self.solver_dt

    @property
    def adaptive(self) -> bool:
        return not isinstance(self.stepsize_controller, diffrax.ConstantStepSize)

    # --- the sample loop -----------------------------------------------------------------------
    def start(self, params: Params, inputs, state: State | None):
        """The common opening of ``apply``: parameters checked (trace time, else run time),
        inputs checked, both cast to one float dtype (with the NaN/inf guard), and the initial
        state (given, checked, or at rest)."""
        traced = self.check_params(params)
        x = check_inputs(self.spec, inputs)
        dtype = jnp.result_type(x.dtype, *jax.tree.leaves(params))
        x, params = x.astype(dtype), as_float_tree(params, dtype)
        x = guard_finite(guard_params(type(self).__name__, x, traced), params)
        y0 = self.init_state(params)
        if state is not None:
            check_state(state, y0)
            y0 = as_float_tree(state, dtype)
        return x, params, y0

    def advance(self, term, y, args, spiked, stepper: diffrax.AbstractSolver | None = None):
        """One sample interval: fixed substeps of ``stepper`` (default ``solver``), or an
        adaptive solve with ``solver``. Returns the state and the spikes counted."""
        if self.adaptive:
            return adaptive_steps(
                term,
                self.solver,
                self.stepsize_controller,
                self.dt,
                self.internal_dt,
                y,
                args,
                spiked,
                self.max_steps,
            )
        n_sub = round(self.dt / self.internal_dt)
        solver = self.solver if stepper is None else stepper
        return fixed_steps(term, solver, self.internal_dt, n_sub, y, args, spiked)

    def guard_divergence(self, params: Params, v, *more):
        """``v``, with a runtime error if it or any array of ``more`` is non-finite or beyond
        ``DIVERGENCE_MV``: a diverged solver is reported, never returned as a trace. The message
        names the step and the parameters that set the fastest time constants."""
        diverged = False
        for a in (v, *more):
            diverged |= ~(jnp.isfinite(a) & (jnp.abs(a) < DIVERGENCE_MV)).all()
        return eqx.error_if(v, diverged, divergence_message(self, params))


def divergence_message(sim: AbstractNeuron, params: Params) -> str:
    """What to check when ``sim`` diverged: the step, the solver, and the time-constant setting
    parameters (with their values where known at trace time)."""
    step = (
        f"an adaptive {type(sim.stepsize_controller).__name__} (first step {sim.internal_dt} ms)"
        if sim.adaptive
        else f"solver_dt = {sim.internal_dt} ms"
    )
    named = []
    for name in sim.stiff_parameters:
        value = params.get(name) if isinstance(params, Mapping) else None
        if value is None or isinstance(value, jax.core.Tracer) or np.ndim(value):
            named.append(name)
        else:
            named.append(f"{name} = {float(value):g}")
    against = f" against the time constants set by {', '.join(named)}" if named else ""
    return (
        f"{type(sim).__name__}: v diverged (non-finite or |v| > {DIVERGENCE_MV:g} mV) with "
        f"{type(sim.solver).__name__} at {step}: check the step{against}, and the input's size; "
        "reduce solver_dt or choose a stabler solver"
    )
