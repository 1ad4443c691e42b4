"""Saving and loading trained surrogates with their model cards and teachers."""

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxneuro as jn
from jaxneuro._saving import write_card
from jaxneuro.surrogates import TCN
from jaxneuro.training import CheckpointError

TEACHER_KWARGS = {"dt": 1.0, "solver_dt": 0.1}


@pytest.fixture
def saved(tmp_path):
    teacher = jn.create("lif", **TEACHER_KWARGS)
    surrogate = TCN(teacher.spec, n_layers=2, channels=4, kernel_sizes=(5, 3))
    params = surrogate.init(jax.random.key(3))
    leaves, treedef = jax.tree.flatten(params)  # "trained": no two tensors alike (biases start 0)
    leaves = [a + 0.01 * (i + 1) for i, a in enumerate(leaves)]
    params = jax.tree.unflatten(treedef, leaves)
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
    with pytest.raises(CheckpointError, match="weights.safetensors is corrupt or truncated"):
        jn.load(path)
    weights.write_bytes(good)
    card = jn.read_card(path)
    card["config"]["channels"] = [8, 8]
    write_card(path, card)  # a consistent card for another model
    with pytest.raises(CheckpointError, match="shape"):
        jn.load(path)
    (path / "card.json").write_text("{not json")
    with pytest.raises(CheckpointError, match="card.json is corrupt: not valid JSON"):
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


# ------------------------------------------------------------------------------ checksums


def _same_shape_pair(path):
    from safetensors.numpy import load_file

    arrays = load_file(str(path))
    by_shape = {}
    for name in sorted(arrays):
        by_shape.setdefault((arrays[name].shape, arrays[name].dtype), []).append(name)
    for names in by_shape.values():
        for a in names:
            for b in names:
                if a < b and not np.array_equal(arrays[a], arrays[b]):
                    return arrays, a, b
    raise AssertionError("no two different tensors of one shape")


def _swap_tensors(path):
    """Rewrite ``path`` with two same-shape tensors exchanged, its header metadata kept."""
    from safetensors import safe_open
    from safetensors.numpy import save_file

    with safe_open(str(path), "np") as f:
        metadata = f.metadata()
    arrays, a, b = _same_shape_pair(path)
    arrays[a], arrays[b] = arrays[b], arrays[a]
    save_file(arrays, str(path), metadata=metadata)


def _strip_checksums(path):
    """Make the card look like one saved before checksums."""
    card = json.loads((path / "card.json").read_text())
    del card["card_sha256"], card["weights_sha256"]
    (path / "card.json").write_text(json.dumps(card))


def test_card_records_checksums(saved):
    from jaxneuro._io import file_sha256, json_sha256

    path, _, _ = saved
    card = json.loads((path / "card.json").read_text())
    assert card["weights_sha256"] == file_sha256(path / "weights.safetensors")
    rest = {k: v for k, v in card.items() if k != "card_sha256"}
    assert card["card_sha256"] == json_sha256(rest)
    assert card["spec"]["outputs"][1]["kind"] == "events"  # the spec as IOSpec.to_json writes it


def test_flipped_byte_in_weights_names_the_file(saved):
    path, _, _ = saved
    weights = path / "weights.safetensors"
    raw = bytearray(weights.read_bytes())
    raw[-3] ^= 0x01  # one bit of the last tensor's data: still a valid safetensors file
    weights.write_bytes(bytes(raw))
    with pytest.raises(CheckpointError, match=r"lif-tiny/weights.safetensors is corrupt"):
        jn.load(path)
    _strip_checksums(path)  # a card without weights_sha256: the file's own checksum catches it
    with pytest.raises(CheckpointError, match=r"lif-tiny/weights.safetensors is corrupt"):
        jn.load(path)


def test_swapped_same_shape_weights_are_caught(saved):
    path, _, _ = saved
    _swap_tensors(path / "weights.safetensors")
    with pytest.raises(CheckpointError, match="weights.safetensors is corrupt"):
        jn.load(path)
    _strip_checksums(path)
    with pytest.raises(CheckpointError, match="swapped"):
        jn.load(path)


def test_edited_or_garbage_card_names_the_file(saved):
    path, _, _ = saved
    card_file = path / "card.json"
    text = card_file.read_text()
    card_file.write_text(text.replace('"auc": 0.5', '"auc": 0.9'))  # hand-edited
    with pytest.raises(CheckpointError, match=r"lif-tiny/card.json is corrupt.*card_sha256"):
        jn.read_card(path)
    garbage = bytes(range(256)) * 4
    card_file.write_bytes(garbage)
    with pytest.raises(CheckpointError, match=r"lif-tiny/card.json is corrupt: not UTF-8"):
        jn.load(path)
    card_file.write_bytes(text.encode()[:100] + b"\xff\xfe" + text.encode()[102:])
    with pytest.raises(CheckpointError, match=r"card.json is corrupt"):
        jn.read_card(path)
    card_file.write_text("[1, 2]")
    with pytest.raises(CheckpointError, match=r"card.json must hold a JSON object"):
        jn.read_card(path)


def test_cards_from_before_checksums_still_load(saved):
    path, surrogate, params = saved
    _strip_checksums(path)
    loaded, loaded_params = jn.load(path)
    for a, b in zip(jax.tree.leaves(loaded_params), jax.tree.leaves(params), strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("name", jn.pretrained())
def test_shipped_cards_carry_checksums(name):
    from jaxneuro._io import file_sha256

    card = jn.read_card(name)  # verifies card_sha256
    path = jn._saving._resolve(name)[0]
    assert card["weights_sha256"] == file_sha256(path / "weights.safetensors")
    assert all("kind" in c for c in card["spec"]["inputs"] + card["spec"]["outputs"])
