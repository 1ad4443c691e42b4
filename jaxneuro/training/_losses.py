"""Training losses: a configurable mix of spike BCE and voltage MSE, in network units."""

from __future__ import annotations

import equinox as eqx
import jax.numpy as jnp
import optax

from .._simulator import Outputs


class LossMix(eqx.Module):
    """``spike_bce · BCE(spike_logits, spikes > 0) + v_mse · MSE(v / v_scale)``.

    The voltage error is measured in the surrogate's output scale (e.g. 10 mV), so the two terms
    are of comparable size. ``v_clip_mv`` clips the target at a threshold before the MSE, as
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
        spike_bce: weight of the binary cross-entropy on spikes.
        v_mse: weight of the voltage mean squared error.
        v_clip_mv: optional clip (mV) of the target voltage before the MSE.
        clip_prediction: clip the predicted voltage at ``v_clip_mv`` too.
        v_huber_mv: optional error (mV) beyond which the voltage term grows linearly.
    """

    spike_bce: float = eqx.field(static=True, default=1.0)
    v_mse: float = eqx.field(static=True, default=1.0)
    v_clip_mv: float | None = eqx.field(static=True, default=None)
    clip_prediction: bool = eqx.field(static=True, default=False)
    v_huber_mv: float | None = eqx.field(static=True, default=None)

    def __check_init__(self):
        if self.spike_bce < 0 or self.v_mse < 0 or self.spike_bce + self.v_mse == 0:
            raise ValueError(f"loss weights must be >= 0 and not both 0, got {self}")
        if self.v_huber_mv is not None and not self.v_huber_mv > 0:
            raise ValueError(f"v_huber_mv must be > 0, got {self.v_huber_mv}")

    def __call__(self, pred: Outputs, target: Outputs, v_scale: float = 10.0) -> jnp.ndarray:
        loss = jnp.zeros(())
        if self.spike_bce and "spike_logits" in pred and "spikes" in target:
            labels = (target["spikes"] > 0).astype(pred["spike_logits"].dtype)
            bce = optax.sigmoid_binary_cross_entropy(pred["spike_logits"], labels)
            loss = loss + self.spike_bce * bce.mean()
        if self.v_mse and "v" in pred and "v" in target:
            v_pred, v_true = pred["v"], target["v"]
            if self.v_clip_mv is not None:
                v_true = jnp.minimum(v_true, self.v_clip_mv)
                if self.clip_prediction:
                    v_pred = jnp.minimum(v_pred, self.v_clip_mv)
            error = (v_pred - v_true) / v_scale
            if self.v_huber_mv is None:
                squared = error**2
            else:  # optax's Huber is x²/2 inside delta: doubled, it equals the MSE there
                squared = 2 * optax.huber_loss(error, delta=self.v_huber_mv / v_scale)
            loss = loss + self.v_mse * jnp.mean(squared)
        return loss
