"""How far a fit got, read from its checkpoint without loading it."""

from __future__ import annotations

import json
import os


def checkpoint_step(path: str | os.PathLike) -> int:
    """The step a fit's checkpoint holds, from its safetensors header (0 if there is none, or it
    cannot be read: the fit itself then reports what is wrong with it)."""
    try:
        with open(path, "rb") as f:
            header = json.loads(f.read(int.from_bytes(f.read(8), "little")))
        meta = json.loads(header["__metadata__"]["metadata"])
        return int(meta["counters"]["step"])
    except (OSError, ValueError, KeyError, TypeError):
        return 0
