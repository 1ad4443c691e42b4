"""Expressive Leaky Memory neuron surrogate (Spieler et al. 2024)."""

from __future__ import annotations

import math

import equinox as eqx
import jax
import jax.numpy as jnp
from flax import nnx
from jaxtyping import Array, Float

from .._simulator import IOSpec, Outputs, check_inputs, guard_finite
from ._base import Scaling, Surrogate, float_dtype, get_activation, graphdef_of

_TANH_GAIN, _TANH_SLOPE = 1.7159, 2.0 / 3.0  # LeCun's scaled tanh, as in the ELM code


def _logit_in(x, lo, hi):
    """Inverse of ``lo + (hi − lo)·sigmoid``, kept a little inside the bounds."""
    eps = 1e-3 * (hi - lo)
    x = jnp.clip(x, lo + eps, hi - eps)
    return jnp.log((x - lo) / (hi - x))


class _ELMNet(nnx.Module):
    def __init__(
        self, n_in, n_memory, hidden, act, tau_bounds, learn_tau, w_init, head_bias, *, rngs
    ):
        lo, hi = tau_bounds
        self.w_syn = nnx.Param(jnp.full((n_in,), w_init, jnp.float32))
        if learn_tau:
            tau0 = jnp.logspace(math.log10(lo), math.log10(hi), n_memory)
            self.tau_raw = nnx.Param(_logit_in(tau0, lo, hi))
        self.mlp_in = nnx.Linear(n_in + n_memory, hidden, rngs=rngs)
        self.mlp_out = nnx.Linear(hidden, n_memory, rngs=rngs)
        self.readout = nnx.Linear(n_memory, head_bias.shape[0], rngs=rngs)
        self.readout.bias[...] = head_bias
        self.act = act
        self.learn_tau = learn_tau
        self.tau_bounds = tau_bounds
        self.n_memory = n_memory

    def tau_m(self) -> Float[Array, " n_memory"]:
        lo, hi = self.tau_bounds
        if self.learn_tau:
            return lo + (hi - lo) * jax.nn.sigmoid(self.tau_raw[...])
        return jnp.logspace(math.log10(lo), math.log10(hi), self.n_memory)


class ELM(Surrogate):
    """Expressive Leaky Memory neuron: synaptic traces, leaky memory units and an MLP update.

    Per sample (Spieler, Rahaman, Martius, Schölkopf & Levina 2024, ICLR, arXiv:2306.16922, eqs 1–4;
    ``dendritic_neuron.md`` §4), with ``x_t`` the normalised input row::

        s_t  = κ_s s_{t−1} + relu(w_s) ⊙ x_t                       κ_s = exp(−Δt/τ_s)
        Δm_t = 1.7159 tanh((2/3) MLP([s_t, κ_m ⊙ m_{t−1}]))        one hidden layer
        m_t  = κ_m ⊙ m_{t−1} + λ (1 − κ_m) ⊙ Δm_t                   κ_m = exp(−Δt/τ_m)
        y_t  = W_y m_t + b                                          spike logit, voltage, …

    ``τ_m`` is log-spaced over ``tau_m`` (frozen, as in the released models) or, with
    ``learn_tau_m``, a sigmoid-bounded parameter in that interval. ``Δt`` is ``spec.dt``. This is the
    vanilla ELM: every input channel has its own synapse (no branch routing). Keep λ ≈ 5.

    Streaming: the state is ``{"s": [n_inputs], "m": [n_memory]}``. At rest it is zero, or, with
    ``rest_ms > 0``, the state the ELM reaches under its teacher's rest input (no input at all):
    the traces at their fixed point for ``x = 0`` and the memory after ``rest_ms`` of it. Zero
    traces are not rest: the inputs are normalised, so they stand for a history of mean input.

    Args:
        spec: the teacher's spec (copied).
        n_memory: memory units ``d_m``.
        mlp_hidden: MLP width (default ``2·n_memory``).
        activation: MLP nonlinearity (the best released model uses ``"silu"``; the paper ReLU).
        tau_s: synaptic trace time constant (ms).
        tau_m: ``(min, max)`` memory time constants (ms).
        learn_tau_m: train ``τ_m`` within ``tau_m``.
        lam: memory update gain λ.
        w_syn_init: initial synaptic weight (before the ReLU).
        rest_ms: how long (ms) the rest state runs on zero input (0: the zero state; it costs
            ``rest_ms / dt`` unbatched steps per call that starts from rest).
        scaling, spike_prior: as for every :class:`Surrogate`.
    """

    n_memory: int = eqx.field(static=True)
    mlp_hidden: int = eqx.field(static=True)
    activation: str = eqx.field(static=True)
    tau_s: float = eqx.field(static=True)
    tau_m: tuple[float, float] = eqx.field(static=True)
    learn_tau_m: bool = eqx.field(static=True)
    lam: float = eqx.field(static=True)
    w_syn_init: float = eqx.field(static=True)
    rest_ms: float = eqx.field(static=True)

    def __init__(
        self,
        spec: IOSpec,
        *,
        n_memory: int = 20,
        mlp_hidden: int | None = None,
        activation: str = "silu",
        tau_s: float = 5.0,
        tau_m: tuple[float, float] = (1.0, 150.0),
        learn_tau_m: bool = False,
        lam: float = 5.0,
        w_syn_init: float = 0.5,
        rest_ms: float = 0.0,
        scaling: Scaling | None = None,
        spike_prior: float = 0.01,
    ):
        self._setup(spec, scaling, spike_prior)
        if not (isinstance(n_memory, int) and n_memory >= 1):
            raise ValueError(f"n_memory must be a positive int, got {n_memory!r}")
        mlp_hidden = 2 * n_memory if mlp_hidden is None else mlp_hidden
        if not (isinstance(mlp_hidden, int) and mlp_hidden >= 1):
            raise ValueError(f"mlp_hidden must be a positive int, got {mlp_hidden!r}")
        lo, hi = (float(t) for t in tau_m)
        if not (0 < lo < hi and math.isfinite(hi)):
            raise ValueError(f"tau_m must be (min, max) ms with 0 < min < max, got {tau_m!r}")
        if not (tau_s > 0 and math.isfinite(tau_s)):
            raise ValueError(f"tau_s must be a positive number of ms, got {tau_s!r}")
        if not (lam > 0 and math.isfinite(lam)):
            raise ValueError(f"lam must be positive, got {lam!r}")
        if not (rest_ms >= 0 and math.isfinite(rest_ms)):
            raise ValueError(f"rest_ms must be a non-negative number of ms, got {rest_ms!r}")
        get_activation(activation)
        self.n_memory, self.mlp_hidden, self.activation = n_memory, mlp_hidden, activation
        self.tau_s, self.tau_m, self.learn_tau_m = float(tau_s), (lo, hi), bool(learn_tau_m)
        self.lam, self.w_syn_init, self.rest_ms = float(lam), float(w_syn_init), float(rest_ms)
        self.graphdef = graphdef_of(self.network)

    def network(self, rngs: nnx.Rngs) -> nnx.Module:
        return _ELMNet(
            self.spec.n_inputs,
            self.n_memory,
            self.mlp_hidden,
            get_activation(self.activation),
            self.tau_m,
            self.learn_tau_m,
            self.w_syn_init,
            self.head_bias(),
            rngs=rngs,
        )

    def init_state(self, params=None) -> dict[str, Array]:
        """Rest: zero synaptic traces ``"s"`` and memory ``"m"``, or with ``rest_ms`` (and
        ``params``) the state reached under zero input (see the class docstring)."""
        dtype = float_dtype(params)
        zero = {
            "s": jnp.zeros((self.spec.n_inputs,), dtype),
            "m": jnp.zeros((self.n_memory,), dtype),
        }
        if not self.rest_ms or params is None:
            return zero
        _, _, offset = self._synapses(params, dtype)
        k_s = math.exp(-self.spec.dt / self.tau_s)
        traces = {"s": -offset / (1.0 - k_s), "m": zero["m"]}  # s = κ s − offset, solved
        n = max(1, round(self.rest_ms / self.spec.dt))
        return self._run(params, jnp.zeros((n, self.spec.n_inputs), dtype), traces)[1]

    def _synapses(self, params, dtype):
        """The network, and the gain and offset that turn raw inputs into trace increments."""
        net = self.merge(params)
        w_s = jax.nn.relu(net.w_syn[...]).astype(dtype)
        gain = w_s / jnp.asarray(self.scaling.input_std, dtype)  # w_s ⊙ (x − μ)/σ = gain·x − offset
        return net, gain, gain * jnp.asarray(self.scaling.input_mean, dtype)

    def apply(
        self, params, inputs: Float[Array, "T n_inputs"], state=None
    ) -> tuple[Outputs, dict[str, Array]]:
        x = check_inputs(self.spec, inputs)  # shapes; values are checked on the projection below
        state = self.state_or_rest(state, params)  # {"s": [n_inputs], "m": [n_memory]}
        return self._run(params, x, state)

    def _run(self, params, x, state) -> tuple[Outputs, dict[str, Array]]:
        dtype = float_dtype(x, params)
        net, gain, offset = self._synapses(params, dtype)
        dt = self.spec.dt
        k_s = math.exp(-dt / self.tau_s)
        k_m = jnp.exp(-dt / net.tau_m()).astype(dtype)
        # The traces are linear in x and share one κ_s, so the MLP's synaptic half W_s·s_t obeys
        # the same recurrence as s_t: project the whole input once (one large matmul), then
        # carry the projection p_t = W_s·s_t (hidden-sized) instead of s_t (n_inputs-sized).
        kernel = net.mlp_in.kernel[...].astype(dtype)
        k_syn, k_mem = kernel[: self.spec.n_inputs], kernel[self.spec.n_inputs :]
        bias = net.mlp_in.bias[...].astype(dtype)
        drive = x @ (gain[:, None] * k_syn) - offset @ k_syn  # [T, hidden]
        # NaN/inf anywhere in x reach the projection (NaN·0 and inf·0 are NaN): checking it
        # instead of x saves a pass over the largest array
        drive = guard_finite(drive, params)

        def step(carry, u):
            p, m = carry
            p = k_s * p + u
            m_decayed = k_m * m
            h = net.act(p + m_decayed @ k_mem + bias)
            delta = _TANH_GAIN * jnp.tanh(_TANH_SLOPE * net.mlp_out(h))
            m = m_decayed + self.lam * (1.0 - k_m) * delta
            return (p, m), m

        s0, m0 = state["s"].astype(dtype), state["m"].astype(dtype)
        (_, m), memory = jax.lax.scan(step, (s0 @ k_syn, m0), drive)
        # the final traces, for streaming: s_T = κ^T s_0 + Σ_t κ^(T−1−t) (gain·x_t − offset),
        # summed over the last 40 τ_s only (older terms are below e^−40 ≈ 4e−18 relative)
        n = x.shape[0]
        tail = min(n, math.ceil(40 * self.tau_s / dt))
        decay = k_s ** jnp.arange(tail - 1, -1, -1, dtype=dtype)
        s = k_s**n * s0 + (decay @ x[n - tail :]) * gain - (1 - k_s**n) / (1 - k_s) * offset
        return self.readout(net.readout(memory)), {"s": s, "m": m}
