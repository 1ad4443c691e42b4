"""Standard benchmark networks beside COBA: CUBA (Brette et al. 2007, benchmark 2) and Brunel
(2000), with the Poisson drive that Brunel's network needs and the population statistics that
every comparison reports (``reference/cortical_circuit.md`` §3)."""

from __future__ import annotations

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from ..models import LIF
from ..models.lif import PRESETS
from ..models.synapses import CurrentSynapse, DeltaSynapse
from ._coba import random_ei_network
from ._connectivity import fixed_indegree
from ._network import Network
from ._population import External, Population
from ._projection import Projection


class _Cell(LIF):
    """A LIF whose default parameters are given values (the networks' cells, which are not
    among :data:`~jaxneuro.models.lif.PRESETS`)."""

    values: tuple[tuple[str, float], ...] = eqx.field(static=True, default=())

    def default_params(self):
        return dict(PRESETS["default"]) | dict(self.values)


CUBA_CELL = dict(tau_m=20.0, e_l=-49.0, v_th=-50.0, v_reset=-60.0, r_m=100.0, t_ref=5.0)
"""CUBA's LIF (Brette et al. 2007; Brian2 ``examples/CUBA.py``): E_L −49 mV lies above the
threshold and is the drive; R = 100 MΩ makes 1 nA of current 100 mV in the voltage equation."""

W_E, W_I = 1.62, -9.0
"""CUBA's jumps of the synaptic terms per event (mV): 60 × 0.27 / 10 and −20 × 4.5 / 10."""


def cuba(
    n: int = 4000,
    *,
    p: float = 0.02,
    seed: int = 0,
    dt: float = 0.1,
    format: str = "sparse",
    record_v: bool = False,
) -> Network:
    """CUBA: ``0.8 n`` E and ``0.2 n`` I LIF cells (τ_m 20 ms, E_L −49 mV, V_th −50 mV,
    V_reset −60 mV, t_ref 5 ms), exponential current synapses (τ_e 5 ms, +1.62 mV; τ_i 10 ms,
    −9 mV per event in ``τ_m dv/dt = −(v − E_L) + g_e + g_i``), pairs connected with
    probability ``p`` (no autapses), zero delay (one sample), seeds ``seed … seed + 3``.

    Brette et al. (2007), J. Comput. Neurosci. 23:349, benchmark 2; Brian2 ``examples/CUBA.py``.
    Weights are scaled by ``4000 / n`` as :func:`~jaxneuro.networks.coba`. The synaptic currents
    keep decaying while a cell is refractory (its voltage is clamped at V_reset). Inputs
    ``"E.i_ext"`` and ``"I.i_ext"`` (nA, shared): none in the benchmark (:func:`cuba_input`).
    Start from :func:`~jaxneuro.networks.coba_state` (voltages uniform in [V_reset, V_th]).
    """
    r = CUBA_CELL["r_m"]
    cell = _Cell(
        dt=dt,
        values=tuple(CUBA_CELL.items()),
        synapses=(
            CurrentSynapse("exc", tau=5.0, weight=W_E / r),
            CurrentSynapse("inh", tau=10.0, weight=W_I / r),
        ),
    )
    return random_ei_network(cell, n, p=p, seed=seed, format=format, record_v=record_v)


def cuba_input(steps: int, dtype=jnp.float32):
    """``steps`` samples of zero injected current for both populations (CUBA's drive is E_L)."""
    return jnp.zeros((steps, 2), dtype)


BRUNEL_REGIMES = {"A": (3.0, 2.0), "B": (6.0, 4.0), "C": (5.0, 2.0), "D": (4.5, 0.9)}
"""Brunel (2000) Fig. 8: ``{label: (g, η)}`` — A synchronous regular, B synchronous irregular
(fast), C asynchronous irregular (NEST's example), D synchronous irregular (slow)."""


def brunel(
    n_e: int = 10000,
    n_i: int = 2500,
    *,
    g: float = 5.0,
    eta: float = 2.0,
    epsilon: float = 0.1,
    j: float | None = None,
    delay: float = 1.5,
    theta: float = 20.0,
    v_reset: float = 10.0,
    tau_m: float = 20.0,
    t_ref: float = 2.0,
    seed: int = 0,
    dt: float = 0.1,
    exchange_dt: float = 0.5,
    format: str = "sparse",
    record_v: bool = False,
) -> Network:
    """Brunel (2000, J. Comput. Neurosci. 8:183) model A: ``n_e`` E and ``n_i`` I LIF cells
    (τ_m 20 ms, rest 0 mV, θ 20 mV, V_reset 10 mV, τ_rp 2 ms) with δ-current synapses: every
    cell receives exactly ``C_E = ε n_e`` excitatory inputs of ``J`` mV and ``C_I = ε n_i``
    inhibitory ones of ``−g J`` mV (fixed in-degree, distinct sources, autapses allowed as in
    NEST's ``fixed_indegree``), all with one delay ``delay`` (ms), and ``C_E`` external Poisson
    inputs of ``J`` mV at ``ν_ext = η ν_thr``, ``ν_thr = θ / (J C_E τ_m)``.

    ``j`` defaults to ``100 / C_E`` mV (0.1 mV at C_E = 1000): the laptop scaling of
    ``reference/cortical_circuit.md`` §3.3 keeps ``J C_E`` (and so ν_thr = 10 Hz) fixed.
    Regimes: :data:`BRUNEL_REGIMES`. Conventions (NEST ``iaf_psc_delta``): an input arriving in
    a sample jumps the voltage at its start, the threshold is tested at its end, and input
    arriving while a cell is refractory is discarded. Exact integration (no current).

    The external drive is an input: channels ``"E.ext"`` and ``"I.ext"`` take Poisson counts
    per cell and sample, drawn by :func:`poisson_drive` (or inside a run by
    :func:`run_poisson`, which never holds the whole drive in memory). Exchange interval
    ``exchange_dt`` (0.5 ms divides both the delay and whole seconds). Start from
    :func:`brunel_state`.
    """
    c_e, c_i = round(epsilon * n_e), round(epsilon * n_i)
    j = 100.0 / c_e if j is None else float(j)
    values = dict(tau_m=tau_m, e_l=0.0, v_th=theta, v_reset=v_reset, r_m=1.0, t_ref=t_ref)
    cell = _Cell(
        dt=dt,
        values=tuple(values.items()),
        synapses=(
            DeltaSynapse("exc", weight=j),
            DeltaSynapse("inh", weight=-g * j),
            DeltaSynapse("ext", weight=j),
        ),
    )
    record = ("spikes", "v") if record_v else ("spikes",)
    sizes = {"E": n_e, "I": n_i}
    pops = {name: Population(cell, size, record=record) for name, size in sizes.items()}
    pairs = [("E", "E", c_e), ("E", "I", c_e), ("I", "E", c_i), ("I", "I", c_i)]
    projections = [
        Projection(
            a,
            b,
            "exc" if a == "E" else "inh",
            fixed_indegree(sizes[a], sizes[b], k, 1.0, seed=seed + m, format=format),
            delay=delay,
        )
        for m, (a, b, k) in enumerate(pairs)
    ]
    inputs = [External("E", "ext"), External("I", "ext")]
    return Network(pops, projections, inputs, exchange_dt=exchange_dt)


def brunel_rate(network: Network, eta: float) -> float:
    """Poisson events per cell and ms of the external drive, ``C_E η ν_thr`` (kHz), for a
    network from :func:`brunel` (read back from its cells and E→E in-degree)."""
    cell = network.populations["E"].simulator
    p = cell.init()
    j = p["synapses"]["ext"]["weight"]
    proj = next(q for q in network.projections if (q.pre, q.post) == ("E", "E"))
    c_e = proj.connectivity.n_synapses // proj.connectivity.n_post
    nu_thr = p["v_th"] / (j * c_e * p["tau_m"])  # per ms
    return float(c_e * eta * nu_thr)


def brunel_state(network: Network, params, key, low: float = 0.0, high: float | None = None):
    """The network's initial state with voltages uniform in [``low``, ``high``] mV (default
    [0, θ]: NEST's example starts every cell at 0; a spread avoids a first synchronous wave)."""
    from ._coba import coba_state

    high = float(params["populations"]["E"]["v_th"]) if high is None else high
    return coba_state(network, params, key, low, high)


def _poisson_table(lam: float) -> np.ndarray:
    k_max = int(lam + 12.0 * math.sqrt(lam) + 12)
    k = np.arange(k_max + 1)
    logp = k * math.log(lam) - lam - np.array([math.lgamma(i + 1) for i in k])
    return np.cumsum(np.exp(logp))[:-1]


def poisson_drive(key: Array, steps: int, size: int, lam: float, dtype=jnp.float32):
    """Poisson counts ``[steps, size]`` of mean ``lam`` per sample (inverse CDF on a table, exact
    to ~1e-12 per draw; much faster on CPU than ``jax.random.poisson``)."""
    if lam <= 0:
        return jnp.zeros((steps, size), dtype)
    cdf = jnp.asarray(_poisson_table(lam), dtype)
    u = jax.random.uniform(key, (steps, size), dtype)
    return jnp.searchsorted(cdf, u, side="right").astype(dtype)


def run_poisson(
    network: Network,
    params,
    state,
    key: Array,
    steps: int,
    lam: float,
    *,
    chunk: int = 1000,
):
    """Run ``network`` for ``steps`` samples with independent Poisson counts of mean ``lam`` per
    sample into every cell's input columns (e.g. :func:`brunel`: ``lam = brunel_rate(net, η) ·
    dt``), drawn ``chunk`` samples at a time inside a ``lax.scan`` (``chunk`` must be a multiple
    of the exchange interval and divide ``steps``). Returns ``(outputs, state)`` as ``apply``."""
    if chunk % network.chunk or steps % chunk:
        raise ValueError(
            f"chunk = {chunk} must be a multiple of the exchange interval ({network.chunk} "
            f"samples) and divide steps = {steps}"
        )
    width = network.spec.n_inputs
    dtype = jnp.result_type(float)

    def body(s, k):
        x = poisson_drive(k, chunk, width, lam, dtype)
        out, s = network.apply(params, x, s)
        return s, out

    state, outs = jax.lax.scan(body, state, jax.random.split(key, steps // chunk))
    outs = {name: y.reshape(steps, *y.shape[2:]) for name, y in outs.items()}
    return outs, state


def spike_statistics(
    raster: Float[Array, "T n"] | np.ndarray,
    dt: float,
    *,
    transient: float = 0.0,
    bin_ms: float = 1.0,
) -> dict[str, float]:
    """Population statistics of a spike raster ``[T, n]`` (counts per sample of ``dt`` ms),
    after dropping the first ``transient`` ms:

    - ``rate``: mean rate over cells (spikes/s);
    - ``cv``: the ISI coefficient of variation per cell, averaged over cells with ≥ 3 spikes
      (NaN if none), and ``n_cv``: how many cells that was;
    - ``fano``: Fano factor of the population spike count in ``bin_ms`` bins (≈ 1 for
      independent Poisson cells; ≫ 1 when the population fires synchronously).
    """
    s = np.asarray(raster)
    s = s[round(transient / dt) :]
    duration_s = s.shape[0] * dt / 1000.0
    rate = float(s.sum() / s.shape[1] / duration_s)
    t, cell = np.nonzero(s)
    order = np.lexsort((t, cell))
    t, cell = t[order], cell[order]
    cvs = []
    bounds = np.flatnonzero(np.diff(cell)) + 1
    for times in np.split(t, bounds):
        if times.size >= 3:
            isi = np.diff(times).astype(np.float64)
            cvs.append(isi.std() / isi.mean())
    width = max(1, round(bin_ms / dt))
    n_bins = s.shape[0] // width
    counts = s[: n_bins * width].sum(axis=1).reshape(n_bins, width).sum(axis=1)
    mean = counts.mean() if n_bins else 0.0
    fano = float(counts.var() / mean) if mean > 0 else float("nan")
    return dict(
        rate=rate, cv=float(np.mean(cvs)) if cvs else float("nan"), n_cv=len(cvs), fano=fano
    )
