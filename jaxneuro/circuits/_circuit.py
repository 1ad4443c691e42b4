"""The normalised conductance-based E/I integrate-and-fire circuit (``cortical_circuit.md`` §2).

Chariker, Shapley & Young 2016 (*J. Neurosci.* 36:12368) write their V1 model in normalised
units; Zhang & Young 2020 (*Sci. Rep.* 10:20139) fit a DNN to the parameter → statistics map of a
few-hundred-cell local circuit in the same convention. This module is that circuit as one compact
clock-driven simulator (``lax.scan`` over 0.1 ms steps, dense 400 × 400 recurrence, ``vmap`` over
parameter sets).

**Units.** Voltages are dimensionless: 1 unit = 15 mV above a −70 mV rest, so rest/reset 0
(−70 mV), threshold 1 (−55 mV), ``V_E = 14/3`` (0 mV), ``V_I = −2/3`` (−80 mV)
(:func:`to_mV`). Time is in ms, rates of external kicks in kHz (kicks per ms), leak and synaptic
conductances in ms⁻¹. A coupling ``S`` is the *integral* of the conductance per spike
(dimensionless): each kernel ``G(t) = exp(−t/τ)/τ`` has unit integral, so a spike adds ``S/τ`` to
the conductance, and for small ``S`` moves ``v`` by about ``S·(V_syn − v)`` (``S_EE = 0.028`` at
rest ≈ 0.13 units ≈ 2 mV).

**Index convention.** ``S_QQ'`` is the strength **from Q' to Q**: ``S_EI`` is I → E and
``S_IE`` is E → I (as in Chariker et al. 2016; papers differ).

Why not :class:`jaxneuro.networks.Network`: its external inputs are signals handed in from
outside, whereas this circuit draws its Poisson kicks inside the scan from a per-step
``fold_in(key, step)``, streams its statistics (ISI moments, voltage moments for χ) without
storing spikes, and draws per-cell threshold jitter with the frozen graph — a dataset of
thousands of circuits needs all of that inside one jitted, vmapped scan.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, Int, PRNGKeyArray

V_E = 14.0 / 3.0
"""Excitatory reversal potential, normalised (0 mV)."""
V_I = -2.0 / 3.0
"""Inhibitory reversal potential, normalised (−80 mV)."""

PARAMETER_NAMES = ("S_EE", "S_IE", "S_EI", "S_II", "eta_E_ext", "eta_I_ext")
"""The varied inputs, in this order (couplings dimensionless, drives in kHz; S_QQ' is Q' → Q)."""

STATISTIC_NAMES = ("rate_E", "rate_I", "cv_E", "cv_I", "chi")
"""The response statistics (Hz, Hz, 1, 1, 1)."""


def to_mV(v: Float[Array, "..."]) -> Float[Array, "..."]:
    """Normalised voltage → mV (1 unit = 15 mV above −70 mV)."""
    return -70.0 + 15.0 * v


def from_mV(v_mV: Float[Array, "..."]) -> Float[Array, "..."]:
    """mV → normalised voltage."""
    return (v_mV + 70.0) / 15.0


class Graph(NamedTuple):
    """One frozen connectivity realisation (and per-cell thresholds), drawn from ``seed``.

    ``C[post, pre]`` is 0/1 over all ``N_E + N_I`` cells (E first), no autapses;
    ``delay_steps[post, pre]`` the E→E delay in steps (0 where absent or delays are off);
    ``threshold[N]`` the per-cell threshold (1 without jitter).
    """

    C: Float[Array, "N N"]
    delay_steps: Int[Array, "N_E N_E"]
    threshold: Float[Array, " N"]
    seed: int


class Circuit(eqx.Module):
    """The Zhang & Young / Chariker–Shapley–Young E/I circuit in normalised units.

    Neuron ``i`` of type ``Q ∈ {E, I}``::

        dv/dt = −g_L,Q v − g_E (v − V_E) − g_I (v − V_I);  v ≥ θ_i: spike, v ← 0, hold τ_ref,Q
        g_E = S_Q,ext Σ_kicks G_E + S_QE Σ_{E spikes} G_E(· − d_ij);  g_I = S_QI Σ_{I spikes} G_I

    integrated with exponential Euler on the full conductance (exact for frozen conductances, so
    stable at any drive), conductances decaying exactly and kicked by ``S/τ``. External kicks are
    independent Poisson counts per cell and step, ``Poisson(η dt)``, drawn by inverse CDF from one
    uniform per cell (truncated at ``max_kicks`` per step: for ``η dt ≤ 0.4`` the dropped mass is
    below 1e-9) with ``fold_in(key, step)``; the same key with another ``η`` gives common random
    numbers. Spikes are aligned to the grid; recurrent spikes of step ``t`` arrive at step
    ``t + 1 + delay``.

    Args (all static; defaults from ``cortical_circuit.md`` §2.3):
        n_E, n_I: cell counts (300, 100).
        p_EE, p_IE, p_EI, p_II: connection probabilities, from second index to first
            (``p_IE`` is E → I): 0.15, 0.5, 0.5, 0.4.
        g_L_E, g_L_I: leak conductances (ms⁻¹): 0.05, 0.05/0.75.
        tau_ref_E, tau_ref_I: refractory periods (ms): 2, 1.
        tau_E, tau_I: AMPA / GABA_A decay times (ms): 2, 3.
        S_ext: external kick strength (0.02).
        dt: step (ms), 0.1.
        max_delay: E→E delays ``U(0, max_delay)`` ms per synapse (0: off, the default; CSY 3).
        jitter: threshold jitter (CSY: E ``U[0.95, 1.05]``, I ``U[0.9, 1.1]``); off by default.
        graph_seed: the connectivity (and jitter) seed; one frozen graph per circuit.
        max_kicks: truncation of the per-step Poisson count.
    """

    n_E: int = eqx.field(static=True, default=300)
    n_I: int = eqx.field(static=True, default=100)
    p_EE: float = eqx.field(static=True, default=0.15)
    p_IE: float = eqx.field(static=True, default=0.5)
    p_EI: float = eqx.field(static=True, default=0.5)
    p_II: float = eqx.field(static=True, default=0.4)
    g_L_E: float = eqx.field(static=True, default=0.05)
    g_L_I: float = eqx.field(static=True, default=0.05 / 0.75)
    tau_ref_E: float = eqx.field(static=True, default=2.0)
    tau_ref_I: float = eqx.field(static=True, default=1.0)
    tau_E: float = eqx.field(static=True, default=2.0)
    tau_I: float = eqx.field(static=True, default=3.0)
    S_ext: float = eqx.field(static=True, default=0.02)
    dt: float = eqx.field(static=True, default=0.1)
    max_delay: float = eqx.field(static=True, default=0.0)
    jitter: bool = eqx.field(static=True, default=False)
    graph_seed: int = eqx.field(static=True, default=0)
    max_kicks: int = eqx.field(static=True, default=8)

    @property
    def n(self) -> int:
        return self.n_E + self.n_I

    @property
    def n_delay_slots(self) -> int:
        return int(math.floor(self.max_delay / self.dt + 1e-9)) + 1 if self.max_delay > 0 else 1

    def config(self) -> dict:
        """The static configuration as a JSON-able dict (recorded in datasets)."""
        return {f: getattr(self, f) for f in self.__dataclass_fields__}

    # ------------------------------------------------------------------------------ the graph
    def graph(self) -> Graph:
        """The frozen connectivity (and thresholds) from ``graph_seed`` (numpy, deterministic)."""
        rng = np.random.default_rng(self.graph_seed)
        nE, n = self.n_E, self.n
        P = np.empty((n, n))
        P[:nE, :nE], P[nE:, :nE] = self.p_EE, self.p_IE
        P[:nE, nE:], P[nE:, nE:] = self.p_EI, self.p_II
        C = (rng.random((n, n)) < P).astype(np.float64)
        np.fill_diagonal(C, 0.0)
        if self.max_delay > 0:
            d = rng.uniform(0.0, self.max_delay, (nE, nE))
            delay = np.floor(d / self.dt).astype(np.int32) * (C[:nE, :nE] > 0)
        else:
            delay = np.zeros((nE, nE), np.int32)
        if self.jitter:
            th = np.concatenate([rng.uniform(0.95, 1.05, nE), rng.uniform(0.9, 1.1, self.n_I)])
        else:
            th = np.ones(n)
        return Graph(jnp.asarray(C), jnp.asarray(delay), jnp.asarray(th), self.graph_seed)

    # ------------------------------------------------------------------------------ simulation
    def simulate(
        self,
        params: Float[Array, " 6"],
        key: PRNGKeyArray,
        *,
        t_transient: float = 1000.0,
        t_measure: float = 2000.0,
        graph: Graph | None = None,
        record: bool = False,
    ) -> dict[str, Array]:
        """Run one circuit; statistics over ``[t_transient, t_transient + t_measure]`` (ms).

        Args:
            params: ``(S_EE, S_IE, S_EI, S_II, η_E,ext, η_I,ext)`` (:data:`PARAMETER_NAMES`; S
                dimensionless with ``S_QQ'`` from Q' to Q, η in kHz). Batch with ``jax.vmap``.
            key: the noise key (initial voltages ``U[0, 1)`` and all kicks).
            t_transient, t_measure: durations (ms), static.
            graph: the frozen graph (default :meth:`graph`).
            record: also return the spike raster ``spikes[steps, N]`` of the measured window.

        Returns: ``rate_E``, ``rate_I`` (Hz), ``cv_E``, ``cv_I`` (mean ISI CV over cells with at
        least 3 spikes, NaN where none), ``chi`` (Golomb's voltage synchrony index over all
        cells), ``count_E``, ``count_I`` (spikes), and ``spikes`` when ``record``.
        """
        g = self.graph() if graph is None else graph
        params = jnp.asarray(params)
        dtype = params.dtype
        nE, n, dt = self.n_E, self.n, self.dt
        n0 = int(round(t_transient / dt))
        n1 = int(round(t_measure / dt))
        S_EE, S_IE, S_EI, S_II, eta_E, eta_I = (params[i] for i in range(6))
        isE = jnp.arange(n) < nE
        C = g.C.astype(dtype)
        thr = g.threshold.astype(dtype)
        gL = jnp.where(isE, self.g_L_E, self.g_L_I).astype(dtype)
        tref = jnp.where(isE, self.tau_ref_E, self.tau_ref_I).astype(dtype)
        S_fromE = jnp.where(isE, S_EE, S_IE) / self.tau_E  # kick per E spike, per post cell
        S_fromI = jnp.where(isE, S_EI, S_II) / self.tau_I
        lam = jnp.where(isE, eta_E, eta_I) * dt  # mean kicks per step
        # Poisson CDF at 0..max_kicks-1, per cell: counts = #{k : u > F(k)}
        ks = jnp.arange(self.max_kicks, dtype=dtype)
        logpmf = (
            jax.scipy.special.xlogy(ks[:, None], lam[None])
            - lam[None]
            - jax.lax.lgamma(ks + 1.0)[:, None]
        )
        cdf = jnp.cumsum(jnp.exp(logpmf), axis=0)  # [K, N]
        decay_E = math.exp(-dt / self.tau_E)
        decay_I = math.exp(-dt / self.tau_I)
        C_fromE = C[:, :nE]
        C_fromI = C[:, nE:]
        D = self.n_delay_slots
        if D > 1:  # per-synapse E→E delays: C_EE split by delay slot
            slots = jnp.arange(D)[:, None, None] == g.delay_steps[None]
            C_EE_d = (slots * C[None, :nE, :nE]).astype(dtype)  # [D, N_E, N_E]
        k_init, k_noise = jax.random.split(key)
        v0 = jax.random.uniform(k_init, (n,)).astype(dtype)  # same draws in any precision
        zeros = jnp.zeros((n,), dtype)
        hist0 = jnp.zeros((D, nE), dtype)

        def step(carry, t):
            v, gE, gI, ref, hist, sI = carry
            sE = hist[0]
            u = jax.random.uniform(jax.random.fold_in(k_noise, t), (n,)).astype(dtype)
            kicks = (u[None] > cdf).sum(0).astype(dtype)
            if D > 1:
                recE_EE = jnp.einsum("dij,dj->i", C_EE_d, hist)
                recE = jnp.concatenate([recE_EE, C_fromE[nE:] @ sE])
            else:
                recE = C_fromE @ sE
            recI = C_fromI @ sI
            gE = gE * decay_E + self.S_ext / self.tau_E * kicks + S_fromE * recE
            gI = gI * decay_I + S_fromI * recI
            gtot = gL + gE + gI
            vinf = (gE * V_E + gI * V_I) / gtot
            v_new = vinf + (v - vinf) * jnp.exp(-gtot * dt)
            refr = ref > 0.5 * dt
            v_new = jnp.where(refr, 0.0, v_new)
            spike = (v_new >= thr) & ~refr
            v_new = jnp.where(spike, 0.0, v_new)
            ref = jnp.where(spike, tref, jnp.maximum(ref - dt, 0.0))
            s = spike.astype(dtype)
            return (v_new, gE, gI, ref, _push(hist, s[:nE], D), s[nE:]), (v_new, s)

        carry = (v0, zeros, zeros, zeros, hist0, jnp.zeros((n - nE,), dtype))
        carry, _ = jax.lax.scan(
            lambda c, t: (step(c, t)[0], None), carry, jnp.arange(n0, dtype=jnp.int32)
        )

        # measured window: stream counts, ISI moments and voltage moments
        def measure(c, t):
            carry, acc = c
            carry, (v, s) = step(carry, t)
            acc = accumulate(acc, v, s, (t - n0).astype(dtype) * dt)
            return (carry, acc), (s if record else None)

        (_, acc), raster = jax.lax.scan(
            measure, (carry, init_accumulator(n, dtype)), jnp.arange(n0, n0 + n1, dtype=jnp.int32)
        )
        out = finalise(acc, nE, n1, dt)
        if record:
            out["spikes"] = raster
        return out


# ---------------------------------------------------------------------------------- statistics


def init_accumulator(n: int, dtype=jnp.float32) -> dict[str, Array]:
    """Empty running sums for :func:`accumulate` (``n`` cells)."""
    z = jnp.zeros((n,), dtype)
    return dict(
        count=z, last=jnp.full((n,), -1.0, dtype), n_isi=z, s1=z, s2=z, vs1=z, vs2=z,
        m1=jnp.zeros((), dtype), m2=jnp.zeros((), dtype), steps=jnp.zeros((), dtype),
    )  # fmt: skip


def accumulate(acc: dict, v: Float[Array, " N"], s: Float[Array, " N"], t) -> dict:
    """Add one step (voltages ``v``, 0/1 spikes ``s`` at time ``t`` ms) to the running sums."""
    spike = s > 0
    had = acc["last"] >= 0
    isi = t - acc["last"]
    add = spike & had
    vbar = v.mean()
    return dict(
        count=acc["count"] + s,
        last=jnp.where(spike, t, acc["last"]),
        n_isi=acc["n_isi"] + add,
        s1=acc["s1"] + jnp.where(add, isi, 0.0),
        s2=acc["s2"] + jnp.where(add, isi * isi, 0.0),
        vs1=acc["vs1"] + v,
        vs2=acc["vs2"] + v * v,
        m1=acc["m1"] + vbar,
        m2=acc["m2"] + vbar * vbar,
        steps=acc["steps"] + 1,
    )


def finalise(acc: dict, n_E: int, n_steps: int, dt: float) -> dict[str, Array]:
    """Statistics from the running sums over ``n_steps`` of ``dt`` ms.

    ``rate_E``, ``rate_I`` (Hz, mean over cells); ``cv_E``, ``cv_I``: the ISI coefficient of
    variation, averaged over cells with at least 3 spikes (NaN where none has); ``chi``: Golomb's
    synchrony index ``sqrt(Var_t(mean_i v_i) / mean_i Var_t(v_i))`` over all cells (1 for
    identical voltages, about ``1/sqrt(N)`` for independent ones; Golomb & Hansel 2000);
    ``count_E``, ``count_I``: spikes.
    """
    n = acc["count"].shape[0]
    T_s = n_steps * dt / 1000.0
    out = {
        "rate_E": acc["count"][:n_E].sum() / (n_E * T_s),
        "rate_I": acc["count"][n_E:].sum() / ((n - n_E) * T_s),
    }
    k = jnp.maximum(acc["n_isi"], 1.0)
    mean_isi = acc["s1"] / k
    var_isi = acc["s2"] / k - mean_isi**2
    cv = jnp.sqrt(jnp.maximum(var_isi, 0.0)) / jnp.where(mean_isi > 0, mean_isi, 1.0)
    ok = acc["n_isi"] >= 2
    for name, sl in (("cv_E", slice(0, n_E)), ("cv_I", slice(n_E, n))):
        m = ok[sl]
        out[name] = jnp.where(m.any(), (cv[sl] * m).sum() / jnp.maximum(m.sum(), 1), jnp.nan)
    var_pop = acc["m2"] / n_steps - (acc["m1"] / n_steps) ** 2
    var_cells = (acc["vs2"] / n_steps - (acc["vs1"] / n_steps) ** 2).mean()
    out["chi"] = jnp.sqrt(jnp.maximum(var_pop, 0.0) / jnp.maximum(var_cells, 1e-12))
    out["count_E"] = acc["count"][:n_E].sum()
    out["count_I"] = acc["count"][n_E:].sum()
    return out


def trace_statistics(
    spikes: Float[Array, "T N"], v: Float[Array, "T N"], dt: float, n_E: int
) -> dict[str, Array]:
    """:func:`finalise` of recorded traces (0/1 ``spikes``, voltages ``v``; ``dt`` in ms): the
    statistics the circuit streams, for checking on synthetic spike trains."""
    spikes, v = jnp.asarray(spikes), jnp.asarray(v)
    T, n = spikes.shape

    def body(acc, tsv):
        t, s, vv = tsv
        return accumulate(acc, vv, s, t), None

    ts = jnp.arange(T, dtype=spikes.dtype) * dt
    acc, _ = jax.lax.scan(body, init_accumulator(n, spikes.dtype), (ts, spikes, v))
    return finalise(acc, n_E, T, dt)


def _push(hist: Array, sE: Array, D: int) -> Array:
    """E-spike history: slot ``k`` holds the E spikes of ``k + 1`` steps ago (read by delay ``k``)."""
    if D == 1:
        return sE[None]
    return jnp.concatenate([sE[None], hist[:-1]], 0)
