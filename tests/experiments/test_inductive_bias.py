"""The lesson of inductive_bias at quick size: directions, not exact numbers."""

import json

import numpy as np
import pytest

from experiments import inductive_bias as ib


@pytest.fixture(scope="module")
def quick(quick_run):
    return quick_run("inductive_bias")


def test_the_cnn_wins_on_ordered_signals_and_loses_on_permuted_ones(quick):
    tables, _ = quick
    accuracy = tables["accuracy"].set_index(["model", "signals"])["test_accuracy"]
    assert accuracy[(ib.CNN, ib.ORDERED)] > accuracy[(ib.MLP, ib.ORDERED)] + 0.05
    assert accuracy[(ib.CNN, ib.ORDERED)] > accuracy[(ib.CNN, ib.PERMUTED)] + 0.1
    # The MLP's task is the same either way: only its random start and batches differ.
    assert abs(accuracy[(ib.MLP, ib.ORDERED)] - accuracy[(ib.MLP, ib.PERMUTED)]) < 0.06


def test_the_permutation_is_fixed_and_the_check_holds(quick):
    tables, _ = quick
    assert sorted(ib.PERMUTATION) == list(range(ib.LENGTH))
    np.testing.assert_array_equal(ib.PERMUTATION, np.random.default_rng(0).permutation(40))
    assert (tables["permutation_check"]["largest_difference"] <= 1e-5).all()


def test_claims_are_computed_from_the_table(quick):
    tables, folder = quick
    stored = json.loads((folder / "claims.json").read_text())
    assert [claim.evaluate(tables) for claim in ib.CLAIMS] == stored
    claims = {claim.id: claim for claim in ib.CLAIMS}
    forged = {name: rows.copy() for name, rows in tables.items()}
    rows = forged["accuracy"]
    rows.loc[(rows["model"] == ib.CNN) & (rows["signals"] == ib.PERMUTED), "test_accuracy"] = 0.99
    assert claims["cnn_loses_its_prior"].evaluate(forged)["verdict"] == "FAIL"
    assert claims["prior_misleads"].evaluate(forged)["verdict"] == "FAIL"
    forged["permutation_check"]["largest_difference"] = 0.1
    assert claims["mlp_has_no_order"].evaluate(forged)["verdict"] == "FAIL"


def test_bad_settings_are_rejected():
    with pytest.raises(ValueError, match="epochs"):
        ib.Config(epochs=0)
    with pytest.raises(ValueError, match="mlp_units"):
        ib.Config(mlp_units=(100, 0))
