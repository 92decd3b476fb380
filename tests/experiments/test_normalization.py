"""The lessons of the normalization experiment at quick size."""

import json

import pytest

from experiments import normalization


@pytest.fixture(scope="module")
def quick(quick_run):
    return quick_run("normalization")


def _final(tables):
    epochs = tables["epoch"]
    return epochs[epochs["epoch"] == epochs["epoch"].max()].groupby("variant")["val_loss"].max()


def test_raw_features_stall_and_every_normalization_trains(quick):
    tables, _ = quick
    final = _final(tables)
    assert final["plain, raw"] > 1
    for variant in (
        "plain, standardized",
        "input Normalization",
        "BatchNormalization",
        "LayerNormalization",
    ):
        assert final[variant] < 0.7


def test_standardizing_by_hand_and_by_a_normalization_layer_agree(quick):
    tables, _ = quick
    final = _final(tables)
    assert final["input Normalization"] == pytest.approx(final["plain, standardized"], abs=1e-3)


def test_gradient_descent_steps_follow_the_condition_number(quick):
    tables, _ = quick
    assert normalization.CLAIMS[0].evaluate(tables)["verdict"] == "pass"
    gd = tables["gd"].set_index(["seed", "setting"])["steps"]
    assert (
        gd.xs("loans, raw", level="setting") > 10 * gd.xs("loans, standardized", level="setting")
    ).all()


def test_layer_normalization_gives_each_example_mean_0_and_std_1(quick):
    tables, _ = quick
    assert normalization.CLAIMS[2].evaluate(tables)["verdict"] == "pass"


def test_claims_are_computed_from_the_table(quick):
    tables, folder = quick
    stored = json.loads((folder / "claims.json").read_text())
    assert [claim.evaluate(tables) for claim in normalization.CLAIMS] == stored
    forged = {name: rows.copy() for name, rows in tables.items()}
    forged["layer_norm"]["std_deviation"] = 0.1
    assert normalization.CLAIMS[2].evaluate(forged)["verdict"] == "FAIL"
