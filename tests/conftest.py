"""Test-session setup: one JAX compilation cache shared by the session's workers, and the
longest modules scheduled first.

Many tests compile the same programs (the common suite runs each model through several checks);
JAX's persistent cache keys a program by its HLO, so a program compiled once is loaded, not
recompiled, by every later test and xdist worker; every program is cached, however quick its
compile (on the training and common-suite tests, threshold 0 s vs 0.5 s: 188 vs 225 s wall, runs
vary by ~10 %). The cache lives under ``.pytest_cache``.
"""

import functools
import os
from pathlib import Path

# XLA's classic CPU emitters compile 30-50 % faster than its default fusion emitters (an HH
# gradient: 3.5 -> 2.6 s) and most tests are compile-bound: the whole suite runs ~14 % faster
# (687 -> 592 s on 2 cores). Their exp is ~8x slower, though, so the few run-bound tests (long
# dendritic-cell runs) compile with the default emitters again (`run_bound_jit`). Tests only:
# library runs use XLA's defaults. Set before JAX starts its backend; subprocesses (notebook
# kernels, CLI runs) inherit it.
CLASSIC_EMITTERS = "--xla_cpu_use_fusion_emitters=false"
os.environ["XLA_FLAGS"] = f"{os.environ.get('XLA_FLAGS', '')} {CLASSIC_EMITTERS}".strip()

import jax  # noqa: E402
import pytest  # noqa: E402

DEFAULT_EMITTERS = {"xla_cpu_use_fusion_emitters": True}


@pytest.fixture
def run_bound_jit():
    """``jax.jit`` compiling with XLA's default CPU emitters, for run-bound tests."""
    return functools.partial(jax.jit, compiler_options=DEFAULT_EMITTERS)


@pytest.fixture
def default_emitters_env(monkeypatch):
    """Subprocesses started in this test (e.g. a notebook kernel) use XLA's default emitters."""
    flags = os.environ.get("XLA_FLAGS", "").replace(CLASSIC_EMITTERS, "").strip()
    monkeypatch.setenv("XLA_FLAGS", flags)


CACHE = Path(__file__).resolve().parents[1] / ".pytest_cache" / "jax-compilation"
jax.config.update("jax_compilation_cache_dir", str(CACHE))
jax.config.update("jax_persistent_cache_min_compile_time_secs", 0)
jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)

# The modules holding the longest single tests (20-120 s of notebooks, the README tour, the BM
# growth tables, the quick demo, checkpointed gradients, the walkthroughs) run first, whole
# modules at a time so their module fixtures are built once: xdist then fills the end of the run
# with short tests instead of leaving one worker idle behind a long one.
LONG_FIRST = (
    "test_notebooks.py",
    "test_readme.py",
    "test_auditory_cochlea.py",
    "test_demo.py",
    "test_gradients.py",
    "test_architecture.py",
)


def pytest_collection_modifyitems(items):
    rank = {name: k for k, name in enumerate(LONG_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(LONG_FIRST)))
