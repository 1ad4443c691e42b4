"""Atomic checkpoints of pytrees in safetensors (no pickle), restored into a template.

A checkpoint's safetensors metadata holds ``"metadata"`` (the caller's JSON) and ``"sha256"``:
the digest of every tensor's name, dtype, shape and bytes (in name order) and of that metadata
string (:func:`tree_sha256`). :func:`load_tree` recomputes it, so flipped bytes, tensors swapped
between names (even of one shape) and edited metadata raise :class:`CheckpointError`. Checkpoints
written before checksums (no ``"sha256"``) load unverified.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from pathlib import Path

import jax
import numpy as np
from safetensors import SafetensorError
from safetensors.numpy import load, save

from .._io import atomic_write

CHECKSUM = "sha256"


class CheckpointError(ValueError):
    """A checkpoint is missing, corrupt, truncated, or does not fit the model."""


def _flatten(tree) -> dict[str, np.ndarray]:
    leaves = jax.tree_util.tree_flatten_with_path(tree)[0]
    return {jax.tree_util.keystr(path): np.asarray(leaf) for path, leaf in leaves}


def tree_sha256(arrays: Mapping[str, np.ndarray], metadata: str) -> str:
    """Hex sha256 of named arrays (name, dtype, shape, bytes; in name order) and a string."""
    digest = hashlib.sha256()
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        digest.update(f"{len(name)}:{name}|{a.dtype.str}|{a.shape}|{a.nbytes}|".encode())
        digest.update(a.tobytes())
    digest.update(metadata.encode())
    return digest.hexdigest()


def save_tree(path: str | os.PathLike, tree, metadata: dict | None = None) -> None:
    """Write ``tree``'s arrays to ``path`` atomically (:func:`jaxneuro._io.atomic_write`), with
    ``metadata`` (JSON-able) and a checksum of both."""
    arrays = _flatten(tree)
    meta = json.dumps(metadata or {})
    header = {"metadata": meta, CHECKSUM: tree_sha256(arrays, meta)}
    atomic_write(path, save(arrays, metadata=header))


def load_tree(path: str | os.PathLike, template):
    """Arrays at ``path`` arranged like ``template`` (same paths, shapes and dtypes).

    Returns ``(tree, metadata)``; raises :class:`CheckpointError` on a missing, truncated or
    corrupt file (checksum), or any mismatch with ``template``.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"no checkpoint at {path}")
    try:
        raw = path.read_bytes()
        arrays = load(raw)
        header_len = int.from_bytes(raw[:8], "little")
        header = json.loads(raw[8 : 8 + header_len])
        stored = header.get("__metadata__", {})
        meta = stored.get("metadata", "{}")
        metadata = json.loads(meta)
    except (SafetensorError, OSError, ValueError, AttributeError, TypeError) as e:
        raise CheckpointError(f"checkpoint {path} is corrupt or truncated: {e}") from e
    if CHECKSUM in stored and stored[CHECKSUM] != tree_sha256(arrays, meta):
        raise CheckpointError(
            f"checkpoint {path} is corrupt: its tensors or metadata do not match the checksum "
            "written with them (flipped bytes, or tensors swapped or edited since it was saved)"
        )
    leaves, treedef = jax.tree_util.tree_flatten_with_path(template)
    restored = []
    for key_path, leaf in leaves:
        key = jax.tree_util.keystr(key_path)
        if key not in arrays:
            raise CheckpointError(f"checkpoint {path} lacks {key}: it is for another model")
        a = arrays[key]
        if a.shape != np.shape(leaf) or a.dtype != np.asarray(leaf).dtype:
            raise CheckpointError(
                f"checkpoint {path}: {key} has shape {a.shape} {a.dtype}, "
                f"the model expects {np.shape(leaf)} {np.asarray(leaf).dtype}"
            )
        restored.append(a)
    extra = set(arrays) - {jax.tree_util.keystr(p) for p, _ in leaves}
    if extra:
        raise CheckpointError(f"checkpoint {path} has arrays the model lacks: {sorted(extra)[:3]}")
    return jax.tree.unflatten(jax.tree.structure(template), restored), metadata
