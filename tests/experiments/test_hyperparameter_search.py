"""The lessons of the hyperparameter_search experiment at quick size."""

import json

import numpy as np
import pandas as pd
import pytest

from experiments import hyperparameter_search as search


@pytest.fixture(scope="module")
def quick(quick_run):
    return quick_run("hyperparameter_search")


def test_the_search_reaches_the_grid_in_fewer_runs(quick):
    tables, _ = quick
    config = search.Config(**search.QUICK)
    chosen = search.choices(tables).pivot(index="seed", columns="search")
    assert (chosen["runs"]["KerasTuner"] == config.tuner_trials).all()
    assert (chosen["runs"]["grid"] == len(config.widths) * len(config.learning_rates)).all()
    assert (chosen["score"]["KerasTuner"] <= 1.1 * chosen["score"]["grid"]).all()
    # The search stays inside the grid's space.
    trials = tables["trials"]
    assert trials["hidden_units"].isin(config.widths).all()
    assert (
        trials["learning_rate"]
        .between(min(config.learning_rates), max(config.learning_rates))
        .all()
    )


def test_the_pick_is_the_searched_trial_with_the_lowest_validation_loss(quick):
    tables, _ = quick
    trials = search.runs(tables, "trials")
    picks = tables["pick"].set_index(["seed", "trial"]).index
    assert list(picks) == list(trials["score"].groupby("seed").idxmin())


def test_the_learning_rate_explains_most_of_the_grid(quick):
    tables, _ = quick
    shares = search.importance(tables)
    np.testing.assert_allclose(shares.sum(axis=1), 1.0)
    assert (shares["learning rate"] > 0.5).all()
    assert (shares["learning rate"] > 5 * shares["width"]).all()


def _grid(score):
    """A two-epoch grid table whose validation loss at epoch 1 is `score(width, rate)`."""
    return pd.DataFrame(
        [
            dict(
                seed=0,
                hidden_units=width,
                learning_rate=rate,
                epoch=epoch,
                train_loss=2.0,
                val_loss=2.3 if epoch == 0 else score(width, rate),
                test_loss=9.0 + epoch,
                test_accuracy=0.1 * epoch,
            )
            for width in (32, 64)
            for rate in (0.01, 0.1, 1.0)
            for epoch in (0, 1)
        ]
    )


def test_importance_is_a_two_way_anova_of_the_grid():
    only_width = search.importance({"grid": _grid(lambda width, rate: width / 64)})
    assert only_width.loc[0, "width"] == pytest.approx(1.0)
    assert only_width.loc[0, "learning rate"] == pytest.approx(0.0, abs=1e-12)
    additive = search.importance({"grid": _grid(lambda width, rate: np.exp(width + rate) / 1e30)})
    assert additive.loc[0, "interaction"] == pytest.approx(0.0, abs=1e-9)


def test_a_run_is_read_at_its_lowest_validation_loss_epoch():
    # Epoch 1 is better than the start for every run but one, whose loss rose (NaN included).
    grid = _grid(lambda width, rate: np.nan if rate == 1.0 else 1.0)
    chosen = search.runs({"grid": grid}, "grid")
    assert (chosen.xs(1.0, level="learning_rate")["best_epoch"] == 0).all()
    assert (chosen.xs(0.1, level="learning_rate")["best_epoch"] == 1).all()
    assert (chosen.xs(0.1, level="learning_rate")["test_loss"] == 10.0).all()


def test_claims_are_computed_from_the_table(quick):
    tables, folder = quick
    stored = json.loads((folder / "claims.json").read_text())
    assert [claim.evaluate(tables) for claim in search.CLAIMS] == stored
    forged = {name: rows.copy() for name, rows in tables.items()}
    forged["trials"]["val_loss"] *= 1.2  # every trial 20% worse
    assert search.CLAIMS[0].evaluate(forged)["verdict"] == "FAIL"


def test_bad_settings_are_rejected():
    with pytest.raises(ValueError, match="widths"):
        search.Config(widths=(64,))
    with pytest.raises(ValueError, match="learning_rates"):
        search.Config(learning_rates=(0.1, 1.0))
    with pytest.raises(ValueError, match="tuner_trials"):
        search.Config(tuner_trials=0)
