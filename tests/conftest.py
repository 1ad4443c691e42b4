"""Test-session setup: one JAX compilation cache shared by the session's workers.

Many tests compile the same programs (the common suite runs each model through several checks);
JAX's persistent cache keys a program by its HLO, so a program compiled once is loaded, not
recompiled, by every later test and xdist worker. The cache lives under ``.pytest_cache``.
"""

from pathlib import Path

import jax

CACHE = Path(__file__).resolve().parents[1] / ".pytest_cache" / "jax-compilation"
jax.config.update("jax_compilation_cache_dir", str(CACHE))
jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.5)
jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
