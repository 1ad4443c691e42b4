"""A population run in time chunks: live progress, one compilation, the result of one call."""

from __future__ import annotations

import math
import sys

import jax
import jax.numpy as jnp
import numpy as np
from tqdm import tqdm

from .._population import population

CHUNK_MAX = 2048
"""At most this many samples per call: progress stays live and the forward scan stays plain."""

CHUNKS = 20
"""Aim for about this many chunks on long runs (each one a progress update)."""


def run_chunked(sim, params, inputs: np.ndarray, progress: bool = True, label: str = ""):
    """Outputs of :func:`jaxneuro.population` on ``inputs`` ``[N, T, n_in]``, as numpy arrays
    ``[N, T // spec.decimation, ...]``.

    The run goes in chunks of equal length (a multiple of ``spec.decimation``; the last one
    padded, its padding dropped), each continuing from the previous chunk's state, so it compiles
    once, shows real progress, and equals one whole call (streaming: ``apply(x[:k], s0)`` then
    ``apply(x[k:], s1)``).
    """
    n, t = inputs.shape[:2]
    dt, dec = sim.spec.dt, sim.spec.decimation
    chunk = min(t, CHUNK_MAX, max(64, math.ceil(t / CHUNKS)))
    chunk = max(dec, chunk // dec * dec)
    rest = sim.init_state(params)
    state = jax.tree.map(lambda a: jnp.broadcast_to(a, (n, *jnp.shape(a))), rest)
    outputs: dict[str, np.ndarray] = {}
    bar = tqdm(
        total=round(t * dt, 6),
        unit="ms",
        desc=label or "simulate",
        disable=not progress,
        delay=1.0,
        file=sys.stderr,
    )
    with bar:
        for k0 in range(0, t, chunk):
            x = inputs[:, k0 : k0 + chunk]
            valid = x.shape[1]
            if valid < chunk:
                x = np.pad(x, ((0, 0), (0, chunk - valid), (0, 0)), mode="edge")
            out, state = population(sim, params, x, state)
            o0, o_valid = k0 // dec, valid // dec
            for name, a in out.items():
                a = np.asarray(a)
                if name not in outputs:
                    outputs[name] = np.empty((n, t // dec, *a.shape[2:]), a.dtype)
                outputs[name][:, o0 : o0 + o_valid] = a[:, :o_valid]
            bar.update(round(valid * dt, 6))
    return outputs
