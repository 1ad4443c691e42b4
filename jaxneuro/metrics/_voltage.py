"""Trace fidelity: RMSE, MAE, explained variance, R², Pearson r (voltages in mV, or any trace).

Conventions shared by every function here:

- ``v_pred`` and ``v_true`` have the same shape; ``axis=None`` pools every sample (the
  Beniaguev et al. 2021 / Spieler et al. 2024 convention for a test set), an int or tuple
  gives one value per remaining index (e.g. ``axis=-1`` on ``[cells, T]`` gives one per cell).
- ``clip_mv``: clip *both* traces from above at this value before anything else, removing
  action potentials. Beniaguev et al. clip the somatic trace at −55 mV (``clip_mv=-55.0``); they
  clip only the ground truth, but their network is trained on the clipped target, so clipping
  the prediction too changes nothing for it and keeps analytical-vs-analytical comparisons fair.
- ``match_moments``: after clipping, z-score the prediction onto the ground truth's mean and SD
  over ``axis`` (``(p - mean(p)) / sd(p) * sd(t) + mean(t)``), as Beniaguev's
  ``evaluate_CNN_test.py`` does and ELM keeps "for comparability". Report it alongside the raw
  value, never instead of it. A constant prediction cannot be matched: the result is ``nan``.
- NumPy (or list) input is computed in float64 and returns a Python ``float`` (an ndarray when
  ``axis`` is given); input must be finite, or ``ValueError``. If either input is a JAX array
  the computation is ``jax.numpy`` in the input precision, returns a JAX array, and works under
  ``jit``, ``vmap`` and ``grad`` (usable as a loss; no finiteness check there).
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from ._checks import is_jax, number, real_array, same_shape


def _prepare(v_pred, v_true, clip_mv, match_moments, axis):
    if is_jax(v_pred, v_true):
        xp = jnp
        p, t = jnp.asarray(v_pred), jnp.asarray(v_true)
        dtype = jnp.result_type(p, t, float)
        p, t = p.astype(dtype), t.astype(dtype)
        same_shape("v_pred", p, "v_true", t)
        if p.size == 0:
            raise ValueError("v_pred is empty; need at least one sample")
    else:
        xp = np
        p, t = real_array("v_pred", v_pred), real_array("v_true", v_true)
        same_shape("v_pred", p, "v_true", t)
    if clip_mv is not None:
        c = number("clip_mv", clip_mv)
        p, t = xp.minimum(p, c), xp.minimum(t, c)
    if match_moments:
        mp, sp = xp.mean(p, axis=axis, keepdims=True), xp.std(p, axis=axis, keepdims=True)
        mt, st = xp.mean(t, axis=axis, keepdims=True), xp.std(t, axis=axis, keepdims=True)
        ok = sp > 0
        p = xp.where(ok, (p - mp) / xp.where(ok, sp, 1.0) * st + mt, xp.nan)
    return xp, p, t


def _ratio_or_nan(xp, num, den):
    """num / den where den > 0, else nan (gradient-safe double ``where``)."""
    ok = den > 0
    return xp.where(ok, num / xp.where(ok, den, 1.0), xp.nan)


def _out(xp, x):
    if xp is np:
        x = np.asarray(x, dtype=np.float64)
        return float(x) if x.ndim == 0 else x
    return x


def rmse(v_pred, v_true, *, clip_mv=None, match_moments=False, axis=None):
    """Root-mean-square error ``sqrt(mean((v_pred - v_true)**2))``, in the traces' units (mV).

    Beniaguev et al. 2021 (Neuron 109:2727) and Spieler et al. 2024 (ELM, ICLR) report it on
    the soma trace with ``clip_mv=-55.0`` and ``match_moments=True``, pooled over the test set
    (e.g. 0.564 mV for the best ELM). See the module docstring for the shared conventions.
    """
    xp, p, t = _prepare(v_pred, v_true, clip_mv, match_moments, axis)
    return _out(xp, xp.sqrt(xp.mean((p - t) ** 2, axis=axis)))


def mae(v_pred, v_true, *, clip_mv=None, match_moments=False, axis=None):
    """Mean absolute error ``mean(|v_pred - v_true|)`` in the traces' units (mV).

    Reported next to RMSE by Beniaguev et al. 2021 (``soma_MAE``). Conventions: module
    docstring.
    """
    xp, p, t = _prepare(v_pred, v_true, clip_mv, match_moments, axis)
    return _out(xp, xp.mean(xp.abs(p - t), axis=axis))


def explained_variance(v_pred, v_true, *, clip_mv=None, match_moments=False, axis=None):
    """Explained variance ``1 - Var(v_true - v_pred) / Var(v_true)`` (a fraction, not %).

    sklearn's ``explained_variance_score`` with population variances, as used by Beniaguev et al.
    2021 and ELM ("EV 96.6 %"). It ignores a constant offset of the residual; use
    :func:`coefficient_of_determination` for Oláh et al.'s "variance explained". ``nan`` where
    ``Var(v_true) == 0``. Conventions: module docstring.
    """
    xp, p, t = _prepare(v_pred, v_true, clip_mv, match_moments, axis)
    num, den = xp.var(t - p, axis=axis), xp.var(t, axis=axis)
    return _out(xp, 1.0 - _ratio_or_nan(xp, num, den))


def coefficient_of_determination(v_pred, v_true, *, clip_mv=None, match_moments=False, axis=None):
    """R² ``1 - mean((v_true - v_pred)**2) / Var(v_true)`` (a fraction; can be negative).

    Oláh, Pedersen & Rowan 2022 (eLife 11:e79535, ``predict.py``: ``1 - mse/var``) call this
    "variance explained" (e.g. 78.9 % for the closed-loop CNN-LSTM point neuron). Unlike
    :func:`explained_variance` it penalises an offset. ``nan`` where ``Var(v_true) == 0``.
    Conventions: module docstring.
    """
    xp, p, t = _prepare(v_pred, v_true, clip_mv, match_moments, axis)
    num, den = xp.mean((t - p) ** 2, axis=axis), xp.var(t, axis=axis)
    return _out(xp, 1.0 - _ratio_or_nan(xp, num, den))


def pearson_r(v_pred, v_true, *, clip_mv=None, axis=None):
    """Pearson correlation coefficient between the traces (dimensionless, in [-1, 1]).

    Oláh et al. 2022 report it for closed-loop traces (r = 0.77 point neuron, subthreshold
    r = 0.83 L5 PC). Invariant to affine rescaling, so it has no ``match_moments``. ``nan`` where
    either trace is constant over ``axis``. Conventions: module docstring.
    """
    xp, p, t = _prepare(v_pred, v_true, clip_mv, False, axis)
    dp = p - xp.mean(p, axis=axis, keepdims=True)
    dt = t - xp.mean(t, axis=axis, keepdims=True)
    cov = xp.mean(dp * dt, axis=axis)
    den = xp.sqrt(xp.mean(dp**2, axis=axis) * xp.mean(dt**2, axis=axis))
    return _out(xp, xp.clip(_ratio_or_nan(xp, cov, den), -1.0, 1.0))
