"""The COBA benchmark network (Vogels & Abbott 2005; Brette et al. 2007, benchmark 1)."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from ..models import LIF
from ..models.synapses import Synapse
from ._connectivity import fixed_probability
from ._network import Network
from ._population import External, Population
from ._projection import Projection

G_E, G_I = 0.006, 0.067
"""Conductance per event (µS): Δg_e = 6 nS, Δg_i = 67 nS at N = 4000."""

I_B = 0.2
"""Background current (nA): the benchmark scripts' I_b = 20 mV over R = 100 MΩ."""


def coba(
    n: int = 4000,
    *,
    p: float = 0.02,
    seed: int = 0,
    dt: float = 0.1,
    format: str = "sparse",
    record_v: bool = False,
) -> Network:
    """COBA: ``0.8 n`` excitatory and ``0.2 n`` inhibitory LIF cells (τ_m 20 ms, g_L 10 nS,
    E_L −60 mV, V_th −50 mV, V_reset −60 mV, t_ref 5 ms), exponential conductance synapses
    (τ_e 5 ms, E_e 0 mV; τ_i 10 ms, E_i −80 mV), all pairs connected with probability ``p``
    (no autapses), zero delay (one sample), drawn with seeds ``seed … seed + 3``.

    Weights are scaled by ``4000 / n`` (BrainPy's convention for resized COBA,
    ``reference/cortical_circuit.md`` §3.4), so each cell receives the same mean conductance at
    any size. Inputs ``"E.i_ext"`` and ``"I.i_ext"`` (nA, one column each, shared by the
    population): drive them with :data:`I_B` for the benchmark scripts' background. Start from
    :func:`coba_state` (random voltages) rather than rest.
    """
    cell = LIF(
        preset="vogels-abbott",
        dt=dt,
        synapses=(
            Synapse("exc", tau=5.0, e_rev=0.0, weight=G_E),
            Synapse("inh", tau=10.0, e_rev=-80.0, weight=G_I),
        ),
    )
    return random_ei_network(cell, n, p=p, seed=seed, format=format, record_v=record_v)


def random_ei_network(cell, n: int, *, p: float, seed: int, format: str, record_v: bool) -> Network:
    """``0.8 n`` excitatory and ``0.2 n`` inhibitory copies of ``cell``, every pair connected
    with probability ``p`` (no autapses; seeds ``seed … seed + 3`` for E→E, E→I, I→E, I→I), E
    spikes into the ``exc`` synapse and I spikes into ``inh``, weights ``4000 / n`` events, and
    the injected current ``i_ext`` shared by each population: the network of COBA and CUBA."""
    n_e = n * 4 // 5
    sizes = {"E": n_e, "I": n - n_e}
    record = ("spikes", "v") if record_v else ("spikes",)
    pops = {name: Population(cell, size, record=record) for name, size in sizes.items()}
    scale = 4000.0 / n
    pairs = [("E", "E"), ("E", "I"), ("I", "E"), ("I", "I")]
    projections = [
        Projection(
            a,
            b,
            "exc" if a == "E" else "inh",
            fixed_probability(
                sizes[a], sizes[b], p, scale, seed=seed + k, autapses=a != b, format=format
            ),
        )
        for k, (a, b) in enumerate(pairs)
    ]
    inputs = [External("E", "i_ext", shared=True), External("I", "i_ext", shared=True)]
    return Network(pops, projections, inputs)


def coba_state(network: Network, params, key, low: float = -60.0, high: float = -50.0):
    """The network's initial state with every cell's voltage uniform in [``low``, ``high``] mV
    (Brian2's COBA example draws between reset and threshold)."""
    state = network.init_state(params)
    keys = jax.random.split(key, len(network.names))
    for k, name in zip(keys, network.names, strict=True):
        v = state["populations"][name]["v"]
        state["populations"][name]["v"] = jax.random.uniform(
            k, v.shape, v.dtype, minval=low, maxval=high
        )
    return state


def coba_input(steps: int, dtype=jnp.float32):
    """``steps`` samples of the background current :data:`I_B` for both populations."""
    return jnp.full((steps, 2), I_B, dtype)
