"""The ``jaxneuro`` command: listing, simulation files, equality with the library, errors."""

import json
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import zarr

import jaxneuro
from jaxneuro import _io, cli, stimuli
from jaxneuro.cli import _args, _generate, _main, _simulate, _stimulus
from jaxneuro.evaluation import THRESHOLDS

QUIET = ["--no-progress"]


def test_models_lists_one_readable_line_per_simulator(capsys):
    assert cli.main(["models"]) == 0
    lines = capsys.readouterr().out.splitlines()
    listing = jaxneuro.available()
    assert [line.split()[0] for line in lines] == list(listing)
    assert all(len(line) <= 120 for line in lines)
    by_name = dict(zip(listing, lines, strict=True))
    assert by_name["hh"].split(None, 1)[1] == (f"{listing['hh']} (dt 0.025 ms: i_ext -> v, spikes)")
    assert by_name["hh-synaptic"].endswith("(dt 1 ms: i_ext, exc, inh -> v, spikes)")
    assert by_name["reduced-l5pc"].endswith("(dt 1 ms: exc0-46, inh0-46 -> v, spikes)")
    assert "of hh-synaptic" in by_name["hh-tcn"]  # a shortened description keeps its gist

    assert cli.main(["models", "--long"]) == 0
    text = capsys.readouterr().out
    for name, description in listing.items():
        assert f"{name}: {description}" in text
        assert jaxneuro.create(name).spec.describe() in text


def test_models_line_summarises_channels():
    from jaxneuro._simulator import EVENTS, Channel, IOSpec
    from jaxneuro.cli._models import channels_summary, model_line

    spec = IOSpec(
        dt=0.01,
        inputs=(Channel("sound", "Pa"),),
        outputs=(Channel("rate", "spikes/s", "rate", width=201), Channel("a3", "1", EVENTS)),
        output_dt=0.05,
    )
    assert channels_summary(spec) == "dt 0.01 ms, outputs every 0.05 ms: sound -> rate[201], a3"
    line = model_line("ear", "word " * 40 + "(x=1)", spec, width=5, limit=100)
    assert len(line) <= 100 and line.startswith("ear  word word") and "... (dt 0.01" in line


def test_simulate_hh_population_equals_library_call(tmp_path, capsys):
    out = tmp_path / "run"
    args = ["simulate", "hh", "--n", "4", "--duration", "30", "--heterogeneous", "--out", str(out)]
    assert cli.main(args + QUIET) == 0
    assert "simulated 4 x hh" in capsys.readouterr().out
    assert sorted(p.name for p in out.iterdir()) == ["manifest.json", "simulate.png", "traces.npz"]
    assert (out / "simulate.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["model"]["name"] == "hh"
    assert manifest["model"]["spec"]["dt"] == 0.025
    assert manifest["jaxneuro_version"] == jaxneuro.__version__
    assert manifest["seed"] == 0 and manifest["n"] == 4 and manifest["n_samples"] == 1200
    assert manifest["params"]["g_na"] == 120.0
    stim = manifest["stimulus"]
    assert stim["kind"] == "step" and stim["unit"] == "uA/cm2" and stim["heterogeneous"]
    assert manifest["traces"]["file"] == "traces.npz"

    with np.load(out / "traces.npz", allow_pickle=False) as f:
        traces = {k: f[k] for k in f.files}
    assert sorted(traces) == ["amplitude", "spike_cells", "spike_times", "t", "v"]
    assert traces["v"].shape == (4, 1200)
    t = 0.025 * np.arange(1, 1201)
    np.testing.assert_allclose(traces["t"], t)
    amplitudes = stim["amplitude"] * np.arange(1, 5) / 4
    np.testing.assert_allclose(traces["amplitude"], amplitudes, rtol=1e-6)
    assert manifest["events"]["spikes"] == {
        "from": "counts",
        "arrays": ["spike_times", "spike_cells"],
        "n_events": len(traces["spike_times"]),
    }
    assert manifest["units"]["spike_times"] == "ms" and manifest["units"]["v"] == "mV"

    # The same population through the library directly, in one call (the CLI runs in chunks).
    sim = jaxneuro.create("hh")
    step = stimuli.step(30.0, 0.025, 1.0, onset=stim["onset_ms"])
    x = jnp.asarray(amplitudes, jnp.float32)[:, None, None] * step[None, :, None]
    direct, _ = jaxneuro.population(sim, sim.init(), x)
    np.testing.assert_allclose(traces["v"], direct["v"], rtol=0, atol=1e-3)
    cells, samples = np.nonzero(np.asarray(direct["spikes"]))  # sorted by cell, then time
    assert np.asarray(direct["spikes"]).max() == 1
    np.testing.assert_array_equal(traces["spike_cells"], cells)
    np.testing.assert_allclose(traces["spike_times"], t[samples])
    assert traces["spike_cells"].dtype == np.int32
    assert (traces["spike_cells"] == 3).sum() > 0  # the full 10 uA/cm2 step fires


def test_simulate_surrogate_writes_spike_probabilities(tmp_path, capsys):
    """A surrogate's spikes are probabilities: written dense as such, with the events decoded at
    the card's threshold (recorded), not as counts."""
    out = tmp_path / "s"
    args = ["simulate", "lif-tcn", "--n", "3", "--duration", "200", "--amplitude", "2.5"]
    assert cli.main([*args, "--out", str(out), *QUIET]) == 0
    assert "probability > " in capsys.readouterr().out
    arrays, manifest = _io.load_traces(out)
    assert "spikes" not in arrays and "spike_logits" not in arrays
    prob = arrays["spike_probability"]
    assert prob.shape == (3, 200) and prob.dtype == np.float32
    assert prob.min() >= 0 and prob.max() <= 1
    sim = jaxneuro.create("lif-tcn")
    threshold = jaxneuro.read_card("lif-tcn")["spike_threshold"]
    record = manifest["events"]["spikes"]
    assert record["from"] == "probability" and record["threshold"] == threshold
    assert record["probability"] == "spike_probability" and "peaks" in record["decoding"]
    assert manifest["units"]["spike_probability"] == "probability per sample"
    assert manifest["params"] is None and len(manifest["params_sha256"]) == 64  # weights: a hash
    decoded = jaxneuro.metrics.decode_spikes(prob, threshold, 2, mode="peak")
    cells, samples = np.nonzero(decoded)
    np.testing.assert_array_equal(arrays["spike_cells"], cells)
    np.testing.assert_allclose(arrays["spike_times"], samples + 1.0)
    assert len(cells) > 0  # 2.5 nA makes LIF fire
    direct, _ = jaxneuro.population(
        sim,
        sim.init(),
        _stimulus.make_inputs(
            sim.spec, manifest["stimulus"], arrays["amplitude"], jax.random.key(0)
        ),
    )
    np.testing.assert_allclose(prob, direct["spikes"], atol=1e-5)

    # --threshold chooses another one; it is refused for a model whose spikes are counts.
    assert cli.main([*args, "--threshold", "0.9", "--out", str(tmp_path / "t"), *QUIET]) == 0
    assert _io.load_traces(tmp_path / "t")[1]["events"]["spikes"]["threshold"] == 0.9
    assert cli.main(["simulate", "lif", "--threshold", "0.5", "--out", str(tmp_path / "u")]) == 2
    assert "outputs spike counts" in capsys.readouterr().err
    assert not (tmp_path / "u").exists()


def test_event_arrays_are_lossless_for_counts():
    from jaxneuro._simulator import EVENTS, Channel, IOSpec

    spec = IOSpec(
        dt=0.5,
        inputs=(Channel("i", "nA"),),
        outputs=(
            Channel("spikes", "count", EVENTS),
            Channel("fibres", "count", EVENTS, width=2),
            Channel("odd", "count", EVENTS),
        ),
    )
    spikes = np.zeros((2, 4), np.float32)
    spikes[0, 1], spikes[1, 3] = 2, 1  # two spikes in one sample: two entries
    fibres = np.zeros((2, 4, 2), np.float32)
    fibres[1, 2, 1] = 1
    odd = np.full((2, 4), 0.25, np.float32)  # not counts: kept dense, as it is
    outputs = {"spikes": spikes, "fibres": fibres, "odd": odd}
    times = 0.5 * np.arange(1, 5)
    arrays, record, units, dense = _simulate.event_arrays(spec, outputs, times, 0.5)
    assert list(outputs) == ["odd"]
    np.testing.assert_array_equal(arrays["spike_times"], [1.0, 1.0, 2.0])
    np.testing.assert_array_equal(arrays["spike_cells"], [0, 0, 1])
    assert arrays["fibres_times"].tolist() == [1.5] and arrays["fibres_columns"].tolist() == [1]
    assert record["spikes"]["n_events"] == 3 and record["fibres"]["arrays"][-1] == "fibres_columns"
    assert "odd" not in record and units["fibres_cells"] == "cell index"
    np.testing.assert_array_equal(dense["spikes"], spikes)


def test_simulate_zarr(tmp_path):
    out = tmp_path / "z"
    args = [
        "simulate",
        "lif",
        "--n",
        "3",
        "--duration",
        "20",
        "--format",
        "zarr",
        "--out",
        str(out),
    ]
    assert cli.main(args + QUIET) == 0
    assert sorted(p.name for p in out.iterdir()) == ["manifest.json", "simulate.png", "traces.zarr"]
    group = zarr.open_group(out / "traces.zarr", mode="r")
    assert group["v"].shape == (3, 200)
    assert group.attrs["manifest"]["model"]["name"] == "lif"
    arrays, manifest = _io.load_traces(out)
    assert manifest["traces"]["format"] == "zarr"
    np.testing.assert_array_equal(arrays["v"], group["v"][...])
    # A second run replaces the store as a whole.
    assert cli.main(args + ["--n", "2"] + QUIET) == 0
    assert zarr.open_group(out / "traces.zarr", mode="r")["v"].shape == (2, 200)
    assert sorted(p.name for p in out.iterdir()) == ["manifest.json", "simulate.png", "traces.zarr"]


@pytest.mark.parametrize("stimulus", ["ramp", "sine", "ou"])
def test_current_stimuli(tmp_path, stimulus):
    args = ["simulate", "lif", "--n", "2", "--duration", "20", "--stimulus", stimulus]
    assert cli.main(args + ["--out", str(tmp_path)] + QUIET) == 0
    arrays, manifest = _io.load_traces(tmp_path)
    assert manifest["stimulus"]["kind"] == stimulus
    assert np.isfinite(arrays["v"]).all()


def test_duration_must_be_whole_samples(tmp_path, capsys, monkeypatch):
    # 0.0625 ms / 0.025 ms = 2.5 samples: an error, not a silently shorter (or longer) run.
    monkeypatch.setattr(_simulate, "run_chunked", _never)
    args = ["simulate", "hh", "--n", "1", "--duration", "0.0625", "--out", str(tmp_path / "o")]
    assert cli.main(args + QUIET) == 2
    err = capsys.readouterr().err
    assert err == (
        "jaxneuro: error: --duration 0.0625 ms is not a whole number of samples of the model's "
        "sample interval of 0.025 ms (2.5 samples); pass a multiple of 0.025 ms\n"
    )
    args = ["simulate", "lif", "--dt", "0.3", "--duration", "10", "--out", str(tmp_path / "o")]
    assert cli.main(args + QUIET) == 2
    err = capsys.readouterr().err
    assert err.startswith("jaxneuro: error: --duration 10 ms is not a whole number of samples")
    assert "of --dt 0.3 ms (33.3333 samples)" in err and err.count("\n") == 1
    for command in (["generate", "lif"], ["evaluate", "lif-tcn"]):
        assert cli.main([*command, "--duration", "10.05", "--out", str(tmp_path / "o")]) == 2
        assert "--duration 10.05 ms is not a whole number of samples" in capsys.readouterr().err
    assert cli.main(["evaluate", "lif-tcn", "--burn-in", "0.5", "--out", str(tmp_path / "o")]) == 2
    assert "--burn-in 0.5 ms is shorter than one sample" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def _never(*args, **kwargs):
    raise AssertionError("the simulation ran")


def test_unwritable_output_is_refused_before_simulating(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(_simulate, "run_chunked", _never)
    (tmp_path / "file").write_text("not a folder")
    for out, message in [
        (tmp_path / "file", f"--out {tmp_path / 'file'} exists and is not a folder"),
        (
            tmp_path / "file" / "run",
            f"--out {tmp_path / 'file' / 'run'} cannot be created: {tmp_path / 'file'} is not a folder",
        ),
    ]:
        assert cli.main(["simulate", "lif", "--duration", "10", "--out", str(out)]) == 2
        err = capsys.readouterr().err
        assert err == f"jaxneuro: error: {message}\n"

    def read_only(*args, **kwargs):  # what a read-only folder does (root ignores chmod)
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(_args.tempfile, "TemporaryFile", read_only)
    for command in (["simulate", "lif"], ["generate", "lif"], ["demo"]):
        assert cli.main([*command, "--out", str(tmp_path / "ro" / "run")]) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"jaxneuro: error: cannot write to --out {tmp_path / 'ro' / 'run'}")
        assert "Permission denied" in err and err.count("\n") == 1


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_read_only_folder_is_refused(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(_simulate, "run_chunked", _never)
    (tmp_path / "ro").mkdir(mode=0o555)
    assert cli.main(["simulate", "lif", "--out", str(tmp_path / "ro")]) == 2
    assert "cannot write to --out" in capsys.readouterr().err


def test_os_errors_are_one_line(tmp_path, capsys, monkeypatch):
    def unreadable(path, **kwargs):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(jaxneuro.data, "open_dataset", unreadable)
    argv = ["fit", "tcn", "--data", str(tmp_path / "d"), "--out", str(tmp_path / "f")]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert err == f"jaxneuro: error: {(tmp_path / 'd').resolve()}: Permission denied\n"

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(_io, "save_traces", disk_full)
    argv = ["simulate", "lif", "--n", "1", "--duration", "5", "--out", str(tmp_path / "s")]
    assert cli.main([*argv, *QUIET]) == 1  # found while running
    assert capsys.readouterr().err == "jaxneuro: error: No space left on device\n"


def test_missing_or_unreadable_card_and_dataset(tmp_path, capsys):
    (tmp_path / "card").mkdir()
    (tmp_path / "card" / "card.json").mkdir()  # a card that cannot be read as a file
    (tmp_path / "data").write_text("not a dataset")
    for argv, message in [
        (["evaluate", str(tmp_path / "card")], "has no card.json"),
        (["evaluate", str(tmp_path / "none")], "no saved surrogate at"),
        (["fit", "tcn", "--data", str(tmp_path / "data")], "is not a dataset"),
        (["fit", "tcn", "--data", str(tmp_path / "none")], "no dataset at"),
    ]:
        assert cli.main([*argv, "--out", str(tmp_path / "o")]) == 2
        err = capsys.readouterr().err
        assert err.startswith("jaxneuro: error: ") and message in err, err
        assert err.count("\n") == 1 and "Traceback" not in err
    assert not (tmp_path / "o").exists()


@pytest.mark.slow  # jax.random.poisson compiles slowly
def test_poisson_drives_synapses_and_seed_reproduces(tmp_path):
    def run(seed, name):
        args = ["simulate", "hh-synaptic", "--n", "3", "--duration", "100", "--stimulus", "poisson"]
        assert cli.main(args + ["--seed", str(seed), "--out", str(tmp_path / name)] + QUIET) == 0
        return _io.load_traces(tmp_path / name)

    a, manifest = run(0, "a")
    b, _ = run(0, "b")
    c, _ = run(1, "c")
    assert manifest["stimulus"]["inputs"] == ["exc", "inh"]
    np.testing.assert_array_equal(a["v"], b["v"])
    assert not np.array_equal(a["v"], c["v"])
    assert not np.allclose(a["v"], a["v"][:, :1])  # the synapses moved the membrane

    # The recorded stimulus rebuilds the input; the library gives the same traces.
    sim = jaxneuro.create("hh-synaptic")
    x = _stimulus.make_inputs(sim.spec, manifest["stimulus"], a["amplitude"], jax.random.key(0))
    assert x[:, :, 0].max() == 0 and x[:, :, 1:].sum() > 0
    direct, _ = jaxneuro.population(sim, sim.init(), x)
    np.testing.assert_allclose(a["v"], direct["v"], rtol=0, atol=1e-3)


@pytest.mark.parametrize(
    "args, message",
    [
        (["--n", "0"], "argument --n: must be positive, got 0"),
        (["--n", "2.5"], "argument --n: expected an integer, got '2.5'"),
        (["--duration", "-10"], "argument --duration: must be positive, got -10"),
        (["--duration", "0"], "argument --duration: must be positive"),
        (
            ["--duration", "0.001"],
            "jaxneuro: error: --duration 0.001 ms is shorter than one sample",
        ),
        (["--amplitude", "nan"], "argument --amplitude: must be finite"),
        (["--stimulus", "square"], "argument --stimulus: invalid choice: 'square'"),
        (
            ["--stimulus", "poisson"],
            "jaxneuro: error: --stimulus poisson drives spike-train inputs",
        ),
        (["--format", "h5"], "argument --format: invalid choice"),
    ],
)
def test_bad_arguments_exit_2_with_a_clear_message(args, message, capsys, tmp_path):
    assert cli.main(["simulate", "hh", "--out", str(tmp_path / "o"), *args]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err
    assert not (tmp_path / "o").exists()


def test_library_errors_are_one_line(capsys, tmp_path):
    assert cli.main(["simulate", "no-such-model", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("jaxneuro: error: unknown simulator 'no-such-model'")
    assert err.count("\n") == 1

    assert cli.main(["simulate", "hh-synaptic", "--dt", "0.03", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("jaxneuro: error: ") and "0.03" in err and err.count("\n") == 1


def test_runtime_errors_are_one_line(capsys, tmp_path):
    # A 1 ms step on HH with an absurd current diverges; eqx.error_if reports it at run time.
    args = ["simulate", "hh", "--dt", "1", "--duration", "5", "--amplitude", "1e30"]
    assert cli.main(args + ["--out", str(tmp_path / "o")] + QUIET) == 1
    err = capsys.readouterr().err
    assert err.startswith("jaxneuro: error: ") and err.count("\n") == 1
    assert not (tmp_path / "o" / "traces.npz").exists()


def test_missing_command_and_help(capsys):
    assert cli.main([]) == 2
    assert "required: COMMAND" in capsys.readouterr().err
    assert cli.main(["simulate", "--help"]) == 0
    assert "--heterogeneous" in capsys.readouterr().out


def test_interrupted_write_leaves_no_file(tmp_path, monkeypatch):
    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", broken)
    with pytest.raises(OSError, match="disk full"):
        _io.save_traces(tmp_path, {"v": np.zeros(3)}, {"model": "x"})
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow  # two fresh interpreters importing jax
def test_entry_point(tmp_path):
    exe = Path(sysconfig.get_path("scripts")) / "jaxneuro"
    if not exe.exists():
        exe = Path(sys.executable).parent / "jaxneuro"
    out = tmp_path / "run"
    run = subprocess.run(
        [exe, "simulate", "lif", "--n", "2", "--duration", "10", "--out", out],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    assert (out / "traces.npz").exists() and (out / "simulate.png").exists()
    bad = subprocess.run(
        [exe, "simulate", "lif", "--n", "-3"], capture_output=True, text=True, timeout=300
    )
    assert bad.returncode == 2
    assert "argument --n: must be positive, got -3" in bad.stderr


# --- generate, fit, evaluate -------------------------------------------------------------------

OU = ["--mean", "1", "2.5", "--std", "0.5", "1.5", "--tau", "5"]
GENERATE = ["generate", "lif", "--dt", "1", "--sampler", "ou", "--n", "12", "--duration", "150"]
GENERATE += ["--chunk-size", "6", *OU, *QUIET]
FIT = ["fit", "tcn", "--steps", "20", "--eval-every", "10", "--window", "32", "--batch-size", "4"]
FIT += ["--lr", "0.01", "--layers", "2", "--channels", "4", "--kernel", "8", "4", *QUIET]


def _fit_config(**overrides):
    from jaxneuro.training import FitConfig

    kw = dict(steps=20, eval_every=10, window=32, batch_size=4, learning_rate=0.01)
    return FitConfig(**{**kw, **overrides})


@pytest.fixture(scope="module")
def lif_data(tmp_path_factory):
    path = tmp_path_factory.mktemp("cli") / "lif.zarr"
    assert cli.main([*GENERATE, "--out", str(path)]) == 0
    return path


@pytest.fixture(scope="module")
def lif_fit(lif_data, tmp_path_factory):
    out = tmp_path_factory.mktemp("fit") / "run"
    assert cli.main([*FIT, "--data", str(lif_data), "--out", str(out)]) == 0
    return out


def test_generate_equals_library_call(lif_data, tmp_path, capsys):
    ds = jaxneuro.data.open_dataset(lif_data)
    assert ds.n == 12 and ds.complete and ds.spec.dt == 1.0
    assert ds.manifest["teacher"]["repr"] == "LIF(dt=1.0)"
    sampler = jaxneuro.data.OUCurrent(
        duration_ms=150.0, dt=1.0, mean=(1.0, 2.5), std=(0.5, 1.5), tau=5.0
    )
    assert ds.manifest["sampler"] == json.loads(json.dumps(sampler.describe()))
    lif = jaxneuro.create("lif", dt=1.0)
    direct = jaxneuro.data.generate(lif, sampler, 12, tmp_path / "d", chunk_size=6, progress=False)
    a, b = ds.batch(np.arange(12)), direct.batch(np.arange(12))
    np.testing.assert_array_equal(a.inputs, b.inputs)
    np.testing.assert_array_equal(a.outputs["v"], b.outputs["v"])
    assert a.outputs["spikes"].sum() > 0

    # The same command again finds the dataset complete; other arguments are refused by name.
    capsys.readouterr()
    assert cli.main([*GENERATE, "--out", str(lif_data)]) == 0
    assert "generated 12 x lif" in capsys.readouterr().out
    assert cli.main([*GENERATE, "--seed", "3", "--out", str(lif_data)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("jaxneuro: error: ") and "seed" in err and err.count("\n") == 1
    assert jaxneuro.data.open_dataset(lif_data).manifest["seed"] == 0  # left as it was


def test_generate_resumes_an_interrupted_run(lif_data, tmp_path, monkeypatch, capsys):
    from jaxneuro.data import _generate

    real, calls = _generate._write_rows, []

    def killed_in_chunk_1(*args):
        calls.append(1)
        if len(calls) > 3:  # chunk 0 (inputs, v, spikes) is written, chunk 1 is not
            raise KeyboardInterrupt
        real(*args)

    monkeypatch.setattr(_generate, "_write_rows", killed_in_chunk_1)
    with pytest.raises(KeyboardInterrupt):
        cli.main([*GENERATE, "--out", str(tmp_path / "d")])
    monkeypatch.setattr(_generate, "_write_rows", real)
    capsys.readouterr()
    assert cli.main([*GENERATE, "--out", str(tmp_path / "d")]) == 0
    assert "6 of 12 were already written" in capsys.readouterr().out
    a = jaxneuro.data.open_dataset(tmp_path / "d").batch(np.arange(12))
    b = jaxneuro.data.open_dataset(lif_data).batch(np.arange(12))
    np.testing.assert_array_equal(a.outputs["v"], b.outputs["v"])


def _sampler(argv, model="hh-synaptic"):
    args = _main.parser().parse_args(["generate", model, "--out", "x", *argv])
    return _generate.make_sampler(args, jaxneuro.create(model).spec, 100.0)


def test_generate_solver_dt_reaches_the_card(tmp_path, capsys):
    data = tmp_path / "d"
    argv = ["generate", "lif", "--dt", "1", "--solver-dt", "0.5", "--n", "4", "--duration", "40"]
    assert cli.main([*argv, "--out", str(data), *QUIET]) == 0
    assert (
        jaxneuro.data.open_dataset(data).manifest["teacher"]["repr"] == "LIF(dt=1.0, solver_dt=0.5)"
    )
    fit = ["fit", "elm", "--data", str(data), "--out", str(tmp_path / "f"), "--steps", "2"]
    assert cli.main([*fit, "--eval-every", "1", "--window", "8", "--batch-size", "2", *QUIET]) == 0
    card = json.loads((tmp_path / "f" / "surrogate" / "card.json").read_text())
    assert card["teacher"] == {"name": "lif", "kwargs": {"dt": 1.0, "solver_dt": 0.5}}
    assert "spike_threshold" not in card or card["spike_threshold"] in THRESHOLDS
    assert cli.main([*argv, "--solver-dt", "0.3", "--out", str(tmp_path / "e"), *QUIET]) == 2
    assert "solver_dt=0.3 ms must divide the sample interval dt=1.0 ms" in capsys.readouterr().err


def test_generate_samplers_follow_the_teacher():
    olah = _sampler([])  # the default for a model with inputs i_ext, exc, inh
    assert isinstance(olah, jaxneuro.data.OlahSynaptic) and olah.current is None
    assert olah.dt == 1.0 and olah.n_samples == 100
    with_current = _sampler(["--std", "2", "--exc-rate", "40"])
    assert with_current.exc_rate == 40.0
    assert with_current.current.mean == (0.0, 0.0) and with_current.current.std == (2.0, 2.0)
    ou = _sampler([], model="lif")  # an OU current in nA, around the simulate default of 2 nA
    assert isinstance(ou, jaxneuro.data.OUCurrent) and ou.mean == (0.5, 1.5) and ou.dt == 0.1
    synaptic = _sampler(["--sampler", "ou", "--mean", "3"])
    assert synaptic.n_inputs == 3 and synaptic.mean == (3.0, 3.0)


@pytest.mark.parametrize(
    "args, message",
    [
        (["lif", "--sampler", "olah"], "--sampler olah drives the inputs i_ext, exc, inh"),
        (["lif", "--s-max", "2"], "--s-max apply to --sampler olah only"),
        (["lif", "--mean", "1", "2", "3"], "--mean takes one value or a LO HI range"),
        (["lif", "--std", "-1"], "std must be >= 0"),
        (["lif", "--tau", "5", "1"], "tau must be a finite number or a (low, high) pair"),
        (["lif", "--n", "0"], "argument --n: must be positive, got 0"),
        (["lif", "--seed", "-1"], "argument --seed: must be >= 0"),
        (["lif", "--duration", "0.01"], "--duration 0.01 ms is shorter than one sample"),
        (["lif", "--sampler", "pink"], "argument --sampler: invalid choice: 'pink'"),
        (["no-such-model"], "unknown simulator 'no-such-model'"),
    ],
)
def test_generate_bad_arguments(args, message, tmp_path, capsys):
    assert cli.main(["generate", *args, "--out", str(tmp_path / "d"), *QUIET]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not (tmp_path / "d").exists()


def test_generate_needs_out(capsys):
    assert cli.main(["generate", "lif"]) == 2
    assert "the following arguments are required: --out" in capsys.readouterr().err


def test_fit_saves_the_library_fit_with_a_card(lif_data, lif_fit, capsys):
    card = json.loads((lif_fit / "surrogate" / "card.json").read_text())
    assert card["family"] == "TCN" and card["teacher"] == {"name": "lif", "kwargs": {"dt": 1.0}}
    assert card["data"]["sampler"]["class"] == "OUCurrent" and card["data"]["n"] == 12
    assert card["training"]["config"]["steps"] == 20 and len(card["training"]["history"]) == 3
    calibration = card["spike_threshold_calibration"]
    assert card["spike_threshold"] == calibration["threshold"] in THRESHOLDS
    assert calibration["split"] == "validation" and 0 <= calibration["f1_pooled"] <= 1
    record = json.loads((lif_fit / "fit.json").read_text())
    assert record["settings"]["options"] == {"n_layers": 2, "channels": 4, "kernel_sizes": [8, 4]}
    assert record["result"]["steps_done"] == 20
    surrogate, params = jaxneuro.load(lif_fit / "surrogate")
    teacher, _ = jaxneuro.load_teacher(lif_fit / "surrogate")
    assert repr(teacher) == "LIF(dt=1.0)" and surrogate.kernel_sizes == (8, 4)

    from jaxneuro.surrogates import TCN

    tcn = TCN(teacher.spec, n_layers=2, channels=4, kernel_sizes=(8, 4))
    direct = jaxneuro.fit(tcn, lif_data, _fit_config(), progress=False)
    assert direct.surrogate.scaling == surrogate.scaling
    for a, b in zip(jax.tree.leaves(params), jax.tree.leaves(direct.params), strict=True):
        np.testing.assert_array_equal(a, b)


def test_fit_resumes_after_an_interruption(lif_data, lif_fit, tmp_path, monkeypatch, capsys):
    from jaxneuro.training import _fit

    real, calls = _fit.save_tree, []

    def killed_after_first_checkpoint(*args, **kwargs):
        real(*args, **kwargs)
        calls.append(1)
        raise KeyboardInterrupt

    out = tmp_path / "run"
    argv = [*FIT, "--data", str(lif_data), "--out", str(out)]
    monkeypatch.setattr(_fit, "save_tree", killed_after_first_checkpoint)
    with pytest.raises(KeyboardInterrupt):
        cli.main(argv)
    assert len(calls) == 1 and not (out / "surrogate").exists()
    monkeypatch.setattr(_fit, "save_tree", real)
    capsys.readouterr()
    assert cli.main(argv) == 0
    assert "resuming the fit" in capsys.readouterr().out and "from step 10"
    resumed, _ = _io_tree(out)
    uninterrupted, _ = _io_tree(lif_fit)
    for a, b in zip(jax.tree.leaves(resumed), jax.tree.leaves(uninterrupted), strict=True):
        np.testing.assert_array_equal(a, b)

    # Done: the same command finishes at once; other settings in the same folder are refused.
    assert cli.main(argv) == 0
    assert "20/20 steps" in capsys.readouterr().out
    assert cli.main([*argv, "--steps", "30"]) == 2
    err = capsys.readouterr().err
    assert "config.steps: 20 there, 30 now" in err and err.count("\n") == 1


def _io_tree(out):
    surrogate, params = jaxneuro.load(out / "surrogate")
    return params, surrogate


@pytest.mark.parametrize(
    "args, message",
    [
        (["--memory", "4"], "--memory does not apply to tcn (only to elm)"),
        (["--channels", "4", "4", "4"], "channels"),  # three widths for two layers
        (["--teacher-kwargs", "{bad"], "--teacher-kwargs is not JSON"),
        (["--teacher", "hh"], "is not 'hh' with {} or {\"dt\": 1.0}; pass --teacher NAME"),
        (["--window", "500"], "exceed the dataset's 150"),
        (["--lr", "0"], "argument --lr: must be positive"),
        (["--rollout", "4"], "rollout needs an autoregressive surrogate (e.g. CNNLSTM), not TCN"),
        (["--feedback-noise", "0.5"], "feedback_noise_mv needs a surrogate fed its own"),
        (["--feedback-noise", "-1"], "argument --feedback-noise"),
        (["--v-huber", "0"], "argument --v-huber: must be positive"),
    ],
)
def test_fit_bad_arguments(args, message, lif_data, tmp_path, capsys):
    out = tmp_path / "run"
    assert cli.main([*FIT, "--data", str(lif_data), "--out", str(out), *args]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    if not message.startswith("argument"):  # library errors: one line
        assert err.startswith("jaxneuro: error: ") and err.count("\n") == 1
    assert not (out / "fit.json").exists()


def test_fit_cnn_lstm_trains_on_its_own_feedback(lif_data, tmp_path):
    out = tmp_path / "loop"
    argv = ["fit", "cnn-lstm", "--data", str(lif_data), "--out", str(out), "--steps", "2"]
    argv += ["--eval-every", "1", "--window", "16", "--batch-size", "2", "--history", "4"]
    argv += ["--channels", "4", "4", "2", "--lstm", "4", "--hidden", "4", *QUIET]
    assert cli.main([*argv, "--rollout", "8", "--feedback-noise", "0.5", "--v-huber", "5"]) == 0
    config = json.loads((out / "surrogate" / "card.json").read_text())["training"]["config"]
    assert config["rollout"] == 8 and config["feedback_noise_mv"] == 0.5
    assert config["loss"]["v_huber_mv"] == 5.0
    assert cli.main([*argv, "--rollout", "17", "--out", str(tmp_path / "long")]) == 2


def test_fit_bad_places(lif_data, tmp_path, capsys):
    assert cli.main([*FIT, "--data", str(tmp_path / "none"), "--out", str(tmp_path / "o")]) == 2
    assert "jaxneuro: error: no dataset at" in capsys.readouterr().err
    assert cli.main(["fit", "mlp", "--data", str(lif_data), "--out", str(tmp_path / "o")]) == 2
    assert "argument FAMILY: invalid choice: 'mlp'" in capsys.readouterr().err
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("mine")
    assert cli.main([*FIT, "--data", str(lif_data), "--out", str(tmp_path / "busy")]) == 2
    assert "is not empty and holds no jaxneuro fit" in capsys.readouterr().err


def test_evaluate_held_out_stimuli_from_the_training_sampler(lif_fit, tmp_path, capsys):
    out = tmp_path / "ev"
    argv = ["evaluate", str(lif_fit / "surrogate"), "--n", "3", "--duration", "60"]
    assert cli.main([*argv, "--burn-in", "20", "--gradient-cells", "1", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    for label in ("voltage RMSE", "precision / recall / F1 (+-3 ms)", "speed-up, run only"):
        assert label in text
    assert "the training data's sampler" in text
    report = json.loads((out / "report.json").read_text())
    assert report["n_cells"] == 3 and report["duration_ms"] == 60.0
    stim = report["stimuli"]
    assert stim["seed"] == 1 and stim["sampler"]["mean"] == [1.0, 2.5]
    assert stim["sampler"]["duration_ms"] == 80.0  # burn-in + scored
    for figure in ("traces.png", "raster.png"):
        assert (out / figure).stat().st_size > 1000

    # The same numbers as the library call on the same stimuli.
    surrogate, params = jaxneuro.load(lif_fit / "surrogate")
    teacher, teacher_params = jaxneuro.load_teacher(lif_fit / "surrogate")
    sampler = jaxneuro.data.OUCurrent(
        duration_ms=80.0, dt=1.0, mean=(1.0, 2.5), std=(0.5, 1.5), tau=5.0
    )
    x = jax.vmap(sampler)(jax.random.split(jax.random.key(1), 3))
    direct = jaxneuro.evaluate(
        surrogate, teacher, x, params=params, burn_in_ms=20.0, gradient_cells=1
    )
    assert report["voltage"] == pytest.approx(direct["voltage"], rel=1e-6)


def test_evaluate_default_sampler_and_errors(tmp_path, capsys):
    from jaxneuro.surrogates import TCN

    teacher = jaxneuro.create("lif", dt=1.0)
    tcn = TCN(teacher.spec, n_layers=1, channels=2, kernel_sizes=4)
    saved = jaxneuro.save(
        tmp_path / "bare", tcn, tcn.init(), teacher="lif", teacher_kwargs={"dt": 1.0}
    )
    out = tmp_path / "ev"
    argv = ["evaluate", str(saved), "--n", "2", "--duration", "40", "--burn-in", "0"]
    assert cli.main([*argv, "--gradient-cells", "1", "--out", str(out)]) == 0
    assert "the teacher's default sampler" in capsys.readouterr().out
    stim = json.loads((out / "report.json").read_text())["stimuli"]
    assert stim["sampler"]["class"] == "OUCurrent" and stim["sampler"]["mean"] == [0.5, 1.5]

    assert cli.main(["evaluate", "no-such-surrogate", "--out", str(tmp_path / "x")]) == 2
    assert "jaxneuro: error: no saved surrogate at 'no-such-surrogate'" in capsys.readouterr().err
    assert cli.main(["evaluate", str(tmp_path), "--out", str(tmp_path / "x")]) == 2
    assert "has no card.json" in capsys.readouterr().err
    assert cli.main(["evaluate", str(saved), "--n", "0", "--out", str(tmp_path / "x")]) == 2
    assert "argument --n: must be positive" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()
