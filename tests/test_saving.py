"""Saving and loading trained surrogates with their model cards and teachers."""

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxneuro as jn
from jaxneuro.surrogates import TCN
from jaxneuro.training import CheckpointError

TEACHER_KWARGS = {"dt": 1.0, "solver_dt": 0.1}


@pytest.fixture
def saved(tmp_path):
    teacher = jn.create("lif", **TEACHER_KWARGS)
    surrogate = TCN(teacher.spec, n_layers=2, channels=4, kernel_sizes=(5, 3))
    params = surrogate.init(jax.random.key(3))
    path = jn.save(
        tmp_path / "lif-tiny",
        surrogate,
        params,
        teacher="lif",
        teacher_kwargs=TEACHER_KWARGS,
        card={"fidelity": {"auc": 0.5}},
    )
    return path, surrogate, params


def test_save_load_round_trip(saved):
    path, surrogate, params = saved
    loaded, loaded_params = jn.load(path)
    x = jnp.linspace(0.0, 3.0, 50)[:, None]
    np.testing.assert_array_equal(
        loaded.apply(loaded_params, x)[0]["v"], surrogate.apply(params, x)[0]["v"]
    )
    card = json.loads((path / "card.json").read_text())
    assert card["family"] == "TCN" and card["fidelity"] == {"auc": 0.5}
    assert card["n_params"] == sum(a.size for a in jax.tree.leaves(params))
    teacher, teacher_params = jn.load_teacher(path)
    assert isinstance(teacher, jn.models.LIF) and teacher.spec == loaded.spec
    out, _ = teacher.apply(teacher_params, x)  # takes the same inputs
    assert out["v"].shape == (50,)


def test_corrupt_truncated_and_mismatched_files(saved):
    path, _, _ = saved
    weights = path / "weights.safetensors"
    good = weights.read_bytes()
    weights.write_bytes(good[: len(good) // 2])
    with pytest.raises(CheckpointError, match="corrupt or truncated"):
        jn.load(path)
    weights.write_bytes(good)
    card = json.loads((path / "card.json").read_text())
    card["config"]["channels"] = [8, 8]
    (path / "card.json").write_text(json.dumps(card))
    with pytest.raises(CheckpointError, match="shape"):
        jn.load(path)
    (path / "card.json").write_text("{not json")
    with pytest.raises(CheckpointError, match="corrupt"):
        jn.load(path)
    (path / "card.json").unlink()
    with pytest.raises(CheckpointError, match="no card.json"):
        jn.load(path)
    with pytest.raises(FileNotFoundError, match="no saved surrogate"):
        jn.load("no-such-surrogate")


def test_save_refuses_a_teacher_with_another_spec(tmp_path):
    surrogate = TCN(
        jn.create("hh", dt=1.0, solver_dt=0.025).spec, n_layers=1, channels=2, kernel_sizes=3
    )
    with pytest.raises(ValueError, match="spec"):
        jn.save(
            tmp_path / "x",
            surrogate,
            surrogate.init(),
            teacher="lif",
            teacher_kwargs=TEACHER_KWARGS,
        )


@pytest.mark.parametrize("name", jn.pretrained())
def test_shipped_surrogates_load_with_their_teachers(name):
    surrogate, params = jn.load(name)
    teacher, _ = jn.load_teacher(name)
    assert surrogate.spec == teacher.spec
