"""Izhikevich simple model."""

from typing import ClassVar

import equinox as eqx

from .._simulator import Channel
from ..solvers import SequentialEuler
from ._integrate_and_fire import IntegrateAndFire

REGIMES = {
    "RS": dict(a=0.02, b=0.2, c=-65.0, d=8.0),  # regular spiking
    "IB": dict(a=0.02, b=0.2, c=-55.0, d=4.0),  # intrinsically bursting
    "CH": dict(a=0.02, b=0.2, c=-50.0, d=2.0),  # chattering
    "FS": dict(a=0.1, b=0.2, c=-65.0, d=2.0),  # fast spiking
    "LTS": dict(a=0.02, b=0.25, c=-65.0, d=2.0),  # low-threshold spiking
    "TC": dict(a=0.02, b=0.25, c=-65.0, d=0.05),  # thalamo-cortical
    "RZ": dict(a=0.1, b=0.26, c=-65.0, d=2.0),  # resonator
}


class Izhikevich(IntegrateAndFire):
    """Izhikevich (2003, IEEE Trans. Neural Netw. 14:1569) simple spiking model.

    ``dv/dt = 0.04 v² + 5 v + 140 − u + I + Σ g_syn (E_syn − v)``, ``du/dt = a (b v − u)``;
    at ``v ≥ 30`` mV: ``v ← c``, ``u ← u + d``. Time in ms, v in mV, I and u dimensionless.

    Parameters: ``a``, ``b``, ``c`` (mV), ``d``, ``v_th`` (30 mV), ``v_init`` (mV), ``t_ref`` (0).
    ``regime`` picks a named parameter set (RS, IB, CH, FS, LTS, TC, RZ). Default: exponential
    Euler at 0.1 ms. ``Izhikevich.izhikevich2003(regime)`` gives the paper's own integrator: 1 ms
    steps, v in two 0.5 ms Euler steps, then u in one (:class:`~jaxneuro.solvers.SequentialEuler`);
    its coarse steps make FS and LTS firing visibly irregular, as in the paper's code.
    """

    regime: str = eqx.field(static=True, default="RS")
    current_channel: ClassVar[Channel] = Channel(
        "i_ext", "1", description="injected current (dimensionless)"
    )
    # a, b, c, d: any sign (a = −0.02 for Izhikevich 2004's inhibition-induced spiking)
    stiff_parameters: ClassVar[tuple[str, ...]] = ("a", "b", "v_th")

    def __check_init__(self):
        if self.regime not in REGIMES:
            raise ValueError(
                f"unknown Izhikevich regime {self.regime!r}; choose from {sorted(REGIMES)}"
            )

    @classmethod
    def izhikevich2003(cls, regime: str = "RS", **kwargs) -> "Izhikevich":
        """The published scheme: 1 ms samples and steps, Gauss–Seidel Euler (v ×2, then u)."""
        scheme = {"dt": 1.0, "solver": SequentialEuler((("v", 2), ("u", 1)))}
        return cls(**{"regime": regime, **scheme, **kwargs})

    def default_params(self):
        return dict(REGIMES[self.regime], v_th=30.0, v_init=-65.0, t_ref=0.0)

    def threshold(self, args):
        params, _ = args
        return params["v_th"], params["c"], params["t_ref"]

    def rest_state(self, params):
        v = params["v_init"]
        return self.with_clock({"v": v, "u": params["b"] * v})

    def membrane_rates(self, y, params, current, g_syn, ge_syn):
        v, u = y["v"], y["u"]
        drive = {
            "v": 0.04 * v**2 + 5.0 * v + 140.0 - u + current + ge_syn,
            "u": params["a"] * params["b"] * v,
        }
        decay = {"v": g_syn + 0.0 * v, "u": params["a"] + 0.0 * u}
        return self.frozen(drive, decay, y)

    def on_spike(self, y, s, args):
        params, _ = args
        return dict(y, u=y["u"] + s * params["d"])
