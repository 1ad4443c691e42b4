"""The apical calcium hot zone of Hay et al. (2011): Ca_HVA and Ca_LVAst, fixed reversal."""

from __future__ import annotations

from typing import ClassVar

import jax.numpy as jnp

from .._parameters import ANY, NONNEGATIVE
from ._base import AbstractChannel
from ._hh import vtrap


class CaHVA(AbstractChannel):
    """High-voltage-activated Ca²⁺, ``I = g m²h (V − E_Ca)`` (Reuveni et al. 1993; Hay et al.
    2011 ``Ca_HVA.mod``). Parameters: ``g_ca_hva`` (mS/cm²), ``e_ca`` (mV, fixed: no calcium
    dynamics)."""

    parameter_constraints: ClassVar[dict[str, str]] = {"g_ca_hva": NONNEGATIVE, "e_ca": ANY}

    def gate_rates(self, v, params):
        m_alpha = 0.055 * vtrap(-27.0 - v, 3.8)
        m_beta = 0.94 * jnp.exp((-75.0 - v) / 17.0)
        h_alpha = 0.000457 * jnp.exp((-13.0 - v) / 50.0)
        h_beta = 0.0065 / (jnp.exp((-v - 15.0) / 28.0) + 1.0)
        return {"hva_m": (m_alpha, m_alpha + m_beta), "hva_h": (h_alpha, h_alpha + h_beta)}

    def currents(self, y, params):
        return ((params["g_ca_hva"] * y["hva_m"] ** 2 * y["hva_h"], params["e_ca"]),)


class CaLVA(AbstractChannel):
    """Low-voltage-activated Ca²⁺, ``I = g m²h (V − E_Ca)`` (Avery & Johnston 1996; Hay et al.
    2011 ``Ca_LVAst.mod``, its fixed q10 factor 2.3^((34 − 21)/10) and +10 mV shift).
    Parameters: ``g_ca_lva`` (mS/cm²), ``e_ca`` (mV)."""

    parameter_constraints: ClassVar[dict[str, str]] = {"g_ca_lva": NONNEGATIVE, "e_ca": ANY}

    def gate_rates(self, v, params):
        qt = 2.3 ** ((34.0 - 21.0) / 10.0)
        u = v + 10.0
        m_inf = 1.0 / (1.0 + jnp.exp((u + 30.0) / -6.0))
        m_tau = (5.0 + 20.0 / (1.0 + jnp.exp((u + 25.0) / 5.0))) / qt
        h_inf = 1.0 / (1.0 + jnp.exp((u + 80.0) / 6.4))
        h_tau = (20.0 + 50.0 / (1.0 + jnp.exp((u + 40.0) / 7.0))) / qt
        return {"lva_m": (m_inf / m_tau, 1.0 / m_tau), "lva_h": (h_inf / h_tau, 1.0 / h_tau)}

    def currents(self, y, params):
        return ((params["g_ca_lva"] * y["lva_m"] ** 2 * y["lva_h"], params["e_ca"]),)
