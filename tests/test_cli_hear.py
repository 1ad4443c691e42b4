"""``jaxneuro hear``: a WAV file through the auditory periphery, written as rate maps."""

import json

import numpy as np
import pytest

import jaxneuro as jn
from jaxneuro.cli import main


@pytest.fixture(scope="module")
def wav(tmp_path_factory):
    path = tmp_path_factory.mktemp("sound") / "tone.wav"
    dt = 1000 / 16000  # a 16 kHz file: resampled to 100 kHz by the command
    jn.stimuli.save_wav(path, jn.stimuli.pure_tone(20.0, dt, 1000.0, 60.0), dt=dt)
    return path


def test_hear_writes_rate_maps_manifest_and_figure(wav, tmp_path, capsys):
    out = tmp_path / "hear"
    code = main(["hear", str(wav), "--level", "50", "--n-cf", "3", "--out", str(out)])
    assert code == 0, capsys.readouterr().err
    traces = np.load(out / "traces.npz")
    assert traces["cf"].shape == (3,) and traces["cf"][0] > traces["cf"][-1]  # descending
    assert traces["t"].shape == (400,)  # 20 ms at 20 kHz
    for fibre in ("hsr", "msr", "lsr"):
        r = traces[f"rate_{fibre}"]
        assert r.shape == (400, 3) and np.isfinite(r).all() and (r >= 0).all()
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["sound"]["calibrated"] and abs(manifest["sound"]["level_db_spl"] - 50) < 0.1
    assert (out / "hear.png").stat().st_size > 10_000
    # the 1 kHz tone drives the channel nearest 1 kHz hardest
    middle = np.argmin(abs(np.log(traces["cf"] / 1000.0)))
    assert traces["rate_hsr"][200:].mean(axis=0).argmax() == middle


def test_hear_errors_are_one_line(tmp_path, capsys):
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"not a wav file at all")
    assert main(["hear", str(bad), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "bad.wav" in err
    assert main(["hear", str(tmp_path / "missing.wav"), "--out", str(tmp_path / "o")]) == 2
    assert "missing.wav" in capsys.readouterr().err
    assert main(["hear", str(bad), "--model", "hh", "--out", str(tmp_path / "o")]) == 2
    assert "pressure" in capsys.readouterr().err
