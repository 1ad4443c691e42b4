"""The standard networks in jaxneuro and Brian2, side by side (``peers``; skipped without Brian2).

The same graph (drawn by jaxneuro and handed to Brian2), the same initial voltages and the same
conventions (``benchmarks/_brian2_networks.py``: exponential Euler, zero delay = one sample,
refractory clamp, δ inputs discarded while refractory); Brian2 in float64 with Cython, jaxneuro
in float32. Each network runs for several seeds (graph, initial voltages and, for Brunel, the
Poisson drive); population rates and mean ISI CVs after a transient must agree within the
seed-to-seed spread:

    |mean_jaxneuro − mean_Brian2| ≤ 3 · sqrt(sd_j² / n + sd_b² / n) + floor,

with a floor of 5 % of the Brian2 mean for rates and 0.03 for CVs (chaotic networks: the runs
share statistics, not trajectories). Sizes are kept small enough for about three minutes:
COBA and CUBA at 4000 cells × 600 ms, Brunel at the laptop scale of
``reference/cortical_circuit.md`` §3.3 (4000 E + 1000 I, C_E = 400, J = 0.25 mV) × 400 ms in
regimes C (asynchronous irregular) and D (synchronous irregular, slow).

A convention check runs first: uncoupled CUBA cells (p = 0) fire at the same samples in both.
"""

import sys
from pathlib import Path

import jax
import numpy as np
import pytest

pytest.importorskip("brian2")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

import _brian2_networks as peer  # noqa: E402

from jaxneuro import networks  # noqa: E402

pytestmark = pytest.mark.peers

SEEDS = (0, 1, 2)
TRANSIENT = 100.0  # ms


def _jaxneuro(kind: str, seed: int, duration: float, regime: str | None = None):
    if kind == "brunel":
        g, eta = networks.BRUNEL_REGIMES[regime]
        net = networks.brunel(4000, 1000, g=g, eta=eta, seed=10 * seed)
        params = net.init()
        state = networks.brunel_state(net, params, jax.random.key(seed))
        lam = networks.brunel_rate(net, eta) * net.dt
        steps = round(duration / net.dt)
        out, _ = jax.jit(
            lambda s, k: networks.run_poisson(net, params, s, k, steps, lam, chunk=500)
        )(state, jax.random.key(1000 + seed))
        j = float(params["populations"]["E"]["synapses"]["ext"]["weight"])
        extra = dict(j=j, c_ext=400, nu_ext_hz=eta * 10.0, tau_m=20.0, theta=20.0, v_reset=10.0)
    else:
        net = getattr(networks, kind)(4000, seed=10 * seed)
        params = net.init()
        state = networks.coba_state(net, params, jax.random.key(seed))
        steps = round(duration / net.dt)
        x = (networks.coba_input if kind == "coba" else networks.cuba_input)(steps)
        out, _ = jax.jit(net.apply)(params, x, state)
        extra = {}
    stats = {
        pop: networks.spike_statistics(out[f"{pop}.spikes"], net.dt, transient=TRANSIENT)
        for pop in "EI"
    }
    spec = peer.network_spec(net, params, state, kind, duration, seed, **extra)
    spec["transient"] = TRANSIENT
    return stats, spec


def _compare(label: str, kind: str, duration: float, regime: str | None = None):
    ours, theirs = [], []
    for seed in SEEDS:
        stats, spec = _jaxneuro(kind, seed, duration, regime)
        ours.append(stats)
        theirs.append(peer.run_subprocess(spec))
    n = len(SEEDS)
    rows, failures = [], []
    for pop in "EI":
        for stat, floor in (("rate", None), ("cv", 0.03)):
            a = np.array([s[pop][stat] for s in ours])
            b = np.array([s[pop][stat] for s in theirs])
            se = np.sqrt(a.var(ddof=1) / n + b.var(ddof=1) / n)
            tol = 3 * se + (0.05 * abs(b.mean()) if floor is None else floor)
            diff = a.mean() - b.mean()
            rows.append(
                f"{label:10s} {pop} {stat:4s}  jaxneuro {a.mean():7.3f} ± {a.std(ddof=1):.3f}"
                f"  Brian2 {b.mean():7.3f} ± {b.std(ddof=1):.3f}  |Δ| {abs(diff):.3f} ≤ {tol:.3f}"
            )
            if not abs(diff) <= tol:
                failures.append(rows[-1])
    print("\n" + "\n".join(rows))
    assert not failures, "\n".join(failures)


def test_conventions_uncoupled_cells_fire_at_the_same_samples():
    net = networks.cuba(50, p=0.0, seed=3)
    params = net.init()
    state = networks.coba_state(net, params, jax.random.key(0))
    out, _ = jax.jit(net.apply)(params, networks.cuba_input(1000), state)
    spec = peer.network_spec(net, params, state, "cuba", 100.0, 0, return_spikes=1)
    b = peer.run_subprocess(spec)
    for pop in "EI":
        t, i = np.nonzero(np.asarray(out[f"{pop}.spikes"]))
        ours = sorted(zip(i.tolist(), t.tolist(), strict=True))
        theirs = sorted(zip(b[pop]["i"], b[pop]["t"], strict=True))
        assert ours == theirs


def test_coba_agrees_with_brian2():
    _compare("COBA", "coba", 600.0)


def test_cuba_agrees_with_brian2():
    _compare("CUBA", "cuba", 600.0)


@pytest.mark.parametrize("regime", ["C", "D"])
def test_brunel_agrees_with_brian2(regime):
    _compare(f"Brunel {regime}", "brunel", 400.0, regime)
