"""Files a user keeps: simulated traces with a JSON manifest, and figures.

Everything is written atomically (to a temporary name beside the target, then renamed), so an
interrupted run never leaves a half-written file under the final name. Formats are safe: ``.npz``
(read with ``allow_pickle=False``), zarr v3 and JSON; never pickle.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

FORMATS = ("npz", "zarr")
MANIFEST = "manifest.json"


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike, directory: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; on success rename it to ``target``.

    ``directory=True`` for stores that are folders (zarr): an existing ``target`` folder is
    replaced only after the new one is complete. On an exception the temporary is removed and
    ``target`` is left as it was.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    staged = tmp / target.name
    try:
        yield staged
        if directory and target.is_dir():
            old = tmp / "replaced"
            target.rename(old)  # both renames stay on one file system
            try:
                staged.rename(target)
            except BaseException:
                old.rename(target)
                raise
        else:
            os.replace(staged, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def write_json(path: str | os.PathLike, obj: Any) -> Path:
    """Write ``obj`` as indented JSON, atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, sort_keys=False) + "\n")
    return Path(path)


def save_traces(
    directory: str | os.PathLike,
    arrays: Mapping[str, np.ndarray],
    manifest: Mapping[str, Any],
    fmt: str = "npz",
) -> Path:
    """Write ``arrays`` to ``directory/traces.{npz,zarr}`` and ``manifest`` to ``manifest.json``.

    The manifest gains a ``"traces"`` entry naming the file, its format, and each array's shape
    and dtype. The traces are written first and the manifest last, both atomically.

    Returns:
        The path of the traces file (or zarr folder).
    """
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {FORMATS}, got {fmt!r}")
    directory = Path(directory)
    arrays = {k: np.asarray(v) for k, v in arrays.items()}
    target = directory / f"traces.{fmt}"
    if fmt == "npz":
        with atomic_path(target) as tmp, open(tmp, "wb") as f:
            np.savez(f, **arrays)
    else:
        import zarr

        with atomic_path(target, directory=True) as tmp:
            group = zarr.open_group(tmp, mode="w")
            for name, a in arrays.items():
                group.create_array(name, data=a)
            group.attrs["manifest"] = _jsonable(manifest)
    manifest = dict(manifest)
    manifest["traces"] = {
        "file": target.name,
        "format": fmt,
        "arrays": {k: {"shape": list(a.shape), "dtype": str(a.dtype)} for k, a in arrays.items()},
    }
    write_json(directory / MANIFEST, _jsonable(manifest))
    return target


def load_traces(directory: str | os.PathLike) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Read what :func:`save_traces` wrote: ``(arrays, manifest)``."""
    directory = Path(directory)
    manifest = json.loads((directory / MANIFEST).read_text())
    target = directory / manifest["traces"]["file"]
    if manifest["traces"]["format"] == "npz":
        with np.load(target, allow_pickle=False) as f:
            arrays = {k: f[k] for k in f.files}
    else:
        import zarr

        group = zarr.open_group(target, mode="r")
        arrays = {k: np.asarray(a[...]) for k, a in group.arrays()}
    return arrays, manifest


def _jsonable(obj: Any) -> Any:
    """Arrays and numpy scalars as plain lists and numbers, recursively."""
    if isinstance(obj, Mapping):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, str | bool | int | float) or obj is None:
        return obj
    a = np.asarray(obj)
    if a.dtype.kind == "f" and a.dtype.itemsize < 8:  # 6.3, not 6.300000190734863
        short = [float(str(x)) for x in a.flat]  # numpy scalars print their shortest repr
        return np.array(short, dtype=object).reshape(a.shape).tolist()
    return a.tolist()


def population_figure(
    t: np.ndarray,
    v: np.ndarray,
    spikes: np.ndarray,
    title: str = "",
    n_traces: int = 4,
):
    """Voltage traces of up to ``n_traces`` cells (spread over the population) above a raster.

    Args:
        t: sample times (ms), ``[T]``.
        v: membrane potential (mV), ``[N, T]``.
        spikes: spike counts per sample, ``[N, T]``.

    Returns:
        A ``matplotlib.figure.Figure`` (no pyplot state, no GUI backend).
    """
    from matplotlib.figure import Figure

    n = v.shape[0]
    cells = np.unique(np.linspace(0, n - 1, min(n, n_traces)).round().astype(int))
    fig = Figure(figsize=(8, 6), layout="constrained")
    ax_v, ax_r = fig.subplots(2, 1, sharex=True, height_ratios=(1, 1))
    for i in cells:
        ax_v.plot(t, v[i], lw=0.8, label=f"cell {i}")
    ax_v.set_ylabel("v (mV)")
    ax_v.legend(loc="upper right", fontsize="small", ncols=len(cells))
    if title:
        ax_v.set_title(title)
    cell, sample = np.nonzero(spikes)
    ax_r.scatter(t[sample], cell, s=1.0, marker="|", linewidths=0.5, color="k")
    ax_r.set_ylim(-0.5, n - 0.5)
    ax_r.set_ylabel("cell")
    ax_r.set_xlabel("time (ms)")
    ax_r.set_title(f"spike raster ({int(spikes.sum())} spikes, {n} cells)", fontsize="medium")
    return fig


def save_figure(fig, path: str | os.PathLike, dpi: int = 120) -> Path:
    """Save a matplotlib figure as PNG, atomically."""
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=dpi)
    return Path(path)
