"""The lesson of algorithmic_bias at quick size: directions, not exact numbers."""

import json

import numpy as np
import pytest

from experiments import algorithmic_bias as ab


@pytest.fixture(scope="module")
def quick(quick_run):
    return quick_run("algorithmic_bias")


def gaps(tables, column="parity_gap"):
    return tables["decisions"].set_index("variant")[column]


def test_the_model_learns_the_bias_and_the_remedies_reduce_it(quick):
    tables, _ = quick
    gap = gaps(tables)
    assert gap[ab.HISTORY] > 0.15 and abs(gap[ab.TRUTH]) < 0.08
    assert gap[ab.AWARE] > 0.5 * gap[ab.HISTORY]
    assert gap[ab.UNAWARE] > 0.05  # the neighbourhood carries some of it
    difference = gaps(tables, "parity_difference")
    assert difference[ab.REWEIGHED] < difference[ab.AWARE]
    assert difference[ab.THRESHOLDS] < difference[ab.AWARE]


def test_fairlearn_metrics_agree_with_the_group_rates(quick):
    tables, _ = quick
    rows = tables["decisions"]
    np.testing.assert_allclose(rows["parity_difference"], rows["parity_gap"].abs(), atol=1e-12)
    truth = rows.set_index("variant").loc[ab.TRUTH]
    assert truth["accuracy_truth"] == 1 and truth["opportunity_difference"] == 0


def test_claims_are_computed_from_the_table(quick):
    tables, folder = quick
    stored = json.loads((folder / "claims.json").read_text())
    assert [claim.evaluate(tables) for claim in ab.CLAIMS] == stored
    claims = {claim.id: claim for claim in ab.CLAIMS}
    forged = {name: rows.copy() for name, rows in tables.items()}
    rows = forged["decisions"]
    aware = rows["variant"] == ab.AWARE
    for variant in (ab.REWEIGHED, ab.THRESHOLDS):
        chosen = rows["variant"] == variant
        rows.loc[chosen, "parity_difference"] = rows.loc[aware, "parity_difference"].to_numpy()
    assert claims["remedies_halve_gap"].evaluate(forged)["verdict"] == "FAIL"
    rows.loc[rows["variant"] == ab.UNAWARE, "parity_gap"] = 0.0
    assert claims["proxy_keeps_bias"].evaluate(forged)["verdict"] == "FAIL"
    rows.loc[aware, "parity_gap"] = 0.0
    assert claims["model_reproduces_bias"].evaluate(forged)["verdict"] == "FAIL"
    weights = forged["reweighing"]
    weights.loc[weights["group"] == "A", "reweighed"] += 0.1
    assert claims["reweighing_balances"].evaluate(forged)["verdict"] == "FAIL"


def test_bad_settings_are_rejected():
    with pytest.raises(ValueError, match="segregation"):
        ab.Config(segregation=1.5)
    with pytest.raises(ValueError, match="applicants"):
        ab.Config(applicants=10)
