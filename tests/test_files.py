"""The one atomic writer, JSON checksums, and checksummed safetensors checkpoints."""

import json
import os
import stat

import jax.numpy as jnp
import numpy as np
import pytest
from safetensors import safe_open
from safetensors.numpy import load_file, save_file

from jaxneuro import _io
from jaxneuro.training import CheckpointError, load_tree, save_tree


def _mode(path):
    return stat.S_IMODE(path.stat().st_mode)


# --------------------------------------------------------------------------- atomic writes


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_atomic_write_honours_umask(tmp_path, umask):
    old = os.umask(umask)
    try:
        _io.atomic_write(tmp_path / "a.bin", b"\x00\x01")
        _io.write_json_atomic(tmp_path / "b.json", {"x": 1})
        with _io.atomic_path(tmp_path / "c.txt") as tmp:
            tmp.write_text("library-written")
    finally:
        os.umask(old)
    for name in ("a.bin", "b.json", "c.txt"):
        assert _mode(tmp_path / name) == 0o666 & ~umask, name
    assert (tmp_path / "a.bin").read_bytes() == b"\x00\x01"
    assert (tmp_path / "c.txt").read_text() == "library-written"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.bin", "b.json", "c.txt"]


def test_atomic_write_replaces_whole_or_not_at_all(tmp_path):
    target = tmp_path / "f.json"
    _io.write_json_atomic(target, {"v": 1})
    with pytest.raises(RuntimeError), _io.atomic_path(target) as tmp:
        tmp.write_text('{"v": 2, "half')
        raise RuntimeError("killed mid-write")
    assert json.loads(target.read_text()) == {"v": 1}  # the old file, untouched
    assert [p.name for p in tmp_path.iterdir()] == ["f.json"]  # no temporary left
    _io.atomic_write(target, '{"v": 3}')
    assert json.loads(target.read_text()) == {"v": 3}
    _io.atomic_write(tmp_path / "new" / "deep.txt", "made")  # parents are created
    assert (tmp_path / "new" / "deep.txt").read_text() == "made"


# ------------------------------------------------------------------------------ JSON files


def test_json_checksum_round_trip_and_legacy(tmp_path):
    obj = {"b": [1, 2.5, None], "a": {"x": np.float32(0.1)}, "c": "ü"}
    path = _io.write_json_atomic(tmp_path / "m.json", obj, checksum="m_sha256", default=float)
    read = _io.read_json(path, checksum="m_sha256")
    assert read["m_sha256"] == _io.json_sha256({k: v for k, v in read.items() if k != "m_sha256"})
    # indentation does not matter, content does
    path.write_text(json.dumps(read, indent=None))
    assert _io.read_json(path, checksum="m_sha256") == read
    path.write_text(json.dumps({**read, "b": [1, 2.5, 0]}))
    with pytest.raises(ValueError, match=r"m.json is corrupt: .*m_sha256"):
        _io.read_json(path, checksum="m_sha256")
    path.write_text(json.dumps({"b": 1}))  # no checksum key: written before checksums
    assert _io.read_json(path, checksum="m_sha256") == {"b": 1}


@pytest.mark.parametrize(
    "content, match",
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\xff\xfe", "not UTF-8"),
        (b'{"a": 1,', "not valid JSON"),
        (b"", "not valid JSON"),
    ],
)
def test_read_json_names_the_bad_file(tmp_path, content, match):
    class MyError(ValueError):
        pass

    path = tmp_path / "metrics.json"
    path.write_bytes(content)
    with pytest.raises(MyError, match=rf"{tmp_path}/metrics.json is corrupt: {match}"):
        _io.read_json(path, error=MyError)
    with pytest.raises(MyError, match=r"gone.json is missing: the run never started"):
        _io.read_json(tmp_path / "gone.json", error=MyError, missing="the run never started")


# ------------------------------------------------------------------------------ checkpoints


TREE = {
    "a": jnp.arange(6.0).reshape(2, 3),
    "b": jnp.ones((2, 3)) * 7.0,
    "step": jnp.int32(5),
}


def test_checkpoint_flipped_byte(tmp_path):
    path = tmp_path / "ckpt.safetensors"
    save_tree(path, TREE, {"step": 5})
    tree, meta = load_tree(path, TREE)
    assert meta == {"step": 5} and np.array_equal(tree["a"], TREE["a"])
    raw = bytearray(path.read_bytes())
    raw[-10] ^= 0x40  # inside the tensor data: safetensors itself cannot tell
    path.write_bytes(bytes(raw))
    with pytest.raises(CheckpointError, match=rf"{path} is corrupt"):
        load_tree(path, TREE)


def test_checkpoint_swapped_tensors_and_edited_metadata(tmp_path):
    path = tmp_path / "ckpt.safetensors"
    save_tree(path, TREE, {"step": 5})
    with safe_open(str(path), "np") as f:
        header = f.metadata()
    arrays = load_file(str(path))
    arrays["['a']"], arrays["['b']"] = arrays["['b']"], arrays["['a']"]  # same shape and dtype
    save_file(arrays, str(path), metadata=header)
    with pytest.raises(CheckpointError, match="swapped"):
        load_tree(path, TREE)
    arrays["['a']"], arrays["['b']"] = arrays["['b']"], arrays["['a']"]
    save_file(arrays, str(path), metadata={**header, "metadata": json.dumps({"step": 6})})
    with pytest.raises(CheckpointError, match="metadata"):
        load_tree(path, TREE)
    save_file(arrays, str(path), metadata=header)  # put back exactly: loads again
    assert load_tree(path, TREE)[1] == {"step": 5}


def test_checkpoint_truncated_and_legacy(tmp_path):
    path = tmp_path / "ckpt.safetensors"
    save_tree(path, TREE)
    good = path.read_bytes()
    path.write_bytes(good[:-7])
    with pytest.raises(CheckpointError, match="corrupt or truncated"):
        load_tree(path, TREE)
    path.write_bytes(b"\xff" * 64)
    with pytest.raises(CheckpointError, match=rf"{path} is corrupt or truncated"):
        load_tree(path, TREE)
    # written before checksums: only the caller's metadata, loaded unverified
    legacy = {f"[{k!r}]": np.asarray(v) for k, v in TREE.items()}
    save_file(legacy, str(path), metadata={"metadata": json.dumps({"old": True})})
    tree, meta = load_tree(path, TREE)
    assert meta == {"old": True} and np.array_equal(tree["b"], TREE["b"])


# ----------------------------------------------------------------------------------- traces


@pytest.mark.parametrize("fmt", ["npz", "zarr"])
def test_traces_carry_checksums(tmp_path, fmt):
    from jaxneuro.data import DatasetError

    arrays = {"v": np.linspace(-70.0, 30.0, 600).reshape(3, 200), "spikes": np.eye(3, 200)}
    target = _io.save_traces(tmp_path, arrays, {"model": "lif"}, fmt=fmt)
    loaded, manifest = _io.load_traces(tmp_path)
    np.testing.assert_array_equal(loaded["v"], arrays["v"])
    assert manifest["traces"]["sha256"] == _io.path_sha256(target)
    chunks = sorted(f for f in target.rglob("*") if f.is_file() and "c" in f.parts)
    files = [target] if fmt == "npz" else chunks
    raw = bytearray(files[0].read_bytes())
    raw[len(raw) // 2] ^= 0x08
    files[0].write_bytes(bytes(raw))
    with pytest.raises(DatasetError, match=rf"{target} is corrupt or truncated"):
        _io.load_traces(tmp_path)
    text = (tmp_path / "manifest.json").read_text()
    (tmp_path / "manifest.json").write_text(text.replace('"lif"', '"hh"'))
    with pytest.raises(DatasetError, match=r"manifest.json is corrupt: .*manifest_sha256"):
        _io.load_traces(tmp_path)
