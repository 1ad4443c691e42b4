"""The one protocol every jaxneuro model follows, analytical or learned."""

from __future__ import annotations

import abc
import contextlib
import contextvars
import dataclasses
import math
from collections.abc import Mapping
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float, PyTree

Params = PyTree[Array]
State = PyTree[Array]
Outputs = dict[str, Array]

TRACE, EVENTS, RATE = "trace", "events", "rate"
KINDS = (TRACE, EVENTS, RATE)
"""Channel kinds: a sampled ``trace`` (a voltage, a current, a pressure), ``events`` per sample
(spike counts; a surrogate's spike probabilities), a ``rate`` (spikes/s)."""

_LEGACY_EVENT_UNITS = ("count", "events/sample", "spikes/sample")


@dataclasses.dataclass(frozen=True)
class Channel:
    """One named signal of a simulator: its unit, kind and width.

    ``Channel("v", "mV")`` is a voltage trace; ``Channel("spikes", "count", EVENTS)`` spike counts
    per sample; ``Channel("rate", "spikes/s", RATE, width=201)`` a rate at 201 characteristic
    frequencies. A channel of width 1 is an array ``[T]``; a wider one ``[T, width]``. In the
    ``[T, n_inputs]`` input array a channel of width ``w`` takes ``w`` consecutive columns.

    Attributes:
        name: key in the outputs dict (unique within the inputs, and within the outputs).
        unit: physical unit (``"mV"``, ``"nA"``, ``"spikes/s"``, ``"Pa"`` …).
        kind: one of :data:`KINDS`; losses, metrics and reports dispatch on it.
        width: columns (e.g. compartments or characteristic frequencies), a positive int.
        description: free text.
    """

    name: str
    unit: str
    kind: str = TRACE
    width: int = 1
    description: str = ""

    def __post_init__(self):
        if not (isinstance(self.name, str) and self.name):
            raise ValueError(f"Channel name must be a non-empty string, got {self.name!r}")
        if not isinstance(self.unit, str):
            raise ValueError(f"Channel {self.name!r}: unit must be a string, got {self.unit!r}")
        if self.kind not in KINDS:
            raise ValueError(
                f"Channel {self.name!r}: kind must be one of {KINDS}, got {self.kind!r} "
                "(the description is a keyword argument: Channel(name, unit, description=...))"
            )
        if isinstance(self.width, bool) or not isinstance(self.width, int) or self.width < 1:
            raise ValueError(
                f"Channel {self.name!r}: width must be a positive int, got {self.width!r}"
            )

    @property
    def shape(self) -> tuple[int, ...]:
        """Trailing shape of one sample: ``()`` for width 1, else ``(width,)``."""
        return () if self.width == 1 else (self.width,)

    def to_json(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Channel:
        """The channel ``data`` describes. Files from before channel kinds (no ``kind``) read as
        events where the unit is a count per sample, else as traces."""
        if not isinstance(data, Mapping):
            raise ValueError(f"a channel must be a JSON object, got {data!r}")
        data = dict(data)
        if "kind" not in data:
            data["kind"] = EVENTS if data.get("unit") in _LEGACY_EVENT_UNITS else TRACE
        unknown = set(data) - {f.name for f in dataclasses.fields(cls)}
        if unknown:
            raise ValueError(f"channel {data.get('name')!r} has unknown fields {sorted(unknown)}")
        return cls(**data)


def _ratio(output_dt: float, dt: float) -> int:
    ratio = output_dt / dt
    k = round(ratio)
    if k < 1 or abs(ratio - k) > 1e-9 * max(1.0, ratio):
        raise ValueError(
            f"IOSpec: output_dt ({output_dt} ms) must be a positive integer multiple of the input "
            f"dt ({dt} ms)"
        )
    return k


class IOSpec(eqx.Module):
    """What a simulator takes and gives.

    Attributes:
        dt: sample interval of the inputs (ms). Solvers may take smaller internal steps.
        inputs: the input channels, in column order of the ``[T, n_inputs]`` input array.
        outputs: the output channels; ``apply`` returns a dict keyed by their names.
        output_dt: sample interval of the outputs (ms), an integer multiple of ``dt`` (default
            ``dt``): ``T`` input samples give ``T // decimation`` output samples, output ``k``
            being the signal at the end of input sample ``(k + 1) · decimation − 1``.
    """

    dt: float = eqx.field(static=True)
    inputs: tuple[Channel, ...] = eqx.field(static=True)
    outputs: tuple[Channel, ...] = eqx.field(static=True)
    output_dt: float = eqx.field(static=True)

    def __init__(
        self,
        dt: float,
        inputs: tuple[Channel, ...],
        outputs: tuple[Channel, ...],
        output_dt: float | None = None,
    ):
        for name, value in (("dt", dt), ("output_dt", output_dt)):
            if value is None and name == "output_dt":
                continue
            if not (
                isinstance(value, int | float)
                and not isinstance(value, bool)
                and math.isfinite(value)
                and value > 0
            ):
                raise ValueError(
                    f"IOSpec.{name} must be a positive, finite number of ms, got {value!r}"
                )
        self.dt = float(dt)
        self.output_dt = self.dt if output_dt is None else float(output_dt)
        self.inputs = tuple(inputs)
        self.outputs = tuple(outputs)

    def __check_init__(self):
        _ratio(self.output_dt, self.dt)
        for side, channels in (("input", self.inputs), ("output", self.outputs)):
            if not all(isinstance(c, Channel) for c in channels):
                raise ValueError(f"IOSpec {side}s must be Channel objects, got {channels!r}")
            names = [c.name for c in channels]
            if len(set(names)) != len(names):
                raise ValueError(f"IOSpec {side} channel names must be unique, got {names}")

    @property
    def decimation(self) -> int:
        """Input samples per output sample (``output_dt / dt``, an integer)."""
        return _ratio(self.output_dt, self.dt)

    @property
    def n_inputs(self) -> int:
        """Columns of the input array: the sum of the input channels' widths."""
        return sum(c.width for c in self.inputs)

    @property
    def input_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.inputs)

    @property
    def output_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.outputs)

    def output(self, name: str) -> Channel:
        """The output channel called ``name``."""
        for c in self.outputs:
            if c.name == name:
                return c
        raise KeyError(f"no output channel {name!r}; have {self.output_names}")

    def outputs_of(self, kind: str) -> tuple[Channel, ...]:
        """The output channels of one kind (see :data:`KINDS`)."""
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
        return tuple(c for c in self.outputs if c.kind == kind)

    def n_outputs(self, n_inputs_samples: int) -> int:
        """Output samples for ``n_inputs_samples`` input samples."""
        return n_inputs_samples // self.decimation

    def describe(self) -> str:
        """One line: sample intervals and channels (for ``jaxneuro models`` and model cards)."""

        def fmt(c: Channel) -> str:
            width = f"×{c.width}" if c.width > 1 else ""
            return f"{c.name}{width} [{c.unit}, {c.kind}]"

        ins = ", ".join(map(fmt, self.inputs))
        outs = ", ".join(map(fmt, self.outputs))
        dts = f"dt={self.dt} ms" + (
            f", output_dt={self.output_dt} ms" if self.output_dt != self.dt else ""
        )
        return f"{dts}; inputs: {ins}; outputs: {outs}"

    def to_json(self) -> dict:
        """A JSON object that :meth:`from_json` reads back to an equal spec."""
        return {
            "dt": self.dt,
            "output_dt": self.output_dt,
            "inputs": [c.to_json() for c in self.inputs],
            "outputs": [c.to_json() for c in self.outputs],
        }

    @classmethod
    def from_json(cls, data: Any) -> IOSpec:
        """The spec ``data`` describes (a ``ValueError`` naming what is malformed)."""
        if not isinstance(data, Mapping):
            raise ValueError(f"a spec must be a JSON object, got {type(data).__name__}")
        missing = {"dt", "inputs", "outputs"} - set(data)
        if missing:
            raise ValueError(f"spec is missing {sorted(missing)}")
        try:
            return cls(
                dt=data["dt"],
                inputs=tuple(Channel.from_json(c) for c in data["inputs"]),
                outputs=tuple(Channel.from_json(c) for c in data["outputs"]),
                output_dt=data.get("output_dt"),
            )
        except TypeError as e:
            raise ValueError(f"spec is malformed: {e}") from None


class Simulator(eqx.Module):
    """A model with inputs sampled every ``spec.dt`` ms and named outputs every ``spec.output_dt``.

    One cell (one simulation) per call; populations are ``jax.vmap`` (see ``jaxneuro.population``).
    Streaming holds: ``apply(p, x[:k], s0)`` then ``apply(p, x[k:], s1)`` equals ``apply(p, x, s0)``
    (``k`` a multiple of ``spec.decimation``).
    """

    @property
    def latency(self) -> int:
        """Output samples by which output ``k`` lags: it estimates the signal at ``k − latency``.
        Zero for analytical models; a bounded-latency surrogate declares its look-ahead here."""
        return 0

    @property
    @abc.abstractmethod
    def spec(self) -> IOSpec:
        """Sample interval and channels."""

    @abc.abstractmethod
    def init(self, key: Array | None = None) -> Params:
        """Default parameters: physical parameters, or freshly initialised network weights."""

    @abc.abstractmethod
    def init_state(self, params: Params) -> State:
        """Rest state / empty history."""

    @abc.abstractmethod
    def apply(
        self, params: Params, inputs: Float[Array, "T n_inputs"], state: State | None = None
    ) -> tuple[Outputs, State]:
        """Run over ``inputs``; output ``k`` is the signal at the end of input sample ``k``."""

    def guard(self, params: Params, x: Array) -> Array:
        """``x`` carrying the run-time checks of ``params`` that ``apply`` makes
        (``eqx.error_if``): NaN or inf here; models add their constraints. A caller that runs
        ``apply`` on the same parameters many times attaches them once (see
        :func:`trusted_params`)."""
        return _guard_finite_params(x, params)

    def __call__(self, params: Params, inputs: Any, state: State | None = None):
        return self.apply(params, inputs, state)


_TRUSTED = contextvars.ContextVar("jaxneuro_trusted_params", default=False)
_TRUSTED_INPUTS = contextvars.ContextVar("jaxneuro_trusted_inputs", default=False)


@contextlib.contextmanager
def _raised(flag: contextvars.ContextVar):
    """``flag`` set while inside."""
    token = flag.set(True)
    try:
        yield
    finally:
        flag.reset(token)


def trusted_params():
    """While tracing inside, ``apply`` skips its run-time parameter checks (NaN/inf, constraints).

    For a caller that runs ``apply`` on the same parameters in every step of a loop (a
    Network's exchange intervals) after attaching those checks once, outside the loop, with
    :meth:`Simulator.guard`: XLA cannot hoist a side-effecting check out of a loop, and repeated
    in every interval they cost a fifth of a COBA step. Trace-time checks (names, shapes) and
    the checks of inputs and of divergence still run.
    """
    return _raised(_TRUSTED)


def params_trusted() -> bool:
    """Whether ``apply`` is being traced inside :func:`trusted_params`."""
    return _TRUSTED.get()


def trusted_inputs():
    """While tracing inside, ``apply`` skips its scan of the inputs for NaN and inf.

    For a caller that feeds ``apply`` inputs known to be finite: a Network checks its external
    inputs and its weights once per call, and routes spikes (finite counts) through them, so
    its populations need not rescan their inputs in every exchange interval. A non-finite
    value that arises inside (a diverging cell) is still reported, by the network's check of
    its populations' final states.
    """
    return _raised(_TRUSTED_INPUTS)


def check_inputs(spec: IOSpec, inputs: Any) -> Float[Array, "T n_inputs"]:
    """Validate an input signal's shape at trace time; raise a ``ValueError`` naming the problem."""
    x = jnp.asarray(inputs)
    if x.ndim == 1 and spec.n_inputs == 1:
        x = x[:, None]
    if x.ndim != 2:
        raise ValueError(
            f"inputs must have shape [T, {spec.n_inputs}] ({', '.join(spec.input_names)}); "
            f"got shape {tuple(x.shape)}. For a population, use jaxneuro.population / jax.vmap."
        )
    if x.shape[1] != spec.n_inputs:
        raise ValueError(
            f"inputs have {x.shape[1]} channels, but this simulator takes {spec.n_inputs}: "
            f"{', '.join(spec.input_names)}"
        )
    if x.shape[0] == 0:
        raise ValueError("inputs have zero samples (T = 0); the duration must be positive")
    if x.shape[0] % spec.decimation:
        raise ValueError(
            f"inputs have {x.shape[0]} samples, not a multiple of {spec.decimation} (input samples "
            f"per output sample: output_dt {spec.output_dt} ms / dt {spec.dt} ms)"
        )
    if not jnp.issubdtype(x.dtype, jnp.floating):
        x = x.astype(jnp.result_type(float))
    return x


def guard_finite(x: Array, params: PyTree) -> Array:
    """``x``, with runtime errors (``eqx.error_if``) if ``x`` or any parameter is NaN or inf.

    The input check reads one fused sum (NaN and ±inf propagate through it) and raises through a
    scalar that multiplies ``x`` by one, so a large batched input is neither copied nor scanned
    twice (passing ``x`` itself through ``error_if`` cost 5× the sum). The only false alarm is a
    sum of finite inputs that overflows (beyond 3e38 in float32). No input scan inside
    :func:`trusted_inputs`, no parameter check inside :func:`trusted_params`.
    """
    if not _TRUSTED_INPUTS.get():
        one = jnp.ones((), x.dtype)
        x = x * eqx.error_if(one, ~jnp.isfinite(jnp.sum(x)), "inputs contain NaN or inf")
    return _guard_finite_params(x, params)


def _guard_finite_params(x: Array, params: PyTree) -> Array:
    """``x``, with a runtime error if any parameter is NaN or inf (none inside
    :func:`trusted_params`)."""
    finite = [jnp.isfinite(a).all() for a in jax.tree.leaves(params)]
    if not finite or params_trusted():
        return x
    one = jnp.ones((), x.dtype)
    one = eqx.error_if(one, ~jnp.all(jnp.stack(finite)), "parameters contain NaN or inf")
    return x * one


def check_state(state: PyTree, expected: PyTree) -> None:
    """Raise a ``ValueError`` if ``state`` is not shaped like this simulator's state."""
    shapes = lambda t: jax.tree.map(lambda a: jnp.shape(a), t)  # noqa: E731
    if jax.tree.structure(state) != jax.tree.structure(expected) or shapes(state) != shapes(
        expected
    ):
        raise ValueError(
            "state does not match this simulator: pass the state returned by its apply() or "
            f"init_state(); expected {shapes(expected)}, got {shapes(state)}"
        )


def n_samples(duration: float, dt: float) -> int:
    """Number of samples in ``duration`` ms at sample interval ``dt`` ms.

    A ``ValueError`` if either is not positive and finite, or if ``dt`` does not divide
    ``duration`` (to 1e-6 of a sample): a run is never silently shorter than asked.
    """
    for name, value in (("duration", duration), ("dt", dt)):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"{name} must be a number of ms, got {value!r}")
        if not (math.isfinite(value) and value > 0):
            raise ValueError(f"{name} must be a positive, finite number of ms, got {value!r}")
    n = round(duration / dt)
    if n < 1 or abs(duration / dt - n) > 1e-6:
        raise ValueError(
            f"dt = {dt} ms does not divide duration = {duration} ms ({duration / dt:g} samples)"
        )
    return n
