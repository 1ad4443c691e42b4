"""The one protocol every jaxneuro model follows, analytical or learned."""

from __future__ import annotations

import abc
import math
from typing import Any, NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float, PyTree

Params = PyTree[Array]
State = PyTree[Array]
Outputs = dict[str, Array]


class Channel(NamedTuple):
    """One named signal of a simulator, with its unit (e.g. ``Channel("v", "mV")``)."""

    name: str
    unit: str
    description: str = ""


class IOSpec(eqx.Module):
    """What a simulator takes and gives.

    Attributes:
        dt: sample interval of inputs and outputs (ms). Solvers may take smaller internal steps.
        inputs: the input channels, in column order of the ``[T, n_inputs]`` input array.
        outputs: the output channels; ``apply`` returns a dict keyed by their names.
    """

    dt: float = eqx.field(static=True)
    inputs: tuple[Channel, ...] = eqx.field(static=True)
    outputs: tuple[Channel, ...] = eqx.field(static=True)

    def __check_init__(self):
        if not (isinstance(self.dt, int | float) and math.isfinite(self.dt) and self.dt > 0):
            raise ValueError(f"IOSpec.dt must be a positive, finite number of ms, got {self.dt!r}")
        names = [c.name for c in self.inputs]
        if len(set(names)) != len(names):
            raise ValueError(f"IOSpec input channel names must be unique, got {names}")

    @property
    def n_inputs(self) -> int:
        return len(self.inputs)

    @property
    def input_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.inputs)

    @property
    def output_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.outputs)

    def describe(self) -> str:
        """One line per channel, for ``jaxneuro models`` and model cards."""
        fmt = lambda c: f"{c.name} [{c.unit}]"  # noqa: E731
        ins = ", ".join(map(fmt, self.inputs))
        outs = ", ".join(map(fmt, self.outputs))
        return f"dt={self.dt} ms; inputs: {ins}; outputs: {outs}"


class Simulator(eqx.Module):
    """A model with inputs sampled every ``spec.dt`` ms and named outputs.

    One cell (one simulation) per call; populations are ``jax.vmap`` (see ``jaxneuro.population``).
    Streaming holds: ``apply(p, x[:k], s0)`` then ``apply(p, x[k:], s1)`` equals ``apply(p, x, s0)``.
    """

    @property
    @abc.abstractmethod
    def spec(self) -> IOSpec:
        """Sample interval and channels."""

    @abc.abstractmethod
    def init(self, key: Array | None = None) -> Params:
        """Default parameters: physical parameters, or freshly initialised network weights."""

    @abc.abstractmethod
    def init_state(self, params: Params) -> State:
        """Rest state / empty history."""

    @abc.abstractmethod
    def apply(
        self, params: Params, inputs: Float[Array, "T n_inputs"], state: State | None = None
    ) -> tuple[Outputs, State]:
        """Run over ``inputs``; output ``k`` is the signal at the end of input sample ``k``."""

    def __call__(self, params: Params, inputs: Any, state: State | None = None):
        return self.apply(params, inputs, state)


def check_inputs(spec: IOSpec, inputs: Any) -> Float[Array, "T n_inputs"]:
    """Validate an input signal's shape at trace time; raise a ``ValueError`` naming the problem."""
    x = jnp.asarray(inputs)
    if x.ndim == 1 and spec.n_inputs == 1:
        x = x[:, None]
    if x.ndim != 2:
        raise ValueError(
            f"inputs must have shape [T, {spec.n_inputs}] ({', '.join(spec.input_names)}); "
            f"got shape {tuple(x.shape)}. For a population, use jaxneuro.population / jax.vmap."
        )
    if x.shape[1] != spec.n_inputs:
        raise ValueError(
            f"inputs have {x.shape[1]} channels, but this simulator takes {spec.n_inputs}: "
            f"{', '.join(spec.input_names)}"
        )
    if x.shape[0] == 0:
        raise ValueError("inputs have zero samples (T = 0); the duration must be positive")
    if not jnp.issubdtype(x.dtype, jnp.floating):
        x = x.astype(jnp.result_type(float))
    return x


def guard_finite(x: Array, params: PyTree) -> Array:
    """``x``, with runtime errors (``eqx.error_if``) if ``x`` or any parameter is NaN or inf.

    The input check reads one fused sum (NaN and ±inf propagate through it) and raises through a
    scalar that multiplies ``x`` by one, so a large batched input is neither copied nor scanned
    twice (passing ``x`` itself through ``error_if`` cost 5× the sum). The only false alarm is a
    sum of finite inputs that overflows (beyond 3e38 in float32).
    """
    one = jnp.ones((), x.dtype)
    one = eqx.error_if(one, ~jnp.isfinite(jnp.sum(x)), "inputs contain NaN or inf")
    finite = [jnp.isfinite(a).all() for a in jax.tree.leaves(params)]
    if finite:
        one = eqx.error_if(one, ~jnp.all(jnp.stack(finite)), "parameters contain NaN or inf")
    return x * one


def check_state(state: PyTree, expected: PyTree) -> None:
    """Raise a ``ValueError`` if ``state`` is not shaped like this simulator's state."""
    shapes = lambda t: jax.tree.map(lambda a: jnp.shape(a), t)  # noqa: E731
    if jax.tree.structure(state) != jax.tree.structure(expected) or shapes(state) != shapes(
        expected
    ):
        raise ValueError(
            "state does not match this simulator: pass the state returned by its apply() or "
            f"init_state(); expected {shapes(expected)}, got {shapes(state)}"
        )


def n_samples(duration: float, dt: float) -> int:
    """Number of samples in ``duration`` ms at sample interval ``dt`` ms (validated)."""
    if not (math.isfinite(duration) and duration > 0):
        raise ValueError(f"duration must be a positive number of ms, got {duration!r}")
    if not (math.isfinite(dt) and dt > 0):
        raise ValueError(f"dt must be a positive number of ms, got {dt!r}")
    return max(1, round(duration / dt))
