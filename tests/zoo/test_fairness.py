import numpy as np
import pytest

from zoo.fairness import (
    calibration_by_group,
    credit_table,
    decide,
    group_thresholds,
    reweighing_weights,
)


@pytest.fixture(scope="module")
def table():
    return credit_table(100_000, seed=0)


def test_both_groups_would_repay_alike_and_the_history_holds_group_b_back(table):
    a, b = table[table["group"] == 0], table[table["group"] == 1]
    assert abs(a["repaid"].mean() - b["repaid"].mean()) < 0.01  # sampling only
    for feature in ("income", "age", "debt_ratio"):  # drawn alike for both groups
        assert abs(a[feature].mean() / b[feature].mean() - 1) < 0.01
    np.testing.assert_array_equal(a["approved"], a["repaid"])  # A: the history is the truth
    assert (b["approved"] <= b["repaid"]).all()  # B: some who would repay were refused
    assert b["repaid"].mean() - b["approved"].mean() > 0.15
    fair = credit_table(1000, seed=3, penalty=0.0)
    np.testing.assert_array_equal(fair["approved"], fair["repaid"])


def test_the_neighbourhood_is_a_proxy_for_the_group(table):
    assert np.corrcoef(table["group"], table["neighbourhood"])[0, 1] > 0.5
    mixed = credit_table(100_000, seed=0, segregation=0.0)
    assert abs(np.corrcoef(mixed["group"], mixed["neighbourhood"])[0, 1]) < 0.02


def test_the_features_lie_on_very_different_scales(table):
    assert table["income"].median() > 10_000
    assert 21 <= table["age"].min() and table["age"].max() <= 65
    assert 0 < table["debt_ratio"].min() and table["debt_ratio"].max() < 1


def test_a_seed_fixes_the_table():
    assert credit_table(500, seed=1).equals(credit_table(500, seed=1))
    assert not credit_table(500, seed=1).equals(credit_table(500, seed=2))


def test_reweighing_follows_the_formula_and_balances_the_labels():
    group = np.array([0, 0, 0, 0, 0, 0, 1, 1, 1, 1])
    y = np.array([1, 1, 1, 1, 0, 0, 1, 0, 0, 0])
    weights = reweighing_weights(group, y)
    # n = 10; n_0 = 6, n_1 = 4; n_y=1 = 5, n_y=0 = 5; n_01 = 4, n_00 = 2, n_11 = 1, n_10 = 3.
    expected = {(0, 1): 6 * 5 / (10 * 4), (0, 0): 6 * 5 / (10 * 2)}
    expected |= {(1, 1): 4 * 5 / (10 * 1), (1, 0): 4 * 5 / (10 * 3)}
    np.testing.assert_allclose(weights, [expected[(g, label)] for g, label in zip(group, y)])
    assert weights.sum() == pytest.approx(len(y))
    for g in (0, 1):
        assert np.average(y[group == g], weights=weights[group == g]) == pytest.approx(y.mean())


def test_group_thresholds_approve_the_same_share_of_each_group():
    rng = np.random.default_rng(0)
    group = rng.integers(0, 2, 10_000)
    scores = rng.random(10_000) * (1 - 0.5 * group)  # group 1 scores lower
    thresholds = group_thresholds(scores, group, 0.3)
    approve = decide(scores, group, thresholds)
    for g in (0, 1):
        assert approve[group == g].mean() == pytest.approx(0.3, abs=1e-3)
    assert thresholds[1] < thresholds[0]


def test_calibration_by_group_bins_the_scores_and_averages_the_outcomes():
    scores = np.array([0.05, 0.15, 0.12, 0.95, 1.0, 0.15])
    group = np.array(["A", "A", "A", "A", "B", "B"])
    repaid = np.array([0, 1, 0, 1, 1, 1])
    table = calibration_by_group(scores, group, {"repaid": repaid}).set_index(["group", "bin"])
    assert table["count"].to_dict() == {
        ("A", 0): 1,
        ("A", 1): 2,
        ("A", 9): 1,
        ("B", 1): 1,
        ("B", 9): 1,
    }
    assert table.loc[("A", 1), "mean_score"] == pytest.approx(0.135)
    assert table.loc[("A", 1), "repaid"] == 0.5


def test_bad_arguments_are_rejected():
    with pytest.raises(ValueError, match="segregation"):
        credit_table(10, seed=0, segregation=1.5)
    with pytest.raises(ValueError, match="one length"):
        reweighing_weights([0, 1], [1])
    with pytest.raises(ValueError, match="rate"):
        group_thresholds([0.5], [0], 2.0)
