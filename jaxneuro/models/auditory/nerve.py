"""The inner-hair-cell–auditory-nerve synapse of Verhulst, Altoè & Vasilkov (2018, Hear. Res.
360:55, eqs 10–16) as its code runs it: a three-store vesicle model with calcium-driven release
and refractoriness, a discrete map at 20 kHz giving one deterministic firing rate per fibre type
(high, medium and low spontaneous rate) and characteristic frequency."""

from __future__ import annotations

import math
from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from ..._simulator import RATE, TRACE, Channel, IOSpec, Outputs, Params, State
from .._model import AbstractModel
from .._parameters import POSITIVE
from .._stepping import as_float_tree, checkpointed_scan
from ._stage import (
    as_channel,
    check_positive_int,
    check_positive_ms,
    prepare,
    start_state,
)
from .hair_cell import rest_potential

FIBRES = {
    # spontaneous rate sp [spikes/s] (V18 code; the paper's HSR is 70) and peak rate psr
    "hsr": {"sp": 68.5, "psr": 3000.0},
    "msr": {"sp": 10.0, "psr": 1000.0},
    "lsr": {"sp": 1.0, "psr": 800.0},
}

V_REST_CODE = -57.03
"""mV: the resting potential the V18 code hard-codes in V_h (the IHC actually rests at −57.66)."""

V_REST_IHC = round(rest_potential(), 4)
"""mV: the :class:`InnerHairCell`'s rest with its default parameters (−57.6563)."""

WARMUP_MS = 50.0


class AuditoryNerve(AbstractModel):
    """Auditory-nerve-fibre synapse (Verhulst, Altoè & Vasilkov 2018, *Hear. Res.* 360:55,
    eqs 10–16, as the reference code runs it), channel-wise over ``n_channels`` CFs, for the
    fibre types in ``fibres``.

    A discrete map at ``dt`` = 0.05 ms (20 kHz; the map's constants are per sample, so the
    numbers hold at this rate only). Per fibre type and channel, with ``dt`` in seconds::

        V_h = ln((psr − sp)/sp)·s + V_rest
        k∞ = sqrt(σ((V − V_h)/s));   k ← α_Ca k + (1 − α_Ca) k∞,   α_Ca = exp(−dt/τ_Ca)
        q ← clip(q, 0, M);  l ← clip(l, 0, L)
        ej = pp k² dt q;   fill_q = a_q dt max(l/L − q/M, 0);   fill_l = (a_l/L) dt (L − l)
        q ← q + fill_q − ej;   l ← l − fill_q + fill_l
        recovered = firing 12 samples ago (round(τ_ref / dt))
        firing = (available − relRef) · ej          (relRef before its update)
        relRef ← e^(−dt/τ_ref) relRef + (1 − e^(−dt/τ_ref)) recovered
        available ← available − firing + recovered
        rate = firing / dt   [spikes/s]

    with ``l_ss = L − sp L/a_l``, ``q_ss = M (l_ss/L − sp/a_q)``, ``pp = psr/q_ss``. k∞ is
    evaluated as ``exp(½ log σ(·))`` (no overflow in float32). Following the code, not the paper:
    ``a_l`` = 220 /s (V18 Table 1: 300), HSR ``sp`` = 68.5 (paper 70), the rectified refill and
    its −fill_q on the large store (eq. 14 omits both), and ``V_rest`` = −57.03 mV hard-coded
    in V_h although the IHC rests at −57.66 mV: with it the spontaneous rates are about
    0.66 × nominal (≈ 47–50 / 6.6 / 0.66 spikes/s), and the HSR rate drifts upwards over the
    first second of silence. ``corrected=True`` uses the IHC's actual rest
    (:data:`V_REST_IHC`, −57.66 mV) instead, so that a silent input gives the nominal rates less
    refractoriness.

    The initial state (:meth:`init_state`) is the code's: ``q = q_ss``, ``l = l_ss``,
    ``available = 1``, ``relRef = 0``, the ring buffer empty, ``k = k0 = sqrt(sp/psr)``, then
    50 ms through the map with ``k`` held at ``k0`` and only the upper clips (as the code warms
    up; the pools stay at steady state, the refractory variables settle).

    Parameters (``init()``): ``v_rest`` mV (−57.03, or −57.66 with ``corrected``), ``s_ca`` mV
    (1.5, slope of the calcium activation), ``tau_ca`` ms (0.2), ``m_max`` (14, vesicles in the
    immediate store, M), ``l_max`` (60, in the large store, L), ``a_q`` 1/s (700, refill of the immediate
    store), ``a_l`` 1/s (220, of the large store), and per fibre type ``sp`` and ``psr``
    spikes/s (HSR 68.5/3000, MSR 10/1000, LSR 1/800). Scalars shared by all channels. The
    refractory period ``tau_ref`` (0.6 ms) sets the ring buffer's length, so it is a static
    field, not a parameter.

    Input ``v_ihc`` [mV] × ``n_channels`` (the IHC potential decimated to 20 kHz); outputs
    ``rate_<fibre>`` [spikes/s, rate] × ``n_channels`` for each fibre type (``[T]`` for one
    channel). State, each ``[n_fibres, n_channels]`` (fibres in ``fibres`` order): ``"k"``,
    ``"q"``, ``"l"``, ``"available"``, ``"rel_ref"``; and ``"buffer"``
    ``[n_refractory, n_fibres, n_channels]``, the last ``round(tau_ref/dt)`` firings, oldest
    first.

    Attributes:
        fibres: fibre types, a tuple from ``("hsr", "msr", "lsr")`` (default all three).
        n_channels: characteristic frequencies (columns).
        corrected: ``V_rest`` default −57.66 mV (the IHC's rest) instead of the code's −57.03.
        dt: sample interval (ms; 0.05 = 20 kHz).
        tau_ref: refractory period (ms; 0.6).
    """

    fibres: tuple[str, ...] = eqx.field(static=True, default=("hsr", "msr", "lsr"))
    n_channels: int = eqx.field(static=True, default=1)
    corrected: bool = eqx.field(static=True, default=False)
    dt: float = eqx.field(static=True, default=0.05)
    tau_ref: float = eqx.field(static=True, default=0.6)

    parameter_constraints: ClassVar[dict[str, str]] = {
        "s_ca": POSITIVE,
        "tau_ca": POSITIVE,
        "m_max": POSITIVE,
        "l_max": POSITIVE,
        "a_q": POSITIVE,
        "a_l": POSITIVE,
    } | {f"{f}.{k}": POSITIVE for f in FIBRES for k in ("sp", "psr")}

    def __init__(
        self,
        fibres: tuple[str, ...] | list[str] | str = ("hsr", "msr", "lsr"),
        n_channels: int = 1,
        corrected: bool = False,
        dt: float = 0.05,
        tau_ref: float = 0.6,
    ):
        self.fibres = (fibres,) if isinstance(fibres, str) else tuple(fibres)
        self.n_channels = n_channels
        self.corrected = corrected
        self.dt = dt
        self.tau_ref = tau_ref

    def __check_init__(self):
        for name in ("dt", "tau_ref"):
            check_positive_ms("AuditoryNerve", name, getattr(self, name))
        check_positive_int("AuditoryNerve", "n_channels", self.n_channels)
        unknown = [f for f in self.fibres if f not in FIBRES]
        if not self.fibres or unknown or len(set(self.fibres)) != len(self.fibres):
            raise ValueError(
                f"AuditoryNerve: fibres must be distinct names from {tuple(FIBRES)}, got "
                f"{self.fibres!r}"
            )
        if not isinstance(self.corrected, bool):
            raise ValueError(f"AuditoryNerve: corrected must be a bool, got {self.corrected!r}")

    @property
    def n_refractory(self) -> int:
        """Samples in the refractory ring buffer, ``round(tau_ref / dt)`` (12 at 20 kHz)."""
        return max(1, round(self.tau_ref / self.dt))

    @property
    def spec(self) -> IOSpec:
        w = self.n_channels
        outputs = tuple(
            Channel(f"rate_{f}", "spikes/s", RATE, w, f"{f.upper()} fibre firing rate per CF")
            for f in self.fibres
        )
        inputs = (Channel("v_ihc", "mV", TRACE, w, "IHC receptor potential per CF, 20 kHz"),)
        return IOSpec(dt=self.dt, inputs=inputs, outputs=outputs)

    def init(self, key: Array | None = None) -> Params:
        params = dict(
            v_rest=V_REST_IHC if self.corrected else V_REST_CODE,
            s_ca=1.5,
            tau_ca=0.2,
            m_max=14.0,
            l_max=60.0,
            a_q=700.0,
            a_l=220.0,
        )
        return params | {f: dict(FIBRES[f]) for f in self.fibres}

    def _constants(self, params: Params):
        """Per-fibre constants, each ``[n_fibres, 1]``: ``v_h``, ``pp``, ``q_ss``, ``l_ss``,
        ``k0``."""
        sp = jnp.stack([params[f]["sp"] for f in self.fibres])[:, None]
        psr = jnp.stack([params[f]["psr"] for f in self.fibres])[:, None]
        big_m, big_l = params["m_max"], params["l_max"]
        l_ss = big_l - sp * big_l / params["a_l"]
        q_ss = big_m * (l_ss / big_l - sp / params["a_q"])
        return dict(
            v_h=jnp.log((psr - sp) / sp) * params["s_ca"] + params["v_rest"],
            pp=psr / q_ss,
            q_ss=q_ss,
            l_ss=l_ss,
            k0=jnp.sqrt(sp / psr),
        )

    def _step(self, params: Params, c, y: State, v: Array | None) -> tuple[State, Array]:
        """One sample; ``v=None`` is the warm-up (k held at k0, upper clips only). Returns the
        state and the firing rate [spikes/s], ``[n_fibres, n_channels]``."""
        dt_s = self.dt * 1e-3
        big_m, big_l = params["m_max"], params["l_max"]
        if v is None:
            k, q, ls = y["k"], jnp.minimum(y["q"], big_m), jnp.minimum(y["l"], big_l)
        else:
            a_ca = jnp.exp(-self.dt / params["tau_ca"])
            k_inf = jnp.exp(0.5 * jax.nn.log_sigmoid((v - c["v_h"]) / params["s_ca"]))
            k = a_ca * y["k"] + (1 - a_ca) * k_inf
            q, ls = jnp.clip(y["q"], 0.0, big_m), jnp.clip(y["l"], 0.0, big_l)
        ej = c["pp"] * k**2 * dt_s * q
        fill_q = params["a_q"] * dt_s * jnp.maximum(ls / big_l - q / big_m, 0.0)
        fill_l = params["a_l"] / big_l * dt_s * (big_l - ls)
        q = q + fill_q - ej
        ls = ls - fill_q + fill_l
        buffer = y["buffer"]
        recovered = buffer[0]
        firing = (y["available"] - y["rel_ref"]) * ej
        decay = math.exp(-self.dt / self.tau_ref)
        rel_ref = decay * y["rel_ref"] + (1 - decay) * recovered
        available = y["available"] - firing + recovered
        buffer = jnp.concatenate([buffer[1:], firing[None]])
        new = dict(k=k, q=q, l=ls, available=available, rel_ref=rel_ref, buffer=buffer)
        return new, firing / dt_s

    def init_state(self, params: Params) -> State:
        """The code's start (pools at steady state, k = k0) after its 50 ms warm-up with k held
        at k0; computed once per fibre type and broadcast to ``n_channels``."""
        dtype = jnp.result_type(float, *jax.tree.leaves(params))
        p = as_float_tree(params, dtype)
        c = self._constants(p)
        one = jnp.ones_like(c["k0"])
        y = dict(
            k=c["k0"],
            q=c["q_ss"],
            l=c["l_ss"],
            available=one,
            rel_ref=0 * one,
            buffer=jnp.zeros((self.n_refractory, *one.shape), dtype),
        )
        n_warm = round(WARMUP_MS / self.dt)
        y = jax.lax.fori_loop(0, n_warm, lambda _, y: self._step(p, c, y, None)[0], y)
        shape = (len(self.fibres), self.n_channels)
        return {
            k: jnp.broadcast_to(a, (*a.shape[:-2], *shape))
            if k == "buffer"
            else jnp.broadcast_to(a, shape)
            for k, a in y.items()
        }

    def apply(
        self,
        params: Params,
        inputs: Float[Array, "T n_channels"],
        state: State | None = None,
    ) -> tuple[Outputs, State]:
        x, params = prepare(self, params, inputs)
        y0 = start_state(self, params, state, x.dtype)
        c = self._constants(params)

        def step(y, v):
            return self._step(params, c, y, v[None, :])

        y, rates = checkpointed_scan(step, y0, x)  # rates [T, n_fibres, n_channels]
        out = {
            f"rate_{f}": as_channel(rates[:, i], self.n_channels) for i, f in enumerate(self.fibres)
        }
        return out, y
