"""The alpha synapse: NEURON's ``AlphaSynapse`` as a linear pair of states."""

from __future__ import annotations

import math
from typing import ClassVar

import equinox as eqx
import jax.numpy as jnp

from .._parameters import ANY, NONNEGATIVE, POSITIVE
from ._base import AbstractSynapse


class AlphaSynapse(AbstractSynapse):
    """``g(t) = weight·(t/τ)·e^(1 − t/τ)`` per event, peaking at ``weight`` at ``t = τ``, as the
    linear pair ``ẋ = −x/τ``, ``ġ = (e/τ)·x − g/τ`` with ``x += weight`` per event.

    Attributes:
        name: input channel name (also the key of its parameters).
        tau: time to peak (ms).
        e_rev: reversal potential (mV).
        weight: peak conductance per event, in the model's conductance unit.
    """

    name: str = eqx.field(static=True)
    tau: float = eqx.field(static=True, default=5.0)
    e_rev: float = eqx.field(static=True, default=0.0)
    weight: float = eqx.field(static=True, default=1.0)

    kind: ClassVar[str] = "alpha"
    parameter_constraints: ClassVar[dict[str, str]] = {
        "weight": NONNEGATIVE,
        "tau": POSITIVE,
        "e_rev": ANY,
    }

    def __check_init__(self):
        if not (isinstance(self.name, str) and self.name):
            raise ValueError(f"a synapse needs a non-empty channel name, got {self.name!r}")

    def params(self) -> dict:
        return {"weight": self.weight, "tau": self.tau, "e_rev": self.e_rev}

    def zero_state(self, shape, dtype) -> dict:
        return {"g": jnp.zeros(shape, dtype), "x": jnp.zeros(shape, dtype)}

    def receive(self, state, params, counts) -> dict:
        return dict(state, x=state["x"] + params["weight"] * counts)

    def rates(self, state, params):
        tau = params["tau"]
        drive = {"g": (math.e / tau) * state["x"], "x": jnp.zeros_like(state["x"])}
        decay = {"g": 1.0 / tau, "x": 1.0 / tau}
        return drive, decay

    def conductance(self, state, params, v):
        return state["g"]
