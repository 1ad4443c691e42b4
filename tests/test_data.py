"""Tests for jaxneuro.data: samplers, resumable generation, and reading datasets back."""

import json
import math
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxneuro
from jaxneuro import _io, data

# One small teacher and sampler shared by every generation test (each compiles once per
# process). SETUP is also run by the subprocess of the kill-and-resume test.
SETUP = """
import jaxneuro
from jaxneuro import _io, data
TEACHER = jaxneuro.models.LIF(dt=1.0, solver_dt=0.1)
SAMPLER = data.OUCurrent(40.0, 1.0, mean=(0.5, 2.5), std=(0.0, 1.0), tau=5.0)
ARGS = dict(n=40, chunk_size=16, seed=3)
"""
_ns: dict = {}
exec(SETUP, _ns)
TEACHER, SAMPLER, ARGS = _ns["TEACHER"], _ns["SAMPLER"], _ns["ARGS"]
ARRAYS = ("inputs", "outputs/v", "outputs/spikes")


def _reseal(file, obj):
    """Write ``obj`` as a manifest with a valid checksum: a consistent file with other content."""
    _io.write_json_atomic(file, obj, checksum="manifest_sha256")


def _arrays(path):
    import zarr

    group = zarr.open_group(path, mode="r")
    return {name: np.asarray(group[name][...]) for name in ARRAYS}


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """One uninterrupted run."""
    path = tmp_path_factory.mktemp("data") / "reference"
    return data.generate(TEACHER, SAMPLER, path=path, progress=False, **ARGS)


@pytest.fixture
def copy(reference, tmp_path):
    """A private copy of the reference dataset, free to damage."""
    target = tmp_path / "copy"
    shutil.copytree(reference.path, target)
    return target


# --------------------------------------------------------------------------------- samplers


def test_olah_sampler_statistics():
    """s ~ U(0, 4); rates 80 s and 30 s Hz (800 s and 300 s events per 10 s); 1/20 silent."""
    current = data.OUCurrent(200.0, 1.0, mean=3.0, std=0.0, tau=5.0)
    sampler = data.OlahSynaptic(duration_ms=200.0, dt=1.0, current=current)
    n = 4000
    keys = jax.vmap(lambda i: jax.random.fold_in(jax.random.key(7), i))(jnp.arange(n))
    x = np.asarray(jax.jit(jax.vmap(sampler))(keys))
    assert x.shape == (n, 200, 3) and x.dtype == np.float32
    counts = x[..., 1:].sum(axis=1)  # [n, 2] events per sweep
    silent = np.all(x == 0, axis=(1, 2))  # no input at all, the current included
    assert np.all(x[~silent, :, 0] == 3.0)
    assert abs(silent.mean() - 1 / 20) < 5 * math.sqrt(0.05 * 0.95 / n)
    # E[count] = (1 - 1/20) * rate * E[s] * duration = 0.95 * rate * 2 * 0.2 s
    for col, rate in ((0, 80.0), (1, 30.0)):
        expected = 0.95 * rate * 2.0 * 0.2
        se = np.std(counts[:, col]) / math.sqrt(n)
        assert abs(counts[:, col].mean() - expected) < 5 * se
    # s is uniform: the per-sweep excitatory rate spreads evenly over [0, 320] Hz
    rate_hz = counts[~silent, 0] / 0.2
    assert 40 < np.quantile(rate_hz, 0.25) < 120 < 200 < np.quantile(rate_hz, 0.75) < 280
    described = sampler.describe()
    assert described["current"]["class"] == "OUCurrent" and described["s_max"] == 4.0
    json.dumps(described)
    assert data.OlahSynaptic(100.0).describe()["current"] is None


def test_poisson_event_counts_budget():
    """Event trains are never cut short silently; zero rates give no events."""
    from jaxneuro.data._samplers import poisson_event_counts

    counts = jax.jit(poisson_event_counts, static_argnums=(2, 3, 4))
    none = counts(jax.random.key(0), jnp.zeros(2), 100, 1.0, 5)
    assert none.shape == (100, 2) and not np.any(none)
    with pytest.raises(Exception, match="event budget exhausted"):
        counts(jax.random.key(0), jnp.asarray([1000.0, 0.0]), 100, 1.0, 5).block_until_ready()


def test_ou_sampler_ranges():
    sampler = data.OUCurrent(200.0, 0.5, mean=(-1.0, 1.0), std=0.0, tau=(2.0, 8.0), n_synaptic=2)
    keys = jax.vmap(lambda i: jax.random.fold_in(jax.random.key(0), i))(jnp.arange(64))
    x = np.asarray(jax.jit(jax.vmap(sampler))(keys))
    assert x.shape == (64, 400, 3)
    assert np.all(x[..., 1:] == 0)  # synaptic columns stay silent
    means = x[:, :, 0].mean(axis=1)  # std = 0: each sweep is its constant mean
    np.testing.assert_allclose(x[:, :, 0], np.repeat(means[:, None], 400, 1), atol=1e-6)
    assert -1 <= means.min() < -0.5 and 0.5 < means.max() <= 1
    assert sampler.describe()["mean"] == [-1.0, 1.0] and sampler.describe()["std"] == 0.0


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: data.OlahSynaptic(-5.0), "duration"),
        (lambda: data.OlahSynaptic(100.0, s_max=-1.0), "s_max"),
        (lambda: data.OlahSynaptic(100.0, silent_fraction=1.5), "silent_fraction"),
        (lambda: data.OlahSynaptic(100.0, exc_rate=math.nan), "exc_rate"),
        (lambda: data.OUCurrent(10.0, 1.0, 0.0, (1.0, 0.5), 5.0), "std"),
        (lambda: data.OUCurrent(10.0, 1.0, 0.0, 1.0, 0.0), "tau"),
        (lambda: data.OUCurrent(10.0, 1.0, 0.0, 1.0, 5.0, n_synaptic=-1), "n_synaptic"),
        (lambda: data.OUCurrent(10.0, 1.0, "a", 1.0, 5.0), "number"),
        (
            lambda: data.OlahSynaptic(100.0, current=data.OUCurrent(50.0, 1.0, 0.0, 1.0, 5.0)),
            "duration",
        ),
    ],
)
def test_sampler_errors(make, match):
    with pytest.raises(ValueError, match=match):
        make()


# ------------------------------------------------------------------------------ generation


def test_manifest(reference):
    m = reference.manifest
    assert m["format"] == "jaxneuro.dataset" and m["format_version"] == 1
    assert m["teacher"]["class"] == "LIF" and m["teacher"]["registry_name"] is None
    assert m["teacher"]["repr"] == "LIF(dt=1.0, solver_dt=0.1)"
    assert m["teacher"]["spec"]["inputs"][0] == {
        "name": "i_ext",
        "unit": "nA",
        "kind": "trace",
        "width": 1,
        "description": "injected current",
    }
    assert m["teacher"]["spec"] == TEACHER.spec.to_json()
    assert [c["unit"] for c in m["teacher"]["spec"]["outputs"]] == ["mV", "count"]
    assert m["params"]["tau_m"] == 10.0 and m["params"]["v_th"] == -50.0
    assert m["sampler"] == SAMPLER.describe()
    assert (m["seed"], m["n"], m["chunk_size"], m["n_chunks"]) == (3, 40, 16, 3)
    assert (m["dt"], m["n_samples"]) == (1.0, 40)
    assert m["arrays"]["inputs"] == {"shape": [40, 40, 1], "dtype": "float32"}
    assert m["arrays"]["outputs/v"] == {"shape": [40, 40], "dtype": "float32"}
    assert m["splits"]["fractions"] == {"train": 0.8, "validation": 0.1, "test": 0.1}
    assert m["jaxneuro_version"] == jaxneuro.__version__ and "created" in m
    on_disk = json.loads((reference.path / "manifest.json").read_text())
    assert on_disk == m
    rest = {k: v for k, v in m.items() if k != "manifest_sha256"}
    assert m["manifest_sha256"] == _io.json_sha256(rest)
    progress = json.loads((reference.path / "progress.json").read_text())
    assert sorted(progress["chunk_sha256"]) == ["0", "1", "2"]
    assert progress["chunk_sha256"]["1"]["outputs/v"] == _io.file_sha256(
        reference.path / "outputs" / "v" / "c" / "1" / "0"
    )
    assert set(progress["chunk_sha256"]["2"]) == set(ARRAYS)
    assert reference.spec == TEACHER.spec
    assert reference.complete and len(reference) == 40 and reference.n_completed == 40
    assert reference.inputs.chunks == (16, 40, 1) and reference.outputs["v"].chunks == (16, 40)


def test_splits_partition(reference):
    parts = [reference.split(name) for name in ("train", "validation", "test")]
    assert [len(p) for p in parts] == [32, 4, 4]
    together = np.concatenate(parts)
    assert len(np.unique(together)) == 40 and set(together.tolist()) == set(range(40))
    assert all(np.all(np.diff(p) > 0) for p in parts)
    assert not np.array_equal(parts[0], np.arange(32))  # shuffled, not a prefix
    with pytest.raises(ValueError, match="no split named 'val'"):
        reference.split("val")


def test_outputs_match_direct_apply(reference):
    params = TEACHER.init()
    indices = [0, 17, 39]  # first chunk, middle chunk, the padded last chunk
    batch = reference.batch(indices)
    sample, apply = jax.jit(SAMPLER), jax.jit(TEACHER.apply)
    for row, i in enumerate(indices):
        x = sample(jax.random.fold_in(jax.random.key(3), i))  # regenerated on its own
        np.testing.assert_array_equal(batch.inputs[row], x)
        out, _ = apply(params, x)
        np.testing.assert_allclose(batch.outputs["v"][row], out["v"], atol=1e-4)
        np.testing.assert_array_equal(batch.outputs["spikes"][row], out["spikes"])
    assert batch.outputs["spikes"].sum() > 0  # the sampler makes the teacher fire
    again = reference.batch([39, 0, 39])  # any order, repeats allowed
    np.testing.assert_array_equal(again.inputs[1], batch.inputs[0])
    np.testing.assert_array_equal(again.outputs["v"][0], again.outputs["v"][2])
    with pytest.raises(IndexError):
        reference.batch([40])


def test_deterministic_and_idempotent(reference, tmp_path):
    again = data.generate(TEACHER, SAMPLER, path=tmp_path / "again", progress=False, **ARGS)
    first, second = _arrays(reference.path), _arrays(again.path)
    for name in ARRAYS:
        assert np.array_equal(first[name], second[name]), name
    assert again.manifest["splits"] == reference.manifest["splits"]
    # generate on a complete dataset with the same arguments does nothing and returns it
    mtime = (again.path / "progress.json").stat().st_mtime_ns
    data.generate(TEACHER, SAMPLER, path=again.path, progress=False, **ARGS)
    assert (again.path / "progress.json").stat().st_mtime_ns == mtime


def test_kill_and_resume(reference, tmp_path):
    path, marker = tmp_path / "killed", tmp_path / "torn"
    script = SETUP + textwrap.dedent(
        """
        import sys, time, pathlib
        from jaxneuro.data import _generate
        path, marker = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
        write = _generate._write_rows

        def torn(array, start, stop, rows):
            if start == 16 and array.path == "inputs":  # chunk 1: a torn write, then "crash"
                write(array, start, stop, rows * 0 - 999.0)
                marker.touch()
                time.sleep(600)
            write(array, start, stop, rows)

        _generate._write_rows = torn
        data.generate(TEACHER, SAMPLER, path=path, progress=False, **ARGS)
        """
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", script, str(path), str(marker)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 240
        while not marker.exists():
            if proc.poll() is not None:
                pytest.fail(f"generation subprocess exited early:\n{proc.stderr.read().decode()}")
            assert time.monotonic() < deadline, "generation subprocess made no progress"
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        proc.stdout.close()
        proc.stderr.close()

    # killed with chunk 0 committed and chunk 1 half-written (garbage, uncommitted)
    progress = json.loads((path / "progress.json").read_text())
    assert progress["completed_chunks"] == [0] and list(progress["chunk_sha256"]) == ["0"]
    with pytest.raises(data.DatasetError, match="incomplete"):
        data.open_dataset(path)
    partial = data.open_dataset(path, allow_incomplete=True)
    assert not partial.complete and partial.n_completed == 16
    assert np.all(np.asarray(partial.inputs[16:32]) == -999.0)  # the torn chunk
    assert set(partial.split("train", completed_only=True)) <= set(range(16))
    np.testing.assert_array_equal(partial.batch([3]).inputs, reference.batch([3]).inputs)
    with pytest.raises(data.DatasetError, match="not written yet"):
        partial.batch([3, 20])

    resumed = data.generate(TEACHER, SAMPLER, path=path, progress=False, **ARGS)
    assert resumed.complete and resumed.n_completed == 40
    assert resumed.manifest == data.open_dataset(path).manifest
    assert resumed.manifest["created"] == partial.manifest["created"]
    first, second = _arrays(reference.path), _arrays(path)
    for name in ARRAYS:  # nothing lost, nothing duplicated, bit-identical
        assert np.array_equal(first[name], second[name]), name
    assert resumed.verify() == 3  # the chunks written before and after the kill carry sums


def test_resume_with_other_arguments_raises(reference, copy):
    def again(**changes):
        kwargs = dict(ARGS, path=copy, progress=False)
        teacher = changes.pop("teacher", TEACHER)
        sampler = changes.pop("sampler", SAMPLER)
        return data.generate(teacher, sampler, **{**kwargs, **changes})

    with pytest.raises(ValueError, match=r"different arguments \(seed: stored 3, requested 4"):
        again(seed=4)
    with pytest.raises(ValueError, match=r"\bn: stored 40, requested 41"):
        again(n=41)
    with pytest.raises(ValueError, match="chunk_size"):
        again(chunk_size=8)
    with pytest.raises(ValueError, match="splits.fractions"):
        again(splits=(0.5, 0.25, 0.25))
    with pytest.raises(ValueError, match="sampler.mean"):
        again(sampler=data.OUCurrent(40.0, 1.0, mean=(0.0, 2.5), std=(0.0, 1.0), tau=5.0))
    with pytest.raises(ValueError, match="params"):
        again(params=dict(TEACHER.init(), tau_m=jnp.float32(12.0)))
    with pytest.raises(ValueError, match="teacher.repr"):
        again(teacher=jaxneuro.models.LIF(dt=1.0, solver_dt=0.5))
    assert data.open_dataset(copy).complete  # untouched by the refused calls
    data.generate(TEACHER, SAMPLER, path=copy, progress=False, overwrite=True, n=4, chunk_size=16)
    assert data.open_dataset(copy).n == 4


def test_generate_argument_errors(tmp_path):
    with pytest.raises(ValueError, match="dt"):  # registry name: "lif" samples every 0.1 ms
        data.generate("lif", SAMPLER, 4, tmp_path / "a", progress=False)
    with pytest.raises(ValueError, match="unknown simulator"):
        data.generate("no-such-model", SAMPLER, 4, tmp_path / "a", progress=False)
    with pytest.raises(ValueError, match=r"\[T, 1\]"):
        data.generate(TEACHER, data.OlahSynaptic(40.0), 4, tmp_path / "a", progress=False)
    with pytest.raises(ValueError, match="n must be a positive int"):
        data.generate(TEACHER, SAMPLER, 0, tmp_path / "a", progress=False)
    with pytest.raises(ValueError, match="sum to 1"):
        data.generate(TEACHER, SAMPLER, 4, tmp_path / "a", splits=(0.5, 0.1, 0.1))
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "notes.txt").write_text("mine")
    with pytest.raises(ValueError, match="holds no jaxneuro dataset"):
        data.generate(TEACHER, SAMPLER, 4, tmp_path / "b", progress=False, overwrite=True)
    assert (tmp_path / "b" / "notes.txt").exists()


# --------------------------------------------------------------------------------- opening


def test_open_errors(copy, tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        data.open_dataset(tmp_path / "nowhere")
    manifest = copy / "manifest.json"
    good = manifest.read_text()

    manifest.write_text(good[: len(good) // 2])  # truncated write
    with pytest.raises(data.DatasetError, match="not valid JSON"):
        data.open_dataset(copy)

    broken = json.loads(good)
    del broken["seed"], broken["arrays"]
    _reseal(manifest, broken)
    with pytest.raises(data.DatasetError, match=r"missing keys \['seed', 'arrays'\]"):
        data.open_dataset(copy)

    wrong = json.loads(good)
    wrong["arrays"]["outputs/v"]["dtype"] = "float64"
    _reseal(manifest, wrong)
    with pytest.raises(data.DatasetError, match=r"'outputs/v' has shape \[40, 40\] and dtype"):
        data.open_dataset(copy)

    manifest.unlink()
    with pytest.raises(data.DatasetError, match="manifest.json is missing"):
        data.open_dataset(copy)
    manifest.write_text(good)
    assert data.open_dataset(copy).complete


def test_truncated_store(copy):
    shutil.rmtree(copy / "outputs" / "spikes" / "c" / "1")  # chunk 1 of one array lost
    with pytest.raises(data.DatasetError, match="chunk 1 of 'outputs/spikes'.*truncated"):
        data.open_dataset(copy)
    with pytest.raises(data.DatasetError, match="cannot resume"):
        data.generate(TEACHER, SAMPLER, path=copy, progress=False, **ARGS)
    shutil.rmtree(copy / "outputs" / "spikes")
    with pytest.raises(data.DatasetError, match="lacks the array 'outputs/spikes'"):
        data.open_dataset(copy)


def test_corrupt_progress(copy):
    (copy / "progress.json").write_text('{"completed_chunks": [0, 7]}')
    with pytest.raises(data.DatasetError, match="progress.json"):
        data.open_dataset(copy)
    (copy / "progress.json").unlink()  # no chunk recorded: nothing counts as written
    with pytest.raises(data.DatasetError, match="0 of 40 simulations"):
        data.open_dataset(copy)


# ------------------------------------------------------------------------------- checksums


def _chunk(path, array="inputs", chunk=1):
    import zarr

    from jaxneuro.data import _store

    return _store.chunk_file(path, zarr.open_group(path, mode="r")[array], chunk)


def test_truncated_chunk_names_the_file(copy):
    file = _chunk(copy, "outputs/v", 1)
    raw = file.read_bytes()
    file.write_bytes(raw[: len(raw) // 2])
    ds = data.open_dataset(copy)  # opening stays cheap: chunks are checked when read
    np.testing.assert_array_equal(ds.batch([0, 39]).inputs.shape, (2, 40, 1))  # chunks 0, 2
    match = rf"{file}: chunk 1 of 'outputs/v' is corrupt or truncated"
    with pytest.raises(data.DatasetError, match=match):
        ds.batch([0, 17])
    with pytest.raises(data.DatasetError, match=match):
        ds.verify()
    # unverified, the damage is still an error naming the store, not a codec's exception
    with pytest.raises(data.DatasetError, match=r"'outputs/v' cannot be read"):
        data.open_dataset(copy, verify=False).batch([17])


def test_flipped_byte_in_chunk(copy):
    file = _chunk(copy, "inputs", 2)
    raw = bytearray(file.read_bytes())
    raw[len(raw) // 2] ^= 0x10
    file.write_bytes(bytes(raw))
    ds = data.open_dataset(copy)
    ds.batch(ds.split("train")[ds.split("train") < 32])  # chunks 0 and 1 are fine
    with pytest.raises(data.DatasetError, match=rf"{file}: chunk 2 of 'inputs' is corrupt"):
        ds.batch([35])
    file.unlink()  # gone after opening: named too
    with pytest.raises(data.DatasetError, match=rf"{file}: chunk 2 of 'inputs' .* missing"):
        ds.batch([35])


def test_datasets_from_before_checksums_read_unverified(reference, copy):
    progress = json.loads((copy / "progress.json").read_text())
    (copy / "progress.json").write_text(json.dumps({"completed_chunks": [0, 1, 2]}))
    manifest = json.loads((copy / "manifest.json").read_text())
    del manifest["manifest_sha256"]
    (copy / "manifest.json").write_text(json.dumps(manifest))
    ds = data.open_dataset(copy)
    assert ds.verify() == 0
    np.testing.assert_array_equal(ds.batch([5, 30]).inputs, reference.batch([5, 30]).inputs)
    assert data.generate(TEACHER, SAMPLER, path=copy, progress=False, **ARGS).complete
    assert progress["chunk_sha256"]  # what the new format records, and the old one lacked


@pytest.mark.parametrize("name", ["manifest.json", "progress.json"])
def test_garbage_json_names_the_file(copy, name):
    (copy / name).write_bytes(b"\x00\x9f\x92\x96garbage\xff" * 10)
    with pytest.raises(data.DatasetError, match=rf"{copy / name} is corrupt: not UTF-8"):
        data.open_dataset(copy)


@pytest.mark.parametrize("name", ["manifest.json", "progress.json"])
def test_edited_json_fails_its_checksum(copy, name):
    text = (copy / name).read_text()
    edited = text.replace('"seed": 3', '"seed": 4') if name == "manifest.json" else text
    edited = edited.replace('"completed_chunks": [\n  0,', '"completed_chunks": [\n  1,')
    assert edited != text
    (copy / name).write_text(edited)
    sum_key = name.replace(".json", "_sha256")
    with pytest.raises(data.DatasetError, match=rf"{copy / name} is corrupt: .*{sum_key}"):
        data.open_dataset(copy)


def _contradiction(copy, change):
    manifest = json.loads((copy.parent / "good-manifest.json").read_text())
    change(manifest)
    _reseal(copy / "manifest.json", manifest)
    return pytest.raises(data.DatasetError, match=rf"{copy / 'manifest.json'} contradicts itself")


def test_self_contradicting_manifest_is_refused(copy):
    shutil.copy(copy / "manifest.json", copy.parent / "good-manifest.json")

    def dt(m):
        m["dt"] = 0.5

    with _contradiction(copy, dt) as e:
        data.open_dataset(copy)
    assert "dt=0.5 ms, but its teacher.spec has dt=1.0 ms" in str(e.value)

    def overlap(m):
        m["splits"]["indices"]["test"].append(m["splits"]["indices"]["train"][0])

    with _contradiction(copy, overlap) as e:
        data.open_dataset(copy)
    assert "splits 'train' and 'test' overlap" in str(e.value)

    def out_of_range(m):
        m["splits"]["indices"]["validation"].append(40)

    with _contradiction(copy, out_of_range) as e:
        data.open_dataset(copy)
    assert "index 40, outside [0, n=40)" in str(e.value)

    def n_samples(m):
        m["n_samples"] = 50

    with _contradiction(copy, n_samples) as e:
        data.open_dataset(copy)
    assert "n_samples=50" in str(e.value)

    def outputs(m):
        m["arrays"]["outputs/v"]["shape"] = [40, 41]

    with _contradiction(copy, outputs) as e:
        data.open_dataset(copy)
    assert "arrays['outputs/v'] has shape [40, 41]" in str(e.value)

    def spec_dt(m):  # the spec and the top level agree, but not with the arrays' history
        m["teacher"]["spec"]["output_dt"] = 2.0

    with _contradiction(copy, spec_dt) as e:
        data.open_dataset(copy)
    assert "give 20 output samples" in str(e.value)
    with _contradiction(copy, spec_dt):  # resuming refuses it too
        data.generate(TEACHER, SAMPLER, path=copy, progress=False, **ARGS)
