"""Reading a generated dataset: manifest, lazy zarr arrays, splits and batches."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from . import _store as st


class Batch(NamedTuple):
    """Simulations read into memory: ``inputs [B, T, n_inputs]`` and ``outputs {name: [B, T, ...]}``."""

    inputs: np.ndarray
    outputs: dict[str, np.ndarray]


class Dataset:
    """A teacher's simulations on disk (see :func:`generate`, :func:`open_dataset`).

    Attributes:
        path: the zarr store.
        manifest: what produced the data (teacher, parameters, sampler, seed, splits, …).
        spec: the teacher's :class:`~jaxneuro.IOSpec` (sample interval, channels with units).
        inputs: zarr array ``[n, T, n_inputs]``, read lazily (index it, or use :meth:`batch`).
        outputs: ``{name: zarr array [n, T, ...]}``, one per output channel, read lazily.
        completed_chunks: the chunks of ``chunk_size`` simulations fully written.
        complete: whether every simulation is written.

    :meth:`batch` checks each chunk it reads, the first time it reads it, against the sha256
    recorded when the chunk was written (unless opened with ``verify=False``); :meth:`verify`
    checks them all. Indexing :attr:`inputs` / :attr:`outputs` directly reads unverified.
    """

    def __init__(
        self,
        path: Path,
        manifest: dict,
        group: Any,
        completed: set[int],
        sums: dict[int, dict[str, str]] | None = None,
        verify: bool = True,
    ):
        self.path = path
        self.manifest = manifest
        self.spec = st.manifest_spec(manifest, path / st.MANIFEST)
        self.inputs = group[st.INPUTS]
        self.outputs = {
            name.split("/", 1)[1]: group[name]
            for name in manifest["arrays"]
            if name.startswith(f"{st.OUTPUTS}/")
        }
        self.completed_chunks = frozenset(completed)
        self._arrays = {name: group[name] for name in manifest["arrays"]}
        self._sums = dict(sums or {}) if verify else {}
        self._verified: set[int] = set()

    # --- sizes ------------------------------------------------------------------------------
    @property
    def n(self) -> int:
        """Number of simulations."""
        return self.manifest["n"]

    def __len__(self) -> int:
        return self.n

    @property
    def chunk_size(self) -> int:
        return self.manifest["chunk_size"]

    @property
    def n_chunks(self) -> int:
        return self.manifest["n_chunks"]

    @property
    def complete(self) -> bool:
        return len(self.completed_chunks) == self.n_chunks

    @property
    def n_completed(self) -> int:
        """Number of simulations written."""
        return sum(
            min(self.chunk_size, self.n - c * self.chunk_size) for c in self.completed_chunks
        )

    # --- splits and batches -----------------------------------------------------------------
    @property
    def split_names(self) -> tuple[str, ...]:
        return tuple(self.manifest["splits"]["indices"])

    def split(self, name: str, completed_only: bool = False) -> np.ndarray:
        """Sorted indices of split ``name`` (e.g. ``"train"``, ``"validation"``, ``"test"``).

        ``completed_only=True`` keeps only simulations already written (for incomplete datasets).
        """
        indices = self.manifest["splits"]["indices"]
        if name not in indices:
            raise ValueError(f"no split named {name!r}; this dataset has {list(indices)}")
        out = np.asarray(indices[name], dtype=np.int64)
        if completed_only:
            out = out[self._written(out)]
        return out

    def batch(self, indices) -> Batch:
        """Read the simulations ``indices`` (any order, repeats allowed) into memory."""
        idx = np.asarray(indices)
        if idx.ndim == 0:
            idx = idx[None]
        if idx.ndim != 1 or not (idx.size == 0 or np.issubdtype(idx.dtype, np.integer)):
            raise ValueError(f"indices must be a 1-D array of ints, got {indices!r}")
        idx = idx.astype(np.int64)
        bad = (idx < 0) | (idx >= self.n)
        if bad.any():
            raise IndexError(
                f"simulation index {int(idx[bad][0])} out of range for a dataset of n={self.n}"
            )
        missing = ~self._written(idx)
        if missing.any():
            raise st.DatasetError(
                f"simulation {int(idx[missing][0])} (and {int(missing.sum()) - 1} more requested) "
                f"is not written yet: the dataset at {self.path} is incomplete; resume "
                "generate() with the same arguments"
            )
        unique, inverse = np.unique(idx, return_inverse=True)
        self._verify_chunks(np.unique(unique // self.chunk_size).tolist())

        def read(array):
            if unique.size == 0:
                return np.zeros((0,) + tuple(array.shape[1:]), array.dtype)
            try:
                return np.asarray(array.oindex[unique])[inverse]
            except Exception as e:  # a damaged chunk that no checksum covers (older datasets)
                raise st.DatasetError(
                    f"{self.path}: array {array.path!r} cannot be read ({type(e).__name__}: "
                    f"{e}); a chunk file is corrupt or truncated"
                ) from e

        return Batch(read(self.inputs), {k: read(a) for k, a in self.outputs.items()})

    def verify(self) -> int:
        """Check every written chunk against its recorded sha256 now; the number checked.

        Raises :class:`DatasetError` naming the first corrupt or truncated chunk file. Chunks
        written before checksums (or opened with ``verify=False``) are not checked.
        """
        self._verify_chunks(sorted(self.completed_chunks))
        return sum(1 for c in self.completed_chunks if c in self._sums)

    def _verify_chunks(self, chunks) -> None:
        for c in chunks:
            if c not in self._verified and c in self._sums:
                st.verify_chunk(self.path, self._arrays, c, self._sums[c])
            self._verified.add(c)

    def _written(self, idx: np.ndarray) -> np.ndarray:
        if self.complete:
            return np.ones(idx.shape, bool)
        return np.isin(idx // self.chunk_size, list(self.completed_chunks))

    def __repr__(self) -> str:
        teacher = self.manifest["teacher"].get("class", "?")
        sampler = self.manifest["sampler"].get("class", "?") if self.manifest["sampler"] else "?"
        state = "complete" if self.complete else f"{self.n_completed}/{self.n} written"
        return (
            f"Dataset({str(self.path)!r}, n={self.n}, T={self.manifest['n_samples']}, "
            f"teacher={teacher}, sampler={sampler}, {state})"
        )


def open_dataset(
    path: str | os.PathLike, *, allow_incomplete: bool = False, verify: bool = True
) -> Dataset:
    """Open a dataset written by :func:`generate`, checking it against its manifest.

    ``verify=False`` skips the check of each chunk's sha256 when :meth:`Dataset.batch` first
    reads it (the manifest's and progress record's own checksums are always checked).

    Raises:
        FileNotFoundError: nothing at ``path``.
        DatasetError (a ``ValueError``), naming the file: no or corrupt manifest (not JSON,
            missing keys, content not matching its checksum, or contradicting itself: dt and the
            teacher's spec, sizes and array shapes, overlapping or out-of-range splits), corrupt
            progress record, missing arrays, arrays whose shape, dtype or chunking differ from
            the manifest, chunks recorded as written whose files are gone, or an incomplete
            dataset unless ``allow_incomplete=True``. Later, from :meth:`Dataset.batch`: a chunk
            whose file no longer matches its checksum.
    """
    import zarr

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no dataset at {path}: the path does not exist")
    if not path.is_dir():
        raise st.DatasetError(f"{path} is not a dataset: a dataset is a directory (zarr store)")
    manifest = st.read_manifest(path)
    done, sums = st.read_progress(path, manifest["n_chunks"])
    try:
        group = zarr.open_group(path, mode="r")
    except Exception as e:  # zarr raises several types for a missing or broken store
        raise st.DatasetError(f"{path} has a manifest but no readable zarr store: {e}") from e
    check_arrays(path, manifest, group, done)
    dataset = Dataset(path, manifest, group, done, sums, verify)
    if not dataset.complete and not allow_incomplete:
        raise st.DatasetError(
            f"the dataset at {path} is incomplete: {dataset.n_completed} of {dataset.n} "
            f"simulations written ({len(done)}/{dataset.n_chunks} chunks). Resume it by calling "
            "generate() again with the same arguments, or pass allow_incomplete=True to read "
            "what is there"
        )
    return dataset


def check_arrays(path: Path, manifest: dict, group: Any, done: set[int]) -> None:
    """Every array in the manifest exists with its shape, dtype and chunking; written chunks
    have their files."""
    for name, info in manifest["arrays"].items():
        try:
            array = group[name]
        except KeyError:
            raise st.DatasetError(
                f"{path} lacks the array {name!r} that its manifest lists; the store is truncated"
            ) from None
        shape, dtype = list(array.shape), str(array.dtype)
        if shape != info["shape"] or dtype != info["dtype"]:
            raise st.DatasetError(
                f"{path}: array {name!r} has shape {shape} and dtype {dtype}, but the manifest "
                f"says {info['shape']} and {info['dtype']}"
            )
        if array.chunks[0] != manifest["chunk_size"] or list(array.chunks[1:]) != shape[1:]:
            raise st.DatasetError(
                f"{path}: array {name!r} is chunked {array.chunks}, not by "
                f"chunk_size={manifest['chunk_size']} simulations as the manifest says"
            )
        for c in sorted(done):
            file = st.chunk_file(path, array, c)
            if file is not None and not file.is_file():
                raise st.DatasetError(
                    f"{path}: chunk {c} of {name!r} is recorded as written but its file {file} "
                    "is missing; the store is truncated"
                )
