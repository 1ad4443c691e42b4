"""Parameter → response-statistics MLP surrogate (Zhang & Young 2020)."""

from __future__ import annotations

import copy
import math
from collections.abc import Sequence
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx
from jaxtyping import Array, Float

from .._simulator import RATE, Channel
from ._base import as_layers, float_dtype, fresh_weights, get_activation, graphdef_of

CIRCUIT_FEATURES = (
    Channel("S_EE", "1", description="E→E coupling (integrated conductance per spike)"),
    Channel("S_IE", "1", description="E→I coupling"),
    Channel("S_EI", "1", description="I→E coupling"),
    Channel("S_II", "1", description="I→I coupling"),
    Channel("eta_E_ext", "kHz", description="external Poisson drive to E cells"),
    Channel("eta_I_ext", "kHz", description="external Poisson drive to I cells"),
)
"""The E/I circuit's parameter box of ``cortical_circuit.md`` §2.4 (S_QQ' is Q' → Q)."""

CIRCUIT_STATISTICS = (
    Channel("rate_E", "Hz", RATE, description="mean E firing rate"),
    Channel("rate_I", "Hz", RATE, description="mean I firing rate"),
    Channel("cv_E", "1", description="mean ISI coefficient of variation, E"),
    Channel("cv_I", "1", description="mean ISI coefficient of variation, I"),
    Channel("chi", "1", description="synchrony index (population-rate variance ratio)"),
)
"""Response statistics of ``cortical_circuit.md`` §2.5."""


_CONFIG = (
    "hidden",
    "activation",
    "log_features",
    "log_statistics",
    "log_floor",
    "feature_mean",
    "feature_std",
    "statistic_mean",
    "statistic_std",
)
"""Constructor keywords that :meth:`MLP.config` records beside the channels."""


def _as_channel(c: Channel | Sequence[str]) -> Channel:
    """A :class:`Channel`, or one from ``(name, unit[, description])``."""
    if isinstance(c, Channel):
        return c
    name, unit, *rest = c
    return Channel(name, unit, description=rest[0] if rest else "")


class _MLPNet(nnx.Module):
    def __init__(self, n_in, hidden, n_out, act, *, rngs):
        sizes = (n_in, *hidden)
        self.hidden = nnx.List(
            nnx.Linear(a, b, rngs=rngs) for a, b in zip(sizes[:-1], sizes[1:], strict=True)
        )
        self.out = nnx.Linear(sizes[-1], n_out, rngs=rngs)
        self.act = act

    def __call__(self, z: Float[Array, " n_in"]) -> Float[Array, " n_out"]:
        for layer in self.hidden:
            z = self.act(layer(z))
        return self.out(z)


def _tuple(name: str, values, n: int, default: float, positive: bool = False) -> tuple:
    out = (default,) * n if values is None else tuple(float(v) for v in values)
    if len(out) != n or not all(math.isfinite(v) and (v > 0 or not positive) for v in out):
        raise ValueError(f"{name} must be {n} finite{' positive' if positive else ''} values")
    return out


class MLP(eqx.Module):
    """Multilayer perceptron from a model's parameter vector to its response statistics.

    Zhang & Young 2020 (*Sci. Rep.* 10:20139) fit a DNN to the map from an E/I integrate-and-fire
    circuit's parameters and drives to its firing statistics, then search, sample and
    differentiate it (gains ``∂r/∂η`` by ``jax.jacfwd``, curvature by ``jax.hessian``;
    ``cortical_circuit.md`` §5). Inputs enter in transformed coordinates (``log`` where
    ``log_features``), standardised; outputs leave the network standardised and are mapped back:
    ``log`` statistics as ``exp(y) − log_floor`` (e.g. rates via ``log(r + 0.1 Hz)``).
    Smooth activations only (SiLU default): ReLU has no curvature to analyse.

    **Not a temporal Simulator**: the inputs are one static parameter vector, not signals sampled
    every ``dt``, and the outputs are time-averaged statistics of a long stochastic simulation, so
    there is no time axis, no state and no streaming. Its API is ``init(key)`` and
    ``apply(params, x[n_features]) → {statistic: value}``; batch with ``jax.vmap`` and ensemble by
    vmapping ``init`` over keys.

    Args:
        features: named inputs with units (default: :data:`CIRCUIT_FEATURES`).
        statistics: named outputs with units (default: :data:`CIRCUIT_STATISTICS`).
        hidden: hidden layer widths (§5.2: four of 256).
        activation: hidden nonlinearity.
        log_features: per feature, whether it enters as ``log`` (default: all, for the circuit).
        log_statistics: per statistic, whether it is fitted as ``log(y + log_floor)``
            (default: those in Hz).
        log_floor: the floor added before the logarithm (statistic's unit).
        feature_mean, feature_std: standardisation of transformed features.
        statistic_mean, statistic_std: standardisation of transformed statistics.
    """

    features: tuple[Channel, ...] = eqx.field(static=True)
    statistics: tuple[Channel, ...] = eqx.field(static=True)
    hidden: tuple[int, ...] = eqx.field(static=True)
    activation: str = eqx.field(static=True)
    log_features: tuple[bool, ...] = eqx.field(static=True)
    log_statistics: tuple[bool, ...] = eqx.field(static=True)
    log_floor: float = eqx.field(static=True)
    feature_mean: tuple[float, ...] = eqx.field(static=True)
    feature_std: tuple[float, ...] = eqx.field(static=True)
    statistic_mean: tuple[float, ...] = eqx.field(static=True)
    statistic_std: tuple[float, ...] = eqx.field(static=True)
    graphdef: nnx.GraphDef = eqx.field(static=True, repr=False)

    def __init__(
        self,
        features: Sequence[Channel] = CIRCUIT_FEATURES,
        statistics: Sequence[Channel] = CIRCUIT_STATISTICS,
        *,
        hidden: Sequence[int] = (256, 256, 256, 256),
        activation: str = "silu",
        log_features: Sequence[bool] | None = None,
        log_statistics: Sequence[bool] | None = None,
        log_floor: float = 0.1,
        feature_mean: Sequence[float] | None = None,
        feature_std: Sequence[float] | None = None,
        statistic_mean: Sequence[float] | None = None,
        statistic_std: Sequence[float] | None = None,
    ):
        self.features = tuple(map(_as_channel, features))
        self.statistics = tuple(map(_as_channel, statistics))
        nf, ns = len(self.features), len(self.statistics)
        if nf == 0 or ns == 0:
            raise ValueError("an MLP needs at least one feature and one statistic")
        for kind, chans in [("feature", self.features), ("statistic", self.statistics)]:
            if len({c.name for c in chans}) != len(chans):
                raise ValueError(f"{kind} names must be unique, got {[c.name for c in chans]}")
        self.hidden = as_layers("hidden", tuple(hidden), len(tuple(hidden))) if hidden else ()
        get_activation(activation)
        self.activation = activation
        lf = (True,) * nf if log_features is None else tuple(bool(b) for b in log_features)
        ls = (
            tuple(c.unit == "Hz" for c in self.statistics)
            if log_statistics is None
            else tuple(bool(b) for b in log_statistics)
        )
        if len(lf) != nf or len(ls) != ns:
            raise ValueError(f"log_features needs {nf} flags and log_statistics {ns}")
        if not (math.isfinite(log_floor) and log_floor > 0):
            raise ValueError(f"log_floor must be positive, got {log_floor!r}")
        self.log_features, self.log_statistics, self.log_floor = lf, ls, float(log_floor)
        self.feature_mean = _tuple("feature_mean", feature_mean, nf, 0.0)
        self.feature_std = _tuple("feature_std", feature_std, nf, 1.0, positive=True)
        self.statistic_mean = _tuple("statistic_mean", statistic_mean, ns, 0.0)
        self.statistic_std = _tuple("statistic_std", statistic_std, ns, 1.0, positive=True)
        self.graphdef = graphdef_of(self.network)

    @property
    def feature_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.features)

    @property
    def statistic_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.statistics)

    def network(self, rngs: nnx.Rngs) -> nnx.Module:
        act = get_activation(self.activation)
        return _MLPNet(len(self.features), self.hidden, len(self.statistics), act, rngs=rngs)

    def init(self, key: Array | None = None) -> nnx.State:
        """Fresh network weights (``key`` defaults to ``jax.random.key(0)``)."""
        return fresh_weights(self, jax.random.key(0) if key is None else key)

    def config(self) -> dict[str, Any]:
        """JSON-friendly constructor arguments; :meth:`from_config` rebuilds an equal MLP."""
        out: dict[str, Any] = {
            "features": [c.to_json() for c in self.features],
            "statistics": [c.to_json() for c in self.statistics],
        }
        for name in _CONFIG:
            value = getattr(self, name)
            out[name] = list(value) if isinstance(value, tuple) else value
        return out

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> MLP:
        """The MLP that :meth:`config` describes (a ``ValueError`` naming what is malformed)."""
        missing = {"features", "statistics", *_CONFIG} - set(config)
        if missing:
            raise ValueError(f"an MLP config needs {sorted(missing)}")
        return cls(
            [Channel.from_json(c) for c in config["features"]],
            [Channel.from_json(c) for c in config["statistics"]],
            **{name: config[name] for name in _CONFIG},
        )

    # --- coordinates -------------------------------------------------------------------------
    def _log_features(self, x):
        mask = jnp.asarray(self.log_features)
        return jnp.where(mask, jnp.log(jnp.where(mask, x, 1.0)), x)

    def _log_statistics(self, y):
        mask = jnp.asarray(self.log_statistics)
        return jnp.where(mask, jnp.log(jnp.where(mask, y + self.log_floor, 1.0)), y)

    def transform_features(self, x: Float[Any, "... n_features"]) -> Float[Array, "... n_features"]:
        """Physical features → standardised network inputs."""
        z = self._log_features(jnp.asarray(x))
        return (z - jnp.asarray(self.feature_mean)) / jnp.asarray(self.feature_std)

    def transform_statistics(self, y: Float[Any, "... n_stats"]) -> Float[Array, "... n_stats"]:
        """Physical statistics → standardised network outputs (training targets)."""
        z = self._log_statistics(jnp.asarray(y))
        return (z - jnp.asarray(self.statistic_mean)) / jnp.asarray(self.statistic_std)

    def untransform_statistics(self, z: Float[Array, "... n_stats"]) -> Float[Array, "... n_stats"]:
        """Standardised network outputs → physical statistics."""
        z = z * jnp.asarray(self.statistic_std) + jnp.asarray(self.statistic_mean)
        mask = jnp.asarray(self.log_statistics)
        return jnp.where(mask, jnp.exp(jnp.where(mask, z, 0.0)) - self.log_floor, z)

    def with_data_scaling(self, x: Float[Any, "N n_features"], y: Float[Any, "N n_stats"]) -> MLP:
        """A copy whose standardisation constants are the moments of training data."""
        zx = np.asarray(self._log_features(jnp.asarray(x)), np.float64)
        zy = np.asarray(self._log_statistics(jnp.asarray(y)), np.float64)
        sd = lambda a: np.where(a.std(0) > 0, a.std(0), 1.0)  # noqa: E731
        new = copy.copy(self)
        for name, value in [
            ("feature_mean", zx.mean(0)),
            ("feature_std", sd(zx)),
            ("statistic_mean", zy.mean(0)),
            ("statistic_std", sd(zy)),
        ]:
            object.__setattr__(new, name, tuple(float(v) for v in value))
        return new

    # --- evaluation --------------------------------------------------------------------------
    def _check(self, x: Any) -> Float[Array, " n_features"]:
        x = jnp.asarray(x)
        if x.shape != (len(self.features),):
            raise ValueError(
                f"x must have shape [{len(self.features)}] ({', '.join(self.feature_names)}); got "
                f"{x.shape}. For many parameter sets, use jax.vmap."
            )
        if not jnp.issubdtype(x.dtype, jnp.floating):
            x = x.astype(jnp.result_type(float))
        bad = ~jnp.isfinite(x).all()
        if self.log_features and any(self.log_features):
            bad = bad | (jnp.where(jnp.asarray(self.log_features), x, 1.0) <= 0).any()
        return eqx.error_if(x, bad, "features must be finite, and positive where log-scaled")

    def apply_transformed(self, params, x: Float[Array, " n_features"]) -> Float[Array, " n_stats"]:
        """Standardised network outputs for physical features ``x`` (for training losses)."""
        x = self._check(x)
        z = self.transform_features(x).astype(float_dtype(x, params))
        return nnx.merge(self.graphdef, params)(z)

    def apply(self, params, x: Float[Array, " n_features"]) -> dict[str, Float[Array, ""]]:
        """Statistics (in their units) for one parameter vector ``x`` (in the features' units)."""
        y = self.untransform_statistics(self.apply_transformed(params, x))
        return {name: y[i] for i, name in enumerate(self.statistic_names)}

    def __call__(self, params, x):
        return self.apply(params, x)
