"""The lessons of the perceptron experiment at quick size."""

import json

import pytest

from experiments import perceptron


@pytest.fixture(scope="module")
def quick(quick_run):
    return quick_run("perceptron")


def _rows(table, task, model):
    return table[(table["task"] == task) & (table["model"] == model)]


def test_the_rule_learns_and_and_or_but_not_xor(quick):
    table, _ = quick
    for task in ("and", "or"):
        assert _rows(table, task, "perceptron rule")["converged"].astype(bool).all()
    assert not _rows(table, "xor", "perceptron rule")["converged"].astype(bool).any()


def test_xor_needs_a_hidden_layer_with_a_nonlinearity(quick):
    table, _ = quick
    assert _rows(table, "xor", "neuron")["accuracy"].max() <= 0.75
    assert _rows(table, "xor", "linear-3")["accuracy"].max() <= 0.75
    assert (_rows(table, "xor", "hidden-8")["accuracy"] == 1).all()
    assert (_rows(table, "and", "neuron")["accuracy"] == 1).all()


def test_forward_propagation_by_hand_matches_every_model(quick):
    table, _ = quick
    assert table["forward_error"].dropna().max() <= 1e-6


def test_claims_are_computed_from_the_table(quick):
    table, folder = quick
    stored = json.loads((folder / "claims.json").read_text())
    assert [claim.evaluate(table) for claim in perceptron.CLAIMS] == stored
    forged = table.copy()
    forged.loc[(forged["task"] == "xor") & (forged["model"] == "neuron"), "accuracy"] = 1.0
    assert perceptron.CLAIMS[1].evaluate(forged)["verdict"] == "FAIL"


def test_bad_settings_are_rejected():
    with pytest.raises(ValueError, match="tasks"):
        perceptron.Config(tasks=("nand",))
    with pytest.raises(ValueError, match="widths"):
        perceptron.Config(widths=(0,))
