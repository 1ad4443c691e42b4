"""Wall time of a batched simulator call on this device, compilation apart."""

from __future__ import annotations

import time

import equinox as eqx
import jax


def timed_run(simulator, params, inputs, *, batched_params: bool = False, repeats: int = 3):
    """Run ``vmap(simulator.apply)`` over ``inputs [N, T, n_in]``; time compile and run.

    Returns ``(outputs, {"compile_s", "run_s"})``: the first call (trace + compile + run) minus
    the best of ``repeats`` later calls is the compile time; ``run_s`` is that best run.
    """
    axes = (0 if batched_params else None, 0)
    run = eqx.filter_jit(lambda p, x: jax.vmap(simulator.apply, in_axes=axes)(p, x)[0])
    t0 = time.perf_counter()
    out = jax.block_until_ready(run(params, inputs))
    first = time.perf_counter() - t0
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        jax.block_until_ready(run(params, inputs))
        best = min(best, time.perf_counter() - t0)
    return out, {"compile_s": max(first - best, 0.0), "run_s": best}
