"""evaluate(): the report of a surrogate against its teacher."""

import json

import jax.numpy as jnp
import numpy as np
import pytest

import jaxneuro as jn
from jaxneuro.surrogates import TCN


def test_a_perfect_imitation_scores_perfectly(tmp_path):
    """The teacher judged against itself: zero error, all spikes matched, identical gradients."""
    teacher = jn.models.LIF(dt=1.0, solver_dt=0.1)
    stimuli = jnp.linspace(1.6, 3.0, 4)[:, None, None] * jnp.ones((4, 300, 1))
    report = jn.evaluate(teacher, teacher, stimuli, params=teacher.init(), out=tmp_path)
    assert report["voltage"]["rmse_mv"] == 0.0
    assert report["voltage"]["explained_variance"] == pytest.approx(1.0)
    spikes = report["spikes"]
    assert spikes["n_true"] > 10 and spikes["precision"] == 1.0 and spikes["recall"] == 1.0
    assert spikes["coincidence_factor"] == pytest.approx(1.0)
    assert spikes["auc"] == 1.0 and spikes["rate_abs_error_hz"] == 0.0
    assert report["gradient_cosine"]["mean"] == pytest.approx(1.0, abs=1e-6)
    assert report["speed"]["teacher"]["run_s"] > 0 and report["speed"]["speedup"] > 0
    saved = json.loads((tmp_path / "report.json").read_text())
    assert saved["voltage"]["rmse_mv"] == 0.0
    for figure in ("traces.png", "raster.png", "roc.png"):
        assert (tmp_path / figure).stat().st_size > 1000


def test_an_untrained_surrogate_scores_badly_and_bad_input_raises():
    teacher = jn.models.LIF(dt=1.0, solver_dt=0.1)
    surrogate = TCN(teacher.spec, n_layers=1, channels=2, kernel_sizes=5)
    stimuli = jnp.linspace(1.6, 3.0, 3)[:, None, None] * jnp.ones((3, 200, 1))
    report = jn.evaluate(surrogate, teacher, stimuli, params=surrogate.init(), gradient_cells=1)
    assert report["voltage"]["rmse_mv"] > 1.0
    assert np.isfinite(report["gradient_cosine"]["mean"])
    with pytest.raises(ValueError, match="stimuli"):
        jn.evaluate(surrogate, teacher, stimuli[0], params=surrogate.init())
    other = TCN(jn.models.HodgkinHuxley(dt=1.0, solver_dt=0.025).spec)
    with pytest.raises(ValueError, match="specs differ"):
        jn.evaluate(other, teacher, stimuli, params=other.init())
