"""Every simulator and every surrogate family by name: one place, two tables.

- **simulators**: name → factory + description; ``create(name, **kwargs)`` calls the factory.
  The analytical models (``jaxneuro.models._builtin``), an untrained instance of each surrogate
  family on a teacher's spec, and the shipped trained surrogates (``jaxneuro.pretrained()``).
- **surrogate families**: name → class + description (``"tcn"`` → :class:`~jaxneuro.surrogates.TCN`),
  for ``jaxneuro fit FAMILY``, saving and loading. Registering a family also registers its
  untrained simulator under the same name.

Each subpackage registers its own built-ins, in a ``register_builtins()`` function that this module
calls once, before the first lookup or registration (so a user's ``register`` never hides them).
This module imports no subpackage at import time; the subpackages import it.
"""

from __future__ import annotations

import difflib
import functools
import importlib
from collections.abc import Callable, Iterator, Mapping
from typing import NamedTuple

from ._simulator import Simulator

_BUILTINS = ("jaxneuro.models._builtin", "jaxneuro.surrogates._registered")
"""Modules whose ``register_builtins()`` fills the tables (models first: families need teachers)."""


class Entry(NamedTuple):
    factory: Callable[..., Simulator]
    description: str | Callable[[], str]
    """A string, or a function giving one that is called only when the description is asked for
    (a shipped surrogate's reads its card)."""

    def describe(self) -> str:
        return self.description() if callable(self.description) else self.description


class Family(NamedTuple):
    cls: type
    description: str


_SIMULATORS: dict[str, Entry] = {}
_FAMILIES: dict[str, Family] = {}
_loaded = False


def register(
    name: str,
    factory: Callable[..., Simulator],
    description: str | Callable[[], str],
    *,
    overwrite: bool = False,
) -> None:
    """Add a simulator factory under ``name`` (``create``'s keyword arguments pass through to it).

    ``description`` is a string, or a function returning one, called only when it is asked for.
    A name already registered (built-ins included) raises unless ``overwrite=True``.
    """
    _ensure_builtins()
    if not isinstance(name, str) or not name:
        raise ValueError(f"a simulator name must be a non-empty string, got {name!r}")
    if not callable(factory):
        raise TypeError(f"the factory of {name!r} must be callable, got {factory!r}")
    if name in _SIMULATORS and not overwrite:
        raise ValueError(
            f"a simulator named {name!r} is already registered; pass overwrite=True to replace it"
        )
    if callable(description):
        description = functools.cache(description)
    _SIMULATORS[name] = Entry(factory, description)


def available() -> Mapping[str, str]:
    """``{name: description}`` of every registered simulator, sorted by name.

    Listing the names reads no file: a shipped surrogate's description comes from its model card,
    which is read only when that description is looked up.
    """
    _ensure_builtins()
    return _Listing(_SIMULATORS)


def create(name: str, **kwargs) -> Simulator:
    """The simulator registered as ``name``, built with ``kwargs`` (e.g. ``dt=0.05``)."""
    _ensure_builtins()
    if name not in _SIMULATORS:
        raise ValueError(_unknown("simulator", name, _SIMULATORS))
    return _SIMULATORS[name].factory(**kwargs)


def register_family(name: str, cls: type, description: str, *, overwrite: bool = False) -> None:
    """Add a surrogate family, e.g. ``register_family("tcn", TCN, "causal TCN surrogate …")``.

    ``cls`` is a :class:`~jaxneuro.surrogates.Surrogate` subclass built as ``cls(spec, **sizes)``
    and rebuilt from a model card by ``cls.from_config(spec, config)``. Cards name the family by
    its class name, which must therefore be unique among families. The family's untrained
    simulator is registered as ``name`` too: ``create(name, teacher=…, teacher_kwargs=…, dt=…,
    **sizes)`` (see :func:`jaxneuro.surrogates.on_teacher`).
    """
    from .surrogates import DEFAULT_TEACHER, Surrogate, on_teacher  # lazy: they import this module

    _ensure_builtins()
    if not (isinstance(cls, type) and issubclass(cls, Surrogate)):
        raise TypeError(f"family {name!r} must be a Surrogate subclass, got {cls!r}")
    if not overwrite and (name in _FAMILIES or name in _SIMULATORS):
        what = "surrogate family" if name in _FAMILIES else "simulator"
        raise ValueError(
            f"a {what} named {name!r} is already registered; pass overwrite=True to replace it"
        )
    same = [n for n, f in _FAMILIES.items() if f.cls.__name__ == cls.__name__ and n != name]
    if same:
        raise ValueError(
            f"family {name!r}: class name {cls.__name__!r} is already family {same[0]!r}'s "
            "(model cards name a family by its class)"
        )
    on = f"on a teacher's spec (teacher={DEFAULT_TEACHER!r}, teacher_kwargs=, dt=)"
    register(name, on_teacher(cls), f"untrained {description} {on}", overwrite=overwrite)
    _FAMILIES[name] = Family(cls, description)


def surrogate_families() -> dict[str, type]:
    """``{name: class}`` of every registered surrogate family, sorted (``{"tcn": TCN, …}``)."""
    _ensure_builtins()
    return {name: f.cls for name, f in sorted(_FAMILIES.items())}


def family(name: str) -> type:
    """The surrogate family class registered as ``name`` (``"tcn"``), or whose class name it is
    (``"TCN"``, as model cards record it)."""
    _ensure_builtins()
    if name in _FAMILIES:
        return _FAMILIES[name].cls
    for f in _FAMILIES.values():
        if f.cls.__name__ == name:
            return f.cls
    raise ValueError(_unknown("surrogate family", name, _FAMILIES))


def _ensure_builtins() -> None:
    """Fill the tables from each subpackage's ``register_builtins()``, once.

    The flag is set first, so the registrations those functions make do not recurse here; on
    failure, what they added is removed and the next call tries again.
    """
    global _loaded
    if _loaded:
        return
    _loaded = True
    before = set(_SIMULATORS), set(_FAMILIES)
    try:
        for module in _BUILTINS:
            importlib.import_module(module).register_builtins()
    except BaseException:
        for table, kept in zip((_SIMULATORS, _FAMILIES), before, strict=True):
            for key in set(table) - kept:
                del table[key]
        _loaded = False
        raise


def _unknown(what: str, name: object, names: Mapping[str, object]) -> str:
    close = difflib.get_close_matches(str(name), list(names), n=3, cutoff=0.5)
    hint = f"; did you mean {' or '.join(map(repr, close))}?" if close else ""
    return f"unknown {what} {name!r}{hint} (available: {', '.join(sorted(names))})"


class _Listing(Mapping[str, str]):
    """Names → descriptions, read lazily (a snapshot of the table when it was made)."""

    def __init__(self, entries: Mapping[str, Entry]):
        self._entries = dict(sorted(entries.items()))

    def __getitem__(self, name: str) -> str:
        return self._entries[name].describe()

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __repr__(self) -> str:
        return repr(dict(self.items()))
