"""Tests for the sound stimuli: dB SPL conventions, ramps, noise, WAV files, speech_like."""

import math
import os
import shutil

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.io import wavfile

from jaxneuro import stimuli

DT = 0.01  # ms: 100 kHz
FS = 100_000
KEY = jax.random.key(0)
P0 = 2e-5


@pytest.fixture
def x64():
    with jax.enable_x64(True):
        yield


def peak_hz(x, fs):
    """Frequency (Hz) of the largest Fourier component of a 1-D signal."""
    spectrum = np.abs(np.fft.rfft(np.asarray(x)))
    return float(np.fft.rfftfreq(len(x), 1.0 / fs)[np.argmax(spectrum)])


# --------------------------------------------------------------------------- calibration


def test_calibration_constants(x64):
    assert stimuli.P0_PA == P0
    for level in (0.0, 40.0, 94.0):
        assert float(stimuli.tone_amplitude(level)) == pytest.approx(
            math.sqrt(2) * P0 * 10 ** (level / 20), rel=1e-15
        )
        assert float(stimuli.click_peak(level)) == pytest.approx(
            2 * math.sqrt(2) * P0 * 10 ** (level / 20), rel=1e-15
        )
    x = np.random.default_rng(0).standard_normal(1234) * 7.0 + 3.0
    p = stimuli.calibrate_rms(x, 73.5)
    assert float(stimuli.spl(p)) == pytest.approx(73.5, abs=1e-12)
    np.testing.assert_allclose(p / x, p[0] / x[0], rtol=1e-12)  # a pure scaling
    assert float(stimuli.spl(jnp.ones(10) * P0)) == pytest.approx(0.0, abs=1e-12)
    two = stimuli.spl(jnp.stack([jnp.ones(4) * P0, jnp.ones(4) * 10 * P0], axis=1), axis=0)
    np.testing.assert_allclose(two, [0.0, 20.0], atol=1e-12)
    with pytest.raises(ValueError, match="RMS"):
        stimuli.calibrate_rms(jnp.zeros(5), 60.0)


# --------------------------------------------------------------------------- builders


def test_pure_tone_level_exact(x64):
    x = stimuli.pure_tone(100.0, DT, 1000.0, 60.0)  # 2.5 ms ramps
    assert x.shape == (10_000, 1) and x.dtype == jnp.float64
    steady = x[250:9750, 0]  # 95 whole periods of 100 samples
    assert float(stimuli.spl(steady)) == pytest.approx(60.0, abs=1e-10)
    amplitude = math.sqrt(2) * P0 * 1e3
    assert float(jnp.max(steady)) == pytest.approx(amplitude, rel=1e-12)
    assert peak_hz(x[:, 0], FS) == 1000.0
    # phase: sin(2π f t + phase) at t = k dt
    y = stimuli.pure_tone(1.0, DT, 250.0, 60.0, ramp=0.0, phase=0.3)
    k = np.arange(100)
    np.testing.assert_allclose(y[:, 0], amplitude * np.sin(2 * np.pi * 250 * k / FS + 0.3), 1e-12)


def test_ramps_are_raised_cosine(x64):
    # A 0 Hz tone at phase π/2 is the gate itself, times the amplitude.
    amplitude = float(stimuli.tone_amplitude(50.0))
    w = np.asarray(stimuli.pure_tone(20.0, DT, 0.0, 50.0, ramp=2.5, phase=math.pi / 2))[:, 0]
    w = w / amplitude
    n = 250
    k = np.arange(n)
    rise = 0.5 * (1 - np.cos(np.pi * k / n))
    np.testing.assert_allclose(w[:n], rise, atol=1e-12)
    np.testing.assert_allclose(w[::-1][:n], rise, atol=1e-12)  # the fall mirrors the rise
    np.testing.assert_allclose(w[n:-n], 1.0, atol=1e-12)
    assert w[0] == 0.0 and w[-1] == 0.0
    np.testing.assert_allclose(stimuli.pure_tone(1.0, DT, 0.0, 50.0, 0.0, math.pi / 2), amplitude)


def test_click_pespl(x64):
    x = np.asarray(stimuli.click(5.0, DT, 80.0, onset=1.0))[:, 0]  # default width 0.1 ms
    on = np.flatnonzero(x)
    np.testing.assert_array_equal(on, np.arange(100, 110))  # 10 samples, as in V18
    peak = 2 * math.sqrt(2) * P0 * 1e4
    np.testing.assert_allclose(x[on], peak, rtol=1e-14)
    # peSPL: the peak equals the peak-to-peak of a tone of the same dB SPL
    assert peak == pytest.approx(2 * float(stimuli.tone_amplitude(80.0)), rel=1e-14)
    r = stimuli.click(5.0, DT, 80.0, width=0.05, rarefaction=True)
    np.testing.assert_allclose(r[:5, 0], -peak, rtol=1e-14)
    assert int(jnp.sum(r != 0)) == 5


def test_noise_calibration_and_band(x64):
    white = stimuli.noise(KEY, 100.0, DT, 55.0)
    assert white.shape == (10_000, 1)
    assert float(stimuli.spl(white)) == pytest.approx(55.0, abs=1e-10)
    np.testing.assert_array_equal(white, stimuli.noise(KEY, 100.0, DT, 55.0))  # per key
    assert not np.allclose(white, stimuli.noise(jax.random.key(1), 100.0, DT, 55.0))
    band = np.asarray(stimuli.noise(KEY, 100.0, DT, 55.0, band=(500.0, 2000.0)))[:, 0]
    assert float(stimuli.spl(band)) == pytest.approx(55.0, abs=1e-10)
    power = np.abs(np.fft.rfft(band)) ** 2
    f = np.fft.rfftfreq(len(band), 1.0 / FS)
    outside = power[(f < 500.0) | (f > 2000.0)].sum() / power.sum()
    assert outside < 1e-20
    gated = np.asarray(stimuli.noise(KEY, 100.0, DT, 55.0, ramp=5.0))[:, 0]
    assert gated[0] == 0.0 and float(stimuli.spl(gated[500:-500])) == pytest.approx(
        float(stimuli.spl(np.asarray(white)[500:-500, 0])), abs=1e-10
    )


def test_sam_tone_levels_and_spectrum(x64):
    args = (100.0, DT, 4000.0, 100.0, 1.0, 70.0)
    x = np.asarray(stimuli.sam_tone(*args))[:, 0]
    mid = x[2500:7500]  # 50 ms: whole periods of carrier and modulator
    assert float(stimuli.spl(mid)) == pytest.approx(70.0, abs=1e-10)
    c = np.asarray(stimuli.sam_tone(*args, calibration="carrier"))[2500:7500, 0]
    assert float(stimuli.spl(c)) == pytest.approx(70.0 + 10 * math.log10(1.5), abs=1e-10)
    spectrum = np.abs(np.fft.rfft(mid))
    f = np.fft.rfftfreq(len(mid), 1.0 / FS)
    at = {hz: spectrum[np.argmin(np.abs(f - hz))] for hz in (3900.0, 4000.0, 4100.0)}
    assert at[3900.0] / at[4000.0] == pytest.approx(0.5, rel=1e-9)  # sidebands m/2
    assert at[4100.0] / at[4000.0] == pytest.approx(0.5, rel=1e-9)


def test_tone_pair_and_silence(x64):
    x = np.asarray(stimuli.tone_pair(DT, 2000.0, 70.0, gap=100.0, before=5.0, after=5.0))[:, 0]
    assert x.shape == (31_000,)  # 5 + 100 + 100 + 100 + 5 ms
    tone = np.asarray(stimuli.pure_tone(100.0, DT, 2000.0, 70.0))[:, 0]
    np.testing.assert_array_equal(x[500:10_500], tone)
    np.testing.assert_array_equal(x[20_500:30_500], tone)
    assert not x[:500].any() and not x[10_500:20_500].any() and not x[30_500:].any()
    assert stimuli.silence(3.0, DT).shape == (300, 1)


def test_float32_by_default():
    for x in (
        stimuli.pure_tone(10.0, DT, 1000.0, 60.0),
        stimuli.click(10.0, DT, 60.0),
        stimuli.noise(KEY, 10.0, DT, 60.0, band=(100.0, 5000.0)),
        stimuli.sam_tone(10.0, DT, 1000.0, 100.0, 0.5, 60.0),
    ):
        assert x.shape == (1000, 1) and x.dtype == jnp.float32


def test_traced_level_has_gradient():
    def energy(level):
        return jnp.sum(stimuli.pure_tone(5.0, DT, 1000.0, level, ramp=0.0) ** 2)

    # energy ∝ 10^(L/10): d log(energy) / dL = ln(10)/10
    g = jax.grad(lambda level: jnp.log(energy(level)))(60.0)
    assert float(g) == pytest.approx(math.log(10) / 10, rel=1e-5)
    assert jax.jit(energy)(60.0) == pytest.approx(float(energy(60.0)), rel=1e-6)


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: stimuli.pure_tone(10.0, DT, 50_000.0, 60.0), "Nyquist"),
        (lambda: stimuli.pure_tone(-10.0, DT, 1000.0, 60.0), "duration"),
        (lambda: stimuli.pure_tone(10.0, 0.0, 1000.0, 60.0), "dt"),
        (lambda: stimuli.pure_tone(10.0, DT, 1000.0, float("nan")), "level_db"),
        (lambda: stimuli.pure_tone(4.0, DT, 1000.0, 60.0, ramp=2.5), "ramps"),
        (lambda: stimuli.click(1.0, DT, 60.0, onset=0.95), "fit"),
        (lambda: stimuli.click(1.0, DT, 60.0, width=0.001), "sample"),
        (lambda: stimuli.noise(KEY, 10.0, DT, 60.0, band=(2000.0, 1000.0)), "band"),
        (lambda: stimuli.sam_tone(10.0, DT, 1000.0, 100.0, 1.5, 60.0), "depth"),
        (lambda: stimuli.tone_pair(DT, 1000.0, 60.0, gap=-1.0), "gap"),
    ],
)
def test_bad_arguments_raise(make, match):
    with pytest.raises(ValueError, match=match):
        make()


# --------------------------------------------------------------------------- WAV files


def _tone(fs, hz, seconds, amplitude):
    return amplitude * np.sin(2 * np.pi * hz * np.arange(int(fs * seconds)) / fs)


def test_wav_int16_stereo_16k(tmp_path, x64):
    path = tmp_path / "tone16.wav"
    left, right = _tone(16_000, 1000.0, 0.5, 0.5), _tone(16_000, 1000.0, 0.5, 0.25)
    wavfile.write(path, 16_000, np.round(np.stack([left, right], 1) * 32767).astype(np.int16))
    x = stimuli.load_wav(path, level_db=65.0)
    assert x.shape == (50_000, 1) and x.dtype == jnp.float64  # 8000 samples × 100/16
    assert peak_hz(x[:, 0], FS) == 1000.0
    assert float(stimuli.spl(x)) == pytest.approx(65.0, abs=1e-10)
    raw = np.asarray(stimuli.load_wav(path))[:, 0]  # as Pa: int16 full scale is 1 Pa
    mid = slice(10_000, 40_000)  # away from the edges; resample_poly ripples by ~0.1 %
    assert np.sqrt(np.mean(raw[mid] ** 2)) == pytest.approx(0.375 / math.sqrt(2), rel=3e-3)
    one = np.asarray(stimuli.load_wav(path, channel=1))[:, 0]
    assert np.sqrt(np.mean(one[mid] ** 2)) == pytest.approx(0.25 / math.sqrt(2), rel=3e-3)


def test_wav_float32_stereo_44k1(tmp_path, x64):
    path = tmp_path / "tone44.wav"
    tone = _tone(44_100, 3000.0, 0.5, 0.2)
    wavfile.write(path, 44_100, np.stack([tone, tone], 1).astype(np.float32))
    x = np.asarray(stimuli.load_wav(path))[:, 0]
    assert x.shape == (50_000,)  # 22050 × 1000/441
    assert peak_hz(x, FS) == 3000.0
    assert np.sqrt(np.mean(x[10_000:40_000] ** 2)) == pytest.approx(0.2 / math.sqrt(2), rel=3e-3)
    y = stimuli.load_wav(path, dt=0.05, level_db=30.0)  # to 20 kHz
    assert y.shape == (10_000, 1) and peak_hz(y[:, 0], 20_000) == 3000.0
    assert float(stimuli.spl(y)) == pytest.approx(30.0, abs=1e-10)


def test_save_wav_round_trip(tmp_path, x64):
    p = stimuli.pure_tone(20.0, DT, 1000.0, 80.0)
    path = stimuli.save_wav(tmp_path / "sub" / "tone.wav", p, DT)
    rate, data = wavfile.read(path)
    assert rate == FS and data.dtype == np.float32 and data.shape == (2000,)
    np.testing.assert_allclose(stimuli.load_wav(path), p, rtol=1e-6, atol=1e-9)
    stimuli.save_wav(path, p, DT, peak=0.5)  # overwrites in place
    assert np.max(np.abs(wavfile.read(path)[1])) == pytest.approx(0.5)
    assert sorted(os.listdir(path.parent)) == ["tone.wav"]  # no temporary left behind
    with pytest.raises(ValueError, match="non-finite"):
        stimuli.save_wav(tmp_path / "nan.wav", np.array([0.0, np.nan]), DT)
    with pytest.raises(ValueError, match="whole number"):
        stimuli.save_wav(tmp_path / "odd.wav", p, 0.03)
    assert not (tmp_path / "nan.wav").exists()


def test_bad_wav_files_raise(tmp_path):
    missing = tmp_path / "missing.wav"
    with pytest.raises(FileNotFoundError, match="missing.wav"):
        stimuli.load_wav(missing)
    text = tmp_path / "text.wav"
    text.write_text("hello world")
    with pytest.raises(ValueError, match="text.wav"):
        stimuli.load_wav(text)
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"RIFF\x10\x00\x00\x00WAVEjunkjunkjunk")
    with pytest.raises(ValueError, match="broken.wav"):
        stimuli.load_wav(broken)
    empty = tmp_path / "empty.wav"
    wavfile.write(empty, 16_000, np.zeros(0, np.int16))
    with pytest.raises(ValueError, match="empty.wav holds no audio"):
        stimuli.load_wav(empty)
    nan = tmp_path / "nan.wav"
    wavfile.write(nan, 16_000, np.array([0.0, np.nan, 0.5], np.float32))
    with pytest.raises(ValueError, match="nan.wav holds 1 non-finite"):
        stimuli.load_wav(nan)
    silent = tmp_path / "silent.wav"
    wavfile.write(silent, 16_000, np.zeros(100, np.int16))
    with pytest.raises(ValueError, match="silent.wav is silent"):
        stimuli.load_wav(silent, level_db=60.0)
    assert stimuli.load_wav(silent).shape == (625, 1)
    for dt in (0.0, -0.01, float("nan")):
        with pytest.raises(ValueError, match="dt"):
            stimuli.load_wav(silent, dt=dt)
    with pytest.raises(ValueError, match="channel"):
        stimuli.load_wav(silent, channel=3)


# --------------------------------------------------------------------------- speech


def test_speech_like(x64):
    x = np.asarray(stimuli.speech_like(KEY, 2000.0, DT, 65.0))[:, 0]
    assert x.shape == (200_000,)
    np.testing.assert_array_equal(x, np.asarray(stimuli.speech_like(KEY, 2000.0, DT, 65.0))[:, 0])
    other = np.asarray(stimuli.speech_like(jax.random.key(1), 2000.0, DT, 65.0))[:, 0]
    assert not np.allclose(x, other)
    for sig in (x, other):
        assert float(stimuli.spl(sig)) == pytest.approx(65.0, abs=1e-10)
        # Energy mostly below 4 kHz, but some above (fricatives, F4-F5).
        power = np.abs(np.fft.rfft(sig)) ** 2
        f = np.fft.rfftfreq(len(sig), 1.0 / FS)
        assert 0.95 < power[f < 4000.0].sum() / power.sum() < 1.0
        # Syllabic envelope: the modulation spectrum of the 1 ms RMS envelope peaks at 2–8 Hz.
        env = np.sqrt(np.mean(sig.reshape(-1, 100) ** 2, axis=1))
        mod = np.abs(np.fft.rfft((env - env.mean()) * np.hanning(len(env)))) ** 2
        fm = np.fft.rfftfreq(len(env), 1e-3)
        band = (fm >= 0.5) & (fm <= 32.0)
        assert 2.0 <= fm[band][np.argmax(mod[band])] <= 8.0
        assert mod[(fm >= 2.0) & (fm <= 8.0)].sum() > 0.5 * mod[band].sum()
        # Voicing: in the loudest 40 ms, the autocorrelation peaks at a lag of one F0 period.
        k = int(np.argmax(np.convolve(sig**2, np.ones(4000), "valid")))
        seg = sig[k : k + 4000]
        ac = np.correlate(seg, seg, "full")[len(seg) - 1 :]
        lags = np.arange(FS // 220, FS // 100 + 1)
        f0 = FS / lags[np.argmax(ac[lags])]
        assert 100.0 <= f0 <= 220.0 and ac[lags].max() > 0.3 * ac[0]


def test_speech_like_bad_arguments():
    with pytest.raises(ValueError, match="100 ms"):
        stimuli.speech_like(KEY, 50.0, DT, 60.0)
    with pytest.raises(ValueError, match="16 kHz"):
        stimuli.speech_like(KEY, 1000.0, 0.1, 60.0)


def test_speech_from_text():
    with pytest.raises(FileNotFoundError, match="no-such-tts-program"):
        stimuli.speech_from_text("hello", 60.0, program="no-such-tts-program")
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed")
    with jax.enable_x64(True):
        x = stimuli.speech_from_text("hello world", 60.0)
    assert x.shape[1] == 1 and float(stimuli.spl(x)) == pytest.approx(60.0, abs=1e-8)
