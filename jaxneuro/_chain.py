"""A chain of simulators run in sequence — itself a :class:`~jaxneuro.Simulator`.

A multi-stage system (middle ear → cochlea → hair cell → nerve; a receptor feeding a neuron) is
a :class:`Chain`: each stage's inputs are the previous stage's outputs of the same names, so the
whole system has one spec, one parameter pytree, one state, and streams, jits, vmaps and
differentiates like any model.
"""

from __future__ import annotations

from collections.abc import Sequence

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from ._simulator import IOSpec, Outputs, Params, Simulator, State, check_inputs, check_state


def _link(k: int, before: Simulator, after: Simulator) -> None:
    """Raise a ``ValueError`` unless stage ``k``'s inputs are outputs of stage ``k − 1``."""
    a, b = before.spec, after.spec
    if abs(a.output_dt - b.dt) > 1e-9 * b.dt:
        raise ValueError(
            f"stage {k} takes inputs every {b.dt} ms but stage {k - 1} gives outputs every "
            f"{a.output_dt} ms"
        )
    given = {c.name: c for c in a.outputs}
    for c in b.inputs:
        out = given.get(c.name)
        if out is None:
            raise ValueError(
                f"stage {k} needs input {c.name!r}, which stage {k - 1} does not output "
                f"(its outputs: {', '.join(given)})"
            )
        if (out.unit, out.width) != (c.unit, c.width):
            raise ValueError(
                f"stage {k} input {c.name!r} is [{c.unit}] × {c.width}, but stage {k - 1} outputs "
                f"it as [{out.unit}] × {out.width}"
            )


class Chain(Simulator):
    """Stages run in sequence; stage ``k + 1`` reads stage ``k``'s outputs by name.

    The chain takes the first stage's inputs (every ``stages[0].spec.dt``) and gives the last
    stage's outputs (every ``stages[-1].spec.output_dt``); a stage's input interval must equal the
    previous stage's output interval, and each input channel must be an output of the previous
    stage with the same unit and width. Parameters and state are tuples, one entry per stage.
    Streaming holds when every call's length is a multiple of the chain's decimation.

    Attributes:
        stages: the simulators, first to last.
    """

    stages: tuple[Simulator, ...]

    def __init__(self, stages: Sequence[Simulator]):
        stages = tuple(stages)
        if not stages or not all(isinstance(s, Simulator) for s in stages):
            raise ValueError(f"a Chain needs one or more Simulators, got {stages!r}")
        for k in range(1, len(stages)):
            _link(k, stages[k - 1], stages[k])
        self.stages = stages
        total_ms = sum(s.latency * s.spec.output_dt for s in stages)
        lag = total_ms / self.spec.output_dt
        if abs(lag - round(lag)) > 1e-9:
            raise ValueError(
                f"the stages' latencies add to {total_ms} ms, not a whole number of output "
                f"samples ({self.spec.output_dt} ms)"
            )

    @property
    def spec(self) -> IOSpec:
        first, last = self.stages[0].spec, self.stages[-1].spec
        return IOSpec(first.dt, first.inputs, last.outputs, output_dt=last.output_dt)

    @property
    def latency(self) -> int:
        """The stages' latencies, added in time, in output samples."""
        total_ms = sum(s.latency * s.spec.output_dt for s in self.stages)
        return round(total_ms / self.spec.output_dt)

    def init(self, key: Array | None = None) -> tuple[Params, ...]:
        key = jax.random.key(0) if key is None else key
        keys = jax.random.split(key, len(self.stages))
        return tuple(s.init(k) for s, k in zip(self.stages, keys, strict=True))

    def init_state(self, params: tuple[Params, ...]) -> tuple[State, ...]:
        self._check_params(params)
        return tuple(s.init_state(p) for s, p in zip(self.stages, params, strict=True))

    def _check_params(self, params) -> None:
        if not (isinstance(params, tuple | list) and len(params) == len(self.stages)):
            raise ValueError(
                f"a Chain of {len(self.stages)} stages takes a tuple of {len(self.stages)} "
                f"parameter sets (one per stage, as init() returns), got {type(params).__name__}"
            )

    def apply(
        self,
        params: tuple[Params, ...],
        inputs: Float[Array, "T n_inputs"],
        state: tuple[State, ...] | None = None,
    ) -> tuple[Outputs, tuple[State, ...]]:
        self._check_params(params)
        x = check_inputs(self.spec, inputs)
        if state is None:
            state = self.init_state(params)
        else:
            check_state(tuple(state), jax.eval_shape(self.init_state, params))
        states = []
        out: Outputs = {}
        for k, (stage, p, s) in enumerate(zip(self.stages, params, state, strict=True)):
            if k:
                x = jnp.concatenate(
                    [
                        jnp.reshape(out[c.name], (out[c.name].shape[0], c.width))
                        for c in stage.spec.inputs
                    ],
                    axis=1,
                )
            out, s = stage.apply(p, x, s)
            states.append(s)
        return out, tuple(states)
