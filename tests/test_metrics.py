"""Tests for jaxneuro.metrics: hand-computed cases, brute-force cross-checks, statistics, errors."""

import itertools
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.stats import norm

from jaxneuro import metrics

# --------------------------------------------------------------------------- voltage

# v_true = [0, 1, 2, 3], v_pred = [1, 1, 2, 5]; residual v_pred - v_true = [1, 0, 0, 2].
V_TRUE = [0.0, 1.0, 2.0, 3.0]
V_PRED = [1.0, 1.0, 2.0, 5.0]


def test_voltage_hand_case():
    # MSE = (1 + 0 + 0 + 4) / 4 = 1.25 -> RMSE = sqrt(1.25); MAE = 3 / 4.
    assert metrics.rmse(V_PRED, V_TRUE) == pytest.approx(math.sqrt(1.25), rel=1e-15)
    assert metrics.mae(V_PRED, V_TRUE) == pytest.approx(0.75, rel=1e-15)
    # Var(v_true) = (2.25 + 0.25 + 0.25 + 2.25) / 4 = 1.25.
    # v_true - v_pred = [-1, 0, 0, -2], mean -0.75, Var = (0.0625 + 0.5625 + 0.5625 + 1.5625) / 4
    #   = 0.6875 -> EV = 1 - 0.6875 / 1.25 = 0.45.
    assert metrics.explained_variance(V_PRED, V_TRUE) == pytest.approx(0.45, rel=1e-14)
    # R² = 1 - MSE / Var = 1 - 1.25 / 1.25 = 0 (the residual's offset counts against it).
    assert metrics.coefficient_of_determination(V_PRED, V_TRUE) == pytest.approx(0.0, abs=1e-15)
    # centred pred = [-1.25, -1.25, -0.25, 2.75], centred true = [-1.5, -0.5, 0.5, 1.5]:
    # Σ products = 1.875 + 0.625 - 0.125 + 4.125 = 6.5; Σ squares 10.75 and 5 -> r = 6.5 / sqrt(53.75)
    assert metrics.pearson_r(V_PRED, V_TRUE) == pytest.approx(6.5 / math.sqrt(53.75), rel=1e-14)
    assert metrics.pearson_r(V_PRED, V_TRUE) == pytest.approx(0.8865926, abs=1e-7)
    assert isinstance(metrics.rmse(V_PRED, V_TRUE), float)


def test_moment_matching():
    # v_pred = 2 v_true + 3: raw EV = 1 - Var(-v_true - 3) / Var(v_true) = 0, R² < 0;
    # z-scored onto v_true's mean and SD it is v_true exactly.
    pred = [3.0, 5.0, 7.0, 9.0]
    assert metrics.explained_variance(pred, V_TRUE) == pytest.approx(0.0, abs=1e-14)
    assert metrics.rmse(pred, V_TRUE, match_moments=True) == pytest.approx(0.0, abs=1e-12)
    assert metrics.explained_variance(pred, V_TRUE, match_moments=True) == pytest.approx(1.0)
    assert metrics.coefficient_of_determination(pred, V_TRUE, match_moments=True) == (
        pytest.approx(1.0)
    )
    assert metrics.pearson_r(pred, V_TRUE) == pytest.approx(1.0)
    # A constant prediction cannot be matched: nan, not a division warning or a silent number.
    assert math.isnan(metrics.rmse([1.0, 1.0, 1.0, 1.0], V_TRUE, match_moments=True))


def test_clipping():
    # clip at -55: v_true -> [-70, -60, -55, -56], v_pred -> [-70, -58, -55, -55];
    # residual [0, 2, 0, 1] -> RMSE sqrt(5 / 4). Unclipped residual [0, 2, -30, 6] -> sqrt(940 / 4).
    v_true = [-70.0, -60.0, 20.0, -56.0]
    v_pred = [-70.0, -58.0, -10.0, -50.0]
    assert metrics.rmse(v_pred, v_true) == pytest.approx(math.sqrt(235.0))
    assert metrics.rmse(v_pred, v_true, clip_mv=-55.0) == pytest.approx(math.sqrt(1.25))
    assert metrics.mae(v_pred, v_true, clip_mv=-55.0) == pytest.approx(0.75)
    # Identical below threshold, different spikes above it: perfect once clipped.
    a, b = [-70.0, -65.0, 30.0, -60.0], [-70.0, -65.0, -40.0, -60.0]
    assert metrics.explained_variance(a, b, clip_mv=-55.0) == pytest.approx(1.0)
    assert metrics.explained_variance(a, b) < 0.5


def test_voltage_pooled_and_degenerate():
    pred = np.array([V_PRED, [3.0, 5.0, 7.0, 9.0]])
    true = np.array([V_TRUE, V_TRUE])
    # pooled: Σ squared residuals 5 (row 1) + 86 (row 2, residual [3, 4, 5, 6]) over 8 samples
    assert metrics.rmse(pred, true) == pytest.approx(math.sqrt((5.0 + 86.0) / 8.0))
    # Constant truth: EV and R² undefined; constant input: r undefined.
    assert math.isnan(metrics.explained_variance(V_PRED, [2.0] * 4))
    assert math.isnan(metrics.coefficient_of_determination(V_PRED, [2.0] * 4))
    assert math.isnan(metrics.pearson_r([1.0] * 4, V_TRUE))


def test_voltage_axis_rows_exact():
    pred = np.array([V_PRED, [3.0, 5.0, 7.0, 9.0]])
    true = np.array([V_TRUE, V_TRUE])
    # row 2 residual [3, 4, 5, 6]: MSE = 86 / 4 = 21.5.
    np.testing.assert_allclose(
        metrics.rmse(pred, true, axis=1), [math.sqrt(1.25), math.sqrt(21.5)], rtol=1e-15
    )


def test_voltage_bad_input():
    with pytest.raises(ValueError, match="same shape"):
        metrics.rmse([1.0, 2.0], [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="empty"):
        metrics.rmse([], [])
    with pytest.raises(ValueError, match="finite"):
        metrics.explained_variance([1.0, np.nan], [1.0, 2.0])
    with pytest.raises(ValueError, match="clip_mv"):
        metrics.rmse([1.0], [1.0], clip_mv=np.nan)


def test_voltage_jax_jit_vmap_grad():
    # JAX input takes the jnp path: jit-, vmap- and grad-compatible (usable as a loss).
    # Everything is jitted here because eager op-by-op dispatch is slow to test.
    p, t = jnp.asarray(V_PRED), jnp.asarray(V_TRUE)
    assert isinstance(metrics.rmse(p, t), jax.Array)
    for fn in (metrics.rmse, metrics.mae, metrics.explained_variance, metrics.pearson_r):
        assert float(jax.jit(fn)(p, t)) == pytest.approx(fn(V_PRED, V_TRUE), rel=1e-6)
    batch = jax.jit(jax.vmap(metrics.rmse))(jnp.stack([p, p]), jnp.stack([t, p]))
    np.testing.assert_allclose(batch, [math.sqrt(1.25), 0.0], atol=1e-6)
    # d RMSE / d v_pred = (v_pred - v_true) / (N · RMSE) = [1, 0, 0, 2] / (4 sqrt(1.25)).
    g = jax.jit(jax.grad(metrics.rmse))(p, t)
    np.testing.assert_allclose(g, np.array([1, 0, 0, 2]) / (4 * math.sqrt(1.25)), rtol=1e-6)
    # Clipped samples carry no gradient; matched moments stay differentiable and finite.
    g_clip = jax.jit(jax.grad(lambda x: metrics.rmse(x, t, clip_mv=2.5)))(p)
    assert float(g_clip[3]) == 0.0
    g_match = jax.jit(jax.grad(lambda x: metrics.rmse(x, t, match_moments=True)))(p)
    assert bool(jnp.all(jnp.isfinite(g_match)))


# --------------------------------------------------------------------------- ROC


def _brute_auc(score, label):
    """P(score_pos > score_neg) + ½ P(tie), by counting every (positive, negative) pair."""
    pos, neg = score[label == 1], score[label == 0]
    diff = pos[:, None] - neg[None, :]
    return ((diff > 0).sum() + 0.5 * (diff == 0).sum()) / diff.size


def test_roc_hand_case():
    # positives {0.35, 0.8}, negatives {0.1, 0.4}: of the 4 pairs only (0.35, 0.4) is misordered.
    s, y = [0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]
    assert metrics.roc_auc(s, y) == pytest.approx(0.75)
    fpr, tpr, thr = metrics.roc_curve(s, y)
    np.testing.assert_allclose(fpr, [0, 0, 0.5, 0.5, 1])
    np.testing.assert_allclose(tpr, [0, 0.5, 0.5, 1, 1])
    np.testing.assert_array_equal(thr, [np.inf, 0.8, 0.4, 0.35, 0.1])


def test_roc_ties():
    # positives {0.5, 0.9}, negatives {0.5, 0.5}: 0.9 beats both (2), 0.5 ties both (2 × ½):
    # AUC = 3 / 4; the tie is one diagonal segment (0, 0.5) -> (1, 1).
    s, y = [0.5, 0.5, 0.5, 0.9], [1, 0, 0, 1]
    assert metrics.roc_auc(s, y) == pytest.approx(0.75)
    fpr, tpr, _ = metrics.roc_curve(s, y)
    np.testing.assert_allclose(fpr, [0, 0, 1])
    np.testing.assert_allclose(tpr, [0, 0.5, 1])


@pytest.mark.parametrize("seed", range(5))
def test_auc_matches_brute_force(seed):
    rng = np.random.default_rng(seed)
    n = 400
    label = (rng.random(n) < 0.2).astype(int)
    score = np.round(rng.normal(size=n) + label, 1)  # rounding makes many ties
    expected = _brute_auc(score, label)
    assert metrics.roc_auc(score, label) == pytest.approx(expected, abs=1e-12)
    fpr, tpr, _ = metrics.roc_curve(score, label)
    assert np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2) == pytest.approx(expected, abs=1e-12)
    # sklearn-style dropping of collinear points keeps the curve (same area, same interpolant).
    f2, t2, _ = metrics.roc_curve(score, label, drop_intermediate=True)
    assert f2.size <= fpr.size
    assert np.sum(np.diff(f2) * (t2[1:] + t2[:-1]) / 2) == pytest.approx(expected, abs=1e-12)
    # Pooled over [cells, T] = flattened; bool labels accepted.
    assert metrics.roc_auc(score.reshape(4, 100), label.reshape(4, 100).astype(bool)) == (
        pytest.approx(expected, abs=1e-12)
    )
    # Only the order of the scores matters.
    assert metrics.roc_auc(np.exp(score), label) == pytest.approx(expected, abs=1e-12)


def _constructed_roc():
    """1000 negatives at 0.000 … 0.999; 10 positives placed to give a known curve.

    positives: 4 at 2.0 (above every negative), 3 at 0.9975 (between the negatives 0.998 and
    0.997), 2 at 0.996 (tied with a negative), 1 at -1 (below everything). Full ROC curve:
    (0, 0) -> (0, .4) -> (.001, .4) -> (.002, .4) -> (.002, .7) -> (.003, .7) -> tie diagonal
    -> (.004, .9) -> (.005, .9) … (1, .9) -> (1, 1).
    """
    neg = np.arange(1000) / 1000.0
    pos = np.array([2.0] * 4 + [0.9975] * 3 + [0.996] * 2 + [-1.0])
    return np.r_[neg, pos], np.r_[np.zeros(1000), np.ones(10)]


def test_tpr_at_fpr_constructed():
    s, y = _constructed_roc()
    tpr = metrics.tpr_at_fpr
    # 0.25 % FPR: between (.002, .7) and (.003, .7) -> 0.7 under either definition.
    assert tpr(s, y, 0.0025) == pytest.approx(0.7)
    assert tpr(s, y, 0.0025, method="threshold") == pytest.approx(0.7)
    # 1 % FPR: on the flat part at 0.9.
    assert tpr(s, y, 0.01) == pytest.approx(0.9)
    # 0.35 %: halfway along the tie diagonal (.003, .7) -> (.004, .9): 0.8 interpolated, but the
    # best single threshold with FPR <= 0.35 % is the vertex (.003, .7).
    assert tpr(s, y, 0.0035) == pytest.approx(0.8)
    assert tpr(s, y, 0.0035, method="threshold") == pytest.approx(0.7)
    # FPR 0 sits on the vertical segment (0, 0) -> (0, .4): its top.
    assert tpr(s, y, 0.0) == pytest.approx(0.4)
    # 0.15 %: on the flat (.001, .4) -> (.002, .4).
    assert tpr(s, y, 0.0015) == pytest.approx(0.4)
    assert tpr(s, y, 1.0) == pytest.approx(1.0)
    np.testing.assert_allclose(tpr(s, y, [0.0025, 0.01]), [0.7, 0.9])
    # Beniaguev's nearest vertex of the sklearn-dropped curve
    # (0,0) (0,.4) (.002,.4) (.002,.7) (.003,.7) (.004,.9) (1,.9) (1,1):
    # 0.21 % -> first vertex at FPR .002, the bottom of the vertical segment (0.4);
    # 0.26 % -> (.003, .7); 1 % -> (.004, .9); 0 -> index 0 is forbidden -> (0, .4).
    assert tpr(s, y, 0.0021, method="nearest") == pytest.approx(0.4)
    assert tpr(s, y, 0.0026, method="nearest") == pytest.approx(0.7)
    assert tpr(s, y, 0.01, method="nearest") == pytest.approx(0.9)
    assert tpr(s, y, 0.0, method="nearest") == pytest.approx(0.4)


def test_partial_auc_and_d_prime():
    # Curve (0,0) (0,.5) (.5,.5) (.5,1) (1,1): area up to FPR .5 is .5 × .5 = .25 -> /.5 = .5;
    # up to .25: .125 / .25 = .5; up to 1: the AUC .75. McClish at .5: .5 (1 + (.25 - .125)/.375).
    s, y = [0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]
    assert metrics.partial_auc(s, y, 0.5) == pytest.approx(0.5)
    assert metrics.partial_auc(s, y, 0.25) == pytest.approx(0.5)
    assert metrics.partial_auc(s, y, 1.0) == pytest.approx(0.75)
    assert metrics.partial_auc(s, y, 0.5, standardized=True) == pytest.approx(2.0 / 3.0)
    assert metrics.partial_auc(s, y, 1.0, standardized=True) == pytest.approx(0.75)
    # Constructed curve up to 1 %: .002 × .4 + .001 × .7 + .001 × (.7 + .9)/2 + .006 × .9
    #   = .0008 + .0007 + .0008 + .0054 = .0077 -> /.01 = .77.
    sc, yc = _constructed_roc()
    assert metrics.partial_auc(sc, yc, 0.01) == pytest.approx(0.77)
    # d' = sqrt(2) Φ⁻¹(AUC): 0 at chance, 1 at AUC = Φ(1/sqrt(2)), inf at 1.
    assert metrics.d_prime(0.5) == pytest.approx(0.0, abs=1e-15)
    assert metrics.d_prime(norm.cdf(1 / math.sqrt(2))) == pytest.approx(1.0)
    assert metrics.d_prime(1.0) == math.inf


def test_roc_metrics_one_sort_equals_single_functions():
    s, y = _constructed_roc()
    r = metrics.roc_metrics(s, y, (0.0025, 0.01))
    assert r["auc"] == metrics.roc_auc(s, y)
    assert r["d_prime"] == metrics.d_prime(r["auc"])
    assert r["tpr_at_fpr_0.0025"] == pytest.approx(0.7)
    assert r["tpr_at_fpr_0.01"] == metrics.tpr_at_fpr(s, y, 0.01)
    assert r["partial_auc_0.01"] == metrics.partial_auc(s, y, 0.01)
    assert set(r) == {
        "auc", "d_prime", "tpr_at_fpr_0.0025", "tpr_at_fpr_0.01",
        "partial_auc_0.0025", "partial_auc_0.01",
    }  # fmt: skip


def test_roc_degenerate_and_bad_input():
    for labels in ([0, 0, 0], [1, 1, 1]):
        for fn in (metrics.roc_auc, metrics.roc_curve, metrics.tpr_at_fpr, metrics.partial_auc):
            with pytest.raises(ValueError, match="ROC curve is undefined"):
                fn([0.1, 0.2, 0.3], labels)
    with pytest.raises(ValueError, match="binary"):
        metrics.roc_auc([0.1, 0.2, 0.3], [0, 2, 1])
    with pytest.raises(ValueError, match="same shape"):
        metrics.roc_auc([0.1, 0.2], [0, 1, 1])
    with pytest.raises(ValueError, match="finite"):
        metrics.roc_auc([0.1, np.nan, 0.3], [0, 1, 1])
    with pytest.raises(ValueError, match="fpr"):
        metrics.tpr_at_fpr([0.1, 0.2], [0, 1], 1.5)
    with pytest.raises(ValueError, match="method"):
        metrics.tpr_at_fpr([0.1, 0.2], [0, 1], 0.1, method="closest")
    with pytest.raises(ValueError, match="max_fpr"):
        metrics.partial_auc([0.1, 0.2], [0, 1], 0.0)
    with pytest.raises(ValueError, match="auc"):
        metrics.d_prime(1.2)


# --------------------------------------------------------------------------- spike matching


def _brute_match(pred, true, window):
    """(max #pairs, min Σ|lag| among those) over every one-to-one matching within the window."""
    edges = [(i, j) for i in range(len(pred)) for j in range(len(true))]
    edges = [(i, j) for i, j in edges if abs(pred[i] - true[j]) <= window]
    best = (0, 0.0)
    for k in range(1, min(len(pred), len(true)) + 1):
        for subset in itertools.combinations(edges, k):
            ii, jj = [e[0] for e in subset], [e[1] for e in subset]
            if len(set(ii)) == k and len(set(jj)) == k:
                cost = sum(abs(pred[i] - true[j]) for i, j in subset)
                if (k, -cost) > (best[0], -best[1]):
                    best = (k, cost)
    return best


def test_match_prefers_closest_and_most_pairs():
    # One true spike at 8, predictions at 0 (lag -8) and 9 (lag +1): a greedy scan in time order
    # would take the first; the optimal match takes the closer one.
    m = metrics.match_spikes([0.0, 9.0], [8.0], 10.0)
    assert m.pred_idx.tolist() == [1] and m.true_idx.tolist() == [0]
    np.testing.assert_allclose(m.lag_ms, [1.0])
    # pred [5, 14], true [0, 10], window 5: 5 can reach both (lags 5 / -5), 14 only 10 (lag 4):
    # the maximum matching is 5->0, 14->10 with lags [5, 4].
    m = metrics.match_spikes([14.0, 5.0], [10.0, 0.0], 5.0)  # unsorted input
    assert m.pred_idx.tolist() == [1, 0] and m.true_idx.tolist() == [1, 0]
    np.testing.assert_allclose(m.lag_ms, [5.0, 4.0])
    # Each true spike is used at most once: three predictions around one true spike.
    m = metrics.match_spikes([0.0, 1.0, 2.0], [1.0], 5.0)
    assert m.pred_idx.tolist() == [1] and m.lag_ms.tolist() == [0.0]


@pytest.mark.parametrize("seed", range(30))
def test_match_against_brute_force(seed):
    rng = np.random.default_rng(seed)
    pred = np.round(rng.uniform(0, 40, rng.integers(0, 6)), 0)
    true = np.round(rng.uniform(0, 40, rng.integers(0, 6)), 0)
    m = metrics.match_spikes(pred, true, 5.0)
    count, cost = _brute_match(pred, true, 5.0)
    assert len(m.lag_ms) == count
    assert np.abs(m.lag_ms).sum() == pytest.approx(cost, abs=1e-9)
    assert len(set(m.pred_idx.tolist())) == count and len(set(m.true_idx.tolist())) == count
    np.testing.assert_allclose(m.lag_ms, pred[m.pred_idx] - true[m.true_idx])
    assert np.all(np.abs(m.lag_ms) <= 5.0)


def test_precision_recall_and_jitter_at_window_edges():
    pred = [10.0, 50.0, 100.5, 200.0]
    true = [12.0, 60.0, 100.0, 300.0, 400.0]
    # 10->12 (lag -2), 50->60 (lag -10: exactly on the edge, inclusive), 100.5->100 (+0.5);
    # 200, 300, 400 unmatched. precision 3/4, recall 3/5, F1 = 2·3 / (4 + 5) = 2/3.
    pr = metrics.precision_recall(pred, true, 10.0)
    assert pr == pytest.approx((0.75, 0.6, 2.0 / 3.0))
    assert pr.precision == pytest.approx(0.75)
    # lags [-2, -10, 0.5]: mean -11.5/3 = -3.8333; deviations 1.8333, -6.1667, 4.3333;
    # squares 3.3611 + 38.0278 + 18.7778 = 60.1667; SD = sqrt(60.1667 / 3) = 4.47834.
    jit = metrics.jitter(pred, true, 10.0)
    assert jit.mean_ms == pytest.approx(-11.5 / 3.0)
    assert jit.std_ms == pytest.approx(4.478342, rel=1e-6)
    # Just outside the edge: 49.99 -> 60 is 10.01 ms away; recall drops to 2/5.
    pr = metrics.precision_recall([10.0, 49.99, 100.5, 200.0], true, 10.0)
    assert pr == pytest.approx((0.5, 0.4, 4.0 / 9.0))
    # Float round-off never decides the edge: samples 11 and 8 at dt = 0.1 ms are
    # 1.1 - 0.8 = 0.30000000000000004 ms apart, still within a 0.3 ms window.
    t_pred = metrics.spike_times(np.eye(1, 12, 11).ravel(), 0.1)
    t_true = metrics.spike_times(np.eye(1, 12, 8).ravel(), 0.1)
    assert t_pred[0] - t_true[0] > 0.3
    assert metrics.precision_recall(t_pred, t_true, 0.3) == (1.0, 1.0, 1.0)
    assert metrics.precision_recall(t_pred, t_true, 0.2999) == (0.0, 0.0, 0.0)


def test_precision_recall_degenerate():
    pr = metrics.precision_recall([], [1.0, 2.0], 10.0)
    assert math.isnan(pr.precision) and pr.recall == 0.0 and pr.f1 == 0.0
    pr = metrics.precision_recall([1.0], [], 10.0)
    assert pr.precision == 0.0 and math.isnan(pr.recall) and pr.f1 == 0.0
    assert all(math.isnan(x) for x in metrics.precision_recall([], [], 10.0))
    assert all(math.isnan(x) for x in metrics.jitter([0.0], [50.0], 10.0))
    m = metrics.match_spikes([], [], 10.0)
    assert m.pred_idx.size == 0 and m.lag_ms.size == 0
    with pytest.raises(ValueError, match="1-D"):
        metrics.match_spikes(np.zeros((2, 2)), [1.0], 10.0)
    with pytest.raises(ValueError, match="window_ms"):
        metrics.match_spikes([1.0], [1.0], -1.0)
    with pytest.raises(ValueError, match="finite"):
        metrics.precision_recall([np.nan], [1.0], 10.0)


# --------------------------------------------------------------------------- Γ and rates


def _poisson_train(rng, rate_hz, duration_ms):
    n = rng.poisson(rate_hz * duration_ms / 1000.0)
    return np.sort(rng.uniform(0.0, duration_ms, n))


def test_coincidence_factor_hand_case():
    # true [100, 200, 300, 400], pred [101, 250, 302, 500] in T = 1000 ms, Δ = 2 ms:
    # coincidences 101-100 and 302-300 (on the edge) -> 2; E = 2 Δ N_pred N_true / T = 0.064;
    # ν = 0.004 / ms -> 1 - 2νΔ = 0.984; Γ = (2 - 0.064) / (½ · 8) / 0.984 = 0.491870 (6 d.p.)
    g = metrics.coincidence_factor(
        [101.0, 250.0, 302.0, 500.0], [100.0, 200.0, 300.0, 400.0], 2.0, 1000.0
    )
    assert g == pytest.approx(1.936 / 4.0 / 0.984, rel=1e-12)
    assert g == pytest.approx(0.491870, abs=1e-6)


def test_coincidence_factor_identical_and_independent():
    rng = np.random.default_rng(0)
    t = _poisson_train(rng, 10.0, 100_000.0)
    assert metrics.coincidence_factor(t, t, 2.0, 100_000.0) == pytest.approx(1.0, abs=1e-12)
    # Small jitter inside Δ keeps Γ = 1.
    shifted = np.clip(t + rng.uniform(-1.0, 1.0, t.size), 0.0, 100_000.0)
    assert metrics.coincidence_factor(shifted, t, 2.0, 100_000.0) == pytest.approx(1.0, abs=1e-9)
    # Independent 10 Hz Poisson trains over 1000 s, Δ = 2 ms: N ≈ 10^4, E[N_coinc] ≈ 400 with
    # SD ≈ 20, so SD(Γ) ≈ 20 / 10^4 / 0.96 ≈ 0.002; allow 6 SD plus the small bias of one-to-one
    # matching (≈ -νΔ·2νΔ ≈ -0.001).
    gammas = []
    for _ in range(3):
        a, b = _poisson_train(rng, 10.0, 1e6), _poisson_train(rng, 10.0, 1e6)
        gammas.append(metrics.coincidence_factor(a, b, 2.0, 1e6))
    assert np.all(np.abs(gammas) < 0.015), gammas
    # A train with half the spikes of the truth, all coincident: Γ = 2 N_p / (N_p + N_t) = 2/3.
    g = metrics.coincidence_factor(t[::2], t, 2.0, 100_000.0)
    assert g == pytest.approx(2 * t[::2].size / (t[::2].size + t.size), rel=1e-12)


def test_coincidence_factor_degenerate():
    assert math.isnan(metrics.coincidence_factor([], [], 4.0, 1000.0))
    assert metrics.coincidence_factor([], [10.0], 4.0, 1000.0) == pytest.approx(0.0)
    # 300 true spikes in 1 s with Δ = 2 ms: 2νΔ = 1.2 ≥ 1, Γ undefined.
    with pytest.raises(ValueError, match="narrower window"):
        metrics.coincidence_factor([], np.linspace(0, 999, 300), 2.0, 1000.0)
    with pytest.raises(ValueError, match="duration_ms"):
        metrics.coincidence_factor([1200.0], [10.0], 4.0, 1000.0)
    with pytest.raises(ValueError, match="window_ms"):
        metrics.coincidence_factor([1.0], [10.0], 0.0, 1000.0)


def test_firing_rate_error():
    # 3 predicted and 4 true spikes in 2 s: 1.5 Hz vs 2 Hz; error -0.5 Hz; relative 0.25.
    r = metrics.firing_rate_error([1.0, 500.0, 900.0], [10.0, 20.0, 30.0, 1999.0], 2000.0)
    assert r == pytest.approx((1.5, 2.0, -0.5, 0.5, 0.25))
    assert r.abs_error_hz == pytest.approx(0.5)
    r = metrics.firing_rate_error([1.0], [], 1000.0)
    assert r.rate_pred_hz == 1.0 and r.rate_true_hz == 0.0 and math.isnan(r.rel_error)
    with pytest.raises(ValueError, match="duration_ms"):
        metrics.firing_rate_error([1.0], [1.0], 0.0)


# --------------------------------------------------------------------------- decoding


def test_spike_times():
    # counts [0, 1, 0, 2, 0] at dt = 0.5 ms: one spike at 0.5 ms, two at 1.5 ms (bin starts).
    np.testing.assert_allclose(metrics.spike_times([0, 1, 0, 2, 0], 0.5), [0.5, 1.5, 1.5])
    np.testing.assert_allclose(metrics.spike_times(np.array([True, False, True]), 1.0), [0, 2])
    assert metrics.spike_times(np.zeros(5), 1.0).size == 0
    with pytest.raises(ValueError, match="decode_spikes"):
        metrics.spike_times([0.0, 0.5, 1.0], 1.0)
    with pytest.raises(ValueError, match="non-negative"):
        metrics.spike_times([0, -1], 1.0)
    with pytest.raises(ValueError, match="1-D"):
        metrics.spike_times(np.zeros((2, 3)), 1.0)
    with pytest.raises(ValueError, match="dt"):
        metrics.spike_times([0, 1], 0.0)


def test_decode_level_with_dead_time():
    # Oláh: > 0.8 then 6 steps dead. Spike at 1; steps 2..7 locked; 8 is the next candidate.
    x = [0, 0.9, 0.9, 0.9, 0.1, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9]
    np.testing.assert_array_equal(
        metrics.decode_spikes(x, 0.8, 6), [0, 1, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0]
    )
    # No dead time: every supra-threshold sample; the threshold is strict (0.8 is not a spike).
    np.testing.assert_array_equal(metrics.decode_spikes([0.8, 0.81, 0.2], 0.8), [0, 1, 0])
    out = metrics.decode_spikes(np.array(x), 0.8, 6)
    assert out.dtype == np.int8 and out.shape == (13,)


def test_decode_rising_and_peak():
    # Upward crossings at 1 and 4 (a trace may also start above threshold: index 0).
    x = [0.0, 0.9, 0.9, 0.1, 0.9, 0.85]
    np.testing.assert_array_equal(metrics.decode_spikes(x, 0.8, mode="rising"), [0, 1, 0, 0, 1, 0])
    np.testing.assert_array_equal(
        metrics.decode_spikes(x, 0.8, 3, mode="rising"), [0, 1, 0, 0, 0, 0]
    )
    np.testing.assert_array_equal(metrics.decode_spikes([0.9, 0.1], 0.8, mode="rising"), [1, 0])
    # Peaks above 0.8: index 2 (0.9 > 0.5, >= 0.7) and the first sample of the flat top at 4.
    y = [0.0, 0.5, 0.9, 0.7, 0.95, 0.95, 0.2, 0.85]
    np.testing.assert_array_equal(
        metrics.decode_spikes(y, 0.8, mode="peak"), [0, 0, 1, 0, 1, 0, 0, 1]
    )


def test_decode_batch_axis_and_errors():
    x = np.array([[0.0, 0.9, 0.9, 0.0], [0.9, 0.0, 0.0, 0.9]])
    np.testing.assert_array_equal(metrics.decode_spikes(x, 0.5, 1), [[0, 1, 0, 0], [1, 0, 0, 1]])
    np.testing.assert_array_equal(
        metrics.decode_spikes(x.T, 0.5, 1, axis=0), [[0, 1], [1, 0], [0, 0], [0, 1]]
    )
    with pytest.raises(ValueError, match="dead_time_steps"):
        metrics.decode_spikes(x, 0.5, -1)
    with pytest.raises(ValueError, match="dead_time_steps"):
        metrics.decode_spikes(x, 0.5, 1.5)
    with pytest.raises(ValueError, match="mode"):
        metrics.decode_spikes(x, 0.5, mode="edge")
    with pytest.raises(ValueError, match="finite"):
        metrics.decode_spikes([0.0, np.nan], 0.5)


# --------------------------------------------------------------------------- reports


def _cells(seed=0, n_cells=4, t=600):
    rng = np.random.default_rng(seed)
    spikes_true = (rng.random((n_cells, t)) < 0.02).astype(np.int8)
    prob = np.clip(0.7 * spikes_true + 0.3 * rng.random((n_cells, t)), 0, 1)
    spikes_pred = metrics.decode_spikes(prob, 0.6)
    spikes_pred = np.roll(spikes_pred, 2, axis=1)  # predicted spikes 2 ms late
    v_true = -65 + 5 * rng.standard_normal((n_cells, t)) + 80 * spikes_true
    v_pred = v_true + rng.standard_normal((n_cells, t))
    return v_pred, v_true, prob, spikes_pred, spikes_true


def test_summarise_one_cell():
    v_pred, v_true, prob, s_pred, s_true = (a[0] for a in _cells())
    r = metrics.summarise(
        v_pred,
        v_true,
        spike_prob=prob,
        spikes_pred=s_pred,
        spikes_true=s_true,
        dt=1.0,
        clip_mv=-55.0,
    )
    assert all(isinstance(v, float) for v in r.values())
    assert r["rmse"] == metrics.rmse(v_pred, v_true, clip_mv=-55.0)
    assert r["rmse_matched"] == metrics.rmse(v_pred, v_true, clip_mv=-55.0, match_moments=True)
    assert r["r2"] == metrics.coefficient_of_determination(v_pred, v_true, clip_mv=-55.0)
    assert r["auc"] == metrics.roc_auc(prob, s_true)
    assert r["tpr_at_fpr_0.0025"] == metrics.tpr_at_fpr(prob, s_true, 0.0025)
    assert r["partial_auc_0.01"] == metrics.partial_auc(prob, s_true, 0.01)
    t_pred, t_true = metrics.spike_times(s_pred, 1.0), metrics.spike_times(s_true, 1.0)
    assert (r["precision"], r["recall"], r["f1"]) == metrics.precision_recall(t_pred, t_true, 10.0)
    assert r["jitter_mean_ms"] == pytest.approx(2.0)  # every prediction rolled 2 ms late
    assert r["coincidence_factor"] == metrics.coincidence_factor(t_pred, t_true, 4.0, 600.0)
    assert r["rate_true_hz"] == pytest.approx(1000 * s_true.sum() / 600.0)
    assert r["n_true"] == s_true.sum()
    # Voltage only; spikes only.
    assert set(metrics.summarise(v_pred, v_true, dt=1.0)) == {
        "rmse", "mae", "explained_variance", "r2", "pearson_r",
        "rmse_matched", "mae_matched", "explained_variance_matched", "r2_matched",
    }  # fmt: skip
    assert "auc" not in metrics.summarise(spikes_pred=s_pred, spikes_true=s_true, dt=1.0)


def test_summarise_undefined_metrics_are_nan():
    # A silent cell: no true spikes -> AUC undefined (nan in the report, not an exception).
    quiet = np.zeros(100)
    r = metrics.summarise(
        spike_prob=np.linspace(0, 1, 100), spikes_pred=quiet, spikes_true=quiet, dt=1.0
    )
    assert math.isnan(r["auc"]) and math.isnan(r["precision"]) and math.isnan(r["recall"])
    assert math.isnan(r["coincidence_factor"]) and r["rate_abs_error_hz"] == 0.0
    with pytest.raises(ValueError, match="both v_pred and v_true"):
        metrics.summarise(np.zeros(3), dt=1.0)
    with pytest.raises(ValueError, match="spikes_true"):
        metrics.summarise(spike_prob=np.zeros(3), dt=1.0)
    with pytest.raises(ValueError, match=r"\[T\]"):
        metrics.summarise(np.zeros((2, 3)), np.zeros((2, 3)), dt=1.0)
    with pytest.raises(ValueError, match="same shape"):
        metrics.summarise(np.zeros(3), np.zeros(3), spikes_true=np.zeros(4), dt=1.0)
    with pytest.raises(ValueError, match="decode_spikes"):
        metrics.summarise(spikes_pred=np.full(3, 0.7), spikes_true=np.zeros(3), dt=1.0)


def test_summarise_batch():
    v_pred, v_true, prob, s_pred, s_true = _cells(n_cells=5)
    s_true[3] = 0  # one silent cell: per-cell precision/recall nan, excluded from the means
    r = metrics.summarise_batch(
        v_pred,
        v_true,
        spike_prob=prob,
        spikes_pred=s_pred,
        spikes_true=s_true,
        dt=1.0,
        clip_mv=-55.0,
    )
    cells = [
        metrics.summarise(
            v_pred[c],
            v_true[c],
            spikes_pred=s_pred[c],
            spikes_true=s_true[c],
            dt=1.0,
            clip_mv=-55.0,
        )
        for c in range(5)
    ]
    assert r["n_cells"] == 5.0
    # mean over cells (nan-aware) and SD across cells
    assert r["rmse"] == pytest.approx(np.mean([c["rmse"] for c in cells]))
    assert r["rmse_sd"] == pytest.approx(np.std([c["rmse"] for c in cells]))
    assert r["recall"] == pytest.approx(np.nanmean([c["recall"] for c in cells]))
    # totals and pooled ratios
    assert r["n_true"] == s_true.sum() and r["n_matched"] == sum(c["n_matched"] for c in cells)
    assert r["recall_pooled"] == pytest.approx(r["n_matched"] / r["n_true"])
    # pooled over all bins (Beniaguev): AUC of the flattened batch; moments matched over the batch
    assert r["auc"] == metrics.roc_auc(prob, s_true)
    assert r["rmse_matched_sd"] == pytest.approx(np.std([c["rmse_matched"] for c in cells]))
    assert r["tpr_at_fpr_0.01"] == metrics.tpr_at_fpr(prob.ravel(), s_true.ravel(), 0.01)
    assert r["rmse_matched_pooled"] == metrics.rmse(
        v_pred, v_true, clip_mv=-55.0, match_moments=True
    )
    assert r["explained_variance_pooled"] == metrics.explained_variance(
        v_pred, v_true, clip_mv=-55.0
    )
    assert all(isinstance(v, float) for v in r.values())
    with pytest.raises(ValueError, match=r"\[cells, T\]"):
        metrics.summarise_batch(v_pred[0], v_true[0], dt=1.0)
