"""Tests for Beniaguev's doubly stochastic input generator and its sampler."""

import json
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import signal

from jaxneuro import data, stimuli
from jaxneuro.stimuli._doubly_stochastic import spike_probability

# Statistical checks allow Z standard errors: a false failure has probability < 1e-6 per check.
Z = 5.0

# Eight sites on two trees; branch -1 (a "trunk" site) is never clustered.
LENGTHS = np.array([40.0, 60.0, 20.0, 50.0, 50.0, 30.0, 70.0, 10.0])
TREE = np.array([0, 0, 0, 1, 1, 1, 1, 1])
BRANCH = np.array([0, 0, 1, -1, 2, 2, 3, 3])
N = LENGTHS.size
# Long constant windows and no smoothing: each window's realised count is its target's.
FLAT = dict(hold_menu=(100,), hold_jitter=0.0, sigma_menu=(0,), sigma_jitter=0.0)


def _keys(n, seed=0):
    return jax.vmap(lambda i: jax.random.fold_in(jax.random.key(seed), i))(jnp.arange(n))


def _batch(n, duration, seed=0, **kw):
    kw.setdefault("cluster_fraction", 0.0)

    def one(key):
        return stimuli.doubly_stochastic(key, duration, LENGTHS, TREE, return_latents=True, **kw)

    x, lat = jax.jit(jax.vmap(one))(_keys(n, seed))
    return np.asarray(x), jax.tree.map(np.asarray, lat)


def test_shape_and_layout():
    key = jax.random.key(3)
    x = stimuli.doubly_stochastic(key, 300.0, LENGTHS, TREE, branch=BRANCH)
    assert x.shape == (300, 2 * N) and x.dtype == jnp.result_type(float)
    assert np.all(np.asarray(x) >= 0) and np.all(np.asarray(x) == np.round(np.asarray(x)))
    plain = np.asarray(stimuli.doubly_stochastic(key, 300.0, LENGTHS, TREE, cluster_fraction=0))
    assert set(np.unique(plain)) <= {0.0, 1.0}  # Bernoulli bins without clustered bursts
    # Excitation only (inhibition forced to 0): the first N columns carry every event.
    only_exc, _ = _batch(8, 400.0, exc_range=(40.0, 40.0), inh_diff_range=(-1e3, -1e3))
    assert only_exc[..., :N].sum() > 500 and only_exc[..., N:].sum() == 0
    only_inh, _ = _batch(8, 400.0, exc_range=(0.0, 0.0), inh_diff_range=(40.0, 40.0))
    assert only_inh[..., :N].sum() == 0 and only_inh[..., N:].sum() > 500
    # Site order: a long site 0 takes most of tree 0's events, in column 0 and column N.
    long0 = LENGTHS.copy()
    long0[0] = 2000.0
    x = jax.vmap(
        lambda k: stimuli.doubly_stochastic(
            k,
            400.0,
            long0,
            TREE,
            exc_range=(30.0, 30.0),
            inh_diff_range=(0.0, 0.0),
            cluster_fraction=0.0,
        )
    )(_keys(8))
    per_col = np.asarray(x).sum(axis=(0, 1))
    assert per_col[0] > 0.8 * per_col[:3].sum() and per_col[N] > 0.8 * per_col[N : N + 3].sum()


def test_deterministic_per_key_and_sampler_matches():
    kw = dict(branch=BRANCH, scale=0.5)
    a = stimuli.doubly_stochastic(jax.random.key(1), 500.0, LENGTHS, TREE, **kw)
    b = stimuli.doubly_stochastic(jax.random.key(1), 500.0, LENGTHS, TREE, **kw)
    c = stimuli.doubly_stochastic(jax.random.key(2), 500.0, LENGTHS, TREE, **kw)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    sampler = data.BeniaguevSynaptic(500.0, LENGTHS, TREE, **kw)
    assert sampler.n_inputs == 2 * N and sampler.n_samples == 500
    np.testing.assert_array_equal(jax.jit(sampler)(jax.random.key(1)), a)
    described = sampler.describe()
    json.dumps(described)
    assert described["class"] == "BeniaguevSynaptic" and described["branch"] == BRANCH.tolist()
    assert described["exc_range"] == [0.0, 800.0] and described["cluster_fraction"] == 0.3


def test_vmap_equals_loop():
    sampler = data.BeniaguevSynaptic(300.0, LENGTHS, TREE, branch=BRANCH, cluster_fraction=0.5)
    keys = _keys(4, seed=5)
    batch = np.asarray(jax.jit(jax.vmap(sampler))(keys))
    loop = np.stack([np.asarray(jax.jit(sampler)(k)) for k in keys])
    np.testing.assert_array_equal(batch, loop)
    assert batch.shape == (4, 300, 2 * N) and len({b.tobytes() for b in batch}) == 4


def test_window_counts_match_targets():
    """Each tree gets on average its drawn count per 100 ms, window by window."""
    x, lat = _batch(200, 2000.0, exc_range=(0.0, 20.0), inh_diff_range=(0.0, 10.0), **FLAT)
    assert np.all(lat["hold_bins"] == 100)
    for sign, cols in (("exc", slice(0, N)), ("inh", slice(N, 2 * N))):
        realised = x[:, :, cols].reshape(200, 20, 100, N).sum(axis=2)  # [draw, window, site]
        per_tree = np.stack([realised[..., t == TREE].sum(-1) for t in (0, 1)], -1)
        target = lat[f"{sign}_count"][:, :20]  # events per tree per 100 ms = per window
        total, expected = per_tree.sum(), target.sum()
        se = math.sqrt(((per_tree - target) ** 2).sum())  # windows are independent
        assert abs(total - expected) < Z * se, (sign, total, expected)
        slope = (per_tree * target).sum() / (target**2).sum()
        assert abs(slope - 1.0) < 0.03, (sign, slope)
        # Given the latents, the realised count is the sum of the per-bin spike probabilities.
        prob = spike_probability(lat[f"{sign}_rate"]).sum()
        assert abs(x[:, :, cols].sum() - prob) < Z * math.sqrt(prob)


def test_doubly_stochastic_spike_probability():
    """p ~ Exponential(mean m), spike ~ Bernoulli(min(p, 1)): P(spike) = m (1 − e^(−1/m))."""
    one = dict(exc_range=(200.0, 200.0), inh_diff_range=(-200.0, -200.0), site_jitter=(1, 1))
    x = jax.vmap(
        lambda k: stimuli.doubly_stochastic(
            k, 2000.0, [10.0], [0], cluster_fraction=0.0, length_offset=0.0, **one, **FLAT
        )
    )(_keys(50))
    rate = np.asarray(x)[:, :, 0].mean()  # mean m = 200 / 100 = 2 events per bin
    expected = 2.0 * (1.0 - math.exp(-0.5))
    assert abs(rate - expected) < Z * math.sqrt(expected * (1 - expected) / 100_000)
    assert abs(float(spike_probability(jnp.asarray(2.0))) - expected) < 1e-6
    assert float(spike_probability(jnp.asarray(0.0))) == 0.0


def test_count_ranges_scale_and_inhibition():
    scale = 0.5
    _, lat = _batch(
        100,
        1000.0,
        exc_range=[(0.0, 800.0), (100.0, 200.0)],
        scale=scale,
        inh_diff_range=(-600.0, 200.0),
    )
    exc, inh = lat["exc_count"], lat["inh_count"]
    assert exc[..., 0].min() >= 0 and exc[..., 0].max() <= 400 and exc[..., 0].max() > 390
    assert exc[..., 1].min() >= 50 and exc[..., 1].max() <= 100 and exc[..., 1].min() < 52
    lo, hi = np.maximum(0.0, exc - 600.0 * scale), exc + 200.0 * scale
    assert np.all(inh >= lo - 1e-3) and np.all(inh <= hi + 1e-3)
    u = (inh - lo) / (hi - lo)
    assert u.min() < 0.01 and u.max() > 0.99 and abs(u.mean() - 0.5) < 0.02


def test_site_jitter():
    x, lat = _batch(
        20,
        5000.0,
        hold_menu=(2500,),
        hold_jitter=0.0,
        sigma_menu=(0,),
        sigma_jitter=0.0,
        exc_range=(40.0, 40.0),
        site_jitter=(0.8, 1.2),
    )
    jit = lat["exc_jitter"][:, :2]  # [draw, window, site]: two windows of 2500 ms
    assert jit.min() >= 0.8 and jit.max() < 1.2 and jit.min() < 0.81 and jit.max() > 1.19
    assert not np.allclose(jit[:, 0], jit[:, 1])  # drawn per window
    assert not np.allclose(lat["exc_jitter"], lat["inh_jitter"])  # and per sign
    # Site i of tree t receives 40 / 100 × share_i × jitter_i events per bin.
    adjusted = LENGTHS + 10.0
    share = adjusted / np.array([adjusted[t == TREE].sum() for t in (0, 1)])[TREE]
    expected = 2500 * 0.4 * share * jit  # [draw, window, site]
    realised = x[:, :, :N].reshape(20, 2, 2500, N).sum(axis=2)
    assert np.all(np.abs(realised - expected) < Z * np.sqrt(expected))
    flat = 2500 * 0.4 * share  # without the jitter the fit is worse
    assert np.abs(realised - expected).sum() < 0.6 * np.abs(realised - flat).sum()


@pytest.mark.parametrize("sigma", [5.0, 6.0])  # window lengths 36 (even) and 43 (odd)
def test_smoothing_matches_scipy(sigma):
    _, lat = _batch(
        2, 400.0, hold_menu=(30,), hold_jitter=0.0, sigma_menu=(sigma,), sigma_jitter=0.0
    )
    adjusted = LENGTHS + 10.0
    share = adjusted / np.array([adjusted[t == TREE].sum() for t in (0, 1)])[TREE]
    window = np.arange(400) // 30
    raw = (lat["exc_count"][:, :, TREE] * share * lat["exc_jitter"] / 100.0)[:, window]
    w = signal.windows.gaussian(int(1 + 7 * sigma), std=sigma)
    ref = signal.convolve(raw, (w / w.sum())[None, :, None], mode="same")
    np.testing.assert_allclose(lat["exc_rate"], ref, atol=1e-6 * raw.max())


def test_clustered_bursts_only_on_one_branch():
    kw = dict(branch=BRANCH, cluster_trees=(1,), cluster_interval=(400.0, 400.0))
    kw.update(cluster_events=(7, 7))

    def pair(key):
        base = stimuli.doubly_stochastic(key, 2000.0, LENGTHS, TREE, cluster_fraction=0.0)
        more, lat = stimuli.doubly_stochastic(
            key, 2000.0, LENGTHS, TREE, cluster_fraction=1.0, return_latents=True, **kw
        )
        return base, more, lat["cluster_branch"], lat["clustered"]

    base, more, chosen, clustered = map(np.asarray, jax.jit(jax.vmap(pair))(_keys(40)))
    extra = more - base  # the base draws do not depend on the clustered mode
    assert np.all(clustered) and np.all(extra >= 0) and np.all(extra[..., N:] == 0)
    assert set(chosen) == {2, 3}  # tree 1's branches; the trunk site (-1) never
    for e, b in zip(extra, chosen, strict=True):
        per_site = e[:, :N].sum(axis=0)
        assert np.all(per_site[b != BRANCH] == 0) and per_site.sum() > 0
    # 7 events per burst, a burst every 400 ms on average: 35 extra events per 2 s.
    per_sim = extra.sum(axis=(1, 2))
    assert abs(per_sim.mean() - 35.0) < Z * 7 * math.sqrt(5 / 40)
    # The extra events come in groups of 7 spanning at most 10 bins (bursts closer than
    # ~20 ms merge, and the end of the run can cut one: those make the few others).
    groups = []
    for e in extra:
        counts = e[:, :N].sum(axis=1)
        times = np.nonzero(counts)[0]
        for g in np.split(times, np.nonzero(np.diff(times) > 10)[0] + 1):
            groups.append((counts[g].sum(), g[-1] - g[0]))
    good = [n == 7 and span <= 10 for n, span in groups]
    assert len(groups) > 100 and np.mean(good) > 0.85
    # Clustered simulations occur with probability cluster_fraction.
    frac = jax.vmap(
        lambda k: stimuli.doubly_stochastic(
            k, 20.0, LENGTHS, TREE, branch=BRANCH, return_latents=True
        )[1]["clustered"]
    )(_keys(2000, seed=9))
    assert abs(np.mean(frac) - 0.3) < Z * math.sqrt(0.3 * 0.7 / 2000)


@pytest.mark.parametrize(
    "kw, match",
    [
        (dict(duration=-5.0), "duration"),
        (dict(dt=0.0), "dt"),
        (dict(tree=TREE[:-1]), "tree"),
        (dict(branch=BRANCH[:3]), "branch"),
        (dict(segment_lengths=[]), "segment_lengths"),
        (dict(segment_lengths=-LENGTHS), "segment_lengths"),
        (dict(tree=TREE - 1), "tree"),
        (dict(tree=TREE + 0.5), "tree"),
        (dict(hold_menu=()), "hold_menu"),
        (dict(hold_menu=(25, 0)), "hold_menu"),
        (dict(sigma_menu=()), "sigma_menu"),
        (dict(sigma_jitter=-1.0), "sigma_jitter"),
        (dict(exc_range=(10.0, 5.0)), "exc_range"),
        (dict(exc_range=(-1.0, 5.0)), "exc_range"),
        (dict(exc_range=[(0, 1), (0, 1), (0, 1)]), "exc_range"),
        (dict(inh_diff_range=(1.0,)), "inh_diff_range"),
        (dict(scale=-1.0), "scale"),
        (dict(site_jitter=(1.5, 0.5)), "site_jitter"),
        (dict(cluster_fraction=1.5), "cluster_fraction"),
        (dict(branch=None), "branch"),
        (dict(branch=-np.ones(N, int)), "cluster_fraction"),
        (dict(cluster_events=(0, 3)), "cluster_events"),
        (dict(cluster_interval=(0.0, 10.0)), "cluster_interval"),
        (dict(cluster_window=0.0), "cluster_window"),
    ],
)
def test_bad_arguments_raise(kw, match):
    args = dict(duration=100.0, segment_lengths=LENGTHS, tree=TREE, branch=BRANCH)
    args.update(kw)
    with pytest.raises(ValueError, match=match):
        stimuli.doubly_stochastic(jax.random.key(0), **args)
    if "duration" in kw or "dt" in kw:
        return
    sampler_kw = {k: v for k, v in args.items() if k not in ("duration", "segment_lengths", "tree")}
    with pytest.raises(ValueError, match=match):
        data.BeniaguevSynaptic(100.0, args["segment_lengths"], args["tree"], **sampler_kw)
