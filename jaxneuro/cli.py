"""The ``jaxneuro`` command: list the registered models, simulate a cell or a population.

``jaxneuro models`` prints every registered simulator with its spec. ``jaxneuro simulate MODEL``
drives ``--n`` cells with one stimulus for ``--duration`` ms through :func:`jaxneuro.population`,
in time chunks (the streaming state carries over, so the result equals one whole call), and writes
``traces.npz`` (or ``traces.zarr``), ``manifest.json`` and ``simulate.png`` to ``--out``.
"""

from __future__ import annotations

import argparse
import datetime
import math
import platform
import re
import sys
from collections.abc import Sequence
from pathlib import Path

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from tqdm import tqdm

from . import __version__, _io, stimuli
from ._population import population
from ._registry import available, create
from .stimuli._checks import index as sample_index

STIMULI = ("step", "ramp", "sine", "ou", "poisson")

DEFAULT_AMPLITUDE = {"uA/cm2": 10.0, "nA": 2.0, "pA": 800.0, "1": 10.0}
"""Default stimulus amplitude by the unit of a model's current input: enough to fire."""

DEFAULT_RATE_HZ = 100.0
"""Default Poisson rate (Hz) on every spike-train input."""

SPIKE_UNIT = "spikes/sample"

CHUNK_MAX = 2048
"""At most this many samples per call: progress stays live and the forward scan stays plain."""

CHUNKS = 20
"""Aim for about this many chunks on long runs (each one a progress update)."""


class UsageError(ValueError):
    """A bad combination of arguments, reported like an argparse error."""


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line ``argv`` (default ``sys.argv[1:]``); return the exit status.

    Argument errors and ``ValueError`` from the library print ``jaxneuro: error: ...`` on stderr
    and return 2; errors found while the simulation runs (e.g. solver divergence) return 1.
    """
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # argparse has printed usage and message
        return e.code if isinstance(e.code, int) else 2
    args.argv = list(sys.argv[1:] if argv is None else argv)
    try:
        return args.run(args)
    except ValueError as e:
        return _fail(e, 2)
    except eqx.EquinoxRuntimeError as e:  # eqx.error_if at run time: keep only its message
        return _fail(e, 1)


def _fail(error: Exception, code: int) -> int:
    text = str(error)
    found = re.search(r"EquinoxRuntimeError: (.*)", text)
    line = found.group(1) if found else text.strip().splitlines()[0]
    print(f"jaxneuro: error: {line}", file=sys.stderr)
    return code


# ----------------------------------------------------------------------------- arguments


def _positive(kind):
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            what = "an integer" if kind is int else "a number"
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
        if not (math.isfinite(value) and value > 0):
            raise argparse.ArgumentTypeError(f"must be positive, got {text}")
        return value

    parse.__name__ = f"positive {kind.__name__}"
    return parse


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be finite, got {text}")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="jaxneuro",
        description="Differentiable neuron models on diffrax: list them, simulate populations.",
    )
    parser.add_argument("--version", action="version", version=f"jaxneuro {__version__}")
    commands = parser.add_subparsers(title="commands", required=True, metavar="COMMAND")

    models = commands.add_parser("models", help="list every registered simulator with its spec")
    models.set_defaults(run=_cmd_models)

    sim = commands.add_parser(
        "simulate",
        help="simulate one cell or a population and write traces, manifest and figure",
        description=(
            "Simulate N cells of MODEL under one stimulus. Writes DIR/traces.npz (or "
            "DIR/traces.zarr), DIR/manifest.json and DIR/simulate.png."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    sim.set_defaults(run=_cmd_simulate)
    sim.add_argument("model", metavar="MODEL", help="a name from `jaxneuro models`")
    sim.add_argument("--n", type=_positive(int), default=100, help="number of cells")
    sim.add_argument("--duration", type=_positive(float), default=1000.0, help="length (ms)")
    sim.add_argument("--stimulus", choices=STIMULI, default="step", help="input waveform")
    sim.add_argument(
        "--amplitude",
        type=_finite,
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
    sim.add_argument("--frequency", type=_positive(float), default=10.0, help="sine (Hz)")
    sim.add_argument(
        "--std", type=_finite, default=None, help="OU standard deviation (default |amplitude|/2)"
    )
    sim.add_argument("--tau", type=_positive(float), default=10.0, help="OU correlation time (ms)")
    sim.add_argument(
        "--dt", type=_positive(float), default=None, help="sample interval (ms; default: model's)"
    )
    sim.add_argument("--seed", type=int, default=0, help="PRNG seed for noisy stimuli")
    sim.add_argument("--out", type=Path, default=Path("out"), metavar="DIR", help="output folder")
    sim.add_argument("--format", choices=_io.FORMATS, default="npz", help="traces file format")
    sim.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    return parser


# ----------------------------------------------------------------------------- commands


def _cmd_models(args) -> int:
    for name, description in available().items():
        spec = create(name).spec
        print(f"{name}: {description}")
        print(f"    {spec.describe()}")
    return 0


def _cmd_simulate(args) -> int:
    if args.out.exists() and not args.out.is_dir():
        raise UsageError(f"--out {args.out} exists and is not a folder")
    kwargs = {} if args.dt is None else {"dt": args.dt}
    try:
        sim = create(args.model, **kwargs)
    except TypeError as e:  # a factory that fixes dt itself
        raise UsageError(f"model {args.model!r} cannot be built with {kwargs}: {e}") from None
    spec = sim.spec
    params = sim.init()
    t = _n_samples(args.duration, spec.dt)
    amplitudes, stimulus = describe_stimulus(args, spec, t)
    inputs = make_inputs(spec, stimulus, amplitudes, jax.random.key(args.seed))

    outputs = run_chunked(sim, params, inputs, progress=not args.no_progress, label=args.model)

    times = (np.arange(t) + 1) * spec.dt  # output k is the signal at the end of sample k
    arrays = {"t": times, "amplitude": amplitudes, **outputs}
    manifest = {
        "program": "jaxneuro simulate",
        "jaxneuro_version": __version__,
        "jax_version": jax.__version__,
        "python": platform.python_version(),
        "created": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "command": ["jaxneuro", *args.argv],
        "model": {
            "name": args.model,
            "description": available()[args.model],
            "options": kwargs,
            "spec": _spec_dict(spec),
        },
        "params": params,
        "n": args.n,
        "duration_ms": t * spec.dt,
        "n_samples": t,
        "stimulus": stimulus,
        "seed": args.seed,
        "devices": [str(d) for d in jax.devices()],
        "units": {
            "t": "ms",
            "amplitude": stimulus["unit"],
            **{c.name: c.unit for c in spec.outputs},
        },
    }
    path = _io.save_traces(args.out, arrays, manifest, fmt=args.format)
    figure = None
    if "v" in outputs and "spikes" in outputs:
        title = f"{args.model}: {args.n} cells, {stimulus['kind']} stimulus"
        fig = _io.population_figure(times, outputs["v"], outputs["spikes"], title=title)
        figure = _io.save_figure(fig, args.out / "simulate.png")
    rate = outputs["spikes"].sum() / args.n / (t * spec.dt / 1000.0) if "spikes" in outputs else 0
    print(f"simulated {args.n} x {args.model} for {t * spec.dt:g} ms ({t} samples of {spec.dt} ms)")
    print(f"mean rate {rate:.3g} spikes/s; wrote {path}, {args.out / _io.MANIFEST}", end="")
    print(f", {figure}" if figure else "")
    return 0


def _n_samples(duration: float, dt: float) -> int:
    t = sample_index(duration, dt)  # rounded as the stimulus generators round it
    if t < 1:
        raise UsageError(f"--duration {duration:g} ms is shorter than one sample (dt={dt} ms)")
    return t


def _spec_dict(spec) -> dict:
    channels = lambda cs: [c._asdict() for c in cs]  # noqa: E731
    return {
        "dt": spec.dt,
        "inputs": channels(spec.inputs),
        "outputs": channels(spec.outputs),
        "describe": spec.describe(),
    }


# ----------------------------------------------------------------------------- stimuli


def describe_stimulus(args, spec, t: int) -> tuple[np.ndarray, dict]:
    """Per-cell amplitudes ``[N]`` and the stimulus as the manifest records it.

    The description holds everything :func:`make_inputs` needs, so a manifest rebuilds its input.
    """
    duration = t * spec.dt
    spike_inputs = [c.name for c in spec.inputs if c.unit == SPIKE_UNIT]
    if args.stimulus == "poisson":
        if not spike_inputs:
            names = ", ".join(f"{c.name} [{c.unit}]" for c in spec.inputs)
            raise UsageError(
                f"--stimulus poisson drives spike-train inputs, but {args.model!r} has none "
                f"(inputs: {names}); use a current stimulus or a model with synapses"
            )
        unit, amplitude = "Hz", DEFAULT_RATE_HZ if args.amplitude is None else args.amplitude
        if amplitude < 0:
            raise UsageError(f"--amplitude is a Poisson rate and must be >= 0 Hz, got {amplitude}")
    else:
        current = spec.inputs[0]
        if current.unit == SPIKE_UNIT:
            raise UsageError(
                f"{args.model!r} takes spike trains, not a current; use --stimulus poisson"
            )
        unit, amplitude = current.unit, args.amplitude
        if amplitude is None:
            if unit not in DEFAULT_AMPLITUDE:
                raise UsageError(
                    f"no default amplitude for current unit {unit!r}; pass --amplitude"
                )
            amplitude = DEFAULT_AMPLITUDE[unit]
    scale = np.arange(1, args.n + 1) / args.n if args.heterogeneous else np.ones(args.n)
    stimulus = {
        "kind": args.stimulus,
        "amplitude": amplitude,
        "unit": unit,
        "heterogeneous": args.heterogeneous,
        "per_cell": "amplitude*(i+1)/n" if args.heterogeneous else "amplitude",
        "duration_ms": duration,
        "dt_ms": spec.dt,
    }
    if args.stimulus == "step":
        stimulus.update(onset_ms=0.1 * duration)
    elif args.stimulus == "sine":
        stimulus.update(frequency_hz=args.frequency)
    elif args.stimulus == "ou":
        std = 0.5 * abs(amplitude) if args.std is None else args.std
        if std < 0:
            raise UsageError(f"--std must be >= 0, got {std}")
        stimulus.update(std=std, tau_ms=args.tau)
    elif args.stimulus == "poisson":
        stimulus.update(inputs=spike_inputs)
    return (amplitude * scale).astype(np.float32), stimulus


def make_inputs(spec, stimulus: dict, amplitudes: np.ndarray, key) -> np.ndarray:
    """The ``[N, T, n_inputs]`` input of every cell (float32), built with ``jaxneuro.stimuli``.

    Cell ``i`` gets ``amplitudes[i]``: the step height (from ``onset_ms`` to the end), the end of
    a ramp from 0, a sine's amplitude (zero mean), or an OU current's mean; these drive input 0
    and leave the others at zero. ``poisson`` drives every spike-train input at ``amplitudes[i]``
    Hz and leaves the current at zero. Noisy stimuli draw one realisation per cell from ``key``.
    """
    n, kind = len(amplitudes), stimulus["kind"]
    duration, dt = stimulus["duration_ms"], stimulus["dt_ms"]
    t = sample_index(duration, dt)
    x = np.zeros((n, t, spec.n_inputs), np.float32)
    keys = jax.random.split(key, n)
    if kind == "poisson":
        columns = [spec.input_names.index(name) for name in stimulus["inputs"]]
        draw = jax.vmap(lambda k, r: stimuli.poisson(k, duration, dt, r, len(columns)))
        x[:, :, columns] = np.asarray(draw(keys, amplitudes))
    elif kind == "ou":
        std, tau = stimulus["std"], stimulus["tau_ms"]
        draw = jax.vmap(lambda k, m: stimuli.ornstein_uhlenbeck(k, duration, dt, m, std, tau))
        x[:, :, 0] = np.asarray(draw(keys, amplitudes))
    else:
        if kind == "step":
            unit = stimuli.step(duration, dt, 1.0, onset=stimulus["onset_ms"])
        elif kind == "ramp":
            unit = stimuli.ramp(duration, dt, 0.0, 1.0)
        else:
            unit = stimuli.sine(duration, dt, 1.0, stimulus["frequency_hz"])
        x[:, :, 0] = amplitudes[:, None] * np.asarray(unit)[None, :]
    return x


# ----------------------------------------------------------------------------- running


def run_chunked(sim, params, inputs: np.ndarray, progress: bool = True, label: str = ""):
    """Outputs of :func:`jaxneuro.population` on ``inputs`` ``[N, T, n_in]``, as numpy arrays.

    The run goes in chunks of equal length (the last one padded, its padding dropped), each
    continuing from the previous chunk's state, so it compiles once, shows real progress, and
    equals one whole call (streaming: ``apply(x[:k], s0)`` then ``apply(x[k:], s1)``).
    """
    n, t = inputs.shape[:2]
    chunk = min(t, CHUNK_MAX, max(64, math.ceil(t / CHUNKS)))
    rest = sim.init_state(params)
    state = jax.tree.map(lambda a: jnp.broadcast_to(a, (n, *jnp.shape(a))), rest)
    outputs: dict[str, np.ndarray] = {}
    dt = sim.spec.dt
    bar = tqdm(
        total=round(t * dt, 6),
        unit="ms",
        desc=label or "simulate",
        disable=not progress,
        delay=1.0,
        file=sys.stderr,
    )
    with bar:
        for k0 in range(0, t, chunk):
            x = inputs[:, k0 : k0 + chunk]
            valid = x.shape[1]
            if valid < chunk:
                x = np.pad(x, ((0, 0), (0, chunk - valid), (0, 0)), mode="edge")
            out, state = population(sim, params, x, state)
            for name, a in out.items():
                a = np.asarray(a)
                if name not in outputs:
                    outputs[name] = np.empty((n, t, *a.shape[2:]), a.dtype)
                outputs[name][:, k0 : k0 + valid] = a[:, :valid]
            bar.update(round(valid * dt, 6))
    return outputs


if __name__ == "__main__":
    sys.exit(main())
