"""The ``jaxneuro`` command: listing, simulation files, equality with the library, errors."""

import json
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

QUIET = ["--no-progress"]


def test_models_lists_every_simulator_with_its_spec(capsys):
    assert cli.main(["models"]) == 0
    text = capsys.readouterr().out
    for name in ("hh", "lif", "adex", "izhikevich"):
        assert f"\n{name}: " in "\n" + text
    for name, description in jaxneuro.available().items():
        assert f"{name}: {description}" in text
        assert jaxneuro.create(name).spec.describe() in text


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
    assert traces["v"].shape == traces["spikes"].shape == (4, 1200)
    np.testing.assert_allclose(traces["t"], 0.025 * np.arange(1, 1201))
    amplitudes = stim["amplitude"] * np.arange(1, 5) / 4
    np.testing.assert_allclose(traces["amplitude"], amplitudes, rtol=1e-6)

    # The same population through the library directly, in one call (the CLI runs in chunks).
    sim = jaxneuro.create("hh")
    step = stimuli.step(30.0, 0.025, 1.0, onset=stim["onset_ms"])
    x = jnp.asarray(amplitudes, jnp.float32)[:, None, None] * step[None, :, None]
    direct, _ = jaxneuro.population(sim, sim.init(), x)
    np.testing.assert_allclose(traces["v"], direct["v"], rtol=0, atol=1e-3)
    np.testing.assert_array_equal(traces["spikes"], direct["spikes"])
    assert traces["spikes"].sum(axis=1)[-1] > 0  # the full 10 uA/cm2 step fires


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


def test_duration_rounds_like_the_stimuli(tmp_path):
    # 0.0625 ms / 0.025 ms = 2.5 samples: the CLI and jaxneuro.stimuli must agree on T (3).
    args = ["simulate", "hh", "--n", "1", "--duration", "0.0625", "--out", str(tmp_path)]
    assert cli.main(args + QUIET) == 0
    arrays, manifest = _io.load_traces(tmp_path)
    assert manifest["n_samples"] == 3 and arrays["v"].shape == (1, 3)


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
    x = cli.make_inputs(sim.spec, manifest["stimulus"], a["amplitude"], jax.random.key(0))
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
