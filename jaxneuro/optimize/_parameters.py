"""Gradient-based parameter fitting through the same loop as stimulus design."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jaxtyping import Array, ArrayLike

from .._simulator import Outputs, Params, Simulator, State, check_inputs
from ._engine import Keep, OptimizeResult, Progress, check_steps, make_optimizer, minimize
from ._stimulus import check_box, inward

DEFAULT_LR = 0.02
"""Default Adam step: 2 % per step for log-transformed parameters."""

Transform = Literal["log"] | None


def _key_name(entry: Any) -> str:
    for attr in ("key", "name", "idx"):
        if hasattr(entry, attr):
            return str(getattr(entry, attr))
    return str(entry)


def leaf_names(params: Params) -> tuple[list[str], list[Any], Any]:
    """``"a/b/c"`` names, leaves and treedef of a parameter pytree."""
    with_path, treedef = jax.tree_util.tree_flatten_with_path(params)
    names = ["/".join(_key_name(e) for e in path) for path, _ in with_path]
    return names, [leaf for _, leaf in with_path], treedef


def _matches(name: str, key: str) -> bool:
    return name == key or name.startswith(key + "/")


def _select(names: list[str], keys: Sequence[str], what: str) -> dict[str, list[int]]:
    """Leaf indices matched by each key (a leaf name or a prefix ``"synapses/exc"``)."""
    hits = {k: [i for i, n in enumerate(names) if _matches(n, k)] for k in keys}
    unknown = [k for k, idx in hits.items() if not idx]
    if unknown:
        raise ValueError(f"{what}: unknown parameter(s) {unknown}; the parameters are {names}")
    return hits


def _is_float(leaf: Any) -> bool:
    if isinstance(leaf, bool):
        return False
    if isinstance(leaf, float):
        return True
    return hasattr(leaf, "dtype") and jnp.issubdtype(leaf.dtype, jnp.floating)


def _trainable_mask(params, trainable, names, leaves) -> list[bool]:
    if trainable is None:
        return [_is_float(leaf) for leaf in leaves]
    if isinstance(trainable, str):
        trainable = [trainable]
    if isinstance(trainable, list | tuple | set) and all(isinstance(t, str) for t in trainable):
        if not trainable:
            raise ValueError("trainable is empty: name at least one parameter to fit")
        hits = _select(names, list(trainable), "trainable")
        mask = [False] * len(leaves)
        for idx in hits.values():
            for i in idx:
                mask[i] = True
    else:
        try:
            full = jax.tree.map(
                lambda b, sub: jax.tree.map(lambda _: bool(b), sub), trainable, params
            )
        except (ValueError, TypeError) as e:
            raise ValueError(
                "trainable must be a list of parameter names or a pytree of bools shaped like "
                f"(a prefix of) params; the parameters are {names}. ({e})"
            ) from None
        mask = jax.tree.leaves(full)
    bad = [n for n, m, leaf in zip(names, mask, leaves, strict=True) if m and not _is_float(leaf)]
    if bad:
        raise ValueError(f"trainable parameters must be floating point; not so: {bad}")
    if not any(mask):
        raise ValueError("no trainable parameters selected")
    return mask


def _transforms(transform, names, mask) -> list[Transform]:
    if transform is None or transform == "log":
        return [transform if m else None for m in mask]
    if not isinstance(transform, Mapping):
        raise ValueError(
            f"transform must be 'log', None or a dict name -> 'log'|None, got {transform!r}"
        )
    out: list[Transform] = [None] * len(names)
    for key, idx in _select(names, list(transform), "transform").items():
        kind = transform[key]
        if kind not in ("log", None):
            raise ValueError(f"transform[{key!r}] must be 'log' or None, got {kind!r}")
        for i in idx:
            out[i] = kind
    return out


def parameters(
    simulator: Simulator,
    params0: Params,
    inputs: ArrayLike,
    loss: Callable[[Outputs, Params], Array],
    *,
    steps: int = 200,
    optimizer: optax.GradientTransformation | None = None,
    learning_rate: float | None = None,
    trainable: Sequence[str] | Any | None = None,
    bounds: Mapping[str, tuple[Any, Any]] | None = None,
    transform: Transform | Mapping[str, Transform] = "log",
    state: State | None = None,
    clip_norm: float | None = None,
    keep: Keep = "best",
    chunk: int | None = None,
    callback: Callable[[Progress], Any] | None = None,
    progress: bool = False,
) -> OptimizeResult:
    """Fit simulator parameters by gradient descent: the loop of :func:`stimulus`, on ``params``.

    Minimises ``loss(outputs, params)`` with ``outputs, _ = simulator.apply(params, inputs,
    state)`` over the ``trainable`` parameters; the others stay as in ``params0``.

    Parameters are named by their path in the pytree, joined by ``"/"`` (``"tau_m"``,
    ``"synapses/exc/weight"``); a name also selects everything below it (``"synapses"``).

    Args:
        simulator: any :class:`~jaxneuro.Simulator` (physical parameters, or network weights).
        params0: the starting parameters, e.g. ``simulator.init()`` perturbed.
        inputs: ``[T, n_inputs]``, or ``[B, T, n_inputs]`` for ``B`` recordings fitted jointly
            (``jax.vmap``; outputs then carry a leading ``B`` axis, and ``state``, if given, too).
        loss: ``loss(outputs, params) -> scalar``; e.g. :func:`voltage_loss` against a recording.
        steps: optimiser updates.
        optimizer: an optax ``GradientTransformation``; default ``optax.adam(learning_rate)``.
        learning_rate: for the default Adam; default 0.02 (2 % per step in log space).
        trainable: ``None`` (every floating-point leaf), a list of names, or a pytree of bools
            shaped like (a prefix of) ``params0``.
        bounds: ``{name: (lo, hi)}`` in the parameters' units (``None`` for an open side);
            enforced exactly: by projection after each update in the optimised space, and by a
            final clip (a straight-through clip within each step, so gradients are not lost).
            ``params0`` is clipped into its bounds first. Bounds of non-trainable leaves are
            ignored.
        transform: ``"log"`` (default) optimises every trainable parameter whose starting
            values are all positive in log space — a multiplicative, scale-free step, and
            positivity for free (jaxley-style transforms); others stay linear. ``None``: all
            linear. A dict ``{name: "log" | None}`` chooses per parameter (unnamed: linear).
        state: initial simulator state, held fixed.
        clip_norm, keep, chunk, callback, progress: as for :func:`stimulus`.

    Returns:
        an :class:`OptimizeResult` with the fitted ``params``, ``x`` = ``inputs``, ``outputs``,
        ``loss``, ``loss_history`` (``[steps + 1]``), ...

    Raises:
        ValueError: unknown names in ``trainable``/``bounds``/``transform``, bounds with
            ``lo > hi``, ``"log"`` asked of a non-positive parameter, inputs not shaped like the
            spec, ``steps < 1``.
        FloatingPointError: the objective or its gradient became NaN or inf.
    """
    if not isinstance(simulator, Simulator):
        raise TypeError(f"simulator must be a jaxneuro Simulator, got {type(simulator).__name__}")
    if not callable(loss):
        raise TypeError(f"loss must be a function loss(outputs, params) -> scalar, got {loss!r}")
    steps = check_steps(steps)
    x = jnp.asarray(inputs)
    batched = x.ndim == 3
    if batched:
        if x.shape[0] == 0:
            raise ValueError("inputs have an empty batch axis (B = 0)")
        x = jnp.asarray(np.asarray(x, check_inputs(simulator.spec, x[0]).dtype))
    else:
        x = check_inputs(simulator.spec, x)

    names, leaves, treedef = leaf_names(params0)
    mask = _trainable_mask(params0, trainable, names, leaves)
    kinds = _transforms(transform, names, mask)
    bounds = {} if bounds is None else bounds
    if not isinstance(bounds, Mapping):
        raise ValueError(f"bounds must be a dict name -> (lo, hi), got {bounds!r}")
    hits = _select(names, list(bounds), "bounds")

    train = [i for i, m in enumerate(mask) if m]
    box: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    for key, idx in hits.items():
        pair = bounds[key]
        if not (isinstance(pair, tuple | list) and len(pair) == 2):
            raise ValueError(f"bounds[{key!r}] must be a pair (lo, hi), got {pair!r}")
        for i in idx:
            shape = np.shape(leaves[i])
            try:
                lo, hi = (
                    np.broadcast_to(np.asarray(default if b is None else b, np.float64), shape)
                    for b, default in zip(pair, (-np.inf, np.inf), strict=True)
                )
            except (ValueError, TypeError):
                raise ValueError(
                    f"bounds[{key!r}] = {pair!r} must be numbers or arrays broadcastable to "
                    f"{names[i]}'s shape {shape}"
                ) from None
            if np.isnan(lo).any() or np.isnan(hi).any():
                raise ValueError(f"bounds[{key!r}] contains NaN")
            check_box(lo, hi, f"[{key!r}]")
            box[i] = (lo, hi)

    z0, zbox, pbox = [], [], []
    for i in train:  # host-side set-up in numpy: nothing to compile
        dtype = np.dtype(jnp.asarray(leaves[i]).dtype)
        p = np.asarray(leaves[i], dtype)
        lo, hi = box.get(i, (np.full(p.shape, -np.inf), np.full(p.shape, np.inf)))
        lo_c, hi_c = inward(lo, hi, dtype)
        p = np.clip(p, lo_c, hi_c)
        if kinds[i] == "log" and not np.all(p > 0):
            if transform == "log":
                kinds[i] = None
            else:
                raise ValueError(f"transform 'log' needs a positive parameter; {names[i]} = {p}")
        pbox.append((lo_c, hi_c) if i in box else None)
        if kinds[i] == "log":
            with np.errstate(divide="ignore"):
                zlo, zhi = np.log(np.maximum(lo, 0.0)), np.log(hi)
            z0.append(jnp.asarray(np.log(p)))
        else:
            zlo, zhi = lo, hi
            z0.append(jnp.asarray(p))
        zbox.append(tuple(np.asarray(b, dtype) for b in (zlo, zhi)) if i in box else None)

    dynamic = [i for i, leaf in enumerate(leaves) if not mask[i] and hasattr(leaf, "dtype")]
    static = {i: leaf for i, leaf in enumerate(leaves) if not mask[i] and i not in dynamic}
    args = {"x": x, "state": state, "fixed": [leaves[i] for i in dynamic], "zbox": zbox}
    args["pbox"] = pbox

    def realize(z, a):
        out = dict(static)
        out.update(zip(dynamic, a["fixed"], strict=True))
        for j, i in enumerate(train):
            p = jnp.exp(z[j]) if kinds[i] == "log" else z[j]
            if a["pbox"][j] is not None:
                p = p + jax.lax.stop_gradient(jnp.clip(p, *a["pbox"][j]) - p)
            out[i] = p
        return jax.tree.unflatten(treedef, [out[i] for i in range(len(leaves))])

    def project(z, a):
        return [zj if b is None else jnp.clip(zj, *b) for zj, b in zip(z, a["zbox"], strict=True)]

    def run(params, a):
        if not batched:
            return simulator.apply(params, a["x"], a["state"])
        axes = (0, None if a["state"] is None else 0)
        return jax.vmap(lambda xi, si: simulator.apply(params, xi, si), in_axes=axes)(
            a["x"], a["state"]
        )

    def evaluate(z, a):
        params = realize(z, a)
        outputs, final = run(params, a)
        value = jnp.asarray(loss(outputs, params))
        return value, value, outputs, final

    sol = minimize(
        evaluate,
        realize,
        project,
        z0,
        args,
        steps=steps,
        optimizer=make_optimizer(optimizer, learning_rate, lambda: DEFAULT_LR, clip_norm),
        keep=keep,
        chunk=chunk,
        callback=callback,
        progress=progress,
        desc="parameters",
    )
    return OptimizeResult(
        x=x,
        params=sol.value,
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
