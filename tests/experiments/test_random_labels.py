"""The lesson of random_labels at quick size: directions, not exact numbers."""

import json

import numpy as np
import pandas as pd

from experiments import random_labels
from experiments.random_labels import Config, trainings


def test_the_sweep_reuses_true_and_random_labels_as_its_end_points():
    runs = trainings(Config())
    assert runs[:2] == [("true_labels", 0.0), ("random_labels", 1.0)]
    assert [p for c, p in runs if c == "corrupted_labels"] == [0.2, 0.4, 0.6, 0.8]
    assert len(runs) == len(set(runs)) == 9


def test_random_labels_are_memorized_while_true_labels_generalize(quick_results):
    table = pd.read_csv(quick_results / "random_labels" / "metrics.csv")
    last = (
        random_labels.final(table).groupby("condition")[["train_accuracy", "test_accuracy"]].mean()
    )
    assert last.loc["random_labels", "train_accuracy"] >= 0.95
    assert last.loc["random_labels", "test_accuracy"] < 0.2  # chance is 0.1
    assert last.loc["true_labels", "test_accuracy"] > 0.85
    for noise in ("random_pixels", "gaussian"):
        assert last.loc[noise, "train_accuracy"] >= 0.95 and last.loc[noise, "test_accuracy"] < 0.2

    fit = random_labels.epochs_to_fit(table).groupby("condition")["epoch"].mean()
    assert fit["random_labels"] > 1.5 * fit["true_labels"]


def test_clean_examples_are_fit_before_noisy_ones(quick_results):
    table = pd.read_csv(quick_results / "random_labels" / "metrics.csv")
    at_fit = random_labels.clean_fit_epochs(table)
    assert (at_fit["clean_accuracy"] >= random_labels.CLEAN_FIT).all()
    assert (at_fit["clean_accuracy"] - at_fit["noisy_accuracy"]).mean() > 0.3
    # It is the first such epoch: the epoch before, the clean examples were not yet fit.
    runs = table[np.isclose(table["corruption"], random_labels.LESSON_CORRUPTION)]
    runs = runs[runs["condition"] == "corrupted_labels"].set_index(["seed", "epoch"])
    for seed, row in at_fit.iterrows():
        if row["epoch"] > 1:
            assert runs.loc[(seed, row["epoch"] - 1), "clean_accuracy"] < random_labels.CLEAN_FIT


def test_claims_are_computed_from_the_table(quick_results):
    table = pd.read_csv(quick_results / "random_labels" / "metrics.csv")
    stored = json.loads((quick_results / "random_labels" / "claims.json").read_text())
    recomputed = [claim.evaluate(table) for claim in random_labels.CLAIMS]
    assert recomputed == stored
    # A table where random labels were not memorized fails the first claim.
    forged = table.copy()
    forged.loc[forged["condition"] == "random_labels", "train_accuracy"] = 0.5
    assert random_labels.CLAIMS[0].evaluate(forged)["verdict"] == "FAIL"
    assert np.isfinite(stored[0]["measured"]["train_accuracy"]["mean"])
