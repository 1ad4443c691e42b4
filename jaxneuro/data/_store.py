"""The on-disk layout of a dataset: manifest, progress record, zarr arrays (private).

``path/`` is a zarr v3 group holding ``inputs [n, T, n_inputs]`` and ``outputs/<name> [n, T, ...]``,
chunked along the first axis by ``chunk_size`` (one chunk of simulations = one file per array).
Beside them: ``manifest.json`` (what produced the data; written once, atomically, before any
array) and ``progress.json`` (the chunks fully written; replaced atomically after each chunk).
Unwritten samples read as NaN (the arrays' fill value), never as plausible zeros.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import re
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import jax
import numpy as np

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


class DatasetError(ValueError):
    """A dataset on disk is missing, corrupt, incomplete, or does not match what was asked."""


def write_json(path: Path, obj: Any) -> None:
    """Write ``obj`` as JSON to ``path`` atomically and durably (temp file, fsync, replace)."""
    text = json.dumps(obj, indent=1) + "\n"
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as f:
            os.fchmod(f.fileno(), 0o666 & ~_umask())  # as open() would, not mkstemp's 0o600
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    with contextlib.suppress(OSError):  # make the rename itself durable where supported
        dfd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def read_json(path: Path, what: str) -> Any:
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise DatasetError(f"{path} is missing: {what}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise DatasetError(f"{path} is not valid JSON ({e}); the file is corrupt") from None


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
    return manifest


def read_manifest(path: Path) -> dict:
    manifest = read_json(
        path / MANIFEST, "not a jaxneuro dataset, or generation stopped before it began"
    )
    return check_manifest(manifest, path)


def read_progress(path: Path, n_chunks: int) -> set[int]:
    """The chunks recorded as fully written (empty when no progress file exists yet)."""
    file = path / PROGRESS
    if not file.exists():
        return set()
    record = read_json(file, "")
    done = record.get("completed_chunks") if isinstance(record, dict) else None
    if not (
        isinstance(done, list)
        and all(isinstance(c, int) and not isinstance(c, bool) for c in done)
        and all(0 <= c < n_chunks for c in done)
    ):
        raise DatasetError(
            f"{file} must list completed_chunks as integers in [0, {n_chunks}); it is corrupt"
        )
    return set(done)


def write_progress(path: Path, done: set[int], n_chunks: int) -> None:
    record = {
        "completed_chunks": sorted(done),
        "n_chunks": n_chunks,
        "complete": len(done) == n_chunks,
    }
    write_json(path / PROGRESS, record)


def differences(stored: Mapping, requested: Mapping, prefix: str = "") -> list[str]:
    """Dotted keys whose values differ between two manifests (informative keys excluded)."""
    out = []
    for key in sorted(set(stored) | set(requested)):
        if not prefix and key in INFORMATIVE:
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
