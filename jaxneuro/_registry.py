"""Every simulator by name, for the CLI, the common test suite and ``jaxneuro.create``."""

from __future__ import annotations

import functools
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
    register(
        "reduced-l5pc",
        m.ReducedL5PC,
        "reduced L5 pyramidal cell, 48 compartments, AMPA+NMDA/GABA_A inputs (Beniaguev 2021)",
    )
    register(
        "reduced-l5pc-ampa",
        lambda **kw: m.ReducedL5PC(nmda=False, **kw),
        "the reduced L5 pyramidal cell's AMPA-only twin (no NMDA)",
    )
    _load_surrogates()


def _load_surrogates() -> None:
    """The temporal surrogate families (untrained, on a teacher's spec) and the shipped ones.

    Family names are those of ``jaxneuro fit FAMILY``. ``create("tcn", teacher="lif",
    teacher_kwargs={"dt": 1.0}, channels=8)`` picks the teacher and the sizes; the default is the
    family's default size on ``hh-synaptic``'s spec. The ``MLP`` is not registered: it maps circuit
    parameters to response statistics, with no time axis, state or streaming, so it is not a
    ``Simulator`` (no ``spec`` of sampled signals) and the protocol does not apply to it.
    """
    from . import surrogates as s
    from ._saving import pretrained, read_card

    on = f"on a teacher's spec (teacher={s.DEFAULT_TEACHER!r}, teacher_kwargs=, dt=)"
    register("tcn", s.on_teacher(s.TCN), f"untrained causal TCN surrogate (Beniaguev 2021) {on}")
    register(
        "cnn-lstm",
        s.on_teacher(s.CNNLSTM),
        f"untrained closed-loop CNN-LSTM surrogate (Olah 2022) {on}",
    )
    register("elm", s.on_teacher(s.ELM), f"untrained ELM neuron surrogate (Spieler 2024) {on}")
    register(
        "encoder-decoder",
        s.on_teacher(s.ConvEncoderDecoder),
        f"untrained CoNNear-style conv encoder-decoder surrogate {on}",
    )
    for name in pretrained():
        card = read_card(name)
        teacher = card["teacher"]["name"]
        kwargs = "".join(f", {k}={v}" for k, v in card["teacher"].get("kwargs", {}).items())
        register(
            name,
            functools.partial(s.Pretrained, name),
            f"shipped {card['family']} surrogate ({card.get('n_params', 0):,} trained weights) "
            f"of {teacher}{kwargs}; init() gives its trained weights",
        )
