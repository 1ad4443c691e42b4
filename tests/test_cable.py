"""The cable solver and CableNeuron against closed forms, dense linear algebra and the HH point
model (float64 unless said)."""

import math

import diffrax
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxneuro.models import CableNeuron, HodgkinHuxley, Membrane, Morphology
from jaxneuro.solvers import CableBackwardEuler, CableTree


@pytest.fixture(autouse=True)
def x64():
    with jax.enable_x64(True):
        yield


def random_tree(seed, n=30):
    rng = np.random.default_rng(seed)
    m = Morphology.soma(15.0, 15.0)
    while m.n < n:
        parent = int(rng.integers(0, m.n))
        m, _ = m.add_branch(parent, int(rng.integers(1, 4)), 40.0, (2.0, 0.6), "dend")
    return m


def dense_matrix(tree, diag, coupling):
    a = np.diag(np.asarray(diag))
    for k, p in enumerate(tree.node_parent):
        if p >= 0:
            a[k, p] = a[p, k] = coupling[k]
    return a


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_tree_solve_equals_dense_solve(seed):
    m = random_tree(seed)
    tree = CableTree.build(
        m.parent, m.half_resistance_factor().tolist(), [lab == "soma" for lab in m.label]
    )
    assert tree.n_nodes > m.n, "the random tree should have junctions (≥ 2 children at an end)"
    rng = np.random.default_rng(seed)
    g = np.asarray(tree.conductances(100.0))
    diag = np.zeros(tree.n_nodes)
    diag[: m.n] = rng.uniform(1e-6, 1e-5, m.n)  # membrane + capacitive terms
    k = np.arange(1, tree.n_nodes)
    np.add.at(diag, k, g[k])
    np.add.at(diag, np.asarray(tree.node_parent)[k], g[k])
    rhs = rng.normal(size=tree.n_nodes)
    x = tree.solve(jnp.asarray(diag), -jnp.asarray(g), jnp.asarray(rhs))
    np.testing.assert_allclose(x, np.linalg.solve(dense_matrix(tree, diag, -g), rhs), rtol=1e-10)


def test_axial_current_conserves_charge_and_matches_matrix():
    m = random_tree(3)
    tree = CableTree.build(
        m.parent, m.half_resistance_factor().tolist(), [lab == "soma" for lab in m.label]
    )
    g = tree.conductances(150.0)
    v = jnp.asarray(np.random.default_rng(0).normal(-65, 5, m.n))
    current = tree.axial_current(v, g)
    assert abs(float(current.sum())) < 1e-9 * float(jnp.abs(current).max())
    # Eliminating the junctions (Schur complement) of the Laplacian gives the same currents.
    lap = dense_matrix(tree, np.zeros(tree.n_nodes), -np.asarray(g))
    lap -= np.diag(lap.sum(axis=1))  # the graph Laplacian: axial current = −lap·v
    c, j = np.arange(m.n), np.arange(m.n, tree.n_nodes)
    schur = lap[np.ix_(c, c)] - lap[np.ix_(c, j)] @ np.linalg.solve(
        lap[np.ix_(j, j)], lap[np.ix_(j, c)]
    )
    np.testing.assert_allclose(current, -schur @ np.asarray(v), rtol=1e-9, atol=1e-12)


def ball_and_stick(n_dend=100, length=1000.0, diameter=2.0, g_pas=0.05):
    m = Morphology.soma(20.0, 20.0)
    m, _ = m.add_branch(0, n_dend, length / n_dend, diameter, "dend")
    zeros = (0.0,) * m.n
    membrane = Membrane(
        (1.0,) * m.n, (g_pas,) * m.n, (-70.0,) * m.n, zeros, zeros, zeros, v_init=-70.0
    )
    return CableNeuron(
        morphology=m,
        membrane=membrane,
        electrodes=(0,),
        record_dendrites=True,
        dt=1.0,
        solver_dt=0.5,
    )


def test_passive_cable_matches_the_analytic_ball_and_stick():
    """Input resistance and steady-state attenuation of a sealed-end cable, within 1 %
    (Rall 1959; Johnston & Wu, Foundations of Cellular Neurophysiology, ch. 4)."""
    length_um, d_um, g_pas, r_a = 1000.0, 2.0, 0.05, 100.0
    cell = ball_and_stick(length=length_um, diameter=d_um, g_pas=g_pas)
    current = 0.1  # nA
    out, _ = cell.apply(cell.init(), jnp.full((800, 1), current))  # 40 τ: steady state
    dv = np.asarray(out["v"])[-1] + 70.0
    v_end = np.asarray(out["v_dend"])[-1, -1] + 70.0

    r_m = 1e3 / g_pas  # Ω·cm²
    d, length = d_um * 1e-4, length_um * 1e-4  # cm
    lam = math.sqrt(d * r_m / (4 * r_a))  # cm
    r_axial = 4 * r_a / (math.pi * d**2)  # Ω/cm
    g_cable = math.tanh(length / lam) / (r_axial * lam)  # S
    g_soma = math.pi * (20e-4) ** 2 * (g_pas * 1e-3)  # S
    r_in = 1 / (g_cable + g_soma) / 1e6  # MΩ
    np.testing.assert_allclose(dv / current, r_in, rtol=0.01)
    x_end = length - 0.5 * length / 100  # centre of the last compartment
    attenuation = math.cosh((length - x_end) / lam) / math.cosh(length / lam)
    np.testing.assert_allclose(v_end / dv, attenuation, rtol=0.01)


def test_backward_euler_is_first_order_and_crank_nicolson_far_more_accurate():
    """Passive transient after a current step. Backward Euler halves its error with the step.
    Crank–Nicolson is not L-stable: the step excites stiff axial modes that ring, so its error
    does not fall cleanly as h²; it is still two orders of magnitude below backward Euler's
    (measured at h = 0.25 ms: 0.0031 vs 0.277 mV)."""

    def soma_trace(theta, h):
        cell = ball_and_stick(n_dend=20)
        cell = CableNeuron(**{**cell.__dict__, "solver": CableBackwardEuler(theta), "solver_dt": h})
        return np.asarray(cell.apply(cell.init(), jnp.full((20, 1), 0.2))[0]["v"])

    reference = soma_trace(0.5, 1 / 128)
    be = [np.abs(soma_trace(1.0, h) - reference).max() for h in (0.25, 0.125)]
    assert math.log2(be[0] / be[1]) == pytest.approx(1.0, abs=0.1)
    cn = np.abs(soma_trace(0.5, 0.25) - reference).max()
    assert cn < be[0] / 30


def test_single_compartment_equals_the_hh_point_model():
    """A soma-only CableNeuron with NEURON hh is the HodgkinHuxley point model: same stock
    solver, same trace (the models only share the rate functions)."""
    tsit = dict(
        solver=diffrax.Tsit5(), stepsize_controller=diffrax.PIDController(rtol=1e-9, atol=1e-9)
    )
    m = Morphology.soma(20.0, 20.0)
    membrane = Membrane((1.0,), (0.0,), (-70.0,), (120.0,), (36.0,), (0.3,))
    cell = CableNeuron(
        morphology=m, membrane=membrane, electrodes=(0,), dt=0.1, solver_dt=0.01, **tsit
    )
    point = HodgkinHuxley(dt=0.1, solver_dt=0.01, **tsit)
    density = 10.0  # µA/cm²
    current_na = density * m.area_cm2()[0] * 1e3
    a = cell.apply(cell.init(), jnp.full((500, 1), current_na))[0]
    b = point.apply(point.init(), jnp.full((500, 1), density))[0]
    assert int(b["spikes"].sum()) >= 3
    np.testing.assert_allclose(a["v"], b["v"], atol=1e-5)
    np.testing.assert_array_equal(a["spikes"], b["spikes"])
    # The default step (backward Euler, then exponential-Euler gates at the new v, 0.025 ms) is
    # first order: spike times within 0.25 ms over 50 ms (measured 0.1, 0.0, 0.1, 0.2 ms at the
    # 0.1 ms sample resolution; with gates at the old v it was 0.2, 0.3, 0.6, 0.9 ms).
    default = CableNeuron(morphology=m, membrane=membrane, electrodes=(0,), dt=0.1)
    c = default.apply(default.init(), jnp.full((500, 1), current_na))[0]
    assert int(c["spikes"].sum()) == int(b["spikes"].sum())
    t_ref, t_be = (np.flatnonzero(np.asarray(o["spikes"])) * 0.1 for o in (b, c))
    lag = t_be - t_ref
    assert np.abs(lag).max() <= 0.25


def test_swc_round_trip(tmp_path):
    swc = tmp_path / "cell.swc"
    swc.write_text(
        "# id type x y z r parent\n"
        "1 1 0 0 0 10 -1\n"
        "2 3 10 0 0 1 1\n"  # basal: 10 µm from the soma centre
        "3 3 30 0 0 1 2\n"
        "4 3 30 0 0 1 3\n"  # zero length: merged
        "5 4 0 50 0 1.5 1\n"  # apical
        "6 4 0 80 0 0.5 5\n"
        "7 4 10 80 0 0.5 5\n"
    )
    m = Morphology.from_swc(swc)
    assert m.n == 6
    assert m.label == ("soma", "basal", "basal", "apical", "apical", "apical")
    np.testing.assert_allclose(m.length, [20.0, 10.0, 20.0, 50.0, 30.0, math.hypot(10, 30)])
    assert m.parent == (-1, 0, 1, 0, 3, 3)
    assert m.branch[1] == m.branch[2] and m.branch[4] != m.branch[5]
    zeros = (0.0,) * m.n
    membrane = Membrane(
        (1.0,) * m.n, (0.05,) * m.n, (-70.0,) * m.n, zeros, zeros, zeros, v_init=-70.0
    )
    cell = CableNeuron(morphology=m, membrane=membrane, sites=(2, 5), nmda=None)
    x = jnp.zeros((20, 4)).at[5, 0].set(1.0)
    v = cell.apply(cell.init(), x)[0]["v"]
    assert float(v.max()) > -70.0 + 0.01  # the basal AMPA event reaches the soma


def test_bad_morphologies_and_cells_raise(tmp_path):
    with pytest.raises(ValueError, match="parent must precede"):
        Morphology((-1, 2, 1), (1.0,) * 3, (1.0,) * 3, ("soma",) * 3, (0,) * 3)
    with pytest.raises(ValueError, match="diameter"):
        Morphology.soma(10.0, 0.0)
    with pytest.raises(ValueError, match="not a compartment"):
        Morphology.soma().add_branch(3, 2, 10.0, 1.0, "dend")
    bad = tmp_path / "bad.swc"
    bad.write_text("1 3 0 0 0 1 -1\n")
    with pytest.raises(ValueError, match="no soma"):
        Morphology.from_swc(bad)
    bad.write_text("1 1 0 0 0 1 -1\n2 3 1 0 0 1 7\n")
    with pytest.raises(ValueError, match="does not exist"):
        Morphology.from_swc(bad)
    with pytest.raises(ValueError, match="theta"):
        CableBackwardEuler(0.2)
    cell = ball_and_stick(n_dend=3)
    with pytest.raises(ValueError, match="electrodes"):
        CableNeuron(**{**cell.__dict__, "electrodes": (9,)})
    with pytest.raises(ValueError, match="channels"):
        cell.apply(cell.init(), jnp.zeros((10, 3)))
