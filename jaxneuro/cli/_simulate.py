"""``jaxneuro simulate MODEL``: a population under one stimulus, written as traces, manifest,
figure. Traces and rates are written dense, events sparse (see :func:`event_arrays`)."""

from __future__ import annotations

import argparse
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from .. import _io, metrics
from .._registry import available
from .._simulator import EVENTS, TRACE, IOSpec
from ..data._store import params_record
from ..evaluation._report import default_threshold
from ..surrogates import logits_name
from ._args import UsageError, build, check_writable, finite, positive, provenance, samples
from ._chunked import run_chunked
from ._stimulus import DEFAULT_RATE_HZ, STIMULI, describe_stimulus, make_inputs

DEAD_TIME_MS = 2.0
"""Events decoded from probabilities are at least this far apart (as ``jaxneuro.evaluate``)."""

PARAMS_MAX = 1000
"""Parameter pytrees up to this many numbers are written into the manifest; larger ones (a
surrogate's weights) by their sha256 only."""

DESCRIPTION = """\
Simulate N cells of MODEL under one stimulus. Writes DIR/traces.npz (or DIR/traces.zarr),
DIR/manifest.json and DIR/simulate.png.

Traces (e.g. v, mV) and rates are written dense, [N, T]. Events are written sparse, one entry
per event: spike_times (ms, the end of the sample the spike falls in) and spike_cells (cell
index), sorted by cell then time; a sample with two spikes appears twice. A surrogate's spikes
output is a probability per sample, not a count: it is written dense as spike_probability
[N, T] (its logits are not written), and its events are the peaks of that probability above --threshold (default: the
threshold calibrated in the surrogate's model card, else 0.5), at least 2 ms apart, as
jaxneuro.evaluate decodes them; manifest.json records the threshold and the rule. Events channels
other than `spikes` are named NAME_times, NAME_cells (NAME_columns for a wide channel)."""


def add(commands) -> None:
    sim = commands.add_parser(
        "simulate",
        help="simulate one cell or a population and write traces, manifest and figure",
        description=DESCRIPTION,
        formatter_class=HelpFormatter,
    )
    sim.set_defaults(run=run)
    sim.add_argument("model", metavar="MODEL", help="a name from `jaxneuro models`")
    sim.add_argument("--n", type=positive(int), default=100, help="number of cells")
    sim.add_argument("--duration", type=positive(float), default=1000.0, help="length (ms)")
    sim.add_argument("--stimulus", choices=STIMULI, default="step", help="input waveform")
    sim.add_argument(
        "--amplitude",
        type=finite,
        default=None,
        help="step height, ramp end, sine amplitude or OU mean, in the model's current unit; "
        f"for poisson the rate in Hz on every spike-train input (default: per model; "
        f"{DEFAULT_RATE_HZ:g} Hz for poisson)",
    )
    sim.add_argument(
        "--heterogeneous",
        action="store_true",
        help="spread amplitudes linearly over the population: cell i gets amplitude*(i+1)/n",
    )
    sim.add_argument("--frequency", type=positive(float), default=10.0, help="sine (Hz)")
    sim.add_argument(
        "--std", type=finite, default=None, help="OU standard deviation (default |amplitude|/2)"
    )
    sim.add_argument("--tau", type=positive(float), default=10.0, help="OU correlation time (ms)")
    sim.add_argument(
        "--dt",
        type=positive(float),
        default=None,
        help="sample interval (ms; default: model's); must divide --duration",
    )
    sim.add_argument(
        "--threshold",
        type=positive(float),
        default=None,
        help="surrogates only: the spike-probability threshold of the written events "
        "(default: the model card's, else 0.5)",
    )
    sim.add_argument("--seed", type=int, default=0, help="PRNG seed for noisy stimuli")
    sim.add_argument("--out", type=Path, default=Path("out"), metavar="DIR", help="output folder")
    sim.add_argument("--format", choices=_io.FORMATS, default="npz", help="traces file format")
    sim.add_argument("--no-progress", action="store_true", help="hide the progress bar")


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Defaults in the option help; the description's paragraphs as written."""


def run(args) -> int:
    sim, kwargs = build(args.model, args.dt)
    spec = sim.spec
    params = sim.init()
    t = samples(args.duration, spec, dt_given=args.dt is not None)
    amplitudes, stimulus = describe_stimulus(args, spec, t)
    threshold = _threshold(args, sim, params)
    check_writable(args.out)
    inputs = make_inputs(spec, stimulus, amplitudes, jax.random.key(args.seed))

    outputs = run_chunked(sim, params, inputs, progress=not args.no_progress, label=args.model)

    times = (np.arange(t // spec.decimation) + 1) * spec.output_dt  # end of each output sample
    events, record, units, dense = event_arrays(spec, outputs, times, threshold)
    arrays = {"t": times, "amplitude": amplitudes, **outputs, **events}
    values, digest = params_record(params, max_values=PARAMS_MAX)
    duration = t * spec.dt
    manifest = {
        **provenance("jaxneuro simulate", args.argv),
        "model": {
            "name": args.model,
            "description": available()[args.model],
            "options": kwargs,
            "spec": {**spec.to_json(), "describe": spec.describe()},
        },
        "params": values,
        "params_sha256": digest,
        "n": args.n,
        "duration_ms": duration,
        "n_samples": t,
        "stimulus": stimulus,
        "seed": args.seed,
        "devices": [str(d) for d in jax.devices()],
        "events": record,
        "units": {
            "t": "ms",
            "amplitude": stimulus["unit"],
            **{c.name: c.unit for c in spec.outputs if c.name in outputs},
            **units,
        },
    }
    path = _io.save_traces(args.out, arrays, manifest, fmt=args.format)
    figure = _figure(args, spec, times, outputs, dense, stimulus)
    print(f"simulated {args.n} x {args.model} for {duration:g} ms ({t} samples of {spec.dt} ms)")
    rate = _rate_text(record, events, args.n, duration)
    print(f"{rate}wrote {path}, {args.out / _io.MANIFEST}", end="")
    print(f", {figure}" if figure else "")
    return 0


def _threshold(args, sim, params) -> float:
    """The probability threshold of a surrogate's events: ``--threshold``, else its card's."""
    if args.threshold is None:
        return default_threshold(sim)
    if not 0 < args.threshold < 1:
        raise UsageError(f"--threshold is a probability in (0, 1), got {args.threshold}")
    x = jnp.zeros((sim.spec.decimation, sim.spec.n_inputs))
    names = jax.eval_shape(lambda: sim.apply(params, x)[0]).keys()
    if not any(logits_name(c.name) in names for c in sim.spec.outputs_of(EVENTS)):
        raise UsageError(
            f"--threshold applies to a surrogate's spike probabilities; {args.model!r} outputs "
            "spike counts"
        )
    return args.threshold


def event_arrays(spec: IOSpec, outputs: dict, times: np.ndarray, threshold: float):
    """Move every events channel out of ``outputs`` (in place) into sparse arrays.

    A channel of counts (an analytical model's spikes) becomes ``PREFIX_times`` (ms, ``times`` of
    the event's sample) and ``PREFIX_cells`` (and ``PREFIX_columns`` for a wide channel), one
    entry per event, where ``PREFIX`` is ``spike`` for ``spikes``, else the channel's name. A
    channel of probabilities (a surrogate's: its logits are beside it) is kept dense as
    ``PREFIX_probability``, its logits dropped, and its events decoded at ``threshold``. Values
    that are neither counts nor probabilities stay dense under the channel's name.

    Returns ``(arrays, record, units, dense)``: the new arrays, the manifest's ``events`` entry
    (per channel: what its events come from, their arrays, and for probabilities the threshold
    and the decoding rule), their units, and the dense counts per channel (for the figure).
    """
    arrays, record, units, dense = {}, {}, {}, {}
    dt = spec.output_dt
    for c in spec.outputs_of(EVENTS):
        if c.name not in outputs:
            continue
        prefix = "spike" if c.name == "spikes" else c.name
        a = outputs[c.name]
        if logits_name(c.name) in outputs:
            outputs.pop(logits_name(c.name))
            counts = metrics.decode_spikes(
                a, threshold, round(DEAD_TIME_MS / dt), mode="peak", axis=1
            )
            arrays[f"{prefix}_probability"] = outputs.pop(c.name)
            units[f"{prefix}_probability"] = "probability per sample"
            entry = {
                "from": "probability",
                "probability": f"{prefix}_probability",
                "threshold": float(threshold),
                "decoding": f"peaks of the probability above the threshold, at least "
                f"{DEAD_TIME_MS:g} ms apart (jaxneuro.metrics.decode_spikes, mode='peak')",
            }
        elif np.array_equal(a, np.round(a)) and (a >= 0).all():
            counts = outputs.pop(c.name)
            entry = {"from": "counts"}
        else:
            continue  # neither counts nor probabilities: written dense, as it is
        where = np.nonzero(counts)
        repeat = np.asarray(counts[where]).astype(np.int64)  # a sample with k events: k entries
        arrays[f"{prefix}_times"] = np.repeat(times[where[1]], repeat)
        arrays[f"{prefix}_cells"] = np.repeat(where[0], repeat).astype(np.int32)
        units |= {f"{prefix}_times": "ms", f"{prefix}_cells": "cell index"}
        entry["arrays"] = [f"{prefix}_times", f"{prefix}_cells"]
        if c.width > 1:
            arrays[f"{prefix}_columns"] = np.repeat(where[2], repeat).astype(np.int32)
            units[f"{prefix}_columns"] = "column"
            entry["arrays"].append(f"{prefix}_columns")
        entry["n_events"] = int(repeat.sum())
        record[c.name] = entry
        dense[c.name] = counts
    return arrays, record, units, dense


def _figure(args, spec: IOSpec, times, outputs: dict, dense: dict, stimulus: dict):
    """Voltage traces above a raster, for a model with a mV trace and events (else ``None``)."""
    volts = [
        c.name
        for c in spec.outputs_of(TRACE)
        if c.unit == "mV" and c.width == 1 and c.name in outputs
    ]
    events = [c.name for c in spec.outputs_of(EVENTS) if c.width == 1 and c.name in dense]
    if not (volts and events):
        return None
    title = f"{args.model}: {args.n} cells, {stimulus['kind']} stimulus"
    fig = _io.population_figure(times, outputs[volts[0]], dense[events[0]], title=title)
    return _io.save_figure(fig, args.out / "simulate.png")


def _rate_text(record: dict, events: dict, n: int, duration_ms: float) -> str:
    """``mean rate 12.3 spikes/s; `` of the first events channel (how its events were found)."""
    if not record:
        return ""
    name, entry = next(iter(record.items()))
    rate = entry["n_events"] / n / (duration_ms / 1000.0)
    how = f" (probability > {entry['threshold']:.2g} at peaks)" if "threshold" in entry else ""
    unit = "spikes/s" if name == "spikes" else f"{name}/s"
    return f"mean rate {rate:.3g} {unit}{how}; "
