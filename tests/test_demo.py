"""``jaxneuro demo``: the quick run end to end, its numbers checked, and its refusals."""

import json

import jax
import numpy as np
import pytest

import jaxneuro
from jaxneuro import _demo, _saving, cli, metrics
from jaxneuro.surrogates import TCN


@pytest.fixture(scope="module")
def surrogate(tmp_path_factory):
    """The demo's shipped surrogate, or (where it is not trained yet) a tiny untrained TCN of
    hh-synaptic."""
    if _demo.SHIPPED in jaxneuro.pretrained():
        return _demo.SHIPPED
    teacher = jaxneuro.create("hh-synaptic")
    tcn = TCN(teacher.spec, n_layers=2, channels=4, kernel_sizes=(8, 4))
    path = tmp_path_factory.mktemp("surrogate") / "tiny-hh-tcn"
    return str(jaxneuro.save(path, tcn, tcn.init(jax.random.key(0)), teacher="hh-synaptic"))


@pytest.fixture(scope="module")
def quick(surrogate, tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    lines = []
    summary = _demo.run(out, quick=True, surrogate=surrogate, echo=lines.append)
    return out, summary, "\n".join(lines)


def test_quick_demo_writes_its_files_and_table(quick):
    out, summary, text = quick
    for name in ("summary.json", "report.json", "traces.png", "raster.png", "design.png"):
        assert (out / name).stat().st_size > 500, name
    assert json.loads((out / "summary.json").read_text()) == summary
    for label in ("fidelity and speed", "voltage RMSE", "speed-up, run only", "van Rossum D2"):
        assert label in text
    for label in ("initial (i_ext = 0)", "designed via analytical", "designed via surrogate"):
        assert label in text
    fidelity = summary["fidelity"]
    assert fidelity["n_cells"] == _demo.QUICK.n_cells
    assert fidelity["speed"]["teacher"]["run_s"] > 0 and fidelity["speed"]["surrogate"]["run_s"] > 0
    assert f"{fidelity['speed']['speedup']:.3g}x" in text  # the table prints what was measured


def test_quick_demo_checks_every_design_on_the_analytical_model(quick):
    """The reported spikes are the analytical model's on the reported current; the verdicts follow
    from the counts, and the counts from the spike times."""
    _, summary, text = quick
    d = summary["design"]
    target = np.asarray(d["target_ms"])
    assert d["target_ms"] == list(_demo.QUICK.target_ms)
    teacher, params = jaxneuro.load_teacher(summary["surrogate"]["name_or_path"])
    sampler = jaxneuro.data.OlahSynaptic(duration_ms=_demo.QUICK.duration_ms)
    keys = jax.random.split(jax.random.key(_demo.SEED), _demo.QUICK.n_cells)
    x = np.asarray(jax.jit(jax.vmap(sampler))(keys))[d["cell"], : round(d["design_ms"])]
    forms = ("initial", "analytical", "surrogate")
    currents = np.stack([np.zeros(len(x))] + [np.asarray(d[f]["i_ext"]) for f in forms[1:]])
    assert _demo.CURRENT_BOUNDS[0] <= currents.min() <= currents.max() <= _demo.CURRENT_BOUNDS[1]
    xs = np.repeat(x[None], 3, axis=0)
    xs[:, :, 0] = currents
    run = jax.jit(jax.vmap(lambda xf: teacher.apply(params, xf)[0]["spikes"]))
    for form, spikes in zip(forms, np.asarray(run(xs)), strict=True):
        e = d[form]
        times = metrics.spike_times(spikes, 1.0)
        np.testing.assert_array_equal(times, e["spike_times_ms"])
        hits = len(metrics.match_spikes(times, target, 3.0).lag_ms)
        assert (e["hits"], e["missed"], e["extra"]) == (hits, len(target) - hits, len(times) - hits)
        assert e["achieved"] == (hits == len(target) and len(times) == hits)
        assert np.isfinite(e["van_rossum_d2"])
        if form != "initial":
            verdict = "achieved: all" if e["achieved"] else "not achieved:"
            assert f"via {form}: {verdict}" in text
            history = np.asarray(e["loss_history"])
            assert history.shape == (_demo.QUICK.steps + 1,)
            # recomputed in a separately compiled program: float32 rounding through a recurrent
            # surrogate's scan differs by ~1e-5 relative (4e-5 seen for hh-elm)
            assert e["own_loss"] == pytest.approx(history[e["best_step"]], rel=2e-4)
    # the analytical design is judged by the model it was designed on: no transfer gap
    assert d["analytical"]["own_loss"] == pytest.approx(d["analytical"]["van_rossum_d2"], rel=1e-4)


def test_demo_without_the_shipped_surrogate_says_how_to_train_it(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(_saving, "pretrained", lambda: [])
    monkeypatch.chdir(tmp_path)
    how = f"python scripts/train_pretrained.py {_demo.SHIPPED}"
    with pytest.raises(_demo.DemoError, match=how):
        _demo.run(tmp_path / "d", quick=True)
    assert cli.main(["demo", "--quick", "--out", str(tmp_path / "d")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"jaxneuro: error: the surrogate '{_demo.SHIPPED}' is not available")
    assert how in err and err.count("\n") == 1
    assert not (tmp_path / "d").exists()


def test_demo_refuses_a_surrogate_of_another_teacher(tmp_path, capsys):
    lif = jaxneuro.create("lif", dt=1.0)
    tcn = TCN(lif.spec, n_layers=1, channels=2, kernel_sizes=4)
    path = jaxneuro.save(
        tmp_path / "lif", tcn, tcn.init(), teacher="lif", teacher_kwargs={"dt": 1.0}
    )
    with pytest.raises(_demo.DemoError, match="drives the inputs i_ext, exc, inh"):
        _demo.run(tmp_path / "d", quick=True, surrogate=path)
    assert cli.main(["demo", "--surrogate", str(tmp_path / "none"), "--out", str(tmp_path)]) == 2
    assert "is not available" in capsys.readouterr().err
    assert cli.main(["demo", "--help"]) == 0
    assert "--quick" in capsys.readouterr().out
