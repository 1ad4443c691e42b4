"""Synapses, one kind per file behind :class:`AbstractSynapse`: exponential and alpha conductances
and current-based (exponential current, δ pulse) synapses for point neurons, double-exponential receptors (AMPA, NMDA, GABA_A) for cable neurons."""

from typing import Literal

from ._alpha import AlphaSynapse as AlphaSynapse
from ._base import AbstractSynapse as AbstractSynapse
from ._current import CurrentSynapse as CurrentSynapse
from ._current import DeltaSynapse as DeltaSynapse
from ._exponential import ExpSynapse as ExpSynapse
from ._receptor import AMPA as AMPA
from ._receptor import GABA_A as GABA_A
from ._receptor import NMDA as NMDA
from ._receptor import Receptor as Receptor
from ._receptor import mg_block as mg_block
from ._receptor import peak_factor as peak_factor

KINDS = {"exp": ExpSynapse, "alpha": AlphaSynapse}


def Synapse(  # noqa: N802 — a constructor by kind
    name: str,
    kind: Literal["exp", "alpha"] = "exp",
    tau: float = 5.0,
    e_rev: float = 0.0,
    weight: float = 1.0,
) -> AbstractSynapse:
    """A point-neuron synaptic input channel by kind: ``"exp"`` (:class:`ExpSynapse`) or
    ``"alpha"`` (:class:`AlphaSynapse`), with time constant ``tau`` (ms), reversal ``e_rev`` (mV)
    and conductance per event ``weight`` (the model's conductance unit)."""
    if kind not in KINDS:
        raise ValueError(f"synapse {name!r}: kind must be one of {sorted(KINDS)}, not {kind!r}")
    return KINDS[kind](name, tau=tau, e_rev=e_rev, weight=weight)
