"""What every temporal surrogate shares: the teacher's spec, fixed unit scaling, and NNX plumbing.

A surrogate is a Flax NNX network made functional with ``nnx.split`` / ``nnx.merge``: the
:class:`Surrogate` (an equinox Module) holds the network's static ``graphdef`` and configuration;
``init(key)`` returns the ``nnx.State`` of fresh weights, and ``apply`` merges them into a
throw-away module for the duration of one pure call.
"""

from __future__ import annotations

import abc
import copy
import dataclasses
import functools
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx
from jaxtyping import Array, Float

from .._simulator import (
    EVENTS,
    Channel,
    IOSpec,
    Outputs,
    Simulator,
    check_inputs,
    check_state,
    guard_finite,
)

SPIKES = "spikes"
"""The usual events channel of a spiking teacher (its logits are ``"spike_logits"``)."""

DEFAULT_OUTPUT_SCALING = {"mV": (-65.0, 10.0)}
"""Default ``(offset, scale)`` of a regressed output channel, by unit; others ``(0, 1)``."""


def logits_name(channel: str) -> str:
    """Output key of the logits of an events channel: ``"spike_logits"`` for ``"spikes"``, else
    ``"<channel>_logits"``."""
    return "spike_logits" if channel == SPIKES else f"{channel}_logits"


def regressed(spec: IOSpec) -> tuple[Channel, ...]:
    """Output channels a surrogate regresses (traces and rates): every kind but events."""
    return tuple(c for c in spec.outputs if c.kind != EVENTS)


ACTIVATIONS: dict[str, Callable[[Array], Array]] = {
    "relu": jax.nn.relu,
    "tanh": jnp.tanh,
    "silu": jax.nn.silu,
    "gelu": jax.nn.gelu,
    "selu": jax.nn.selu,
    "softplus": jax.nn.softplus,
    "identity": lambda x: x,
}


def get_activation(name: str) -> Callable[[Array], Array]:
    """The activation called ``name`` (one of :data:`ACTIVATIONS`)."""
    if name not in ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}; choose one of {sorted(ACTIVATIONS)}")
    return ACTIVATIONS[name]


def _positive_finite(name: str, values: Sequence[float]) -> None:
    for v in values:
        if not (math.isfinite(v) and v > 0):
            raise ValueError(f"{name} must be positive and finite, got {tuple(values)}")


def float_dtype(*trees: Any):
    """The floating dtype of computation: that of the arrays given (default float)."""
    leaves = [a for t in trees for a in jax.tree.leaves(t)]
    return jnp.result_type(float, *leaves) if leaves else jnp.result_type(float)


def as_layers(name: str, value: int | Sequence[int], n: int) -> tuple[int, ...]:
    """Broadcast an int to ``n`` layers, or check a per-layer sequence has ``n`` positive ints."""
    out = (value,) * n if isinstance(value, int) else tuple(value)
    if len(out) != n or not all(isinstance(v, int | np.integer) and v >= 1 for v in out):
        raise ValueError(f"{name} must be a positive int or {n} positive ints, got {value!r}")
    return tuple(int(v) for v in out)


class Scaling(eqx.Module):
    """Fixed affine maps between physical units and network units (not trained).

    Inputs enter the network as ``(x − input_mean) / input_std`` per input column; each regressed
    output channel (trace or rate, any width) leaves it as ``output_offset + output_scale · y``. Constants are static Python
    floats, so a trained surrogate works on raw physical units; ``fit`` sets them from data with
    :meth:`from_data`. Build with :meth:`for_spec` (defaults: inputs 0/1; traces in mV −65 / 10 mV,
    the ELM convention of Spieler et al. 2024; other outputs 0/1).

    Attributes:
        input_mean, input_std: one per input column, in its channel's unit.
        outputs: names of the regressed (trace and rate) output channels, in spec order.
        output_offset, output_scale: one per name in ``outputs``, in the channel's unit.
    """

    input_mean: tuple[float, ...] = eqx.field(static=True)
    input_std: tuple[float, ...] = eqx.field(static=True)
    outputs: tuple[str, ...] = eqx.field(static=True)
    output_offset: tuple[float, ...] = eqx.field(static=True)
    output_scale: tuple[float, ...] = eqx.field(static=True)

    def __check_init__(self):
        if len(self.input_mean) != len(self.input_std):
            raise ValueError("Scaling: input_mean and input_std must have equal lengths")
        if not (len(self.outputs) == len(self.output_offset) == len(self.output_scale)):
            raise ValueError("Scaling: outputs, output_offset and output_scale must match")
        _positive_finite("Scaling.input_std", self.input_std)
        _positive_finite("Scaling.output_scale", self.output_scale)
        if not all(math.isfinite(v) for v in self.input_mean + self.output_offset):
            raise ValueError("Scaling: means and offsets must be finite")

    @classmethod
    def for_spec(
        cls,
        spec: IOSpec,
        *,
        input_mean: Sequence[float] | None = None,
        input_std: Sequence[float] | None = None,
        output_offset: Mapping[str, float] | None = None,
        output_scale: Mapping[str, float] | None = None,
    ) -> Scaling:
        """Scaling for ``spec``; unspecified constants take their defaults."""
        n = spec.n_inputs
        mean = tuple(float(v) for v in (input_mean if input_mean is not None else [0.0] * n))
        std = tuple(float(v) for v in (input_std if input_std is not None else [1.0] * n))
        if len(mean) != n or len(std) != n:
            raise ValueError(
                f"input_mean/input_std need {n} values ({', '.join(spec.input_names)})"
            )
        channels = regressed(spec)
        names = tuple(c.name for c in channels)
        offset, scale = dict(output_offset or {}), dict(output_scale or {})
        unknown = (set(offset) | set(scale)) - set(names)
        if unknown:
            raise ValueError(f"no regressed output channel(s) {sorted(unknown)}; have {names}")
        default = {c.name: DEFAULT_OUTPUT_SCALING.get(c.unit, (0.0, 1.0)) for c in channels}
        off = tuple(float(offset.get(c, default[c][0])) for c in names)
        sc = tuple(float(scale.get(c, default[c][1])) for c in names)
        return cls(mean, std, names, off, sc)

    @classmethod
    def from_data(
        cls, spec: IOSpec, inputs: Float[Any, "... T n_inputs"], outputs: Mapping[str, Any]
    ) -> Scaling:
        """Means and standard deviations of training data (any leading batch axes).

        Channels with zero spread keep a unit scale, so constant inputs stay finite.
        """
        x = np.asarray(inputs, dtype=np.float64).reshape(-1, spec.n_inputs)
        spread = lambda a: float(a.std()) if a.std() > 0 else 1.0  # noqa: E731
        mean = [float(c.mean()) for c in x.T]
        std = [spread(c) for c in x.T]
        offset, scale = {}, {}
        for c in (c.name for c in regressed(spec)):
            if c in outputs:
                y = np.asarray(outputs[c], dtype=np.float64)
                offset[c], scale[c] = float(y.mean()), spread(y)
        return cls.for_spec(
            spec, input_mean=mean, input_std=std, output_offset=offset, output_scale=scale
        )

    def normalise_inputs(self, x: Float[Array, "... n_inputs"]) -> Float[Array, "... n_inputs"]:
        return (x - jnp.asarray(self.input_mean, x.dtype)) / jnp.asarray(self.input_std, x.dtype)

    def to_units(self, name: str, y: Array) -> Array:
        i = self.outputs.index(name)
        return self.output_offset[i] + self.output_scale[i] * y

    def from_units(self, name: str, y: Array) -> Array:
        """Network units of a physical output (for training targets)."""
        i = self.outputs.index(name)
        return (y - self.output_offset[i]) / self.output_scale[i]


def graphdef_of(build: Callable[[nnx.Rngs], nnx.Module]) -> nnx.GraphDef:
    """The static structure of ``build(rngs)``, found without allocating weights."""
    abstract = nnx.eval_shape(lambda: build(nnx.Rngs(0)))
    graphdef, _ = nnx.split(abstract)
    return graphdef


@functools.partial(jax.jit, static_argnums=0)
def fresh_weights(model: Any, key: Array) -> nnx.State:
    """``nnx.State`` of ``model.network(rngs)``, compiled once per configuration.

    Every ``kernel`` is drawn LeCun-normal (std ``1/√fan_in``, fan-in = all axes but the last)
    from one shared random draw; biases and custom parameters keep the values the network set.
    One draw instead of one per layer (and no QR for the LSTM's orthogonal recurrent kernels)
    makes this compile several times faster; the layers' own random initialisers are dead code.
    """
    k_build, k_pool = jax.random.split(key)
    params = nnx.split(model.network(nnx.Rngs(params=k_build)))[1]
    with_paths, treedef = jax.tree_util.tree_flatten_with_path(params)
    leaves = [jnp.asarray(a, a.dtype) for _, a in with_paths]  # strong types: no retrace later
    kernels = [
        i for i, (path, _) in enumerate(with_paths) if "kernel" in jax.tree_util.keystr(path)
    ]
    pool = jax.random.normal(k_pool, (sum(leaves[i].size for i in kernels),), jnp.float32)
    offset = 0
    for i in kernels:
        a = leaves[i]
        draw = pool[offset : offset + a.size].reshape(a.shape)
        leaves[i] = (draw / math.sqrt(math.prod(a.shape[:-1]))).astype(a.dtype)
        offset += a.size
    return jax.tree.unflatten(treedef, leaves)


class Surrogate(Simulator):
    """A Flax NNX network behind the :class:`~jaxneuro.Simulator` protocol.

    It copies its teacher's spec (sample intervals, channels). Outputs, per output channel by kind:
    a trace or rate channel as ``[T]`` (``[T, width]`` if wider) in the teacher's unit; an events
    channel as a per-sample event **probability** in [0, 1] under the channel's name, and its logit
    under :func:`logits_name` (``"spike_logits"`` for ``"spikes"``; train with a binary
    cross-entropy on the logits). The network runs at the input rate; with an output interval
    ``decimation`` input samples long, output ``k`` is its value at the end of input sample
    ``(k + 1) · decimation − 1``.

    ``params`` is the ``nnx.State`` of the network weights (a pytree of arrays). Normalisation
    constants (:class:`Scaling`) and sizes are static configuration, not parameters.

    Attributes:
        scaling: the fixed input/output normalisation.
        spike_prior: initial spike probability per sample (sets the spike-head bias,
            Beniaguev et al. 2021).
        graphdef: the NNX graph definition (static).
        spike_threshold: the event-probability threshold calibrated for these weights (set by
            ``jaxneuro.load`` from the model card; ``None`` for an untrained surrogate), used by
            ``evaluate`` to decode events by default.
    """

    _spec: IOSpec = eqx.field(static=True)
    scaling: Scaling = eqx.field(static=True)
    spike_prior: float = eqx.field(static=True)
    graphdef: nnx.GraphDef = eqx.field(static=True, repr=False)
    spike_threshold: float | None = eqx.field(static=True, default=None)

    def _setup(self, spec: IOSpec, scaling: Scaling | None, spike_prior: float) -> None:
        """Set the shared fields; call first in a subclass ``__init__``."""
        if not isinstance(spec, IOSpec):
            raise TypeError(f"spec must be an IOSpec (the teacher's .spec), got {type(spec)}")
        scaling = Scaling.for_spec(spec) if scaling is None else scaling
        names = tuple(c.name for c in regressed(spec))
        if len(scaling.input_mean) != spec.n_inputs or scaling.outputs != names:
            raise ValueError(
                f"scaling does not fit the spec: it has {len(scaling.input_mean)} inputs and "
                f"outputs {scaling.outputs}; the spec has {spec.n_inputs} inputs and {names}"
            )
        if not 0.0 < spike_prior < 1.0:
            raise ValueError(f"spike_prior must be a probability in (0, 1), got {spike_prior}")
        self._spec = spec
        self.scaling = scaling
        self.spike_prior = float(spike_prior)

    # --- what each family defines ------------------------------------------------------------
    @abc.abstractmethod
    def network(self, rngs: nnx.Rngs) -> nnx.Module:
        """A freshly initialised NNX network of this configuration."""

    # --- shared ------------------------------------------------------------------------------
    @property
    def spec(self) -> IOSpec:
        return self._spec

    @property
    def has_spikes(self) -> bool:
        """Whether the teacher has an events output (predicted as probabilities)."""
        return bool(self._spec.outputs_of(EVENTS))

    def _head_layout(self) -> tuple[tuple[Channel, int], ...]:
        """``(channel, first column)`` of each output in the network's last layer: events
        channels first (logits), then the regressed channels, in spec order."""
        ordered = self._spec.outputs_of(EVENTS) + regressed(self._spec)
        starts = np.cumsum([0] + [c.width for c in ordered])[:-1]
        return tuple(zip(ordered, (int(i) for i in starts), strict=True))

    def head_index(self, name: str) -> int:
        """First column of output channel ``name`` in the network's last layer."""
        for c, i in self._head_layout():
            if c.name == name:
                return i
        raise KeyError(f"no output channel {name!r}; have {self._spec.output_names}")

    @property
    def n_heads(self) -> int:
        """Width of the network's last layer: the widths of all output channels."""
        return sum(c.width for c in self._spec.outputs)

    def spike_bias(self) -> float:
        return math.log(self.spike_prior / (1.0 - self.spike_prior))

    def head_bias(self) -> jax.Array:
        """Initial bias of the output layer: event logits at ``spike_prior``, zero elsewhere."""
        b = np.zeros(self.n_heads, np.float32)  # the weights are float32, also under x64
        for c, i in self._head_layout():
            if c.kind == EVENTS:
                b[i : i + c.width] = self.spike_bias()
        return jnp.asarray(b)

    def init(self, key: Array | None = None) -> nnx.State:
        """Fresh network weights (``key`` defaults to ``jax.random.key(0)``; see
        :func:`fresh_weights`)."""
        return fresh_weights(self, jax.random.key(0) if key is None else key)

    def merge(self, params: nnx.State) -> nnx.Module:
        """The network with weights ``params`` (inside a pure function only)."""
        return nnx.merge(self.graphdef, params)

    def n_params(self, params: nnx.State) -> int:
        return sum(int(np.prod(a.shape)) for a in jax.tree.leaves(params))

    def config(self) -> dict[str, Any]:
        """JSON-friendly constructor arguments: ``type(s).from_config(spec, s.config())`` rebuilds
        ``s`` (for checkpoint manifests; the weights are saved separately)."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            if f.name in ("_spec", "graphdef", "spike_threshold"):
                continue
            value = getattr(self, f.name)
            if isinstance(value, Scaling):
                value = {g.name: list(getattr(value, g.name)) for g in dataclasses.fields(value)}
            out[f.name] = list(value) if isinstance(value, tuple) else value
        return out

    @classmethod
    def from_config(cls, spec: IOSpec, config: Mapping[str, Any]) -> Surrogate:
        """The surrogate that :meth:`config` describes, for the teacher spec ``spec``."""
        kwargs = dict(config)
        if isinstance(kwargs.get("scaling"), Mapping):
            kwargs["scaling"] = Scaling(**{k: tuple(v) for k, v in kwargs["scaling"].items()})
        return cls(spec, **{k: tuple(v) if isinstance(v, list) else v for k, v in kwargs.items()})

    def with_scaling(self, scaling: Scaling) -> Surrogate:
        """A copy with other normalisation constants (weights are unaffected)."""
        new = copy.copy(self)
        new._check_scaling(scaling)
        object.__setattr__(new, "scaling", scaling)
        return new

    def with_threshold(self, threshold: float | None) -> Surrogate:
        """A copy whose calibrated event threshold is ``threshold`` (a probability in (0, 1))."""
        if threshold is not None and not 0.0 < threshold < 1.0:
            raise ValueError(f"spike_threshold must be a probability in (0, 1), got {threshold!r}")
        new = copy.copy(self)
        object.__setattr__(new, "spike_threshold", None if threshold is None else float(threshold))
        return new

    def _check_scaling(self, scaling: Scaling) -> None:
        if scaling.outputs != self.scaling.outputs or len(scaling.input_mean) != len(
            self.scaling.input_mean
        ):
            raise ValueError("the new scaling must have the same channels as the old one")

    def check(self, inputs: Any, params: Any = None) -> Float[Array, "T n_inputs"]:
        """Validated inputs: ``ValueError`` on a bad shape, ``eqx.error_if`` on NaN/inf in the
        inputs or the weights."""
        return guard_finite(check_inputs(self._spec, inputs), params)

    def state_or_rest(self, state: Any, params: Any = None) -> Any:
        """``state`` checked against :meth:`init_state` (a ``ValueError`` naming the expected
        structure and shapes), or the rest state when ``state`` is ``None``. The check needs only
        the rest state's shapes, so it is not computed (an ELM's takes ``rest_ms`` of steps)."""
        if state is None:
            return self.init_state(params)
        check_state(state, jax.eval_shape(self.init_state, params))
        return state

    def readout(self, heads: Float[Array, "T n_heads"]) -> Outputs:
        """Network outputs at the input rate → named outputs at the output rate, in the
        teacher's units (events as probabilities and logits)."""
        r = self._spec.decimation
        if r > 1:
            heads = heads[r - 1 :: r]
        out: Outputs = {}
        for c, i in self._head_layout():
            cols = heads[:, i : i + c.width]
            cols = cols[:, 0] if c.width == 1 else cols
            if c.kind == EVENTS:
                out[c.name] = jax.nn.sigmoid(cols)
                out[logits_name(c.name)] = cols
            else:
                out[c.name] = self.scaling.to_units(c.name, cols)
        return out


class Autoregressive(Surrogate):
    """A surrogate fed back its own past output (closed loop in :meth:`apply`), trained on the
    true output instead (teacher forcing) — the extra entry points ``fit`` uses.

    Subclasses name the fed-back channel (:attr:`feedback`, a width-1 trace or rate of the spec)
    and implement both entry points; the sample interval of inputs and outputs must be equal.
    """

    @property
    @abc.abstractmethod
    def feedback(self) -> str:
        """The output channel fed back into the network."""

    @abc.abstractmethod
    def apply_teacher_forced(
        self, params: nnx.State, inputs: Float[Array, "T n_inputs"], feedback: Array, state=None
    ) -> tuple[Outputs, Any]:
        """One-step predictions along the true ``feedback`` trace ``[T]`` (teacher forcing)."""

    @abc.abstractmethod
    def apply_rollout(
        self,
        params: nnx.State,
        inputs: Float[Array, "T n_inputs"],
        feedback: Array,
        steps: int,
        state=None,
    ) -> tuple[Outputs, Any]:
        """Teacher-forced over the first ``T − steps`` samples, closed loop over the last
        ``steps``."""

    def _check_feedback(self) -> None:
        """Call after :meth:`_setup`: the fed-back channel exists, is one wide and regressed."""
        spec = self.spec
        if self.feedback not in self.scaling.outputs or spec.output(self.feedback).width != 1:
            raise ValueError(
                f"{type(self).__name__} feeds back {self.feedback!r}, which must be a width-1 "
                f"trace or rate output; the spec has outputs {spec.output_names}"
            )
        if spec.decimation != 1:
            raise ValueError(
                f"{type(self).__name__} feeds back every output sample, so it needs output_dt = dt"
                f" (got dt {spec.dt} ms, output_dt {spec.output_dt} ms)"
            )
