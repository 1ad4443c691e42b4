"""Adaptive exponential integrate-and-fire neuron."""

from typing import ClassVar

import equinox as eqx
import jax.numpy as jnp

from .._simulator import Channel
from ._integrate_and_fire import IntegrateAndFire
from ._parameters import NONNEGATIVE, POSITIVE

EXP_ARG_MAX = 20.0
"""Clip of (V − V_T)/Δ_T inside the exponential, so float32 never overflows."""

_BRETTE_GERSTNER = dict(
    c_m=281.0, g_l=30.0, e_l=-70.6, v_t=-50.4, delta_t=2.0, tau_w=144.0, a=4.0, b=80.5,
    v_reset=-70.6, v_th=20.0, t_ref=0.0,
)  # fmt: skip
PRESETS = {
    # Brette & Gerstner 2005, Table 1 (V_r = E_L, V_peak = 20 mV).
    "brette-gerstner": _BRETTE_GERSTNER,
    # NEST aeif_cond_* defaults for reset and peak.
    "nest": {**_BRETTE_GERSTNER, "v_reset": -60.0, "v_th": 0.0},
}


class AdEx(IntegrateAndFire):
    """Adaptive exponential integrate-and-fire (Brette & Gerstner 2005, J. Neurophysiol. 94:3637).

    ``C dV/dt = −g_L (V − E_L) + g_L Δ_T exp((V − V_T)/Δ_T) − w + I + Σ g_syn (E_syn − V)``,
    ``τ_w dw/dt = a (V − E_L) − w``; at ``V ≥ V_peak``: ``V ← V_r``, ``w ← w + b``.

    Parameters: ``c_m`` pF, ``g_l`` nS, ``e_l`` mV, ``v_t`` mV, ``delta_t`` mV, ``tau_w`` ms,
    ``a`` nS, ``b`` pA, ``v_reset`` (V_r) mV, ``v_th`` (V_peak) mV, ``t_ref`` ms. Input 0:
    current in pA; synaptic weights in nS. ``preset="nest"`` uses NEST's V_r = −60, V_peak = 0 mV.
    The exponential's argument is clipped at ``EXP_ARG_MAX``.
    """

    preset: str = eqx.field(static=True, default="brette-gerstner")
    current_channel: ClassVar[Channel] = Channel("i_ext", "pA", description="injected current")
    parameter_constraints: ClassVar[dict[str, str]] = {
        "c_m": POSITIVE,
        "g_l": NONNEGATIVE,
        "delta_t": POSITIVE,
        "tau_w": POSITIVE,
    }  # a, b: any sign (Naud et al. 2008's firing patterns)
    stiff_parameters: ClassVar[tuple[str, ...]] = ("c_m", "g_l", "delta_t", "tau_w")

    def __check_init__(self):
        if self.preset not in PRESETS:
            raise ValueError(f"unknown AdEx preset {self.preset!r}; choose from {sorted(PRESETS)}")

    def default_params(self):
        return dict(PRESETS[self.preset])

    def rest_state(self, params):
        return self.with_clock({"v": params["e_l"], "w": 0.0 * params["e_l"]})

    def membrane_rates(self, y, params, current, g_syn, ge_syn):
        v, w, c, g_l = y["v"], y["w"], params["c_m"], params["g_l"]
        spike_current = (
            g_l
            * params["delta_t"]
            * jnp.exp(jnp.minimum((v - params["v_t"]) / params["delta_t"], EXP_ARG_MAX))
        )
        drive = {
            "v": (g_l * params["e_l"] + spike_current - w + current + ge_syn) / c,
            "w": params["a"] * (v - params["e_l"]) / params["tau_w"],
        }
        decay = {"v": (g_l + g_syn) / c, "w": 1.0 / params["tau_w"] + 0.0 * w}
        return self.frozen(drive, decay, y)

    def on_spike(self, y, s, args):
        params, _ = args
        return dict(y, w=y["w"] + s * params["b"])
