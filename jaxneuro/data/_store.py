"""The on-disk layout of a dataset: manifest, progress record, zarr arrays (private).

``path/`` is a zarr v3 group holding ``inputs [n, T, n_inputs]`` and ``outputs/<name> [n, T, ...]``,
chunked along the first axis by ``chunk_size`` (one chunk of simulations = one file per array).
Beside them: ``manifest.json`` (what produced the data; written once, atomically, before any
array) and ``progress.json`` (the chunks fully written; replaced atomically after each chunk).
Unwritten samples read as NaN (the arrays' fill value), never as plausible zeros.

Checksums: the manifest carries ``manifest_sha256`` and the progress record ``progress_sha256``
(each the sha256 of the file's canonical JSON without that key, see :func:`jaxneuro._io.read_json`),
and the progress record holds ``chunk_sha256``: ``{chunk: {array name: sha256 of the chunk's
file}}``, recorded when the chunk is written and checked when it is first read. Datasets written
before checksums (no such keys) are read unverified.
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import jax
import numpy as np

from .._io import file_sha256, write_json_atomic
from .._io import read_json as _read_json
from .._simulator import IOSpec

FORMAT = "jaxneuro.dataset"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
PROGRESS = "progress.json"
LOCK = ".lock"
INPUTS = "inputs"
OUTPUTS = "outputs"

REQUIRED = (
    "format",
    "format_version",
    "teacher",
    "params_sha256",
    "sampler",
    "seed",
    "n",
    "dt",
    "n_samples",
    "chunk_size",
    "n_chunks",
    "arrays",
    "splits",
)
"""Keys every manifest must have."""

INFORMATIVE = ("created", "jaxneuro_version", "jax_version", "backend", "n_devices")
"""Manifest keys that record where and when, and do not take part in the resume check."""

MANIFEST_SUM, PROGRESS_SUM, CHUNK_SUMS = "manifest_sha256", "progress_sha256", "chunk_sha256"


class DatasetError(ValueError):
    """A dataset on disk is missing, corrupt, incomplete, or does not match what was asked."""


def read_json(path: Path, what: str, checksum: str | None = None) -> Any:
    """The JSON in ``path``; a :class:`DatasetError` naming it when missing (``what`` says what
    that means), not text, not JSON, or not matching its own ``checksum`` key."""
    return _read_json(path, error=DatasetError, checksum=checksum, missing=what)


def jsonable(obj: Any) -> Any:
    """Arrays and numpy scalars as plain numbers and lists (float32 by shortest repr)."""
    if isinstance(obj, Mapping):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [jsonable(v) for v in obj]
    if obj is None or isinstance(obj, str | bool | int | float):
        return obj
    a = np.asarray(obj)
    if a.dtype.kind == "f":
        return np.array([float(str(x)) for x in a.flat], dtype=object).reshape(a.shape).tolist()
    return a.tolist()


def params_record(params: Any, max_values: int = 100_000) -> tuple[Any, str]:
    """``(values, sha256)`` of a parameter pytree; ``values`` is ``None`` above ``max_values``."""
    leaves = jax.tree_util.tree_flatten_with_path(params)[0]
    digest = hashlib.sha256()
    size = 0
    for path, leaf in leaves:
        a = np.asarray(leaf)
        size += a.size
        digest.update(f"{jax.tree_util.keystr(path)}|{a.dtype}|{a.shape}|".encode())
        digest.update(np.ascontiguousarray(a).tobytes())
    if size > max_values:
        return None, digest.hexdigest()
    if isinstance(params, Mapping | list | tuple):
        values = jsonable(jax.tree.map(np.asarray, params))
    else:  # any other pytree: flat {key path: value}
        values = {jax.tree_util.keystr(p): jsonable(np.asarray(v)) for p, v in leaves}
    return values, digest.hexdigest()


def clean_repr(obj: Any) -> str:
    """``repr(obj)`` without memory addresses, so it is stable across processes."""
    return re.sub(r" at 0x[0-9a-fA-F]+", "", repr(obj))


def split_indices(fractions: Mapping[str, float], n: int, seed: int) -> dict[str, list[int]]:
    """A seeded permutation of ``range(n)`` cut by ``fractions``; each part sorted."""
    perm = np.random.default_rng(seed).permutation(n)
    edges = np.round(np.cumsum(list(fractions.values())) * n).astype(int)
    edges[-1] = n
    parts = np.split(perm, edges[:-1])
    return {name: sorted(int(i) for i in part) for name, part in zip(fractions, parts, strict=True)}


def check_fractions(splits: Any) -> dict[str, float]:
    """``(train, validation, test)`` fractions, or ``{name: fraction}``, as a checked dict."""
    if isinstance(splits, Mapping):
        fractions = {str(k): v for k, v in splits.items()}
    else:
        try:
            values = tuple(splits)
        except TypeError:
            raise ValueError(
                f"splits must be fractions or {{name: fraction}}, got {splits!r}"
            ) from None
        if len(values) != 3:
            raise ValueError(
                f"splits must be 3 fractions (train, validation, test) or {{name: fraction}}, "
                f"got {splits!r}"
            )
        fractions = dict(zip(("train", "validation", "test"), values, strict=True))
    if not fractions:
        raise ValueError("splits must name at least one split")
    for name, f in fractions.items():
        if isinstance(f, bool) or not isinstance(f, int | float) or not (0 <= f <= 1):
            raise ValueError(f"split fraction {name!r} must be a number in [0, 1], got {f!r}")
    total = math.fsum(fractions.values())
    if abs(total - 1.0) > 1e-6:
        raise ValueError(f"split fractions must sum to 1, got {fractions} (sum {total!r})")
    return {k: float(v) for k, v in fractions.items()}


def check_manifest(manifest: Any, path: Path) -> dict:
    """Raise :class:`DatasetError` unless ``manifest`` has the keys and types of the format."""
    where = path / MANIFEST
    if not isinstance(manifest, dict):
        raise DatasetError(f"{where} must hold a JSON object, got {type(manifest).__name__}")
    if manifest.get("format") != FORMAT:
        raise DatasetError(
            f"{where} is not a jaxneuro dataset manifest (format={manifest.get('format')!r}, "
            f"expected {FORMAT!r})"
        )
    missing = [k for k in REQUIRED if k not in manifest]
    if missing:
        raise DatasetError(f"{where} is missing keys {missing}; the manifest is corrupt")
    if manifest["format_version"] != FORMAT_VERSION:
        raise DatasetError(
            f"{where} has format_version {manifest['format_version']!r}; this jaxneuro reads "
            f"version {FORMAT_VERSION}"
        )
    for key in ("n", "n_samples", "chunk_size", "n_chunks"):
        v = manifest[key]
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise DatasetError(f"{where}: {key} must be a positive integer, got {v!r}")
    n, size = manifest["n"], manifest["chunk_size"]
    if manifest["n_chunks"] != -(-n // size):
        raise DatasetError(
            f"{where}: n_chunks={manifest['n_chunks']} does not match n={n} and chunk_size={size}"
        )
    arrays = manifest["arrays"]
    if not isinstance(arrays, dict) or INPUTS not in arrays:
        raise DatasetError(f"{where}: 'arrays' must describe at least {INPUTS!r}")
    for name, info in arrays.items():
        if not (isinstance(info, dict) and isinstance(info.get("shape"), list) and "dtype" in info):
            raise DatasetError(f"{where}: arrays[{name!r}] needs a 'shape' list and a 'dtype'")
        if info["shape"][:1] != [n]:
            raise DatasetError(f"{where}: arrays[{name!r}] has shape {info['shape']}, not n={n}")
    splits = manifest["splits"]
    if not (isinstance(splits, dict) and isinstance(splits.get("indices"), dict)):
        raise DatasetError(f"{where}: 'splits' must hold the 'indices' of each split")
    teacher = manifest["teacher"]
    if not (isinstance(teacher, dict) and isinstance(teacher.get("spec"), dict)):
        raise DatasetError(f"{where}: 'teacher' must hold the teacher's 'spec'")
    _check_consistent(manifest, where)
    return manifest


def manifest_spec(manifest: dict, where: Any) -> IOSpec:
    """The teacher's :class:`~jaxneuro.IOSpec` recorded in ``manifest``."""
    try:
        return IOSpec.from_json(manifest["teacher"]["spec"])
    except (KeyError, TypeError, ValueError) as e:
        raise DatasetError(f"{where}: teacher.spec is malformed ({e})") from None


def _check_consistent(manifest: dict, where: Any) -> None:
    """Refuse a manifest that contradicts itself: its dt and its teacher's spec, its sizes and
    its arrays' shapes, or splits that overlap or index outside ``[0, n)``."""
    spec = manifest_spec(manifest, where)
    n, n_samples, dt = manifest["n"], manifest["n_samples"], manifest["dt"]
    if isinstance(dt, bool) or not isinstance(dt, int | float) or not math.isclose(dt, spec.dt):
        raise DatasetError(
            f"{where} contradicts itself: dt={dt!r} ms, but its teacher.spec has dt={spec.dt} ms"
        )
    shape = manifest["arrays"][INPUTS]["shape"]
    if shape != [n, n_samples, spec.n_inputs]:
        raise DatasetError(
            f"{where} contradicts itself: arrays[{INPUTS!r}] has shape {shape}, but n={n}, "
            f"n_samples={n_samples} and the teacher takes {spec.n_inputs} input columns"
        )
    n_out = spec.n_outputs(n_samples)
    for name, info in manifest["arrays"].items():
        channel = name.split("/", 1)[1] if name.startswith(f"{OUTPUTS}/") else None
        if channel in spec.output_names and info["shape"][1:2] != [n_out]:
            raise DatasetError(
                f"{where} contradicts itself: arrays[{name!r}] has shape {info['shape']}, but "
                f"n_samples={n_samples} inputs give {n_out} output samples (output_dt="
                f"{spec.output_dt} ms)"
            )
    seen: dict[int, str] = {}
    for split, indices in manifest["splits"]["indices"].items():
        if not (
            isinstance(indices, list)
            and all(isinstance(i, int) and not isinstance(i, bool) for i in indices)
        ):
            raise DatasetError(f"{where}: split {split!r} must list integer indices")
        for i in indices:
            if not 0 <= i < n:
                raise DatasetError(
                    f"{where} contradicts itself: split {split!r} holds index {i}, outside "
                    f"[0, n={n})"
                )
            if i in seen:
                raise DatasetError(
                    f"{where} contradicts itself: splits {seen[i]!r} and {split!r} overlap "
                    f"(simulation {i} is in both)"
                    if seen[i] != split
                    else f"{where}: split {split!r} lists simulation {i} twice"
                )
            seen[i] = split


def read_manifest(path: Path) -> dict:
    manifest = read_json(
        path / MANIFEST,
        "not a jaxneuro dataset, or generation stopped before it began",
        checksum=MANIFEST_SUM,
    )
    return check_manifest(manifest, path)


def write_manifest(path: Path, manifest: dict) -> None:
    """Write ``path/manifest.json`` atomically, with its own checksum."""
    write_json_atomic(path / MANIFEST, manifest, indent=1, checksum=MANIFEST_SUM)


def read_progress(path: Path, n_chunks: int) -> tuple[set[int], dict[int, dict[str, str]]]:
    """``(done, sums)``: the chunks recorded as fully written, and the sha256 of each written
    chunk's file per array where recorded (both empty when no progress file exists yet)."""
    file = path / PROGRESS
    if not file.exists():
        return set(), {}
    record = read_json(file, "", checksum=PROGRESS_SUM)
    done = record.get("completed_chunks") if isinstance(record, dict) else None
    if not (
        isinstance(done, list)
        and all(isinstance(c, int) and not isinstance(c, bool) for c in done)
        and all(0 <= c < n_chunks for c in done)
    ):
        raise DatasetError(
            f"{file} must list completed_chunks as integers in [0, {n_chunks}); it is corrupt"
        )
    raw = record.get(CHUNK_SUMS, {})
    try:
        sums = {int(c): {str(k): str(v) for k, v in d.items()} for c, d in raw.items()}
    except (AttributeError, TypeError, ValueError):
        raise DatasetError(f"{file}: {CHUNK_SUMS} must map chunks to {{array: sha256}}") from None
    if not set(sums) <= set(done):
        raise DatasetError(f"{file} records checksums of chunks it does not list as written")
    return set(done), sums


def write_progress(path: Path, done: set[int], n_chunks: int, sums: Mapping) -> None:
    record = {
        "completed_chunks": sorted(done),
        "n_chunks": n_chunks,
        "complete": len(done) == n_chunks,
        CHUNK_SUMS: {str(c): dict(sorted(sums[c].items())) for c in sorted(sums) if c in done},
    }
    write_json_atomic(path / PROGRESS, record, indent=1, checksum=PROGRESS_SUM)


def chunk_sums(root: Path, arrays: Mapping[str, Any], chunk: int) -> dict[str, str]:
    """``{array name: sha256 of chunk's file}`` for the arrays stored as local files."""
    out = {}
    for name, array in arrays.items():
        file = chunk_file(root, array, chunk)
        if file is not None:
            out[name] = file_sha256(file)
    return out


def verify_chunk(root: Path, arrays: Mapping[str, Any], chunk: int, sums: Mapping) -> None:
    """Raise :class:`DatasetError` naming the file unless each file of ``chunk`` has the sha256
    recorded when it was written (arrays without a recorded sum are not checked)."""
    for name, expected in sums.items():
        array = arrays.get(name)
        file = None if array is None else chunk_file(root, array, chunk)
        if file is None:
            continue
        try:
            actual = file_sha256(file)
        except FileNotFoundError:
            raise DatasetError(
                f"{file}: chunk {chunk} of {name!r} is recorded as written but the file is "
                "missing; the store is truncated"
            ) from None
        if actual != expected:
            raise DatasetError(
                f"{file}: chunk {chunk} of {name!r} is corrupt or truncated: its sha256 "
                f"{actual[:16]}... is not the {expected[:16]}... recorded in {root / PROGRESS} "
                "when it was written. Regenerate the dataset (generate(..., overwrite=True))"
            )


def differences(stored: Mapping, requested: Mapping, prefix: str = "") -> list[str]:
    """Dotted keys whose values differ between two manifests (informative keys excluded)."""
    out = []
    for key in sorted(set(stored) | set(requested)):
        if not prefix and (key in INFORMATIVE or key == MANIFEST_SUM):
            continue
        name = f"{prefix}{key}"
        a, b = stored.get(key, "<absent>"), requested.get(key, "<absent>")
        if isinstance(a, Mapping) and isinstance(b, Mapping):
            out += differences(a, b, f"{name}.")
        elif a != b:
            out.append(name)
    return out


@contextlib.contextmanager
def exclusive(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on the store while generating (released even on SIGKILL)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - non-POSIX
        yield
        return
    with open(path / LOCK, "a") as f:
        try:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise DatasetError(
                f"another process is generating the dataset at {path}; wait for it or stop it"
            ) from None
        try:
            yield
        finally:
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)


def chunk_file(root: Path, array: Any, chunk: int) -> Path | None:
    """Path of chunk ``chunk`` (along the first axis) of a zarr v3 array in a local store."""
    encode = getattr(getattr(array, "metadata", None), "encode_chunk_key", None)
    if encode is None:
        return None
    return root / array.path / encode((chunk,) + (0,) * (array.ndim - 1))
