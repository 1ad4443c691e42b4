"""Outer-hair-cell hearing loss for the V18 transmission-line cochlea: audiogram → starting poles.

Verhulst, Altoè & Vasilkov 2018 (Hear. Res. 360:55, "V18"); ``shared/reference/
auditory_periphery.md`` §9 (hearing loss) and §3.2–3.5 (the model). Outer-hair-cell loss is
modelled by raising the starting pole α_S,n of a section: the section becomes less active (d
rises, ρ falls) and its BM filter gain drops. The audiogram (dB HL per frequency) is converted
into poles through a table of the **linear** model's peak BM gain against the pole, computed here
from the model's own equations (not from the authors' code or tables):

* The linearised TL (poles fixed, no compression) is solved in the frequency domain. At angular
  frequency Ω, section n has ``v̇_n = q_n − g_n`` with
  ``g_n = Z_n v_n``, ``Z_n = d ω_n + ω_n² (1 + ρ e^{−iΩτ_n}) / (iΩ)`` (the delayed stiffness
  ``ρ y(t − τ)`` → ``ρ y e^{−iΩτ}``), so ``q_n = (iΩ + Z_n) v_n``. The fluid rows of §3.3,
  ``A q = S g``, become the tridiagonal system ``(A − diag(S Z/(iΩ + Z))) q = 0`` for n ≥ 1; the
  stapes equations (§3.3) eliminate v_0 and close row 0 with the driving pressure F = 1 Pa.
* The gain of section n is ``G_n(α) = max_Ω 20 log10 |v_n(Ω) / v_0(Ω)|`` (dB re the stapes
  velocity) with **all** sections at the same pole α. It is computed for every section on a
  log-frequency grid (:data:`POINTS_PER_OCTAVE` per octave, refined by a parabola through the
  peak's three samples in dB) and on an α grid (:data:`ALPHA_GRID`), then interpolated linearly
  in α. Holding α uniform along the cochlea is an approximation: the gain of a section comes from
  the region just basal to its peak, over which the impaired poles vary slowly.
* The loss of section n at pole α is ``loss_n(α) = G_n(α_S,n) − G_n(α)``, α_S the normal-hearing
  poles (:func:`.poles.normal_hearing_poles`); the largest representable loss is
  ``loss_n(α_E)``, α_E = 0.31: 15.6, 22.8, 26.7, 30.5, 33.9, 36.6, 36.0 dB at 125, 500, 1k, 2k,
  4k, 8k, 12 kHz (V18 quotes ≈ 35 dB); it falls to ≈ 15 dB at the extreme base (CF > 19 kHz)
  and is irregular at the extreme apex (CF < 40 Hz), where the window of the sweep is cut.

Frequencies in Hz, levels in dB, poles dimensionless.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Mapping, Sequence

import numpy as np

from . import cochlea as _tl
from . import poles as _poles

AUDIOGRAMS: Mapping[str, tuple[tuple[float, float], ...]] = {
    "flat25": ((1000.0, 25.0),),
    "flat35": ((1000.0, 35.0),),
    "slope25": ((1000.0, 0.0), (8000.0, 25.0)),
    "slope35": ((1000.0, 0.0), (8000.0, 35.0)),
}
"""Preset audiograms ``((freq_hz, db_hl), …)`` (V18's Flat and Slope profiles, §9): flat 25 / 35 dB
HL at all frequencies; or 0 dB HL up to 1 kHz, sloping linearly in log-frequency to 25 / 35 dB HL
at 8 kHz, constant above. Interpolated in log-frequency, constant beyond the end points."""

ALPHA_GRID = np.unique(
    np.concatenate([np.linspace(0.03, 0.12, 37), np.linspace(0.12, _poles.ALPHA_E, 20)])
)
"""Default poles at which :func:`filter_gain_table` evaluates the gain (dense where gain changes
fast, at low α; the normal-hearing poles span 0.037 … 0.12)."""
POINTS_PER_OCTAVE = 48
"""Frequency resolution of the gain sweep (points per octave, 15 Hz … 32 kHz)."""
PEAK_WINDOW = (0.4, 1.25)
"""The peak gain of node n is sought between these multiples of its CF."""


def _frequency_grid(points_per_octave: int = POINTS_PER_OCTAVE) -> np.ndarray:
    """The log-spaced sweep (Hz), 15 Hz … 32 kHz."""
    n = int(np.ceil(np.log2(32000.0 / 15.0) * points_per_octave)) + 1
    return 15.0 * 2.0 ** (np.arange(n) / points_per_octave)


def _bm_response(alpha: float, freqs_hz: np.ndarray) -> np.ndarray:
    """|v_n / v_0| of the linear TL (all poles at ``alpha``), shape (len(freqs), 1001); column 0
    (the stapes) is 1. Complex steady state of §3.2–3.3 in float64, a vectorised Thomas solve."""
    geo = _tl._geometry()
    n = _tl.N_SECTIONS
    omega = geo["omega"][None, :]  # section ω_n (rad/s)
    big_w = 2.0 * np.pi * np.asarray(freqs_hz, np.float64)[:, None]  # Ω (rad/s)
    iw = 1j * big_w
    a, d, _, rho = _poles.pole_parameters(np.float64(alpha))
    tau = 1.0 / (a * omega)  # s
    z = d * omega + omega**2 * (1.0 + rho * np.exp(-1j * big_w * tau)) / iw
    # rows n ≥ 1: dl q_{n−1} + (dd − S Z/(iΩ + Z)) q_n + du q_{n+1} = 0
    diag = geo["dd"][None, :] - geo["s"][None, :] * z / (iw + z)
    dl, du = geo["dl"], geo["du"]
    # row 0 (stapes): (1 + k) q0 − w01 q1 = P(F − A_st R_me v0) and
    # iΩ v0 = G (P(F − A_st R_me v0)/k − w01 q1), G the stapes gain: eliminate v0
    k, p, gs, w01 = geo["k"], geo["p"], geo["stapes_gain"], geo["w01"]
    r = p * _tl.A_STAPES * _tl.R_ME
    den = iw[:, 0] + gs * r / k  # v0 = gs (P F/k − w01 q1) / den
    force = 1.0  # Pa
    d0 = np.full(big_w.shape[0], 1.0 + k, complex)
    u0 = -w01 - r * gs * w01 / den  # coefficient of q1 in row 0
    rhs0 = p * force - r * gs * p * force / (k * den)
    # forward sweep (vectorised over frequencies)
    cp = np.empty((n + 1, big_w.shape[0]), complex)
    dp = np.empty((n + 1, big_w.shape[0]), complex)
    cp[0], dp[0] = u0 / d0, rhs0 / d0
    for i in range(1, n + 1):
        m = diag[:, i] - dl[i] * cp[i - 1]
        cp[i] = du[i] / m if i < n else 0.0
        dp[i] = -dl[i] * dp[i - 1] / m
    q = np.empty_like(dp)
    q[n] = dp[n]
    for i in range(n - 1, -1, -1):
        q[i] = dp[i] - cp[i] * q[i + 1]
    q = q.T
    v = q / (iw + z)
    v0 = gs * (p * force / k - w01 * q[:, 1]) / den
    return np.abs(v / v0[:, None])


def _peak_db(mag: np.ndarray, freqs_hz: np.ndarray) -> np.ndarray:
    """Peak over frequency (axis 0) of 20 log10 ``mag`` within :data:`PEAK_WINDOW` × CF of each
    node, refined by a parabola through the largest sample and its neighbours (dB vs
    log-frequency index). The window excludes a spurious resonance below the apex's CF (≈ 19 Hz)
    that dominates |v_n/v_0| at high poles."""
    cf = _tl.characteristic_frequencies()
    lo, hi = PEAK_WINDOW
    inside = (freqs_hz[:, None] >= lo * cf[None, :]) & (freqs_hz[:, None] <= hi * cf[None, :])
    db = np.where(inside, 20.0 * np.log10(np.maximum(mag, 1e-300)), -np.inf)
    best = db.max(axis=0)
    i = np.clip(db.argmax(axis=0), 1, db.shape[0] - 2)
    cols = np.arange(db.shape[1])
    y0, y1, y2 = db[i - 1, cols], db[i, cols], db[i + 1, cols]
    ok = np.isfinite(y0) & np.isfinite(y2)
    y0, y2 = np.where(ok, y0, y1), np.where(ok, y2, y1)
    curv = y0 - 2.0 * y1 + y2
    with np.errstate(divide="ignore", invalid="ignore"):
        peak = np.where(curv < 0, y1 - 0.125 * (y2 - y0) ** 2 / curv, y1)
    return np.where(np.isfinite(best), np.maximum(peak, best), 0.0)


def filter_gain_table(alphas: Sequence[float] | np.ndarray = ALPHA_GRID) -> np.ndarray:
    """Peak BM filter gain (dB) of the linear model per section and pole.

    ``G[j, n] = max_Ω 20 log10 |v_n(Ω)/v_0(Ω)|``, the BM velocity of node n over the stapes
    velocity, with every section's pole fixed at ``alphas[j]`` (no compression); complex steady
    state of the linearised TL (module docstring; spec §3.2–3.3, §9; Verhulst, Altoè & Vasilkov
    2018). Shape ``(len(alphas), 1001)``, column 0 (the stapes) 0 dB. About 0.1 s per pole.
    """
    alphas = np.asarray(alphas, np.float64)
    if alphas.ndim != 1 or np.any(alphas <= 0) or np.any(alphas > _poles.ALPHA_E):
        raise ValueError(
            f"filter_gain_table: alphas must be a 1-D array in (0, 0.31], got {alphas}"
        )
    return _gain_table(tuple(float(a) for a in alphas))


@functools.lru_cache(maxsize=4)
def _gain_table(alphas: tuple[float, ...]) -> np.ndarray:
    freqs = _frequency_grid()
    table = np.stack([_peak_db(_bm_response(a, freqs), freqs) for a in alphas])
    table.setflags(write=False)
    return table


def _interp_rows(alpha: np.ndarray, grid: np.ndarray, table: np.ndarray) -> np.ndarray:
    """Per section n, ``table[:, n]`` linearly interpolated in α at ``alpha[n]``."""
    j = np.clip(np.searchsorted(grid, alpha) - 1, 0, len(grid) - 2)
    w = (alpha - grid[j]) / (grid[j + 1] - grid[j])
    cols = np.arange(table.shape[1])
    return (1.0 - w) * table[j, cols] + w * table[j + 1, cols]


def max_loss_db() -> np.ndarray:
    """The largest representable loss per node (dB), ``G_n(α_S,n) − G_n(α_E)`` (1001 values,
    node 0 = stapes: 0)."""
    alpha_s = _poles.normal_hearing_poles(_tl.characteristic_frequencies())
    table = _gain_table(tuple(ALPHA_GRID))
    out = _interp_rows(alpha_s, ALPHA_GRID, table) - table[-1]
    out[0] = 0.0
    return out


def audiogram_db_hl(audiogram, cf_hz) -> np.ndarray:
    """dB HL of ``audiogram`` (a preset name or ``((freq_hz, db_hl), …)``) at ``cf_hz``:
    linear in log-frequency between points, constant beyond the end points."""
    if isinstance(audiogram, str):
        if audiogram not in AUDIOGRAMS:
            raise ValueError(f"unknown audiogram {audiogram!r}; presets: {sorted(AUDIOGRAMS)}")
        audiogram = AUDIOGRAMS[audiogram]
    pts = np.asarray(audiogram, np.float64).reshape(-1, 2)
    if (
        pts.size == 0
        or np.any(pts[:, 0] <= 0)
        or not np.all(np.isfinite(pts))
        or np.any(pts[:, 1] < 0)
    ):
        raise ValueError(
            f"audiogram must be ((freq_hz > 0, db_hl ≥ 0), …), finite, got {audiogram!r}"
        )
    pts = pts[np.argsort(pts[:, 0])]
    return np.interp(np.log(np.asarray(cf_hz, np.float64)), np.log(pts[:, 0]), pts[:, 1])


def poles_for_audiogram(audiogram, warn: bool = True) -> np.ndarray:
    """Starting poles (1001, base → apex, node 0 = stapes) that impose ``audiogram``'s loss.

    Per section n (CF from the Greenwood map), the dB HL of the audiogram at CF_n (log-frequency
    interpolation, constant beyond the ends) is matched by the pole α ≥ α_S,n with
    ``G_n(α_S,n) − G_n(α) = dB HL`` (:func:`filter_gain_table`, interpolated linearly in α).
    Losses beyond the largest representable one, ``G_n(α_S,n) − G_n(α_E)`` (≈ 23–37 dB from
    0.5 to 8 kHz; see :func:`max_loss_db`), are capped at α = α_E = 0.31 (with a warning when ``warn``). Sections
    at 0 dB HL keep their normal-hearing poles exactly. For
    ``TransmissionLineCochlea(starting_poles=…)`` and ``AuditoryPeriphery(starting_poles=…)``.

    Args:
        audiogram: a key of :data:`AUDIOGRAMS` or ``((freq_hz, db_hl), …)``.
        warn: warn when a requested loss is capped.
    """
    cf = _tl.characteristic_frequencies()
    alpha_s = _poles.normal_hearing_poles(cf)
    target = audiogram_db_hl(audiogram, cf)
    grid = ALPHA_GRID
    table = _gain_table(tuple(grid))
    g_s = _interp_rows(alpha_s, grid, table)
    alpha = alpha_s.copy()
    capped = 0
    for n in range(1, cf.size):
        if target[n] <= 0.0:
            continue
        above = grid > alpha_s[n]
        a_pts = np.concatenate([[alpha_s[n]], grid[above]])
        loss = np.concatenate([[0.0], g_s[n] - table[above, n]])
        loss = np.maximum.accumulate(loss)  # guard: monotone in α
        if target[n] >= loss[-1]:
            alpha[n] = _poles.ALPHA_E
            capped += target[n] > loss[-1] + 1e-9
        else:
            alpha[n] = np.interp(target[n], loss, a_pts)
    if capped and warn:
        warnings.warn(
            f"poles_for_audiogram: the loss was capped at the largest representable one "
            f"(α = α_E = {_poles.ALPHA_E}, {max_loss_db()[1:].min():.1f}–"
            f"{max_loss_db()[1:].max():.1f} dB) in {capped} sections",
            stacklevel=2,
        )
    return alpha
