"""Generating a dataset: a teacher run on sampled inputs, batched, written to zarr, resumable."""

from __future__ import annotations

import datetime
import json
import os
import shutil
import warnings
from pathlib import Path
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .._population import population
from .._simulator import IOSpec, Simulator
from . import _store as st
from ._dataset import Dataset, open_dataset

INPUTS_RULE = "inputs[i] = sampler(jax.random.fold_in(jax.random.key(seed), i))"


def generate(
    teacher: str | Simulator,
    sampler: Any,
    n: int,
    path: str | os.PathLike,
    *,
    params: Any = None,
    seed: int = 0,
    chunk_size: int = 64,
    splits: Any = (0.8, 0.1, 0.1),
    progress: bool = True,
    overwrite: bool = False,
) -> Dataset:
    """Simulate ``teacher`` on ``n`` inputs drawn from ``sampler``; write them to a zarr store.

    Simulation ``i`` runs on ``sampler(jax.random.fold_in(jax.random.key(seed), i))``, so any
    one can be regenerated on its own (``jax.jit(sampler)(key)`` reproduces the stored inputs
    bit for bit; an un-jitted call may differ by float rounding). Simulations run ``chunk_size``
    at a time through :func:`jaxneuro.population` (vmapped, sharded over all devices), and each
    chunk is one zarr chunk per array. ``path`` receives ``inputs [n, T, n_inputs]``, ``outputs/<name> [n, T, ...]``,
    ``manifest.json`` and ``progress.json``.

    Interrupted runs resume: a chunk is recorded in ``progress.json`` (atomically, with the
    sha256 of its files, checked when it is read) only after its data is written, so calling ``generate`` again with the same arguments computes exactly the
    missing chunks, and the arrays are bit-identical to an uninterrupted run. Calling it on a
    complete dataset returns it without recomputing.

    Args:
        teacher: a :class:`~jaxneuro.Simulator`, or a registry name for :func:`jaxneuro.create`.
        sampler: a stimulus distribution (e.g. :class:`OlahSynaptic`, :class:`OUCurrent`):
            ``sampler(key) -> [T, n_inputs]`` with ``describe() -> dict``.
        n: number of simulations.
        path: directory of the zarr store (created; must be absent, empty, or this dataset).
        params: teacher parameters (default ``teacher.init(jax.random.key(seed))``).
        seed: base seed of the inputs and of the split permutation.
        chunk_size: simulations per batch and per stored chunk.
        splits: ``(train, validation, test)`` fractions, or ``{name: fraction}``; a seeded
            permutation of the indices is cut by them and stored in the manifest.
        progress: show a tqdm progress bar.
        overwrite: delete an existing dataset at ``path`` (one with a manifest) and start over.

    Returns:
        The complete :class:`Dataset`.

    Raises:
        ValueError: bad arguments; inputs that do not fit the teacher; an existing dataset at
            ``path`` made with different arguments (the differing fields are named); non-finite
            teacher outputs.
    """
    from tqdm.auto import tqdm

    registry_name = None
    if isinstance(teacher, str):
        from .._registry import create

        registry_name, teacher = teacher, create(teacher)
    if not isinstance(teacher, Simulator):
        raise ValueError(
            f"teacher must be a jaxneuro Simulator or a registry name, got {teacher!r}"
        )
    if not (callable(sampler) and callable(getattr(sampler, "describe", None))):
        raise ValueError(
            f"sampler must be callable as sampler(key) and have describe(), got {sampler!r}"
        )
    _positive_int("n", n)
    _positive_int("chunk_size", chunk_size)
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got seed={seed!r}")
    seed = int(seed)
    fractions = st.check_fractions(splits)
    key = jax.random.key(seed)
    if params is None:
        params = teacher.init(key)

    x_struct, out_struct = _shapes(teacher, params, sampler, key)
    manifest = _manifest(
        teacher,
        registry_name,
        params,
        sampler,
        seed,
        n,
        chunk_size,
        fractions,
        x_struct,
        out_struct,
    )
    try:
        manifest = json.loads(json.dumps(manifest, allow_nan=False))
    except (TypeError, ValueError) as e:
        raise ValueError(
            f"the manifest must be plain JSON ({e}); check sampler.describe() and the parameters"
        ) from None
    path = Path(path)
    st.check_manifest(manifest, path)  # the teacher's outputs agree with its spec
    _prepare(path, manifest, overwrite)

    with st.exclusive(path):
        manifest = _reconcile(path, manifest)
        n_chunks = manifest["n_chunks"]
        done, sums = st.read_progress(path, n_chunks)
        arrays = _arrays(path, manifest, done)
        todo = [c for c in range(n_chunks) if c not in done]
        written = sum(min(chunk_size, n - c * chunk_size) for c in done)
        bar = tqdm(total=n, initial=written, unit="sim", desc="generate", disable=not progress)
        run = _runner(teacher, sampler, chunk_size)
        with bar:
            pending = None
            for c in todo:  # dispatch chunk c, then write chunk c-1 while c computes
                launched = (c, run(params, key, c * chunk_size))
                if pending is not None:
                    _commit(path, arrays, *pending, manifest, done, sums, bar)
                pending = launched
            if pending is not None:
                _commit(path, arrays, *pending, manifest, done, sums, bar)
    return open_dataset(path)


def _positive_int(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {name}={value!r}")


def _shapes(teacher: Simulator, params: Any, sampler: Any, key: Any):
    spec = teacher.spec
    x = jax.eval_shape(sampler, key)
    if len(x.shape) != 2 or x.shape[1] != spec.n_inputs:
        raise ValueError(
            f"the sampler gives inputs of shape {tuple(x.shape)}, but the teacher takes "
            f"[T, {spec.n_inputs}] ({', '.join(spec.input_names)})"
        )
    sampler_dt = getattr(sampler, "dt", None)
    if sampler_dt is not None and not np.isclose(float(sampler_dt), spec.dt, rtol=1e-9, atol=0):
        raise ValueError(
            f"the sampler's dt={sampler_dt} ms differs from the teacher's spec.dt={spec.dt} ms"
        )
    outputs, _ = jax.eval_shape(teacher.apply, params, x)
    return x, outputs


def _manifest(teacher, registry_name, params, sampler, seed, n, chunk_size, fractions, x, outs):
    import jaxneuro

    spec = teacher.spec
    described = sampler.describe()
    if not isinstance(described, dict):
        raise ValueError(f"sampler.describe() must return a dict, got {type(described).__name__}")
    values, digest = st.params_record(params)
    arrays = {st.INPUTS: {"shape": [n, *x.shape], "dtype": str(np.dtype(x.dtype))}}
    for name, a in outs.items():
        arrays[f"{st.OUTPUTS}/{name}"] = {"shape": [n, *a.shape], "dtype": str(np.dtype(a.dtype))}
    return {
        "format": st.FORMAT,
        "format_version": st.FORMAT_VERSION,
        "teacher": {
            "class": type(teacher).__name__,
            "module": type(teacher).__module__,
            "registry_name": registry_name,
            "repr": st.clean_repr(teacher),
            "spec": spec.to_json(),
        },
        "params": values,
        "params_sha256": digest,
        "sampler": st.jsonable(described),
        "inputs_rule": INPUTS_RULE,
        "seed": seed,
        "n": n,
        "dt": float(spec.dt),
        "n_samples": int(x.shape[0]),
        "chunk_size": chunk_size,
        "n_chunks": -(-n // chunk_size),
        "arrays": arrays,
        "splits": {
            "fractions": fractions,
            "method": "numpy.random.default_rng(seed).permutation(n), cut by the fractions",
            "indices": st.split_indices(fractions, n, seed),
        },
        "jaxneuro_version": jaxneuro.__version__,
        "jax_version": jax.__version__,
        "backend": jax.default_backend(),
        "n_devices": jax.device_count(),
        "created": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
    }


def _prepare(path: Path, manifest: dict, overwrite: bool) -> None:
    """Create ``path`` with its manifest, or check that it holds a dataset (and maybe delete it)."""
    if path.exists() and not path.is_dir():
        raise ValueError(f"{path} exists and is not a directory")
    has_manifest = (path / st.MANIFEST).is_file()
    if path.exists() and not has_manifest and any(_user_entries(path)):
        raise ValueError(
            f"{path} exists, is not empty, and holds no jaxneuro dataset (no {st.MANIFEST}); "
            "choose another path"
        )
    if overwrite and has_manifest:
        with st.exclusive(path):  # refuse while another process generates into it
            pass
        shutil.rmtree(path)
        has_manifest = False
    path.mkdir(parents=True, exist_ok=True)
    if not has_manifest:
        st.write_manifest(path, manifest)


def _user_entries(path: Path):
    """Entries of ``path`` other than what an interrupted first call may have left."""
    ours = {st.LOCK}
    return (p for p in path.iterdir() if p.name not in ours and not p.name.endswith(".tmp"))


def _reconcile(path: Path, requested: dict) -> dict:
    """The stored manifest, after checking that it describes the dataset requested."""
    stored = st.read_manifest(path)
    try:  # a manifest from before channel kinds reads as the same spec, written today's way
        spec = IOSpec.from_json(stored["teacher"]["spec"]).to_json()
        stored = {**stored, "teacher": {**stored["teacher"], "spec": spec}}
    except (KeyError, TypeError, ValueError):
        pass  # the comparison below names what differs
    stored_fractions = stored["splits"].get("fractions")
    req = dict(requested, splits={"fractions": requested["splits"]["fractions"]})
    sto = dict(stored, splits={"fractions": stored_fractions})
    diff = st.differences(sto, req)
    if diff:
        details = "; ".join(
            f"{k}: stored {_get(sto, k)!r}, requested {_get(req, k)!r}" for k in diff[:6]
        )
        raise ValueError(
            f"{path} holds a dataset generated with different arguments ({details}). Resume with "
            "the original arguments, choose another path, or pass overwrite=True to replace it"
        )
    for key in ("jaxneuro_version", "jax_version", "backend"):
        if stored.get(key) != requested.get(key):
            warnings.warn(
                f"resuming {path}: it was started with {key}={stored.get(key)!r}, now "
                f"{requested.get(key)!r}; new chunks may not be bit-identical to old ones",
                stacklevel=3,
            )
    return stored


def _get(tree: dict, dotted: str) -> Any:
    for part in dotted.split("."):
        tree = tree.get(part, "<absent>") if isinstance(tree, dict) else "<absent>"
    text = repr(tree)
    return tree if len(text) <= 120 else text[:117] + "..."


def _arrays(path: Path, manifest: dict, done: set[int]) -> dict:
    """The zarr arrays of the store: created afresh when no chunk is recorded yet."""
    import zarr

    from ._dataset import check_arrays

    size = manifest["chunk_size"]
    if not done:
        group = zarr.open_group(path, mode="a")
        for name, info in manifest["arrays"].items():
            shape = tuple(info["shape"])
            group.create_array(
                name,
                shape=shape,
                chunks=(size, *shape[1:]),
                dtype=info["dtype"],
                fill_value=np.nan if np.dtype(info["dtype"]).kind == "f" else 0,
                config={"write_empty_chunks": True},  # every written chunk leaves a file
                overwrite=True,
            )
    group = zarr.open_group(path, mode="r+")
    try:
        check_arrays(path, manifest, group, done)
    except st.DatasetError as e:
        raise st.DatasetError(f"cannot resume: {e}") from None
    return {name: group[name] for name in manifest["arrays"]}


@eqx.filter_jit
def _inputs(sampler, key, start, chunk_size: int):
    """Inputs of simulations ``start … start + chunk_size - 1`` (one compile per chunk size)."""
    index = start + jnp.arange(chunk_size, dtype=jnp.uint32)
    return jax.vmap(lambda i: sampler(jax.random.fold_in(key, i)))(index)


def _runner(teacher: Simulator, sampler: Any, chunk_size: int):
    """``run(params, key, start)``: inputs and outputs of simulations ``start … start+chunk_size-1``.

    Every chunk has the same shape (the last is padded with extra simulations, then cut), so
    the teacher compiles once. Arrays come back as device arrays; JAX computes them
    asynchronously while the previous chunk is written.
    """

    def run(params, key, start):
        x = _inputs(sampler, key, jnp.uint32(start), chunk_size)
        outputs, _ = population(teacher, params, x)
        return x, outputs

    return run


def _commit(path, arrays, c, result, manifest, done, sums, bar) -> None:
    """Write chunk ``c``'s rows, then record it as done with its files' sha256 (in that order)."""
    x, outputs = result
    n, size = manifest["n"], manifest["chunk_size"]
    start, stop = c * size, min(n, (c + 1) * size)
    rows = {st.INPUTS: np.asarray(x)[: stop - start]}
    for name, a in outputs.items():
        rows[f"{st.OUTPUTS}/{name}"] = np.asarray(a)[: stop - start]
    for name, a in rows.items():
        bad = ~np.isfinite(a).reshape(a.shape[0], -1).all(axis=1)
        if bad.any():
            which = (start + np.flatnonzero(bad)).tolist()
            raise ValueError(
                f"{name} of simulations {which[:10]} is not finite; nothing of chunk {c} was "
                "written. Check the teacher, its parameters and the sampler for these indices"
            )
    for name, a in rows.items():
        _write_rows(arrays[name], start, stop, a)
    done.add(c)
    sums[c] = st.chunk_sums(path, arrays, c)
    st.write_progress(path, done, manifest["n_chunks"], sums)
    bar.update(stop - start)


def _write_rows(array, start: int, stop: int, rows: np.ndarray) -> None:
    array[start:stop] = rows
