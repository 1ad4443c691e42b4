"""Train, evaluate and save the surrogates shipped in ``jaxneuro/pretrained/``.

Each recipe: generate a dataset from the teacher (resumable), fit the surrogate (resumable),
evaluate it on held-out stimuli, and save weights + model card (with the fidelity report and the
speed ratio) into the package. Re-running continues where a killed run stopped.

    python scripts/train_pretrained.py lif-tcn [--work DIR] [--steps N]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import jax
import numpy as np

import jaxneuro as jn
from jaxneuro.surrogates import CNNLSTM, ELM, TCN
from jaxneuro.training import FitConfig, FitResult, LossMix

PACKAGE = Path(__file__).resolve().parents[1] / "jaxneuro" / "pretrained"


@dataclass
class Recipe:
    teacher: str
    teacher_kwargs: dict
    sampler: object
    n: int
    build: object  # spec -> surrogate
    config: FitConfig
    eval_ms: float = 600.0
    eval_burn_in_ms: float = 100.0  # history the surrogates need before their output counts
    eval_n: int = 50
    targets: dict = field(default_factory=dict)
    finetune: FitConfig | None = None  # a second stage, from the first stage's best weights
    widen: int | None = None  # the second stage's TCN channels (TCN.widen of the first's)
    finetune_n: int | None = None  # the second stage's sweeps (same sampler and seed; default n)
    later: tuple[FitConfig, ...] = ()  # more stages, each from the one before, on those sweeps
    deploy: dict = field(default_factory=dict)  # settings of the trained surrogate (e.g. rest_ms)


def _ou(mean, std, tau, duration):
    return jn.data.OUCurrent(duration_ms=duration, dt=1.0, mean=mean, std=std, tau=tau)


# Oláh et al.'s synaptic bombardment plus an OU injected current (µA/cm²), so that the surrogate
# also learns the response to i_ext, the channel a stimulus designer drives.
OLAH_WITH_CURRENT = jn.data.OlahSynaptic(
    duration_ms=2000.0,
    current=jn.data.OUCurrent(
        duration_ms=2000.0, dt=1.0, mean=(-3.0, 3.0), std=(0.0, 5.0), tau=(2.0, 10.0)
    ),
)

# The HH surrogates' targets (issue 3, item 6a) on held-out 500 ms runs.
HH_TARGETS = {
    "spikes.precision_pooled": (">=", 0.9),
    "spikes.recall_pooled": (">=", 0.9),
    "voltage.rmse_clipped_mv": ("<=", 1.5),
}

RECIPES = {
    # LIF: one TCN layer (Beniaguev et al. 2021, Fig. 2). Target: spike AUC ≥ 0.995. Driven in
    # the fluctuation-driven regime (mean below rheobase, R·I < V_th − E_L = 15 mV), as their
    # I&F neuron under synaptic bombardment. The 64 ms kernel covers 6.4 τ_m (the reset's trace
    # has decayed to 0.2 %). Data, not the kernel or the loss, limited the first recipe (256
    # sweeps, 32 channels, 8,000 steps: validation AUC 0.9934): 128 channels on the same data
    # overfit (0.9893), 1,024 sweeps gave 0.9944, 4,096 sweeps and 20,000 steps 0.9953, and with
    # 64 channels 0.9959 (choices made on the validation stimuli, seed 2).
    "lif-tcn": Recipe(
        teacher="lif",
        teacher_kwargs={"dt": 1.0, "solver_dt": 0.1},
        sampler=_ou((0.6, 1.4), (0.3, 0.9), (2.0, 10.0), 2000.0),
        n=4096,
        build=lambda spec: TCN(spec, n_layers=1, channels=64, kernel_sizes=64),
        config=FitConfig(
            steps=20000,
            batch_size=32,
            window=256,
            learning_rate=1e-2,
            eval_every=200,
            patience=20,
            loss=LossMix(spike_bce=4.0, v_mse=1.0),
        ),
        targets={"spikes.auc": (">=", 0.995)},
    ),
    # HH with Oláh et al.'s alpha-synapse Poisson inputs. Targets on held-out 500 ms runs:
    # precision, recall ≥ 0.9 within ±3 ms; subthreshold (clipped) RMSE ≤ 1.5 mV. The voltage
    # term is weighted 4×: at weight 1 it was a fifth of the loss (v is scaled by its SD, 23 mV,
    # spikes included). With 4 layers × 48 channels (79K params): 2,048 sweeps, weight 1, 8,000
    # steps gave 2.11 mV; fine-tuning that with weight 8 2.03; 8,192 sweeps, weight 4, 12,000
    # steps 1.84; 32,768 sweeps as here 1.90 (the error spanned the whole 48 Hz spike cycle:
    # 1.40 mV with ±3 ms around the teacher's spikes left out). 6 layers × 64 channels (167K
    # params, same 51 ms history): 1.67 mV with 16,000 steps (validation loss 0.039 vs 0.051),
    # 1.64 mV with 32,000 (0.038; 73 min on one CPU core, the other busy); wider, longer or
    # averaged fits stalled at 1.60. The history was the limit: a TCN sees no past output, so to
    # know the gating left by a spike 40 ms ago it must re-derive that spike from the inputs
    # before it. Dilations (1, 1, 2, 2, 4, 4) give the same weights 107 ms: 1.47 mV with 24,000
    # steps (validation loss 0.0305; 77 min on 2 CPU cores shared with another fit).
    "hh-tcn": Recipe(
        teacher="hh-synaptic",
        teacher_kwargs={},
        sampler=OLAH_WITH_CURRENT,
        n=32768,
        build=lambda spec: TCN(
            spec,
            n_layers=6,
            channels=64,
            kernel_sizes=(16, 8, 8, 8, 8, 8),
            dilations=(1, 1, 2, 2, 4, 4),
        ),
        config=FitConfig(
            steps=24000,
            batch_size=32,
            window=256,
            learning_rate=3e-3,
            eval_every=500,
            patience=12,
            weight_decay=1e-3,
            loss=LossMix(spike_bce=1.0, v_mse=4.0, v_clip_mv=-55.0, clip_prediction=True),
        ),
        targets=HH_TARGETS,
    ),
}

# Oláh et al.'s next-step CNN-LSTM, run closed loop on its own voltage (same data and targets as
# hh-tcn). Teacher forcing alone drifts once the loop closes, so the last 32 samples of each
# training window run closed loop (trained through the loop) and the fed-back true voltage carries
# 0.5 mV noise. No voltage clip in the loss: the loop feeds back the spikes. The first stage (1400
# steps, 53 min on one shared CPU core) gave held-out clipped RMSE 2.47 mV; a second stage of 400
# steps at lr 5e-4 with 48-sample rollouts did not lower the validation loss. This second stage,
# 4,000 steps at lr 1e-3 on 16× the sweeps with the voltage weighted 2×, does: 1.88 mV, P/R
# 0.973/0.978 (39 min on 2 CPU cores; target 1.5 still missed). Run once with the scaling refitted
# to the larger data (which fit() no longer does under init_params) it gave 1.77 mV. A third stage
# at lr 3e-4 on 64-sample rollouts, validated on 256 windows (64 were too few to pick the best
# weights), gives 1.77 mV, P/R 0.974/0.981 (44 min). Every stage first worsens the validation loss
# (0.108 -> 0.146 here) and gains as the rate anneals. The fourth stage (the third's settings,
# 2,400 steps) counts voltage errors beyond 5 mV linearly (Huber): a spike a sample off no longer
# dominates the gradient, and the subthreshold error falls: 1.49 mV, P/R 0.983/0.987 (41 min;
# target met by 0.006 mV). From the first stage shipped until 2026-12-04 (in git at 72325b0):
#     python scripts/train_pretrained.py hh-cnnlstm --first-stage DIR
_HH_CNNLSTM_FIT = FitConfig(
    steps=1400,
    batch_size=32,
    window=96,
    learning_rate=2e-3,
    warmup_steps=150,
    eval_every=200,
    patience=6,
    rollout=32,
    feedback_noise_mv=0.5,
    loss=LossMix(spike_bce=1.0, v_mse=1.0),
)
_HH_CNNLSTM_STAGE2 = dataclasses.replace(
    _HH_CNNLSTM_FIT,
    steps=4000,
    learning_rate=1e-3,
    warmup_steps=100,
    eval_every=400,
    patience=100,
    seed=7,
    loss=LossMix(spike_bce=1.0, v_mse=2.0),
)
_HH_CNNLSTM_STAGE3 = dataclasses.replace(
    _HH_CNNLSTM_STAGE2,
    steps=3000,
    learning_rate=3e-4,
    warmup_steps=300,
    eval_every=300,
    rollout=64,
    val_windows=256,
    seed=11,
)
_HH_CNNLSTM_STAGE4 = dataclasses.replace(
    _HH_CNNLSTM_STAGE3,
    steps=2400,
    eval_every=240,
    loss=LossMix(spike_bce=1.0, v_mse=2.0, v_huber_mv=5.0),
)
RECIPES["hh-cnnlstm"] = Recipe(
    teacher="hh-synaptic",
    teacher_kwargs={},
    sampler=OLAH_WITH_CURRENT,
    n=2048,
    build=lambda spec: CNNLSTM(spec, window=32),
    config=_HH_CNNLSTM_FIT,
    targets=HH_TARGETS,
    finetune=_HH_CNNLSTM_STAGE2,
    finetune_n=32768,
    later=(_HH_CNNLSTM_STAGE3, _HH_CNNLSTM_STAGE4),
)

# Beyond the families: the Expressive Leaky Memory neuron (Spieler et al. 2024) on hh-tcn's
# data, loss weights and protocol. 32 memory units, MLP 64, synaptic traces τ_s = 2 ms: 4.5K params
# (38× fewer than hh-tcn), one recurrent step per 1 ms sample. It needs the target-only voltage
# clip: with the prediction clipped too its voltage head never left the flat region (12.7 mV).
# First stage (60,000 steps, 23 min on 2 shared CPU cores): held-out clipped RMSE 1.41 mV, P/R
# 0.987/0.979, but 11.9 mV off in the first 100 ms from rest and a mean error drifting to +0.7 mV
# by 600-900 ms (past its 356-sample windows). The second stage (6 min: 768-sample windows scored
# from a zero state) fixed the drift (1.43 mV; 1.25-1.49 mV in each 300 ms of 2 s runs, hh-tcn
# 1.42-1.74) but not the start (2.9 mV; also not with a quarter of its windows at t = 0). Starting
# from the ELM's own state under no input (deploy rest_ms; a zero state stands for a history of
# mean input) does: 0.95 mV in the first 100 ms from rest (hh-tcn 1.1) and 1.39 mV held out, P/R
# 0.987/0.985. Tried at 6,000 steps: τ_s 5 ms 2.23 mV (1.55 at 30,000), τ_s 2 2.13, learned τ_m
# 2.02 (its 60,000-step run stalled: validation loss 0.087 vs 0.033 at 44,000; stopped), MLP 128
# no better; 64 memory units × MLP 128 learned slowly (stopped at 3,000).
_HH_ELM_FIT = FitConfig(
    steps=60000,
    batch_size=32,
    window=256,
    burn_in=100,
    learning_rate=3e-3,
    eval_every=250,
    patience=100,
    weight_decay=1e-4,
    loss=LossMix(spike_bce=1.0, v_mse=4.0, v_clip_mv=-55.0),
)
RECIPES["hh-elm"] = dataclasses.replace(
    RECIPES["hh-tcn"],
    build=lambda spec: ELM(spec, n_memory=32, mlp_hidden=64, tau_s=2.0),
    config=_HH_ELM_FIT,
    finetune=dataclasses.replace(
        _HH_ELM_FIT, steps=6000, window=768, burn_in=0, learning_rate=1e-3, seed=5
    ),
    deploy={"rest_ms": 1000.0},
)

# An experiment, not shipped, on the 51 ms hh-tcn shipped until 2026-12-04 (undilated, 32,000 steps;
# the command now widens the dilated one): hh-tcn widened to 6 × 96 channels (TCN.widen, 374K
# params; the shipped weights' function unchanged at the start), 12,000 more steps. Held-out
# clipped RMSE 1.60 mV (from 1.64; P/R 0.959/0.983; validation loss 0.0428 → 0.0411; 37 min on
# two CPU cores) - 2.2× the compute for 0.03 mV, so hh-tcn stays 6 × 64. Averaging the 16,000- and
# 32,000-step 6 × 64 fits gave 1.60 mV too. 56 % of the squared error lies in the 4 ms after each
# teacher spike (19 % of the samples; RMSE 2.1–3.5 mV there, 1.1–1.5 mV elsewhere):
#     python scripts/train_pretrained.py hh-tcn-wide --first-stage hh-tcn --package DIR
RECIPES["hh-tcn-wide"] = dataclasses.replace(
    RECIPES["hh-tcn"],
    widen=96,
    finetune=dataclasses.replace(
        RECIPES["hh-tcn"].config,
        steps=12000,
        learning_rate=1e-3,
        eval_every=250,
        patience=100,
        seed=3,
    ),
)


def _lookup(report: dict, dotted: str) -> float:
    node = report
    for part in dotted.split("."):
        node = node[part]
    return float(node)


def eval_stimuli(recipe: Recipe, seed: int) -> np.ndarray:
    keys = jax.random.split(jax.random.key(seed), recipe.eval_n)
    return np.asarray(jax.vmap(recipe.sampler)(keys))[:, : round(recipe.eval_ms)]


THRESHOLDS = np.arange(0.1, 0.8, 0.05)


def calibrate_threshold(result, teacher, stimuli, recipe, candidates=THRESHOLDS):
    """The spike-probability threshold with the best pooled F1 (±3 ms) on validation stimuli."""
    run = jax.jit(jax.vmap(lambda p, x: result.surrogate.apply(p, x)[0], (None, 0)))
    prob = np.asarray(run(result.params, stimuli)["spikes"], dtype=np.float64)
    truth = jax.jit(jax.vmap(lambda x: teacher.apply(teacher.init(), x)[0]["spikes"]))
    true = np.asarray(truth(stimuli), dtype=np.float64)
    skip = round(recipe.eval_burn_in_ms / teacher.spec.dt)
    prob, true = prob[:, skip:], true[:, skip:]
    if true.sum() == 0:
        return 0.5
    scores = []
    for thr in candidates:
        pred = jn.metrics.decode_spikes(prob, thr, round(2.0 / teacher.spec.dt), mode="peak")
        summary = jn.metrics.summarise_batch(
            spikes_pred=pred, spikes_true=true, dt=teacher.spec.dt, window_ms=3.0
        )
        scores.append(np.nan_to_num(summary["f1_pooled"]))
    return float(candidates[int(np.argmax(scores))])


def _stage_record(config: FitConfig, data, result: FitResult, t0: float) -> dict:
    return {
        "config": config.describe(),
        "data_n": data.n,
        "best_step": result.best_step,
        "history": result.history,
        "wall_s": time.perf_counter() - t0,
    }


def run(
    name: str,
    work: Path,
    steps: int | None = None,
    package: Path = PACKAGE,
    first_stage: str | Path | None = None,
) -> dict:
    recipe = RECIPES[name]
    teacher = jn.create(recipe.teacher, **recipe.teacher_kwargs)
    work.mkdir(parents=True, exist_ok=True)

    def sweeps(n: int):  # the recipe's stimuli, generated when a stage first needs them
        folder = "data.zarr" if n == recipe.n else f"data-{n}.zarr"
        return jn.data.generate(teacher, recipe.sampler, n, work / folder, seed=0)

    if first_stage is None:
        config = recipe.config if steps is None else dataclasses.replace(recipe.config, steps=steps)
        t0 = time.perf_counter()
        result = jn.fit(
            recipe.build(teacher.spec), sweeps(recipe.n), config, checkpoint_dir=work / "fit"
        )
        training = {
            "config": config.describe(),
            "best_step": result.best_step,
            "history": result.history,
            "wall_s": time.perf_counter() - t0,
        }
    else:  # the first stage as saved earlier (e.g. the shipped weights): its weights and record
        surrogate, params = jn.load(first_stage)
        card = jn.read_card(first_stage)
        built = recipe.build(teacher.spec).with_scaling(surrogate.scaling)
        same_fit = card["training"]["config"] == json.loads(json.dumps(recipe.config.describe()))
        if surrogate.config() != built.config() or card["data"]["n"] != recipe.n or not same_fit:
            raise ValueError(f"{first_stage} is not the first stage of the {name} recipe")
        if "finetune" in card["training"]:
            raise ValueError(f"{first_stage} has been fine-tuned: it is not a first stage")
        training = {k: card["training"][k] for k in ("config", "best_step", "history", "wall_s")}
        result = FitResult(surrogate, params, training["history"], training["best_step"])
    if recipe.finetune is not None:
        t0 = time.perf_counter()
        surrogate, start = result.surrogate, result.params
        if recipe.widen is not None:
            surrogate, start = surrogate.widen(start, recipe.widen, jax.random.key(1))
        data = sweeps(recipe.finetune_n or recipe.n)  # more sweeps keep the first scaling
        result = jn.fit(
            surrogate,
            data,
            recipe.finetune,
            checkpoint_dir=work / "finetune",
            init_params=start,
        )
        training["finetune"] = _stage_record(recipe.finetune, data, result, t0)
        for i, config in enumerate(recipe.later, start=3):
            t0 = time.perf_counter()
            result = jn.fit(
                result.surrogate,
                data,
                config,
                checkpoint_dir=work / f"stage-{i}",
                init_params=result.params,
            )
            training.setdefault("later", []).append(_stage_record(config, data, result, t0))
    if recipe.deploy:  # settings that do not change the weights, applied after training
        trained = result.surrogate
        deployed = type(trained).from_config(trained.spec, {**trained.config(), **recipe.deploy})
        result = result._replace(surrogate=deployed)
    # Spike-decoding threshold: chosen for the best F1 on validation stimuli (seed 2), then
    # reported on held-out test stimuli (seed 1). eval_ms long, of which the last
    # eval_ms − eval_burn_in_ms (500 ms) are scored.
    threshold = calibrate_threshold(result, teacher, eval_stimuli(recipe, seed=2), recipe)
    report = jn.evaluate(
        result.surrogate,
        teacher,
        eval_stimuli(recipe, seed=1),
        params=result.params,
        out=work / "evaluation",
        window_ms=3.0,
        burn_in_ms=recipe.eval_burn_in_ms,
        spike_threshold=threshold,
    )
    met = {}
    for key, (op, bound) in recipe.targets.items():
        value = _lookup(report, key)
        met[key] = {
            "value": value,
            "target": f"{op} {bound}",
            "met": value >= bound if op == ">=" else value <= bound,
        }
    card = {
        "data": {"n": recipe.n, "sampler": recipe.sampler.describe(), "seed": 0},
        "training": training,
        "fidelity": report,
        "spike_threshold": threshold,
        "targets": met,
    }
    jn.save(
        package / name,
        result.surrogate,
        result.params,
        teacher=recipe.teacher,
        teacher_kwargs=recipe.teacher_kwargs,
        card=card,
    )
    print(json.dumps(met, indent=1))
    return met


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("name", choices=sorted(RECIPES))
    parser.add_argument("--work", type=Path, default=Path("out/pretrained"))
    parser.add_argument("--steps", type=int, default=None, help="override the step budget")
    parser.add_argument(
        "--package", type=Path, default=PACKAGE, help="where to save NAME/ (default: the package)"
    )
    parser.add_argument(
        "--first-stage",
        default=None,
        help="skip the first fit: start the second stage from this saved surrogate (a shipped "
        "name or a folder) made by the same recipe's first stage",
    )
    args = parser.parse_args()
    run(args.name, args.work / args.name, args.steps, args.package, args.first_stage)


if __name__ == "__main__":
    main()
