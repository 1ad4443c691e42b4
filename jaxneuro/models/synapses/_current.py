"""Current-based synapses: an exponential current (CUBA) and a δ pulse (Brunel 2000)."""

from __future__ import annotations

from typing import ClassVar

import equinox as eqx
import jax.numpy as jnp

from .._parameters import ANY, POSITIVE
from ._base import AbstractSynapse


class CurrentSynapse(AbstractSynapse):
    """A current that jumps by ``weight`` per event and decays with ``tau``: ``dI/dt = −I/τ``,
    injected independently of the membrane potential (no reversal potential). The CUBA
    benchmark's synapses (Brette et al. 2007, benchmark 2): with a LIF of ``r_m`` MΩ, a jump of
    ``w`` mV in the voltage equation ``τ_m dv/dt = −(v − E_L) + g`` is ``weight = w / r_m`` nA.
    Like every synapse, the current is held at its start-of-step value across a solver step
    (exponential Euler), and it keeps decaying while the cell is refractory.

    Point neurons only (a cable neuron reads conductances).

    Attributes:
        name: input channel name (also the key of its parameters).
        tau: time constant (ms).
        weight: current per event, in the model's current unit (nA for LIF, pA for AdEx);
            negative for inhibition.
    """

    name: str = eqx.field(static=True)
    tau: float = eqx.field(static=True, default=5.0)
    weight: float = eqx.field(static=True, default=1.0)

    kind: ClassVar[str] = "current"
    parameter_constraints: ClassVar[dict[str, str]] = {"weight": ANY, "tau": POSITIVE}

    def __check_init__(self):
        if not (isinstance(self.name, str) and self.name):
            raise ValueError(f"a synapse needs a non-empty channel name, got {self.name!r}")

    def params(self) -> dict:
        return {"weight": self.weight, "tau": self.tau}

    def zero_state(self, shape, dtype) -> dict:
        return {"i": jnp.zeros(shape, dtype)}

    def receive(self, state, params, counts) -> dict:
        return dict(state, i=state["i"] + params["weight"] * counts)

    def rates(self, state, params):
        return {"i": jnp.zeros_like(state["i"])}, {"i": 1.0 / params["tau"]}

    def conductance(self, state, params, v):
        return 0.0 * state["i"]

    def current(self, state, params, v):
        return state["i"]


class DeltaSynapse(AbstractSynapse):
    """A δ-current synapse: each event moves the membrane potential by ``weight`` mV at once
    (Brunel 2000; NEST ``iaf_psc_delta``). The jump is applied at the start of the sample in
    which the event arrives, before the sample's integration, so the threshold test at the end
    of that sample sees it (decayed over the sample); while the cell is refractory the clamp of
    the voltage discards it (NEST's default, ``refractory_input = False``).

    Point neurons only. It has no kinetic state.

    Attributes:
        name: input channel name (also the key of its parameters).
        weight: voltage jump per event (mV); negative for inhibition.
    """

    name: str = eqx.field(static=True)
    weight: float = eqx.field(static=True, default=0.1)

    kind: ClassVar[str] = "delta"
    parameter_constraints: ClassVar[dict[str, str]] = {"weight": ANY}
    instantaneous: ClassVar[bool] = True

    def __check_init__(self):
        if not (isinstance(self.name, str) and self.name):
            raise ValueError(f"a synapse needs a non-empty channel name, got {self.name!r}")

    def params(self) -> dict:
        return {"weight": self.weight}

    def zero_state(self, shape, dtype) -> dict:
        return {}

    def receive(self, state, params, counts) -> dict:
        return state

    def rates(self, state, params):
        return {}, {}

    def conductance(self, state, params, v):
        return 0.0

    def jump(self, params, counts):
        return params["weight"] * counts
