"""Conductance synapses driven by spike counts: exponential and alpha kinetics."""

import math
from typing import Literal, NamedTuple

import jax.numpy as jnp


class Synapse(NamedTuple):
    """A synaptic input channel: spike counts per sample step drive a conductance.

    ``"exp"``: g jumps by ``weight`` per spike and decays with ``tau``.
    ``"alpha"``: g(t) = weight·(t/τ)·e^(1 − t/τ) per spike, peak ``weight`` at t = τ, as the
    linear pair ẋ = −x/τ, ġ = (e/τ)·x − g/τ with x += weight per spike (NEURON ``AlphaSynapse``).
    The current into the cell is g·(e_rev − v). Events are state jumps at the start of the sample
    step in which they are counted, never rectangular pulses.

    Attributes:
        name: channel name (also the key of its parameters).
        kind: ``"exp"`` or ``"alpha"``.
        tau: time constant (ms).
        e_rev: reversal potential (mV).
        weight: conductance per spike, in the model's conductance unit (nS for AdEx, µS for LIF,
            mS/cm² for Hodgkin–Huxley, dimensionless for Izhikevich).
    """

    name: str
    kind: Literal["exp", "alpha"] = "exp"
    tau: float = 5.0
    e_rev: float = 0.0
    weight: float = 1.0

    def check(self):
        if self.kind not in ("exp", "alpha"):
            raise ValueError(
                f"synapse {self.name!r}: kind must be 'exp' or 'alpha', not {self.kind!r}"
            )
        if not (math.isfinite(self.tau) and self.tau > 0):
            raise ValueError(
                f"synapse {self.name!r}: tau must be a positive number of ms, got {self.tau}"
            )


def synapse_params(synapses):
    """Default parameters, ``{name: {"weight", "tau", "e_rev"}}``."""
    return {s.name: {"weight": s.weight, "tau": s.tau, "e_rev": s.e_rev} for s in synapses}


def synapse_state(synapses, dtype):
    """Zero conductances: ``{name: {"g"}}`` or ``{name: {"g", "x"}}`` for alpha synapses."""
    zero = jnp.zeros((), dtype)
    return {
        s.name: ({"g": zero, "x": zero} if s.kind == "alpha" else {"g": zero}) for s in synapses
    }


def receive(synapses, state, params, counts):
    """Jump each synapse's state by ``weight × count`` for this sample's spike counts."""
    new = {}
    for i, s in enumerate(synapses):
        jump = params[s.name]["weight"] * counts[i]
        st = state[s.name]
        new[s.name] = (
            dict(st, x=st["x"] + jump) if s.kind == "alpha" else dict(st, g=st["g"] + jump)
        )
    return new


def synapse_rates(synapses, state, params):
    """``(drive, decay)`` of the synaptic states, in the quasi-linear form."""
    drive, decay = {}, {}
    for s in synapses:
        st, tau = state[s.name], params[s.name]["tau"]
        if s.kind == "alpha":
            drive[s.name] = {"g": (math.e / tau) * st["x"], "x": jnp.zeros_like(st["x"])}
            decay[s.name] = {"g": 1.0 / tau + 0 * st["g"], "x": 1.0 / tau + 0 * st["x"]}
        else:
            drive[s.name] = {"g": jnp.zeros_like(st["g"])}
            decay[s.name] = {"g": 1.0 / tau + 0 * st["g"]}
    return drive, decay


def synaptic_conductance(synapses, state, params):
    """``(Σ g, Σ g·e_rev)``: total conductance and its reversal-weighted sum."""
    g_total = sum((state[s.name]["g"] for s in synapses), 0.0)
    ge_total = sum((state[s.name]["g"] * params[s.name]["e_rev"] for s in synapses), 0.0)
    return g_total, ge_total
