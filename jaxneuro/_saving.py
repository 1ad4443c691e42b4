"""Trained surrogates on disk: safetensors weights plus a JSON model card, loadable by name.

The card records ``weights_sha256`` (the sha256 of ``weights.safetensors``, so flipped bytes,
truncation and tensors swapped between names, even of one shape, are caught before the weights are
used) and ``card_sha256`` (the sha256 of the card's own canonical JSON without that key, see
:func:`jaxneuro._io.json_sha256`). :func:`read_card` and :func:`load` verify both. Cards saved
before checksums load unverified; shipped cards must carry both.
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path
from typing import Any

import jax

from ._io import file_sha256, read_json, write_json_atomic
from ._registry import create, surrogate_families
from ._simulator import IOSpec, Simulator
from .training import CheckpointError, load_tree, save_tree

FORMAT = "jaxneuro-surrogate/1"
WEIGHTS, CARD = "weights.safetensors", "card.json"
WEIGHTS_SUM, CARD_SUM = "weights_sha256", "card_sha256"


def _families() -> dict[str, type]:
    """Registered surrogate families by class name (the name a model card records)."""
    return {cls.__name__: cls for cls in surrogate_families().values()}


spec_from_json = IOSpec.from_json
"""Kept for ``surrogates._registered``; call :meth:`IOSpec.from_json`."""


def save(
    path: str | os.PathLike,
    surrogate,
    params,
    *,
    teacher: str,
    teacher_kwargs: dict | None = None,
    card: dict | None = None,
) -> Path:
    """Save a trained surrogate to the folder ``path``: ``weights.safetensors`` + ``card.json``.

    Args:
        surrogate: a :class:`~jaxneuro.surrogates.Surrogate`.
        params: its trained weights.
        teacher: registry name of the analytical model it imitates (``jaxneuro.available()``).
        teacher_kwargs: constructor keywords of the teacher (e.g. ``{"dt": 1.0}``), JSON-able.
        card: the rest of the model card (data, training, fidelity, speed …), JSON-able.

    The teacher is rebuilt from its name and keywords and must have the surrogate's spec. Both
    files are written atomically; the card is written last (with the weights' checksum and its
    own), so a folder with a card is complete.
    """
    teacher_kwargs = dict(teacher_kwargs or {})
    rebuilt = create(teacher, **teacher_kwargs)
    if rebuilt.spec != surrogate.spec:
        raise ValueError(
            f"teacher {teacher!r} {teacher_kwargs} has spec {rebuilt.spec.describe()}, but the "
            f"surrogate has {surrogate.spec.describe()}"
        )
    family = type(surrogate).__name__
    if family not in _families():
        raise ValueError(f"cannot save a {family}; saveable families: {sorted(_families())}")
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    save_tree(path / WEIGHTS, params)
    body = {
        "format": FORMAT,
        "family": family,
        "config": surrogate.config(),
        "spec": surrogate.spec.to_json(),
        "teacher": {"name": teacher, "kwargs": teacher_kwargs},
        "n_params": int(sum(a.size for a in jax.tree.leaves(params))),
        **(card or {}),
    }
    write_card(path, body)
    return path


def write_card(path: str | os.PathLike, card: dict[str, Any]) -> Path:
    """Write ``card`` as ``path/card.json`` atomically, with the checksums of the weights file
    beside it and of the card itself.

    The way to change a saved card (e.g. add a calibrated threshold): ``write_card(path, card)``
    with the edited :func:`read_card` result. Editing the file by hand breaks ``card_sha256``.
    """
    path = Path(path)
    body = {k: v for k, v in card.items() if k not in ("path", WEIGHTS_SUM, CARD_SUM)}
    body[WEIGHTS_SUM] = file_sha256(path / WEIGHTS)
    return write_json_atomic(path / CARD, body, checksum=CARD_SUM, default=float)


def _resolve(name_or_path: str | os.PathLike) -> tuple[Path, bool]:
    """``(folder, shipped)``."""
    path = Path(name_or_path)
    if path.is_dir():
        return path, False
    shipped = resources.files("jaxneuro") / "pretrained" / str(name_or_path)
    if shipped.is_dir():
        return Path(str(shipped)), True
    available = ", ".join(pretrained()) or "none"
    raise FileNotFoundError(
        f"no saved surrogate at {name_or_path!r}: not a folder, nor a shipped name ({available})"
    )


def pretrained() -> list[str]:
    """Names of the surrogates shipped with the package."""
    root = resources.files("jaxneuro") / "pretrained"
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if (p / CARD).is_file())


def read_card(name_or_path: str | os.PathLike) -> dict[str, Any]:
    """The model card of a saved or shipped surrogate, validated and checked against its
    ``card_sha256`` (a :class:`~jaxneuro.training.CheckpointError` naming the file otherwise)."""
    path, shipped = _resolve(name_or_path)
    if not (path / CARD).is_file():
        raise CheckpointError(f"{path} has no {CARD}: not a saved surrogate, or incomplete")
    card = read_json(path / CARD, error=CheckpointError, checksum=CARD_SUM)
    if not isinstance(card, dict):
        raise CheckpointError(f"{path / CARD} must hold a JSON object, got {type(card).__name__}")
    if shipped and not {CARD_SUM, WEIGHTS_SUM} <= set(card):
        raise CheckpointError(f"{path / CARD} is shipped without {CARD_SUM} and {WEIGHTS_SUM}")
    missing = {"format", "family", "config", "spec", "teacher"} - set(card)
    if missing or card.get("format") != FORMAT:
        raise CheckpointError(
            f"{path / CARD} is not a {FORMAT} model card (missing {sorted(missing)} or format "
            f"{card.get('format')!r})"
        )
    card["path"] = str(path)
    return card


def load(name_or_path: str | os.PathLike) -> tuple[Simulator, Any]:
    """``(surrogate, params)``: a ready :class:`~jaxneuro.Simulator` and its trained weights.

    ``name_or_path`` is a shipped name (:func:`pretrained`) or a folder written by :func:`save`.
    Corrupt, truncated or mismatched files raise :class:`~jaxneuro.training.CheckpointError`.
    """
    card = read_card(name_or_path)
    family = _families().get(card["family"])
    if family is None:
        raise CheckpointError(f"unknown surrogate family {card['family']!r} in {card['path']}")
    try:
        surrogate = family.from_config(spec_from_json(card["spec"]), card["config"])
    except (TypeError, ValueError, KeyError) as e:
        raise CheckpointError(f"{card['path']}: the model card's config is invalid ({e})") from e
    template = surrogate.init(jax.random.key(0))
    params, _ = load_tree(Path(card["path"]) / WEIGHTS, template)
    return surrogate.with_threshold(card.get("spike_threshold")), params


def load_teacher(name_or_path: str | os.PathLike) -> tuple[Simulator, Any]:
    """``(teacher, teacher_params)``: the analytical model a saved surrogate imitates.

    It takes the same inputs and gives the same channels as the surrogate.
    """
    card = read_card(name_or_path)
    teacher = create(card["teacher"]["name"], **card["teacher"].get("kwargs", {}))
    try:
        spec = IOSpec.from_json(card["spec"])
    except ValueError as e:
        raise CheckpointError(f"{card['path']}: the model card's spec is invalid ({e})") from e
    if teacher.spec != spec:
        raise CheckpointError(
            f"{card['path']}: teacher {card['teacher']} no longer has the surrogate's spec"
        )
    return teacher, teacher.init()
