"""Temporal convolutional network surrogate (Beniaguev, Segev & London 2021)."""

from __future__ import annotations

from collections.abc import Sequence

import equinox as eqx
import jax
import jax.numpy as jnp
from flax import nnx
from jaxtyping import Array, Float

from .._simulator import IOSpec, Outputs
from ._base import Scaling, Surrogate, as_layers, float_dtype, get_activation, graphdef_of


class _TCNNet(nnx.Module):
    def __init__(self, n_in, channels, kernel_sizes, dilations, act, head_bias, *, rngs):
        widths = (n_in, *channels)
        self.convs = nnx.List(
            nnx.Conv(a, b, (k,), padding="VALID", kernel_dilation=(d,), rngs=rngs)
            for a, b, k, d in zip(widths[:-1], widths[1:], kernel_sizes, dilations, strict=True)
        )
        self.head = nnx.Linear(channels[-1], head_bias.shape[0], rngs=rngs)
        self.head.bias[...] = head_bias
        self.act = act

    def __call__(self, x: Float[Array, "L n_in"]) -> Float[Array, "T n_heads"]:
        for conv in self.convs:
            x = self.act(conv(x))
        return self.head(x)


class TCN(Surrogate):
    """Causal temporal convolutional network: input history → spike probability and voltage.

    Stacked causal 1-D convolutions (stride 1, optional dilation), each followed by the
    activation, then 1×1 heads: a spike logit and one linear output per non-spike teacher channel
    (Beniaguev, Segev & London 2021, *Neuron* 109:2727, Fig. 1; their best L5PC model is 7 layers ×
    128 channels with receptive field 153 ms, e.g. ``kernel_sizes=(33,) + (21,) * 6``). Output ``k``
    depends on inputs ``k − receptive_field + 1 … k``. BatchNorm is omitted so the network is a pure
    function of its weights. One layer with one channel (``n_layers=1, channels=1``) is the
    integrate-and-fire case of their Fig. 2 (a linear filter, a nonlinearity and a readout).

    Streaming: the state is the last ``receptive_field − 1`` raw input rows; the rest state is zero
    input. ``apply(x[:k])`` then ``apply(x[k:], state)`` equals ``apply(x)``.

    Args:
        spec: the teacher's spec (copied: same ``dt`` and channels).
        n_layers: number of convolutions (default: the length of the per-layer arguments).
        channels: hidden channels, one int or one per layer.
        kernel_sizes: kernel length (samples), one int or one per layer.
        dilations: dilation, one int or one per layer.
        activation: hidden nonlinearity (``"relu"``, ``"tanh"``, ``"silu"``, …).
        scaling: fixed normalisation (:class:`Scaling`); default from the spec.
        spike_prior: initial spike probability per sample.
    """

    channels: tuple[int, ...] = eqx.field(static=True)
    kernel_sizes: tuple[int, ...] = eqx.field(static=True)
    dilations: tuple[int, ...] = eqx.field(static=True)
    activation: str = eqx.field(static=True)

    def __init__(
        self,
        spec: IOSpec,
        *,
        n_layers: int | None = None,
        channels: int | Sequence[int] = 32,
        kernel_sizes: int | Sequence[int] = (31, 11, 11),
        dilations: int | Sequence[int] = 1,
        activation: str = "relu",
        scaling: Scaling | None = None,
        spike_prior: float = 0.01,
    ):
        self._setup(spec, scaling, spike_prior)
        if n_layers is None:  # from the per-layer arguments, else 3
            given = [len(v) for v in (channels, kernel_sizes, dilations) if not isinstance(v, int)]
            n_layers = given[0] if given else 3
        if not (isinstance(n_layers, int) and n_layers >= 1):
            raise ValueError(f"n_layers must be a positive int, got {n_layers!r}")
        self.channels = as_layers("channels", channels, n_layers)
        self.kernel_sizes = as_layers("kernel_sizes", kernel_sizes, n_layers)
        self.dilations = as_layers("dilations", dilations, n_layers)
        get_activation(activation)  # validates the name
        self.activation = activation
        self.graphdef = graphdef_of(self.network)

    @property
    def receptive_field(self) -> int:
        """Input samples each output sees: ``1 + Σ dilation·(kernel − 1)``."""
        return 1 + sum(d * (k - 1) for k, d in zip(self.kernel_sizes, self.dilations, strict=True))

    def network(self, rngs: nnx.Rngs) -> nnx.Module:
        return _TCNNet(
            self.spec.n_inputs,
            self.channels,
            self.kernel_sizes,
            self.dilations,
            get_activation(self.activation),
            self.head_bias(),
            rngs=rngs,
        )

    def widen(
        self, params, channels: int | Sequence[int], key: Array | None = None
    ) -> tuple[TCN, nnx.State]:
        """A wider TCN computing the same function, to train on from ``params`` (Net2WiderNet:
        Chen, Goodfellow & Shlens 2016, ICLR).

        Every weight array keeps its old block; weights from the new channels into the old ones
        are zero, so the outputs are unchanged; weights into the new channels are drawn fresh
        (:meth:`init` of the wider TCN with ``key``). Training then recruits the new channels.

        Args:
            params: this TCN's weights.
            channels: the new hidden channels, one int or one per layer, each ≥ the old.
            key: PRNG key of the fresh weights (default ``jax.random.key(0)``).

        Returns:
            The wider ``TCN`` (same kernels, dilations, activation and scaling) and its weights.
        """
        new = as_layers("channels", channels, len(self.channels))
        if any(n < o for n, o in zip(new, self.channels, strict=True)):
            raise ValueError(f"channels {new} must be at least the current {self.channels}")
        wider = TCN(
            self.spec,
            channels=new,
            kernel_sizes=self.kernel_sizes,
            dilations=self.dilations,
            activation=self.activation,
            scaling=self.scaling,
            spike_prior=self.spike_prior,
        )

        def embed(fresh, old):
            out = fresh.at[tuple(slice(0, n) for n in old.shape)].set(old.astype(fresh.dtype))
            if out.ndim >= 2:  # a kernel [..., in, out]: nothing from new inputs into old outputs
                out = out.at[..., old.shape[-2] :, : old.shape[-1]].set(0)
            return out

        return wider, jax.tree.map(embed, wider.init(key), params)

    def init_state(self, params=None) -> Float[Array, "history n_inputs"]:
        """Zero input history, ``[receptive_field − 1, n_inputs]``."""
        dtype = float_dtype(params)
        return jnp.zeros((self.receptive_field - 1, self.spec.n_inputs), dtype)

    def apply(
        self, params, inputs: Float[Array, "T n_inputs"], state=None
    ) -> tuple[Outputs, Float[Array, "history n_inputs"]]:
        x = self.check(inputs, params)
        dtype = float_dtype(x, params)
        history = jnp.asarray(self.state_or_rest(state, params))
        seq = jnp.concatenate([history.astype(dtype), x.astype(dtype)])
        heads = self.merge(params)(self.scaling.normalise_inputs(seq))
        return self.readout(heads), seq[seq.shape[0] - history.shape[0] :]
