"""How far can level processing alone take the hearing-impaired chain? (issue 16, deliverable 7)

The held-out problem of ``scripts/compensation.py`` (flat35, 12 CFs 250 Hz – 8 kHz, the three
100 ms speech-like sounds at 60 / 65 / 70 dB SPL, 2 ms-smoothed population-rate MAE against the
normal-hearing response) scored without optimisation for two families of front ends:

- a broadband gain from −10 to +30 dB (each sound's best is an oracle level correction);
- a broadband fast compressor (WDRC): gain ``g_soft − slope·max(L − knee, 0)`` dB, ≥ 0, from the
  causal power envelope ``L`` (dB SPL, one-pole smoothing of time constant ``tau``).

Also: an output-side oracle that no front end can beat with level or timing alone (each CF's
unaided impaired rate shifted by its best delay, −1 to +2 ms, and scaled by its best factor,
0.8–2, per sound), the same error for the normal chain 3 dB louder (the size of a pure level
error), and the per-CF breakdown of the unaided error for the 65 dB sound. Writes
``benchmarks/results/compensation_limits.json``; ≈ 2 min on 2 CPU cores.

    python scripts/compensation_limits.py
"""

from __future__ import annotations

import itertools
import json
import time
from pathlib import Path

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from compensation import smooth

from jaxneuro.models.auditory import (
    FIBRES_PER_CF,
    AuditoryPeriphery,
    nearest_sections,
    poles_for_audiogram,
    population_rate,
)
from jaxneuro.optimize import Compensation, response_error
from jaxneuro.stimuli import speech_like

RESULTS = Path(__file__).resolve().parents[1] / "benchmarks" / "results"
DT = 0.01  # ms
P0 = 2e-5  # Pa


def compressor(sound, g_soft, knee, slope, tau_ms):
    """A broadband WDRC: gain (dB) falls by ``slope`` dB per dB of envelope level above ``knee``."""
    a = jnp.exp(-DT / tau_ms)

    def step(e, x):
        e = a * e + (1 - a) * x * x
        return e, e

    x = sound.reshape(len(sound), -1)[:, 0]
    _, env = jax.lax.scan(step, jnp.asarray(P0**2, x.dtype), x)
    level = 10 * jnp.log10(env / P0**2)
    gain = jnp.clip(g_soft - slope * jnp.maximum(level - knee, 0.0), 0.0, None)
    return sound * (10 ** (gain / 20)).reshape((-1,) + (1,) * (sound.ndim - 1))


def main() -> None:
    t0 = time.perf_counter()
    cfs = np.geomspace(250.0, 8000.0, 12)
    sections = nearest_sections(cfs)
    normal = AuditoryPeriphery(sections)
    impaired = AuditoryPeriphery(sections, starting_poles=poles_for_audiogram("flat35", warn=False))

    def rates(o):
        return population_rate(o, dict(FIBRES_PER_CF))

    problem = Compensation(
        normal=normal,
        impaired=impaired,
        params_normal=normal.init(),
        params_impaired=impaired.init(),
        readout_normal=rates,
        readout_impaired=rates,
        kind="mae",
    )
    target = eqx.filter_jit(lambda p, s: smooth(p.target(s)))
    unaided = eqx.filter_jit(lambda p, s: smooth(p.unaided(s)))
    wdrc = jax.jit(compressor)
    levels = (60.0, 65.0, 70.0)
    sounds = [
        speech_like(jax.random.PRNGKey(1000 + i), 100.0, DT, lv) for i, lv in enumerate(levels)
    ]
    normals = [target(problem, s) for s in sounds]
    impaired_rates = [unaided(problem, s) for s in sounds]  # no front end

    def errors(transform):
        return [
            float(response_error(n, unaided(problem, transform(s))))
            for n, s in zip(normals, sounds, strict=True)
        ]

    none = [float(response_error(n, h)) for n, h in zip(normals, impaired_rates, strict=True)]
    louder = [
        float(response_error(n, target(problem, s * 10 ** (3 / 20))))
        for n, s in zip(normals, sounds, strict=True)
    ]
    gains = {
        g: errors(lambda s, g=g: s * 10 ** (g / 20)) for g in (-10, 0, 3, 5, 8, 10, 15, 20, 30)
    }
    grid = []
    for g, slope, tau in itertools.product((10.0, 15.0, 25.0, 35.0), (0.5, 0.8), (2.0, 10.0)):
        e = errors(lambda s, g=g, slope=slope, tau=tau: wdrc(s, g, 40.0, slope, tau))
        grid.append({"g_soft_db": g, "knee_db_spl": 40.0, "slope": slope, "tau_ms": tau, "mae": e})

    def reduction(e):
        return 100.0 * (1.0 - np.mean(e) / np.mean(none))

    def aligned(n, h):
        """Mean over CFs of the MAE after each CF's best delay and scale (edges excluded)."""
        n, h = np.asarray(n), np.asarray(h)
        inner = slice(60, len(n) - 60)  # 3 ms at each edge
        per_cf = []
        for k in range(n.shape[1]):
            shifted = [np.roll(h[:, k], d)[inner] for d in range(-20, 41)]
            per_cf.append(
                min(
                    np.abs(n[inner, k] - a * x).mean()
                    for x in shifted
                    for a in np.linspace(0.8, 2.0, 25)
                )
            )
        return float(np.mean(per_cf)), float(np.abs(n[inner] - h[inner]).mean())

    oracle_out = [aligned(n, h) for n, h in zip(normals, impaired_rates, strict=True)]
    best_gain = min(gains, key=lambda g: np.mean(gains[g]))
    oracle = [min(gains[g][i] for g in gains) for i in range(len(sounds))]
    best_wdrc = min(grid, key=lambda r: np.mean(r["mae"]))
    nh, hi = np.asarray(normals[1]), np.asarray(impaired_rates[1])
    out = {
        "description": __doc__.split("\n\n")[1].replace("\n", " "),
        "levels_db_spl": list(levels),
        "metric": "MAE of 2 ms-smoothed ANF population rates (13/3/3 fibres per CF), spikes/s",
        "unaided": none,
        "normal_chain_3db_louder": louder,
        "broadband_gain_db": {str(g): e for g, e in gains.items()},
        "best_broadband_gain_db": best_gain,
        "best_broadband_gain_reduction_pct": reduction(gains[best_gain]),
        "per_sound_oracle_gain_reduction_pct": reduction(oracle),
        "output_oracle_delay_and_scale_per_cf": {
            "mae_aligned": [a for a, _ in oracle_out],
            "mae_unaided_same_window": [b for _, b in oracle_out],
            "reduction_pct": 100.0
            * (1.0 - np.mean([a for a, _ in oracle_out]) / np.mean([b for _, b in oracle_out])),
        },
        "compressor_grid": grid,
        "best_compressor": best_wdrc,
        "best_compressor_reduction_pct": reduction(best_wdrc["mae"]),
        "per_cf_65db": {
            "cf_hz": cfs.round(1).tolist(),
            "mean_rate_normal": nh.mean(0).round(1).tolist(),
            "mean_rate_impaired": hi.mean(0).round(1).tolist(),
            "mae": np.abs(nh - hi).mean(0).round(1).tolist(),
        },
        "seconds": round(time.perf_counter() - t0, 1),
        "platform": f"jax {jax.__version__}, {jax.devices()[0].platform}, float32",
    }
    (RESULTS / "compensation_limits.json").write_text(json.dumps(out, indent=1) + "\n")
    print(
        json.dumps(
            {
                k: v
                for k, v in out.items()
                if k.endswith("pct")
                or k.startswith("output_oracle")
                or k in ("unaided", "best_broadband_gain_db")
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
