"""``jaxneuro hear SOUND.wav``: a sound through the auditory periphery, written as rate maps."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from .. import _io
from .._registry import create
from .._simulator import RATE
from ..models.auditory import AuditoryPeriphery, nearest_sections
from ..models.auditory.cochlea import CONNEAR_SECTIONS, section_cf
from ..stimuli import load_wav, spl
from ._args import check_writable, finite, positive, provenance
from ._chunked import run_chunked

DESCRIPTION = """\
Run a WAV file through the auditory periphery (Verhulst et al. 2018: middle ear, transmission-line
cochlea, inner hair cells, auditory-nerve synapses) and write the firing-rate maps of each fibre
type. The sound is resampled to the model's 100 kHz and, with --level, calibrated to that RMS level
(dB SPL; without it the samples are taken as pressure in Pa). Writes DIR/traces.npz (or .zarr):
t (ms), cf (Hz, descending) and rate_hsr / rate_msr / rate_lsr [T, n_cf] in spikes/s at 20 kHz;
DIR/manifest.json; DIR/hear.png (the waveform above one rate map per fibre type). The analytical
cochlea costs about 15 s of CPU per second of sound."""


def add(commands) -> None:
    hear = commands.add_parser(
        "hear",
        help="a WAV file through the auditory periphery: ANF rate maps, manifest and figure",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    hear.set_defaults(run=run)
    hear.add_argument("sound", type=Path, metavar="SOUND.wav", help="the sound file")
    hear.add_argument("--level", type=finite, default=None, help="RMS level (dB SPL)")
    hear.add_argument(
        "--n-cf",
        type=positive(int),
        default=len(CONNEAR_SECTIONS),
        help="characteristic frequencies, log-spaced 12 kHz → 113 Hz (201: the CoNNear set)",
    )
    hear.add_argument(
        "--model",
        default="auditory-periphery",
        help="auditory-periphery (the analytical chain), or a registered simulator taking "
        "pressure [Pa] at 100 kHz",
    )
    hear.add_argument(
        "--audiogram",
        choices=("flat25", "flat35", "slope25", "slope35"),
        default=None,
        help="outer-hair-cell loss of the analytical chain (default: normal hearing)",
    )
    hear.add_argument(
        "--decimation",
        choices=("causal", "zero-phase"),
        default="causal",
        help="100 → 20 kHz filter of the analytical chain",
    )
    hear.add_argument("--out", type=Path, default=Path("hear"), metavar="DIR", help="output")
    hear.add_argument("--format", choices=_io.FORMATS, default="npz", help="traces file format")
    hear.add_argument("--no-progress", action="store_true", help="no progress bar")


def sections(n_cf: int) -> tuple[int, ...]:
    """``n_cf`` cochlear sections, log-spaced in CF over the CoNNear range (all 201 at 201)."""
    if n_cf >= len(CONNEAR_SECTIONS):
        return CONNEAR_SECTIONS
    cfs = section_cf(CONNEAR_SECTIONS)
    return tuple(dict.fromkeys(nearest_sections(np.geomspace(cfs[0], cfs[-1], n_cf))))


def run(args) -> int:
    if args.model == "auditory-periphery":
        sim = AuditoryPeriphery(
            sections(args.n_cf), decimation=args.decimation, audiogram=args.audiogram
        )
        cf = section_cf(sim.stages[1].sections)
    else:
        sim = create(args.model)
        cf = None
    spec = sim.spec
    if spec.input_names != ("pressure",):
        raise ValueError(
            f"--model {args.model!r} takes {', '.join(spec.input_names)}, not one pressure channel"
        )
    check_writable(args.out)
    x = np.asarray(load_wav(args.sound, dt=spec.dt, level_db=args.level), np.float32)
    t = x.shape[0] // spec.decimation * spec.decimation
    if t == 0:
        raise ValueError(f"{args.sound}: shorter than one output sample ({spec.output_dt} ms)")
    x = x[:t]
    params = sim.init()
    outputs = run_chunked(sim, params, x[None], progress=not args.no_progress, label="hear")
    outputs = {k: a[0] for k, a in outputs.items()}
    times = (np.arange(t // spec.decimation) + 1) * spec.output_dt
    arrays = {"t": times, **outputs} | ({"cf": cf} if cf is not None else {})
    rates = [c for c in spec.outputs_of(RATE) if c.name in outputs]
    manifest = {
        **provenance("jaxneuro hear", args.argv),
        "sound": {
            "file": str(args.sound),
            "sha256": _io.file_sha256(args.sound),
            "level_db_spl": float(spl(x)),
            "calibrated": args.level is not None,
        },
        "model": {"name": args.model, "spec": {**spec.to_json(), "describe": spec.describe()}},
        "duration_ms": t * spec.dt,
        "units": {"t": "ms", "cf": "Hz", **{c.name: c.unit for c in spec.outputs}},
    }
    path = _io.save_traces(args.out, arrays, manifest, fmt=args.format)
    figure = _figure(args, x, spec.dt, times, cf, {c.name: outputs[c.name] for c in rates})
    mean = ", ".join(f"{c.name} {float(np.mean(outputs[c.name])):.3g}" for c in rates)
    print(f"heard {args.sound} ({t * spec.dt:g} ms, {float(spl(x)):.1f} dB SPL) with {args.model}")
    print(f"mean rates (spikes/s): {mean}; wrote {path}, {args.out / _io.MANIFEST}, {figure}")
    return 0


def _figure(args, x, dt, times, cf, rates: dict) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = len(rates)
    fig, axes = plt.subplots(
        n + 1, 1, figsize=(9, 2 + 2.2 * n), sharex=True, height_ratios=[1] + [2] * n
    )
    axes[0].plot(np.arange(1, x.shape[0] + 1) * dt, x[:, 0], "k", lw=0.4)
    axes[0].set_ylabel("pressure (Pa)")
    for ax, (name, r) in zip(axes[1:], rates.items(), strict=True):
        r = r[:, None] if r.ndim == 1 else r
        extent = [times[0], times[-1], r.shape[1] - 0.5, -0.5]
        im = ax.imshow(r.T, aspect="auto", extent=extent, cmap="magma", interpolation="nearest")
        if cf is not None:  # label a few channels by CF
            ticks = np.linspace(0, r.shape[1] - 1, min(5, r.shape[1])).round().astype(int)
            ax.set_yticks(ticks, [f"{cf[i] / 1000:.2g}" for i in ticks])
            ax.set_ylabel(f"{name}\nCF (kHz)")
        else:
            ax.set_ylabel(f"{name}\nchannel")
        fig.colorbar(im, ax=ax, label="spikes/s", pad=0.01)
    axes[-1].set_xlabel("time (ms)")
    axes[0].set_title(f"{args.sound.name} through {args.model}: {len(times)} samples at 20 kHz")
    return _io.save_figure(fig, args.out / "hear.png")
