"""Strided convolutional encoder–decoder surrogate in the style of CoNNear (Baby et al. 2021)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import equinox as eqx
import jax
import jax.numpy as jnp
from flax import nnx
from jaxtyping import Array, Float, Int

from .._simulator import IOSpec, Outputs
from ._base import Scaling, Surrogate, as_layers, float_dtype, get_activation, graphdef_of


def _causal_conv(c_in, c_out, k, stride, rngs):
    return nnx.Conv(c_in, c_out, (k,), strides=(stride,), padding=((k - 1, 0),), rngs=rngs)


def _is_number(v) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _upsample(h: Float[Array, "m C"], length: int) -> Float[Array, "length C"]:
    """Zero-stuffing ×2 (the input side of a stride-2 transposed convolution), cropped."""
    up = jnp.stack([h, jnp.zeros_like(h)], axis=1).reshape(2 * h.shape[0], h.shape[1])
    return up[:length]


class _EncDecNet(nnx.Module):
    def __init__(self, n_in, channels, k, k_out, act, head_bias, *, rngs):
        n = len(channels)
        self.encoder = nnx.List(
            _causal_conv(a, b, k, 2, rngs)
            for a, b in zip((n_in, *channels[:-1]), channels, strict=True)
        )
        # decoder l (n … 1) maps level l to level l−1; below the bottleneck its input is the
        # previous decoder output concatenated with the mirror encoder pre-activation
        self.decoder = nnx.List(
            _causal_conv(
                channels[lv - 1] * (1 if lv == n else 2), channels[max(lv - 2, 0)], k, 1, rngs
            )
            for lv in range(n, 0, -1)
        )
        self.output = _causal_conv(channels[0] + n_in, head_bias.shape[0], k_out, 1, rngs)
        self.output.bias[...] = head_bias
        self.act = act

    def __call__(self, x: Float[Array, "L n_in"]) -> Float[Array, "L n_heads"]:
        skips, h = [x], x
        for conv in self.encoder:
            pre = conv(h)
            skips.append(pre)
            h = self.act(pre)
        skips.pop()  # the bottleneck has no mirror
        for conv in self.decoder:
            skip = skips.pop()
            h = self.act(conv(_upsample(h, skip.shape[0])))
            h = jnp.concatenate([h, skip], axis=-1)  # the last skip is the input itself
        return self.output(h)


class ConvEncoderDecoder(Surrogate):
    """CoNNear-style U-Net: strided 1-D conv encoder, upsampling decoder, skip connections.

    ``levels`` stride-2 convolutions (activation ``tanh``) halve the time resolution; as many
    upsampling convolutions (stride-2 transposed convolutions: zero-stuffing, then a convolution)
    restore it, each concatenated with the mirror encoder's **pre-activation**, as in CoNNear
    (Baby, Van Den Broucke & Verhulst 2021, *Nat. Mach. Intell.* 3:134; Drakopoulos, Baby & Verhulst
    2021, *Commun. Biol.* 4:827; ``auditory_periphery.md`` §6). A final linear convolution reads the
    full-resolution decoder output concatenated with the input, so each output sample sees its
    own input sample.

    **Context and streaming.** CoNNear processes windows ``[left | centre | right]`` and keeps the
    centre. Here every convolution is causal and the network runs over the whole stream, aligned to
    absolute sample positions (stride phase), which is the windowed scheme with context wide
    enough that window edges never matter:

    - the *left context* is the receptive field; the state keeps that many past raw input rows
      (``history``) and the stream position modulo ``2**levels`` (``phase``), so
      ``apply(x[:k])`` then ``apply(x[k:], state)`` equals ``apply(x)`` exactly;
    - the *right context* (look-ahead) is a latency: output ``k`` estimates the teacher's output
      at sample ``k − right_context`` (:attr:`latency`), i.e. it has seen ``right_context``
      samples beyond it. Train against targets delayed by ``latency``; the default ``0`` keeps the
      outputs aligned with the teacher's.

    Args:
        spec: the teacher's spec (copied).
        levels: stride-2 encoder layers (CoNNear IHC: 3; cochlea: 4).
        channels: channels per level, one int or one per level (CoNNear: 128).
        kernel_size: kernel length of encoder and decoder convolutions (CoNNear IHC: 16).
        output_kernel: kernel length of the final linear convolution.
        activation: hidden nonlinearity (CoNNear: ``"tanh"``).
        right_context: look-ahead in input samples (a multiple of the spec's decimation), reported
            in output samples as :attr:`latency`.
        rest_input: the input at rest, one value per input column in its channel's unit (or one
            for all): the past a fresh state (:meth:`init_state`) holds. Default ``None``: zeros,
            right where zero input is rest (a sound, a BM velocity) but not for, e.g., a membrane
            potential (an ANF surrogate takes ``v_ihc`` resting near −57.7 mV).
        scaling, spike_prior: as for every :class:`Surrogate`.
    """

    levels: int = eqx.field(static=True)
    channels: tuple[int, ...] = eqx.field(static=True)
    kernel_size: int = eqx.field(static=True)
    output_kernel: int = eqx.field(static=True)
    activation: str = eqx.field(static=True)
    right_context: int = eqx.field(static=True)
    rest_input: tuple[float, ...] | None = eqx.field(static=True)

    def __init__(
        self,
        spec: IOSpec,
        *,
        levels: int = 3,
        channels: int | Sequence[int] = 32,
        kernel_size: int = 8,
        output_kernel: int = 1,
        activation: str = "tanh",
        right_context: int = 0,
        rest_input: float | Sequence[float] | None = None,
        scaling: Scaling | None = None,
        spike_prior: float = 0.01,
    ):
        self._setup(spec, scaling, spike_prior)
        for name, v, lo in [
            ("levels", levels, 1),
            ("kernel_size", kernel_size, 1),
            ("output_kernel", output_kernel, 1),
            ("right_context", right_context, 0),
        ]:
            if not (isinstance(v, int) and v >= lo):
                raise ValueError(f"{name} must be an int ≥ {lo}, got {v!r}")
        if right_context % spec.decimation:
            raise ValueError(
                f"right_context ({right_context} input samples) must be a multiple of the spec's "
                f"decimation ({spec.decimation}): the latency is counted in output samples"
            )
        get_activation(activation)
        self.levels, self.kernel_size, self.output_kernel = levels, kernel_size, output_kernel
        self.channels = as_layers("channels", channels, levels)
        self.activation, self.right_context = activation, right_context
        if rest_input is not None:
            values = (rest_input,) * spec.n_inputs if _is_number(rest_input) else rest_input
            values = tuple(float(v) for v in values)
            if len(values) != spec.n_inputs or not all(math.isfinite(v) for v in values):
                raise ValueError(
                    f"rest_input must be one finite number or {spec.n_inputs}, got {rest_input!r}"
                )
            rest_input = values
        self.rest_input = rest_input
        self.graphdef = graphdef_of(self.network)

    def network(self, rngs: nnx.Rngs) -> nnx.Module:
        return _EncDecNet(
            self.spec.n_inputs,
            self.channels,
            self.kernel_size,
            self.output_kernel,
            get_activation(self.activation),
            self.head_bias(),
            rngs=rngs,
        )

    @property
    def block(self) -> int:
        """``2**levels``: the stride of the bottleneck (samples)."""
        return 2**self.levels

    @property
    def receptive_field(self) -> int:
        """Past input samples an output can depend on (a bound): encoder + decoder + output."""
        return 2 * (self.kernel_size - 1) * (self.block - 1) + self.output_kernel - 1

    @property
    def left_context(self) -> int:
        """Rows of input history kept in the state: the receptive field, rounded up to a block."""
        return math.ceil(self.receptive_field / self.block) * self.block

    @property
    def latency(self) -> int:
        """Look-ahead in output samples (``right_context / decimation``)."""
        return self.right_context // self.spec.decimation

    def init_state(self, params=None) -> dict[str, Array]:
        """Rest: an input history ``[left_context, n_inputs]`` at :attr:`rest_input` (zeros by
        default) and stream phase 0."""
        history = jnp.zeros((self.left_context, self.spec.n_inputs), float_dtype(params))
        if self.rest_input is not None:
            history = history + jnp.asarray(self.rest_input, history.dtype)
        return {"history": history, "phase": jnp.zeros((), jnp.int32)}

    def apply(
        self, params, inputs: Float[Array, "T n_inputs"], state=None
    ) -> tuple[Outputs, dict[str, Array]]:
        x = self.check(inputs, params)
        dtype = float_dtype(x, params)
        state = self.state_or_rest(state, params)  # {"history": [left_context, n_in], "phase"}
        history, phase = jnp.asarray(state["history"]), jnp.asarray(state["phase"])
        n_t, h, p = x.shape[0], self.left_context, self.block
        seq = jnp.concatenate([history.astype(dtype), x.astype(dtype)])
        length = math.ceil((p + h + n_t) / p) * p
        padded = jnp.concatenate(
            [
                jnp.zeros((p, seq.shape[1]), dtype),
                self.scaling.normalise_inputs(seq),
                jnp.zeros((length - h - n_t, seq.shape[1]), dtype),
            ]
        )
        # start the network on an absolute multiple of the block: stride phases match any split
        start = jnp.mod(h - phase, p).astype(jnp.int32)
        window = jax.lax.dynamic_slice_in_dim(padded, start, length)
        heads = self.merge(params)(window)
        heads = jax.lax.dynamic_slice_in_dim(heads, p + h - start, n_t)
        new_phase: Int[Array, ""] = jnp.mod(phase + n_t, p).astype(jnp.int32)
        return self.readout(heads), {"history": seq[n_t:], "phase": new_phase}
