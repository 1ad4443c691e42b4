"""The analytical models in the simulator registry (``jaxneuro.available()``).

:func:`register_builtins` is called once by :mod:`jaxneuro._registry`, before its first lookup.
"""

from __future__ import annotations

from .._registry import register
from . import LIF, AdEx, HodgkinHuxley, Izhikevich, ReducedL5PC
from .auditory import (
    AuditoryNerve,
    AuditoryPeriphery,
    InnerHairCell,
    MiddleEar,
    TransmissionLineCochlea,
)


def _ampa_twin(**kwargs) -> ReducedL5PC:
    return ReducedL5PC(nmda=False, **kwargs)


def register_builtins() -> None:
    register("hh", HodgkinHuxley, "Hodgkin-Huxley squid axon (NEURON hh), current clamp")
    register(
        "hh-synaptic",
        HodgkinHuxley.olah2022,
        "HH soma with alpha-conductance excitatory/inhibitory inputs (Olah et al. 2022)",
    )
    register("lif", LIF, "leaky integrate-and-fire, current clamp")
    register("adex", AdEx, "adaptive exponential integrate-and-fire (Brette & Gerstner 2005)")
    register("izhikevich", Izhikevich, "Izhikevich 2003 simple model (regime=RS|IB|CH|FS|LTS|…)")
    register(
        "izhikevich-2003",
        Izhikevich.izhikevich2003,
        "Izhikevich 2003 with the paper's 1 ms Gauss-Seidel Euler scheme",
    )
    register(
        "reduced-l5pc",
        ReducedL5PC,
        "reduced L5 pyramidal cell, 48 compartments, AMPA+NMDA/GABA_A inputs (Beniaguev 2021)",
    )
    register(
        "reduced-l5pc-ampa", _ampa_twin, "the reduced L5 pyramidal cell's AMPA-only twin (no NMDA)"
    )
    register(
        "middle-ear",
        MiddleEar,
        "middle ear: 600 Hz-4 kHz band-pass, 18 dB, 100 kHz (Verhulst 2018)",
    )
    register(
        "tl-cochlea",
        TransmissionLineCochlea,
        "transmission-line cochlea, 1000 sections, BM velocity at 201 CFs (Verhulst 2018)",
    )
    register(
        "ihc",
        InnerHairCell,
        "inner hair cell receptor potential, 100 kHz (Altoe 2017; Verhulst 2018)",
    )
    register(
        "anf", AuditoryNerve, "auditory-nerve synapse, HSR/MSR/LSR rates at 20 kHz (Verhulst 2018)"
    )
    register(
        "auditory-periphery",
        AuditoryPeriphery,
        "sound (Pa, 100 kHz) to ANF rates at 201 CFs (20 kHz): the Verhulst 2018 chain",
    )
