"""The event-probability threshold of a trained surrogate, chosen on held-out teacher data."""

from __future__ import annotations

import jax
import numpy as np

from .. import metrics
from .._simulator import EVENTS

THRESHOLDS = tuple(round(0.1 + 0.05 * k, 2) for k in range(14))
"""Spike-probability thresholds tried by :func:`calibrate_threshold` (0.1 … 0.75)."""


def calibrate_threshold(
    surrogate, params, dataset, window_ms: float = 3.0, n_max: int = 64, *, burn_in: int
) -> dict | None:
    """The spike-probability threshold with the best pooled F1 on a dataset's validation split.

    Runs ``surrogate`` (weights ``params``) on up to ``n_max`` simulations of ``dataset``'s
    validation split, drops the first ``burn_in`` input samples (while the surrogate's history
    fills up; ``jaxneuro fit`` passes the surrogate's receptive field), decodes its first events
    channel at each of :data:`THRESHOLDS` (peaks above the threshold, at least 2 ms apart) and
    matches the events to the teacher's within ±``window_ms``, as ``scripts/train_pretrained.py``
    chooses it. Returns ``{"threshold", "f1_pooled", "window_ms", "n", "split",
    "skipped_samples"}``, or ``None`` without events to match (no events channel, an empty
    validation split, or no teacher event after the burn-in).
    """
    spec = dataset.spec
    events = [
        c.name
        for c in spec.outputs_of(EVENTS)
        if c.name in dataset.outputs and c.name in surrogate.spec.output_names
    ]
    if not events:
        return None
    name = events[0]
    index = dataset.split("validation")[:n_max]
    if index.size == 0:
        return None
    batch = dataset.batch(index)
    run = jax.jit(jax.vmap(lambda x: surrogate.apply(params, x)[0][name]))
    n_out = spec.n_outputs(batch.inputs.shape[1])
    skip = min(-(-burn_in // spec.decimation), n_out - 1)  # output samples
    prob = np.asarray(run(batch.inputs), np.float64)[:, skip:]
    true = np.asarray(batch.outputs[name], np.float64)[:, skip:]
    if true.sum() == 0:
        return None
    dt = spec.output_dt
    scores = []
    for threshold in THRESHOLDS:
        pred = metrics.decode_spikes(prob, threshold, round(2.0 / dt), mode="peak")
        summary = metrics.summarise_batch(
            spikes_pred=pred, spikes_true=true, dt=dt, window_ms=window_ms
        )
        scores.append(float(np.nan_to_num(summary["f1_pooled"])))
    best = int(np.argmax(scores))
    return {
        "threshold": THRESHOLDS[best],
        "f1_pooled": scores[best],
        "window_ms": window_ms,
        "n": int(index.size),
        "split": "validation",
        "skipped_samples": int(skip),
    }
