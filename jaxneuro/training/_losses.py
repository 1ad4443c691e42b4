"""Training losses, per output channel by kind, in network units."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import equinox as eqx
import jax.numpy as jnp
import optax

from .._simulator import EVENTS, RATE, TRACE, Channel, Outputs
from ..surrogates import logits_name


class LossMix(eqx.Module):
    """A weighted sum of one term per output channel, chosen by the channel's kind.

    - events: ``spike_bce · BCE(logits, events > 0)`` (the logits are ``logits_name(channel)``);
    - trace: ``v_mse · MSE(error / scale)``, with the clip and Huber options below applying to
      traces in mV;
    - rate: ``rate_mse · MSE(error / scale)``.

    Errors are measured in each channel's output scale (e.g. 10 mV, or a rate's spread), so the
    terms are of comparable size; wide channels average over their columns.

    ``v_clip_mv`` clips the target at a threshold before the MSE, as
    Beniaguev et al. (2021) clip spikes at −55 mV so that the voltage head learns the subthreshold
    trace and the spike head the spikes. The prediction is not clipped: its best value is then the
    mean clipped voltage, never above the clip, and it is pulled there from anywhere.

    ``clip_prediction=True`` clips the prediction too (the loss equals the clipped-RMSE metric), but
    a prediction above the clip then gets no gradient where the target lies below it: a voltage
    head that starts above the clip never learns (an ELM on HH stayed at 12.7 mV clipped RMSE),
    and one that drifts there at a false spike stays. It is kept to reproduce fits made with it.

    ``v_huber_mv`` counts voltage errors beyond that many mV linearly (Huber) instead of squared:
    a spike a sample early or late is tens of mV off at two samples and would otherwise dominate
    the gradient of a closed-loop surrogate; within it the term is the MSE.

    Attributes:
        spike_bce: weight of the binary cross-entropy on each events channel.
        v_mse: weight of the mean squared error of each trace channel.
        v_clip_mv: optional clip (mV) of the target voltage before the MSE.
        clip_prediction: clip the predicted voltage at ``v_clip_mv`` too.
        v_huber_mv: optional error (mV) beyond which the voltage term grows linearly.
        rate_mse: weight of the mean squared error of each rate channel.
    """

    spike_bce: float = eqx.field(static=True, default=1.0)
    v_mse: float = eqx.field(static=True, default=1.0)
    v_clip_mv: float | None = eqx.field(static=True, default=None)
    clip_prediction: bool = eqx.field(static=True, default=False)
    v_huber_mv: float | None = eqx.field(static=True, default=None)
    rate_mse: float = eqx.field(static=True, default=1.0)

    def __check_init__(self):
        weights = (self.spike_bce, self.v_mse, self.rate_mse)
        if min(weights) < 0 or sum(weights) == 0:
            raise ValueError(f"loss weights must be >= 0 and not all 0, got {self}")
        if self.v_huber_mv is not None and not self.v_huber_mv > 0:
            raise ValueError(f"v_huber_mv must be > 0, got {self.v_huber_mv}")

    def weight(self, kind: str) -> float:
        """The weight of a channel of ``kind``."""
        return {EVENTS: self.spike_bce, TRACE: self.v_mse, RATE: self.rate_mse}[kind]

    def describe(self) -> dict:
        """The settings that change the loss (for fit fingerprints and model cards)."""
        out = {k: getattr(self, k) for k in ("spike_bce", "v_mse", "v_clip_mv")}
        if self.clip_prediction:  # each omitted at its default, so fingerprints of fits from
            out["clip_prediction"] = True  # before the option still match
        if self.v_huber_mv is not None:
            out["v_huber_mv"] = self.v_huber_mv
        if self.rate_mse != 1.0:
            out["rate_mse"] = self.rate_mse
        return out

    def __call__(
        self,
        pred: Outputs,
        target: Outputs,
        channels: Sequence[Channel],
        scales: Mapping[str, float] | None = None,
    ) -> jnp.ndarray:
        """The loss of ``pred`` against ``target`` over ``channels`` (those present in both).

        ``scales`` gives each regressed channel's output scale (default 1); a surrogate's are
        ``dict(zip(scaling.outputs, scaling.output_scale))``.
        """
        scales = dict(scales or {})
        loss = jnp.zeros(())
        for c in channels:
            w = self.weight(c.kind)
            if not w or c.name not in target:
                continue
            if c.kind == EVENTS:
                logits = pred.get(logits_name(c.name))
                if logits is None:
                    continue
                labels = (target[c.name] > 0).astype(logits.dtype)
                loss = loss + w * optax.sigmoid_binary_cross_entropy(logits, labels).mean()
            elif c.name in pred:
                loss = loss + w * self._regression(c, pred[c.name], target[c.name], scales)
        return loss

    def _regression(self, c: Channel, y_pred, y_true, scales) -> jnp.ndarray:
        scale = scales.get(c.name, 1.0)
        voltage = c.kind == TRACE and c.unit == "mV"
        if voltage and self.v_clip_mv is not None:
            y_true = jnp.minimum(y_true, self.v_clip_mv)
            if self.clip_prediction:
                y_pred = jnp.minimum(y_pred, self.v_clip_mv)
        error = (y_pred - y_true) / scale
        if voltage and self.v_huber_mv is not None:
            # optax's Huber is x²/2 inside delta: doubled, it equals the MSE there
            return jnp.mean(2 * optax.huber_loss(error, delta=self.v_huber_mv / scale))
        return jnp.mean(error**2)
