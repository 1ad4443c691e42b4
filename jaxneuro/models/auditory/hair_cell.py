"""Inner-hair-cell receptor potential (Altoè, Pulkki & Verhulst 2017, as used in Verhulst, Altoè &
Vasilkov 2018, Hear. Res. 360:55, Appendix A): basilar-membrane velocity in, membrane potential
out, at 100 kHz, channel-wise over any number of characteristic frequencies."""

from __future__ import annotations

import math
from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from ..._simulator import (
    TRACE,
    Channel,
    IOSpec,
    Outputs,
    Params,
    State,
)
from .._model import AbstractModel
from .._parameters import NONNEGATIVE, POSITIVE
from .._stepping import as_float_tree, checkpointed_scan
from ._stage import (
    as_channel,
    check_positive_int,
    check_positive_ms,
    prepare,
    start_state,
)

SCHEMES = ("reference", "exponential")

WARMUP_MS = 50.0
"""Zero-input warm-up that defines the rest state (V18 code: 50 ms, MET gate held fixed)."""

V_START = -57.03
"""mV: the reference's initial potential before its warm-up (its K gates start at n∞ of it)."""

DIVERGENCE_MV = 1e4


def default_params() -> dict[str, float]:
    """The IHC's parameters (V18 Appendix A; Altoè et al. 2017). Units: see
    :class:`InnerHairCell`."""
    return dict(
        c_m=12.5,
        g_met=30.0,
        g_k=230.0,
        ep=90.0,
        e_kf=-71.0,
        e_ks=-78.0,
        v_h=-31.0,
        s_k=10.5,
        x0=20.0,
        s0=48.0,
        s1=16.0,
        tau_met=0.05,
        tau_f=0.3,
        tau_s=8.0,
        gain=0.118,
    )


def met_open(u_nm: Array, params: Params) -> Array:
    """m∞(u) = 1 / (1 + e^a (1 + e^b)), a = (x0 − u)/s0, b = (x0 − u)/s1, in the stable form
    sigmoid(−a − softplus(b)) (no overflow for any displacement, float32 included)."""
    a = (params["x0"] - u_nm) / params["s0"]
    b = (params["x0"] - u_nm) / params["s1"]
    return jax.nn.sigmoid(-a - jax.nn.softplus(b))


def k_open(v: Array, params: Params) -> Array:
    """n∞(V) = 1 / (1 + exp(−(V − V_h)/s_K)) for both K⁺ conductances."""
    return jax.nn.sigmoid((v - params["v_h"]) / params["s_k"])


def rest_potential(params: Params | None = None, tol: float = 1e-10) -> float:
    """The IHC's steady potential at zero input [mV] (≈ −57.66 mV with the defaults): the root of
    the total current with m = m∞(0) and both K gates at n∞(V), found by bisection in float64.
    The 50 ms warm-up of :meth:`InnerHairCell.init_state` ends within 1e-3 mV of it."""
    p = {k: float(v) for k, v in (params or default_params()).items()}
    m = 1.0 / (1.0 + math.exp(p["x0"] / p["s0"]) * (1.0 + math.exp(p["x0"] / p["s1"])))

    def current(v):
        n = 1.0 / (1.0 + math.exp(-(v - p["v_h"]) / p["s_k"]))
        return (
            p["g_met"] * m * (v - p["ep"])
            + p["g_k"] * n * (v - p["e_kf"])
            + p["g_k"] * n * (v - p["e_ks"])
        )

    lo, hi = min(p["e_kf"], p["e_ks"]), p["ep"]
    while hi - lo > tol:
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if current(mid) < 0 else (lo, mid)
    return 0.5 * (lo + hi)


class InnerHairCell(AbstractModel):
    """Inner-hair-cell receptor potential (Altoè, Pulkki & Verhulst 2017; Verhulst, Altoè &
    Vasilkov 2018, *Hear. Res.* 360:55, Appendix A), channel-wise over ``n_channels`` CFs.

    The stereocilia displacement is ``u = gain · v_BM`` (gain 0.118 s, fitted so that the HSR
    threshold is 20 dB SPL at 1 kHz), and with states V, m, n_f, n_s::

        C_m dV/dt = −[G_MET m (V − EP) + G_K n_f (V − E_Kf) + G_K n_s (V − E_Ks)]
        m∞(u) = 1/(1 + exp((x0 − u)/s0)·(1 + exp((x0 − u)/s1))),   τ_MET dm/dt = m∞ − m
        n∞(V) = 1/(1 + exp(−(V − V_h)/s_K)),                       τ_{f,s} dn/dt = n∞ − n

    ``scheme="reference"`` (default) is the V18 code's discrete map at ``dt``: the gates by
    exponential Euler, ``x ← (1 − α) x∞ + α x`` with ``α = exp(−dt/τ)``, m from the current
    sample's input and the K gates from the previous V; then V by forward Euler with the new gates
    and the previous V. ``scheme="exponential"`` advances V by exponential Euler instead (the
    conductances frozen over the step: exact relaxation towards their reversal-weighted mean),
    stable at any ``dt`` but not the reference's numbers (it differs by ≲0.1 mV at 100 kHz).
    The map's numbers hold at ``dt = 0.01 ms`` (100 kHz): the cell's time constant falls to
    35–45 µs when depolarised, and forward Euler at 20 kHz shifts the DC by 0.6–1.2 mV.

    The initial state (:meth:`init_state`) is the reference's: V = −57.03 mV, n_f = n_s =
    n∞(−57.03), m = m∞(0), then 50 ms of zero input with m held fixed, run through the same map.
    It ends at the rest potential, −57.66 mV (MET open probability 0.128;
    :func:`rest_potential`). Response range about −74 to −27 mV.

    Parameters (``init()``): ``c_m`` pF (12.5), ``g_met`` nS (30), ``g_k`` nS (230, each K⁺
    conductance), ``ep`` mV (+90, endocochlear potential), ``e_kf`` mV (−71), ``e_ks`` mV (−78),
    ``v_h`` mV (−31), ``s_k`` mV (10.5), ``x0`` nm (20), ``s0`` nm (48), ``s1`` nm (16),
    ``tau_met`` ms (0.05), ``tau_f`` ms (0.3), ``tau_s`` ms (8), ``gain`` s (0.118: u [m] per
    v_BM [m/s]). With these units ``nS · mV / pF = mV/ms``. Scalars, shared by all channels.

    Input ``v_bm`` [m/s] × ``n_channels``; output ``v_ihc`` [mV] × ``n_channels`` (``[T]`` for
    one channel). State: ``{"v", "m", "n_f", "n_s"}``, each ``[n_channels]``.

    Attributes:
        n_channels: characteristic frequencies (columns), a positive int.
        dt: sample interval (ms); the reference's is 0.01 ms (100 kHz).
        scheme: ``"reference"`` or ``"exponential"`` (see above).
    """

    n_channels: int = eqx.field(static=True, default=1)
    dt: float = eqx.field(static=True, default=0.01)
    scheme: str = eqx.field(static=True, default="reference")

    parameter_constraints: ClassVar[dict[str, str]] = {
        "c_m": POSITIVE,
        "g_met": NONNEGATIVE,
        "g_k": NONNEGATIVE,
        "s_k": POSITIVE,
        "s0": POSITIVE,
        "s1": POSITIVE,
        "tau_met": POSITIVE,
        "tau_f": POSITIVE,
        "tau_s": POSITIVE,
        "gain": POSITIVE,
    }

    def __check_init__(self):
        check_positive_ms("InnerHairCell", "dt", self.dt)
        check_positive_int("InnerHairCell", "n_channels", self.n_channels)
        if self.scheme not in SCHEMES:
            raise ValueError(f"InnerHairCell: scheme must be one of {SCHEMES}, got {self.scheme!r}")

    @property
    def spec(self) -> IOSpec:
        w = self.n_channels
        return IOSpec(
            dt=self.dt,
            inputs=(Channel("v_bm", "m/s", TRACE, w, "basilar-membrane velocity per CF"),),
            outputs=(Channel("v_ihc", "mV", TRACE, w, "IHC receptor potential per CF"),),
        )

    def init(self, key: Array | None = None) -> Params:
        return default_params()

    # --- the map -------------------------------------------------------------------------------
    def _step(self, params: Params, y: State, u_nm: Array, hold_m: bool = False) -> State:
        """One sample of the discrete map (see the class docstring)."""
        dt = self.dt
        if hold_m:
            m = y["m"]
        else:
            a_m = jnp.exp(-dt / params["tau_met"])
            m = (1 - a_m) * met_open(u_nm, params) + a_m * y["m"]
        v = y["v"]
        n_inf = k_open(v, params)
        a_f, a_s = jnp.exp(-dt / params["tau_f"]), jnp.exp(-dt / params["tau_s"])
        n_f = (1 - a_f) * n_inf + a_f * y["n_f"]
        n_s = (1 - a_s) * n_inf + a_s * y["n_s"]
        g_met, g_f, g_s = params["g_met"] * m, params["g_k"] * n_f, params["g_k"] * n_s
        if self.scheme == "reference":
            i = g_met * (v - params["ep"]) + g_f * (v - params["e_kf"]) + g_s * (v - params["e_ks"])
            v = v - dt * i / params["c_m"]
        else:
            g = g_met + g_f + g_s
            v_inf = (g_met * params["ep"] + g_f * params["e_kf"] + g_s * params["e_ks"]) / g
            v = v_inf + (v - v_inf) * jnp.exp(-dt * g / params["c_m"])
        return {"v": v, "m": m, "n_f": n_f, "n_s": n_s}

    def init_state(self, params: Params) -> State:
        """The rest state: the reference's start (V = −57.03 mV, K gates at n∞ of it, m = m∞(0))
        after 50 ms of zero input through the map with m held fixed. One scalar warm-up
        (5000 samples at 100 kHz), broadcast to ``n_channels``."""
        dtype = jnp.result_type(float, *jax.tree.leaves(params))
        p = as_float_tree(params, dtype)
        v0 = jnp.asarray(V_START, dtype)
        zero = jnp.zeros((), dtype)
        n0 = k_open(v0, p)
        y = {"v": v0, "m": met_open(zero, p), "n_f": n0, "n_s": n0}
        n_warm = round(WARMUP_MS / self.dt)
        y = jax.lax.fori_loop(0, n_warm, lambda _, y: self._step(p, y, zero, hold_m=True), y)
        return {k: jnp.broadcast_to(a, (self.n_channels,)) for k, a in y.items()}

    def apply(
        self,
        params: Params,
        inputs: Float[Array, "T n_channels"],
        state: State | None = None,
    ) -> tuple[Outputs, State]:
        x, params = prepare(self, params, inputs)
        y0 = start_state(self, params, state, x.dtype)
        u_nm = params["gain"] * 1e9 * x  # [T, n] displacement in nm

        def step(y, u):
            y = self._step(params, y, u)
            return y, y["v"]

        y, v = checkpointed_scan(step, y0, u_nm)
        bad = ~(jnp.isfinite(v) & (jnp.abs(v) < DIVERGENCE_MV)).all()
        v = eqx.error_if(
            v,
            bad,
            f"InnerHairCell: v diverged (non-finite or |v| > {DIVERGENCE_MV:g} mV) at dt = "
            f"{self.dt} ms with the {self.scheme!r} scheme: reduce dt (the reference uses 0.01 ms) "
            "or use scheme='exponential'",
        )
        return {"v_ihc": as_channel(v, self.n_channels)}, y
