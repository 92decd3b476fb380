"""The lessons of the loss_functions experiment at quick size."""

import json

import numpy as np
import pytest

from experiments import loss_functions
from zoo import datasets


@pytest.fixture(scope="module")
def quick(quick_run):
    return quick_run("loss_functions")


def test_a_confidently_wrong_start_starves_squared_error_of_gradient(quick):
    tables, _ = quick
    norms = tables["start"].set_index(["seed", "start", "loss"])["gradient_norm"].unstack("loss")
    wrong, keras_start = norms.xs("wrong", level="start"), norms.xs("keras", level="start")
    assert (wrong["cross_entropy"] > 100 * wrong["mse"]).all()
    # From Keras's small initial weights both losses get a gradient of the same order.
    assert (keras_start["cross_entropy"] < 100 * keras_start["mse"]).all()
    saturation = tables["saturation"].set_index(["margin", "loss"])["gradient_norm"]
    assert saturation[10.0, "cross_entropy"] > 100 * saturation[10.0, "mse"]


def test_the_wrong_start_says_class_0_for_every_input():
    (x, _), _ = datasets.load("digits")
    model = loss_functions.confidently_wrong(
        loss_functions.build_mlp(x.shape[1:], 10, (64,), "tanh")
    )
    probabilities = np.asarray(model.predict_on_batch(x))
    assert (probabilities[:, 0] > 0.99).all()


def test_each_loss_is_compared_at_its_own_best_rate(quick):
    tables, _ = quick
    reached = loss_functions.epochs_to_target(tables)
    best = loss_functions.best_runs(tables)
    for (seed, start, loss), row in best.iterrows():
        runs = reached.loc[seed, start, loss]
        if runs.isna().all():
            assert np.isnan(row["epochs"])
        else:
            assert row["epochs"] == runs.min()
            assert row["learning_rate"] == runs.idxmin()
    # Every run stops when it reaches the target, so no run records an epoch after it.
    epochs = tables["epoch"]
    after = epochs.merge(reached.rename("hit").reset_index())
    assert not (after["epoch"] > after["hit"]).any()


def test_the_trained_weights_sit_at_the_bottom_of_the_slice(quick):
    tables, _ = quick
    for _, curve in tables["slice"].groupby("seed"):
        at_zero = curve.loc[curve["alpha"].abs().idxmin(), "train_loss"]
        assert at_zero < curve["train_loss"].iloc[0] and at_zero < curve["train_loss"].iloc[-1]


def test_claims_are_computed_from_the_table(quick):
    tables, folder = quick
    stored = json.loads((folder / "claims.json").read_text())
    assert [claim.evaluate(tables) for claim in loss_functions.CLAIMS] == stored
    forged = {name: rows.copy() for name, rows in tables.items()}
    forged["start"]["gradient_norm"] = 1.0  # the same gradient under both losses
    assert loss_functions.CLAIMS[1].evaluate(forged)["verdict"] == "FAIL"
