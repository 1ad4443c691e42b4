"""The circuit's parameter → statistics surrogate and its uses (``cortical_circuit.md`` §5.2–5.3).

A :class:`jaxneuro.surrogates.MLP` (4 × 256 SiLU; log-scaled standardised inputs; outputs
``log(r + 0.1 Hz)``, CV, χ) fitted by variance-weighted MSE, a separate regime classifier (the
same MLP with three logits), gains and curvatures by autodiff, and parameter search by Adam on
sigmoid-reparametrised inputs (Zhang & Young 2020, *Sci. Rep.* 10:20139).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jaxtyping import Array, Float

from .._simulator import Channel
from ..surrogates import CIRCUIT_FEATURES, CIRCUIT_STATISTICS, MLP
from ._dataset import REGIMES, box_arrays

REGIME_LOGITS = tuple(Channel(f"logit_{r}", "1", description=f"{r} logit") for r in REGIMES)


class Fitted(NamedTuple):
    """A fitted MLP, its weights, and the training record."""

    mlp: MLP
    params: Any
    history: dict


def split(n: int, seed: int = 0, test: float = 0.15, val: float = 0.1):
    """Index arrays ``(train, val, test)``: a seeded permutation (test held out, never tuned on)."""
    perm = np.random.default_rng(seed).permutation(n)
    n_test, n_val = int(round(test * n)), int(round(val * n))
    return perm[n_test + n_val :], perm[n_test : n_test + n_val], perm[:n_test]


def _targets(mlp: MLP, mean, std, n_seeds: int):
    """Standardised targets, weights ``1/(σ² + floor²)`` (σ: seed-mean noise) and NaN masks."""
    mean = np.asarray(mean, np.float64)
    ok = np.isfinite(mean)
    y = np.where(ok, mean, 0.0)
    z = np.asarray(mlp.transform_statistics(jnp.asarray(y)), np.float64)
    # propagate the seed spread through the log (delta method) and the standardisation
    sem = np.where(np.isfinite(std), std, 0.0) / np.sqrt(max(n_seeds, 1))
    deriv = np.where(np.asarray(mlp.log_statistics), 1.0 / (y + mlp.log_floor), 1.0)
    sz = sem * deriv / np.asarray(mlp.statistic_std)
    w = ok / (sz**2 + 0.05**2)
    w = w / w[ok].mean()
    return z, w


def fit_statistics(
    x_train,
    y_mean,
    y_std,
    x_val,
    yv_mean,
    yv_std,
    *,
    n_seeds: int = 2,
    seed: int = 0,
    steps: int = 6000,
    batch: int = 256,
    lr: float = 1e-3,
    hidden=(256, 256, 256, 256),
    members: int = 1,
) -> Fitted:
    """Fit the statistics MLP (weighted MSE; Adam, cosine decay; best validation weights kept).

    ``members > 1`` trains an ensemble (independent initialisations, stacked weights); its
    prediction is the members' mean in the standardised (log-rate) coordinates."""
    mlp = MLP(CIRCUIT_FEATURES, CIRCUIT_STATISTICS, hidden=hidden).with_data_scaling(
        x_train, np.where(np.isfinite(y_mean), y_mean, np.nanmean(y_mean, 0))
    )
    z, w = _targets(mlp, y_mean, y_std, n_seeds)
    zv, wv = _targets(mlp, yv_mean, yv_std, n_seeds)

    def loss_fn(p, x, z, w):
        pred = jax.vmap(mlp.apply_transformed, (None, 0))(p, x)
        return jnp.mean(w * (pred - z) ** 2)

    return _train(mlp, loss_fn, (x_train, z, w), (x_val, zv, wv), seed, steps, batch, lr, members)


def fit_regimes(
    x_train,
    labels,
    x_val,
    labels_val,
    *,
    seed: int = 1,
    steps: int = 4000,
    batch: int = 256,
    members: int = 1,
) -> Fitted:
    """Fit the regime classifier (cross-entropy on :data:`REGIMES` labels)."""
    mlp = MLP(
        CIRCUIT_FEATURES, REGIME_LOGITS, hidden=(128, 128, 128), log_statistics=(False,) * 3
    ).with_data_scaling(x_train, np.zeros((len(x_train), 3)))

    def loss_fn(p, x, lab, _):
        logits = jax.vmap(mlp.apply_transformed, (None, 0))(p, x)
        return optax.softmax_cross_entropy_with_integer_labels(logits, lab).mean()

    dummy = np.zeros(len(x_train)), np.zeros(len(x_val))
    return _train(
        mlp,
        loss_fn,
        (x_train, np.asarray(labels), dummy[0]),
        (x_val, np.asarray(labels_val), dummy[1]),
        seed,
        steps,
        batch,
        1e-3,
        members,
    )


def _train(mlp, loss_fn, train, val, seed, steps, batch, lr, members=1) -> Fitted:
    if members > 1:
        params = jax.vmap(mlp.init)(jax.random.split(jax.random.key(seed), members))
        member_loss = loss_fn

        def loss_fn(P, *b):
            return jax.vmap(lambda p: member_loss(p, *b))(P).sum()
    else:
        params = mlp.init(jax.random.key(seed))
    opt = optax.adamw(optax.cosine_decay_schedule(lr, steps), weight_decay=1e-5)
    state = opt.init(params)
    train = tuple(jnp.asarray(a) for a in train)
    val = tuple(jnp.asarray(a) for a in val)
    n = len(train[0])

    @jax.jit
    def step(params, state, key):
        idx = jax.random.choice(key, n, (min(batch, n),), replace=False)
        loss, g = jax.value_and_grad(loss_fn)(params, *(a[idx] for a in train))
        upd, state = opt.update(g, state, params)
        return optax.apply_updates(params, upd), state, loss

    val_loss = jax.jit(lambda p: loss_fn(p, *val))
    best, best_params, hist = np.inf, params, {"step": [], "train": [], "val": []}
    key = jax.random.key(seed + 1000)
    for i in range(steps):
        params, state, loss = step(params, state, jax.random.fold_in(key, i))
        if (i + 1) % 200 == 0 or i == steps - 1:
            v = float(val_loss(params))
            hist["step"].append(i + 1)
            hist["train"].append(float(loss))
            hist["val"].append(v)
            if v < best:
                best, best_params = v, params
    hist["best_val"] = best / members
    hist["members"] = members
    return Fitted(mlp, best_params, hist)


def transformed(fit: Fitted, x: Float[Array, " 6"]) -> Float[Array, " n_out"]:
    """Standardised outputs at one physical parameter vector (ensemble mean)."""
    if fit.history.get("members", 1) > 1:
        return jax.vmap(lambda w: fit.mlp.apply_transformed(w, x))(fit.params).mean(0)
    return fit.mlp.apply_transformed(fit.params, x)


def outputs(fit: Fitted, x: Float[Array, " 6"]) -> Float[Array, " n_out"]:
    """Physical outputs (statistics, or logits) at one parameter vector."""
    return fit.mlp.untransform_statistics(transformed(fit, x))


def predict(fit: Fitted, x) -> np.ndarray:
    """Statistics ``[M, 5]`` (or logits ``[M, 3]``) at physical parameters ``x [M, 6]``."""
    f = jax.jit(jax.vmap(lambda p: outputs(fit, p)))
    return np.asarray(f(jnp.asarray(x, jnp.float32)))


def gains(fit: Fitted, x) -> tuple[np.ndarray, np.ndarray]:
    """``∂(r_E, r_I)/∂(η_E, η_I)`` ``[M, 2, 2]`` (Hz/kHz) and the second derivatives
    ``∂²(r_E, r_I)/∂η_Q²`` ``[M, 2, 2]`` (Hz/kHz², diagonal of the Hessian), by autodiff."""

    def rates(p):
        return outputs(fit, p)[:2]

    def one(p):
        J = jax.jacfwd(rates)(p)[:, 4:6]
        H = jax.hessian(rates)(p)
        return J, jnp.stack([jnp.diagonal(H[q])[4:6] for q in range(2)])

    J, H = jax.jit(jax.vmap(one))(jnp.asarray(x, jnp.float32))
    return np.asarray(J), np.asarray(H)


def search_couplings(
    fit: Fitted,
    target: Float[Array, " 2"],
    drives: Float[Array, " 2"],
    *,
    restarts: int = 32,
    steps: int = 400,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Couplings ``(S_EE, S_IE, S_EI, S_II)`` whose surrogate rates hit ``target`` (Hz) at fixed
    ``drives`` (kHz): Adam on ``z`` with ``log S = lo + (hi − lo)·sigmoid(z)`` (box constraint),
    ``restarts`` random starts. Returns parameters ``[restarts, 6]`` and losses, best first."""
    lo, hi = (np.log(a[:4]) for a in box_arrays())
    lo, hi = jnp.asarray(lo, jnp.float32), jnp.asarray(hi, jnp.float32)
    tz = jnp.log(jnp.asarray(target, jnp.float32) + 0.1)
    d = jnp.asarray(drives, jnp.float32)

    def to_params(z):
        return jnp.concatenate([jnp.exp(lo + (hi - lo) * jax.nn.sigmoid(z)), d])

    def loss(z):
        y = outputs(fit, to_params(z))
        return jnp.sum((jnp.log(y[:2] + 0.1) - tz) ** 2)

    opt = optax.adam(0.05)

    def run(z0):
        def body(c, _):
            z, s = c
            g = jax.grad(loss)(z)
            u, s = opt.update(g, s)
            return (optax.apply_updates(z, u), s), None

        (z, _), _ = jax.lax.scan(body, (z0, opt.init(z0)), None, length=steps)
        return to_params(z), loss(z)

    z0 = jax.random.normal(jax.random.key(seed), (restarts, 4)) * 1.5
    P, L = jax.jit(jax.vmap(run))(z0)
    order = np.argsort(np.asarray(L))
    return np.asarray(P)[order], np.asarray(L)[order]
