"""The gradient loop shared by stimulus and parameter design: chunks of jitted ``lax.scan``."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, Literal, NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
from jaxtyping import Array, PyTree

from .._simulator import Outputs, Params, State

Keep = Literal["best", "last"]

REPORT_CHUNK = 10
"""Steps per compiled call when a callback or a progress bar wants to hear between them."""


class Progress(NamedTuple):
    """What a ``callback`` receives between chunks of steps.

    Attributes:
        step: optimiser steps taken so far.
        loss: the user's loss at the last evaluated iterate.
        objective: loss plus penalties there (the minimised quantity).
        value: the current iterate — a stimulus ``x`` or a parameter pytree.
    """

    step: int
    loss: float
    objective: float
    value: Any


class OptimizeResult(eqx.Module):
    """The outcome of :func:`stimulus` or :func:`parameters`.

    Attributes:
        x: the inputs of the solution (the optimised stimulus, or the fixed inputs of a fit).
        params: the parameters of the solution (the fitted ones, or the fixed ones of a design).
        outputs: the simulator's outputs at ``(params, x)``.
        state: the simulator's final state there.
        loss: the user's loss at the solution.
        objective: loss plus penalties at the solution (what was minimised).
        loss_history: ``[steps + 1]`` user loss of every iterate, the start first.
        objective_history: ``[steps + 1]`` minimised objective of every iterate.
        best_step: the iterate returned (an index into the histories; 0 is the start).
        steps: optimiser steps taken.
        stopped_early: whether a callback stopped the run before ``steps``.
    """

    x: Array
    params: Params
    outputs: Outputs
    state: State
    loss: Array
    objective: Array
    loss_history: Array
    objective_history: Array
    best_step: int = eqx.field(static=True)
    steps: int = eqx.field(static=True)
    stopped_early: bool = eqx.field(static=True)


def check_steps(steps: Any) -> int:
    if isinstance(steps, bool) or not isinstance(steps, int | np.integer) or steps < 1:
        raise ValueError(f"steps must be a positive int, got steps={steps!r}")
    return int(steps)


def make_optimizer(
    optimizer: optax.GradientTransformation | None,
    learning_rate: float | None,
    default_lr: Callable[[], float],
    clip_norm: float | None,
) -> optax.GradientTransformationExtraArgs:
    """The optax transformation to run: the user's, or Adam; optionally after norm clipping."""
    if optimizer is not None and learning_rate is not None:
        raise ValueError("give either optimizer or learning_rate (for the default Adam), not both")
    if optimizer is None:
        lr = default_lr() if learning_rate is None else learning_rate
        if isinstance(lr, bool) or not (
            isinstance(lr, int | float) and math.isfinite(lr) and lr > 0
        ):
            raise ValueError(f"learning_rate must be a positive number, got {lr!r}")
        optimizer = optax.adam(float(lr))
    elif not (
        callable(getattr(optimizer, "init", None)) and callable(getattr(optimizer, "update", None))
    ):
        raise TypeError(f"optimizer must be an optax GradientTransformation, got {optimizer!r}")
    if clip_norm is not None:
        ok = isinstance(clip_norm, int | float) and not isinstance(clip_norm, bool)
        if not (ok and math.isfinite(clip_norm) and clip_norm > 0):
            raise ValueError(f"clip_norm must be a positive number or None, got {clip_norm!r}")
        optimizer = optax.chain(optax.clip_by_global_norm(float(clip_norm)), optimizer)
    return optax.with_extra_args_support(optimizer)


def _all_finite(tree: PyTree) -> Array:
    leaves = [jnp.isfinite(a).all() for a in jax.tree.leaves(tree)]
    return jnp.all(jnp.stack(leaves)) if leaves else jnp.asarray(True)


def _tree_where(pred, a, b):
    return jax.tree.map(lambda u, v: jnp.where(pred, u, v), a, b)


class Solution(NamedTuple):
    value: Any
    total: Array
    loss: Array
    outputs: Outputs
    state: State
    objective_history: Array
    loss_history: Array
    best_step: int
    steps: int
    stopped_early: bool


def minimize(
    evaluate: Callable[[PyTree, PyTree], tuple[Array, Array, Outputs, State]],
    realize: Callable[[PyTree, PyTree], Any],
    project: Callable[[PyTree, PyTree], PyTree],
    z0: PyTree,
    args: PyTree,
    *,
    steps: int,
    optimizer: optax.GradientTransformationExtraArgs,
    keep: Keep,
    chunk: int | None,
    callback: Callable[[Progress], Any] | None,
    progress: bool,
    desc: str,
) -> Solution:
    """Minimise ``evaluate(z, args)[0]`` over ``z`` by ``steps`` projected optimiser updates.

    ``evaluate`` returns ``(objective, loss, outputs, state)``; ``project`` maps an updated ``z``
    back into the feasible set; ``realize`` gives the user-facing value of ``z``.

    One jitted function runs a chunk of ``lax.scan`` steps; it is compiled once and called until
    the run is done (callbacks and the progress bar are served between calls). The scan makes
    ``steps + 1`` evaluations — the last one of the final iterate, without an update — while
    tracking the best iterate, and a step past the end is a skipped ``lax.cond`` branch. The
    call that finishes also evaluates the returned iterate's outputs (under another
    ``lax.cond``), so no second compilation is needed.
    """
    if keep not in ("best", "last"):
        raise ValueError(f"keep must be 'best' or 'last', got {keep!r}")
    if callback is not None and not callable(callback):
        raise TypeError(f"callback must be callable, got {callback!r}")
    if chunk is None:
        chunk = REPORT_CHUNK if (callback is not None or progress) else steps + 1
    elif isinstance(chunk, bool) or not isinstance(chunk, int | np.integer) or chunk < 1:
        raise ValueError(f"chunk must be a positive int or None, got chunk={chunk!r}")
    chunk = min(int(chunk), steps + 1)

    def objective(z, args):
        total, loss, _, _ = evaluate(z, args)
        return total, loss

    value_shape, shapes = jax.eval_shape(lambda z, a: (realize(z, a), evaluate(z, a)), z0, args)
    final_shape = (jax.ShapeDtypeStruct((), jnp.int32), value_shape, shapes)
    for name, s in zip(("objective", "loss"), shapes[:2], strict=True):
        if s.shape != () or not jnp.issubdtype(s.dtype, jnp.floating):
            raise ValueError(f"the {name} must be a real scalar, got shape {s.shape} ({s.dtype})")
    dtype = shapes[0].dtype
    nan = jnp.full((), jnp.nan, dtype)

    def step(carry, args, n):
        z, opt_state, best_z, best_obj, best_k, k, failed = carry
        (obj, loss), g = jax.value_and_grad(objective, has_aux=True)(z, args)
        finite = jnp.isfinite(obj) & jnp.isfinite(loss) & _all_finite(g)
        better = finite & (obj < best_obj)
        best_z = _tree_where(better, z, best_z)
        best_obj = jnp.where(better, obj, best_obj)
        best_k = jnp.where(better, k, best_k)
        updates, new_state = optimizer.update(
            g, opt_state, z, value=obj, grad=g, value_fn=lambda w: objective(w, args)[0]
        )
        new_z = project(optax.apply_updates(z, updates), args)
        move = finite & (k < n)
        z = _tree_where(move, new_z, z)
        opt_state = _tree_where(move, new_state, opt_state)
        failed = jnp.where(finite, failed, k)
        return (z, opt_state, best_z, best_obj, best_k, k + 1, failed), (obj, loss)

    def finish(carry, args):
        z, best_z, best_k, k = carry[0], carry[2], carry[4], carry[5]
        chosen = best_k if keep == "best" else k - 1  # k − 1: the final evaluation
        z = best_z if keep == "best" else z
        return chosen, realize(z, args), evaluate(z, args)

    @jax.jit
    def run_chunk(carry, args, n):
        def body(carry, _):
            active = (carry[5] <= n) & (carry[6] < 0)
            skip = lambda c: (c, (nan, nan))  # noqa: E731
            return jax.lax.cond(active, lambda c: step(c, args, n), skip, carry)

        carry, history = jax.lax.scan(body, carry, length=chunk)
        done = (carry[5] > n) & (carry[6] < 0)
        empty = lambda c: jax.tree.map(lambda s: jnp.zeros(s.shape, s.dtype), final_shape)  # noqa: E731
        final = jax.lax.cond(done, lambda c: finish(c, args), empty, carry)
        return carry, history, realize(carry[0], args), final

    i32 = lambda v: jnp.asarray(v, jnp.int32)  # noqa: E731
    carry = (z0, optimizer.init(z0), z0, jnp.full((), jnp.inf, dtype), i32(0), i32(0), i32(-1))
    objs, losses, stopped_early, n = [], [], False, steps
    bar = _progress_bar(progress, steps, desc)
    try:
        while True:
            before = int(carry[5])
            carry, (o, lo), current, final = run_chunk(carry, args, i32(n))
            k, failed = int(carry[5]), int(carry[6])
            objs.append(np.asarray(o)[: k - before])
            losses.append(np.asarray(lo)[: k - before])
            if failed >= 0:
                raise FloatingPointError(
                    f"{desc}: the objective or its gradient is not finite at step {failed} "
                    f"(loss {float(np.concatenate(losses)[failed])}); lower the learning rate, "
                    "set bounds or clip_norm, or check the loss"
                )
            if bar is not None:
                bar.update(min(k, n) - min(before, n))
                bar.set_postfix(loss=float(losses[-1][-1]))
            if k > n:
                break
            if callback is not None:
                info = Progress(k, float(losses[-1][-1]), float(objs[-1][-1]), current)
                if callback(info) and k < n:
                    stopped_early, n = True, k
    finally:
        if bar is not None:
            bar.close()

    chosen, value, (total, loss, outputs, state) = final
    if not (np.isfinite(total) and np.isfinite(loss)):
        raise FloatingPointError(f"{desc}: the objective is not finite at the returned iterate")
    return Solution(
        value=value,
        total=total,
        loss=loss,
        outputs=outputs,
        state=state,
        objective_history=jnp.asarray(np.concatenate(objs)),
        loss_history=jnp.asarray(np.concatenate(losses)),
        best_step=int(chosen),
        steps=n,
        stopped_early=stopped_early,
    )


def _progress_bar(progress: bool, total: int, desc: str):
    if not progress:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit="step")
