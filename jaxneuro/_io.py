"""Files a user keeps: one atomic writer, JSON with checksums, simulated traces, figures.

Every file jaxneuro keeps is written by :func:`atomic_path` (or :func:`atomic_write` /
:func:`write_json_atomic` on top of it): to a temporary name beside the target, created with mode
``0o666`` less the umask as ``open()`` would, flushed to disk (fsync), renamed over the target with
``os.replace``, and the rename made durable (directory fsync). An interrupted run never leaves a
half-written file under the final name. Formats are safe: safetensors, ``.npz`` (read with
``allow_pickle=False``), zarr v3 and JSON; never pickle.

JSON files that must not change unnoticed carry a checksum of their own content
(:func:`write_json_atomic` with ``checksum=KEY``): ``KEY`` holds the sha256 of the canonical JSON
(sorted keys, no spaces) of everything else in the object. :func:`read_json` verifies it when the
key is present, and names the file in every error (missing, not UTF-8, not JSON, checksum wrong).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
import shutil
import tempfile
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

FORMATS = ("npz", "zarr")
MANIFEST = "manifest.json"
TRACES_SUM = "manifest_sha256"


# ------------------------------------------------------------------------- atomic writing


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike, directory: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; on success make it ``target``, durably.

    For a file: the temporary file exists (empty, mode ``0o666`` less the umask) when the body
    starts; the body writes it by name (a library's ``save(path)``, ``open(path, "wb")``). After
    the body it is fsynced and renamed over ``target`` (``os.replace``), then the directory is
    fsynced. ``directory=True`` for stores that are folders (zarr): the body creates the folder,
    and an existing ``target`` folder is replaced only after the new one is complete. On an
    exception the temporary is removed and ``target`` is left as it was.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    if directory:
        with _staged_folder(target) as staged:
            yield staged
        return
    tmp, fd = _create_beside(target)
    os.close(fd)
    try:
        yield tmp
        _fsync_file(tmp)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    _fsync_dir(target.parent)


def atomic_write(path: str | os.PathLike, data: bytes | str) -> Path:
    """Write ``data`` (``str`` as UTF-8) to ``path`` atomically and durably (see :func:`atomic_path`).

    The one way jaxneuro writes a whole file: a reader sees the old file or the new one, never a
    part, and a crash after the call returns does not lose it.
    """
    if isinstance(data, str):
        data = data.encode()
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        f.write(data)
    return Path(path)


def write_json_atomic(
    path: str | os.PathLike,
    obj: Any,
    *,
    indent: int | None = 2,
    checksum: str | None = None,
    default: Callable[[Any], Any] | None = None,
) -> Path:
    """Write ``obj`` as JSON (one trailing newline), atomically (:func:`atomic_write`).

    ``checksum="card_sha256"`` (any key name) adds that key to the top-level object: the sha256
    of the canonical JSON of the rest (:func:`json_sha256`), checked by :func:`read_json`.
    ``default`` converts what JSON cannot hold (e.g. ``float`` for numpy scalars).
    """
    if checksum is not None:
        obj = with_checksum(obj, checksum, default=default)
    return atomic_write(path, json.dumps(obj, indent=indent, default=default) + "\n")


write_json = write_json_atomic
"""Former name of :func:`write_json_atomic` (kept while callers move)."""


def _create_beside(target: Path) -> tuple[Path, int]:
    """A new file ``.NAME.XXXXXXXX.tmp`` beside ``target``, opened for writing (umask honoured)."""
    while True:
        tmp = target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp")
        try:
            return tmp, os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:  # pragma: no cover - 2**32 names
            continue


@contextlib.contextmanager
def _staged_folder(target: Path) -> Iterator[Path]:
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    staged = tmp / target.name
    try:
        yield staged
        for root, _, files in os.walk(staged):
            for name in files:
                _fsync_file(Path(root) / name)
        if target.is_dir():
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
    _fsync_dir(target.parent)


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    """Make a rename in ``path`` durable, where the platform allows it."""
    with contextlib.suppress(OSError):
        _fsync_file(path)


# ------------------------------------------------------------------------------ checksums


def file_sha256(path: str | os.PathLike) -> str:
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def path_sha256(path: str | os.PathLike) -> str:
    """Hex sha256 of a file, or of a folder: each file's relative path and sha256, in order."""
    path = Path(path)
    if not path.is_dir():
        return file_sha256(path)
    digest = hashlib.sha256()
    for file in sorted(p for p in path.rglob("*") if p.is_file()):
        digest.update(f"{file.relative_to(path).as_posix()}\0{file_sha256(file)}\n".encode())
    return digest.hexdigest()


def json_sha256(obj: Any) -> str:
    """Hex sha256 of ``obj``'s canonical JSON: sorted keys, no spaces, ASCII.

    Equal for an object and for what JSON reads back from any indentation of it (Python writes
    floats by their shortest round-trip repr).
    """
    text = json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode()).hexdigest()


def with_checksum(
    obj: Mapping[str, Any], key: str, default: Callable[[Any], Any] | None = None
) -> dict:
    """``obj`` (as JSON reads it back) plus ``key``: the :func:`json_sha256` of the rest."""
    if not isinstance(obj, Mapping):
        raise TypeError(f"only a JSON object can carry a checksum, got {type(obj).__name__}")
    body = json.loads(json.dumps({k: v for k, v in obj.items() if k != key}, default=default))
    return {**body, key: json_sha256(body)}


def read_json(
    path: str | os.PathLike,
    *,
    error: type[Exception] = ValueError,
    checksum: str | None = None,
    missing: str = "",
) -> Any:
    """The JSON value in ``path``; every failure raises ``error`` naming the file.

    A missing file (``missing`` says what that means), bytes that are not UTF-8 text (binary
    garbage), text that is not JSON, and, where the object holds the key ``checksum``, content
    that does not match it. A file without the key (written before checksums) is not verified.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise error(f"{path} is missing" + (f": {missing}" if missing else "")) from None
    except OSError as e:
        raise error(f"{path} cannot be read: {e}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise error(
            f"{path} is corrupt: not UTF-8 text (byte {e.start} is {raw[e.start]:#04x}); "
            "binary garbage where JSON should be"
        ) from None
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as e:
        raise error(f"{path} is corrupt: not valid JSON ({e})") from None
    if checksum is not None and isinstance(obj, dict) and checksum in obj:
        check_checksum(obj, checksum, path, error)
    return obj


def check_checksum(obj: Mapping[str, Any], key: str, path: Any, error: type[Exception]) -> None:
    """Raise ``error`` naming ``path`` unless ``obj[key]`` is the checksum of the rest."""
    recorded = obj[key]
    actual = json_sha256({k: v for k, v in obj.items() if k != key})
    if recorded != actual:
        raise error(
            f"{path} is corrupt: its content does not match its {key} (recorded "
            f"{str(recorded)[:16]}..., content {actual[:16]}...); it was damaged or edited after "
            "it was written"
        )


# ---------------------------------------------------------------------------------- traces


def save_traces(
    directory: str | os.PathLike,
    arrays: Mapping[str, np.ndarray],
    manifest: Mapping[str, Any],
    fmt: str = "npz",
) -> Path:
    """Write ``arrays`` to ``directory/traces.{npz,zarr}`` and ``manifest`` to ``manifest.json``.

    The manifest gains a ``"traces"`` entry naming the file, its format, each array's shape and
    dtype, and the traces' ``sha256`` (:func:`path_sha256`); the manifest carries its own
    ``manifest_sha256``. The traces are written first and the manifest last, both atomically.

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
        "sha256": path_sha256(target),
    }
    write_json_atomic(directory / MANIFEST, _jsonable(manifest), checksum=TRACES_SUM)
    return target


def load_traces(directory: str | os.PathLike) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Read what :func:`save_traces` wrote: ``(arrays, manifest)``.

    A :class:`~jaxneuro.data.DatasetError` naming the file when the manifest or the traces are
    corrupt (checksums; files from before checksums are read unverified).
    """
    from .data import DatasetError

    directory = Path(directory)
    manifest = read_json(directory / MANIFEST, error=DatasetError, checksum=TRACES_SUM)
    try:
        target = directory / manifest["traces"]["file"]
    except (KeyError, TypeError):
        raise DatasetError(f"{directory / MANIFEST} does not name its traces file") from None
    expected = manifest["traces"].get("sha256")
    if expected is not None and target.exists() and path_sha256(target) != expected:
        raise DatasetError(
            f"{target} is corrupt or truncated: its sha256 is not the one recorded in "
            f"{directory / MANIFEST} when it was written"
        )
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
