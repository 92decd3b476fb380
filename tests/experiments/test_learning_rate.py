"""The lessons of the learning_rate experiment at quick size."""

import json

import numpy as np
import pandas as pd
import pytest

from experiments import learning_rate


@pytest.fixture(scope="module")
def quick(quick_run):
    return quick_run("learning_rate")


def test_sgd_crawls_at_small_rates_and_diverges_at_large_ones(quick):
    tables, _ = quick
    summary = learning_rate.sweep_summary(tables).xs("SGD", level="optimizer")
    rates = summary.index.unique("learning_rate")
    assert summary.xs(rates.max(), level="learning_rate")["unstable"].all()
    assert not summary.xs(rates.min(), level="learning_rate")["unstable"].any()
    best = summary["final"].groupby("seed").min()
    assert (summary.xs(rates.min(), level="learning_rate")["final"] > best + 0.5).all()


def test_adam_is_best_at_a_much_smaller_rate_than_sgd(quick):
    tables, _ = quick
    best = learning_rate.best_rates(tables, "final").unstack("optimizer")
    assert (best["SGD"] / best["Adam"] > 5).all()


def test_range_test_lands_near_the_sweep(quick):
    tables, _ = quick
    assert learning_rate.CLAIMS[1].evaluate(tables)["verdict"] == "pass"
    best = learning_rate.best_rates(tables, "best_val")
    suggestions = tables["suggestion"].set_index(["seed", "optimizer"])["learning_rate"]
    assert (np.abs(np.log10(suggestions / best.reindex(suggestions.index))) <= 1.5).all()


def test_near_best_width_interpolates_between_grid_rates():
    rates, losses = [0.01, 0.1, 1.0, 10.0], [2.0, 1.0, 1.1, np.nan]
    sweep = pd.DataFrame(
        [
            dict(
                seed=0,
                optimizer="SGD",
                learning_rate=rate,
                epoch=epoch,
                train_loss=loss,
                val_loss=loss,
                classes_predicted=10,
            )
            for rate, final in zip(rates, losses)
            for epoch, loss in ((0, 2.3), (1, final))
        ]
    )
    # Within 5% of 1.0 up to 1.05: a twentieth of the way to 2.0, half of the way to 1.1.
    assert learning_rate.near_best_width({"sweep": sweep}).iloc[0] == pytest.approx(0.05 + 0.5)


def test_claims_are_computed_from_the_table(quick):
    tables, folder = quick
    stored = json.loads((folder / "claims.json").read_text())
    assert [claim.evaluate(tables) for claim in learning_rate.CLAIMS] == stored
    forged = {name: rows.copy() for name, rows in tables.items()}
    forged["suggestion"]["learning_rate"] = 1e-5
    assert learning_rate.CLAIMS[1].evaluate(forged)["verdict"] == "FAIL"


def test_bad_settings_are_rejected():
    with pytest.raises(ValueError, match="optimizers"):
        learning_rate.Config(optimizers=("Adam",))
    with pytest.raises(ValueError, match="learning_rates"):
        learning_rate.Config(learning_rates=(0.1, -1.0, 1.0))
    with pytest.raises(ValueError, match="train_size"):
        learning_rate.Config(train_size=5)
