"""Population benchmark: N unconnected Hodgkin–Huxley cells, 1 s at dt = 0.025 ms.

Work: NEURON ``hh`` at 6.3 °C, constant per-cell current density ``linspace(5, 20, N)`` µA/cm²
from rest, 1 s = 40,000 fixed steps of 0.025 ms, for N = 1, 100, 1,000, 10,000.

Methods (all in this one process, repetitions interleaved, best of ``--repeats``):

* ``jaxneuro``: ``jax.jit(jax.vmap(HodgkinHuxley().apply, (None, 0)))`` on ``[N, T, 1]`` inputs,
  default solver (``diffrax.Heun`` since 825b904; exponential Euler before);
* ``jaxneuro_ee``: the same with ``solver=ExponentialEuler()``;
* ``hand_heun`` / ``hand_ee``: each scheme written directly as a jnp ``lax.scan``, vmapped the
  same way: what jaxneuro's diffrax path costs on top of the arithmetic;
* ``jaxley``: single-compartment cells with jaxley's HH channel, ``jit(vmap(jx.integrate))``;
* ``neuron`` / ``neuron_2t``: N single-compartment ``hh`` sections, fixed step, 1 and 2 threads;
* ``brian2``: a ``NeuronGroup`` with ``exponential_euler``, runtime mode, Cython target.

Reported per method and N: simulated neuron-seconds per wall second, CPU seconds, compile time
apart from run time, peak memory (RSS growth; XLA's memory analysis for jax), device, and (once,
on 4 test currents) spike-time error against a float64 DOP853 reference. Then the cost of
``jax.grad`` through the diffrax path, and (``--diagnose``) a profile of where the diffrax path
spends time beyond the hand-written scan.

Run ``python benchmarks/population.py`` (full, ~20-30 min on 2 cores) or ``--quick`` (seconds).
Peers come from ``pip install -e .[peers]``; missing ones are skipped with a note.
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _harness as hn  # noqa: E402
import _hh_peers as peers  # noqa: E402

HERE = Path(__file__).resolve().parent
PACKAGES = (
    "jaxneuro",
    "jax",
    "jaxlib",
    "diffrax",
    "equinox",
    "numpy",
    "scipy",
    "neuron",
    "brian2",
    "cython",
    "jaxley",
)


@dataclass
class Method:
    name: str
    label: str
    prepare: object
    requires: tuple[str, ...]
    kwargs: dict = field(default_factory=dict)
    default: bool = True

    def missing(self) -> list[str]:
        return [m for m in self.requires if importlib.util.find_spec(m) is None]


METHODS = [
    Method(
        "jaxneuro",
        "jaxneuro HodgkinHuxley() (default solver)",
        peers.prepare_jaxneuro,
        ("jax", "jaxneuro"),
    ),
    Method(
        "hand_heun",
        "hand-written lax.scan, Heun",
        peers.prepare_hand_scan,
        ("jax",),
        dict(scheme="heun"),
    ),
    Method(
        "jaxneuro_ee",
        "jaxneuro HodgkinHuxley(solver=ExponentialEuler())",
        peers.prepare_jaxneuro,
        ("jax", "jaxneuro"),
        dict(solver="exp_euler"),
    ),
    Method(
        "hand_ee",
        "hand-written lax.scan, exponential Euler",
        peers.prepare_hand_scan,
        ("jax",),
        dict(scheme="exp_euler"),
    ),
    Method("jaxley", "jaxley (HH channel, bwd_euler)", peers.prepare_jaxley, ("jaxley",)),
    Method("neuron", "NEURON hh (fixed step, 1 thread)", peers.prepare_neuron, ("neuron",)),
    Method(
        "neuron_2t",
        "NEURON hh (fixed step, 2 threads)",
        peers.prepare_neuron,
        ("neuron",),
        dict(threads=2),
    ),
    Method(
        "brian2", "Brian2 (exponential_euler, cython)", peers.prepare_brian2, ("brian2", "Cython")
    ),
    # Accuracy-matched, not in the default set: Heun at twice the step (sample interval = step,
    # so the input protocol is [N, T/2, 1]); still more accurate than the peers at 0.025 ms.
    # (Heun at 0.1 ms diverges: explicit RK2 is past its stability limit there.)
    Method(
        "jaxneuro_dt0.05",
        "jaxneuro HodgkinHuxley(dt=0.05) (Heun)",
        peers.prepare_jaxneuro,
        ("jax", "jaxneuro"),
        dict(step_ms=0.05),
        default=False,
    ),
]


def log(*a):
    print(*a, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------------------------
# Accuracy
# --------------------------------------------------------------------------------------------
def run_reference(currents, duration_ms, tol):
    t0 = time.perf_counter()
    spikes = [peers.reference_spike_times(float(c), duration_ms, tol) for c in currents]
    return spikes, time.perf_counter() - t0


MODEL_CHECK_MS = 200.0
"""Model check: spike-for-spike agreement in the first 200 ms, before first-order phase drift
adds up (a spike pushed across the window's edge by drift is not a mismatch)."""


def accuracy_of(method: Method, currents, ref_spikes, duration_ms, dt, **extra) -> dict:
    """Run ``method`` once on the test currents with traces; compare spike times."""
    kwargs = {**method.kwargs, **extra}
    prep = method.prepare(currents, duration_ms, dt, True, **kwargs)
    runs = []
    try:
        for _ in range(2 if prep.compile_from_first_run else 1):
            prep.before_run()
            result, wall, _, _ = hn.timed(prep.run)
            runs.append(wall)
        t, v = prep.traces(result)
    finally:
        prep.teardown()
    per_current, window = [], []
    for c, ref, trace in zip(currents, ref_spikes, v, strict=True):
        got = peers.crossings(t, trace, peers.HH["v_spike"])
        per_current.append(
            dict(
                current=float(c), **peers.compare_spikes(ref, got, duration_ms), spike_times_ms=got
            )
        )
        w = min(MODEL_CHECK_MS, duration_ms)
        window.append(peers.compare_spikes(ref[ref < w], got[got < w], w))
    out = dict(
        per_current=per_current,
        max_abs_dt_ms=max(p["max_abs_dt_ms"] for p in per_current),
        mean_abs_dt_ms=float(np.mean([p["mean_abs_dt_ms"] for p in per_current])),
        total_abs_count_mismatch=int(sum(abs(p["count_mismatch"]) for p in per_current)),
        counts_match_reference=all(p["count_mismatch"] == 0 for p in per_current),
        mismatches_are_end_drift=all(p["mismatch_is_end_drift"] for p in per_current),
        model_check=dict(
            window_ms=min(MODEL_CHECK_MS, duration_ms),
            counts_match=all(
                w["count_mismatch"] == 0 or w["mismatch_is_end_drift"] for w in window
            ),
            max_abs_dt_ms=max(w["max_abs_dt_ms"] for w in window),
        ),
        compile_s=prep.compile_s,
        device=prep.device,
        dt_ms=prep.dt_ms,
    )
    if prep.compile_from_first_run and len(runs) == 2:
        out["compile_s"] = max(0.0, runs[0] - runs[1])
        out["compile_note"] = "first run minus second run, on the 4 test cells (cold cache)"
    return out


# --------------------------------------------------------------------------------------------
# Throughput
# --------------------------------------------------------------------------------------------
def time_population(methods, n, duration_ms, dt, repeats, max_run_s) -> list[dict]:
    currents = np.linspace(5.0, 20.0, n)
    prepared, rows = [], []
    for m in methods:
        log(f"  prepare {m.name} N={n}")
        try:
            prep = m.prepare(currents, duration_ms, dt, False, **m.kwargs)
            prepared.append((m, prep, hn.Timings(), {}))
        except Exception as e:  # noqa: BLE001 - a failing peer is reported, not fatal
            log(traceback.format_exc())
            rows.append(dict(method=m.name, label=m.label, n=n, skipped=f"prepare failed: {e!r}"))
    for r in range(repeats):
        for m, prep, tm, info in prepared:
            if "error" in info:
                continue
            needs_second = prep.compile_from_first_run and len(tm.wall) < 2
            if r > 0 and tm.wall and tm.wall[0] > max_run_s and not needs_second:
                continue
            try:
                prep.before_run()
                result, wall, cpu, rss = hn.timed(prep.run)
            except Exception as e:  # noqa: BLE001
                log(traceback.format_exc())
                info["error"] = repr(e)
                continue
            tm.add(wall, cpu, rss)
            if r == 0:
                info["spike_counts"] = np.asarray(prep.spike_counts(result))
            del result
            gc.collect()
            log(f"  {m.name:10s} N={n:6d} round {r}: wall {wall:8.3f} s  cpu {cpu:8.3f} s")
    for m, prep, tm, info in prepared:
        row = dict(
            method=m.name,
            label=m.label,
            n=n,
            dt_ms=prep.dt_ms,
            device=prep.device,
            notes=prep.notes,
        )
        if not tm.wall:
            row["skipped"] = f"run failed: {info.get('error')}"
        else:
            compile_s, note = prep.compile_s, prep.compile_note
            if prep.compile_from_first_run:
                if len(tm.wall) >= 2:
                    compile_s = max(0.0, tm.wall[0] - min(tm.wall[1:]))
                    best_wall = min(tm.wall[1:])
                    best_cpu = min(tm.cpu[1:])
                else:
                    compile_s, best_wall, best_cpu = None, tm.best_wall, tm.best_cpu
                    note = "could not separate: one run only"
            else:
                best_wall, best_cpu = tm.best_wall, tm.best_cpu
            counts = info.get("spike_counts")
            row.update(
                runs=len(tm.wall),
                wall_s=tm.wall,
                cpu_s=tm.cpu,
                best_wall_s=best_wall,
                best_cpu_s=best_cpu,
                neuron_s_per_s=n * duration_ms / 1e3 / best_wall,
                neuron_s_per_cpu_s=n * duration_ms / 1e3 / best_cpu,
                compile_s=compile_s,
                compile_note=note,
                setup_s=prep.setup_s,
                peak_rss_delta_mb=tm.peak_rss,
                xla_memory=prep.xla_memory,
                input_mb=prep.input_mb,
                total_spikes=int(counts.sum()) if counts is not None else None,
                spike_counts_sample=(
                    counts[:: max(1, n // 8)].tolist() if counts is not None else None
                ),
            )
            if "error" in info:
                row["error_later_round"] = info["error"]
        rows.append(row)
        prep.teardown()
    prepared.clear()
    peers.clear_inputs()
    gc.collect()
    return rows


# --------------------------------------------------------------------------------------------
# Gradient and profile (jax only)
# --------------------------------------------------------------------------------------------
def _interleave(fns: dict, repeats: int) -> dict:
    """Best wall / CPU seconds of each zero-argument callable, repetitions interleaved."""
    import jax

    res = {k: hn.Timings() for k in fns}
    for _ in range(repeats):
        for k, f in fns.items():
            out, wall, cpu, rss = hn.timed(lambda f=f: jax.block_until_ready(f()))
            res[k].add(wall, cpu, rss)
            del out
            gc.collect()
    return res


def gradient_cost(n, duration_ms, dt, repeats, solver="default") -> dict:
    """``jax.grad`` of a voltage + spike-count loss w.r.t. the ``[N, T, 1]`` input currents."""
    import jax
    import jax.numpy as jnp

    model = peers.jaxneuro_hh(dt, solver)
    params = model.init()
    n_steps = round(duration_ms / dt)
    x = peers.constant_inputs(np.linspace(5.0, 20.0, n), n_steps)
    population = jax.vmap(model.apply, in_axes=(None, 0))
    loss = _loss_with(model.apply, params, duration_ms)

    compiled, compile_s = {}, {}
    for name, f, args in [
        ("forward (population call)", jax.jit(population), (params, x)),
        ("forward (loss)", jax.jit(loss), (x,)),
        ("grad (loss)", jax.jit(jax.grad(loss)), (x,)),
    ]:
        t0 = time.perf_counter()
        c = f.lower(*args).compile()
        compile_s[name] = time.perf_counter() - t0
        compiled[name] = (c, args)
    g = compiled["grad (loss)"][0](x)
    finite = bool(jnp.isfinite(g).all())
    g_norm = float(jnp.linalg.norm(g))
    del g
    times = _interleave({k: (lambda c=c, a=a: c(*a)) for k, (c, a) in compiled.items()}, repeats)
    out = dict(
        n=n,
        solver=type(model.solver).__name__,
        loss="1e-4·mean(v²) + 1e-2·mean((spike count − 50/s·T)²), w.r.t. inputs [N, T, 1]",
        gradient_finite=finite,
        gradient_norm=g_norm,
        results={
            k: dict(
                best_wall_s=times[k].best_wall,
                best_cpu_s=times[k].best_cpu,
                wall_s=times[k].wall,
                cpu_s=times[k].cpu,
                compile_s=compile_s[k],
                peak_rss_delta_mb=times[k].peak_rss,
                xla_memory=peers.xla_memory(compiled[k][0]),
            )
            for k in compiled
        },
    )
    r = out["results"]
    out["grad_over_forward_loss"] = (
        r["grad (loss)"]["best_wall_s"] / r["forward (loss)"]["best_wall_s"]
    )
    out["grad_over_forward_population"] = (
        r["grad (loss)"]["best_wall_s"] / r["forward (population call)"]["best_wall_s"]
    )
    out["grad_over_forward_loss_cpu"] = (
        r["grad (loss)"]["best_cpu_s"] / r["forward (loss)"]["best_cpu_s"]
    )
    out["grad_over_forward_population_cpu"] = (
        r["grad (loss)"]["best_cpu_s"] / r["forward (population call)"]["best_cpu_s"]
    )
    peers.clear_inputs()
    return out


def _loss_with(apply, params, duration_ms):
    import jax
    import jax.numpy as jnp

    population = jax.vmap(apply, in_axes=(None, 0))
    target_count = 50.0 * duration_ms / 1e3

    def loss(x):
        o, _ = population(params, x)
        rate_term = jnp.mean((o["spikes"].sum(axis=1) - target_count) ** 2)
        return 1e-4 * jnp.mean(o["v"] ** 2) + 1e-2 * rate_term

    return loss


def _constant_current(fn, n_steps):
    """``fn`` fed a per-cell scalar current broadcast inside jit (as jaxley's stimulus is)."""
    import jax.numpy as jnp

    def apply(p, current):
        return fn(p, jnp.broadcast_to(current, (n_steps, 1)))

    return apply


ALL_FIXES = "all fixes: StraightLineHeun + nested checkpoint scan + checks on state"

MINIMAL_VARIANTS = (
    ALL_FIXES,
    "StraightLineHeun (no stage loop)",
    "jaxneuro as is",
    "lax.scan, checks on state",
    "nested checkpoint scan, checks on state",
    "hand-written scan",
    "hand-written scan, current as [N] vector (no input array)",
)


def diagnose(n, duration_ms, dt, repeats, with_grad: bool, variants_kept="all") -> dict:
    """Where does the diffrax path spend time beyond the hand-written scan?

    For each solver (the default and ExponentialEuler), times jaxneuro as is, a benchmark-side
    replica of its sample loop, and the replica with one change at a time (see
    ``_point_neuron_variants.py``), against the hand-written scan of the same scheme.
    """
    import jax
    import jax.numpy as jnp
    from _point_neuron_variants import StraightLineHeun, make_apply

    from jaxneuro.models import HodgkinHuxley

    hand_params = {k: jnp.asarray(v, jnp.float32) for k, v in peers.HH.items()}
    n_steps = round(duration_ms / dt)
    x = peers.constant_inputs(np.linspace(5.0, 20.0, n), n_steps)
    currents = jnp.asarray(np.linspace(5.0, 20.0, n), jnp.float32)
    out = dict(n=n, solvers={})
    default_solver = type(peers.jaxneuro_hh(dt, "default").solver).__name__
    for solver, scheme in [("diffrax_heun", "heun"), ("exp_euler", "exp_euler")]:
        model = peers.jaxneuro_hh(dt, solver)
        params = model.init()
        variants = {
            "jaxneuro as is": (model.apply, params),
            "replica: checkpointed scan, checks on arrays": (
                make_apply(model, "checkpointed", "arrays"),
                params,
            ),
            "lax.scan, checks on arrays": (make_apply(model, "lax", "arrays"), params),
            "lax.scan, checks on state": (make_apply(model, "lax", "state"), params),
            "nested checkpoint scan, checks on state": (
                make_apply(model, "nested", "state"),
                params,
            ),
            "hand-written scan": (peers.hand_written_hh(dt, scheme), hand_params),
            "hand-written scan, exp(x)-1 for expm1": (
                peers.hand_written_hh(dt, scheme, lambda z: jnp.exp(z) - 1.0),
                hand_params,
            ),
            "hand-written scan, current as [N] vector (no input array)": (
                _constant_current(peers.hand_written_hh(dt, scheme), n_steps),
                hand_params,
                currents,
            ),
        }
        if solver == "diffrax_heun":
            if default_solver not in ("Heun", "ExponentialEuler"):
                default = peers.jaxneuro_hh(dt, "default")
                variants[f"jaxneuro default solver ({default_solver}) as is"] = (
                    default.apply,
                    default.init(),
                )
            straight = HodgkinHuxley(dt=dt, solver=StraightLineHeun())
            variants["StraightLineHeun (no stage loop)"] = (straight.apply, params)
            variants["StraightLineHeun + lax.scan, checks on state"] = (
                make_apply(straight, "lax", "state"),
                params,
            )
            variants[ALL_FIXES] = (make_apply(straight, "nested", "state"), params)
        if variants_kept == "minimal":
            variants = {k: v for k, v in variants.items() if k in MINIMAL_VARIANTS}
        compiled, info = {}, {}
        for k, (fn, p, *arg) in variants.items():
            arg = arg[0] if arg else x
            t0 = time.perf_counter()
            c = jax.jit(jax.vmap(fn, in_axes=(None, 0))).lower(p, arg).compile()
            info[k] = dict(compile_s=time.perf_counter() - t0, xla_memory=peers.xla_memory(c))
            compiled[k] = (c, p, arg)
        ref_counts = None
        for k, (c, p, arg) in compiled.items():  # same spikes from every variant?
            o = c(p, arg)
            counts = np.asarray(o[0]["spikes"] if isinstance(o[0], dict) else o[1]).sum(axis=1)
            ref_counts = counts if ref_counts is None else ref_counts
            info[k]["max_spike_count_diff_vs_as_is"] = int(np.abs(counts - ref_counts).max())
            del o
        log(f"  diagnose {solver}: timing {len(compiled)} variants")
        times = _interleave(
            {k: (lambda c=c, p=p, a=a: c(p, a)) for k, (c, p, a) in compiled.items()}, repeats
        )
        hand = times["hand-written scan"]
        for k in compiled:
            info[k].update(
                best_wall_s=times[k].best_wall,
                best_cpu_s=times[k].best_cpu,
                wall_s=times[k].wall,
                cpu_s=times[k].cpu,
                over_hand_wall=times[k].best_wall / hand.best_wall,
                over_hand_cpu=times[k].best_cpu / hand.best_cpu,
            )
        out["solvers"][type(model.solver).__name__] = info
        out["default_solver"] = default_solver
        compiled.clear()

    if with_grad:
        model = peers.jaxneuro_hh(dt, "diffrax_heun")
        params = model.init()
        fixed = make_apply(HodgkinHuxley(dt=dt, solver=StraightLineHeun()), "nested", "state")
        fns, comp_s, mem = {}, {}, {}
        for k, apply in [("as is (diffrax.Heun)", model.apply), (ALL_FIXES, fixed)]:
            for what, f, args in [
                ("forward", jax.jit(jax.vmap(apply, in_axes=(None, 0))), (params, x)),
                ("grad", jax.jit(jax.grad(_loss_with(apply, params, duration_ms))), (x,)),
            ]:
                t0 = time.perf_counter()
                c = f.lower(*args).compile()
                comp_s[f"{what}: {k}"] = time.perf_counter() - t0
                mem[f"{what}: {k}"] = peers.xla_memory(c)
                fns[f"{what}: {k}"] = lambda c=c, args=args: c(*args)
        g_as_is = np.asarray(fns["grad: as is (diffrax.Heun)"]())
        g_fixed = np.asarray(fns[f"grad: {ALL_FIXES}"]())
        rel_diff = float(np.linalg.norm(g_fixed - g_as_is) / np.linalg.norm(g_as_is))
        del g_as_is, g_fixed
        log("  diagnose gradient")
        t = _interleave(fns, repeats)
        grad = {
            k: dict(
                best_wall_s=t[k].best_wall,
                best_cpu_s=t[k].best_cpu,
                wall_s=t[k].wall,
                cpu_s=t[k].cpu,
                compile_s=comp_s[k],
                xla_memory=mem[k],
            )
            for k in fns
        }
        for k in ("as is (diffrax.Heun)", ALL_FIXES):
            g, f = grad[f"grad: {k}"], grad[f"forward: {k}"]
            grad[f"ratio: {k}"] = dict(
                grad_over_forward_wall=g["best_wall_s"] / f["best_wall_s"],
                grad_over_forward_cpu=g["best_cpu_s"] / f["best_cpu_s"],
            )
        out["gradient"] = dict(
            solver=type(model.solver).__name__,
            results=grad,
            fixed_vs_as_is_relative_gradient_difference=rel_diff,
        )
    peers.clear_inputs()
    return out


# --------------------------------------------------------------------------------------------
# Targets and tables
# --------------------------------------------------------------------------------------------
def evaluate_targets(rows, accuracy, grad, n_target) -> list[dict]:
    at = {r["method"]: r for r in rows if r["n"] == n_target and "skipped" not in r}
    targets = []

    def add(name, goal, value, met, detail):
        targets.append(dict(target=name, goal=goal, measured=value, met=met, detail=detail))

    for ours, hand, what in [
        ("jaxneuro", "hand_heun", "default solver (Heun)"),
        ("jaxneuro_ee", "hand_ee", "ExponentialEuler"),
    ]:
        a, b = at.get(ours), at.get(hand)
        if a is None or b is None:
            add(f"diffrax path vs hand-written scan, {what}", "<= 1.3x", None, None, "not timed")
            continue
        ratio = a["best_wall_s"] / b["best_wall_s"]
        ratio_cpu = a["best_cpu_s"] / b["best_cpu_s"]
        add(
            f"diffrax path vs hand-written scan, {what}",
            "<= 1.3x run time",
            ratio,
            ratio <= 1.3,
            f"wall {a['best_wall_s']:.3f} s vs {b['best_wall_s']:.3f} s; CPU-time ratio {ratio_cpu:.3f}",
        )

    def accuracy_condition(ours, peer):
        ea, eb = (
            accuracy.get(ours, {}).get("max_abs_dt_ms"),
            accuracy.get(peer, {}).get("max_abs_dt_ms"),
        )
        ca = accuracy.get(ours, {}).get("total_abs_count_mismatch")
        cb = accuracy.get(peer, {}).get("total_abs_count_mismatch")
        # "Equal" within 5 % + 1 µs: float32 (jax) against float64 (Brian2) runs of one scheme.
        ok = None if ea is None or eb is None else (ea <= 1.05 * eb + 1e-3 and ca <= cb)
        return ok, f"max |Δt| {hn.fmt(ea)} vs {hn.fmt(eb)} ms, Σ|count mismatch| {ca} vs {cb}"

    for peer, need in [("jaxley", 2.0), ("neuron", 10.0), ("neuron_2t", 10.0), ("brian2", 10.0)]:
        p = at.get(peer)
        if p is None:
            add(
                f"throughput vs {peer}",
                f">= {need:g}x",
                None,
                None,
                "peer not available / not timed",
            )
            continue
        parts, headline = [], None
        for ours in ("jaxneuro", "jaxneuro_ee", "jaxneuro_dt0.05"):
            a = at.get(ours)
            if a is None:
                continue
            speedup = p["best_wall_s"] / a["best_wall_s"]
            speedup_cpu = p["best_cpu_s"] / a["best_cpu_s"]
            ok, acc = accuracy_condition(ours, peer)
            met = speedup >= need and bool(ok)
            parts.append(
                f"{ours}: {speedup:.3f}x wall ({speedup_cpu:.3f}x CPU), {acc} -> accuracy "
                f"{'equal or better' if ok else 'WORSE'}; {'met' if met else 'missed'}"
            )
            if headline is None:
                headline = (speedup, met)
        add(
            f"throughput vs {peer} at equal or better accuracy",
            f">= {need:g}x",
            headline[0] if headline else None,
            headline[1] if headline else None,
            f"{peer} {p['best_wall_s']:.3f} s; " + " | ".join(parts),
        )
    for ours in ("jaxneuro", "jaxneuro_ee"):
        a = at.get(ours)
        if a:
            add(
                f"compile time ({ours})",
                "<= 5 s",
                a["compile_s"],
                a["compile_s"] is not None and a["compile_s"] <= 5.0,
                a.get("compile_note", ""),
            )
    if grad:
        r = grad["grad_over_forward_loss"]
        res = grad["results"]
        add(
            f"gradient cost ({grad['solver']})",
            "<= 4x forward",
            r,
            r <= 4.0,
            f"N={grad['n']}: grad {res['grad (loss)']['best_wall_s']:.3f} s vs forward loss "
            f"{res['forward (loss)']['best_wall_s']:.3f} s; vs population call "
            f"{grad['grad_over_forward_population']:.3f}x; CPU-time ratios "
            f"{grad['grad_over_forward_loss_cpu']:.3f}x / {grad['grad_over_forward_population_cpu']:.3f}x",
        )
    return targets


def throughput_table(rows, duration_ms) -> str:
    by_n = {}
    for r in rows:
        by_n.setdefault(r["n"], {})[r["method"]] = r
    out = []
    for r in rows:
        if "skipped" in r:
            out.append([r["method"], r["n"], *(["-"] * 9), r["skipped"]])
            continue
        jx = by_n[r["n"]].get("jaxneuro")
        rel = hn.fmt(r["best_wall_s"] / jx["best_wall_s"]) if jx and "skipped" not in jx else None
        xla = r.get("xla_memory")
        out.append(
            [
                r["method"],
                r["n"],
                hn.fmt(r["best_wall_s"]),
                hn.fmt(r["best_cpu_s"]),
                hn.fmt(r["neuron_s_per_s"]),
                rel,
                hn.fmt(r["compile_s"]),
                hn.fmt(r["setup_s"]),
                hn.fmt(r["peak_rss_delta_mb"]),
                hn.fmt(xla["total_mb"]) if xla else None,
                r["runs"],
                r["device"],
            ]
        )
    headers = [
        "method",
        "N",
        "run s (best)",
        "CPU s (best)",
        "neuron-s / s",
        "time / jaxneuro",
        "compile s",
        "setup s",
        "peak RSS Δ MB",
        "XLA MB",
        "runs",
        "device",
    ]
    return hn.format_table(headers, out, markdown=True)


def accuracy_table(accuracy) -> str:
    rows = []
    for name, a in accuracy.items():
        if "skipped" in a:
            rows.append([name, *(["-"] * 6), a["skipped"]])
            continue
        per = ", ".join(
            f"{p['current']:g}: {p['n_got']}/{p['n_ref']} ({hn.fmt(p['max_abs_dt_ms'])})"
            for p in a["per_current"]
        )
        mc = a.get("model_check", {})
        if a["counts_match_reference"]:
            counts = "yes"
        else:
            counts = "no: end drift" if a.get("mismatches_are_end_drift") else "NO"
        rows.append(
            [
                name,
                a.get("dt_ms"),
                hn.fmt(a["max_abs_dt_ms"]),
                hn.fmt(a["mean_abs_dt_ms"]),
                a["total_abs_count_mismatch"],
                counts,
                (
                    f"{'yes' if mc.get('counts_match') else 'NO'} ({hn.fmt(mc.get('max_abs_dt_ms'))})"
                    if mc
                    else None
                ),
                per,
            ]
        )
    headers = [
        "method",
        "dt ms",
        "max |Δt| ms",
        "mean |Δt| ms",
        "Σ|count mismatch|",
        "counts = ref",
        f"model check: counts in {MODEL_CHECK_MS:g} ms (max |Δt| ms)",
        "per current µA/cm²: spikes/ref (max |Δt| ms)",
    ]
    return hn.format_table(headers, rows, markdown=True)


def targets_table(targets) -> str:
    rows = [
        [
            t["target"],
            t.get("goal"),
            hn.fmt(t.get("measured"), 4)
            if isinstance(t.get("measured"), float)
            else t.get("measured"),
            {True: "met", False: "MISSED", None: "n/a"}[t.get("met")],
            t.get("detail"),
        ]
        for t in targets
    ]
    return hn.format_table(["target", "goal", "measured", "result", "detail"], rows, markdown=True)


# --------------------------------------------------------------------------------------------
def main(argv=None):
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--sizes", type=int, nargs="+", default=None, help="population sizes N")
    ap.add_argument("--quick", action="store_true", help="smoke run: 20 ms, N = 16, 1 repeat")
    ap.add_argument("--duration-ms", type=float, default=None)
    ap.add_argument("--dt", type=float, default=0.025)
    ap.add_argument("--repeats", type=int, default=None)
    ap.add_argument(
        "--methods", nargs="+", default=None, help=f"subset of {[m.name for m in METHODS]}"
    )
    ap.add_argument(
        "--max-run-s", type=float, default=90.0, help="no repeats for runs longer than this"
    )
    ap.add_argument("--target-size", type=int, default=None, help="N at which targets are judged")
    ap.add_argument("--grad-size", type=int, default=None)
    ap.add_argument("--no-grad", dest="grad", action="store_false", default=None)
    ap.add_argument(
        "--grad", dest="grad", action="store_true", help="gradient cost (default unless --quick)"
    )
    ap.add_argument("--diagnose", dest="diagnose", action="store_true", default=None)
    ap.add_argument("--no-diagnose", dest="diagnose", action="store_false")
    ap.add_argument(
        "--only",
        choices=["accuracy", "diagnose"],
        default=None,
        help="run only the accuracy check or only the profile (writes its own JSON)",
    )
    ap.add_argument("--diagnose-variants", choices=["all", "minimal"], default="all")
    ap.add_argument("--test-currents", type=float, nargs="+", default=[5.0, 7.0, 10.0, 20.0])
    ap.add_argument("--ref-tol", type=float, default=1e-10)
    ap.add_argument("--brian-cache", choices=["cold", "warm"], default=None)
    ap.add_argument("--out", type=Path, default=None, help="JSON path")
    args = ap.parse_args(argv)

    q = args.quick
    sizes = args.sizes or ([16] if q else [1, 100, 1000, 10000])
    duration = args.duration_ms or (20.0 if q else 1000.0)
    repeats = args.repeats or (1 if q else 3)
    n_target = args.target_size or (16 if q else 1000)
    grad_n = args.grad_size or (16 if q else 1000)
    diag = (not q) if args.diagnose is None else args.diagnose
    do_grad = (not q) if args.grad is None else args.grad
    stem = "population" + {None: "", "accuracy": "_accuracy", "diagnose": "_profile"}[args.only]
    out_path = args.out or (HERE / "results" / (stem + ("_quick" if q else "") + ".json"))
    peers.brian2_cache(cold=(args.brian_cache or ("warm" if q else "cold")) == "cold")

    if args.methods:
        unknown = set(args.methods) - {m.name for m in METHODS}
        if unknown:
            ap.error(f"unknown methods {sorted(unknown)}")
        selected = [m for m in METHODS if m.name in args.methods]
    else:
        selected = [m for m in METHODS if m.default]
    available, skipped = [], {}
    for m in selected:
        miss = m.missing()
        if miss:
            skipped[m.name] = f"not installed: {', '.join(miss)} (pip install -e .[peers])"
        else:
            available.append(m)
    machine = hn.machine_info(PACKAGES)
    log(f"machine: {machine['cpu']} x{machine['cpu_count']}, jax {machine['packages'].get('jax')}")
    for k, v in skipped.items():
        log(f"skip {k}: {v}")

    # 1. Reference and accuracy, before any timing: a peer whose model differs is flagged here.
    ref_spikes, ref_s, accuracy = [], None, {}
    if args.only != "diagnose":
        log(f"reference: DOP853 rtol=atol={args.ref_tol:g}, currents {args.test_currents}")
        ref_spikes, ref_s = run_reference(args.test_currents, duration, args.ref_tol)
    for m in available if args.only != "diagnose" else []:
        log(f"accuracy: {m.name}")
        try:
            accuracy[m.name] = accuracy_of(m, args.test_currents, ref_spikes, duration, args.dt)
        except Exception as e:  # noqa: BLE001
            log(traceback.format_exc())
            accuracy[m.name] = dict(skipped=f"failed: {e!r}")
    if not q and args.only != "diagnose" and any(m.name == "neuron" for m in available):
        log("accuracy: neuron with usetable_hh=0 (exact rates)")
        try:
            nrn = next(m for m in available if m.name == "neuron")
            accuracy["neuron (usetable_hh=0, not timed)"] = accuracy_of(
                nrn, args.test_currents, ref_spikes, duration, args.dt, use_table=False
            )
        except (StopIteration, Exception) as e:  # noqa: BLE001
            log(f"neuron exact-rate accuracy skipped: {e!r}")
    for name, note in skipped.items():
        accuracy[name] = dict(skipped=note)

    # 2. Throughput per population size.
    rows = []
    for n in sizes if args.only is None else []:
        log(f"population N={n}")
        rows += time_population(available, n, duration, args.dt, repeats, args.max_run_s)
    for name, note in skipped.items():
        rows += [dict(method=name, n=n, skipped=note) for n in sizes]

    # 3. Gradient, 4. profile.
    grad = None
    if args.only is None and do_grad and any(m.name == "jaxneuro" for m in available):
        log(f"gradient N={grad_n}")
        grad = gradient_cost(grad_n, duration, args.dt, repeats)
    diagnosis = None
    if args.only == "diagnose" or (
        args.only is None and diag and any(m.name == "jaxneuro" for m in available)
    ):
        log(f"diagnose N={n_target}")
        try:
            diagnosis = diagnose(
                n_target, duration, args.dt, repeats, do_grad, args.diagnose_variants
            )
        except Exception as e:  # noqa: BLE001 - the profile copies library internals
            log(traceback.format_exc())
            diagnosis = dict(error=repr(e))

    targets = evaluate_targets(rows, accuracy, grad, n_target) if args.only is None else []
    machine["load_average_end"] = list(__import__("os").getloadavg())
    payload = dict(
        benchmark="population",
        description=(
            f"{len(sizes)} population sizes of unconnected NEURON-hh cells (6.3 °C), "
            f"{duration:g} ms at dt={args.dt} ms, constant currents linspace(5, 20, N) µA/cm²"
        ),
        machine=machine,
        config=dict(
            sizes=sizes,
            duration_ms=duration,
            dt_ms=args.dt,
            n_steps=round(duration / args.dt),
            repeats=repeats,
            max_run_s=args.max_run_s,
            target_size=n_target,
            test_currents=args.test_currents,
            quick=q,
            timing="best of interleaved repetitions; wall = time.perf_counter, CPU = process_time",
        ),
        reference=dict(
            method=f"scipy solve_ivp DOP853 rtol=atol={args.ref_tol:g}, float64, event location",
            seconds=ref_s,
            spike_times_ms={
                str(c): s.tolist() for c, s in zip(args.test_currents, ref_spikes, strict=False)
            },
            spike_counts={
                str(c): len(s) for c, s in zip(args.test_currents, ref_spikes, strict=False)
            },
        ),
        accuracy=accuracy,
        throughput=rows,
        gradient=grad,
        diagnosis=diagnosis,
        targets=targets,
        skipped=skipped,
    )
    hn.write_json(out_path, payload)

    if rows:
        print(f"\n## Throughput ({duration:g} ms at dt = {args.dt} ms; best of {repeats})\n")
        print(throughput_table(rows, duration))
    if accuracy:
        print(f"\n## Spike-time accuracy (vs DOP853 rtol=atol={args.ref_tol:g}; {duration:g} ms)\n")
        print(accuracy_table(accuracy))
    if grad:
        print(f"\n## Gradient ({grad['solver']}, N={grad['n']})\n")
        gr = [
            [
                k,
                hn.fmt(v["best_wall_s"]),
                hn.fmt(v["best_cpu_s"]),
                hn.fmt(v["compile_s"]),
                hn.fmt(v["xla_memory"]["total_mb"]) if v["xla_memory"] else None,
            ]
            for k, v in grad["results"].items()
        ]
        print(hn.format_table(["call", "run s", "CPU s", "compile s", "XLA MB"], gr, markdown=True))
    if diagnosis and "solvers" in diagnosis:
        for solver, variants in diagnosis["solvers"].items():
            print(f"\n## Profile of the diffrax path, {solver} (N={diagnosis['n']})\n")
            dr = [
                [
                    k,
                    hn.fmt(v["best_wall_s"]),
                    hn.fmt(v["best_cpu_s"]),
                    hn.fmt(v["over_hand_wall"]),
                    hn.fmt(v["over_hand_cpu"]),
                    hn.fmt(v["compile_s"]),
                    hn.fmt(v["xla_memory"]["total_mb"]) if v["xla_memory"] else None,
                    v["max_spike_count_diff_vs_as_is"],
                ]
                for k, v in variants.items()
            ]
            print(
                hn.format_table(
                    [
                        "variant",
                        "run s",
                        "CPU s",
                        "/ hand (wall)",
                        "/ hand (CPU)",
                        "compile s",
                        "XLA MB",
                        "Δcount",
                    ],
                    dr,
                    markdown=True,
                )
            )
        if "gradient" in diagnosis:
            print(
                f"\n## Gradient of the diffrax path vs the proposed loop ({diagnosis['gradient']['solver']})\n"
            )
            gr = [
                [
                    k,
                    hn.fmt(v.get("best_wall_s")),
                    hn.fmt(v.get("best_cpu_s")),
                    hn.fmt(v.get("compile_s")),
                    hn.fmt(v["xla_memory"]["total_mb"]) if v.get("xla_memory") else None,
                    hn.fmt(v.get("grad_over_forward_wall")),
                    hn.fmt(v.get("grad_over_forward_cpu")),
                ]
                for k, v in diagnosis["gradient"]["results"].items()
            ]
            print(
                hn.format_table(
                    [
                        "call",
                        "run s",
                        "CPU s",
                        "compile s",
                        "XLA MB",
                        "grad/fwd (wall)",
                        "grad/fwd (CPU)",
                    ],
                    gr,
                    markdown=True,
                )
            )
    if targets:
        print(f"\n## Targets (N = {n_target})\n")
        print(targets_table(targets))
    print(f"\nJSON: {out_path}")
    return payload


if __name__ == "__main__":
    main()
