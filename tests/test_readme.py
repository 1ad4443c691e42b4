"""The README's examples work as a new user pastes them.

Every ```python block of README.md runs, in order, in one shared namespace (the tour builds on
earlier blocks), in a fresh working directory; a failure names the block and the README line. The
bash blocks are not run, but the setup commands must be the ones CI runs, and every ``jaxneuro``
command and option they show must exist.
"""

from __future__ import annotations

import contextlib
import io
import re
import shlex
import sys
import traceback
import types
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"


def fenced_blocks(path: Path, language: str) -> list[tuple[int, str]]:
    """``(line of the first code line, code)`` of every ```language block of ``path``, in order."""
    blocks, current, start = [], None, 0
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        stripped = line.strip()
        if current is None:
            if stripped == f"```{language}":
                current, start = [], number + 1
        elif stripped == "```":
            blocks.append((start, "\n".join(current) + "\n"))
            current = None
        else:
            current.append(line)
    if current is not None:
        raise AssertionError(
            f"{path.name}: the ```{language} block at line {start - 1} is not closed"
        )
    return blocks


def run_blocks(path: Path, blocks: list[tuple[int, str]], namespace: dict) -> None:
    """Execute ``blocks`` in ``namespace``, in order; fail naming the block and line of an error.

    Each block is compiled under ``path``'s name, padded so that its line numbers are the file's.
    """
    for i, (start, code) in enumerate(blocks, start=1):
        where = f"{path.name} python block {i} (from line {start})"
        try:
            compiled = compile("\n" * (start - 1) + code, str(path), "exec")
        except SyntaxError as e:
            pytest.fail(f"{where}: syntax error at line {e.lineno}: {e.msg}", pytrace=False)
        try:
            exec(compiled, namespace)
        except Exception as e:
            frames = [f for f in traceback.extract_tb(e.__traceback__) if f.filename == str(path)]
            line = frames[-1].lineno if frames else start
            text = path.read_text(encoding="utf-8").splitlines()[line - 1].strip()
            detail = "".join(traceback.format_exception_only(type(e), e)).strip()
            pytest.fail(f"{where}, line {line}: {text}\n{detail}", pytrace=False)


@contextlib.contextmanager
def module_namespace(name: str):
    """The namespace of a fresh module registered as ``name`` in ``sys.modules`` (classes defined
    in it, e.g. equinox modules, look their module up there)."""
    module = types.ModuleType(name)
    sys.modules[name] = module
    try:
        yield module.__dict__
    finally:
        sys.modules.pop(name, None)


@pytest.fixture
def fresh_dir(tmp_path, monkeypatch):
    """A temporary working directory, a headless matplotlib backend."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    return tmp_path


def test_readme_has_python_blocks():
    assert len(fenced_blocks(README, "python")) >= 8


@pytest.mark.slow
def test_readme_python_blocks_run_in_order(fresh_dir):
    with module_namespace("__readme__") as namespace, contextlib.redirect_stdout(io.StringIO()):
        run_blocks(README, fenced_blocks(README, "python"), namespace)


def test_block_runner_names_block_and_line(tmp_path):
    doc = tmp_path / "DOC.md"
    doc.write_text("text\n```python\nx = 1\n```\n\n```python\ny = x + 1\nz = y / 0\n```\n")
    blocks = fenced_blocks(doc, "python")
    assert blocks == [(3, "x = 1\n"), (7, "y = x + 1\nz = y / 0\n")]
    namespace: dict = {}
    with pytest.raises(pytest.fail.Exception, match=r"block 2 \(from line 7\), line 8: z = y / 0"):
        run_blocks(doc, blocks, namespace)
    assert namespace["y"] == 2


def test_setup_commands_are_the_ones_ci_runs():
    bash = [code.strip() for _, code in fenced_blocks(README, "bash")]
    install, test = 'python -m pip install -e ".[test]"', "python -m pytest -n 2"
    assert f"{install} && {test}" in bash
    assert "python -m pip install -e . && jaxneuro demo --out out/" in bash
    ci = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()]
    assert install in ci and test in ci


def _cli_lines() -> list[list[str]]:
    """Every ``jaxneuro ...`` command in the bash blocks of the README and docs/cli.md, as
    argument lists."""
    commands = []
    blocks = fenced_blocks(README, "bash") + fenced_blocks(ROOT / "docs" / "cli.md", "bash")
    for _, code in blocks:
        joined = code.replace("\\\n", " ")
        for line in joined.splitlines():
            line = line.split("#", 1)[0]
            for part in re.split(r"&&|;", line):
                words = shlex.split(part)
                if words and words[0] == "jaxneuro":
                    commands.append(words[1:])
    return commands


def test_readme_cli_commands_and_options_exist(capsys):
    from jaxneuro.cli import main

    commands = _cli_lines()
    assert {c[0] for c in commands} >= {"models", "simulate", "demo"}
    helps: dict[str, str] = {}
    for words in commands:
        sub = words[0]
        if sub not in helps:
            try:
                code = main([sub, "--help"])
            except SystemExit as e:
                code = e.code
            assert code == 0, f"`jaxneuro {sub}` is not a command"
            helps[sub] = capsys.readouterr().out
        for option in (w.split("=", 1)[0] for w in words[1:] if w.startswith("--")):
            assert re.search(rf"(?<![\w-]){re.escape(option)}(?![\w-])", helps[sub]), (
                f"`jaxneuro {' '.join(words)}`: {sub} has no option {option}"
            )


def _anchor(heading: str) -> str:
    """GitHub's anchor of a Markdown heading."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_relative_links_resolve():
    """Links between README.md, docs/ and benchmarks/README.md point at files and headings that
    exist (text moved out of the README must stay reachable)."""
    pages = [README, ROOT / "benchmarks" / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    broken = []
    for page in pages:
        for target in re.findall(r"\]\(([^)\s]+)\)", page.read_text(encoding="utf-8")):
            if re.match(r"[a-z]+:", target):
                continue
            file, _, anchor = target.partition("#")
            path = (page.parent / file).resolve() if file else page
            if not path.exists():
                broken.append(f"{page.name}: {target} (no such file)")
            elif anchor and path.suffix == ".md":
                text = path.read_text(encoding="utf-8")
                headings = re.findall(r"^#+ (.+)$", text, flags=re.M)
                if anchor not in {_anchor(h) for h in headings}:
                    broken.append(f"{page.name}: {target} (no such heading)")
    assert not broken, "\n".join(broken)
