"""jaxneuro's cable cell against NEURON 9 on the same morphology, mechanisms and inputs.

The NEURON cell is rebuilt generically from the jaxneuro cell (``benchmarks/_neuron_cable.py``:
one ``nseg = 1`` section per compartment, ``hh``/``pas``, ``Exp2Syn`` for AMPA and GABA_A, the
repo's ``JnExp2NMDA.mod`` for NMDA, NetCon events at the start of each 1 ms bin, fixed step
0.025 ms, ``secondorder = 0``, exact ``hh`` rates). jaxneuro runs in float64 and is read at every
step. Inputs: Bernoulli event counts per bin and site, co-modulated by a U(0, 2) envelope per
100 ms, 1 s (:func:`bernoulli_inputs`; NMDA cell p_exc 0.011, AMPA twin 0.015, p_inh = p_exc/2,
seed 2). Spike times: upward 0 mV crossings, linearly interpolated, k-th against k-th.

Measured (NEURON 9.0.2, ``ReducedL5PC``; "tuft" = distal compartment 9 of the first tuft branch):

==========  ==========  =========  ======  ===============  ==========  ==========
cell        soma mean   soma max   spikes  spike |Δt| max   tuft mean   tuft max
            |ΔV| (mV)   |ΔV| (mV)          (mean) (ms)      |ΔV| (mV)   |ΔV| (mV)
==========  ==========  =========  ======  ===============  ==========  ==========
NMDA        0.059       3.55       3 / 3   0.024 (0.016)    0.042       1.00
AMPA twin   6e-7        6e-5       6 / 6   3e-7 (2e-7)      3e-7        6e-6
==========  ==========  =========  ======  ===============  ==========  ==========

Single subthreshold events (AMPA+NMDA, a count of 2, GABA_A; 100 ms): every compartment within
4 µV of NEURON, same step of onset: units, event timing and junctions agree.

:class:`~jaxneuro.solvers.CableBackwardEuler` takes NEURON's staggered fixed step (v first, then
the gates with their rates at the new v), so on the AMPA twin it is the same algorithm and only
rounding differs. On the NMDA cell the rest (0.06 mV, 0.02 ms) is NEURON's linearisation dI/dV
of the Mg²⁺-blocked current, where jaxneuro freezes g over a step. (Before the solver took this
order, it advanced the gates with the rates at the old v: spikes came 0.2–0.3 ms late, and
against NEURON at 0.001 ms its first-spike error was +0.32 ms vs NEURON's +0.10 ms.)
"""

import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("neuron")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

import _neuron_cable as nc  # noqa: E402

from jaxneuro.models import CableNeuron, Membrane, Morphology, ReducedL5PC  # noqa: E402

pytestmark = pytest.mark.peers

SOMA_MEAN_MV = 0.5  # issue targets
SPIKE_MS = 0.2
CASES = {"nmda": (True, 0.011), "ampa": (False, 0.015)}


def tuft_tip(cell) -> int:
    """The distal compartment of the first tuft branch."""
    m = cell.morphology
    first = m.where("tuft")[0]
    return max(i for i in m.where("tuft") if m.branch[i] == m.branch[first])


def compare(cell, x, solver=None) -> tuple[dict, dict]:
    nrn = nc.build_neuron_cell(cell).simulate(x)
    jn = nc.simulate_jaxneuro(cell, x, solver=solver)
    assert nrn["v"].shape == jn["v"].shape
    np.testing.assert_allclose(nrn["t"], jn["t"], atol=1e-9)
    tip = tuft_tip(cell)
    soma = nc.compare_traces(jn["t"], nrn["v"][:, 0], jn["v"][:, 0])
    tuft = nc.compare_traces(jn["t"], nrn["v"][:, tip], jn["v"][:, tip])
    return soma, tuft


@pytest.fixture(scope="module")
def runs():
    cache = {}

    def get(case):
        if case not in cache:
            nmda, p_exc = CASES[case]
            cell = ReducedL5PC(nmda=nmda)
            x = nc.bernoulli_inputs(2, 1000, len(cell.sites), p_exc, p_exc / 2)
            cache[case] = compare(cell, x)
        return cache[case]

    return get


def test_single_events_match_every_compartment():
    cell = ReducedL5PC()
    x = np.zeros((100, 2 * len(cell.sites)), np.float32)
    x[5, 9] = 1  # AMPA + NMDA, tuft
    x[20, 30] = 2  # a count of 2, basal
    x[40, len(cell.sites) + 9] = 1  # GABA_A
    nrn = nc.build_neuron_cell(cell).simulate(x)
    jn = nc.simulate_jaxneuro(cell, x)
    dv = np.abs(nrn["v"] - jn["v"])
    assert dv.max() < 0.01, dv.max()
    # the first event (t = 5 ms, step 200) acts from the same step on in compartment 10 (site 9);
    # g = B − A is 0 at the jump, so v moves from the second step of the bin
    rise_nrn = np.argmax(np.diff(nrn["v"][:, 10]) > 1e-3)
    rise_jn = np.argmax(np.diff(jn["v"][:, 10]) > 1e-3)
    assert rise_nrn == rise_jn == 201


@pytest.mark.parametrize("case", list(CASES))
def test_reduced_l5pc_agrees_with_neuron(runs, case):
    soma, tuft = runs(case)
    assert soma["n_spikes_ref"] >= 3
    assert soma["n_spikes_got"] == soma["n_spikes_ref"]
    assert soma["mean_abs_dv_mv"] < SOMA_MEAN_MV
    assert soma["max_abs_dt_ms"] < SPIKE_MS
    assert tuft["mean_abs_dv_mv"] < SOMA_MEAN_MV
    if case == "ampa":  # the same algorithm: only rounding differs
        assert soma["max_abs_dv_mv"] < 1e-2
        assert tuft["max_abs_dv_mv"] < 1e-2


def test_builder_is_generic_junctions_electrodes_and_parameters():
    """A small cell with a three-way junction at a dendrite's end, HH in a dendrite, sites on
    every dendrite, an electrode, and edited parameters: matches NEURON to rounding."""
    m = Morphology.soma(15.0, 15.0)
    m, trunk = m.add_branch(0, 2, 40.0, (2.0, 1.5), "apical")
    for _ in range(3):
        m, _ = m.add_branch(trunk[-1], 2, 30.0, 0.7, "tuft")
    m, _ = m.add_branch(0, 2, 30.0, 1.0, "basal")
    membrane = Membrane.by_label(
        m,
        c_m={"soma": 1.0, "*": 1.5},
        g_pas={"soma": 0.0, "*": 0.1},
        e_pas={"*": -68.0},
        hh={"soma": (120.0, 36.0, 0.3), "apical": (20.0, 10.0, 0.0)},
        celsius=16.0,
    )
    cell = CableNeuron(
        morphology=m,
        membrane=membrane,
        sites=tuple(range(1, m.n)),
        nmda=None,  # NEURON linearises the NMDA current differently (module docstring)
        electrodes=(0,),
    )
    params = cell.init()
    params["ampa"]["g_max"] = params["ampa"]["g_max"] * 2
    params["gaba"]["tau_decay"] = params["gaba"]["tau_decay"] * 1.5
    n_sites = len(cell.sites)
    x = nc.bernoulli_inputs(0, 200, n_sites, 0.02, 0.01)
    current = np.where((np.arange(200) >= 50) & (np.arange(200) < 150), 0.3, 0.0)
    x = np.concatenate([x, current[:, None].astype(np.float32)], axis=1)
    nrn = nc.build_neuron_cell(cell, params).simulate(x)
    jn = nc.simulate_jaxneuro(cell, x, params)
    assert len(nc.crossings(nrn["t"], nrn["v"][:, 0])) >= 2  # the electrode makes it fire
    dv = np.abs(nrn["v"] - jn["v"])
    assert dv.max() < 1e-2, dv.max()
