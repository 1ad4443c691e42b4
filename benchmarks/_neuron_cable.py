"""A jaxneuro :class:`~jaxneuro.models.CableNeuron` rebuilt in NEURON, for cross-checks and timing.

:func:`build_neuron_cell` walks a cell generically: one NEURON section with ``nseg = 1`` per
compartment (``L``, ``diam``, ``cm``, ``Ra``), children of the soma attached at its centre
(``connect(soma(0.5))``), any other child at its parent's distal end (``connect(parent(1))``);
``hh`` where a compartment has HH densities, ``pas`` where it has a leak; at every synapse site an
``Exp2Syn`` for AMPA and GABA_A and a ``JnExp2NMDA`` (``mod/JnExp2NMDA.mod``: Exp2Syn with the
Jahr–Stevens Mg²⁺ block, compiled on first use) for NMDA; an ``IClamp`` per electrode. All values
come from a parameter dict (``cell.init()`` by default), so edited parameters carry over.

Inputs are the jaxneuro input array ``[T, n_inputs]`` (event counts per sample, then electrode
currents). Each nonzero count ``c`` in sample ``k`` becomes one NetCon event at ``t = k·dt`` with
weight ``c × g_max`` (µS); there is one NetCon per channel and distinct count value, events are
queued with ``NetCon.event`` after ``finitialize`` and delivered at the start of the step that
begins at ``k·dt`` (NEURON delivers events due by ``t + dt/2``), i.e. the same state jumps as
jaxneuro's at the start of each sample. Electrode currents are played sample-and-hold into
``IClamp.amp``.

Integration: fixed step ``solver_dt`` (0.025 ms), ``cvode`` off, ``secondorder = 0`` (backward
Euler for v, ``cnexp`` for gates and synapses), ``celsius`` and ``finitialize(v_init)`` from the
parameters, ``usetable_hh = 0`` by default (exact rate functions, as jaxneuro).

NEURON is imported lazily: this module imports without it.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

MOD_DIR = Path(__file__).resolve().parent / "mod"
"""The .mod sources compiled for these cells."""
CACHE_DIR = Path(__file__).resolve().parent / ".nrnmech"
"""Compiled mechanisms, one folder per hash of the .mod sources (ignored by git)."""
NMDA_MECHANISM = "JnExp2NMDA"


# --------------------------------------------------------------------------------------------
# Mechanisms
# --------------------------------------------------------------------------------------------
def _nrnivmodl() -> str:
    exe = Path(sys.executable).parent / "nrnivmodl"
    found = str(exe) if exe.exists() else shutil.which("nrnivmodl")
    if found is None:
        raise RuntimeError("nrnivmodl not found (next to this python or on PATH)")
    return found


def compile_mechanisms(cache_dir: Path | str | None = None) -> Path:
    """Compile ``mod/*.mod`` with ``nrnivmodl`` (once per content hash) and return the path of
    the shared library to load. Builds in a temporary folder and renames it into place, so
    concurrent callers never see a half-built library."""
    sources = sorted(MOD_DIR.glob("*.mod"))
    digest = hashlib.sha256(b"".join(p.name.encode() + p.read_bytes() for p in sources))
    target = Path(cache_dir or CACHE_DIR) / digest.hexdigest()[:16]
    lib = _find_library(target)
    if lib is not None:
        return lib
    target.parent.mkdir(parents=True, exist_ok=True)
    build = Path(tempfile.mkdtemp(prefix="build-", dir=target.parent))
    try:
        for p in sources:
            shutil.copy(p, build / p.name)
        env = dict(
            os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
        )
        out = subprocess.run(
            [_nrnivmodl(), "."], cwd=build, env=env, capture_output=True, text=True, timeout=600
        )
        if out.returncode != 0 or _find_library(build) is None:
            raise RuntimeError(f"nrnivmodl failed:\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}")
        try:
            build.rename(target)
        except OSError:  # another process won the race
            shutil.rmtree(build, ignore_errors=True)
    except BaseException:
        shutil.rmtree(build, ignore_errors=True)
        raise
    lib = _find_library(target)
    assert lib is not None
    return lib


def _find_library(folder: Path) -> Path | None:
    for name in ("libnrnmech.so", "libnrnmech.dylib", "nrnmech.dll"):
        hits = sorted(folder.glob(f"*/{name}")) + sorted(folder.glob(f"*/.libs/{name}"))
        if hits:
            return hits[0]
    return None


def load_mechanisms(cache_dir: Path | str | None = None):
    """NEURON's ``h`` with ``JnExp2NMDA`` loaded (compiling it if needed) and stdrun."""
    from neuron import h

    if not hasattr(h, NMDA_MECHANISM):
        lib = compile_mechanisms(cache_dir)
        if not h.nrn_load_dll(str(lib)):
            raise RuntimeError(f"NEURON could not load {lib}")
    h.load_file("stdrun.hoc")
    return h


# --------------------------------------------------------------------------------------------
# The cell
# --------------------------------------------------------------------------------------------
@dataclass
class NeuronCable:
    """A jaxneuro cable cell built in NEURON (from :func:`build_neuron_cell`).

    Attributes:
        sections: one section per compartment, in compartment order.
        synapses: ``{receptor: [point process per site]}`` (``"ampa"``, ``"nmda"``, ``"gaba"``).
        g_max_us: ``{receptor: peak conductance of one event}`` (µS).
        clamps: one ``IClamp`` per electrode.
        v_init, celsius, solver_dt: initial potential (mV), temperature (°C), step (ms).
        sample_dt: the jaxneuro cell's sample interval (ms): input row ``k`` acts at ``k·dt``.
    """

    h: Any
    sections: list
    synapses: dict
    g_max_us: dict
    clamps: list
    v_init: float
    celsius: float
    solver_dt: float
    sample_dt: float
    n_sites: int
    use_table: bool = False
    _keep: list = field(default_factory=list)

    def setup(self, inputs, record: tuple[int, ...] | None = None) -> dict:
        """Prepare a run of ``inputs`` ``[T, n_inputs]``: recorders for the compartments in
        ``record`` (all by default), NetCons per channel and count, and electrode players.
        Returns the recorders; call :meth:`start` (untimed) and :meth:`advance` (timed) next."""
        h, n = self.h, self.n_sites
        x = np.asarray(inputs, dtype=np.float64)
        expected = 2 * n + len(self.clamps)
        if x.ndim != 2 or x.shape[1] != expected:
            raise ValueError(f"inputs must be [T, {expected}], got {x.shape}")
        if (x[:, : 2 * n] < 0).any():
            raise ValueError("event counts must be non-negative")
        self._keep = []
        self._events = []
        exc_names = [r for r in ("ampa", "nmda") if r in self.synapses]
        groups = [(exc_names, x[:, :n]), (["gaba"], x[:, n : 2 * n])]
        for names, counts in groups:
            for site in range(n):
                column = counts[:, site]
                for value in np.unique(column[column > 0]):
                    times = np.flatnonzero(column == value) * self.sample_dt
                    for name in names:
                        nc = h.NetCon(None, self.synapses[name][site])
                        nc.weight[0] = float(value) * self.g_max_us[name]
                        nc.delay = 0.0
                        self._keep.append(nc)
                        self._events.append((nc, times))
        t_samples = h.Vector(np.arange(x.shape[0]) * self.sample_dt)
        self._keep.append(t_samples)
        for j, clamp in enumerate(self.clamps):
            amp = h.Vector(x[:, 2 * n + j])
            amp.play(clamp._ref_amp, t_samples)  # sample-and-hold
            self._keep.append(amp)
        record = range(len(self.sections)) if record is None else record
        t_vec = h.Vector()
        t_vec.record(h._ref_t)
        traces = {}
        for i in record:
            vec = h.Vector()
            vec.record(self.sections[i](0.5)._ref_v)
            traces[i] = vec
        self._keep += [t_vec, *traces.values()]
        self._duration = x.shape[0] * self.sample_dt
        return dict(t=t_vec, v=traces)

    def start(self) -> None:
        """``finitialize(v_init)`` and queue every input event."""
        h = self.h
        h.secondorder = 0
        h.cvode_active(0)
        h.dt = self.solver_dt
        h.steps_per_ms = 1.0 / self.solver_dt
        h.celsius = self.celsius
        h.usetable_hh = 1 if self.use_table else 0
        h.finitialize(self.v_init)
        for nc, times in self._events:
            for t in times:
                nc.event(float(t))

    def advance(self) -> None:
        """Integrate to the end of the inputs."""
        self.h.continuerun(self._duration)

    def simulate(self, inputs, record: tuple[int, ...] | None = None) -> dict:
        """Run ``inputs`` and return ``t`` (ms, ``[S + 1]`` with ``t = 0``) and ``v`` (mV,
        ``[S + 1, len(record)]``) at every step, plus ``wall_s`` of the integration."""
        rec = self.setup(inputs, record)
        self.start()
        t0 = time.perf_counter()
        self.advance()
        wall = time.perf_counter() - t0
        v = np.stack([np.asarray(vec) for vec in rec["v"].values()], axis=1)
        return dict(t=np.asarray(rec["t"]), v=v, record=tuple(rec["v"]), wall_s=wall)


def build_neuron_cell(
    cell, params: dict | None = None, *, use_table: bool = False, cache_dir=None
) -> NeuronCable:
    """Rebuild a jaxneuro ``CableNeuron`` (e.g. ``ReducedL5PC``) in NEURON.

    Args:
        cell: the jaxneuro cell; morphology, sites, receptors and electrodes come from it.
        params: its parameters (default ``cell.init()``): membrane values per compartment or
            for the whole cell, receptor kinetics and peak conductances.
        use_table: use ``hh``'s 1 mV rate tables (NEURON's default) instead of exact rates.
        cache_dir: where compiled mechanisms are kept (default ``benchmarks/.nrnmech``).
    """
    h = load_mechanisms(cache_dir)
    p = {k: _to_numpy(v) for k, v in (cell.init() if params is None else params).items()}
    m = cell.morphology
    n = m.n

    def per_comp(key):
        return np.broadcast_to(np.asarray(p[key], dtype=np.float64), (n,))

    def scalar(key):
        value = np.asarray(p[key], dtype=np.float64)
        if value.size != 1:
            raise ValueError(f"{key} must be one value for the whole cell, got shape {value.shape}")
        return float(value)

    c_m, g_pas, e_pas = per_comp("c_m"), per_comp("g_pas"), per_comp("e_pas")
    g_na, g_k, g_l = per_comp("g_na"), per_comp("g_k"), per_comp("g_l")
    r_a = scalar("r_a")
    sections = []
    for i in range(n):
        sec = h.Section(name=f"{m.label[i]}_{i}")
        sec.nseg, sec.L, sec.diam = 1, float(m.length[i]), float(m.diameter[i])
        sec.cm, sec.Ra = float(c_m[i]), r_a
        if g_pas[i] != 0.0:
            sec.insert("pas")
            sec(0.5).pas.g = g_pas[i] * 1e-3  # mS/cm² → S/cm²
            sec(0.5).pas.e = e_pas[i]
        if g_na[i] != 0.0 or g_k[i] != 0.0 or g_l[i] != 0.0:
            sec.insert("hh")
            seg = sec(0.5)
            seg.hh.gnabar, seg.hh.gkbar, seg.hh.gl = g_na[i] * 1e-3, g_k[i] * 1e-3, g_l[i] * 1e-3
            seg.hh.el = scalar("e_l")
            sec.ena, sec.ek = scalar("e_na"), scalar("e_k")
        if i > 0:
            parent = m.parent[i]
            x = 0.5 if m.label[parent] == "soma" else 1.0
            sec.connect(sections[parent](x), 0.0)
        sections.append(sec)
    for i, sec in enumerate(sections):
        area = sec(0.5).area() * 1e-8
        if not np.isclose(area, m.area_cm2()[i], rtol=1e-9):
            raise RuntimeError(f"compartment {i}: NEURON area {area} cm² != {m.area_cm2()[i]}")

    synapses, g_max_us = {}, {}
    for name in cell.receptors():
        rp = {k: float(np.asarray(v)) for k, v in p[name].items()}
        pps = []
        for site in cell.sites:
            seg = sections[site](0.5)
            pp = getattr(h, NMDA_MECHANISM)(seg) if "mg" in rp else h.Exp2Syn(seg)
            pp.tau1, pp.tau2, pp.e = rp["tau_rise"], rp["tau_decay"], rp["e_rev"]
            if "mg" in rp:
                pp.mg, pp.mg_slope = rp["mg"], rp["mg_slope"]
            pps.append(pp)
        synapses[name], g_max_us[name] = pps, rp["g_max"] * 1e-3  # nS → µS
    clamps = []
    for i in cell.electrodes:
        clamp = h.IClamp(sections[i](0.5))
        clamp.delay, clamp.dur, clamp.amp = 0.0, 1e9, 0.0
        clamps.append(clamp)
    return NeuronCable(
        h=h,
        sections=sections,
        synapses=synapses,
        g_max_us=g_max_us,
        clamps=clamps,
        v_init=scalar("v_init"),
        celsius=scalar("celsius"),
        solver_dt=float(cell.solver_dt),
        sample_dt=float(cell.dt),
        n_sites=len(cell.sites),
        use_table=use_table,
    )


def _to_numpy(v):
    if isinstance(v, dict):
        return {k: _to_numpy(x) for k, x in v.items()}
    return np.asarray(v)


# --------------------------------------------------------------------------------------------
# Inputs, the jaxneuro side at every step, and the comparison
# --------------------------------------------------------------------------------------------
def bernoulli_inputs(seed: int, n_bins: int, n_sites: int, p_exc: float, p_inh: float):
    """Event counts ``[n_bins, 2·n_sites]`` (float32, 0/1): excitatory then inhibitory, each bin
    and site an event with probability ``p × envelope``, the envelope drawn from U(0, 2) per
    100 bins (slow co-modulation of all sites, so the cell fires in bouts)."""
    rng = np.random.default_rng(seed)
    envelope = np.repeat(rng.uniform(0.0, 2.0, size=(n_bins // 100 + 1, 1)), 100, axis=0)[:n_bins]
    exc = rng.random((n_bins, n_sites)) < p_exc * envelope
    inh = rng.random((n_bins, n_sites)) < p_inh * envelope
    return np.concatenate([exc, inh], axis=1).astype(np.float32)


def fine_twin(cell, solver=None):
    """The same cell sampled at every solver step (``dt = solver_dt``), recording every
    compartment: identical physics, outputs at NEURON's recording times. ``solver`` replaces
    the cell's solver."""
    from jaxneuro.models import CableNeuron

    return CableNeuron(
        morphology=cell.morphology,
        membrane=cell.membrane,
        sites=cell.sites,
        ampa=cell.ampa,
        nmda=cell.nmda,
        gaba=cell.gaba,
        electrodes=cell.electrodes,
        record_dendrites=True,
        dt=cell.solver_dt,
        solver_dt=cell.solver_dt,
        solver=cell.solver if solver is None else solver,
        stepsize_controller=cell.stepsize_controller,
        max_steps=cell.max_steps,
    )


def upsample_inputs(cell, inputs) -> np.ndarray:
    """``inputs`` at ``cell.dt`` → at ``cell.solver_dt``: events in the first sub-sample of each
    sample, currents held."""
    x = np.asarray(inputs)
    k = round(cell.dt / cell.solver_dt)
    n_events = 2 * len(cell.sites)
    fine = np.repeat(x, k, axis=0)
    events = np.zeros((x.shape[0], k, n_events), x.dtype)
    events[:, 0] = x[:, :n_events]
    fine[:, :n_events] = events.reshape(-1, n_events)
    return fine


def simulate_jaxneuro(cell, inputs, params=None, *, solver=None, float64: bool = True) -> dict:
    """``cell`` on ``inputs`` at every solver step: ``t`` (ms, ``[S + 1]``) and ``v``
    (``[S + 1, n]``, every compartment, ``v[0] = v_init``), like :meth:`NeuronCable.simulate`;
    in float64 by default, so that only the schemes differ."""
    import jax
    import jax.numpy as jnp

    fine = fine_twin(cell, solver)
    x = upsample_inputs(cell, inputs)
    with jax.enable_x64(float64):
        dtype = jnp.float64 if float64 else jnp.float32
        p = cell.init() if params is None else params
        p = jax.tree.map(lambda a: jnp.asarray(a, dtype), p)
        out, _ = jax.jit(fine.apply)(p, jnp.asarray(x, dtype))
        v = np.concatenate([np.asarray(out["v"])[:, None], np.asarray(out["v_dend"])], axis=1)
        v0 = np.full((1, v.shape[1]), float(p["v_init"]))
    t = np.arange(v.shape[0] + 1) * fine.dt
    return dict(t=t, v=np.concatenate([v0, v]))


def crossings(t, v, threshold: float = 0.0) -> np.ndarray:
    """Upward crossings of ``threshold`` in a sampled trace, linearly interpolated (ms)."""
    v = np.asarray(v, dtype=np.float64)
    k = np.nonzero((v[:-1] < threshold) & (v[1:] >= threshold))[0]
    return t[k] + (threshold - v[k]) / (v[k + 1] - v[k]) * (t[k + 1] - t[k])


def compare_traces(t, v_ref, v_got, threshold: float = 0.0) -> dict:
    """Mean and max |ΔV| (mV) and index-matched spike times (ms) of two traces on ``t``."""
    dv = np.abs(np.asarray(v_got) - np.asarray(v_ref))
    s_ref, s_got = crossings(t, v_ref, threshold), crossings(t, v_got, threshold)
    k = min(len(s_ref), len(s_got))
    dt = np.abs(s_got[:k] - s_ref[:k])
    return dict(
        mean_abs_dv_mv=float(dv.mean()),
        max_abs_dv_mv=float(dv.max()),
        n_spikes_ref=len(s_ref),
        n_spikes_got=len(s_got),
        max_abs_dt_ms=float(dt.max()) if k else 0.0,
        mean_abs_dt_ms=float(dt.mean()) if k else 0.0,
        spikes_ref=s_ref.tolist(),
        spikes_got=s_got.tolist(),
    )
