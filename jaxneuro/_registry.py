"""Every simulator by name, for the CLI, the common test suite and ``jaxneuro.create``."""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from ._simulator import Simulator


class Entry(NamedTuple):
    factory: Callable[..., Simulator]
    description: str


_REGISTRY: dict[str, Entry] = {}


def register(name: str, factory: Callable[..., Simulator], description: str) -> None:
    """Add a simulator factory under ``name`` (keyword arguments pass through to it)."""
    if name in _REGISTRY:
        raise ValueError(f"a simulator named {name!r} is already registered")
    _REGISTRY[name] = Entry(factory, description)


def available() -> dict[str, str]:
    """``{name: description}`` of every registered simulator."""
    _load_builtins()
    return {name: e.description for name, e in sorted(_REGISTRY.items())}


def create(name: str, **kwargs) -> Simulator:
    """The simulator registered as ``name``, built with ``kwargs`` (e.g. ``dt=0.05``)."""
    _load_builtins()
    if name not in _REGISTRY:
        raise ValueError(f"unknown simulator {name!r}; available: {', '.join(sorted(_REGISTRY))}")
    return _REGISTRY[name].factory(**kwargs)


def _load_builtins() -> None:
    if _REGISTRY:
        return
    from . import models as m

    register("hh", m.HodgkinHuxley, "Hodgkin-Huxley squid axon (NEURON hh), current clamp")
    register(
        "hh-synaptic",
        m.HodgkinHuxley.olah2022,
        "HH soma with alpha-conductance excitatory/inhibitory inputs (Olah et al. 2022)",
    )
    register("lif", m.LIF, "leaky integrate-and-fire, current clamp")
    register("adex", m.AdEx, "adaptive exponential integrate-and-fire (Brette & Gerstner 2005)")
    register("izhikevich", m.Izhikevich, "Izhikevich 2003 simple model (regime=RS|IB|CH|FS|LTS|…)")
    register(
        "izhikevich-2003",
        m.Izhikevich.izhikevich2003,
        "Izhikevich 2003 with the paper's 1 ms Gauss-Seidel Euler scheme",
    )
