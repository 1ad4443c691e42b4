"""Atomic checkpoints of pytrees in safetensors (no pickle), restored into a template."""

from __future__ import annotations

import json
import os
from pathlib import Path

import jax
import numpy as np
from safetensors import SafetensorError
from safetensors.numpy import load_file, save_file


class CheckpointError(ValueError):
    """A checkpoint is missing, corrupt, truncated, or does not fit the model."""


def _flatten(tree) -> dict[str, np.ndarray]:
    leaves = jax.tree_util.tree_flatten_with_path(tree)[0]
    return {jax.tree_util.keystr(path): np.asarray(leaf) for path, leaf in leaves}


def save_tree(path: str | os.PathLike, tree, metadata: dict | None = None) -> None:
    """Write ``tree``'s arrays to ``path`` atomically (temp file, fsync, rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    meta = {"metadata": json.dumps(metadata or {})}
    save_file(_flatten(tree), str(tmp), metadata=meta)
    with open(tmp, "rb") as f:
        os.fsync(f.fileno())
    os.replace(tmp, path)


def load_tree(path: str | os.PathLike, template):
    """Arrays at ``path`` arranged like ``template`` (same paths, shapes and dtypes).

    Returns ``(tree, metadata)``; raises :class:`CheckpointError` on any mismatch.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"no checkpoint at {path}")
    try:
        arrays = load_file(str(path))
        with open(path, "rb") as f:
            header_len = int.from_bytes(f.read(8), "little")
            header = json.loads(f.read(header_len))
        metadata = json.loads(header.get("__metadata__", {}).get("metadata", "{}"))
    except (SafetensorError, OSError, ValueError, json.JSONDecodeError) as e:
        raise CheckpointError(f"checkpoint {path} is corrupt or truncated: {e}") from e
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
