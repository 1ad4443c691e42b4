"""Leaky integrate-and-fire neuron."""

from typing import ClassVar

import equinox as eqx

from .._simulator import Channel
from ._integrate_and_fire import IntegrateAndFire
from ._parameters import POSITIVE

PRESETS = {
    "default": dict(tau_m=10.0, e_l=-65.0, v_th=-50.0, v_reset=-65.0, r_m=10.0, t_ref=2.0),
    # Vogels & Abbott 2005 (COBA): C = 200 pF, g_L = 10 nS → R = 100 MΩ, τ = 20 ms.
    "vogels-abbott": dict(tau_m=20.0, e_l=-60.0, v_th=-50.0, v_reset=-60.0, r_m=100.0, t_ref=5.0),
}


class LIF(IntegrateAndFire):
    """Leaky integrate-and-fire (Lapicque 1907; e.g. Gerstner et al. 2014, *Neuronal Dynamics* §1.3).

    ``τ_m dV/dt = −(V − E_L) + R_m (I + Σ g_syn (E_syn − V))``; at ``V ≥ V_th``: spike,
    ``V ← V_reset``, held for ``t_ref``.

    Parameters: ``tau_m`` ms, ``e_l`` mV, ``v_th`` mV, ``v_reset`` mV, ``r_m`` MΩ, ``t_ref`` ms.
    Input 0: current in nA; synaptic weights in µS. The default exponential-Euler solver is exact
    for step-constant input; spikes are resolved to ``solver_dt``.
    ``preset="vogels-abbott"`` gives the COBA network's cell (Vogels & Abbott 2005).
    """

    preset: str = eqx.field(static=True, default="default")
    current_channel: ClassVar[Channel] = Channel("i_ext", "nA", description="injected current")
    parameter_constraints: ClassVar[dict[str, str]] = {"tau_m": POSITIVE, "r_m": POSITIVE}
    stiff_parameters: ClassVar[tuple[str, ...]] = ("tau_m", "r_m")

    def __check_init__(self):
        if self.preset not in PRESETS:
            raise ValueError(f"unknown LIF preset {self.preset!r}; choose from {sorted(PRESETS)}")

    def default_params(self):
        return dict(PRESETS[self.preset])

    def rest_state(self, params):
        return self.with_clock({"v": params["e_l"]})

    def membrane_rates(self, y, params, current, g_syn, ge_syn):
        tau, r = params["tau_m"], params["r_m"]
        drive = {"v": (params["e_l"] + r * (current + ge_syn)) / tau}
        decay = {"v": (1.0 + r * g_syn) / tau}
        return self.frozen(drive, decay, y)
