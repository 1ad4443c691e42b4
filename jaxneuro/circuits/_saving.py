"""Fitted circuit MLPs on disk: safetensors weights plus a JSON card, loadable by name.

The same layout and sealing as the temporal surrogates' model cards (:mod:`jaxneuro._saving`):
``weights.safetensors`` and ``card.json``, the card holding ``weights_sha256`` and its own
``card_sha256``, so a flipped byte, a truncated file or another card's weights raise
:class:`~jaxneuro.training.CheckpointError` naming the file. Shipped fits live in
``jaxneuro/circuits/pretrained/`` (:func:`shipped_fits`).
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path
from typing import Any

import jax

from .._io import file_sha256, read_json
from .._saving import CARD, CARD_SUM, WEIGHTS, WEIGHTS_SUM, write_card
from ..surrogates import MLP
from ..training import CheckpointError, load_tree, save_tree
from ._surrogate import Fitted

FORMAT = "jaxneuro-circuit-mlp/1"


def save_fit(path: str | os.PathLike, fit: Fitted, *, card: dict | None = None) -> Path:
    """Write ``fit`` to the folder ``path`` (weights first, the card last: a folder with a card is
    complete). ``card`` adds JSON-able fields (data, held-out errors …)."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    save_tree(path / WEIGHTS, fit.params)
    body = {
        "format": FORMAT,
        "mlp": fit.mlp.config(),
        "members": int(fit.history.get("members", 1)),
        "history": fit.history,
        "n_params": int(sum(a.size for a in jax.tree.leaves(fit.params))),
        **(card or {}),
    }
    return write_fit_card(path, body).parent


def write_fit_card(path: str | os.PathLike, card: dict[str, Any]) -> Path:
    """Write ``card`` as ``path/card.json`` atomically, sealed with the checksum of the weights
    beside it and its own (:func:`jaxneuro._saving.write_card`): the way to add fields to a saved
    fit's card (the weights are left untouched)."""
    return write_card(path, card)


def shipped_fits() -> list[str]:
    """Names of the fitted circuit MLPs shipped with the package."""
    root = resources.files("jaxneuro") / "circuits" / "pretrained"
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if (p / CARD).is_file())


def _resolve(name_or_path: str | os.PathLike) -> Path:
    path = Path(name_or_path)
    if path.is_dir():
        return path
    shipped = resources.files("jaxneuro") / "circuits" / "pretrained" / str(name_or_path)
    if shipped.is_dir():
        return Path(str(shipped))
    raise FileNotFoundError(
        f"no fitted circuit MLP at {name_or_path!r}: not a folder, nor a shipped name "
        f"({', '.join(shipped_fits()) or 'none'})"
    )


def read_fit_card(name_or_path: str | os.PathLike) -> dict[str, Any]:
    """The card of a saved or shipped fit, checked against its ``card_sha256``."""
    path = _resolve(name_or_path)
    card = read_json(
        path / CARD, error=CheckpointError, checksum=CARD_SUM, missing="not a saved circuit MLP"
    )
    if not isinstance(card, dict) or card.get("format") != FORMAT or WEIGHTS_SUM not in card:
        raise CheckpointError(f"{path / CARD} is not a {FORMAT} card with {WEIGHTS_SUM}")
    card["path"] = str(path)
    return card


def load_fit(name_or_path: str | os.PathLike) -> Fitted:
    """A :class:`Fitted` MLP: a shipped name (:func:`shipped_fits`) or a folder from
    :func:`save_fit`. Corrupt or mismatched files raise
    :class:`~jaxneuro.training.CheckpointError`."""
    card = read_fit_card(name_or_path)
    path = Path(card["path"])
    if file_sha256(path / WEIGHTS) != card[WEIGHTS_SUM]:
        raise CheckpointError(f"{path / WEIGHTS} does not match {WEIGHTS_SUM} in {path / CARD}")
    try:
        mlp = MLP.from_config(card["mlp"])
        k, history = int(card["members"]), dict(card["history"])
    except (TypeError, ValueError, KeyError) as e:
        raise CheckpointError(f"{path / CARD}: the MLP config is invalid ({e!r})") from e
    keys = jax.random.split(jax.random.key(0), max(k, 1))
    template = jax.vmap(mlp.init)(keys) if k > 1 else mlp.init()
    params, _ = load_tree(path / WEIGHTS, template)
    return Fitted(mlp, params, history)
