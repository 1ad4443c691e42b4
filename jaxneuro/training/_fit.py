"""Fitting a surrogate to a teacher's dataset with optax: windows, early stopping, resumable."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
from pathlib import Path
from typing import Any, NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
from tqdm.auto import tqdm

from .._io import atomic_write
from ..data import Dataset, open_dataset
from ..surrogates import Autoregressive, Scaling, Surrogate
from ._checkpoint import CheckpointError, load_tree, save_tree
from ._losses import LossMix


class FitConfig(eqx.Module):
    """Everything that determines a fit (and must match when it resumes).

    Attributes:
        steps: maximum optimiser steps.
        batch_size: windows per step.
        window: samples per window that enter the loss.
        burn_in: samples before each window that warm up the surrogate's memory (not in the loss);
            ``None`` uses the surrogate's receptive field / window where it has one, else 0.
        learning_rate: peak learning rate of a warm-up + cosine-decay schedule.
        warmup_steps: linear warm-up steps (at most half of ``steps``).
        clip_norm: global-norm gradient clipping.
        weight_decay: AdamW weight decay.
        eval_every: steps between validation evaluations (and checkpoints).
        patience: evaluations without improvement before stopping early.
        val_windows: validation windows (fixed, drawn once from the validation split).
        seed: seed of initialisation and window sampling.
        loss: the :class:`LossMix`.
        rollout: for :class:`~jaxneuro.surrogates.Autoregressive` surrogates (e.g. ``CNNLSTM``): the last
            ``rollout`` samples of each loss window run closed loop on the surrogate's own
            predictions, trained through the loop; the rest stay teacher-forced. 0: teacher
            forcing throughout.
        feedback_noise_mv: standard deviation (in the fed-back channel's unit, e.g. mV) of Gaussian
            noise added to the true output that teacher forcing feeds back (training only; the targets stay clean), so the
            surrogate learns to correct its own errors (Oláh et al.'s drift remedies).
    """

    steps: int = eqx.field(static=True, default=2000)
    batch_size: int = eqx.field(static=True, default=32)
    window: int = eqx.field(static=True, default=256)
    burn_in: int | None = eqx.field(static=True, default=None)
    learning_rate: float = eqx.field(static=True, default=3e-3)
    warmup_steps: int = eqx.field(static=True, default=100)
    clip_norm: float = eqx.field(static=True, default=1.0)
    weight_decay: float = eqx.field(static=True, default=1e-4)
    eval_every: int = eqx.field(static=True, default=100)
    patience: int = eqx.field(static=True, default=10)
    val_windows: int = eqx.field(static=True, default=64)
    seed: int = eqx.field(static=True, default=0)
    loss: LossMix = eqx.field(static=True, default=LossMix())
    rollout: int = eqx.field(static=True, default=0)
    feedback_noise_mv: float = eqx.field(static=True, default=0.0)

    def __check_init__(self):
        for name in ("steps", "batch_size", "window", "eval_every", "patience", "val_windows"):
            value = getattr(self, name)
            if not (isinstance(value, int) and value >= 1):
                raise ValueError(f"{name} must be a positive int, got {value!r}")
        if self.burn_in is not None and self.burn_in < 0:
            raise ValueError(f"burn_in must be >= 0, got {self.burn_in}")
        if not (math.isfinite(self.learning_rate) and self.learning_rate > 0):
            raise ValueError(f"learning_rate must be positive, got {self.learning_rate}")
        if not (isinstance(self.rollout, int) and 0 <= self.rollout <= self.window):
            raise ValueError(f"rollout must be an int in [0, window], got {self.rollout!r}")
        if not (math.isfinite(self.feedback_noise_mv) and self.feedback_noise_mv >= 0):
            raise ValueError(f"feedback_noise_mv must be >= 0, got {self.feedback_noise_mv}")

    def describe(self) -> dict:
        fields = {k: getattr(self, k) for k in self.__dataclass_fields__ if k != "loss"}
        for k in ("rollout", "feedback_noise_mv"):  # omitted at their defaults, so checkpoints
            if not fields[k]:  # of fits from before these options still resume
                del fields[k]
        return {**fields, "loss": self.loss.describe()}


class FitResult(NamedTuple):
    """A fitted surrogate (with the data's scaling), its best weights, and the metrics log."""

    surrogate: Surrogate
    params: Any
    history: list[dict]
    best_step: int


def burn_in_of(surrogate: Surrogate) -> int:
    """Warm-up samples a surrogate needs: its receptive field or window, if it has one."""
    for attr in ("receptive_field", "window"):
        value = getattr(surrogate, attr, None)
        if isinstance(value, int):
            return value
    return 0


def forward(surrogate: Surrogate, params, inputs, targets, rollout: int = 0, feedback=None):
    """Training forward pass: an :class:`~jaxneuro.surrogates.Autoregressive` surrogate runs
    teacher-forced (fed ``feedback``, default the true output of its feedback channel; closed loop
    over the last ``rollout`` samples), any other runs ``apply``."""
    if not isinstance(surrogate, Autoregressive):
        return surrogate.apply(params, inputs)[0]
    fed = targets[surrogate.feedback] if feedback is None else feedback
    if rollout:
        return surrogate.apply_rollout(params, inputs, fed, rollout)[0]
    return surrogate.apply_teacher_forced(params, inputs, fed)[0]


def _load_split(dataset: Dataset, name: str) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    idx = dataset.split(name)
    if idx.size == 0:
        raise ValueError(f"the dataset's {name!r} split is empty")
    batch = dataset.batch(idx)
    return np.asarray(batch.inputs), {k: np.asarray(v) for k, v in batch.outputs.items()}


def _windows(x, y, starts, cells, length, r: int = 1):
    """Gather windows of cells ``cells``: inputs ``[B, length, …]`` from input sample ``starts``,
    outputs ``[B, length / r, …]`` from output sample ``starts / r`` (``r`` the decimation)."""
    offsets = jnp.arange(length)
    xs = x[cells[:, None], starts[:, None] + offsets]
    out_offsets = jnp.arange(length // r)
    out_starts = starts[:, None] // r + out_offsets
    ys = {k: v[cells[:, None], out_starts] for k, v in y.items()}
    return xs, ys


def fit(
    surrogate: Surrogate,
    dataset: Dataset | str | os.PathLike,
    config: FitConfig | None = None,
    *,
    checkpoint_dir: str | os.PathLike | None = None,
    progress: bool = True,
    init_params=None,
    **overrides,
) -> FitResult:
    """Train ``surrogate`` to imitate the teacher that produced ``dataset``.

    Windows of ``burn_in + window`` samples are drawn from the training split (the loss sees the
    last ``window``); AdamW with warm-up + cosine decay and global-norm clipping (optax); the
    validation loss on fixed windows picks the best weights and stops the fit early. With a
    ``checkpoint_dir``, the state is saved atomically every ``eval_every`` steps (safetensors, no
    pickle) with a JSONL metrics log, and a killed fit resumes there to the same result.
    Deterministic for a given ``config.seed``. The returned surrogate carries the input/output
    scaling fitted to the training data (or, with ``init_params``, the one it came with).

    Args:
        surrogate: a :class:`~jaxneuro.surrogates.Surrogate` built on the teacher's spec.
        dataset: a :class:`~jaxneuro.data.Dataset` or its path.
        config: a :class:`FitConfig`; keyword ``overrides`` replace its fields.
        checkpoint_dir: where to keep ``checkpoint.safetensors`` and ``metrics.jsonl``.
        progress: show a progress bar.
        init_params: weights to start from (e.g. an earlier fit's ``params``, to fine-tune in a
            second stage, with its ``surrogate``): the surrogate's scaling is then kept, not
            refitted to ``dataset``, as the weights were trained for it. Default: fresh weights
            from ``config.seed`` and a scaling fitted to the training split.
    """
    config = dataclasses.replace(config or FitConfig(), **overrides)
    family = type(surrogate).__name__
    recurrent = isinstance(surrogate, Autoregressive)
    if config.rollout and not recurrent:
        raise ValueError(f"rollout needs an autoregressive surrogate (e.g. CNNLSTM), not {family}")
    if config.feedback_noise_mv and not recurrent:
        raise ValueError(
            f"feedback_noise_mv needs a surrogate fed its own output (e.g. CNNLSTM), not {family}"
        )
    if not isinstance(dataset, Dataset):
        dataset = open_dataset(dataset)
    if dataset.spec != surrogate.spec:
        raise ValueError(
            f"the dataset's teacher spec ({dataset.spec.describe()}) differs from the "
            f"surrogate's ({surrogate.spec.describe()})"
        )
    x_train, y_train = _load_split(dataset, "train")
    x_val, y_val = _load_split(dataset, "validation")
    targets = [c for c in surrogate.spec.output_names if c in y_train]
    y_train = {k: y_train[k] for k in targets}
    y_val = {k: y_val[k] for k in targets}
    r = surrogate.spec.decimation  # input samples per output sample
    lag = surrogate.latency  # output k estimates teacher output k − lag
    if config.window % r:
        raise ValueError(f"window ({config.window} samples) must be a multiple of decimation {r}")
    burn_in = burn_in_of(surrogate) if config.burn_in is None else config.burn_in
    burn_in = -(-max(burn_in, lag * r) // r) * r  # whole output samples, covering the latency
    length = burn_in + config.window
    if length > x_train.shape[1]:
        raise ValueError(
            f"burn_in + window = {length} samples exceed the dataset's {x_train.shape[1]}"
        )

    if init_params is None:  # trained weights keep the scaling they were trained with
        surrogate = surrogate.with_scaling(Scaling.from_data(surrogate.spec, x_train, y_train))
    scales = dict(zip(surrogate.scaling.outputs, surrogate.scaling.output_scale, strict=True))
    key = jax.random.key(config.seed)
    params = surrogate.init(jax.random.fold_in(key, 0))
    if init_params is not None:
        params = jax.tree.map(lambda a, b: jnp.asarray(b, a.dtype), params, init_params)
    schedule = optax.warmup_cosine_decay_schedule(
        0.0, config.learning_rate, min(config.warmup_steps, config.steps // 2), config.steps
    )
    optimiser = optax.chain(
        optax.clip_by_global_norm(config.clip_norm),
        optax.adamw(schedule, weight_decay=config.weight_decay),
    )
    opt_state = optimiser.init(params)

    x_train, x_val = jnp.asarray(x_train), jnp.asarray(x_val)
    y_train = {k: jnp.asarray(v) for k, v in y_train.items()}
    y_val = {k: jnp.asarray(v) for k, v in y_val.items()}
    n_train, n_time = x_train.shape[:2]
    channels = surrogate.spec.outputs
    feedback = surrogate.feedback if recurrent else None
    noisy = config.feedback_noise_mv > 0 and feedback in y_train
    skip = burn_in // r  # output samples of the burn-in

    def loss_fn(params, xs, ys, noise_key=None):
        fed = ys.get(feedback) if recurrent else jnp.zeros(xs.shape[0])
        if noisy and noise_key is not None:
            fed = fed + config.feedback_noise_mv * jax.random.normal(noise_key, fed.shape)
        run = lambda x, y, f: forward(  # noqa: E731
            surrogate, params, x, y, config.rollout, f if recurrent else None
        )
        pred = jax.vmap(run)(xs, ys, fed)
        pred = {k: v[:, skip:] for k, v in pred.items()}
        target = {k: v[:, skip - lag : v.shape[1] - lag] for k, v in ys.items()}
        return config.loss(pred, target, channels, scales)

    def sample(step, x, y):
        k_cell, k_start = jax.random.split(jax.random.fold_in(key, step + 1))
        cells = jax.random.randint(k_cell, (config.batch_size,), 0, n_train)
        starts = r * jax.random.randint(
            k_start, (config.batch_size,), 0, (n_time - length) // r + 1
        )
        return _windows(x, y, starts, cells, length, r)

    @jax.jit
    def train_step(params, opt_state, step, x, y):
        xs, ys = sample(step, x, y)
        noise_key = jax.random.fold_in(jax.random.fold_in(key, step + 1), 1)
        loss, grads = jax.value_and_grad(loss_fn)(params, xs, ys, noise_key)
        updates, opt_state = optimiser.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, loss

    rng = np.random.default_rng(config.seed)
    val_cells = rng.integers(0, x_val.shape[0], config.val_windows)
    val_starts = r * rng.integers(0, (x_val.shape[1] - length) // r + 1, config.val_windows)
    val_x, val_y = _windows(
        x_val, y_val, jnp.asarray(val_starts), jnp.asarray(val_cells), length, r
    )
    val_loss = jax.jit(loss_fn)

    state = {"params": params, "opt_state": opt_state, "best": params}
    counters = {"step": 0, "best_step": 0, "best_val": math.inf, "bad_evals": 0}
    history: list[dict] = []
    ckpt = log = None
    if checkpoint_dir is not None:
        Path(checkpoint_dir).mkdir(parents=True, exist_ok=True)
        ckpt = Path(checkpoint_dir) / "checkpoint.safetensors"
        log = Path(checkpoint_dir) / "metrics.jsonl"
        fingerprint = {"config": config.describe(), "dataset": str(dataset.path)}
        fingerprint["surrogate"] = repr(type(surrogate).__name__)
        if init_params is not None:
            digest = hashlib.sha256()
            for leaf in jax.tree.leaves(params):
                digest.update(np.asarray(leaf).tobytes())
            fingerprint["init_params"] = digest.hexdigest()
        if ckpt.exists():
            state, meta = load_tree(ckpt, state)
            if meta.get("fingerprint") != json.loads(json.dumps(fingerprint)):
                raise CheckpointError(
                    f"{ckpt} belongs to another fit (different config, data or surrogate)"
                )
            counters = meta["counters"]
            history = meta["history"]
        _write_log(log, history)

    if not history:  # the untrained baseline, so the log shows what training gained
        v0 = float(val_loss(params, val_x, val_y))
        history.append({"step": 0, "train_loss": None, "val_loss": v0, "lr": 0.0})
        counters.update(best_val=v0)
    bar = tqdm(total=config.steps, initial=counters["step"], disable=not progress, desc="fit")
    params, opt_state = state["params"], state["opt_state"]
    while counters["step"] < config.steps and counters["bad_evals"] < config.patience:
        params, opt_state, loss = train_step(params, opt_state, counters["step"], x_train, y_train)
        counters["step"] += 1
        bar.update(1)
        if counters["step"] % config.eval_every == 0 or counters["step"] == config.steps:
            v = float(val_loss(params, val_x, val_y))
            if not math.isfinite(v):
                raise FloatingPointError(f"validation loss is {v} at step {counters['step']}")
            improved = v < counters["best_val"]
            if improved:
                counters.update(best_val=v, best_step=counters["step"], bad_evals=0)
                state["best"] = params
            else:
                counters["bad_evals"] += 1
            record = {"step": counters["step"], "train_loss": float(loss), "val_loss": v}
            record["lr"] = float(schedule(counters["step"]))
            history.append(record)
            bar.set_postfix(train=f"{float(loss):.4f}", val=f"{v:.4f}")
            if ckpt is not None:
                state.update(params=params, opt_state=opt_state)
                meta = {"fingerprint": fingerprint, "counters": counters, "history": history}
                save_tree(ckpt, state, meta)
                _write_log(log, history)
    bar.close()
    return FitResult(surrogate, state["best"], history, counters["best_step"])


def _write_log(path: Path, history: list[dict]) -> None:
    """Rewrite the JSONL metrics log atomically from the checkpointed history."""
    atomic_write(path, "".join(json.dumps(r) + "\n" for r in history))
