"""Hodgkin–Huxley squid axon, as NEURON's ``hh`` mechanism."""

import math
from typing import ClassVar

import diffrax
import equinox as eqx

from .._simulator import Channel
from ..solvers import ExplicitTrapezoid, spike_fn
from ._parameters import POSITIVE
from ._point_neuron import PointNeuron
from .channels import HH, add_currents, rate_functions, vtrap
from .synapses import Synapse

__all__ = ["SOMA_AREA_CM2", "HodgkinHuxley", "ns_to_density", "rate_functions", "vtrap"]

SOMA_AREA_CM2 = math.pi * 25e-4 * 25e-4
"""Lateral area of the 25 µm × 25 µm soma of Oláh et al. (2022): π·d·L = 1.963e-5 cm²."""

SQUID = HH()


def ns_to_density(g_ns: float, area_cm2: float = SOMA_AREA_CM2) -> float:
    """A conductance in nS as a density in mS/cm² on a membrane of ``area_cm2``."""
    return g_ns * 1e-6 / area_cm2


class HodgkinHuxley(PointNeuron):
    """Hodgkin & Huxley (1952, J. Physiol. 117:500) squid axon; NEURON ``hh`` conventions.

    ``C dV/dt = I_ext − ḡ_Na m³h (V − E_Na) − ḡ_K n⁴ (V − E_K) − g_l (V − E_l) + Σ g_syn (E_syn − V)``,
    ``dx/dt = φ [α_x (1 − x) − β_x x]`` with ``φ = 3^((T − 6.3)/10)``; rates as in ``hh.mod``.

    Parameters (``init()``): ``c_m`` µF/cm²; ``g_na``, ``g_k``, ``g_l`` mS/cm²; ``e_na``, ``e_k``,
    ``e_l`` mV; ``celsius`` °C; ``v_init`` mV (gates start at x∞(v_init)); ``v_spike`` mV (upward
    crossings count as spikes). Input 0: injected current density ``i_ext`` in µA/cm². Synaptic
    weights in mS/cm² (a 25 µm × 25 µm soma has area 1.963e-5 cm²: 1 nS ≙ 0.0509 mS/cm²).

    Default solver: Heun's method (explicit trapezoidal rule,
    :class:`~jaxneuro.solvers.ExplicitTrapezoid`; ``diffrax.Heun`` is the same scheme at 1.8× the
    cost) at ``dt = 0.025`` ms: over 200 ms, spike times within 0.02 ms (10 µA/cm²) and 0.05 ms (noisy
    current) of a DOP853 reference (``tests/test_reference_hh.py``). First-order exponential Euler
    (:class:`~jaxneuro.solvers.ExponentialEuler`) costs half as much per step but is off by 2.5 ms
    at this step; it stays stable at high temperature (φ ≈ 29 at 37 °C), where explicit
    Runge–Kutta needs ``solver_dt ≤ 0.005`` ms. For reference accuracy:
    ``HodgkinHuxley(solver=diffrax.Tsit5(), stepsize_controller=diffrax.PIDController(rtol=1e-10,
    atol=1e-10))``.
    """

    dt: float = eqx.field(static=True, default=0.025)
    solver: diffrax.AbstractSolver = ExplicitTrapezoid()
    current_channel: ClassVar[Channel] = Channel(
        "i_ext", "uA/cm2", description="injected current density"
    )
    parameter_constraints: ClassVar[dict[str, str]] = {
        "c_m": POSITIVE,
        **SQUID.parameter_constraints,
    }
    stiff_parameters: ClassVar[tuple[str, ...]] = ("c_m", "g_na", "g_k", "celsius")

    @classmethod
    def olah2022(cls, **kwargs) -> "HodgkinHuxley":
        """The point neuron of Oláh, Pedersen & Rowan (2022, eLife 11:e79535) with its synapses.

        HH soma of 25 µm × 25 µm; an excitatory alpha synapse (τ 2 ms, 2.5 nS, 0 mV) and an
        inhibitory one (τ 1 ms, 8 nS, −90 mV), converted to mS/cm² on that area. Inputs:
        ``i_ext`` (µA/cm²), then spike counts of the ``exc`` and ``inh`` channels. Samples are
        1 ms (the paper's recording interval), internal steps 0.025 ms. Channel densities are
        the standard ``hh`` ones (the paper's temperature and leak are unconfirmed).
        """
        synapses = (
            Synapse("exc", "alpha", tau=2.0, e_rev=0.0, weight=ns_to_density(2.5)),
            Synapse("inh", "alpha", tau=1.0, e_rev=-90.0, weight=ns_to_density(8.0)),
        )
        return cls(**{"dt": 1.0, "solver_dt": 0.025, "synapses": synapses, **kwargs})

    def default_params(self):
        return dict(
            c_m=1.0,
            g_na=120.0,
            g_k=36.0,
            g_l=0.3,
            e_na=50.0,
            e_k=-77.0,
            e_l=-54.3,
            celsius=6.3,
            v_init=-65.0,
            v_spike=0.0,
        )

    def rest_state(self, params):
        v = params["v_init"]
        return dict(v=v, **SQUID.steady_state(v, params))

    def membrane_rates(self, y, params, current, g_syn, ge_syn):
        g, ge = add_currents(0.0, current, SQUID.currents(y, params))
        c = params["c_m"]
        drive, decay = {"v": (ge + ge_syn) / c}, {"v": (g + g_syn) / c}
        for gate, (d, k) in SQUID.gate_rates(y["v"], params).items():
            drive[gate], decay[gate] = d, k
        return drive, decay

    def spiked(self, y0, y1, params):
        """Upward crossing of ``v_spike`` (exact forward, surrogate gradient backward)."""
        return spike_fn(y1["v"] - params["v_spike"]) * (y0["v"] < params["v_spike"])
