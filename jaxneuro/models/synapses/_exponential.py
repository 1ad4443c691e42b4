"""The exponential synapse: a conductance that jumps and decays."""

from __future__ import annotations

from typing import ClassVar

import equinox as eqx
import jax.numpy as jnp

from .._parameters import ANY, NONNEGATIVE, POSITIVE
from ._base import AbstractSynapse


class ExpSynapse(AbstractSynapse):
    """``g`` jumps by ``weight`` per event and decays with ``tau``: ``dg/dt = −g/τ``.

    Attributes:
        name: input channel name (also the key of its parameters).
        tau: time constant (ms).
        e_rev: reversal potential (mV).
        weight: conductance per event, in the model's conductance unit (nS for AdEx, µS for LIF,
            mS/cm² for Hodgkin–Huxley, dimensionless for Izhikevich).
    """

    name: str = eqx.field(static=True)
    tau: float = eqx.field(static=True, default=5.0)
    e_rev: float = eqx.field(static=True, default=0.0)
    weight: float = eqx.field(static=True, default=1.0)

    kind: ClassVar[str] = "exp"
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
        return {"g": jnp.zeros(shape, dtype)}

    def receive(self, state, params, counts) -> dict:
        return dict(state, g=state["g"] + params["weight"] * counts)

    def rates(self, state, params):
        # the decay is one scalar per synapse: shared by a population, one φ₁ for all its cells
        return {"g": jnp.zeros_like(state["g"])}, {"g": 1.0 / params["tau"]}

    def conductance(self, state, params, v):
        return state["g"]
