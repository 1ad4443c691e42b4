"""The whole auditory periphery as one :class:`~jaxneuro.Chain`, and the fibre population.

Verhulst, Altoè & Vasilkov (2018, Hear. Res. 360:55): sound pressure at 100 kHz through the
middle ear, the transmission-line cochlea, the inner hair cells (100 kHz), decimation to 20 kHz
and the auditory-nerve synapses, at chosen characteristic frequencies. Cochlear synaptopathy
is a smaller fibre population per CF (:func:`synaptopathy`, :func:`population_rate`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import jax.numpy as jnp
from jaxtyping import Array, Float

from ..._chain import Chain
from .cochlea import CONNEAR_SECTIONS, TransmissionLineCochlea
from .decimate import Decimate
from .hair_cell import InnerHairCell
from .hearing_loss import poles_for_audiogram
from .middle_ear import MiddleEar
from .nerve import AuditoryNerve

FIBRES_PER_CF: dict[str, int] = {"hsr": 13, "msr": 3, "lsr": 3}
"""Normal-hearing fibres per characteristic frequency (V18: 13 HSR, 3 MSR, 3 LSR)."""


def AuditoryPeriphery(  # noqa: N802 — a constructor of a Chain
    sections: Sequence[int] = CONNEAR_SECTIONS,
    *,
    fibres: Sequence[str] = ("hsr", "msr", "lsr"),
    decimation: str = "causal",
    audiogram=None,
    starting_poles=None,
    irregularities: bool = False,
    corrected: bool = False,
) -> Chain:
    """Middle ear → TL cochlea → IHC → decimation → ANF synapses, one :class:`~jaxneuro.Chain`.

    Input ``pressure`` [Pa] every 0.01 ms (100 kHz, calibrated with :mod:`jaxneuro.stimuli`);
    outputs ``rate_<fibre>`` [spikes/s] × ``len(sections)`` every 0.05 ms (20 kHz), in the
    sections' order (default: the 201 CoNNear CFs, 12 kHz → 113 Hz, descending).

    Args:
        sections: cochlear sections read out (1 … 1000; see
            :func:`~jaxneuro.models.auditory.cochlea.nearest_sections` to pick them by CF).
        fibres: fibre types of the nerve stage.
        decimation: ``"causal"`` (a causal FIR: streams, latency 3 output samples) or
            ``"zero-phase"`` (the reference's offline filter: whole signals only).
        audiogram: outer-hair-cell loss, a preset name (``"flat25"``, ``"flat35"``,
            ``"slope25"``, ``"slope35"``) or ``((freq_hz, db_hl), …)``, turned into starting
            poles by :func:`~jaxneuro.models.auditory.poles_for_audiogram`.
        starting_poles, irregularities: the cochlea's starting poles (instead of an
            ``audiogram``) and irregularities (:class:`TransmissionLineCochlea`).
        corrected: the ANF's V_rest at the IHC's true rest instead of the reference's −57.03 mV.
    """
    if audiogram is not None:
        if starting_poles is not None:
            raise ValueError("AuditoryPeriphery: give audiogram or starting_poles, not both")
        starting_poles = poles_for_audiogram(audiogram)
    cochlea = TransmissionLineCochlea(
        sections=sections,
        starting_poles=starting_poles,
        irregularities=irregularities,
    )
    n = len(cochlea.sections)
    return Chain(
        [
            MiddleEar(),
            cochlea,
            InnerHairCell(n_channels=n),
            Decimate(mode=decimation, width=n),
            AuditoryNerve(fibres=tuple(fibres), n_channels=n, corrected=corrected),
        ]
    )


def synaptopathy(fibres_lost: float) -> dict[str, int]:
    """Fibres per CF after losing the fraction ``fibres_lost`` (0 … 1) of the 19 per CF,
    removing LSR fibres first, then MSR, then HSR (low-spontaneous-rate fibres are the most
    vulnerable; Furman, Kujawa & Liberman 2013)."""
    if not 0.0 <= fibres_lost <= 1.0:
        raise ValueError(f"fibres_lost must be a fraction in [0, 1], got {fibres_lost!r}")
    remove = round(fibres_lost * sum(FIBRES_PER_CF.values()))
    counts = dict(FIBRES_PER_CF)
    for fibre in ("lsr", "msr", "hsr"):
        taken = min(counts[fibre], remove)
        counts[fibre] -= taken
        remove -= taken
    return counts


def population_rate(
    outputs: Mapping[str, Array], counts: Mapping[str, float] = FIBRES_PER_CF
) -> Float[Array, "T ..."]:
    """The summed firing rate [spikes/s] of ``counts[fibre]`` fibres of each type per CF:
    ``Σ counts[f] · outputs["rate_f"]`` over the fibre types present in ``outputs``."""
    missing = [f for f, c in counts.items() if c and f"rate_{f}" not in outputs]
    if missing:
        raise ValueError(
            f"population_rate: counts name fibres {missing} whose rates are not in the outputs "
            f"({', '.join(outputs)})"
        )
    return sum(c * jnp.asarray(outputs[f"rate_{f}"]) for f, c in counts.items() if c)
