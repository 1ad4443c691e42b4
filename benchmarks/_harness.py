"""Shared benchmark plumbing: machine info, peak-memory probe, interleaved timing, tables.

Benchmarks run on shared machines, so every script here measures all of its methods in one
process and interleaves their repetitions (A B C, A B C, ...): ratios taken within one run are
meaningful even when absolute times are not. Each repetition records wall time and the process's
CPU time (all threads); the best of the repetitions is reported.
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import subprocess
import sys
import time
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path


def _read_status_kb(key: str) -> int | None:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


class PeakMemory:
    """Peak resident-set growth of this process over a ``with`` block, in MB.

    Resets the kernel's high-water mark (``/proc/self/clear_refs``), so the peak is that of the
    block alone and holds also for code that keeps the GIL (NEURON). Without procfs it reports
    ``None``. Memory that an allocator reuses from an earlier block does not show as growth, so
    this is a lower bound; jax benchmarks report XLA's own memory analysis beside it.
    """

    def __enter__(self):
        try:
            with open("/proc/self/clear_refs", "w") as f:
                f.write("5")
            self._ok = True
        except OSError:
            self._ok = False
        self.rss0 = _read_status_kb("VmRSS")
        self.delta_mb = None
        return self

    def __exit__(self, *exc):
        hwm = _read_status_kb("VmHWM")
        if self._ok and hwm is not None and self.rss0 is not None:
            self.delta_mb = max(0.0, (hwm - self.rss0) / 1024.0)
        return False


@dataclass
class Timings:
    """Wall and CPU seconds of the repetitions of one method."""

    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    peak_rss_mb: list[float] = field(default_factory=list)

    def add(self, wall: float, cpu: float, rss: float | None):
        self.wall.append(wall)
        self.cpu.append(cpu)
        if rss is not None:
            self.peak_rss_mb.append(rss)

    @property
    def best_wall(self) -> float:
        return min(self.wall)

    @property
    def best_cpu(self) -> float:
        return min(self.cpu)

    @property
    def peak_rss(self) -> float | None:
        return max(self.peak_rss_mb) if self.peak_rss_mb else None


def timed(fn):
    """Run ``fn()`` once; return ``(result, wall_s, cpu_s, peak_rss_delta_mb)``."""
    with PeakMemory() as mem:
        c0, t0 = time.process_time(), time.perf_counter()
        result = fn()
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    return result, wall, cpu, mem.delta_mb


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _git_commit(path: Path) -> str | None:
    try:
        out = subprocess.run(
            ["git", "-C", str(path), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
        )
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def machine_info(packages: tuple[str, ...] = ()) -> dict:
    """What the numbers were measured on."""
    try:
        import jax

        devices = [str(d) for d in jax.devices()]
        backend = jax.default_backend()
    except Exception as e:  # noqa: BLE001 - report, don't fail, on a broken jax
        devices, backend = [f"jax unavailable: {e}"], None
    mem_total = None
    try:
        with open("/proc/meminfo") as f:
            mem_total = round(int(f.readline().split()[1]) / 1024**2, 1)
    except (OSError, ValueError, IndexError):
        pass
    return dict(
        date=datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        host=platform.node(),
        platform=platform.platform(),
        cpu=_cpu_model(),
        cpu_count=os.cpu_count(),
        affinity=len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        memory_gb=mem_total,
        python=sys.version.split()[0],
        executable=sys.executable,
        jax_backend=backend,
        jax_devices=devices,
        load_average=list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        git_commit=_git_commit(Path(__file__).resolve().parent.parent),
        packages={p: _version(p) for p in packages},
    )


def write_json(path: Path, payload: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=2, default=_json_default) + "\n")


def _json_default(o):
    try:
        import numpy as np

        if isinstance(o, np.generic):
            return o.item()
        if isinstance(o, np.ndarray):
            return o.tolist()
    except ImportError:
        pass
    return str(o)


def format_table(headers: list[str], rows: list[list], markdown: bool = False) -> str:
    """A plain-text (or Markdown) table; ``None`` shows as ``-``."""
    cells = [["-" if c is None else str(c) for c in row] for row in rows]
    widths = [
        max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(headers)
    ]
    if markdown:

        def line(r):
            return "| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |"

        sep = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
        return "\n".join([line(headers), sep, *(line(r) for r in cells)])

    def line(r):  # noqa: F811 - plain-text variant
        return "  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True))

    return "\n".join([line(headers), line(["-" * w for w in widths]), *(line(r) for r in cells)])


def fmt(x, digits: int = 3) -> str | None:
    """``digits`` significant figures for tables; targets are judged on the unrounded values."""
    if x is None:
        return None
    if isinstance(x, str):
        return x
    if x == 0:
        return "0"
    ax = abs(x)
    if ax >= 1000:
        return f"{x:,.0f}"
    return f"{x:.{digits}g}"
