"""The notebooks run top to bottom without errors (in quick mode, with this interpreter's kernel)."""

import json
import sys
from pathlib import Path

import nbclient
import nbformat
import pytest

NOTEBOOKS = sorted((Path(__file__).parents[1] / "notebooks").glob("*.ipynb"))
RUN_BOUND = {"02_dendritic", "04_networks"}  # quick mode: 29 / 31 s with XLA's default
# emitters, 33 / 33 s with the classic ones the other tests compile with (conftest.py)


@pytest.fixture
def this_python_kernel(tmp_path, monkeypatch):
    """A ``python3`` kernel spec that runs this interpreter, ahead of any installed one."""
    spec = tmp_path / "jupyter" / "kernels" / "python3"
    spec.mkdir(parents=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    kernel = {"argv": argv, "display_name": "Python 3", "language": "python"}
    (spec / "kernel.json").write_text(json.dumps(kernel))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    monkeypatch.setenv("JAXNEURO_QUICK", "1")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    return "python3"


def test_notebooks_found():
    assert [p.name for p in NOTEBOOKS] == [
        "01_quickstart.ipynb",
        "02_dendritic.ipynb",
        "03_auditory.ipynb",
        "04_networks.ipynb",
    ]


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs(path, this_python_kernel, request):
    if path.stem in RUN_BOUND:
        request.getfixturevalue("default_emitters_env")
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        nb,
        kernel_name=this_python_kernel,
        timeout=600,
        resources={"metadata": {"path": str(path.parent)}},
    )
    client.execute()  # raises CellExecutionError, naming the cell, on any error
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors
