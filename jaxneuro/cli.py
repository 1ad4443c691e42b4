"""The ``jaxneuro`` command: models, simulation, teacher datasets, fitting, evaluation, a demo.

``jaxneuro models`` prints every registered simulator with its spec. ``jaxneuro simulate MODEL``
drives ``--n`` cells with one stimulus for ``--duration`` ms through :func:`jaxneuro.population`,
in time chunks (the streaming state carries over, so the result equals one whole call), and writes
``traces.npz`` (or ``traces.zarr``), ``manifest.json`` and ``simulate.png`` to ``--out``.

The surrogate workflow, one command per step of the Python API:

- ``jaxneuro generate TEACHER --out PATH`` — :func:`jaxneuro.data.generate` (resumable zarr);
- ``jaxneuro fit FAMILY --data PATH --out DIR`` — :func:`jaxneuro.fit` with checkpoints in
  ``DIR/checkpoint`` (re-running resumes), then :func:`jaxneuro.save` to ``DIR/surrogate``;
- ``jaxneuro evaluate SURROGATE --out DIR`` — :func:`jaxneuro.evaluate` on held-out stimuli;
- ``jaxneuro demo`` — the shipped ``hh-elm`` against its teacher (see :mod:`jaxneuro._demo`).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
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

from . import __version__, _io, data, stimuli
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

    Argument errors, ``ValueError`` from the library and missing files print
    ``jaxneuro: error: ...`` on stderr and return 2; errors found while a simulation or a fit
    runs (solver divergence, a non-finite loss) return 1.
    """
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # argparse has printed usage and message
        return e.code if isinstance(e.code, int) else 2
    args.argv = list(sys.argv[1:] if argv is None else argv)
    try:
        return args.run(args)
    except (ValueError, FileNotFoundError) as e:  # bad arguments, data or files named by them
        return _fail(e, 2)
    except (eqx.EquinoxRuntimeError, FloatingPointError) as e:  # found while running
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
    _add_generate(commands)
    _add_fit(commands)
    _add_evaluate(commands)
    _add_demo(commands)
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


# ----------------------------------------------------------------------------- samplers

SAMPLERS = ("olah", "ou")
OLAH_INPUTS = ("i_ext", "exc", "inh")
OU_TAU_MS = (2.0, 10.0)
"""Default OU correlation-time range (ms)."""

OLAH_OPTIONS = {
    "s_max": "--s-max",
    "exc_rate": "--exc-rate",
    "inh_rate": "--inh-rate",
    "silent_fraction": "--silent-fraction",
}


def takes_olah(spec) -> bool:
    """Whether ``spec`` has the inputs of :class:`~jaxneuro.data.OlahSynaptic`: a current, then
    excitatory and inhibitory spike counts (``i_ext``, ``exc``, ``inh``)."""
    units = [c.unit for c in spec.inputs]
    return (
        spec.input_names == OLAH_INPUTS and units[0] != SPIKE_UNIT and units[1:] == [SPIKE_UNIT] * 2
    )


def ou_defaults(unit: str) -> dict[str, tuple[float, float]]:
    """Default per-sweep ranges of an OU current in ``unit``, from :data:`DEFAULT_AMPLITUDE` ``a``:
    mean in ``(a/4, 3a/4)``, standard deviation in ``(0.15a, 0.45a)``, τ in :data:`OU_TAU_MS`."""
    if unit not in DEFAULT_AMPLITUDE:
        raise UsageError(f"no default OU current for unit {unit!r}; pass --mean and --std")
    a = DEFAULT_AMPLITUDE[unit]
    return {"mean": (0.25 * a, 0.75 * a), "std": (0.15 * a, 0.45 * a), "tau": OU_TAU_MS}


def default_sampler(spec, duration_ms: float):
    """The stimulus distribution for a teacher with ``spec``: Oláh et al.'s synaptic inputs for
    ``i_ext, exc, inh`` models, else an OU current on input 0 (other inputs zero)."""
    if takes_olah(spec):
        return data.OlahSynaptic(duration_ms=duration_ms, dt=spec.dt)
    current = spec.inputs[0]
    if current.unit == SPIKE_UNIT:
        raise UsageError(
            f"no default stimulus for a model whose first input {current.name!r} is a spike train"
        )
    return data.OUCurrent(
        duration_ms=duration_ms,
        dt=spec.dt,
        n_synaptic=spec.n_inputs - 1,
        **ou_defaults(current.unit),
    )


def sampler_from_description(described: dict, duration_ms: float, dt: float):
    """Rebuild a sampler from its ``describe()`` (as a dataset manifest or model card records it)
    with another ``duration_ms``; ``None`` for a sampler class this function does not know."""

    def ou(d: dict):
        pair = lambda v: tuple(v) if isinstance(v, list) else v  # noqa: E731
        return data.OUCurrent(
            duration_ms=duration_ms,
            dt=dt,
            mean=pair(d["mean"]),
            std=pair(d["std"]),
            tau=pair(d["tau"]),
            n_synaptic=int(d.get("n_synaptic", 0)),
        )

    kind = described.get("class") if isinstance(described, dict) else None
    try:
        if kind == "OUCurrent":
            return ou(described)
        if kind == "OlahSynaptic":
            current = described.get("current")
            return data.OlahSynaptic(
                duration_ms=duration_ms,
                dt=dt,
                s_max=described["s_max"],
                exc_rate=described["exc_rate_hz_per_s"],
                inh_rate=described["inh_rate_hz_per_s"],
                silent_fraction=described["silent_fraction"],
                current=None if current is None else ou(current),
            )
        if kind == "BeniaguevSynaptic":
            fixed = {"class", "duration_ms", "dt", "n_samples", "columns", "reference"}
            options = {k: v for k, v in described.items() if k not in fixed}
            return data.BeniaguevSynaptic(duration_ms, dt=dt, **options)
    except (KeyError, TypeError) as e:
        raise ValueError(f"cannot rebuild the {kind} sampler from its description ({e})") from None
    return None


def _range(option: str, values: list[float] | None) -> tuple[float, float] | None:
    if values is None:
        return None
    if len(values) > 2:
        raise UsageError(f"{option} takes one value or a LO HI range, got {len(values)} values")
    return (values[0], values[-1])


def _make_sampler(args, spec, duration_ms: float):
    kind = args.sampler or ("olah" if takes_olah(spec) else "ou")
    ou = {k: _range(f"--{k}", getattr(args, k)) for k in ("mean", "std", "tau")}
    ou = {k: v for k, v in ou.items() if v is not None}
    olah = {k: getattr(args, k) for k in OLAH_OPTIONS if getattr(args, k) is not None}
    names = ", ".join(f"{c.name} [{c.unit}]" for c in spec.inputs)
    if kind == "olah":
        if not takes_olah(spec):
            raise UsageError(
                f"--sampler olah drives the inputs i_ext, exc, inh (Olah et al. 2022), but "
                f"{args.teacher!r} has inputs {names}; use --sampler ou"
            )
        current = None
        if ou:  # an OU current on top of the synaptic input: zero mean unless asked
            ranges = {**ou_defaults(spec.inputs[0].unit), "mean": 0.0, **ou}
            current = data.OUCurrent(duration_ms=duration_ms, dt=spec.dt, **ranges)
        return data.OlahSynaptic(duration_ms=duration_ms, dt=spec.dt, current=current, **olah)
    if olah:
        given = ", ".join(OLAH_OPTIONS[k] for k in olah)
        raise UsageError(f"{given} apply to --sampler olah only")
    current = spec.inputs[0]
    if current.unit == SPIKE_UNIT:
        raise UsageError(
            f"--sampler ou drives a current on the first input, but {args.teacher!r} has inputs "
            f"{names}"
        )
    ranges = {**ou_defaults(current.unit), **ou} if len(ou) < 3 else ou
    return data.OUCurrent(
        duration_ms=duration_ms, dt=spec.dt, n_synaptic=spec.n_inputs - 1, **ranges
    )


def _describe_sampler(described: dict) -> str:
    """``OUCurrent(mean=[1.0, 2.0], ...)`` from a sampler's ``describe()``."""
    skip = {"class", "dt", "n_samples", "duration_ms", "columns", "reference"}
    fields = ", ".join(
        f"{k}={_describe_sampler(v) if isinstance(v, dict) else v}"
        for k, v in described.items()
        if k not in skip
    )
    return f"{described.get('class', '?')}({fields})"


# ----------------------------------------------------------------------------- generate


def _nonnegative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {text}")
    return value


def _add_generate(commands) -> None:
    gen = commands.add_parser(
        "generate",
        help="simulate a teacher on random stimuli and write a training dataset (zarr)",
        description=(
            "Simulate TEACHER on N stimuli drawn from a sampler (jaxneuro.data.generate) and "
            "write them with a manifest and train/validation/test splits to the zarr store PATH. "
            "Interrupted runs resume: run the same command again."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    gen.set_defaults(run=_cmd_generate)
    gen.add_argument("teacher", metavar="TEACHER", help="a name from `jaxneuro models`")
    gen.add_argument(
        "--sampler",
        choices=SAMPLERS,
        default=None,
        help="olah: Poisson synaptic inputs (Olah et al. 2022) for models with inputs i_ext, "
        "exc, inh; ou: an Ornstein-Uhlenbeck current on the first input (default: olah where "
        "the teacher takes it, else ou)",
    )
    gen.add_argument("--n", type=_positive(int), default=100, help="number of simulations")
    gen.add_argument(
        "--duration", type=_positive(float), default=1000.0, help="length of each (ms)"
    )
    gen.add_argument(
        "--dt", type=_positive(float), default=None, help="sample interval (ms; default: model's)"
    )
    gen.add_argument(
        "--solver-dt",
        type=_positive(float),
        default=None,
        help="internal step (ms) of the model's solver; must divide --dt (default: model's)",
    )
    gen.add_argument("--seed", type=_nonnegative_int, default=0, help="seed of stimuli and splits")
    gen.add_argument(
        "--chunk-size", type=_positive(int), default=64, help="simulations per batch and chunk"
    )
    gen.add_argument("--out", type=Path, required=True, metavar="PATH", help="dataset folder")
    gen.add_argument("--overwrite", action="store_true", help="replace an existing dataset at PATH")
    gen.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    ou = gen.add_argument_group(
        "OU current",
        "Each sweep draws its statistics uniformly from LO..HI (one value fixes it). Defaults "
        "by the current's unit: mean a/4..3a/4, std 0.15a..0.45a with a the `simulate` default "
        "amplitude, tau 2..10 ms. With --sampler olah, any of these adds an OU current to "
        "i_ext (mean 0 unless given).",
    )
    for name, what in [("mean", "stationary mean"), ("std", "standard deviation"), ("tau", "ms")]:
        ou.add_argument(
            f"--{name}", type=_finite, nargs="+", metavar=("LO", "HI"), default=None, help=what
        )
    olah = gen.add_argument_group("Olah synaptic inputs (defaults: the paper's)")
    olah.add_argument("--s-max", type=_finite, default=None, help="input scale s ~ U(0, s_max)")
    olah.add_argument("--exc-rate", type=_finite, default=None, help="exc. Hz per unit s")
    olah.add_argument("--inh-rate", type=_finite, default=None, help="inh. Hz per unit s")
    olah.add_argument(
        "--silent-fraction", type=_finite, default=None, help="fraction of sweeps without input"
    )


def _build(name: str, dt: float | None, solver_dt: float | None = None):
    kwargs = {} if dt is None else {"dt": dt}
    if solver_dt is not None:
        kwargs["solver_dt"] = solver_dt
    try:
        return create(name, **kwargs), kwargs
    except TypeError as e:  # a factory that fixes dt itself
        raise UsageError(f"model {name!r} cannot be built with {kwargs}: {e}") from None


def _cmd_generate(args) -> int:
    if args.out.exists() and not args.out.is_dir():
        raise UsageError(f"--out {args.out} exists and is not a folder")
    teacher, kwargs = _build(args.teacher, args.dt, args.solver_dt)
    spec = teacher.spec
    t = _n_samples(args.duration, spec.dt)
    sampler = _make_sampler(args, spec, t * spec.dt)
    before = 0
    if (args.out / "manifest.json").is_file() and not args.overwrite:
        with contextlib.suppress(ValueError, OSError):  # generate() says what is wrong
            before = data.open_dataset(args.out, allow_incomplete=True).n_completed
    dataset = data.generate(
        args.teacher if not kwargs else teacher,  # a name is recorded in the manifest
        sampler,
        args.n,
        args.out,
        seed=args.seed,
        chunk_size=args.chunk_size,
        progress=not args.no_progress,
        overwrite=args.overwrite,
    )
    splits = ", ".join(f"{k} {len(dataset.split(k))}" for k in dataset.split_names)
    print(
        f"generated {dataset.n} x {args.teacher} for {t * spec.dt:g} ms ({t} samples of "
        f"{spec.dt} ms) on {_describe_sampler(dataset.manifest['sampler'])}"
    )
    if before:
        print(f"continued an interrupted run: {before} of {dataset.n} were already written")
    rate = ""
    if "spikes" in dataset.outputs:
        spikes = dataset.outputs["spikes"]
        total = sum(
            float(np.sum(spikes[i : i + dataset.chunk_size]))
            for i in range(0, dataset.n, dataset.chunk_size)
        )
        rate = f"mean rate {total / dataset.n / (t * spec.dt / 1000.0):.3g} spikes/s; "
    print(f"{rate}splits: {splits}; wrote {args.out}")
    return 0


# ----------------------------------------------------------------------------- fit

FAMILIES = {
    "tcn": "TCN",
    "cnn-lstm": "CNNLSTM",
    "elm": "ELM",
    "encoder-decoder": "ConvEncoderDecoder",
}

SIZE_OPTIONS = {
    # option: {family: (constructor keyword, kind)}; kinds: "int" one integer, "ints" one or
    # several (one is passed as an int), "seq" always a tuple, "str"
    "layers": {"tcn": ("n_layers", "int"), "encoder-decoder": ("levels", "int")},
    "channels": {
        "tcn": ("channels", "ints"),
        "encoder-decoder": ("channels", "ints"),
        "cnn-lstm": ("convs", "seq"),
    },
    "kernel": {
        "tcn": ("kernel_sizes", "ints"),
        "encoder-decoder": ("kernel_size", "int"),
        "cnn-lstm": ("kernels", "ints"),
    },
    "dilation": {"tcn": ("dilations", "ints")},
    "memory": {"elm": ("n_memory", "int")},
    "hidden": {"elm": ("mlp_hidden", "int"), "cnn-lstm": ("dense", "seq")},
    "history": {"cnn-lstm": ("window", "int")},
    "lstm": {"cnn-lstm": ("lstm", "int")},
    "activation": {f: ("activation", "str") for f in ("tcn", "elm", "encoder-decoder")},
}

SIZE_HELP = {
    "layers": "TCN: convolutions; encoder-decoder: stride-2 levels",
    "channels": "TCN, encoder-decoder: channels (one, or one per layer); CNN-LSTM: conv channels",
    "kernel": "TCN: kernel sizes (one, or one per layer); encoder-decoder: kernel; CNN-LSTM: kernels",
    "dilation": "TCN: dilations (one, or one per layer)",
    "memory": "ELM: memory units",
    "hidden": "ELM: MLP width; CNN-LSTM: dense widths",
    "history": "CNN-LSTM: input window (samples)",
    "lstm": "CNN-LSTM: LSTM size",
    "activation": "TCN, ELM, encoder-decoder: hidden nonlinearity (relu, tanh, silu, ...)",
}


def _add_fit(commands) -> None:
    from .training import FitConfig

    d = FitConfig()
    fit = commands.add_parser(
        "fit",
        help="train a surrogate on a generated dataset and save it",
        description=(
            "Fit a surrogate of FAMILY to the teacher that generated --data (jaxneuro.fit), with "
            "checkpoints in DIR/checkpoint: running the same command again resumes. The best "
            "weights are saved with a model card to DIR/surrogate (jaxneuro.save), ready for "
            "`jaxneuro evaluate DIR/surrogate` and jaxneuro.load."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    fit.set_defaults(run=_cmd_fit)
    fit.add_argument("family", metavar="FAMILY", choices=FAMILIES, help=", ".join(FAMILIES))
    fit.add_argument("--data", type=Path, required=True, metavar="PATH", help="dataset folder")
    fit.add_argument("--out", type=Path, required=True, metavar="DIR", help="output folder")
    fit.add_argument("--steps", type=_positive(int), default=d.steps, help="optimiser steps")
    fit.add_argument("--batch-size", type=_positive(int), default=d.batch_size, help="windows")
    fit.add_argument("--window", type=_positive(int), default=d.window, help="samples in loss")
    fit.add_argument(
        "--burn-in",
        type=_nonnegative_int,
        default=None,
        help="warm-up samples before each window (default: the surrogate's receptive field)",
    )
    fit.add_argument("--lr", type=_positive(float), default=d.learning_rate, help="peak rate")
    fit.add_argument("--warmup-steps", type=_nonnegative_int, default=d.warmup_steps)
    fit.add_argument("--eval-every", type=_positive(int), default=d.eval_every, help="steps")
    fit.add_argument(
        "--patience", type=_positive(int), default=d.patience, help="evaluations to wait"
    )
    fit.add_argument("--seed", type=_nonnegative_int, default=d.seed, help="init and batches")
    fit.add_argument("--spike-weight", type=_finite, default=d.loss.spike_bce, help="spike BCE")
    fit.add_argument("--v-weight", type=_finite, default=d.loss.v_mse, help="voltage MSE")
    fit.add_argument(
        "--v-clip",
        type=_finite,
        default=None,
        metavar="MV",
        help="clip the target voltage at MV before the MSE (Beniaguev et al.)",
    )
    fit.add_argument(
        "--clip-prediction",
        action="store_true",
        help="clip the predicted voltage at --v-clip too (no gradient above it: only to reproduce "
        "fits made that way)",
    )
    fit.add_argument(
        "--v-huber",
        type=_positive(float),
        default=None,
        metavar="MV",
        help="count voltage errors beyond MV linearly (Huber), e.g. misplaced spikes",
    )
    loop = fit.add_argument_group("closed-loop training (cnn-lstm)")
    loop.add_argument(
        "--rollout",
        type=_nonnegative_int,
        default=d.rollout,
        metavar="SAMPLES",
        help="run the last SAMPLES of each window closed loop on the surrogate's own voltage",
    )
    loop.add_argument(
        "--feedback-noise",
        type=_nonnegative_float,
        default=d.feedback_noise_mv,
        metavar="MV",
        help="SD of Gaussian noise on the fed-back true voltage (training only)",
    )
    size = fit.add_argument_group("surrogate size (defaults: the family's)")
    for name, help_text in SIZE_HELP.items():
        if name == "activation":
            size.add_argument("--activation", default=None, help=help_text)
        elif any(kind in ("ints", "seq") for _, kind in SIZE_OPTIONS[name].values()):
            size.add_argument(f"--{name}", type=_positive(int), nargs="+", help=help_text)
        else:
            size.add_argument(f"--{name}", type=_positive(int), help=help_text)
    card = fit.add_argument_group("model card")
    card.add_argument(
        "--teacher",
        default=None,
        metavar="NAME",
        help="registry name of the teacher (default: the one that generated the data)",
    )
    card.add_argument(
        "--teacher-kwargs",
        default=None,
        metavar="JSON",
        help="its constructor keywords, e.g. '{\"dt\": 1.0}' (default: found from the data)",
    )
    fit.add_argument("--no-progress", action="store_true", help="hide the progress bar")


def _surrogate_options(args) -> dict:
    options = {}
    for name, families in SIZE_OPTIONS.items():
        value = getattr(args, name)
        if value is None:
            continue
        if args.family not in families:
            users = ", ".join(families)
            raise UsageError(f"--{name} does not apply to {args.family} (only to {users})")
        keyword, kind = families[args.family]
        if kind == "int" and isinstance(value, list):
            if len(value) != 1:
                raise UsageError(f"--{name} takes one value for {args.family}, got {len(value)}")
            value = value[0]
        elif kind == "ints":
            value = value[0] if len(value) == 1 else tuple(value)
        elif kind == "seq":
            value = tuple(value)
        options[keyword] = value
    return options


def _dataset_teacher(args, dataset) -> tuple[str, dict]:
    """The registry name and keywords that rebuild the teacher that generated ``dataset``.

    The teacher's ``repr`` in the manifest (its full configuration) must match, so the model card
    names exactly the model that produced the data.
    """
    from .data._store import clean_repr, params_record

    recorded = dataset.manifest["teacher"]
    if args.teacher_kwargs is not None:
        try:
            kwargs = json.loads(args.teacher_kwargs)
        except json.JSONDecodeError as e:
            raise UsageError(f"--teacher-kwargs is not JSON: {e}") from None
        if not isinstance(kwargs, dict):
            raise UsageError(f"--teacher-kwargs must be a JSON object, got {args.teacher_kwargs}")
        candidates = [kwargs]
    else:  # what `jaxneuro generate` passes: nothing, --dt, --dt and --solver-dt
        candidates = [{}, {"dt": dataset.spec.dt}]
        found = re.search(r"\bsolver_dt=([0-9.eE+-]+)", recorded.get("repr", ""))
        if found:
            candidates.append({"dt": dataset.spec.dt, "solver_dt": float(found.group(1))})
    if args.teacher is not None:
        create(args.teacher)  # unknown names raise their own error
        names = [args.teacher]
    elif recorded.get("registry_name"):
        names = [recorded["registry_name"]]
    else:
        names = list(available())
    for name in names:
        for kwargs in candidates:
            try:
                teacher = create(name, **kwargs)
            except (TypeError, ValueError):
                continue
            if clean_repr(teacher) == recorded.get("repr"):
                digest = params_record(teacher.init(jax.random.key(dataset.manifest["seed"])))[1]
                if digest != dataset.manifest.get("params_sha256"):
                    print(
                        f"jaxneuro: warning: {dataset.path} was generated with parameters other "
                        f"than {name!r}'s defaults; the model card's teacher has the defaults",
                        file=sys.stderr,
                    )
                return name, kwargs
    tried = " or ".join(repr(n) for n in names) if len(names) < 4 else "any registered model"
    raise UsageError(
        f"the teacher that generated {dataset.path} ({recorded.get('class')}) is not {tried} "
        f"with {' or '.join(json.dumps(c) for c in candidates)}; pass --teacher NAME and "
        "--teacher-kwargs JSON that rebuild it"
    )


def _cmd_fit(args) -> int:
    import time

    from . import surrogates
    from ._saving import save
    from .training import FitConfig, LossMix, fit

    out = args.out
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out} exists and is not a folder")
    path = args.data.resolve()  # the checkpoint records the data's path: keep it absolute
    dataset = data.open_dataset(path)
    options = _surrogate_options(args)
    surrogate = getattr(surrogates, FAMILIES[args.family])(dataset.spec, **options)
    loss = LossMix(
        spike_bce=args.spike_weight,
        v_mse=args.v_weight,
        v_clip_mv=args.v_clip,
        clip_prediction=args.clip_prediction,
        v_huber_mv=args.v_huber,
    )
    config = FitConfig(
        steps=args.steps,
        batch_size=args.batch_size,
        window=args.window,
        burn_in=args.burn_in,
        learning_rate=args.lr,
        warmup_steps=args.warmup_steps,
        eval_every=args.eval_every,
        patience=args.patience,
        seed=args.seed,
        loss=loss,
        rollout=args.rollout,
        feedback_noise_mv=args.feedback_noise,
    )
    teacher, teacher_kwargs = _dataset_teacher(args, dataset)
    settings = {
        "family": args.family,
        "options": options,
        "data": str(path),
        "config": config.describe(),
        "teacher": {"name": teacher, "kwargs": teacher_kwargs},
    }
    settings = json.loads(json.dumps(settings))
    record = out / "fit.json"
    checkpoint = out / "checkpoint"
    if record.is_file():
        previous = json.loads(record.read_text()).get("settings", {})
        if previous != settings:
            old, new = _flatten(previous), _flatten(settings)
            changed = [
                f"{k}: {old.get(k, '<absent>')} there, {new.get(k, '<absent>')} now"
                for k in sorted({*old, *new})
                if old.get(k) != new.get(k)
            ]
            raise UsageError(
                f"{out} holds a fit with other settings ({'; '.join(changed[:4])}); rerun it "
                "with the same arguments to resume it, or choose another --out"
            )
    elif out.exists() and any(out.iterdir()):
        raise UsageError(f"--out {out} is not empty and holds no jaxneuro fit; choose another")
    resumed = _checkpoint_step(checkpoint / "checkpoint.safetensors")
    manifest = {
        "program": "jaxneuro fit",
        "jaxneuro_version": __version__,
        "command": ["jaxneuro", *args.argv],
        "settings": settings,
    }
    fresh = not record.is_file()
    _io.write_json(record, manifest)
    if resumed:
        print(f"resuming the fit in {checkpoint} from step {resumed}")
    t0 = time.perf_counter()
    try:
        result = fit(
            surrogate, dataset, config, checkpoint_dir=checkpoint, progress=not args.no_progress
        )
    except BaseException:
        if fresh and not (checkpoint / "checkpoint.safetensors").exists():
            record.unlink()  # refused before it started (e.g. a window too long for the data)
        raise
    wall = time.perf_counter() - t0
    history = result.history
    card = {
        "data": {
            "path": str(path),
            "n": dataset.n,
            "sampler": dataset.manifest["sampler"],
            "seed": dataset.manifest["seed"],
        },
        "training": {
            "config": config.describe(),
            "best_step": result.best_step,
            "history": history,
            "wall_s": wall,
            "command": manifest["command"],
        },
    }
    threshold = calibrate_threshold(result.surrogate, result.params, dataset)
    if threshold is not None:
        card["spike_threshold"] = threshold["threshold"]
        card["spike_threshold_calibration"] = threshold
    saved = save(
        out / "surrogate",
        result.surrogate,
        result.params,
        teacher=teacher,
        teacher_kwargs=teacher_kwargs,
        card=card,
    )
    best = min(history, key=lambda r: r["val_loss"])
    last = history[-1]["step"]
    manifest["result"] = {
        "steps_done": last,
        "best_step": result.best_step,
        "val_loss_untrained": history[0]["val_loss"],
        "val_loss_best": best["val_loss"],
        "wall_s": wall,
        "surrogate": str(saved),
    }
    _io.write_json(record, manifest)
    n_params = int(sum(a.size for a in jax.tree.leaves(result.params)))
    stop = (
        ""
        if last >= config.steps
        else f" (stopped early: no gain in {config.patience} evaluations)"
    )
    print(
        f"fit {args.family} ({n_params} parameters) to {teacher} on {dataset.n} simulations: "
        f"{last}/{config.steps} steps{stop}, {wall:.1f} s this run"
    )
    print(
        f"validation loss {history[0]['val_loss']:.4g} untrained -> {best['val_loss']:.4g} at "
        f"step {result.best_step}; wrote {saved} and {record}"
    )
    if threshold is not None:
        print(
            f"spike threshold {threshold['threshold']:.2f}: the best pooled F1 "
            f"({threshold['f1_pooled']:.3g}, +-{threshold['window_ms']:g} ms) on "
            f"{threshold['n']} validation simulations"
        )
    return 0


THRESHOLDS = tuple(round(0.1 + 0.05 * k, 2) for k in range(14))
"""Spike-probability thresholds tried by :func:`calibrate_threshold` (0.1 … 0.75)."""


def calibrate_threshold(surrogate, params, dataset, window_ms: float = 3.0, n_max: int = 64):
    """The spike-probability threshold with the best pooled F1 (spikes matched within
    ±``window_ms``) on up to ``n_max`` simulations of the dataset's validation split, as
    ``scripts/train_pretrained.py`` chooses it; ``None`` without spikes to match."""
    from .metrics import decode_spikes, summarise_batch
    from .training._fit import burn_in_of

    if "spikes" not in dataset.outputs or "spikes" not in surrogate.spec.output_names:
        return None
    index = dataset.split("validation")[:n_max]
    if index.size == 0:
        return None
    batch = dataset.batch(index)
    run = jax.jit(jax.vmap(lambda x: surrogate.apply(params, x)[0]["spikes"]))
    skip = min(burn_in_of(surrogate), batch.inputs.shape[1] - 1)  # the history fills up first
    prob = np.asarray(run(batch.inputs), np.float64)[:, skip:]
    true = np.asarray(batch.outputs["spikes"], np.float64)[:, skip:]
    if true.sum() == 0:
        return None
    dt = dataset.spec.dt
    scores = []
    for threshold in THRESHOLDS:
        pred = decode_spikes(prob, threshold, round(2.0 / dt), mode="peak")
        summary = summarise_batch(spikes_pred=pred, spikes_true=true, dt=dt, window_ms=window_ms)
        scores.append(float(np.nan_to_num(summary["f1_pooled"])))
    best = int(np.argmax(scores))
    return {
        "threshold": THRESHOLDS[best],
        "f1_pooled": scores[best],
        "window_ms": window_ms,
        "n": int(index.size),
        "split": "validation",
        "skipped_samples": int(skip),
    }


def _flatten(tree, prefix: str = "") -> dict:
    """``{"a.b": value}`` of nested dicts."""
    if not isinstance(tree, dict):
        return {prefix: tree}
    flat = {}
    for k, v in tree.items():
        flat.update(_flatten(v, f"{prefix}.{k}" if prefix else str(k)))
    return flat


def _checkpoint_step(path: Path) -> int:
    """The step a fit's checkpoint holds, from its safetensors header (0 if there is none)."""
    try:
        with open(path, "rb") as f:
            header = json.loads(f.read(int.from_bytes(f.read(8), "little")))
        meta = json.loads(header["__metadata__"]["metadata"])
        return int(meta["counters"]["step"])
    except (OSError, ValueError, KeyError, TypeError):
        return 0


# ----------------------------------------------------------------------------- evaluate


def _add_evaluate(commands) -> None:
    ev = commands.add_parser(
        "evaluate",
        help="fidelity and speed of a saved surrogate against its analytical teacher",
        description=(
            "Run a saved surrogate and its teacher on N held-out stimuli (from the sampler of "
            "the surrogate's training data when its model card records one, else the teacher's "
            "default: Olah synaptic inputs or an OU current), and write report.json with "
            "traces.png, raster.png and roc.png to DIR (jaxneuro.evaluate)."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    ev.set_defaults(run=_cmd_evaluate)
    ev.add_argument(
        "surrogate", metavar="SURROGATE", help="a shipped name (e.g. hh-tcn) or a saved folder"
    )
    ev.add_argument("--n", type=_positive(int), default=20, help="number of stimuli")
    ev.add_argument("--duration", type=_positive(float), default=500.0, help="scored ms each")
    ev.add_argument(
        "--burn-in",
        type=_nonnegative_float,
        default=100.0,
        help="ms simulated before the scored part (the surrogate's history fills up)",
    )
    ev.add_argument("--seed", type=_nonnegative_int, default=1, help="seed of the stimuli")
    ev.add_argument(
        "--window", type=_positive(float), default=3.0, help="spike matching window (+- ms)"
    )
    ev.add_argument(
        "--threshold",
        type=_positive(float),
        default=None,
        help="spike-probability threshold (default: the model card's, else 0.5)",
    )
    ev.add_argument(
        "--gradient-cells", type=_nonnegative_int, default=4, help="cells for gradient fidelity"
    )
    ev.add_argument("--out", type=Path, required=True, metavar="DIR", help="output folder")


def _nonnegative_float(text: str) -> float:
    value = _finite(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {text}")
    return value


def held_out_stimuli(card: dict, spec, n: int, duration_ms: float, seed: int):
    """``(stimuli [n, T, n_inputs], sampler description, source)``: stimuli drawn as
    ``jax.vmap(sampler)(jax.random.split(jax.random.key(seed), n))`` from the sampler of the
    surrogate's training data when ``card`` records one, else from :func:`default_sampler`."""
    described = (card.get("data") or {}).get("sampler")
    sampler = None
    if described:
        sampler = sampler_from_description(described, duration_ms, spec.dt)
    source = "the training data's sampler"
    if sampler is None:
        sampler, source = default_sampler(spec, duration_ms), "the teacher's default sampler"
    keys = jax.random.split(jax.random.key(seed), n)
    stimuli = np.asarray(jax.jit(jax.vmap(sampler))(keys))
    return stimuli, sampler.describe(), source


def _cmd_evaluate(args) -> int:
    from ._saving import load, load_teacher, read_card
    from .evaluation import evaluate

    if args.out.exists() and not args.out.is_dir():
        raise UsageError(f"--out {args.out} exists and is not a folder")
    card = read_card(args.surrogate)
    surrogate, params = load(args.surrogate)
    teacher, teacher_params = load_teacher(args.surrogate)
    spec = teacher.spec
    t = _n_samples(args.duration, spec.dt)
    skip = sample_index(args.burn_in, spec.dt)
    stimuli, described, source = held_out_stimuli(
        card, spec, args.n, (skip + t) * spec.dt, args.seed
    )
    threshold = args.threshold if args.threshold is not None else card.get("spike_threshold", 0.5)
    report = evaluate(
        surrogate,
        teacher,
        stimuli,
        params=params,
        teacher_params=teacher_params,
        out=args.out,
        spike_threshold=threshold,
        window_ms=args.window,
        burn_in_ms=skip * spec.dt,
        gradient_cells=args.gradient_cells,
    )
    report["surrogate"] = {
        "name_or_path": str(args.surrogate),
        "family": card["family"],
        "teacher": card["teacher"],
    }
    report["stimuli"] = {
        "source": source,
        "sampler": described,
        "n": args.n,
        "seed": args.seed,
        "rule": "jax.vmap(sampler)(jax.random.split(jax.random.key(seed), n))",
    }
    report["command"] = ["jaxneuro", *args.argv]
    _io.write_json(args.out / "report.json", _io._jsonable(report))
    title = (
        f"{args.surrogate} ({card['family']}) vs {card['teacher']['name']}: {args.n} held-out "
        f"stimuli from {source}, seed {args.seed}"
    )
    print(format_table(fidelity_rows(report), title))
    print(f"wrote {args.out / 'report.json'} and figures traces.png, raster.png, roc.png")
    return 0


def fidelity_rows(report: dict) -> list[tuple[str, str]]:
    """The headline numbers of a :func:`jaxneuro.evaluate` report as ``(label, value)`` rows."""
    g = lambda x, f=".3g": "n/a" if x is None or not math.isfinite(x) else format(x, f)  # noqa: E731
    v, speed = report["voltage"], report["speed"]
    window = report["settings"]["window_ms"]
    rows = [
        ("cells x scored duration", f"{report['n_cells']} x {report['duration_ms']:g} ms"),
        ("voltage RMSE", f"{g(v['rmse_mv'])} mV"),
        (
            f"voltage RMSE, clipped at {report['settings']['clip_mv']:g} mV",
            f"{g(v['rmse_clipped_mv'])} mV",
        ),
        ("explained variance (clipped)", g(v["explained_variance_clipped"])),
        ("Pearson r", g(v["pearson_r"])),
    ]
    s = report.get("spikes")
    if s:
        rows += [
            (
                "spikes: teacher / surrogate",
                f"{int(s['n_true'])} / {int(s['n_pred'])} "
                f"({g(s['rate_true_hz'])} / {g(s['rate_pred_hz'])} Hz)",
            ),
            (
                f"precision / recall / F1 (+-{window:g} ms)",
                f"{g(s['precision_pooled'])} / {g(s['recall_pooled'])} / {g(s['f1_pooled'])}",
            ),
            (
                "spike jitter (mean +- sd)",
                f"{g(s['jitter_mean_ms'])} +- {g(s['jitter_std_ms'])} ms",
            ),
            (f"coincidence factor (+-{window:g} ms)", g(s["coincidence_factor"])),
        ]
        if "auc" in s:
            rows.append(
                (
                    "spike AUC / TPR at 1% FPR (1 ms bins)",
                    f"{g(s['auc'], '.4f')} / {g(s['tpr_at_fpr_0.01'])}",
                )
            )
    cos = report["gradient_cosine"]
    rows.append((f"input-gradient cosine ({len(cos['per_cell'])} cells)", g(cos["mean"])))
    cell_s = speed["simulated_cell_seconds"]
    for who in ("teacher", "surrogate"):
        run, comp = speed[who]["run_s"], speed[who]["compile_s"]
        rows.append(
            (
                f"{who}: run (compile apart)",
                f"{seconds(run)} ({seconds(comp)}); {cell_s / run:.3g} cell-s per wall-s",
            )
        )
    device = jax.devices()[0]
    rows.append(("speed-up, run only", f"{speed['speedup']:.3g}x on {device.platform}"))
    return rows


def seconds(t: float) -> str:
    """A duration for people: ``412 ms``, ``3.1 s``."""
    return f"{t * 1e3:.3g} ms" if t < 1.0 else f"{t:.3g} s"


def format_table(rows: list[tuple[str, str]], title: str = "") -> str:
    """Two aligned columns under an optional title."""
    width = max(len(label) for label, _ in rows)
    lines = [title, "-" * min(100, max(len(title), width + 30))] if title else []
    lines += [f"  {label:<{width}}  {value}" for label, value in rows]
    return "\n".join(lines)


# ----------------------------------------------------------------------------- demo


def _add_demo(commands) -> None:
    demo = commands.add_parser(
        "demo",
        help="the shipped HH surrogate against its teacher: fidelity, speed, stimulus design",
        description=(
            "Load the surrogate (default: the shipped hh-elm) and its analytical teacher, "
            "simulate a population on Olah et al.'s synaptic inputs with both and report "
            "fidelity and speed, then design an injected current by gradients through each "
            "form to evoke a target spike train, and check both designs on the analytical "
            "model. Writes figures and summary.json to DIR."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    demo.set_defaults(run=_cmd_demo)
    demo.add_argument("--out", type=Path, default=Path("demo"), metavar="DIR", help="output")
    demo.add_argument(
        "--quick", action="store_true", help="a small run (well under a minute on a CPU)"
    )
    demo.add_argument(
        "--surrogate",
        default="hh-elm",
        metavar="NAME_OR_PATH",
        help="a shipped name or saved folder of a surrogate of hh-synaptic",
    )


def _cmd_demo(args) -> int:
    from . import _demo

    if args.out.exists() and not args.out.is_dir():
        raise UsageError(f"--out {args.out} exists and is not a folder")
    _demo.run(out=args.out, quick=args.quick, surrogate=args.surrogate)
    return 0


if __name__ == "__main__":
    sys.exit(main())
