"""Samplers chosen for a teacher's spec, rebuilt from their records, and named in one line.

- :func:`default_sampler`: the stimulus distribution for a teacher (Oláh et al.'s synaptic inputs
  for ``i_ext, exc, inh`` models, else an Ornstein–Uhlenbeck current), with optional overrides;
- :func:`sampler_from_description`: a sampler rebuilt from its ``describe()`` (as a dataset
  manifest or a model card records it) at another duration;
- :func:`sampler_summary`: ``OUCurrent(mean=[1.0, 2.0], ...)``, for people.
"""

from __future__ import annotations

from typing import Any

from .._simulator import EVENTS, TRACE, IOSpec
from ._samplers import BeniaguevSynaptic, OlahSynaptic, OUCurrent, Sampler

DEFAULT_AMPLITUDE = {"uA/cm2": 10.0, "nA": 2.0, "pA": 800.0, "1": 10.0}
"""A current that makes each built-in current-clamp model fire, by the unit of its input 0."""

OLAH_INPUTS = ("i_ext", "exc", "inh")
"""The inputs :class:`OlahSynaptic` drives: a current, then excitatory and inhibitory counts."""

OU_TAU_MS = (2.0, 10.0)
"""Default OU correlation-time range (ms)."""

SAMPLERS = ("olah", "ou")
"""The kinds :func:`default_sampler` chooses from."""

OLAH_OPTIONS = ("s_max", "exc_rate", "inh_rate", "silent_fraction")
"""Keywords of :class:`OlahSynaptic` that :func:`default_sampler` passes through."""

_NOT_OPTIONS = {"class", "dt", "n_samples", "duration_ms", "columns", "reference"}


def _inputs(spec: IOSpec) -> str:
    return ", ".join(f"{c.name} [{c.unit}]" for c in spec.inputs)


def takes_olah(spec: IOSpec) -> bool:
    """Whether ``spec`` has the inputs of :class:`OlahSynaptic`: a current trace ``i_ext``, then
    excitatory and inhibitory event counts ``exc``, ``inh`` (one column each)."""
    kinds = tuple(c.kind for c in spec.inputs)
    widths = {c.width for c in spec.inputs}
    return spec.input_names == OLAH_INPUTS and kinds == (TRACE, EVENTS, EVENTS) and widths == {1}


def ou_defaults(unit: str) -> dict[str, tuple[float, float]]:
    """Default per-sweep ranges of an OU current in ``unit``, from :data:`DEFAULT_AMPLITUDE` ``a``:
    mean in ``(a/4, 3a/4)``, standard deviation in ``(0.15a, 0.45a)``, τ in :data:`OU_TAU_MS`."""
    if unit not in DEFAULT_AMPLITUDE:
        raise ValueError(f"no default OU current for unit {unit!r}; give its mean and std")
    a = DEFAULT_AMPLITUDE[unit]
    return {"mean": (0.25 * a, 0.75 * a), "std": (0.15 * a, 0.45 * a), "tau": OU_TAU_MS}


def default_sampler(
    spec: IOSpec,
    duration_ms: float,
    kind: str | None = None,
    *,
    ou: dict[str, Any] | None = None,
    olah: dict[str, Any] | None = None,
) -> Sampler:
    """The stimulus distribution for a teacher with ``spec``, ``duration_ms`` long.

    ``kind`` is ``"olah"`` (:class:`OlahSynaptic`, for inputs ``i_ext, exc, inh``) or ``"ou"``
    (:class:`OUCurrent` on input 0, the other inputs zero); by default ``"olah"`` where the
    teacher takes it, else ``"ou"``. ``ou`` overrides some of ``mean``, ``std``, ``tau`` (a number
    or a ``(low, high)`` range; the others default by the current's unit, :func:`ou_defaults`);
    with ``"olah"`` it adds an OU current to ``i_ext``, zero-mean unless ``mean`` is given.
    ``olah`` overrides :data:`OLAH_OPTIONS` (the paper's values by default).
    """
    ou, olah = dict(ou or {}), dict(olah or {})
    kind = kind or ("olah" if takes_olah(spec) else "ou")
    if kind not in SAMPLERS:
        raise ValueError(f"sampler must be one of {SAMPLERS}, got {kind!r}")
    if kind == "olah":
        if not takes_olah(spec):
            raise ValueError(
                f"the olah sampler drives the inputs {', '.join(OLAH_INPUTS)} (Olah et al. "
                f"2022), but the teacher has inputs {_inputs(spec)}; use the ou sampler"
            )
        current = None
        if ou:  # an OU current on top of the synaptic input: zero mean unless asked
            ranges = {**ou_defaults(spec.inputs[0].unit), "mean": 0.0, **ou}
            current = OUCurrent(duration_ms=duration_ms, dt=spec.dt, **ranges)
        return OlahSynaptic(duration_ms=duration_ms, dt=spec.dt, current=current, **olah)
    if olah:
        raise ValueError(f"{', '.join(sorted(olah))} apply to the olah sampler only")
    current = spec.inputs[0]
    if current.kind != TRACE:
        raise ValueError(
            f"the ou sampler drives a current on the first input, but the teacher has inputs "
            f"{_inputs(spec)}"
        )
    ranges = ou if {"mean", "std", "tau"} <= set(ou) else {**ou_defaults(current.unit), **ou}
    return OUCurrent(duration_ms=duration_ms, dt=spec.dt, n_synaptic=spec.n_inputs - 1, **ranges)


def sampler_from_description(described: dict, duration_ms: float, dt: float) -> Sampler | None:
    """Rebuild a sampler from its ``describe()`` (as a dataset manifest or model card records it)
    with another ``duration_ms``; ``None`` for a sampler class this function does not know."""

    def ou(d: dict) -> OUCurrent:
        pair = lambda v: tuple(v) if isinstance(v, list) else v  # noqa: E731
        return OUCurrent(
            duration_ms=duration_ms,
            dt=dt,
            mean=pair(d["mean"]),
            std=pair(d["std"]),
            tau=pair(d["tau"]),
            n_synaptic=int(d.get("n_synaptic", 0)),
        )

    kind = described.get("class") if isinstance(described, dict) else None
    try:
        if kind == "OUCurrent":
            return ou(described)
        if kind == "OlahSynaptic":
            current = described.get("current")
            return OlahSynaptic(
                duration_ms=duration_ms,
                dt=dt,
                s_max=described["s_max"],
                exc_rate=described["exc_rate_hz_per_s"],
                inh_rate=described["inh_rate_hz_per_s"],
                silent_fraction=described["silent_fraction"],
                current=None if current is None else ou(current),
            )
        if kind == "BeniaguevSynaptic":
            options = {k: v for k, v in described.items() if k not in _NOT_OPTIONS}
            return BeniaguevSynaptic(duration_ms, dt=dt, **options)
    except (KeyError, TypeError) as e:
        raise ValueError(f"cannot rebuild the {kind} sampler from its description ({e})") from None
    return None


def sampler_summary(described: dict) -> str:
    """``OUCurrent(mean=[1.0, 2.0], ...)`` from a sampler's ``describe()``: its options, without
    the duration, sample interval and references."""
    fields = ", ".join(
        f"{k}={sampler_summary(v) if isinstance(v, dict) else v}"
        for k, v in described.items()
        if k not in _NOT_OPTIONS
    )
    return f"{described.get('class', '?')}({fields})"
