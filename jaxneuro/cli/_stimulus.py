"""``simulate``'s stimuli: one waveform for the population, recorded so a manifest rebuilds it."""

from __future__ import annotations

import jax
import numpy as np

from .. import stimuli
from .._simulator import EVENTS, TRACE, IOSpec, n_samples
from ..data import DEFAULT_AMPLITUDE
from ._args import UsageError

STIMULI = ("step", "ramp", "sine", "ou", "poisson")

DEFAULT_RATE_HZ = 100.0
"""Default Poisson rate (Hz) on every spike-train input."""


def spike_inputs(spec: IOSpec) -> list[str]:
    """Names of the inputs that take events (spike trains)."""
    return [c.name for c in spec.inputs if c.kind == EVENTS]


def input_columns(spec: IOSpec, names: list[str]) -> list[int]:
    """Columns of the ``[T, n_inputs]`` input array that the inputs ``names`` take."""
    columns, start = [], 0
    for c in spec.inputs:
        if c.name in names:
            columns += range(start, start + c.width)
        start += c.width
    return columns


def describe_stimulus(args, spec: IOSpec, t: int) -> tuple[np.ndarray, dict]:
    """Per-cell amplitudes ``[N]`` and the stimulus as the manifest records it.

    The description holds everything :func:`make_inputs` needs, so a manifest rebuilds its input.
    """
    duration = t * spec.dt
    events = spike_inputs(spec)
    if args.stimulus == "poisson":
        if not events:
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
        if current.kind != TRACE:
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
        stimulus.update(inputs=events)
    return (amplitude * scale).astype(np.float32), stimulus


def make_inputs(spec: IOSpec, stimulus: dict, amplitudes: np.ndarray, key) -> np.ndarray:
    """The ``[N, T, n_inputs]`` input of every cell (float32), built with ``jaxneuro.stimuli``.

    Cell ``i`` gets ``amplitudes[i]``: the step height (from ``onset_ms`` to the end), the end of
    a ramp from 0, a sine's amplitude (zero mean), or an OU current's mean; these drive input 0
    and leave the others at zero. ``poisson`` drives every spike-train input at ``amplitudes[i]``
    Hz and leaves the current at zero. Noisy stimuli draw one realisation per cell from ``key``.
    """
    n, kind = len(amplitudes), stimulus["kind"]
    duration, dt = stimulus["duration_ms"], stimulus["dt_ms"]
    t = n_samples(duration, dt)
    x = np.zeros((n, t, spec.n_inputs), np.float32)
    keys = jax.random.split(key, n)
    if kind == "poisson":
        columns = input_columns(spec, stimulus["inputs"])
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
