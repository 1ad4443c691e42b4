"""Bad parameters raise a clear error naming the bad value, before anything is simulated.

Over every registered analytical model: unknown or misspelt keys (with the close match
suggested), missing keys, values that are not numbers or have the wrong shape, and physically
impossible values (a negative conductance, a non-positive capacitance or time constant) raise a
``ValueError`` at trace time; traced values under ``jit`` raise at run time, naming the parameter.
"""

import copy

import diffrax
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxneuro as jn
from jaxneuro.models import ANY, NONNEGATIVE, POSITIVE, AbstractModel, Receptor, Synapse

SURROGATES = set(jn.surrogate_families()) | set(jn.pretrained())
# composites (the auditory chain) are checked stage by stage, by their stages
ANALYTICAL = sorted(
    name for name in set(jn.available()) - SURROGATES if not isinstance(jn.create(name), jn.Chain)
)


@pytest.fixture(scope="module", params=ANALYTICAL)
def model(request):
    sim = jn.create(request.param)
    return sim, sim.init(), jnp.zeros((2, sim.spec.n_inputs))


def flat(params, prefix=""):
    """``{"a.b": leaf}``."""
    out = {}
    for k, v in params.items():
        out |= flat(v, f"{prefix}{k}.") if isinstance(v, dict) else {f"{prefix}{k}": v}
    return out


def with_value(params, path, value):
    """A copy of ``params`` with the leaf at dotted ``path`` replaced (``...``: removed)."""
    params = copy.deepcopy(params)
    *groups, leaf = path.split(".")
    node = params
    for g in groups:
        node = node[g]
    if value is ...:
        del node[leaf]
    else:
        node[leaf] = value
    return params


def misspell(name):
    return name.replace("_", "") if "_" in name else name + "s"


def test_every_analytical_model_validates_in_the_shared_base():
    assert ANALYTICAL, "no analytical models registered"
    for name in ANALYTICAL:
        assert isinstance(jn.create(name), AbstractModel), name


def test_declared_constraints_name_real_parameters(model):
    sim, params, _ = model
    constraints = sim.constraints()
    assert set(constraints) <= set(flat(params)), set(constraints) - set(flat(params))
    assert set(constraints.values()) <= {POSITIVE, NONNEGATIVE, ANY}
    assert constraints, "no constraint declared"  # "any" too is a statement
    assert set(sim.stiff_parameters) <= set(flat(params)), sim.stiff_parameters
    sim.check_params(params)  # the defaults pass


def test_misspelt_keys_are_named_with_the_close_match(model):
    sim, params, x = model
    for path in flat(params):
        *group, leaf = path.split(".")
        typo = ".".join([*group, misspell(leaf)])
        bad = with_value(params, typo, 1.0)
        with pytest.raises(
            ValueError, match=rf"unknown parameter '{typo}' \(did you mean '{leaf}'"
        ):
            sim.apply(bad, x)


def test_hh_gna_typo_no_longer_runs_with_the_default():
    sim = jn.create("hh")
    with pytest.raises(ValueError, match=r"unknown parameter 'gna' \(did you mean 'g_na'\?\)"):
        sim.apply(sim.init() | {"gna": 50.0}, jnp.zeros((2, 1)))


def test_missing_keys_are_named(model):
    sim, params, x = model
    for path in list(flat(params))[:3]:
        with pytest.raises(ValueError, match=rf"missing parameter\(s\) '{path}'"):
            sim.apply(with_value(params, path, ...), x)
    with pytest.raises(ValueError, match="must be a dict"):
        sim.apply([1.0, 2.0], x)


def test_wrong_types_and_shapes_are_named(model):
    sim, params, x = model
    path, default = next(iter(flat(params).items()))
    wrong = ["fast", None, True, [1.0, [2.0, 3.0]], {"value": 1.0}]
    for value in wrong:
        with pytest.raises(ValueError, match=rf"parameter '{path}' must be"):
            sim.apply(with_value(params, path, value), x)
    too_long = [1.0] * (np.size(default) + 2)
    with pytest.raises(ValueError, match=rf"parameter '{path}' has shape \({len(too_long)},\)"):
        sim.apply(with_value(params, path, too_long), x)
    cells = jnp.stack([jnp.asarray(default)] * 3)  # one value per cell, unvmapped
    with pytest.raises(ValueError, match="batched_params=True"):
        sim.apply(with_value(params, path, cells), x)


def test_accepted_forms(model):
    """Python floats, ints, numpy arrays, and scalars for per-compartment values all pass."""
    sim, params, _ = model
    as_python = jax.tree.map(lambda a: np.asarray(a).tolist(), params)
    sim.check_params(as_python)
    path, default = next(iter(flat(params).items()))
    sim.check_params(with_value(params, path, np.float64(np.ravel(default)[0])))


def test_impossible_values_are_named(model):
    sim, params, x = model
    for path, kind in sim.constraints().items():
        default = flat(params)[path]
        for value in (0.0, -1.0) if kind == POSITIVE else (-1.0,) if kind == NONNEGATIVE else ():
            bad = jnp.full(jnp.shape(default), value)
            if jnp.ndim(default):  # one bad compartment is enough, and named
                bad = jnp.asarray(default).at[-1].set(value)
            rule = "positive \\(> 0\\)" if kind == POSITIVE else "nonnegative \\(>= 0\\)"
            with pytest.raises(ValueError, match=rf"parameter '{path}' must be {rule}, got"):
                sim.apply(with_value(params, path, bad), x)
        if kind == NONNEGATIVE:
            sim.check_params(with_value(params, path, jnp.zeros(jnp.shape(default))))


def test_non_finite_values_are_named(model):
    sim, params, x = model
    path = next(iter(flat(params)))
    with pytest.raises(ValueError, match=rf"parameter '{path}' is nan.*NaN or inf"):
        sim.apply(with_value(params, path, jnp.nan), x)


@pytest.mark.parametrize("name", ["hh-synaptic", "lif", "adex"])
def test_traced_values_raise_at_run_time(name):
    sim = jn.create(name)
    params, x = sim.init(), jnp.zeros((2, sim.spec.n_inputs))
    path = next(p for p, k in sim.constraints().items() if k == POSITIVE)
    run = jax.jit(sim.apply)
    with pytest.raises(Exception, match=rf"parameter '{path}' must be positive"):
        run(with_value(params, path, jnp.asarray(-1.0)), x)
    if params.get("synapses"):  # nested groups too
        with pytest.raises(Exception, match=r"parameter 'synapses.exc.tau' must be positive"):
            run(with_value(params, "synapses.exc.tau", jnp.asarray(-2.0)), x)
    with pytest.raises(Exception, match="NaN or inf"):  # NaN is the NaN guard's, not a sign
        run(with_value(params, path, jnp.asarray(jnp.nan)), x)
    run(params, x)  # good values pass


def test_divergence_names_the_step_and_the_parameters():
    sim = jn.models.HodgkinHuxley(dt=0.5, solver=diffrax.Euler())
    with pytest.raises(Exception, match=r"v diverged.*solver_dt = 0.5 ms.*c_m = 1, g_na = 120"):
        sim.apply(sim.init(), jnp.full((400, 1), 30.0))


def test_components_check_their_own_values():
    with pytest.raises(ValueError, match="parameter 'tau' must be positive"):
        Synapse("exc", tau=-1.0)
    with pytest.raises(ValueError, match="parameter 'weight' must be nonnegative"):
        Synapse("exc", "alpha", weight=-0.1)
    with pytest.raises(ValueError, match="kind must be one of"):
        Synapse("exc", "beta")
    with pytest.raises(ValueError, match="tau_rise"):
        Receptor(g_max=1.0, tau_rise=5.0, tau_decay=2.0, e_rev=0.0)
    with pytest.raises(ValueError, match="parameter 'g_max' must be nonnegative"):
        Receptor(g_max=-1.0, tau_rise=1.0, tau_decay=2.0, e_rev=0.0)
