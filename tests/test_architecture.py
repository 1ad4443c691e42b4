"""docs/architecture.md is true: its walkthroughs run, and its import table matches the code.

The Python blocks (add a point model, add a surrogate family, build a multi-stage system) run in
order in one namespace, in a fresh working directory; what they register is removed afterwards.
Every ``from ..x import`` / ``from .x import`` / ``import jaxneuro`` in the package is checked
against the table's "may import" column (imports inside functions against its "lazily" part too).
"""

from __future__ import annotations

import ast
import contextlib
import io
import re
from pathlib import Path

import pytest
from test_readme import fenced_blocks, module_namespace, run_blocks

import jaxneuro
from jaxneuro import _registry

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "architecture.md"
PACKAGE = ROOT / "jaxneuro"


@pytest.fixture
def registry_restored(tmp_path, monkeypatch):
    """A fresh working directory; the registry's tables as they were, afterwards."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    jaxneuro.available()  # the built-ins, loaded before the copy
    simulators, families = dict(_registry._SIMULATORS), dict(_registry._FAMILIES)
    yield tmp_path
    for table, kept in ((_registry._SIMULATORS, simulators), (_registry._FAMILIES, families)):
        table.clear()
        table.update(kept)


def test_walkthroughs_run(registry_restored):
    blocks = fenced_blocks(DOC, "python")
    assert len(blocks) >= 5
    with module_namespace("__architecture__") as namespace:
        with contextlib.redirect_stdout(io.StringIO()):
            run_blocks(DOC, blocks, namespace)
        assert {"QIF", "LN", "Transducer", "receptor"} <= set(namespace)


# ----------------------------------------------------------------------------- import table


def _component(path: Path) -> str:
    """The layer a file of the package belongs to: its subpackage, or its top-level module."""
    parts = path.relative_to(PACKAGE).parts
    return parts[0] if len(parts) > 1 else path.stem


def _imports(path: Path) -> list[tuple[str, bool]]:
    """``(layer imported, lazily?)`` for every import of another jaxneuro layer in ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    here = _component(path)
    package = path.relative_to(PACKAGE).parts[:-1]  # the file's package, below jaxneuro
    top_level = {id(node) for node in tree.body}
    found = []
    for node in ast.walk(tree):
        lazy = id(node) not in top_level
        targets: list[str] = []
        if isinstance(node, ast.ImportFrom) and node.level:
            base = list(package[: len(package) - (node.level - 1)])
            if node.level - 1 > len(package):
                raise AssertionError(f"{path}: relative import above the package")
            module = base + (node.module.split(".") if node.module else [])
            if module:
                targets = [module[0]]
            else:  # ``from .. import metrics``: each name is a layer
                targets = [a.name for a in node.names if a.name != "__version__"]
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("jaxneuro"):
            module = node.module.split(".")[1:]
            targets = [module[0]] if module else [a.name for a in node.names]
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == "jaxneuro":
                    targets.append("jaxneuro")
                elif alias.name.startswith("jaxneuro."):
                    targets.append(alias.name.split(".")[1])
        found += [(t, lazy) for t in targets if t != here]
    return found


def _table() -> dict[str, tuple[set[str], set[str]]]:
    """``{layer: (may import, may import lazily)}`` from the doc's table; ``"*"``: anything."""
    rows = {}
    in_table = False
    for line in DOC.read_text(encoding="utf-8").splitlines():
        if line.startswith("| module |"):
            in_table = True
            continue
        if in_table and not line.startswith("|"):
            break
        if not in_table or line.startswith("|---"):
            continue
        cells = [c.strip() for c in line.strip("|").split("|")]
        modules, allowed = re.findall(r"`([^`]+)`", cells[0]), cells[-1]
        if allowed == "anything":
            eager, lazy = {"*"}, set()
        else:
            eager_text, _, lazy_text = allowed.partition("lazily")
            eager = set(re.findall(r"`([\w.]+)`", eager_text))
            lazy = set(re.findall(r"`([\w.]+)`", re.sub(r"\([^)]*\)", "", lazy_text)))
        for m in modules:
            rows[m] = (eager, lazy)
    return rows


def _files() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "pretrained" not in p.parts)


def test_import_table_covers_every_layer():
    table = _table()
    layers = {_component(p) for p in _files()}
    assert not layers - set(table), (
        f"docs/architecture.md: add a row for {sorted(layers - set(table))}"
    )
    assert not set(table) - layers, (
        f"docs/architecture.md: no such layer {sorted(set(table) - layers)}"
    )


def test_imports_follow_the_table():
    table = _table()
    wrong = []
    for path in _files():
        eager, lazy = table[_component(path)]
        if "*" in eager:
            continue
        for target, is_lazy in _imports(path):
            ok = target in eager or (is_lazy and target in lazy)
            if not ok:
                how = "lazily " if is_lazy else ""
                wrong.append(f"{path.relative_to(ROOT)} imports {how}{target}")
    assert not wrong, "imports outside docs/architecture.md's table:\n" + "\n".join(wrong)


def test_table_parser_reads_lazy_entries():
    table = _table()
    assert table["data"] == (
        {"_simulator", "_io", "_population", "stimuli"},
        {"_registry", "jaxneuro"},
    )
    assert table["cli"] == ({"*"}, set())
