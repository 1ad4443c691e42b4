"""Gradient-based stimulus design: the input waveform that makes a simulator do what you want."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import jax.numpy as jnp
import numpy as np
import optax
from jaxtyping import Array, ArrayLike

from .._simulator import IOSpec, Outputs, Params, Simulator, State, check_inputs
from ._engine import Keep, OptimizeResult, Progress, check_steps, make_optimizer, minimize
from ._penalties import Penalties

DEFAULT_LR_FRACTION = 0.02
"""Default Adam step: this fraction of the stimulus scale (see :func:`stimulus`)."""


def channel_indices(spec: IOSpec, channels: int | str | Sequence[int | str] | None) -> list[int]:
    """Column indices of ``channels`` (names or indices; ``None``: all), checked against ``spec``."""
    if channels is None:
        return list(range(spec.n_inputs))
    items = [channels] if isinstance(channels, int | str | np.integer) else list(channels)
    if not items:
        raise ValueError("channels is empty; name at least one input channel to optimise")
    cols = []
    for c in items:
        if isinstance(c, str):
            if c not in spec.input_names:
                raise ValueError(f"no input channel {c!r}; this simulator has {spec.input_names}")
            cols.append(spec.input_names.index(c))
        elif isinstance(c, int | np.integer) and not isinstance(c, bool):
            if not -spec.n_inputs <= c < spec.n_inputs:
                raise ValueError(
                    f"channel index {c} out of range for {spec.n_inputs} inputs {spec.input_names}"
                )
            cols.append(int(c) % spec.n_inputs)
        else:
            raise ValueError(f"channels must be input names or indices, got {c!r}")
    if len(set(cols)) != len(cols):
        raise ValueError(f"channels repeat an input: {items!r}")
    return cols


def _bound(name: str, value: Any, default: float, shape: tuple[int, ...]) -> np.ndarray:
    if value is None:
        return np.full(shape, default)
    arr = np.asarray(value, dtype=np.float64)
    try:
        arr = np.broadcast_to(arr, shape)
    except ValueError:
        raise ValueError(
            f"bounds: {name} of shape {arr.shape} does not broadcast to the inputs' shape {shape} "
            "(give a scalar, one value per input channel, or a [T, n_inputs] array)"
        ) from None
    if np.isnan(arr).any():
        raise ValueError(f"bounds: {name} contains NaN")
    return arr


def check_box(lo: np.ndarray, hi: np.ndarray, what: str) -> None:
    bad = lo > hi
    if bad.any():
        where = tuple(int(i) for i in np.argwhere(bad)[0]) if bad.ndim else ()
        raise ValueError(
            f"bounds{what}: lower bound exceeds upper bound, lo={lo[where]!r} > hi={hi[where]!r}"
            + (f" at index {where}" if where else "")
        )


def inward(lo: np.ndarray, hi: np.ndarray, dtype) -> tuple[np.ndarray, np.ndarray]:
    """``lo``, ``hi`` in ``dtype``, rounded inwards so that the box holds in the user's numbers."""
    lo_c, hi_c = lo.astype(dtype), hi.astype(dtype)
    lo_c = np.where(lo_c.astype(np.float64) < lo, np.nextafter(lo_c, dtype.type(np.inf)), lo_c)
    hi_c = np.where(hi_c.astype(np.float64) > hi, np.nextafter(hi_c, dtype.type(-np.inf)), hi_c)
    return lo_c.astype(dtype), hi_c.astype(dtype)


def stimulus(
    simulator: Simulator,
    params: Params,
    x0: ArrayLike,
    loss: Callable[[Outputs, Array], Array],
    *,
    steps: int = 200,
    optimizer: optax.GradientTransformation | None = None,
    learning_rate: float | None = None,
    bounds: tuple[Any, Any] | None = None,
    penalties: Penalties | None = None,
    channels: int | str | Sequence[int | str] | None = None,
    state: State | None = None,
    clip_norm: float | None = None,
    keep: Keep = "best",
    chunk: int | None = None,
    callback: Callable[[Progress], Any] | None = None,
    progress: bool = False,
) -> OptimizeResult:
    """Optimise an input waveform by gradient descent through ``simulator``.

    Minimises ``loss(outputs, x) + penalties(x[:, channels])`` over the ``channels`` columns of
    ``x``, where ``outputs, _ = simulator.apply(params, x, state)``; the other columns stay as
    in ``x0``. The same call serves analytical models (gradients through the ODE solver and the
    surrogate gradient of their spikes) and learned surrogates.

    Args:
        simulator: any :class:`~jaxneuro.Simulator`.
        params: its parameters (held fixed).
        x0: the initial stimulus, ``[T, n_inputs]`` (``[T]`` for a one-input simulator), in the
            units of ``simulator.spec.inputs``, sampled every ``simulator.spec.dt`` ms.
        loss: ``loss(outputs, x) -> scalar``, the objective; ``x`` has the shape of ``x0``.
            Build it from :func:`spike_train_loss`, :func:`spike_count_loss`,
            :func:`voltage_loss`, or anything differentiable.
        steps: optimiser updates.
        optimizer: an optax ``GradientTransformation`` (L-BFGS and other optimisers that need
            the objective's value receive it). Default: ``optax.adam(learning_rate)``.
        learning_rate: for the default Adam. Default: ``0.02 ×`` the stimulus scale, i.e. the
            largest ``|x0|`` of the optimised columns, else the widest finite bound range, else 1.
        bounds: ``(lo, hi)``, each ``None`` (unbounded), a number, one value per input channel,
            or an array broadcastable to ``x0``. Enforced exactly by projection (clipping) after
            every update; ``x0`` is clipped into the box first. Float32 bounds are rounded
            inwards, so ``lo <= x <= hi`` holds in the numbers given.
        penalties: :class:`Penalties` weights (L1 amplitude, L2 energy, smoothness) on the
            optimised columns. Default: none.
        channels: the input columns to optimise, by name (``"i_ext"``) or index. Default: all.
        state: initial simulator state (default: ``init_state``), held fixed.
        clip_norm: if given, gradients are clipped to this global norm first.
        keep: return the ``"best"`` iterate seen (lowest objective; default) or the ``"last"``.
        chunk: steps per compiled ``lax.scan`` call. Default: all of them, or 10 when a
            ``callback`` or ``progress`` bar reports between chunks.
        callback: called between chunks with a :class:`Progress`; a true return stops the run.
        progress: show a tqdm progress bar.

    Returns:
        an :class:`OptimizeResult`: ``x`` (shape of ``x0``), ``params``, ``outputs``, ``state``,
        ``loss``, ``loss_history`` (``[steps + 1]``, the start first), ...

    Raises:
        ValueError: a stimulus not shaped like the spec, ``steps < 1``, bounds with ``lo > hi``,
            unknown channels, a loss that is not a scalar.
        FloatingPointError: the objective or its gradient became NaN or inf.
    """
    if not isinstance(simulator, Simulator):
        raise TypeError(f"simulator must be a jaxneuro Simulator, got {type(simulator).__name__}")
    if not callable(loss):
        raise TypeError(f"loss must be a function loss(outputs, x) -> scalar, got {loss!r}")
    steps = check_steps(steps)
    spec = simulator.spec
    x_user = jnp.asarray(x0)
    x = check_inputs(spec, x_user)
    cols = channel_indices(spec, channels)
    penalties = Penalties() if penalties is None else penalties
    if not isinstance(penalties, Penalties):
        raise TypeError(f"penalties must be a Penalties(...), got {penalties!r}")

    x_np = np.asarray(x)  # host-side set-up: no device op to compile, weak types dropped
    dtype = x_np.dtype
    z0 = x_np[:, cols]
    box = None
    if bounds is not None:
        if not (isinstance(bounds, tuple | list) and len(bounds) == 2):
            raise ValueError(f"bounds must be a pair (lo, hi), got {bounds!r}")
        lo = _bound("lo", bounds[0], -np.inf, x_np.shape)[:, cols]
        hi = _bound("hi", bounds[1], np.inf, x_np.shape)[:, cols]
        check_box(lo, hi, "")
        box = inward(lo, hi, dtype)
        z0 = np.clip(z0, *box)
    project = (lambda z, a: z) if box is None else (lambda z, a: jnp.clip(z, a["lo"], a["hi"]))
    args = {"params": params, "x": x_np, "state": state}
    if box is not None:
        args["lo"], args["hi"] = box

    def realize(z, a):
        return a["x"].at[:, cols].set(z).reshape(x_user.shape)

    def evaluate(z, a):
        xz = realize(z, a)
        outputs, final = simulator.apply(a["params"], xz, a["state"])
        value = jnp.asarray(loss(outputs, xz))
        return value + penalties(z).astype(value.dtype), value, outputs, final

    def default_lr() -> float:
        scale = float(np.max(np.abs(z0)))
        if not scale > 0 and box is not None:
            width = box[1].astype(np.float64) - box[0].astype(np.float64)
            width = width[np.isfinite(width) & (width > 0)]
            scale = float(width.max()) if width.size else 0.0
        return DEFAULT_LR_FRACTION * (scale if scale > 0 else 1.0)

    sol = minimize(
        evaluate,
        realize,
        project,
        jnp.asarray(z0),
        args,
        steps=steps,
        optimizer=make_optimizer(optimizer, learning_rate, default_lr, clip_norm),
        keep=keep,
        chunk=chunk,
        callback=callback,
        progress=progress,
        desc="stimulus",
    )
    return OptimizeResult(
        x=sol.value,
        params=params,
        outputs=sol.outputs,
        state=sol.state,
        loss=sol.loss,
        objective=sol.total,
        loss_history=sol.loss_history,
        objective_history=sol.objective_history,
        best_step=sol.best_step,
        steps=sol.steps,
        stopped_early=sol.stopped_early,
    )
