"""Hodgkin–Huxley sodium, potassium and leak currents, as NEURON's ``hh`` mechanism."""

from __future__ import annotations

from typing import ClassVar

import jax.numpy as jnp

from .._parameters import ANY, NONNEGATIVE
from ._base import AbstractChannel


def vtrap(x, y):
    """x / (exp(x/y) − 1), with the removable singularity at x = 0 handled as in ``hh.mod``."""
    ratio = x / y
    small = jnp.abs(ratio) < 1e-6
    safe = jnp.where(small, 1.0, ratio)
    return jnp.where(small, y * (1.0 - ratio / 2.0), x / jnp.expm1(safe))


def rate_functions(v):
    """α and β (ms⁻¹, at 6.3 °C) of the m, h and n gates at membrane potential ``v`` (mV)."""
    return {
        "m": (0.1 * vtrap(-(v + 40.0), 10.0), 4.0 * jnp.exp(-(v + 65.0) / 18.0)),
        "h": (0.07 * jnp.exp(-(v + 65.0) / 20.0), 1.0 / (jnp.exp(-(v + 35.0) / 10.0) + 1.0)),
        "n": (0.01 * vtrap(-(v + 55.0), 10.0), 0.125 * jnp.exp(-(v + 65.0) / 80.0)),
    }


class HH(AbstractChannel):
    """Hodgkin & Huxley (1952, J. Physiol. 117:500) squid-axon channels, NEURON ``hh``.

    ``I = ḡ_Na m³h (V − E_Na) + ḡ_K n⁴ (V − E_K) + g_l (V − E_l)``; gates ``dx/dt = φ [α_x (1 − x)
    − β_x x]`` with ``φ = 3^((T − 6.3)/10)``. Parameters: ``g_na``, ``g_k``, ``g_l`` (mS/cm²),
    ``e_na``, ``e_k``, ``e_l`` (mV), ``celsius`` (°C). Gates rest at x∞(v) = α/(α + β).
    """

    parameter_constraints: ClassVar[dict[str, str]] = {
        "g_na": NONNEGATIVE,
        "g_k": NONNEGATIVE,
        "g_l": NONNEGATIVE,
        "e_na": ANY,
        "e_k": ANY,
        "e_l": ANY,
        "celsius": ANY,
    }

    def gate_rates(self, v, params):
        phi = 3.0 ** ((params["celsius"] - 6.3) / 10.0)
        return {g: (phi * a, phi * (a + b)) for g, (a, b) in rate_functions(v).items()}

    def currents(self, y, params):
        g_na = params["g_na"] * y["m"] ** 3 * y["h"]
        g_k = params["g_k"] * y["n"] ** 4
        return (g_na, params["e_na"]), (g_k, params["e_k"]), (params["g_l"], params["e_l"])

    def steady_state(self, v, params=None):
        return {k: a / (a + b) for k, (a, b) in rate_functions(v).items()}
