"""The lessons of dropout_vs_early_stopping at quick size: directions, not exact numbers."""

import dataclasses
import json

import numpy as np
import pytest

from experiments import dropout_vs_early_stopping as experiment
from zoo import datasets
from zoo.training import Trainer


@pytest.fixture(scope="module")
def quick(quick_run):
    table, folder = quick_run("dropout_vs_early_stopping")
    return table, json.loads((folder / "claims.json").read_text())


def test_conditions_cover_the_issue_and_quick_keeps_the_lessons():
    clean, noisy = experiment.conditions(experiment.Config())
    assert [c.name for c in clean] == [
        "none",
        "dropout_0.5",
        "early_stop_val_loss",
        "early_stop_val_accuracy",
        "prechelt_gl",
    ]
    more = dataclasses.replace(
        experiment.Config(), dropout_rates=(0.2, 0.5), dropout_with_early_stopping=True
    )
    assert [c.name for c in experiment.conditions(more)[0]][-1] == "dropout_0.5+early_stop"
    assert [c.name for c in noisy] == ["none", "early_stop_val_loss", "dropout_0.5"]
    quick_clean, _ = experiment.conditions(
        dataclasses.replace(experiment.Config(), **experiment.QUICK)
    )
    assert [c.name for c in quick_clean] == [
        "none",
        "early_stop_val_loss",
        "early_stop_val_accuracy",
    ]


def test_unregularized_net_overfits_and_early_stopping_stops_near_its_best(quick):
    table, _ = quick
    kept = experiment.kept(table)
    none = experiment.runs_of(kept, "none")
    assert (none["train_accuracy"] - none["test_accuracy"]).mean() > 0.2
    stopped = experiment.runs_of(kept, "early_stop_val_loss")
    assert (stopped["epochs_trained"] < none["epochs_trained"]).all()
    curves = table[(table["condition"] == "none") & (table["label_noise"] == 0)]
    best = curves.groupby("seed")["test_accuracy"].max()
    assert (best - stopped["test_accuracy"]).mean() < 0.05
    # The kept epoch is the one with the lowest validation loss.
    run = table[(table["condition"] == "early_stop_val_loss") & (table["label_noise"] == 0)]
    for _, rows in run.groupby("seed"):
        assert rows.loc[rows["val_loss"].idxmin(), "epoch"] == rows["kept_epoch"].iloc[0]


def test_noise_is_memorized_late_and_dropout_slows_it(quick):
    table, _ = quick
    kept = experiment.kept(table)
    none = experiment.runs_of(kept, "none", 0.4)
    dropout = experiment.runs_of(kept, "dropout_0.5", 0.4)
    stopped = experiment.runs_of(kept, "early_stop_val_loss", 0.4)
    assert (none["noisy_accuracy"] > 0.5).all()  # the unregularized net memorizes the noise
    # Over seeds, as the claim: dropout and a stopped run fit under half as many wrong labels.
    assert dropout["noisy_accuracy"].mean() < none["noisy_accuracy"].mean() / 2
    assert stopped["noisy_accuracy"].mean() < none["noisy_accuracy"].mean() / 2
    # Before it memorizes the noise, it fits the clean labels far better.
    curves = experiment.rows_of(table, "none", 0.4)
    gap = (curves["clean_accuracy"] - curves["noisy_accuracy"]).groupby(curves["seed"]).max()
    assert gap.mean() > 0.2


def test_claims_are_recorded_and_computed_from_the_table(quick):
    table, claims = quick
    assert [c["id"] for c in claims] == [c.id for c in experiment.CLAIMS]
    assert claims[1]["measured"].startswith("not measured")  # quick trains no clean dropout run
    assert [claim.evaluate(table) for claim in experiment.CLAIMS] == claims


def test_gl_replayed_stops_later_for_larger_alpha_and_restores_the_best_epoch(quick):
    table, _ = quick
    replay = experiment.gl_replay(table)
    for seed, rows in replay.groupby("seed"):
        assert (np.diff(rows.sort_values("alpha")["epochs"]) >= 0).all()  # GL_a > a' implies > a
        curve = experiment.rows_of(table, "none").set_index(["seed", "epoch"])
        for _, row in rows.iterrows():
            seen = curve.loc[seed].loc[: row["epochs"]]
            assert row["kept_epoch"] == seen["val_loss"].idxmin()
            assert row["test_accuracy"] == seen.loc[row["kept_epoch"], "test_accuracy"]


def test_without_noisy_labels_the_label_noise_claims_are_not_measured(quick):
    table, _ = quick
    clean = table[table["label_noise"] == 0]
    for claim in experiment.CLAIMS:
        if claim.id in ("noise_peaks_early", "dropout_resists_noise"):
            assert claim.evaluate(clean)["verdict"] == "not measured"
    experiment.plot_label_noise(clean)  # says so instead of plotting the clean runs


def test_restored_weights_give_the_logged_test_accuracy_of_the_kept_epoch():
    config = dataclasses.replace(experiment.Config(), **experiment.QUICK)
    (x, y), (x_test, y_test) = datasets.load("digits", seed=0, train_size=400)
    splits = ((x[:300], y[:300]), (x[300:], y[300:]), (x_test, y_test))
    condition = experiment.Condition("early_stop_val_loss", stopping="val_loss")
    model, records = experiment.train(
        Trainer(), config, condition, splits, np.ones(300, bool), 10, seed=0
    )
    kept = records[records[0]["kept_epoch"] - 1]
    accuracy = np.mean(np.argmax(model.predict(x_test, verbose=0), axis=1) == y_test)
    assert accuracy == pytest.approx(kept["test_accuracy"])
