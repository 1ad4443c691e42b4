"""A resumable parameter-sweep dataset of the circuit's statistics (``cortical_circuit.md`` §5.1).

Parameter points are a Latin hypercube in log coordinates over :data:`BOX` (§2.4); each point is
simulated with ``n_seeds`` noise seeds (one frozen graph for the whole dataset, its seed in the
manifest), ``chunk`` points at a time under one ``jax.vmap``. Each chunk is an ``.npz`` written
atomically, its sha256 in ``manifest.json`` (rewritten atomically after every chunk, with its own
checksum), so an interrupted run resumes at the first missing chunk and a changed configuration
or a corrupted chunk is an error, never silently mixed in.
"""

from __future__ import annotations

import io
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from .._io import atomic_write, file_sha256, read_json, write_json_atomic
from ._circuit import PARAMETER_NAMES, STATISTIC_NAMES, Circuit

BOX = {
    "S_EE": (0.005, 0.04),
    "S_IE": (0.005, 0.06),
    "S_EI": (0.02, 0.3),
    "S_II": (0.02, 0.3),
    "eta_E_ext": (0.25, 4.0),
    "eta_I_ext": (0.25, 4.0),
}
"""The §2.4 parameter box, all log-uniform (couplings dimensionless, S_QQ' from Q' to Q; kHz)."""

REGIMES = ("silent", "asynchronous", "synchronous")
SILENT_RATE = 0.1
"""Hz: below this mean E rate a point is silent."""
SYNCHRONY = 0.5
"""χ above this (and not silent) is synchronous."""
RUNAWAY_RATE = 100.0
"""Hz: above this mean E rate a point is flagged runaway (a separate flag, not a regime)."""

_MANIFEST = "manifest.json"


def box_arrays() -> tuple[np.ndarray, np.ndarray]:
    """``(lo, hi)`` of :data:`BOX` in :data:`PARAMETER_NAMES` order."""
    lo = np.array([BOX[k][0] for k in PARAMETER_NAMES])
    hi = np.array([BOX[k][1] for k in PARAMETER_NAMES])
    return lo, hi


def latin_hypercube(n: int, seed: int) -> np.ndarray:
    """``n`` points ``[n, 6]``: a Latin hypercube in log coordinates over :data:`BOX`."""
    rng = np.random.default_rng(seed)
    d = len(PARAMETER_NAMES)
    u = (np.argsort(rng.random((d, n)), axis=1).T + rng.random((n, d))) / n
    lo, hi = np.log(box_arrays()[0]), np.log(box_arrays()[1])
    return np.exp(lo + (hi - lo) * u)


def regime(rate_E, chi) -> np.ndarray:
    """0 silent (``r_E < 0.1 Hz``), 2 synchronous (``χ > 0.5``), else 1 asynchronous."""
    rate_E, chi = np.asarray(rate_E), np.asarray(chi)
    return np.where(rate_E < SILENT_RATE, 0, np.where(chi > SYNCHRONY, 2, 1)).astype(np.int32)


def noise_key(noise_seed: int, point: int | jax.Array, seed: int | jax.Array) -> jax.Array:
    """The noise key of one point's ``seed``-th run (independent of how points are chunked)."""
    return jax.random.fold_in(jax.random.fold_in(jax.random.key(noise_seed), point), seed)


def batch_statistics(
    circuit: Circuit,
    params: np.ndarray,
    points: np.ndarray,
    *,
    n_seeds: int,
    noise_seed: int,
    t_transient: float,
    t_measure: float,
) -> np.ndarray:
    """Statistics ``[B, n_seeds, 5]`` (:data:`STATISTIC_NAMES`) of parameter rows ``params``."""
    graph = circuit.graph()
    fn = _batched(circuit, n_seeds, noise_seed, t_transient, t_measure)
    return np.asarray(fn(jnp.asarray(params, jnp.float32), jnp.asarray(points), graph))


_CACHE: dict = {}


def _batched(circuit, n_seeds, noise_seed, t_transient, t_measure):
    k = (circuit, n_seeds, noise_seed, t_transient, t_measure)
    if k not in _CACHE:

        def one(p, point, graph):
            def run(s):
                key = noise_key(noise_seed, point, s)
                out = circuit.simulate(
                    p, key, t_transient=t_transient, t_measure=t_measure, graph=graph
                )
                return jnp.stack([out[n] for n in STATISTIC_NAMES])

            return jax.vmap(run)(jnp.arange(n_seeds))

        _CACHE[k] = jax.jit(jax.vmap(one, (0, 0, None)))
    return _CACHE[k]


def generate_sweep(
    path: str | Path,
    n_points: int,
    *,
    circuit: Circuit | None = None,
    n_seeds: int = 2,
    chunk: int = 64,
    t_transient: float = 500.0,
    t_measure: float = 1500.0,
    sample_seed: int = 0,
    noise_seed: int = 1,
    params: np.ndarray | None = None,
    max_seconds: float | None = None,
    verbose: bool = True,
) -> Path:
    """Simulate (or resume) a sweep into folder ``path``; returns the path.

    ``params`` (``[n_points, 6]``) replaces the Latin hypercube (e.g. a 2-D slice grid).
    ``max_seconds`` stops cleanly after the chunk that passes it (resume by calling again).
    """
    circuit = Circuit() if circuit is None else circuit
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    if params is None:
        params = latin_hypercube(n_points, sample_seed)
    params = np.asarray(params, np.float64)
    config = {
        "kind": "jaxneuro.circuits sweep",
        "circuit": circuit.config(),
        "graph": "one frozen realisation for the whole dataset, drawn from circuit.graph_seed",
        "parameters": list(PARAMETER_NAMES),
        "statistics": list(STATISTIC_NAMES),
        "box": {k: list(v) for k, v in BOX.items()},
        "n_points": int(len(params)),
        "n_seeds": n_seeds,
        "chunk": chunk,
        "t_transient_ms": t_transient,
        "t_measure_ms": t_measure,
        "sample_seed": sample_seed,
        "noise_seed": noise_seed,
        "params_sha256": __import__("hashlib").sha256(params.tobytes()).hexdigest(),
        "dtype": "float32",
        "jax": jax.__version__,
    }
    mpath = path / _MANIFEST
    if mpath.exists():
        manifest = read_json(mpath, checksum="manifest_sha256")
        if manifest["config"] != config:
            raise ValueError(f"{path} holds a sweep with another configuration; use a new folder")
    else:
        manifest = {"config": config, "chunks": {}, "cpu_seconds": 0.0}
    n_chunks = -(-len(params) // chunk)
    t_start = time.time()
    for c in range(n_chunks):
        name = f"chunk_{c:05d}.npz"
        if name in manifest["chunks"]:
            continue
        sl = slice(c * chunk, min((c + 1) * chunk, len(params)))
        p = params[sl]
        pts = np.arange(sl.start, sl.stop)
        pad = chunk - len(p)  # one compiled shape: pad the last chunk
        pp = np.concatenate([p, np.repeat(p[-1:], pad, 0)]) if pad else p
        ptp = np.concatenate([pts, np.repeat(pts[-1:], pad)]) if pad else pts
        t0 = time.time()
        stats = batch_statistics(
            circuit,
            pp,
            ptp,
            n_seeds=n_seeds,
            noise_seed=noise_seed,
            t_transient=t_transient,
            t_measure=t_measure,
        )[: len(p)]
        buf = io.BytesIO()
        np.savez(buf, params=p, points=pts, stats=stats)
        atomic_write(path / name, buf.getvalue())
        elapsed = time.time() - t0
        manifest["chunks"][name] = {"sha256": file_sha256(path / name), "seconds": elapsed}
        manifest["cpu_seconds"] = manifest["cpu_seconds"] + elapsed
        write_json_atomic(mpath, manifest, checksum="manifest_sha256")
        if verbose:
            print(f"{path.name}: chunk {c + 1}/{n_chunks} in {elapsed:.1f} s", flush=True)
        if max_seconds is not None and time.time() - t_start > max_seconds:
            break
    return path


def load_sweep(path: str | Path, *, complete: bool = False) -> dict[str, np.ndarray]:
    """A sweep's arrays, checksums verified: ``params [M, 6]``, ``per_seed [M, S, 5]``, the seed
    ``mean`` and ``std`` ``[M, 5]`` (NaN CVs ignored), ``regime [M]``, ``runaway [M]``,
    ``points [M]`` (indices into the design). ``complete`` requires every chunk."""
    path = Path(path)
    manifest = read_json(path / _MANIFEST, checksum="manifest_sha256")
    cfg = manifest["config"]
    n_chunks = -(-cfg["n_points"] // cfg["chunk"])
    if complete and len(manifest["chunks"]) != n_chunks:
        raise ValueError(f"{path}: {len(manifest['chunks'])} of {n_chunks} chunks present")
    parts = []
    for name, entry in sorted(manifest["chunks"].items()):
        if file_sha256(path / name) != entry["sha256"]:
            raise ValueError(f"{path / name}: checksum mismatch")
        with np.load(path / name) as z:
            parts.append({k: z[k] for k in ("params", "points", "stats")})
    params = np.concatenate([p["params"] for p in parts])
    per_seed = np.concatenate([p["stats"] for p in parts]).astype(np.float64)
    with np.errstate(all="ignore"):
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            mean = np.nanmean(per_seed, axis=1)
            std = np.nanstd(per_seed, axis=1, ddof=1) if per_seed.shape[1] > 1 else 0 * mean
    return {
        "params": params,
        "points": np.concatenate([p["points"] for p in parts]),
        "per_seed": per_seed,
        "mean": mean,
        "std": std,
        "regime": regime(mean[:, 0], mean[:, 4]),
        "runaway": mean[:, 0] > RUNAWAY_RATE,
        "config": cfg,
    }
