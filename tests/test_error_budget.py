"""scripts/hh_error_budget.py: its shares partition the shipped hh-tcn's clipped error."""

import sys
from pathlib import Path

import numpy as np
import pytest

import jaxneuro as jn

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
from hh_error_budget import budget  # noqa: E402


@pytest.mark.slow
def test_error_budget_partitions_the_cards_clipped_rmse():
    result = budget("hh-tcn")
    card = jn.read_card("hh-tcn")["fidelity"]["voltage"]["rmse_clipped_mv"]
    np.testing.assert_allclose(result["rmse_clipped_mv"], card, rtol=1e-3)
    rows = result["categories"].values()
    np.testing.assert_allclose(sum(r["sq_error_share"] for r in rows), 1.0, rtol=1e-9)
    np.testing.assert_allclose(sum(r["samples_share"] for r in rows), 1.0, rtol=1e-9)
    # sq share / sample share = (RMSE there / overall RMSE)^2, category by category
    for r in rows:
        ratio = (r["rmse_mv"] / result["rmse_clipped_mv"]) ** 2
        np.testing.assert_allclose(r["sq_error_share"] / r["samples_share"], ratio, rtol=1e-6)
    recall = jn.read_card("hh-tcn")["fidelity"]["spikes"]["recall_pooled"]
    counts = result["categories"]
    found = counts["timed"]["spikes"] + counts["shifted"]["spikes"]
    np.testing.assert_allclose(found / (found + counts["missed"]["spikes"]), recall, rtol=1e-9)
