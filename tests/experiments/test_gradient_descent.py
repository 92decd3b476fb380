"""The lessons of the gradient_descent experiment at quick size."""

import json

import numpy as np
import pandas as pd
import pytest

from experiments import gradient_descent


@pytest.fixture(scope="module")
def quick(quick_run):
    return quick_run("gradient_descent")


def test_gradient_noise_falls_with_the_batch(quick):
    tables, _ = quick
    noise = tables["noise"]
    for _, rows in noise.groupby(["seed", "point"]):
        variance = rows.set_index("batch_size")["variance"].sort_index()
        assert variance.is_monotonic_decreasing
        assert variance.iloc[0] / variance.iloc[-1] > 0.5 * variance.index[-1] / variance.index[0]
    assert gradient_descent.CLAIMS[0].evaluate(tables)["verdict"] == "pass"


def test_an_epoch_is_one_update_for_full_batch_and_n_for_batch_size_1(quick):
    tables, _ = quick
    train = tables["train"]
    per_epoch = train.groupby("batch_size")["updates_per_epoch"].first()
    assert per_epoch[1] == per_epoch.index.max() and per_epoch[per_epoch.index.max()] == 1
    assert np.allclose(train["epoch"], train["update"] / train["updates_per_epoch"])


def test_small_batches_make_more_progress_per_epoch(quick):
    # Per second is a matter of timing, and tests assert no timings: the committed
    # default run (results/gradient_descent) checks it.
    tables, _ = quick
    per_epoch, _, _, _ = gradient_descent.per_epoch_and_second(tables)
    full = per_epoch.columns.max()
    assert (per_epoch.drop(columns=full).lt(per_epoch[full], axis=0)).all().all()


def test_full_batch_tolerates_a_larger_rate_than_batch_size_1(quick):
    tables, _ = quick
    stable = gradient_descent.largest_stable_rate(tables).unstack("batch_size")
    assert (stable[stable.columns.max()] > stable[1]).all()


def test_a_run_that_blew_up_or_collapsed_is_unstable():
    rows = [
        dict(
            seed=0,
            batch_size=1,
            learning_rate=rate,
            epoch=epoch,
            train_loss=loss,
            classes_predicted=classes,
        )
        for rate, losses, classes in (
            (0.1, [2.3, 1.0], 10),
            (1.0, [2.3, 2.29], 1),
            (10.0, [2.3, np.nan], 1),
        )
        for epoch, loss in enumerate(losses)
    ]
    tables = {"train": pd.DataFrame(rows)}
    assert gradient_descent.run_summary(tables)["stable"].tolist() == [True, False, False]
    assert gradient_descent.largest_stable_rate(tables).tolist() == [0.1]


def test_claims_are_computed_from_the_table(quick):
    tables, folder = quick
    stored = json.loads((folder / "claims.json").read_text())
    assert [claim.evaluate(tables) for claim in gradient_descent.CLAIMS] == stored
    forged = {name: rows.copy() for name, rows in tables.items()}
    forged["noise"]["variance"] = 1.0
    assert gradient_descent.CLAIMS[0].evaluate(forged)["verdict"] == "FAIL"


def test_bad_settings_are_rejected():
    with pytest.raises(ValueError, match="batch_sizes"):
        gradient_descent.Config(batch_sizes=(1, 5000))
    with pytest.raises(ValueError, match="epochs"):
        gradient_descent.Config(epochs=(1, 2))
    with pytest.raises(ValueError, match="dataset"):
        gradient_descent.Config(dataset="imagenet")
    with pytest.raises(
        ValueError, match="1437"
    ):  # digits has fewer training examples than asked for
        gradient_descent.Config(dataset="digits", train_size=4000)
