"""The hyperpolarisation-activated cation current Ih of Hay et al. (2011)."""

from __future__ import annotations

from typing import ClassVar

import jax.numpy as jnp

from .._parameters import ANY, NONNEGATIVE
from ._base import AbstractChannel
from ._hh import vtrap


class Ih(AbstractChannel):
    """Ih (Kole, Hallermann & Stuart 2006; Hay et al. 2011, PLoS Comput. Biol. 7:e1002107,
    ``Ih.mod``): ``I = g_h m (V − E_h)``. Parameters: ``g_h`` (mS/cm²), ``e_h`` (mV)."""

    parameter_constraints: ClassVar[dict[str, str]] = {"g_h": NONNEGATIVE, "e_h": ANY}

    def gate_rates(self, v, params):
        alpha = 0.001 * 6.43 * vtrap(v + 154.9, 11.9)
        beta = 0.001 * 193.0 * jnp.exp(v / 33.1)
        return {"ih_m": (alpha, alpha + beta)}

    def currents(self, y, params):
        return ((params["g_h"] * y["ih_m"], params["e_h"]),)
