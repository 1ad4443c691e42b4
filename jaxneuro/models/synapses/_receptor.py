"""Double-exponential receptor kinetics (AMPA, NMDA with Mg²⁺ block, GABA_A) at synapse sites."""

from __future__ import annotations

from typing import ClassVar

import equinox as eqx
import jax.numpy as jnp

from .._parameters import ANY, NONNEGATIVE, POSITIVE
from ._base import AbstractSynapse


def peak_factor(tau_rise, tau_decay):
    """``f`` such that one event of size ``f`` in A and B peaks at 1 (dimensionless)."""
    t_peak = tau_rise * tau_decay / (tau_decay - tau_rise) * jnp.log(tau_decay / tau_rise)
    return 1.0 / (jnp.exp(-t_peak / tau_decay) - jnp.exp(-t_peak / tau_rise))


def mg_block(v, mg, mg_slope):
    """Fraction of NMDA conductance unblocked at ``v`` (mV), Jahr & Stevens (1990)."""
    return 1.0 / (1.0 + jnp.exp(-mg_slope * v) * (mg / 3.57))


class Receptor(AbstractSynapse):
    """A peak-normalised double-exponential conductance, one per synapse site.

    ``g(t) = g_max·(B − A)`` with ``Ȧ = −A/τ_rise``, ``Ḃ = −B/τ_decay``; each event adds the
    normalisation factor ``f`` to both ``A`` and ``B``, so one event peaks at ``g_max`` (NEURON
    ``Exp2Syn``). NMDA receptors are scaled by the Jahr–Stevens (1990) Mg²⁺ block
    ``1 / (1 + exp(−mg_slope·V)·[Mg]/3.57 mM)`` (parameters ``mg`` 1 mM, ``mg_slope`` 0.08/mV).
    Values from Beniaguev et al. (2021) via ``reference/dendritic_neuron.md`` §1.

    Attributes:
        g_max: peak conductance of one event (nS).
        tau_rise, tau_decay: time constants (ms), ``tau_rise < tau_decay``.
        e_rev: reversal potential (mV).
        mg_block: whether the Mg²⁺ block applies (NMDA).
    """

    g_max: float = eqx.field(static=True)
    tau_rise: float = eqx.field(static=True)
    tau_decay: float = eqx.field(static=True)
    e_rev: float = eqx.field(static=True)
    mg_block: bool = eqx.field(static=True, default=False)

    kind: ClassVar[str] = "receptor"
    parameter_constraints: ClassVar[dict[str, str]] = {
        "g_max": NONNEGATIVE,
        "tau_rise": POSITIVE,
        "tau_decay": POSITIVE,
        "e_rev": ANY,
        "mg": NONNEGATIVE,
        "mg_slope": ANY,
    }

    def __check_init__(self):
        if not self.tau_rise < self.tau_decay:
            raise ValueError(
                f"Receptor: tau_rise ({self.tau_rise} ms) must be below tau_decay "
                f"({self.tau_decay} ms)"
            )

    def params(self) -> dict:
        p = dict(
            g_max=self.g_max, tau_rise=self.tau_rise, tau_decay=self.tau_decay, e_rev=self.e_rev
        )
        return p | (dict(mg=1.0, mg_slope=0.08) if self.mg_block else {})

    def zero_state(self, shape, dtype) -> dict:
        return {"a": jnp.zeros(shape, dtype), "b": jnp.zeros(shape, dtype)}

    def receive(self, state, params, counts) -> dict:
        """Add ``f × count`` to both states for this sample's event counts (one per site)."""
        jump = peak_factor(params["tau_rise"], params["tau_decay"]) * counts
        return {"a": state["a"] + jump, "b": state["b"] + jump}

    def rates(self, state, params):
        """``(drive, decay)`` of the kinetic states (pure decay)."""
        zero = jnp.zeros_like(state["a"])
        return (
            {"a": zero, "b": zero},
            {"a": zero + 1.0 / params["tau_rise"], "b": zero + 1.0 / params["tau_decay"]},
        )

    def conductance(self, state, params, v):
        """Conductance at each site (nS), including the Mg²⁺ block for NMDA."""
        g = params["g_max"] * (state["b"] - state["a"])
        if "mg" in params:
            g = g * mg_block(v, params["mg"], params["mg_slope"])
        return g


AMPA = Receptor(g_max=1.0, tau_rise=0.3, tau_decay=3.0, e_rev=0.0)
NMDA = Receptor(g_max=2.0, tau_rise=2.0, tau_decay=70.0, e_rev=0.0, mg_block=True)
GABA_A = Receptor(g_max=1.5, tau_rise=0.2, tau_decay=8.0, e_rev=-80.0)
