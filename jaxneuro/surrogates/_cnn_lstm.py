"""Autoregressive CNN-LSTM surrogate, run in closed loop (Oláh, Pedersen & Rowan 2022)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import equinox as eqx
import jax
import jax.numpy as jnp
from flax import nnx
from jaxtyping import Array, Float

from .._simulator import IOSpec, Outputs
from ._base import Autoregressive, Scaling, as_layers, float_dtype, graphdef_of


class _CNNLSTMNet(nnx.Module):
    def __init__(self, n_cols, window, convs, kernels, lstm, repeats, dense, head_bias, *, rngs):
        widths = (n_cols, *convs)
        self.convs = nnx.List(
            nnx.Conv(a, b, (k,), padding=((k - 1, 0),), rngs=rngs)
            for a, b, k in zip(widths[:-1], widths[1:], kernels, strict=True)
        )
        # Oláh et al.: ReLU on every convolution but the last, tanh on the last
        self.conv_acts = (jax.nn.relu,) * (len(convs) - 1) + (jnp.tanh,)
        self.lstm = nnx.LSTMCell(window * convs[-1], lstm, rngs=rngs)
        sizes = (lstm, *dense)
        self.dense = nnx.List(
            nnx.Linear(a, b, rngs=rngs) for a, b in zip(sizes[:-1], sizes[1:], strict=True)
        )
        self.head = nnx.Linear(sizes[-1], head_bias.shape[0], rngs=rngs)
        self.head.bias[...] = head_bias
        self.repeats = repeats
        self.lstm_size = lstm

    def __call__(self, window: Float[Array, "W C"]) -> Float[Array, " n_heads"]:
        h = window
        for conv, act in zip(self.convs, self.conv_acts, strict=True):
            h = act(conv(h))
        flat = h.reshape(-1)
        zeros = jnp.zeros((self.lstm_size,), flat.dtype)
        # nnx.LSTMCell's step, with the input projections (the big matmuls) hoisted out of the
        # repeats: every repeat sees the same input
        cell = self.lstm
        xi, xf, xg, xo = cell.ii(flat), cell.if_(flat), cell.ig(flat), cell.io(flat)

        def repeat(carry, _):
            c, h = carry
            i = cell.gate_fn(xi + cell.hi(h))
            f = cell.gate_fn(xf + cell.hf(h))
            g = cell.activation_fn(xg + cell.hg(h))
            o = cell.gate_fn(xo + cell.ho(h))
            c = f * c + i * g
            h = o * cell.activation_fn(c)
            return (c, h), h

        _, ys = jax.lax.scan(repeat, (zeros, zeros), None, length=self.repeats)
        h = ys.mean(axis=0)
        for i, layer in enumerate(self.dense):
            h = (jax.nn.relu if i == 0 else jax.nn.selu)(layer(h))
        return self.head(h)


class CNNLSTM(Autoregressive):
    """Next-step CNN-LSTM regressor of membrane voltage, simulated in closed loop.

    From a window of the last ``W`` samples of ``[v, inputs]`` (normalised) the network predicts
    the voltage at the end of the next sample (Oláh, Pedersen & Rowan 2022, *eLife* 11:e79535, §2
    of ``point_neuron_and_networks.md``): causal convolutions k1 (ReLU) → k5 (ReLU) → k1 (tanh),
    flatten, repeated ``lstm_repeats`` times into an LSTM whose outputs are averaged (their Keras
    ``RepeatVector``), a ReLU dense layer and SELU dense layers, then heads for the voltage step,
    the spike logit and any other teacher output. Paper sizes: ``window=64, convs=(128, 100, 50),
    lstm=128, dense=(128, 100, 100, 100, 100)``; the defaults here are smaller for CPUs.
    Dropout is omitted (pure functions); the voltage head predicts the change from the previous
    sample (``v_k = v_{k−1} + v_scale·head``), so an untrained loop stays near its seed.

    Window row ``j`` holds ``[v_{j−1}, x_j]``: the voltage at the start of sample ``j`` and the input
    during it, so the prediction of ``v_k`` sees ``x_k``.

    ``apply`` runs **closed loop**: a ``lax.scan`` feeds each predicted ``v`` back into the window.
    The state is the window buffer ``[W, 1 + n_inputs]`` of raw ``[v_j, x_j]`` rows (mV, input units)
    of the last ``W`` samples; ``init_state`` fills it with ``[v_rest, 0, …]``. Train with teacher
    forcing: :meth:`apply_teacher_forced` (whole traces) or :meth:`one_step` (windows), and on its
    own feedback with :meth:`apply_rollout` (``FitConfig(rollout=…)``).

    Args:
        spec: the teacher's spec (copied); it must have a ``"v"`` output.
        window: window length ``W`` (samples).
        convs: channels of the convolutions (ReLU, …, tanh on the last).
        kernels: their kernel sizes (paper: 1, 5, 1).
        lstm: LSTM size.
        lstm_repeats: how often the flattened features are fed to the LSTM (from a zero state,
            so with 1 the recurrent weights go unused).
        dense: dense widths (ReLU first, SELU after).
        v_rest: voltage that seeds the window at rest (mV).
        scaling, spike_prior: as for every :class:`Surrogate`.
    """

    window: int = eqx.field(static=True)
    convs: tuple[int, ...] = eqx.field(static=True)
    kernels: tuple[int, ...] = eqx.field(static=True)
    lstm: int = eqx.field(static=True)
    lstm_repeats: int = eqx.field(static=True)
    dense: tuple[int, ...] = eqx.field(static=True)
    v_rest: float = eqx.field(static=True)

    def __init__(
        self,
        spec: IOSpec,
        *,
        window: int = 32,
        convs: Sequence[int] = (32, 32, 16),
        kernels: int | Sequence[int] = (1, 5, 1),
        lstm: int = 64,
        lstm_repeats: int = 5,
        dense: Sequence[int] = (64, 64, 64),
        v_rest: float = -65.0,
        scaling: Scaling | None = None,
        spike_prior: float = 0.01,
    ):
        self._setup(spec, scaling, spike_prior)
        self._check_feedback()
        for name, n in [("window", window), ("lstm", lstm), ("lstm_repeats", lstm_repeats)]:
            if not (isinstance(n, int) and n >= 1):
                raise ValueError(f"{name} must be a positive int, got {n!r}")
        self.convs = as_layers("convs", tuple(convs), len(tuple(convs)))
        self.kernels = as_layers("kernels", kernels, len(self.convs))
        self.dense = as_layers("dense", tuple(dense), len(tuple(dense))) if dense else ()
        if not math.isfinite(v_rest):
            raise ValueError(f"v_rest must be finite, got {v_rest!r}")
        self.window, self.lstm, self.lstm_repeats = window, lstm, lstm_repeats
        self.v_rest = float(v_rest)
        self.graphdef = graphdef_of(self.network)

    @property
    def feedback(self) -> str:
        """The membrane voltage ``"v"`` (mV) is fed back."""
        return "v"

    def network(self, rngs: nnx.Rngs) -> nnx.Module:
        return _CNNLSTMNet(
            1 + self.spec.n_inputs,
            self.window,
            self.convs,
            self.kernels,
            self.lstm,
            self.lstm_repeats,
            self.dense,
            self.head_bias(),
            rngs=rngs,
        )

    # --- state -------------------------------------------------------------------------------
    def init_state(self, params=None) -> Float[Array, "W C"]:
        """Window buffer at rest: rows ``[v_rest, 0, …]``, ``[window, 1 + n_inputs]``."""
        buf = jnp.zeros((self.window, 1 + self.spec.n_inputs), float_dtype(params))
        return buf.at[:, 0].set(self.v_rest)

    def _buffer(self, state, params, dtype) -> Float[Array, "W C"]:
        buf = jnp.asarray(self.state_or_rest(state, params))  # rows [v, inputs]
        return buf.astype(dtype)

    # --- one step ----------------------------------------------------------------------------
    def _normalise_window(self, window: Float[Array, "... W C"]) -> Float[Array, "... W C"]:
        v = self.scaling.from_units(self.feedback, window[..., :1])
        return jnp.concatenate([v, self.scaling.normalise_inputs(window[..., 1:])], axis=-1)

    def _step_heads(self, net, window: Float[Array, "W C"]) -> Float[Array, " n_heads"]:
        heads = net(self._normalise_window(window))
        i = self.head_index(self.feedback)
        v_prev = self.scaling.from_units(self.feedback, window[-1, 0])
        return heads.at[i].add(v_prev)  # residual: v_k = v_{k-1} + scale·head

    def one_step(self, params, windows: Float[Array, "*batch W C"]) -> Outputs:
        """Teacher-forced prediction for windows of raw rows ``[v_{j−1}, x_j]``.

        ``windows[..., W, 1 + n_inputs]``: the last row holds the voltage before, and the input
        during, the sample whose end-voltage is predicted. Returns outputs of shape ``[*batch]``.
        """
        windows = jnp.asarray(windows)
        if windows.shape[-2:] != (self.window, 1 + self.spec.n_inputs):
            raise ValueError(
                f"windows must have shape [..., {self.window}, {1 + self.spec.n_inputs}], "
                f"got {windows.shape}"
            )
        dtype = float_dtype(windows, params)
        net = self.merge(params)
        batch = windows.shape[:-2]
        flat = windows.reshape(-1, *windows.shape[-2:]).astype(dtype)
        heads = jax.vmap(lambda w: self._step_heads(net, w))(flat)
        out = self.readout(heads)
        return {k: v.reshape(batch) for k, v in out.items()}

    def windows(
        self, inputs: Float[Array, "T n_inputs"], v: Float[Array, " T"], state=None
    ) -> tuple[Float[Array, "T W C"], Float[Array, "W C"]]:
        """Teacher-forcing windows from a true voltage trace ``v`` (mV, end of each sample).

        Returns ``(windows[T, W, C], state)``; window ``k`` predicts ``v[k]``, and ``state`` is the
        buffer after the trace (for :meth:`apply` to continue in closed loop).
        """
        x = self.check(inputs)
        v = jnp.asarray(v)
        if v.shape != (x.shape[0],):
            raise ValueError(f"v must have shape [T] = [{x.shape[0]}], got {v.shape}")
        v = eqx.error_if(v, ~jnp.isfinite(v).all(), "v contains NaN or inf")
        dtype = float_dtype(x, v)
        buf = self._buffer(state, None, dtype)
        rows = jnp.concatenate([buf, jnp.concatenate([v[:, None], x], axis=1).astype(dtype)])
        # row j of `rows` is [v_j, x_j] for j = −W … T−1; window k pairs v_{j−1} with x_j
        idx = jnp.arange(x.shape[0])[:, None] + jnp.arange(self.window)[None, :]
        wins = jnp.concatenate([rows[idx, :1], rows[idx + 1, 1:]], axis=-1)
        return wins, rows[-self.window :]

    def apply_teacher_forced(
        self, params, inputs: Float[Array, "T n_inputs"], v: Float[Array, " T"], state=None
    ) -> tuple[Outputs, Float[Array, "W C"]]:
        """One-step predictions along a true voltage trace (the training entry point)."""
        wins, buf = self.windows(inputs, v, state)
        return self.one_step(params, wins), buf

    def apply_rollout(
        self,
        params,
        inputs: Float[Array, "T n_inputs"],
        v: Float[Array, " T"],
        steps: int,
        state=None,
    ) -> tuple[Outputs, Float[Array, "W C"]]:
        """Teacher-forced over the first ``T − steps`` samples, then closed loop over the last
        ``steps`` (from the buffer of the true trace), for training on the model's own feedback.

        ``v`` is only read over the teacher-forced part. ``steps = 0`` equals
        :meth:`apply_teacher_forced`; ``steps = T`` equals :meth:`apply` from ``state``.
        """
        n = inputs.shape[0] - steps
        if not (isinstance(steps, int) and n >= 0):
            raise ValueError(f"steps must be an int in [0, {inputs.shape[0]}], got {steps!r}")
        if n == 0:
            return self.apply(params, inputs, state)
        forced, buf = self.apply_teacher_forced(params, inputs[:n], jnp.asarray(v)[:n], state)
        if steps == 0:
            return forced, buf
        closed, buf = self.apply(params, inputs[n:], buf)
        return {k: jnp.concatenate([forced[k], closed[k]]) for k in forced}, buf

    # --- closed loop -------------------------------------------------------------------------
    def apply(
        self, params, inputs: Float[Array, "T n_inputs"], state=None
    ) -> tuple[Outputs, Float[Array, "W C"]]:
        """Closed-loop simulation: each predicted ``v`` enters the window of the next step."""
        x = self.check(inputs, params)
        dtype = float_dtype(x, params)
        buf0 = self._buffer(state, params, dtype)
        net = self.merge(params)
        i_v = self.head_index(self.feedback)

        def step(buf, row):
            window = jnp.concatenate(
                [buf[:, :1], jnp.concatenate([buf[1:, 1:], row[None]])], axis=1
            )
            heads = self._step_heads(net, window)
            v = self.scaling.to_units(self.feedback, heads[i_v])
            buf = jnp.concatenate([buf[1:], jnp.concatenate([v[None], row])[None]])
            return buf, heads

        buf, heads = jax.lax.scan(step, buf0, x.astype(dtype))
        return self.readout(heads), buf
