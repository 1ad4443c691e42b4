"""A laptop-sized layer-5 pyramidal cell with NMDA synapses, and its AMPA-only twin."""

from __future__ import annotations

import dataclasses
import math

import diffrax

from ..solvers import CableBackwardEuler
from ._cable_neuron import CableNeuron, Membrane
from ._morphology import Morphology
from .synapses import AMPA, GABA_A, NMDA

N_TUFT, N_BASAL = 6, 6
_DEFAULT_SOLVER = CableBackwardEuler()
_FIXED_STEPS = diffrax.ConstantStepSize()

# The linear-dendrite control (``ReducedL5PC(nmda=False, **LINEAR_SYNAPSES)``): effectively
# current-based synapses (reversals at ±1000 mV keep the driving force within 5 % up to −20 mV),
# conductances rescaled to the same current at rest (AMPA at −70 mV, GABA_A at −66 mV) × 0.7 and
# × 2, which match the AMPA twin's rate (2.8 Hz). Its only nonlinearity is the HH soma.
LINEAR_SYNAPSES = {
    "e_ampa": 1000.0,
    "ampa_scale": 0.7 * 1.6 * 70.0 / 1070.0,
    "e_gaba": -1000.0,
    "gaba_scale": 2.0 * 14.0 / 934.0,
}


def reduced_l5pc_morphology(
    tuft_length: float = 50.0, tuft_diameter: float = 0.8, tuft_compartments: int = 4
) -> Morphology:
    """48 compartments (``reference/dendritic_neuron.md`` §5.1): a 20 × 20 µm soma; an apical trunk
    of 5 × 60 µm tapering 3 → 2 µm; 6 tuft branches of 4 × 50 µm, 0.8 µm wide, from the trunk's
    end; 6 basal branches of 3 × 50 µm, 0.8 µm wide, from the soma. Compartments are numbered
    soma, trunk, tuft branch by branch, then basal branch by branch."""
    m = Morphology.soma(20.0, 20.0)
    m, trunk = m.add_branch(0, 5, 60.0, (3.0, 2.0), "trunk")
    for _ in range(N_TUFT):
        m, _ = m.add_branch(trunk[-1], tuft_compartments, tuft_length, tuft_diameter, "tuft")
    for _ in range(N_BASAL):
        m, _ = m.add_branch(0, 3, 50.0, 0.8, "basal")
    return m


def ReducedL5PC(  # noqa: N802 — a named cell: a factory of CableNeuron
    nmda: bool = True,
    *,
    n_fac: float = 2.0,
    ampa_scale: float = 1.6,
    e_ampa: float = AMPA.e_rev,
    e_gaba: float = GABA_A.e_rev,
    gaba_scale: float = 1.0,
    celsius: float = 6.3,
    ih: bool = False,
    ca_hot_zone: bool = False,
    tuft_length: float = 50.0,
    tuft_diameter: float = 0.8,
    record_dendrites: bool = False,
    dt: float = 1.0,
    solver_dt: float = 0.025,
    solver: diffrax.AbstractSolver = _DEFAULT_SOLVER,
    stepsize_controller: diffrax.AbstractStepSizeController = _FIXED_STEPS,
    max_steps: int = 100_000,
) -> CableNeuron:
    """The reduced L5 pyramidal cell of ``reference/dendritic_neuron.md`` §5 (a
    :class:`CableNeuron`), after Beniaguev,
    Segev & London (2021, Neuron 109:2727), whose NMDA synapses made their full cell need a deep
    network; ``ReducedL5PC(nmda=False)`` is the AMPA-only twin (for which one layer sufficed
    there; on this reduced cell both need ≥ 2 TCN layers, the twin being easier at every depth:
    ``benchmarks/results/dendritic_depth_sweep.png``). The twin's depth comes from its HH squid
    soma, not its dendrites: with effectively current-based synapses (``e_ampa=1000``,
    ``e_gaba=-1000``, conductances rescaled: :data:`LINEAR_SYNAPSES`) the dendrites are nearly linear and one layer
    still falls short (``scripts/dendritic.py``, cell ``ampa-linear``).

    Morphology: :func:`reduced_l5pc_morphology` (48 compartments). Membrane (§5.2): C_m 1 µF/cm²
    (soma, trunk) and 2 µF/cm² (thin branches, spine correction); R_a 100 Ω·cm; dendritic leak
    0.05 mS/cm² at −70 mV; HH squid channels at the soma (NEURON ``hh``, 6.3 °C).
    Synapses (§5.3): every dendritic compartment is a site with one excitatory channel (AMPA
    0.3/3 ms, 1 nS peak; NMDA 2/70 ms, ``n_fac`` nS, Mg²⁺ block) and one inhibitory channel
    (GABA_A 0.2/8 ms, 1.5 nS, −80 mV). The AMPA twin has no NMDA and ``ampa_scale`` × the AMPA
    conductance (§5.4). ``e_ampa``, ``e_gaba`` (mV) and ``gaba_scale`` change the reversal
    potentials and the GABA_A conductance (far-away reversals with small conductances make the
    synapses current-based: a linear-dendrite control). Inputs: 47 excitatory then 47 inhibitory
    event counts per 1 ms bin (trunk, tuft, basal order); outputs: soma ``"v"`` (mV) and
    ``"spikes"`` at 1 ms.
    Options (off by default, as in the spec's v1): ``ih`` — Hay et al. (2011)'s Ih, 0.2 mS/cm² at
    the soma and basal dendrites and 0.2·(−0.87 + 2.09·e^(0.0031·d/µm)) mS/cm² apically;
    ``ca_hot_zone`` — Ca_HVA 0.555 and Ca_LVAst 18.7 mS/cm² (Hay's hot-zone densities) on the
    first two compartments of every tuft branch, calcium reversal fixed at 132 mV.

    Calibration (§5.5, ``tests/test_l5pc.py``): rest −66.0 mV; 10 coincident events on the two
    distal compartments of a tuft branch give a local plateau above −30 mV for 41 ms and 7.1 mV at
    the soma with ``n_fac = 2`` (23 ms with the spec's starting value 1.5, hence 2); the AMPA twin's
    local EPSP is 8 ms wide at half height. Paired inputs (4 + 4 events) on one tuft branch give
    31 % more time-integrated somatic depolarisation than on two branches (NMDA cell) and 24 %
    less (AMPA twin: sublinear).
    """
    m = reduced_l5pc_morphology(tuft_length, tuft_diameter)
    membrane = Membrane.by_label(
        m,
        c_m={"soma": 1.0, "trunk": 1.0, "*": 2.0},
        g_pas={"soma": 0.0, "*": 0.05},
        e_pas={"*": -70.0},
        hh={"soma": (120.0, 36.0, 0.3)},
        celsius=celsius,
    )
    if ih:  # Hay et al. 2011: 0.2 mS/cm² at soma and basal, rising exponentially apically
        apical = [lab in ("trunk", "tuft") for lab in m.label]
        g_h = [
            0.2 * (-0.8696 + 2.087 * math.exp(0.0031 * d)) if a else 0.2
            for d, a in zip(m.path_distance(), apical, strict=True)
        ]
        membrane = membrane._replace(g_h=tuple(g_h))
    if ca_hot_zone:  # Hay et al.'s densities on the first two compartments of each tuft branch
        zone = [i for i in m.where("tuft") if m.branch.index(m.branch[i]) + 2 > i]
        hot = lambda g: tuple(g if i in zone else 0.0 for i in range(m.n))  # noqa: E731
        membrane = membrane._replace(g_ca_hva=hot(0.555), g_ca_lva=hot(18.7))
    ampa = dataclasses.replace(AMPA, e_rev=e_ampa)
    return CableNeuron(
        m,
        membrane,
        sites=tuple(range(1, m.n)),
        ampa=ampa if nmda else dataclasses.replace(ampa, g_max=AMPA.g_max * ampa_scale),
        nmda=dataclasses.replace(NMDA, g_max=n_fac) if nmda else None,
        gaba=dataclasses.replace(GABA_A, g_max=GABA_A.g_max * gaba_scale, e_rev=e_gaba),
        record_dendrites=record_dendrites,
        dt=dt,
        solver_dt=solver_dt,
        solver=solver,
        stepsize_controller=stepsize_controller,
        max_steps=max_steps,
    )


def reduced_l5pc_input_layout(cell: CableNeuron, input_scale: float = 1.0) -> dict:
    """Where Beniaguev's doubly stochastic input (§5.3) lands on a :func:`ReducedL5PC`: the
    keyword arguments ``segment_lengths``, ``tree``, ``branch`` and ``scale`` of
    :func:`jaxneuro.stimuli.doubly_stochastic` and :class:`jaxneuro.data.BeniaguevSynaptic`
    (``BeniaguevSynaptic(duration_ms, **reduced_l5pc_input_layout(cell))``).

    Two trees, basal (0) and apical = trunk + tuft (1); Beniaguev's per-tree count ranges scaled
    by 47/639 × ``input_scale``; clustered bursts on tuft and basal branches (never the trunk:
    branch −1). With ``input_scale = 1`` the NMDA cell fires 2.4 Hz (97 % of 6 s runs with ≤ 24
    spikes, ISI CV 0.90) and the AMPA twin 2.8 Hz (91 %, CV 0.85) over 64 runs: §5.5(3) holds
    without further tuning.
    """
    m = cell.morphology
    return {
        "segment_lengths": [m.length[i] for i in cell.sites],
        "tree": [0 if m.label[i] == "basal" else 1 for i in cell.sites],
        "branch": [-1 if m.label[i] == "trunk" else m.branch[i] for i in cell.sites],
        "scale": len(cell.sites) / 639 * input_scale,
    }
