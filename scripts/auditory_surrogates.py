"""CoNNear-style surrogates of jaxneuro's own inner-hair-cell and auditory-nerve stages (issue 16,
deliverable 5): data → fit → evaluate → ship. Every stage resumes where it stopped.

    python scripts/auditory_surrogates.py bank  [--work DIR]    # cochlea on sounds (slow, once)
    python scripts/auditory_surrogates.py train [--model ihc anf-h anf-m anf-l] [--steps N]
                                                [--n WINDOWS] [--tag -r2]
    python scripts/auditory_surrogates.py ship  [--work DIR] [--to jaxneuro/pretrained]

**Data.** Sounds (speech-like sentences, pure tones, broadband noise; levels uniform in
0–100 dB SPL; 0.5 s at 100 kHz) go once through the middle ear and the transmission-line cochlea
(``auditory_periphery.md`` §2–3); ``v_bm`` [m/s] is kept at every 6th of the 201 CoNNear sections
(34 CFs, 12 kHz … 113 Hz). The sounds of seed 0 train, those of seed 1 are held out. The
stage teachers then run on single CF columns (CF folded into the batch: the IHC and ANF act on
each CF alone, CoNNear's kernels are 1 wide across CF, §6):

- IHC: teacher ``"ihc"`` (:class:`~jaxneuro.models.auditory.InnerHairCell`, 100 kHz in and out),
  ``v_bm`` [m/s] → ``v_ihc`` [mV]. CoNNear's IHC runs at 20 kHz; ours keeps the registered
  teacher's 100 kHz (the IHC is stiff, §4), so the surrogate is a drop-in for that stage.
- ANF: teacher ``"anf"`` with one fibre type, ``v_ihc`` [mV, 20 kHz] → ``rate_<fibre>``
  [spikes/s]; its input is the IHC teacher's output on the bank, decimated by the causal
  :class:`~jaxneuro.models.auditory.Decimate` (as in :func:`AuditoryPeriphery`).

Windows for the datasets are cut at random from the bank's columns (:class:`BankColumns`); each
teacher then simulates its window from rest, so inputs and targets are consistent.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

import jaxneuro as jn
from jaxneuro.models.auditory import Decimate, InnerHairCell, MiddleEar, TransmissionLineCochlea
from jaxneuro.models.auditory.cochlea import CONNEAR_SECTIONS

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "jaxneuro" / "pretrained"
RESULTS = ROOT / "benchmarks" / "results" / "auditory_surrogates.json"
SECTIONS = tuple(CONNEAR_SECTIONS[::6])  # 34 of the 201 CoNNear CFs
DT = 0.01  # ms, 100 kHz
SOUND_S = 0.5
N_SOUNDS = {0: 12, 1: 4}  # seed → sounds (0: training bank, 1: held-out bank)


def sound(key: jax.Array, i: int) -> tuple[jax.Array, dict]:
    """Sound ``i`` [T, 1] in Pa and its description: speech-like (half), tone, or noise."""
    k_kind, k_level, k_f, k_s = jax.random.split(key, 4)
    level = float(jax.random.uniform(k_level, (), minval=0.0, maxval=100.0))
    kind = ("speech", "speech", "tone", "noise")[i % 4]
    dur = SOUND_S * 1000.0
    if kind == "speech":
        x = jn.stimuli.speech_like(k_s, dur, DT, level)
        return x, {"kind": kind, "level_db": level}
    if kind == "tone":
        f = float(jnp.exp(jax.random.uniform(k_f, (), minval=np.log(125.0), maxval=np.log(8e3))))
        x = jn.stimuli.pure_tone(dur, DT, f, level, ramp=5.0)
        return x, {"kind": kind, "level_db": level, "frequency_hz": f}
    x = jn.stimuli.noise(k_s, dur, DT, level, ramp=5.0)
    return x, {"kind": kind, "level_db": level}


def bank_path(work: Path, seed: int) -> Path:
    return work / f"bank-seed{seed}.npz"


def make_bank(work: Path) -> None:
    """Middle ear → cochlea on each seed's sounds; ``v_bm`` [sound, T, 34] saved per seed.
    Sounds are computed one at a time and cached, so an interrupted run resumes."""
    me, tl = MiddleEar(), TransmissionLineCochlea(sections=SECTIONS)
    pme, ptl = me.init(), tl.init()
    run = jax.jit(lambda x: tl.apply(ptl, me.apply(pme, x)[0]["pressure_me"])[0]["v_bm"])
    for seed, n in N_SOUNDS.items():
        out = bank_path(work, seed)
        if out.exists():
            continue
        parts, meta = [], []
        for i in range(n):
            part = work / f"bank-seed{seed}-{i}.npz"
            x, info = sound(jax.random.fold_in(jax.random.key(seed), i), i)
            if not part.exists():
                t0 = time.perf_counter()
                v = np.asarray(run(x), np.float32)
                np.savez(part, v_bm=v)
                print(f"seed {seed} sound {i} {info} {time.perf_counter() - t0:.1f} s", flush=True)
            parts.append(np.load(part)["v_bm"])
            meta.append(info)
        np.savez(out, v_bm=np.stack(parts), sections=np.asarray(SECTIONS))
        (work / f"bank-seed{seed}.json").write_text(json.dumps(meta, indent=1))


class BankColumns(jn.data.Sampler):
    """Windows cut at random from single CF columns of a bank ``[n_columns, T_bank, 1]``,
    optionally after ``preroll_ms`` of the input held at ``rest`` (the stage's resting input), so
    that windows from a sound's start include the onset from rest.

    Attributes:
        columns: the bank, ``[n_columns, T_bank, 1]`` in the teacher's input unit.
        duration_ms: window length including the pre-roll (ms).
        dt: sample interval (ms).
        source: what the bank is (a description for the manifest).
        preroll_ms: rest before the window (ms), 0 for none.
        rest: the resting input value (the teacher's input unit).
    """

    columns: jax.Array
    duration_ms: float = eqx.field(static=True)
    dt: float = eqx.field(static=True)
    source: str = eqx.field(static=True)
    preroll_ms: float = eqx.field(static=True, default=0.0)
    rest: float = eqx.field(static=True, default=0.0)

    @property
    def n_inputs(self) -> int:
        return int(self.columns.shape[-1])

    def __call__(self, key):
        k1, k2 = jax.random.split(key)
        n_pre = round(self.preroll_ms / self.dt)
        n_cut = self.n_samples - n_pre
        i = jax.random.randint(k1, (), 0, self.columns.shape[0])
        start = jax.random.randint(k2, (), 0, self.columns.shape[1] - n_cut + 1)
        cut = jax.lax.dynamic_slice_in_dim(self.columns[i], start, n_cut)
        pre = jnp.full((n_pre, self.n_inputs), self.rest, cut.dtype)
        return jnp.concatenate([pre, cut])

    def describe(self) -> dict:
        return {
            "class": "BankColumns",
            "source": self.source,
            "n_columns": int(self.columns.shape[0]),
            "bank_samples": int(self.columns.shape[1]),
            "duration_ms": self.duration_ms,
            "dt": self.dt,
            "preroll_ms": self.preroll_ms,
            "rest": self.rest,
        }


def stage_banks(work: Path, seed: int) -> dict[str, np.ndarray]:
    """Per-CF columns of one bank: ``v_bm`` [m/s, 100 kHz], the IHC teacher's ``v_ihc`` [mV,
    100 kHz] and its causal decimation [mV, 20 kHz], each ``[sounds × 34, T, 1]`` (cached)."""
    out = work / f"columns-seed{seed}.npz"
    if out.exists():
        return dict(np.load(out))
    v_bm = np.load(bank_path(work, seed))["v_bm"]  # [S, T, C]
    n_s, n_t, n_c = v_bm.shape
    ihc, dec = InnerHairCell(n_channels=n_c), Decimate(width=n_c)
    run = jax.jit(lambda x: ihc.apply(ihc.init(), x)[0]["v_ihc"])
    v_ihc = np.stack([np.asarray(run(v)) for v in v_bm])
    v20 = np.stack([np.asarray(dec.apply(dec.init(), v)[0]["v_ihc"]) for v in v_ihc])

    def cols(a):
        return np.ascontiguousarray(np.moveaxis(a, 2, 1).reshape(n_s * n_c, a.shape[1], 1))

    arrays = {"v_bm": cols(v_bm), "v_ihc": cols(v_ihc), "v_ihc20": cols(v20)}
    np.savez(out, **arrays)
    return arrays


FIBRE = {"anf-h": "hsr", "anf-m": "msr", "anf-l": "lsr"}
MODELS = {  # name: (teacher, teacher kwargs, bank input, surrogate sizes, window, fit settings)
    "ihc": dict(
        teacher=("ihc", {}),
        bank="v_bm",
        duration_ms=40.0,
        preroll_ms=0.0,
        n=256,
        arch=dict(levels=6, channels=16, kernel_size=8, output_kernel=16),
        fit=dict(window=1024, batch_size=8, learning_rate=3e-3),
    ),
    **{
        name: dict(
            teacher=("anf", {"fibres": f}),
            bank="v_ihc20",
            duration_ms=900.0,
            preroll_ms=420.0,
            n=128,
            arch=dict(levels=10, channels=16, kernel_size=5, output_kernel=8),
            fit=dict(window=2048, batch_size=4, learning_rate=3e-3),
        )
        for name, f in FIBRE.items()
    },
}
TARGET_RMSE = {"ihc": 0.1, "anf-h": 2.5, "anf-m": 2.5, "anf-l": 2.5}


def rest_of(columns: np.ndarray) -> float:
    """The resting input: the median first sample of the columns (each sound starts in rest)."""
    return float(np.median(columns[:, 0, 0]))


def build(name: str, rest: float, arch: dict):
    from jaxneuro.surrogates import ConvEncoderDecoder

    m = MODELS[name]
    teacher = jn.create(m["teacher"][0], **m["teacher"][1])
    rest_input = None if m["bank"] == "v_bm" else rest
    return teacher, ConvEncoderDecoder(teacher.spec, rest_input=rest_input, **arch)


def held_out(work: Path, name: str, n_columns: int) -> np.ndarray:
    """Held-out stimuli (seed-1 sounds, never trained on): ``n_columns`` CF columns, spread over
    sounds and CFs, each a whole 0.5 s sound from its start (the stage at rest before it)."""
    cols = stage_banks(work, 1)[MODELS[name]["bank"]]
    pick = np.linspace(0, cols.shape[0] - 1, n_columns).round().astype(int)
    return cols[pick]


def train(
    work: Path,
    name: str,
    steps: int,
    eval_columns: int,
    n: int | None = None,
    tag: str = "",
    arch: dict | None = None,
) -> dict:
    """Data, fit, held-out evaluation and a saved folder ``work/ship<tag>/<name>-connear``."""
    m = MODELS[name] | ({} if n is None else {"n": n})
    m["arch"] = m["arch"] | (arch or {})
    banks = stage_banks(work, 0)
    cols = banks[m["bank"]]
    rest = rest_of(cols)
    teacher, surrogate = build(name, rest, m["arch"])
    dt = teacher.spec.dt
    sampler = BankColumns(
        columns=jnp.asarray(cols),
        duration_ms=m["duration_ms"],
        dt=dt,
        source=f"{m['bank']} columns of bank seed 0 ({N_SOUNDS[0]} sounds x {len(SECTIONS)} CFs)",
        preroll_ms=m["preroll_ms"],
        rest=rest,
    )
    t0 = time.perf_counter()
    store = work / (f"{name}.zarr" if m["n"] == MODELS[name]["n"] else f"{name}-n{m['n']}.zarr")
    data = jn.data.generate(teacher, sampler, m["n"], store, seed=0, chunk_size=32, progress=False)
    t_data = time.perf_counter() - t0
    t0 = time.perf_counter()
    result = jn.fit(
        surrogate,
        data,
        checkpoint_dir=work / f"{name}-fit{tag}",
        steps=steps,
        eval_every=max(steps // 8, 25),
        val_windows=16,
        patience=100,
        progress=False,
        **m["fit"],
    )
    t_fit = time.perf_counter() - t0
    x = jnp.asarray(held_out(work, name, eval_columns))
    report = jn.evaluate(
        result.surrogate,
        teacher,
        x,
        params=result.params,
        out=work / f"{name}-eval{tag}",
        gradient_cells=2,
    )
    ch = report["channels"][teacher.spec.outputs[0].name]
    record = {
        "name": f"{name}-connear",
        "teacher": {"name": m["teacher"][0], "kwargs": m["teacher"][1]},
        "n_params": int(sum(a.size for a in jax.tree.leaves(result.params))),
        "config": result.surrogate.config(),
        "data": {"sampler": sampler.describe(), "n": m["n"], "seconds": t_data},
        "training": {"steps": steps, "best_step": result.best_step, "seconds": t_fit, **m["fit"]},
        "heldout": {
            "columns": eval_columns,
            "sounds": f"bank seed 1 ({N_SOUNDS[1]} sounds, 0.5 s each)",
            "rmse": ch["rmse"],
            "target_rmse": TARGET_RMSE[name],
            "channel": {k: v for k, v in ch.items() if isinstance(v, int | float | str)},
        },
        "gradient_cosine": report["gradient_cosine"],
        "speed": report["speed"],
    }
    (work / f"{name}-record{tag}.json").write_text(json.dumps(record, indent=1, default=float))
    jn.save(
        work / f"ship{tag}" / f"{name}-connear",
        result.surrogate,
        result.params,
        teacher=m["teacher"][0],
        teacher_kwargs=m["teacher"][1],
        card=card_of(record),
    )
    print(json.dumps(record["heldout"], default=float), flush=True)
    return record


def card_of(record: dict) -> dict:
    """The model card's extra sections from a training record."""
    return {
        "description": (
            "CoNNear-style causal conv encoder-decoder surrogate of jaxneuro's own "
            f"{record['teacher']['name']} stage {record['teacher']['kwargs']} (one CF column; "
            "fold CFs into the batch). Trained by scripts/auditory_surrogates.py."
        ),
        "data": record["data"]
        | {
            "sounds": "speech_like / pure_tone / noise, 0-100 dB SPL, 0.5 s, through MiddleEar "
            f"and TransmissionLineCochlea (v_bm at sections {list(SECTIONS)})",
        },
        "training": record["training"],
        "fidelity": {"heldout": record["heldout"], "gradient_cosine": record["gradient_cosine"]},
        "speed": record["speed"],
    }


def ship(work: Path, to: Path = PACKAGE) -> None:
    """Copy each model's best run (lowest held-out RMSE) from ``work/ship<tag>`` to ``to``
    (default the package: ``jaxneuro.load("<name>-connear")``) and record every model's numbers
    in ``benchmarks/results/auditory_surrogates.json``."""
    import shutil

    results = {}
    for name in MODELS:
        runs = sorted(work.glob(f"{name}-record*.json"))
        if not runs:
            continue
        best = min(runs, key=lambda r: json.loads(r.read_text())["heldout"]["rmse"])
        tag = best.stem.removeprefix(f"{name}-record")
        results[name] = json.loads(best.read_text()) | {
            "other_runs": [json.loads(r.read_text())["heldout"]["rmse"] for r in runs if r != best]
        }
        src = work / f"ship{tag}" / f"{name}-connear"
        dst = to / f"{name}-connear"
        to.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(dst, ignore_errors=True)
        shutil.copytree(src, dst)
    RESULTS.write_text(json.dumps(results, indent=1, default=float))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("stage", choices=["bank", "train", "ship"])
    parser.add_argument("--work", type=Path, default=Path("/work/auditory_data"))
    parser.add_argument("--model", choices=list(MODELS), nargs="+", default=list(MODELS))
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--eval-columns", type=int, default=16)
    parser.add_argument("--n", type=int, default=None, help="training windows (default per model)")
    parser.add_argument("--tag", default="", help="suffix of this run's fit, record and folder")
    parser.add_argument("--arch", type=json.loads, default=None, help="surrogate sizes (JSON)")
    parser.add_argument("--to", type=Path, default=PACKAGE, help="ship: destination folder")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    if args.stage == "bank":
        make_bank(args.work)
    elif args.stage == "train":
        for name in args.model:
            train(args.work, name, args.steps, args.eval_columns, args.n, args.tag, args.arch)
    else:
        ship(args.work, args.to)


if __name__ == "__main__":
    main()
