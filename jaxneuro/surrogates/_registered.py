"""Surrogates in the registry: the families, untrained on a teacher's spec, and the shipped ones.

``jaxneuro.create("tcn")`` builds an untrained :class:`TCN` on the spec of a registered teacher
(default ``"hh-synaptic"``); ``jaxneuro.create("hh-tcn")`` a :class:`Pretrained`, the shipped
network whose ``init()`` returns its trained weights. Both obey the common protocol, so the
common test suite (``tests/test_simulators.py``) runs over them with the analytical models.

:func:`register_builtins` (called once by :mod:`jaxneuro._registry`) is the one list of the
built-in families; adding a family is its file, its export and one line there.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array

from .._simulator import IOSpec, Outputs, Simulator
from ._base import Surrogate

DEFAULT_TEACHER = "hh-synaptic"
"""Teacher whose spec an untrained family copies unless told otherwise (dt 1 ms; i_ext, exc, inh)."""


def on_teacher(family: type[Surrogate]) -> Callable[..., Surrogate]:
    """A registry factory: ``family`` on the spec of a registered teacher.

    The factory takes ``teacher`` (a registry name, default :data:`DEFAULT_TEACHER`),
    ``teacher_kwargs`` (its constructor keywords) and ``dt`` (shorthand for
    ``teacher_kwargs["dt"]``: the sample interval both share); every other keyword goes to
    ``family`` (sizes, activation, scaling …).
    """

    def factory(
        teacher: str = DEFAULT_TEACHER,
        teacher_kwargs: dict | None = None,
        *,
        dt: float | None = None,
        **kwargs: Any,
    ) -> Surrogate:
        from .._registry import create

        tk = dict(teacher_kwargs or {})
        if dt is not None:
            tk["dt"] = dt
        model = create(teacher, **tk)
        if isinstance(model, Surrogate | Pretrained):
            raise ValueError(f"teacher {teacher!r} is itself a surrogate; name an analytical model")
        return family(model.spec, **kwargs)

    factory.__name__ = f"{family.__name__.lower()}_on_teacher"
    factory.__doc__ = f"An untrained {family.__name__} on a teacher's spec (see ``on_teacher``)."
    return factory


@functools.cache
def _weights(name: str) -> tuple[Surrogate, Any]:
    """The shipped surrogate ``name`` and its trained weights as numpy arrays (read once)."""
    from .._saving import load

    surrogate, params = load(name)
    return surrogate, jax.tree.map(np.asarray, params)


class Pretrained(Simulator):
    """A shipped surrogate as a registered simulator: the network with its trained weights.

    ``jaxneuro.create("hh-tcn")`` gives one. It behaves as its :attr:`surrogate` (same spec,
    outputs, state and streaming), except that :meth:`init` returns the **trained** weights
    rather than fresh ones, so ``sim.apply(sim.init(), x)`` runs the shipped model, as
    ``sim.apply(sim.init(), x)`` runs an analytical model with its default parameters.
    ``jaxneuro.load(name)`` gives the same network and weights as a ``(surrogate, params)`` pair.

    Attributes:
        name: the shipped name (``jaxneuro.pretrained()``).
        surrogate: the network (a :class:`Surrogate`, e.g. a :class:`TCN`).
    """

    name: str = eqx.field(static=True)
    surrogate: Surrogate

    def __init__(self, name: str, *, dt: float | None = None):
        from .._registry import family
        from .._saving import read_card

        card = read_card(name)
        spec = IOSpec.from_json(card["spec"])
        if dt is not None and dt != spec.dt:
            raise ValueError(
                f"{name!r} was trained at dt={spec.dt} ms and cannot run at dt={dt!r} ms; "
                "train a surrogate at that sample interval instead"
            )
        self.name = str(name)
        surrogate = family(card["family"]).from_config(spec, card["config"])
        self.surrogate = surrogate.with_threshold(card.get("spike_threshold"))  # as load() gives

    @property
    def spec(self) -> IOSpec:
        return self.surrogate.spec

    @property
    def latency(self) -> int:
        return self.surrogate.latency

    def init(self, key: Array | None = None):
        """The trained weights (``key`` is ignored: they are not random)."""
        return jax.tree.map(jnp.asarray, _weights(self.name)[1])

    def init_state(self, params=None):
        return self.surrogate.init_state(params)

    def apply(self, params, inputs, state=None) -> tuple[Outputs, Any]:
        return self.surrogate.apply(params, inputs, state)


def register_builtins() -> None:
    """Register the built-in families and every shipped surrogate (by folder name, no card read).

    The ``MLP`` is not a family here: it maps circuit parameters to response statistics, with no
    time axis, state or streaming, so it is not a ``Simulator`` and the protocol does not apply.
    """
    from .._registry import register, register_family
    from .._saving import pretrained
    from ._cnn_lstm import CNNLSTM
    from ._elm import ELM
    from ._encoder_decoder import ConvEncoderDecoder
    from ._tcn import TCN

    register_family("tcn", TCN, "causal TCN surrogate (Beniaguev 2021)")
    register_family("cnn-lstm", CNNLSTM, "closed-loop CNN-LSTM surrogate (Olah 2022)")
    register_family("elm", ELM, "ELM neuron surrogate (Spieler 2024)")
    register_family(
        "encoder-decoder", ConvEncoderDecoder, "CoNNear-style conv encoder-decoder surrogate"
    )
    for name in pretrained():
        register(name, functools.partial(Pretrained, name), functools.partial(_describe, name))


def _describe(name: str) -> str:
    """A shipped surrogate's registry description, from its card (read when asked for)."""
    from .._saving import read_card

    card = read_card(name)
    teacher = card["teacher"]["name"]
    kwargs = "".join(f", {k}={v}" for k, v in card["teacher"].get("kwargs", {}).items())
    return (
        f"shipped {card['family']} surrogate ({card.get('n_params', 0):,} trained weights) "
        f"of {teacher}{kwargs}; init() gives its trained weights"
    )
