"""Optional dendritic channels of Hay et al. (2011, PLoS Comput. Biol. 7:e1002107): Ih and the
apical calcium hot zone (Ca_HVA, Ca_LVAst), as NEURON mechanisms ``Ih``, ``Ca_HVA``, ``Ca_LVAst``.

Each gate is returned in the quasi-linear form ``(drive, decay)``: ``dx/dt = drive − decay·x``.
Rates in 1/ms, potentials in mV. Calcium reversal is fixed (no calcium dynamics).
"""

import jax.numpy as jnp

from .hodgkin_huxley import vtrap


def ih_gate(v):
    """Ih activation ``m`` (Kole, Hallermann & Stuart 2006; Hay et al. 2011 ``Ih.mod``)."""
    alpha = 0.001 * 6.43 * vtrap(v + 154.9, 11.9)
    beta = 0.001 * 193.0 * jnp.exp(v / 33.1)
    return {"ih_m": (alpha, alpha + beta)}


def ca_hva_gates(v):
    """High-voltage-activated Ca²⁺ ``m²h`` (Reuveni et al. 1993; Hay et al. ``Ca_HVA.mod``)."""
    m_alpha = 0.055 * vtrap(-27.0 - v, 3.8)
    m_beta = 0.94 * jnp.exp((-75.0 - v) / 17.0)
    h_alpha = 0.000457 * jnp.exp((-13.0 - v) / 50.0)
    h_beta = 0.0065 / (jnp.exp((-v - 15.0) / 28.0) + 1.0)
    return {"hva_m": (m_alpha, m_alpha + m_beta), "hva_h": (h_alpha, h_alpha + h_beta)}


def ca_lva_gates(v):
    """Low-voltage-activated Ca²⁺ ``m²h`` (Avery & Johnston 1996; Hay et al. ``Ca_LVAst.mod``,
    its fixed q10 factor 2.3^((34 − 21)/10) and +10 mV shift)."""
    qt = 2.3 ** ((34.0 - 21.0) / 10.0)
    u = v + 10.0
    m_inf = 1.0 / (1.0 + jnp.exp((u + 30.0) / -6.0))
    m_tau = (5.0 + 20.0 / (1.0 + jnp.exp((u + 25.0) / 5.0))) / qt
    h_inf = 1.0 / (1.0 + jnp.exp((u + 80.0) / 6.4))
    h_tau = (20.0 + 50.0 / (1.0 + jnp.exp((u + 40.0) / 7.0))) / qt
    return {"lva_m": (m_inf / m_tau, 1.0 / m_tau), "lva_h": (h_inf / h_tau, 1.0 / h_tau)}


def steady_state(gates: dict) -> dict:
    """Each gate's value at rest: drive / decay."""
    return {k: d / k_ for k, (d, k_) in gates.items()}
