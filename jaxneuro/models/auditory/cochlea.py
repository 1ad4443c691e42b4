"""The nonlinear transmission-line cochlea of Verhulst, Altoè & Vasilkov (2018).

A one-dimensional, long-wave, tapered Zweig-type cochlea of 1000 basilar-membrane (BM) sections
with a moving-pole nonlinearity (Verhulst, Dau & Shera 2012, JASA 132:3842; Altoè, Pulkki &
Verhulst 2014, JASA 136:EL302; V18 = Verhulst, Altoè & Vasilkov 2018, Hear. Res. 360:55). Each
section is a delayed-stiffness oscillator (Shera 2001, JASA 110:332) whose pole moves with the
local BM speed; the sections are coupled through the cochlear fluid, a tridiagonal system solved
at every evaluation of the right-hand side. Implemented from the equations of
``shared/reference/auditory_periphery.md`` §3 — not from the authors' code, whose licence forbids
redistribution; the starting-pole profile is regenerated from its published rule
(:mod:`.poles`).

Units: the model runs in SI inside (s, m, m/s, Pa); the sample interval in the spec is
0.01 ms (100 kHz), as everywhere in jaxneuro in ms.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from ..._simulator import (
    Channel,
    IOSpec,
    Params,
    State,
    check_state,
)
from .._model import AbstractModel
from .._parameters import POSITIVE
from .._stepping import checkpointed_scan
from . import poles as _poles
from ._stage import check_positive_int, prepare

# --- geometry (§3.1) --------------------------------------------------------------------------
N_SECTIONS = 1000
"""BM sections; nodes n = 0 … 1000, node 0 being the stapes."""
FS_HZ = 100_000.0
"""Sample rate (Hz); dt = 10 µs."""
DT_S = 1.0 / FS_HZ
LENGTH_M = 0.034
"""BM length (m): 35 mm minus the 1 mm helicotrema."""
DX_M = LENGTH_M / N_SECTIONS
RHO = 1000.0
"""Fluid density (kg/m³)."""
W_BM = 1e-3
"""BM width = scala height = scala width (m)."""
M_S0 = 2.0 * RHO / (W_BM * W_BM)
"""Serial (fluid) mass constant, 2ρ/(w_sc h_sc)."""
GREENWOOD_A, GREENWOOD_ALPHA, GREENWOOD_B = 20682.0, 61.765, 140.6
"""Greenwood map f = A·10^(−α x) − B (Hz, x in m)."""
ELL_M, N_W = 7.0301e-3, 1.5
"""Zweig length constant 1/(2.303 α) (m) and cycles to the peak."""
OMEGA_CO = 2.0 * np.pi * GREENWOOD_A - GREENWOOD_B
"""Cut-off angular frequency (rad/s): 2π·20682 − 140.6, the 140.6 subtracted after ×2π as in
the reference (a quirk kept on purpose)."""
M_P0 = M_S0 * ELL_M**2 / (4.0 * N_W) ** 2
"""Shunt mass constant (2745.7)."""
A_STAPES = 3e-6
"""Stapes area (m²)."""
R_ME = 3.0451925e11
"""Middle-ear resistance loading the base (Pa·s/m³)."""

CONNEAR_SECTIONS = tuple(range(110, 911, 4))
"""The 201 CoNNear channels: every second V18 'abr' section, 12.0 kHz → 113 Hz (descending)."""
ABR_SECTIONS = tuple(range(110, 911, 2))
"""V18's 401 'abr' sections 110, 112, …, 910: 12,010 → 113.3 Hz (descending)."""


def characteristic_frequencies() -> np.ndarray:
    """CF (Hz) of nodes 0 … 1000 (Greenwood map; node 0, the stapes, gets ω_co/2π): 20,541 Hz
    at node 1's neighbour 0 down to 23.7 Hz at node 1000, descending."""
    x = np.arange(N_SECTIONS + 1) * DX_M
    f = GREENWOOD_A * 10.0 ** (-GREENWOOD_ALPHA * x) - GREENWOOD_B
    f[0] = OMEGA_CO / (2.0 * np.pi)
    return f


def section_cf(sections: Sequence[int] = CONNEAR_SECTIONS) -> np.ndarray:
    """CF (Hz) of the given sections (Greenwood map, node 0 = stapes)."""
    f = GREENWOOD_A * 10.0 ** (-GREENWOOD_ALPHA * np.asarray(sections) * DX_M) - GREENWOOD_B
    return np.asarray(f, np.float64)


def nearest_sections(cf_hz) -> tuple[int, ...]:
    """The sections (1 … 1000) whose CFs are nearest, on a log scale, to ``cf_hz``."""
    cf = np.atleast_1d(np.asarray(cf_hz, np.float64))
    if cf.ndim != 1 or not np.all(np.isfinite(cf)) or np.any(cf <= 0):
        raise ValueError(f"cf_hz must be positive, finite frequencies (Hz), got {cf_hz!r}")
    f = characteristic_frequencies()[1:]
    idx = np.abs(np.log(f)[None, :] - np.log(cf)[:, None]).argmin(axis=1)
    return tuple(int(i) + 1 for i in idx)


def _geometry() -> dict[str, np.ndarray | float]:
    """The constant tridiagonal fluid-coupling system of §3.3 (float64 NumPy)."""
    n = N_SECTIONS
    f = characteristic_frequencies()
    w = 2.0 * np.pi * f
    w[0] = OMEGA_CO
    m_s = M_S0 * OMEGA_CO / w  # M_s,n
    s = np.ones(n + 1)
    s[1:] = w[1:] * m_s[1:] * m_s[:-1] * DX_M**2 / (OMEGA_CO * M_P0)
    k = M_S0 * DX_M
    dl, dd, du = np.zeros(n + 1), np.zeros(n + 1), np.zeros(n + 1)
    dd[0], du[0] = 1.0 + k, -OMEGA_CO / w[1]
    dl[1:] = -m_s[1:] * w[1:] / w[:-1]
    dd[1:] = s[1:] + m_s[1:] + m_s[:-1]
    du[1:n] = -m_s[: n - 1] * w[1:n] / w[2:]  # row n: −M_s,n−1 ω_n/ω_n+1
    # row N has no super-diagonal: the helicotrema, p_N+1 = 0
    p = k / (M_P0 * W_BM)
    # The inverse of a tridiagonal matrix is semiseparable: (A⁻¹)_ij = D_j a_i/a_j (i ≤ j) and
    # D_j c_i/c_j (i ≥ j), a and c the homogeneous solutions grown from the base and from the
    # apex, D the diagonal of A⁻¹. q = A⁻¹b is then two cumulative sums (see _stepper).
    a = np.zeros(n + 1)
    a[0], a[1] = 1.0, -dd[0] / du[0]
    for i in range(1, n):
        a[i + 1] = -(dl[i] * a[i - 1] + dd[i] * a[i]) / du[i]
    c = np.zeros(n + 1)
    c[n], c[n - 1] = 1.0, -dd[n] / dl[n]
    for i in range(n - 1, 0, -1):
        c[i - 1] = -(dd[i] * c[i] + du[i] * c[i + 1]) / dl[i]
    wronskian = dd * a * c
    wronskian[1:] += dl[1:] * a[:-1] * c[1:]
    wronskian[:-1] += du[:-1] * a[:-1] * c[1:]
    diag_inv = a * c / wronskian
    a /= np.sqrt(a.max() * a.min())  # centre the exponential ranges (float32: 1e±9)
    c /= np.sqrt(c.max() * c.min())
    return {
        "omega": w,
        "s": s,
        "dl": dl,
        "dd": dd,
        "du": du,
        "p": p,  # P = M_s0 Δx/(M_p0 w_BM) = 24,766
        "k": k,  # M_s0 Δx
        "stapes_gain": W_BM * M_P0 / (A_STAPES * (1.0 + k)),
        "w01": OMEGA_CO / w[1],
        "inv_a": a,
        "inv_da": diag_inv / a,
        "inv_c": c,
        "inv_dc": diag_inv / c,
    }


def buffer_lengths() -> np.ndarray:
    """Ring-buffer length per node (samples): the longest delay any pole in [0, α_E] can ask of
    that node, ``μ_max/(CF·Δt)`` with μ_max = 1.787 periods, plus the 3 samples of cubic
    interpolation. 7,550 at the apex, 514,603 in all (2.1 MB per batch element in float32)."""
    mu = _poles.max_delay_cycles(_poles.ALPHA_E)
    return np.ceil(mu * FS_HZ / characteristic_frequencies()).astype(np.int64) + 3


# Cubic Lagrange weights of the stimulus within a step, on the last four input samples.
PREFIX_BLOCK = 32
"""Block length of the cumulative sums of the fluid solve."""


def _cumsum(n: int, dtype):
    """The inclusive cumulative sum of a length-``n`` vector as two small matrix products: sums
    within blocks of :data:`PREFIX_BLOCK`, then the sums of the blocks before. Same values as
    ``jnp.cumsum`` to rounding, in a quarter of its time on XLA:CPU, where the two cumulative
    sums of every fluid solve took 40 % of the cochlea's step."""
    nb = -(-n // PREFIX_BLOCK)
    within = jnp.asarray(np.triu(np.ones((PREFIX_BLOCK, PREFIX_BLOCK))), dtype)
    before = jnp.asarray(np.tril(np.ones((nb, nb)), -1), dtype)

    def cumsum(x):
        blocks = jnp.pad(x, (0, nb * PREFIX_BLOCK - n)).reshape(nb, PREFIX_BLOCK) @ within
        blocks = blocks + (before @ blocks[:, -1])[:, None]
        return blocks.reshape(-1)[:n]

    return cumsum


def _lagrange_weights(c: float) -> np.ndarray:
    """Weights of samples at times −2, −1, 0, 1 (in steps, relative to the step's start) for the
    value at time ``c`` ∈ [0, 1]: cubic Lagrange interpolation over the step."""
    nodes = np.array([-2.0, -1.0, 0.0, 1.0])
    w = np.ones(4)
    for i in range(4):
        for j in range(4):
            if i != j:
                w[i] *= (c - nodes[j]) / (nodes[i] - nodes[j])
    return w


MIN_DELAY = 8.0
"""Delays are at least 1/(a_max ω_co Δt) = 8.44 samples (a ≤ 0.0913); clipped at 8."""
BLOCK = 6
"""Samples per block: every delayed read of a block (at most BLOCK + 2 samples after its
start, minus MIN_DELAY) lands on samples stored before the block."""

_RK4 = ((0.0, 0.5, 0.5, 1.0), (1.0 / 6, 1.0 / 3, 1.0 / 3, 1.0 / 6))


class TransmissionLineCochlea(AbstractModel):
    """V18's nonlinear transmission-line cochlea: middle-ear pressure → BM velocity.

    **Model** (§3). Nodes n = 0 … 1000 along a 34 mm BM (Greenwood map
    f_n = 20682·10^(−61.765 x_n) − 140.6 Hz, 20.5 kHz → 23.7 Hz), node 0 the stapes. Section n
    obeys ``v̇_n = q_n − g_n``, ``g_n = d_n ω_n v_n + ω_n² (y_n + ρ_n y_n(t − τ_n))``, q the fluid
    pressure over the shunt mass; q solves a tridiagonal system (fluid coupling, tapered masses,
    stapes boundary loaded by R_me through the stapes area, helicotrema p = 0) at every
    evaluation. The pole α_n moves with |v_n| (:func:`.poles.moving_pole`) and sets (d, ρ, τ)
    (:func:`.poles.pole_parameters`), recomputed at every evaluation (the reference only
    recomputes on a 1 % change).

    **Scheme.** A ``lax.scan`` over the 10 µs samples; inside each, ``n_substeps`` classic
    4-stage Runge–Kutta steps (explicit). The linearised system's fastest modes are at
    |λ| ≈ 1.36×10⁵ s⁻¹ (|λ|·10 µs = 1.4, inside RK4's stability region; the stapes mode,
    −R_me/(1 + M_s0Δx) alone, is softened to −1.2×10⁵ s⁻¹ by the fluid coupling), so one
    step per sample is stable; ``n_substeps`` trades time for accuracy at high CFs.
    The delayed displacement ``y_n(t − τ_n)`` is read from a per-node ring buffer of past
    samples (lengths :func:`buffer_lengths`, 514,603 values in all) by 4-point cubic
    interpolation at the stage time (``interpolation``: ``"bourke"``, P. Bourke's simple cubic
    as in the reference, the default, which reproduces V18's BM growth within 0.07 dB; or
    ``"lagrange"``, exact for cubics, 0.2–0.3 dB above it at low levels at 4 kHz). Samples
    are advanced in blocks of :data:`BLOCK` = 6, within which every delayed read falls before
    the block (delays are ≥ 8.4 samples), so the buffers are written once per block. The fluid
    system is solved through its semiseparable inverse (two cumulative sums), accurate to
    rounding in float32, where an LU solve loses four digits and the float32 model diverges.
    The stimulus within a step is cubic-Lagrange interpolated from the last four input
    samples, taking input sample k as the pressure at the end of step k — causal, where the
    reference centres its interpolation on samples k − 1 … k + 2 (a 10 µs shift of the output
    relative to the reference).

    **Input** ``pressure_me`` [Pa] (the :class:`MiddleEar`'s output) every 0.01 ms. **Outputs**
    ``v_bm`` [m/s] at ``sections`` (default the 201 CoNNear channels, descending CF; see
    :attr:`cf`), and with ``displacement=True`` also ``y_bm`` [m].

    **Parameters** (``init``): ``alpha_s`` [1001] the starting poles (base → apex; normal
    hearing from :func:`.poles.normal_hearing_poles`, or ``starting_poles``, e.g. raised where
    outer hair cells are lost), ``v_knee1``, ``v_knee2`` [1001] the compression knees (m/s),
    ``r_me`` the middle-ear resistance (Pa·s/m³). With ``irregularities=True``, ``init(key)`` perturbs the
    poles by 2.5 % and the knees by ±1 dB, uniformly at random per node (``jax.random``; the
    reference's NumPy stream is not reproduced).

    **State** ``{"v": [1001], "y": [1001], "buffer": [514603], "pos": int32 [1001],
    "x_prev": [3]}``: velocities and displacements (node 0 = stapes), the ring buffers of past
    displacement (one per node, flattened), each buffer's write position, and the last three
    input samples; 2.1 MB per batch element in float32, 4.1 MB in float64 (a rectangular
    buffer for the apex's 7,550 samples would take 30 MB). Gradients scan in √T chunks
    (checkpointed), keeping one state per chunk. A run split in two equals the whole run.

    Attributes:
        sections: output section indices (1 … 1000), static.
        displacement: also return ``y_bm``.
        n_substeps: RK4 steps per 10 µs sample.
        interpolation: ``"bourke"`` (default) or ``"lagrange"`` for the delay line.
        irregularities: perturb the poles in ``init(key)``.
        starting_poles: 1001 starting poles (overrides the normal-hearing profile).
    """

    sections: tuple[int, ...] = eqx.field(static=True, default=CONNEAR_SECTIONS)
    displacement: bool = eqx.field(static=True, default=False)
    n_substeps: int = eqx.field(static=True, default=1)
    interpolation: str = eqx.field(static=True, default="bourke")
    irregularities: bool = eqx.field(static=True, default=False)
    starting_poles: tuple[float, ...] | None = eqx.field(static=True, default=None)

    def __init__(
        self,
        sections: Sequence[int] = CONNEAR_SECTIONS,
        displacement: bool = False,
        n_substeps: int = 1,
        interpolation: str = "bourke",
        irregularities: bool = False,
        starting_poles=None,
    ):
        try:
            secs = tuple(int(s) for s in sections)
            ok = all(float(s) == int(s) for s in sections)
        except (TypeError, ValueError):
            secs, ok = (), False
        if not ok or not secs or not all(1 <= s <= N_SECTIONS for s in secs):
            raise ValueError(
                f"TransmissionLineCochlea: sections must be a non-empty sequence of ints in "
                f"1 … {N_SECTIONS} (node 0 is the stapes), got {sections!r}"
            )
        self.sections = secs
        self.displacement = bool(displacement)
        check_positive_int("TransmissionLineCochlea", "n_substeps", n_substeps)
        self.n_substeps = n_substeps
        if interpolation not in ("lagrange", "bourke"):
            raise ValueError(
                "TransmissionLineCochlea: interpolation must be 'lagrange' or 'bourke', got "
                f"{interpolation!r}"
            )
        self.interpolation = interpolation
        self.irregularities = bool(irregularities)
        if starting_poles is not None:
            poles = np.asarray(starting_poles, np.float64)
            if poles.shape != (N_SECTIONS + 1,):
                raise ValueError(
                    f"TransmissionLineCochlea: starting_poles must hold {N_SECTIONS + 1} values "
                    f"(base → apex, node 0 = stapes), got shape {poles.shape}"
                )
            if (
                not np.all(np.isfinite(poles))
                or np.any(poles <= 0)
                or np.any(poles > _poles.ALPHA_E)
            ):
                raise ValueError(
                    "TransmissionLineCochlea: starting_poles must be finite and in "
                    f"(0, {_poles.ALPHA_E}]"
                )
            starting_poles = tuple(float(a) for a in poles)
        self.starting_poles = starting_poles

    # --- the protocol ---------------------------------------------------------------------------
    @property
    def spec(self) -> IOSpec:
        width = len(self.sections)
        outputs = [Channel("v_bm", "m/s", width=width, description="BM velocity per CF")]
        if self.displacement:
            outputs.append(Channel("y_bm", "m", width=width, description="BM displacement"))
        return IOSpec(
            dt=1e3 * DT_S,
            inputs=(Channel("pressure_me", "Pa", description="middle-ear output pressure"),),
            outputs=tuple(outputs),
        )

    @property
    def cf(self) -> np.ndarray:
        """CF (Hz) of each output channel, in channel order."""
        return section_cf(self.sections)

    def _alpha_s(self) -> np.ndarray:
        if self.starting_poles is not None:
            return np.asarray(self.starting_poles, np.float64)
        return _poles.normal_hearing_poles(characteristic_frequencies())

    parameter_constraints: ClassVar[dict[str, str]] = {
        "alpha_s": POSITIVE,
        "v_knee1": POSITIVE,
        "v_knee2": POSITIVE,
        "r_me": POSITIVE,
    }

    def init(self, key: Array | None = None) -> Params:
        alpha_s = jnp.asarray(self._alpha_s())
        k1 = jnp.full(N_SECTIONS + 1, _poles.V_KNEE1)
        k2 = jnp.full(N_SECTIONS + 1, _poles.V_KNEE2)
        if self.irregularities:
            key = jax.random.PRNGKey(0) if key is None else key
            pole_factor, knee_factor = _poles.irregularities(key, N_SECTIONS + 1)
            alpha_s = jnp.minimum(alpha_s * pole_factor, _poles.ALPHA_E)
            k1, k2 = k1 * knee_factor, k2 * knee_factor
        return {"alpha_s": alpha_s, "v_knee1": k1, "v_knee2": k2, "r_me": jnp.asarray(R_ME)}

    def init_state(self, params: Params) -> State:
        dtype = jnp.result_type(*jax.tree.leaves(params), float)
        n = N_SECTIONS + 1
        return {
            "v": jnp.zeros(n, dtype),
            "y": jnp.zeros(n, dtype),
            "buffer": jnp.zeros(int(buffer_lengths().sum()), dtype),
            "pos": jnp.zeros(n, jnp.int32),
            "x_prev": jnp.zeros(3, dtype),
        }

    def apply(
        self, params: Params, inputs: Float[Array, "T 1"], state: State | None = None
    ) -> tuple[dict[str, Array], State]:
        x, params = prepare(self, params, inputs)
        dtype = x.dtype
        s0 = self.init_state(params)
        if state is not None:
            check_state(state, s0)
            s0 = {k: jnp.asarray(v, s0[k].dtype) for k, v in state.items()}
        block = self._stepper(params, dtype)
        x = x[:, 0]
        n_blocks, tail = divmod(x.shape[0], BLOCK)
        carry, outs = s0, []
        if n_blocks:
            carry, (v_out, y_out) = checkpointed_scan(
                block, carry, x[: n_blocks * BLOCK].reshape(n_blocks, BLOCK)
            )
            outs.append(jax.tree.map(lambda a: a.reshape(-1, *a.shape[2:]), (v_out, y_out)))
        if tail:
            carry, last = block(carry, x[n_blocks * BLOCK :])
            outs.append(last)
        v_out, y_out = jax.tree.map(lambda *a: jnp.concatenate(a), *outs)
        out = {"v_bm": v_out}
        if self.displacement:
            out["y_bm"] = y_out
        if len(self.sections) == 1:
            out = {k: a[:, 0] for k, a in out.items()}
        return out, carry

    # --- the numerics ---------------------------------------------------------------------------
    def _stepper(self, params: Params, dtype):
        """The per-block step ``(state, x[block]) → (state, (v_out, y_out))``."""
        geo = _geometry()
        c = lambda a: jnp.asarray(a, dtype)  # noqa: E731
        omega, omega2 = c(geo["omega"]), c(geo["omega"] ** 2)
        s_row = c(geo["s"])
        inv_a, inv_da, inv_c, inv_dc = (c(geo[k]) for k in ("inv_a", "inv_da", "inv_c", "inv_dc"))
        p_gain, k_inv = c(geo["p"]), c(1.0 / geo["k"])
        stapes_gain, w01 = c(geo["stapes_gain"]), c(geo["w01"])
        inv_w_dt = c(1.0 / (geo["omega"] * DT_S))
        lengths = buffer_lengths()
        offsets = jnp.asarray(np.concatenate([[0], np.cumsum(lengths)[:-1]]), jnp.int32)
        lengths = jnp.asarray(lengths, jnp.int32)
        max_delay = c(lengths - 3)
        taps = jnp.arange(4, dtype=jnp.int32)[:, None]
        comp = _poles.compression_constants(
            params["alpha_s"], params["v_knee1"], params["v_knee2"], _poles.ALPHA_E
        )
        stapes_damping = -p_gain * A_STAPES * params["r_me"]
        secs = jnp.asarray(self.sections)
        h = 1.0 / self.n_substeps
        hs = h * DT_S  # the RK step (s)
        bourke = self.interpolation == "bourke"
        cumsum = _cumsum(omega.shape[0], dtype)

        def delayed(buffer, pos, delay, frac):
            # y at (step start + frac) − delay samples, from the ring buffers
            s = jnp.clip(delay, MIN_DELAY, max_delay) - frac
            i = jnp.floor(s)
            mu = 1.0 - (s - i)
            rel = pos[None, :] - i.astype(jnp.int32)[None, :] - 2 + taps
            # rel ∈ [1 − L, L − 2] (0 ≤ pos < L, 2 ≤ i ≤ L − 3), so one conditional add wraps it:
            # a vector integer modulo has no SIMD form and cost most of the step
            rel = jnp.where(rel < 0, rel + lengths[None, :], rel)
            y0, y1, y2, y3 = buffer[offsets[None, :] + rel]
            if bourke:
                a0 = y3 - y2 - y0 + y1
                return ((a0 * mu + (y0 - y1 - a0)) * mu + (y2 - y0)) * mu + y1
            # cubic Lagrange on nodes −1, 0, 1, 2
            m1, m2, m3 = mu + 1.0, mu - 1.0, mu - 2.0
            return (
                -mu * m2 * m3 / 6.0 * y0
                + m1 * m2 * m3 / 2.0 * y1
                - m1 * mu * m3 / 2.0 * y2
                + m1 * mu * m2 / 6.0 * y3
            )

        def rhs(v, y, force, frac, buffer, pos):
            alpha = _poles.moving_pole(jnp.abs(v), comp)
            a, d, _, rho = _poles.pole_parameters(alpha)
            y_del = delayed(buffer, pos, inv_w_dt / a, frac)
            g = d * omega * v + omega2 * (y + rho * y_del)
            g = g.at[0].set(stapes_damping * v[0])
            b = s_row * g
            b = b.at[0].add(p_gain * force)
            # q = A⁻¹ b by the semiseparable inverse: accurate to float32 rounding, where a
            # float32 LU solve (gtsv) loses 4 digits to the near-singular fluid Laplacian and
            # makes the float32 model unstable
            upper = cumsum((inv_da * b)[::-1])[::-1]
            lower = cumsum(inv_dc * b)
            q = inv_a * upper + inv_c * jnp.concatenate([jnp.zeros(1, dtype), lower[:-1]])
            vdot = q - g
            vdot = vdot.at[0].set(stapes_gain * (b[0] * k_inv - w01 * q[1]))
            return vdot, v

        stage_w = [
            [c(_lagrange_weights((s + ci) * h)) for ci in _RK4[0]] for s in range(self.n_substeps)
        ]

        def step(buffer, pos, carry, ix):
            # one sample; reads the ring buffers as they were at the block's start (pos), the
            # sample being the block's i-th
            i, xk = ix
            v, y = carry["v"], carry["y"]
            back = i.astype(dtype)  # samples since the buffers' newest entry
            window = jnp.concatenate([carry["x_prev"], xk[None]])
            for s in range(self.n_substeps):
                forces = [jnp.dot(w, window) for w in stage_w[s]]
                fr = [back + (s + ci) * h for ci in _RK4[0]]
                k1v, k1y = rhs(v, y, forces[0], fr[0], buffer, pos)
                k2v, k2y = rhs(
                    v + 0.5 * hs * k1v, y + 0.5 * hs * k1y, forces[1], fr[1], buffer, pos
                )
                k3v, k3y = rhs(
                    v + 0.5 * hs * k2v, y + 0.5 * hs * k2y, forces[2], fr[2], buffer, pos
                )
                k4v, k4y = rhs(v + hs * k3v, y + hs * k3y, forces[3], fr[3], buffer, pos)
                v = v + hs / 6.0 * (k1v + 2.0 * k2v + 2.0 * k3v + k4v)
                y = y + hs / 6.0 * (k1y + 2.0 * k2y + 2.0 * k3y + k4y)
            new = {"v": v, "y": y, "x_prev": window[1:]}
            return new, (y, v[secs], y[secs] if self.displacement else None)

        def block(state, xs):
            # BLOCK samples (or fewer) whose delayed reads all precede the block (every delay is
            # ≥ MIN_DELAY samples), so the ring buffers are read-only inside the block and
            # written once after it: XLA then copies the buffers once per block, not per step
            buffer, pos = state["buffer"], state["pos"]
            carry = {k: state[k] for k in ("v", "y", "x_prev")}
            idx = jnp.arange(xs.shape[0], dtype=jnp.int32)
            carry, (ys, v_out, y_out) = jax.lax.scan(
                lambda c, ix: step(buffer, pos, c, ix), carry, (idx, xs)
            )
            slots = jnp.mod(pos[None, :] + 1 + idx[:, None], lengths[None, :])
            buffer = buffer.at[offsets[None, :] + slots].set(ys)
            pos = jnp.mod(pos + xs.shape[0], lengths)
            return {**carry, "buffer": buffer, "pos": pos}, (v_out, y_out)

        return block
