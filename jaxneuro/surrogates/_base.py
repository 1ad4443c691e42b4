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

from .._simulator import IOSpec, Outputs, Simulator, check_inputs, check_state, guard_finite

SPIKES = "spikes"
"""Output channel that a surrogate predicts as a per-sample probability (with ``"spike_logits"``)."""

DEFAULT_OUTPUT_SCALING = {"v": (-65.0, 10.0)}
"""Default ``(offset, scale)`` per output channel; others default to ``(0, 1)``."""

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

    Inputs enter the network as ``(x − input_mean) / input_std`` per input channel; each non-spike
    output channel leaves it as ``output_offset + output_scale · y``. Constants are static Python
    floats, so a trained surrogate works on raw physical units; ``fit`` sets them from data with
    :meth:`from_data`. Build with :meth:`for_spec` (defaults: inputs 0/1; ``"v"`` −65 mV / 10 mV,
    the ELM convention of Spieler et al. 2024; other outputs 0/1).

    Attributes:
        input_mean, input_std: one per input channel, in the channel's unit.
        outputs: names of the regressed (non-spike) output channels, in spec order.
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
        names = tuple(c for c in spec.output_names if c != SPIKES)
        offset, scale = dict(output_offset or {}), dict(output_scale or {})
        unknown = (set(offset) | set(scale)) - set(names)
        if unknown:
            raise ValueError(f"no regressed output channel(s) {sorted(unknown)}; have {names}")
        default = lambda c: DEFAULT_OUTPUT_SCALING.get(c, (0.0, 1.0))  # noqa: E731
        off = tuple(float(offset.get(c, default(c)[0])) for c in names)
        sc = tuple(float(scale.get(c, default(c)[1])) for c in names)
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
        for c in spec.output_names:
            if c != SPIKES and c in outputs:
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

    It copies its teacher's spec (same ``dt`` and channel names). Outputs: each non-spike output
    channel of the spec as ``[T]`` in the teacher's unit, and, where the teacher has ``"spikes"``,
    a per-sample spike probability ``"spikes"`` in [0, 1] and its logit ``"spike_logits"`` (train
    with a binary cross-entropy on the logits).

    ``params`` is the ``nnx.State`` of the network weights (a pytree of arrays). Normalisation
    constants (:class:`Scaling`) and sizes are static configuration, not parameters.

    Attributes:
        scaling: the fixed input/output normalisation.
        spike_prior: initial spike probability per sample (sets the spike-head bias,
            Beniaguev et al. 2021).
        graphdef: the NNX graph definition (static).
    """

    _spec: IOSpec = eqx.field(static=True)
    scaling: Scaling = eqx.field(static=True)
    spike_prior: float = eqx.field(static=True)
    graphdef: nnx.GraphDef = eqx.field(static=True, repr=False)

    def _setup(self, spec: IOSpec, scaling: Scaling | None, spike_prior: float) -> None:
        """Set the shared fields; call first in a subclass ``__init__``."""
        if not isinstance(spec, IOSpec):
            raise TypeError(f"spec must be an IOSpec (the teacher's .spec), got {type(spec)}")
        scaling = Scaling.for_spec(spec) if scaling is None else scaling
        names = tuple(c for c in spec.output_names if c != SPIKES)
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
    def latency(self) -> int:
        """Samples by which output ``k`` lags the teacher: it estimates teacher output ``k − latency``."""
        return 0

    @property
    def has_spikes(self) -> bool:
        return SPIKES in self._spec.output_names

    @property
    def n_heads(self) -> int:
        """Width of the network's last layer: spike logit (if any), then regressed channels."""
        return int(self.has_spikes) + len(self.scaling.outputs)

    def spike_bias(self) -> float:
        return math.log(self.spike_prior / (1.0 - self.spike_prior))

    def head_bias(self) -> jax.Array:
        """Initial bias of the output layer: spike logit at ``spike_prior``, zero elsewhere."""
        b = jnp.zeros(self.n_heads, jnp.float32)  # the weights are float32, also under x64
        return b.at[0].set(self.spike_bias()) if self.has_spikes else b

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
            if f.name in ("_spec", "graphdef"):
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
        """Network outputs → named outputs in the teacher's units."""
        out: Outputs = {}
        i = 0
        if self.has_spikes:
            out[SPIKES] = jax.nn.sigmoid(heads[:, 0])
            out["spike_logits"] = heads[:, 0]
            i = 1
        for j, name in enumerate(self.scaling.outputs):
            out[name] = self.scaling.to_units(name, heads[:, i + j])
        return out
