"""Populations: one simulator vmapped over cells, the batch sharded over all devices."""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec as P

from ._simulator import Outputs, Params, Simulator, State

AXIS = "cells"


def population(
    simulator: Simulator,
    params: Params,
    inputs,
    state: State | None = None,
    *,
    batched_params: bool = False,
    devices=None,
) -> tuple[Outputs, State]:
    """Run ``simulator`` on a population of ``N`` cells, sharded over ``devices``.

    Args:
        simulator: any :class:`~jaxneuro.Simulator`.
        params: one parameter pytree shared by all cells, or with ``batched_params=True`` a pytree
            whose every leaf has a leading axis of length ``N`` (heterogeneous cells).
        inputs: ``[N, T, n_inputs]`` (one signal per cell), or ``[T, n_inputs]`` shared by all
            cells when ``batched_params`` is set.
        state: optional batched state (leading axis ``N``) from a previous call, for streaming.
        batched_params: whether ``params`` carries a leading cell axis.
        devices: devices to shard over (default ``jax.devices()``: every local device, or every
            device of every host after ``jax.distributed.initialize()``).

    Returns:
        ``(outputs, state)`` with a leading cell axis ``N``; identical to an unsharded
        ``jax.vmap(simulator.apply)``. The batch is padded to a multiple of the device count and
        the padding dropped again, so any ``N`` works.

    Multi-host: call ``jax.distributed.initialize()`` on every host first; ``jax.devices()`` then
    spans all hosts and the same call shards the population across them (each host must hold the
    full ``inputs``, or build a global array with ``jax.make_array_from_process_local_data``).
    """
    inputs = jnp.asarray(inputs)
    batched_inputs = inputs.ndim == 3
    if not (batched_inputs or batched_params):
        raise ValueError(
            f"population needs inputs of shape [N, T, n_inputs] (got {tuple(inputs.shape)}) "
            "or batched_params=True with a leading cell axis on every parameter"
        )
    _check_batching(simulator, params, batched_params)
    sizes = set()
    if batched_inputs:
        sizes.add(inputs.shape[0])
    if batched_params:
        sizes |= {np.shape(a)[0] if np.ndim(a) else None for a in jax.tree.leaves(params)}
    if state is not None:
        sizes |= {np.shape(a)[0] if np.ndim(a) else None for a in jax.tree.leaves(state)}
    if len(sizes) != 1 or None in sizes:
        raise ValueError(f"inconsistent population sizes (leading axes): {sorted(map(str, sizes))}")
    (n,) = sizes

    devices = list(jax.devices() if devices is None else devices)
    n_dev = len(devices)
    pad = -n % n_dev
    mesh = jax.sharding.Mesh(np.array(devices), (AXIS,))
    sharded, replicated = NamedSharding(mesh, P(AXIS)), NamedSharding(mesh, P())

    def prepare(tree, batched):
        if not batched:
            return jax.device_put(tree, replicated)
        padded = jax.tree.map(lambda a: _pad(jnp.asarray(a), pad), tree)
        return jax.device_put(padded, sharded)

    axes = (
        0 if batched_params else None,
        0 if batched_inputs else None,
        None if state is None else 0,
    )
    outputs, final = _run(
        simulator,
        axes,
        prepare(params, batched_params),
        prepare(inputs, batched_inputs),
        prepare(state, True),
    )
    return jax.tree.map(lambda a: a[:n], (outputs, final))


def _param_shapes(simulator: Simulator):
    """The shapes of one cell's parameters, from ``init`` (abstractly where it traces)."""
    key = jax.random.key(0)
    try:
        return jax.eval_shape(simulator.init, key)
    except (jax.errors.TracerArrayConversionError, jax.errors.ConcretizationTypeError):
        return simulator.init(key)  # e.g. weights read from files with numpy


def _check_batching(simulator: Simulator, params: Params, batched_params: bool) -> None:
    """A ``ValueError`` if ``params`` has a leading cell axis that ``batched_params`` denies, or
    lacks one that it claims (judged against one cell's parameter shapes from ``init``)."""
    one = _param_shapes(simulator)
    given = jax.tree_util.tree_flatten_with_path(params)[0]
    if jax.tree.structure(params) != jax.tree.structure(one):
        return  # the simulator's own parameter check names the difference
    expected = [np.shape(a) for a in jax.tree.leaves(one)]
    named = [
        (jax.tree_util.keystr(path, simple=True, separator="."), np.shape(a)) for path, a in given
    ]
    if not batched_params:
        extra = [
            (name, shape[0])
            for (name, shape), want in zip(named, expected, strict=True)
            if len(shape) == len(want) + 1 and shape[1:] == want
        ]
        if extra:
            listed = _some([f"{name} ({n})" for name, n in extra])
            raise ValueError(
                f"parameters {listed} have a leading axis (one value per cell?) but "
                "batched_params=False: pass batched_params=True, with a leading cell axis on "
                "every parameter (e.g. jax.tree.map(lambda a: jnp.broadcast_to(a, (N, *a.shape)), "
                "params)), or one unbatched parameter set shared by all cells"
            )
    else:
        missing = [
            name for (name, shape), want in zip(named, expected, strict=True) if shape == want
        ]
        if missing:
            raise ValueError(
                f"batched_params=True needs a leading cell axis on every parameter; "
                f"{_some(missing)} have none (broadcast them: "
                "jnp.broadcast_to(a, (N, *a.shape)))"
            )


def _some(names: list[str], n: int = 4) -> str:
    more = f" … ({len(names)} in all)" if len(names) > n else ""
    return ", ".join(names[:n]) + more


def _pad(a, pad):
    if pad == 0:
        return a
    return jnp.concatenate([a, jnp.repeat(a[-1:], pad, axis=0)], axis=0)


@eqx.filter_jit
def _run(simulator, axes, params, inputs, state):
    return jax.vmap(simulator.apply, in_axes=axes)(params, inputs, state)
