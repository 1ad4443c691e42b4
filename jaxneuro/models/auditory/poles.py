"""Poles of the V18 transmission-line cochlea: the starting-pole profile, the pole → section
parameter map, the moving-pole compression and the optional irregularities.

Sources: Verhulst, Altoè & Vasilkov 2018 (Hear. Res. 360:55; "V18", eqs 3 and 9); Shera 2001
(JASA 110:332, the pole → delayed-stiffness parameterisation); Verhulst, Dau & Shera 2012 (JASA
132:3842) and Altoè, Pulkki & Verhulst 2014 (JASA 136:EL302) for the moving-pole nonlinearity.
Everything here is implemented from the equations of ``shared/reference/auditory_periphery.md``
§3.2 and §3.5 (the authors' ``StartingPoles.dat`` is not used: its profile is regenerated from
the rule ``α_S ≈ 0.0609 (CF / 1 kHz)^−0.251``, floored at 0.037).

Poles are dimensionless (the real part of the section's pole in units of its CF, ×−1).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array

POLE_C = 120.8998691636393
"""The constant ``c`` of the pole → (a, d, ρ) map (V18 eq. 3)."""
ALPHA_E = 0.31
"""The saturating pole α_E (the code's value; V18's text says 0.305)."""
V_KNEE1 = 1.6044e-7
"""First knee of the compression, |v_BM| [m/s] (V18's v_BM,30dB, 1.6e-7)."""
V_KNEE2 = 1.3971e-6
"""Second knee [m/s], from the code's compression-slope argument 0.4 (V18 quotes 0.31 dB/dB)."""
COMPRESSION_F = 100.0
"""The scale ``F`` of the moving-pole hyperbola."""
ALPHA_1KHZ = 0.0609
"""Normal-hearing starting pole at 1 kHz."""
ALPHA_EXPONENT = -0.251
"""Exponent of the starting-pole rule (Q_ERB = 11.46 (CF / 1 kHz)^0.25, V18 eq. 9)."""
ALPHA_FLOOR = 0.037
"""Floor of the starting poles (reached at CF ≈ 7.3 kHz)."""
IRREGULARITY = 0.025
"""Relative amplitude of the pole irregularities (reflection-source OAEs)."""


def normal_hearing_poles(cf_hz) -> np.ndarray:
    """Normal-hearing starting poles α_S at characteristic frequencies ``cf_hz`` (Hz).

    ``max(0.0609 (CF / 1 kHz)^−0.251, 0.037)`` (float64 NumPy): 0.1027 at 125 Hz, 0.0609 at
    1 kHz, 0.0430 at 4 kHz, 0.037 from ≈ 7.3 kHz up.
    """
    cf = np.asarray(cf_hz, np.float64)
    return np.maximum(ALPHA_1KHZ * (np.maximum(cf, 1e-3) / 1000.0) ** ALPHA_EXPONENT, ALPHA_FLOOR)


def pole_parameters(alpha):
    """Section parameters of pole ``alpha`` (V18 eq. 3, after Shera 2001).

    Returns ``(a, d, mu, rho)``: ``a = (α + √(α² + c(1 − α²)))/c``; damping ``d = 2(α − a)``
    (negative: active); ``mu = 1/(2πa)``, the delay in CF periods (τ = μ/CF = 1/(aω));
    ``rho = 2a √(1 − (d/2)²) exp(−α/a)``, the weight of the delayed stiffness. Works on NumPy
    and JAX arrays.
    """
    xp = jnp if isinstance(alpha, jax.Array) else np
    a = (alpha + xp.sqrt(alpha * alpha + POLE_C * (1.0 - alpha * alpha))) / POLE_C
    d = 2.0 * (alpha - a)
    mu = 1.0 / (2.0 * np.pi * a)
    rho = 2.0 * a * xp.sqrt(1.0 - 0.25 * d * d) * xp.exp(-alpha / a)
    return a, d, mu, rho


def max_delay_cycles(alpha_max: float = ALPHA_E) -> float:
    """The largest delay μ (CF periods) of any pole in [0, ``alpha_max``] (1.787 at α_E)."""
    alphas = np.linspace(0.0, alpha_max, 4001)
    return float(pole_parameters(alphas)[2].max())


def compression_constants(alpha_s, v_knee1, v_knee2, alpha_e=ALPHA_E):
    """Per-section constants of the moving-pole hyperbola (§3.5), from the starting poles and the
    knees (arrays of one shape; NumPy or JAX). Returns a dict for :func:`moving_pole`."""
    xp = jnp if any(isinstance(t, jax.Array) for t in (alpha_s, v_knee1, v_knee2)) else np
    f = COMPRESSION_F
    r = v_knee2 / v_knee1
    theta0 = xp.arctan(f * (alpha_e - alpha_s) / (r - 1.0))
    theta = theta0 / 2.0
    s_foc = f * alpha_s / r
    s_e = xp.cos((np.pi - theta0) / 2.0)
    s_b = s_foc * s_e
    s_a = s_foc * xp.sqrt(1.0 - s_e * s_e)
    k = xp.cos(theta) / xp.cos(2.0 * theta)
    return {
        "alpha_s": alpha_s,
        "inv_knee1": 1.0 / v_knee1,
        "k": k,
        "sin_f": xp.sin(theta) / f,
        "b_cos_f": s_b * xp.cos(theta) / f,
        "inv_a": 1.0 / s_a,
        "alpha_e": alpha_e,
    }


def moving_pole(speed, constants):
    """The pole at BM speed ``|v|`` [m/s] (§3.5; Verhulst, Dau & Shera 2012):

    ``x = (|v|/V_knee1 − 1) K``;
    ``α = min(α_S + (x sinΘ + S_b √(1 + (x/S_a)²) cosΘ)/F, α_E)``.

    At 1 kHz (α_S = 0.0609) it gives 0.0613, 0.0643, 0.0936, 0.190 at |v|/V_knee1 = 0, 1, 2, 5
    and saturates at α_E = 0.31 from ≈ 8.
    """
    c = constants
    xp = jnp if isinstance(speed, jax.Array) else np
    x = (speed * c["inv_knee1"] - 1.0) * c["k"]
    xa = x * c["inv_a"]
    alpha = c["alpha_s"] + x * c["sin_f"] + c["b_cos_f"] * xp.sqrt(1.0 + xa * xa)
    return xp.minimum(alpha, c["alpha_e"])


def irregularities(key: Array, n: int, amplitude: float = IRREGULARITY):
    """Random pole irregularities (reflection-source OAEs): ``R ~ U(−1, 1)`` per node, drawn with
    ``jax.random`` (this does not reproduce the reference's NumPy stream). Returns
    ``(pole_factor, knee_factor)``: ``α_S ← α_S (1 + amplitude·R)`` and both knees
    ``× 10^(R/20)``."""
    r = jax.random.uniform(key, (n,), minval=-1.0, maxval=1.0)
    return 1.0 + amplitude * r, 10.0 ** (r / 20.0)
