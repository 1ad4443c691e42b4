"""Sound files: WAV in and out, resampled to the model's ``dt``, and optional text-to-speech.

Reading uses :func:`scipy.io.wavfile.read` (PCM 8/16/24/32-bit and float WAV; no extra
dependency) and :func:`scipy.signal.resample_poly`. Writing is atomic through a temporary file
beside the target and ``os.replace``, done here because the stimuli layer imports nothing of
jaxneuro but ``_simulator`` (docs/architecture.md), so it cannot use ``jaxneuro._io``.
"""

from __future__ import annotations

import contextlib
import math
import os
import shutil
import subprocess
import tempfile
import warnings
from pathlib import Path

import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float
from scipy.io import wavfile
from scipy.signal import resample_poly

from ._checks import float_dtype, static_number
from ._sound import DT_100KHZ, calibrate_rms


def _rate_hz(dt: float) -> int:
    """The sampling rate ``1000 / dt`` Hz of ``dt`` ms, which must be a whole number of Hz."""
    dt = static_number("dt", dt, "positive")
    fs = 1000.0 / dt
    rate = round(fs)
    if rate < 1 or abs(fs - rate) > 1e-6 * fs:
        raise ValueError(f"dt={dt!r} ms gives a sampling rate of {fs!r} Hz; need a whole number")
    return rate


def _to_float(data: np.ndarray, path: Path) -> np.ndarray:
    """PCM integers to floats in [-1, 1] (full scale 2^(bits-1); 8-bit is unsigned); floats as is."""
    if np.issubdtype(data.dtype, np.floating):
        return data.astype(np.float64)
    if data.dtype == np.uint8:
        return (data.astype(np.float64) - 128.0) / 128.0
    if np.issubdtype(data.dtype, np.signedinteger):
        return data.astype(np.float64) / float(2 ** (8 * data.dtype.itemsize - 1))
    raise ValueError(f"{path}: unsupported WAV sample type {data.dtype}")


def load_wav(
    path: str | os.PathLike,
    dt: float = DT_100KHZ,
    level_db: float | None = None,
    channel: int | None = None,
) -> Float[Array, " T 1"]:
    """Read a WAV file as sound pressure (Pa) sampled every ``dt`` ms.

    Integer PCM becomes floats in ``[-1, 1]`` (full scale ``2^(bits-1)``; 8-bit is unsigned);
    float WAVs are kept as they are. Several channels are mixed to mono by their mean unless
    ``channel`` picks one. The signal is resampled from the file's rate to ``1000 / dt`` Hz by
    :func:`scipy.signal.resample_poly` with the reduced ratio ``up/down`` (a polyphase
    anti-aliasing filter, Kaiser window; its passband ripple changes a tone's level by about
    0.1 %, 0.01 dB), giving ``ceil(n up / down)`` samples; ``level_db`` calibrates after it.

    Args:
        path: the WAV file.
        dt: sample interval (ms) of the result; 0.01 (default) is the periphery's 100 kHz.
        level_db: if given, RMS-calibrate the whole signal to this level (dB SPL,
            :func:`calibrate_rms`); ``None``: the samples are taken to be pressure in Pa
            already (as :func:`save_wav` writes them): a sample of 1.0 is 1 Pa, and an RMS of
            1 Pa is 94 dB SPL.
        channel: ``None`` mixes all channels; an index selects one.

    Returns:
        ``[T, 1]`` pressure (Pa) in the default float dtype.

    Raises:
        FileNotFoundError: no such file. ValueError: not a readable WAV, no samples, non-finite
        samples, silence to be calibrated, a bad ``dt``, ``level_db`` or ``channel``.
    """
    path = Path(path)
    rate = _rate_hz(dt)
    if level_db is not None:
        level_db = static_number("level_db", level_db)
    if not path.is_file():
        raise FileNotFoundError(f"no such WAV file: {path}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", wavfile.WavFileWarning)  # e.g. unknown chunks
            fs_file, data = wavfile.read(path)
    except OSError:  # unreadable (permissions, a folder): as the OS says, naming the file
        raise
    except Exception as e:  # scipy's parser fails in many ways on a corrupt file
        raise ValueError(f"{path} is not a readable WAV file: {e}") from e
    if fs_file <= 0:
        raise ValueError(f"{path}: sampling rate {fs_file} Hz in the header must be positive")
    x = _to_float(np.asarray(data), path)
    if x.ndim == 2:
        if channel is None:
            x = x.mean(axis=1)
        elif not (isinstance(channel, int) and -x.shape[1] <= channel < x.shape[1]):
            raise ValueError(f"{path} has {x.shape[1]} channels, got channel={channel!r}")
        else:
            x = x[:, channel]
    elif channel not in (None, 0, -1):
        raise ValueError(f"{path} has 1 channel, got channel={channel!r}")
    if x.size == 0:
        raise ValueError(f"{path} holds no audio samples")
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{path} holds {int(np.sum(~np.isfinite(x)))} non-finite samples")
    g = math.gcd(int(fs_file), rate)
    up, down = rate // g, int(fs_file) // g
    if up != down:
        x = resample_poly(x, up, down)
    if level_db is not None:
        if not np.any(x):
            raise ValueError(f"{path} is silent; it cannot be calibrated to {level_db} dB SPL")
        return calibrate_rms(x, level_db)[:, None]
    return jnp.asarray(x, dtype=float_dtype())[:, None]


def save_wav(
    path: str | os.PathLike,
    pressure: Float[ArrayLike, " T *n"],
    dt: float = DT_100KHZ,
    peak: float | None = None,
) -> Path:
    """Write pressure (Pa) as a 32-bit float WAV at ``1000 / dt`` Hz, atomically.

    Samples are written as Pa unless ``peak`` is given, which scales the signal so that its
    largest magnitude is ``peak`` (e.g. 0.9 for playback; the level is then lost).
    :func:`load_wav` with the same ``dt`` and no ``level_db`` reads the Pa back. The file is
    written beside ``path`` and renamed over it, so a reader never sees a partial file.

    Args:
        path: the WAV file to write (folders are created).
        pressure: ``[T]`` or ``[T, n]`` (n channels), finite.
        dt: sample interval (ms); ``1000 / dt`` must be a whole number of Hz.
        peak: ``None`` or a positive largest magnitude.

    Returns:
        ``path``.
    """
    path = Path(path)
    rate = _rate_hz(dt)
    x = np.asarray(pressure, dtype=np.float64)
    if x.ndim not in (1, 2) or x.shape[0] == 0 or (x.ndim == 2 and x.shape[1] == 0):
        raise ValueError(f"pressure must be [T] or [T, n] with T, n >= 1, got shape {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError(f"pressure holds {int(np.sum(~np.isfinite(x)))} non-finite samples")
    if x.ndim == 2 and x.shape[1] == 1:
        x = x[:, 0]
    if peak is not None:
        peak = static_number("peak", peak, "positive")
        top = np.max(np.abs(x))
        if top == 0:
            raise ValueError("cannot scale silence to a peak")
        x = x * (peak / top)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            wavfile.write(f, rate, x.astype(np.float32))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return path


def speech_from_text(
    text: str,
    level_db: float,
    dt: float = DT_100KHZ,
    voice: str = "en-us",
    words_per_minute: int = 160,
    program: str = "espeak-ng",
) -> Float[Array, " T 1"]:
    """Synthesise ``text`` with the ``espeak-ng`` program (formant synthesis; not installed by
    jaxneuro) and return it RMS-calibrated to ``level_db`` dB SPL, resampled to ``dt``.

    Raises ``FileNotFoundError`` naming the program when it is not on ``PATH``, and
    ``RuntimeError`` with its message when it fails.
    """
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"text must be a non-empty string, got {text!r}")
    exe = shutil.which(program)
    if exe is None:
        raise FileNotFoundError(
            f"speech_from_text needs the {program!r} program on PATH (e.g. apt install espeak-ng)"
        )
    with tempfile.TemporaryDirectory() as folder:
        wav = Path(folder) / "speech.wav"
        cmd = [exe, "-v", voice, "-s", str(int(words_per_minute)), "-w", str(wav), "--", text]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
        if done.returncode != 0 or not wav.is_file():
            raise RuntimeError(f"{program} failed ({done.returncode}): {done.stderr.strip()}")
        return load_wav(wav, dt=dt, level_db=level_db)
