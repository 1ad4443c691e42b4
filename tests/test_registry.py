"""The registry: built-ins survive early registrations, duplicates raise, listing reads no card,
surrogate families by name, and unknown names suggest close ones."""

import builtins
import io
import os
import pathlib

import pytest

import jaxneuro as jn
from jaxneuro import _registry, _saving
from jaxneuro.surrogates import CNNLSTM, ELM, TCN, ConvEncoderDecoder

MODELS = {"hh", "hh-synaptic", "lif", "adex", "izhikevich", "izhikevich-2003", "reduced-l5pc"}
FAMILIES = {"tcn": TCN, "cnn-lstm": CNNLSTM, "elm": ELM, "encoder-decoder": ConvEncoderDecoder}


@pytest.fixture
def fresh(monkeypatch):
    """An empty registry whose built-ins are not loaded yet, as in a new process (restored after)."""
    monkeypatch.setattr(_registry, "_SIMULATORS", {})
    monkeypatch.setattr(_registry, "_FAMILIES", {})
    monkeypatch.setattr(_registry, "_loaded", False)


def lif(**kwargs):
    return jn.models.LIF(**kwargs)


def test_register_before_first_use_keeps_the_builtins(fresh):
    jn.register("my-lif", lif, "my LIF")
    names = set(jn.available())
    assert "my-lif" in names and MODELS | set(FAMILIES) | set(jn.pretrained()) <= names
    assert jn.available()["my-lif"] == "my LIF"
    assert isinstance(jn.create("my-lif", dt=0.5), jn.models.LIF)


def test_a_failed_builtin_load_leaves_nothing_behind_and_is_retried(fresh, monkeypatch):
    builtins = _registry._BUILTINS
    monkeypatch.setattr(_registry, "_BUILTINS", (*builtins, "jaxneuro.no_such_module"))
    with pytest.raises(ModuleNotFoundError):
        jn.available()
    assert not _registry._SIMULATORS and not _registry._FAMILIES and not _registry._loaded
    monkeypatch.setattr(_registry, "_BUILTINS", builtins)
    assert set(jn.available()) >= MODELS


def test_duplicate_names_raise_unless_overwritten(fresh):
    with pytest.raises(ValueError, match="'hh' is already registered; pass overwrite=True"):
        jn.register("hh", lif, "not HH")
    with pytest.raises(ValueError, match="simulator named 'lif' is already registered"):
        _registry.register_family("lif", TCN, "a family under a model's name")
    with pytest.raises(ValueError, match="surrogate family named 'tcn' is already registered"):
        _registry.register_family("tcn", TCN, "again")
    jn.register("hh", lif, "not HH", overwrite=True)
    assert jn.available()["hh"] == "not HH" and isinstance(jn.create("hh"), jn.models.LIF)


def test_listing_reads_no_model_card(fresh, monkeypatch):
    if not jn.pretrained():
        pytest.skip("no shipped surrogates")
    opened = []  # (what, path): every card read or file opened
    real_open, real_path_open, read_card = builtins.open, pathlib.Path.open, _saving.read_card

    def counting_open(file, *args, **kwargs):
        opened.append(
            ("file", pathlib.Path(os.fsdecode(file)) if not isinstance(file, int) else file)
        )
        return real_open(file, *args, **kwargs)

    def counting_path_open(self, *args, **kwargs):
        opened.append(("file", self))
        return real_path_open(self, *args, **kwargs)

    def counting_read_card(name):
        opened.append(("card", name))
        return read_card(name)

    monkeypatch.setattr(builtins, "open", counting_open)
    monkeypatch.setattr(io, "open", counting_open)
    monkeypatch.setattr(pathlib.Path, "open", counting_path_open)
    monkeypatch.setattr(_saving, "read_card", counting_read_card)
    names = list(jn.available())
    assert set(jn.pretrained()) <= set(names) and "hh" in jn.available()
    assert opened == []
    name = jn.pretrained()[0]
    description = jn.available()[name]  # a description is read when asked for, and only its own
    assert ("card", name) in opened
    cards = {p for what, p in opened if what == "file" and getattr(p, "name", "") == "card.json"}
    assert cards and {p.parent.name for p in cards} == {name}
    card = read_card(name)
    assert description.startswith(f"shipped {card['family']} surrogate")
    assert card["teacher"]["name"] in description


def test_surrogate_families_by_name_and_by_class_name():
    assert FAMILIES.items() <= _registry.surrogate_families().items()  # and any added since
    for name, cls in FAMILIES.items():
        assert _registry.family(name) is cls and _registry.family(cls.__name__) is cls
        assert jn.available()[name].startswith("untrained ")
    assert "mlp" not in _registry.surrogate_families()  # parameters → statistics: no time axis
    with pytest.raises(ValueError, match=r"unknown surrogate family 'tnc'; did you mean 'tcn'\?"):
        _registry.family("tnc")


def test_a_registered_family_is_a_simulator_on_a_teacher_spec(fresh):
    class SmallTCN(TCN):
        pass

    _registry.register_family("small-tcn", SmallTCN, "small TCN")
    assert _registry.surrogate_families()["small-tcn"] is SmallTCN
    assert _registry.family("SmallTCN") is SmallTCN
    sim = jn.create("small-tcn", teacher="lif", teacher_kwargs={"dt": 1.0}, channels=2)
    assert isinstance(sim, SmallTCN) and sim.spec == jn.create("lif", dt=1.0).spec
    assert jn.available()["small-tcn"].startswith("untrained small TCN on a teacher's spec")

    class Other(TCN):
        pass

    Other.__name__ = "SmallTCN"
    with pytest.raises(ValueError, match="class name 'SmallTCN' is already family 'small-tcn'"):
        _registry.register_family("other", Other, "same class name")
    with pytest.raises(TypeError, match="must be a Surrogate subclass"):
        _registry.register_family("lif-family", jn.models.LIF, "not a surrogate")


def test_unknown_names_list_close_matches():
    with pytest.raises(
        ValueError, match=r"unknown simulator 'izhikevic'; did you mean 'izhikevich'"
    ):
        jn.create("izhikevic")
    with pytest.raises(ValueError, match=r"unknown simulator 'zzz' \(available: adex, "):
        jn.create("zzz")


def test_family_simulators_copy_the_named_teacher():
    tcn = jn.create("tcn", teacher="lif", teacher_kwargs={"dt": 1.0})
    assert isinstance(tcn, TCN) and tcn.spec == jn.create("lif", dt=1.0).spec
