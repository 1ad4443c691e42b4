"""One network across devices: its cells split over a device mesh."""

from __future__ import annotations

from collections.abc import Sequence

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

from .._simulator import Params, State
from ._network import Network

AXIS = "cells"


def shard(
    network: Network, params: Params, state: State, devices: Sequence[jax.Device] | None = None
) -> tuple[Params, State]:
    """``params`` and ``state`` of ``network`` placed for a run split over ``devices``.

    Every population's cells are split evenly over a one-axis device mesh (``"cells"``): their
    state (and, for heterogeneous populations, their parameters) and the ring buffers of their
    synaptic input; weights are replicated. ``jax.jit(network.apply)(params, inputs, state)``
    then runs SPMD (XLA's partitioner): each device steps its share of every population, and
    the interval's spikes are gathered once per exchange interval for delivery. Outputs come
    back split by cell. The result equals the unsharded run (tested with forced host devices).
    Dense and gather delivery partition cleanly; event delivery's tiers are replicated by the
    partitioner (correct, but slower).

    Multi-host: call ``jax.distributed.initialize()`` on every host first; ``jax.devices()`` then
    spans all hosts, and each host must pass the same ``params``, ``state`` and ``inputs``.

    Raises:
        ValueError: a population whose size is not a multiple of the number of devices.
    """
    devices = list(jax.devices() if devices is None else devices)
    n = len(devices)
    uneven = {name: pop.size for name, pop in network.populations.items() if pop.size % n}
    if uneven:
        raise ValueError(
            f"cannot split populations {uneven} evenly over {n} devices: make every "
            "population's size a multiple of the device count"
        )
    mesh = Mesh(np.array(devices), (AXIS,))
    cells, rows, whole = (NamedSharding(mesh, spec) for spec in (P(AXIS), P(None, AXIS), P()))

    def place(tree, sharding):
        return jax.tree.map(lambda a: jax.device_put(a, sharding), tree)

    pops = {}
    for name, pop in network.populations.items():
        sharding = cells if pop.heterogeneous else whole
        pops[name] = place(params["populations"][name], sharding)
    params = {"populations": pops, "projections": place(params["projections"], whole)}
    state = {
        "populations": place(state["populations"], cells),
        "buffers": place(state["buffers"], rows),
        "clock": jax.device_put(state["clock"], whole),
    }
    return params, state
