"""The lesson of distillation at quick size: directions, not exact numbers."""

import json

import numpy as np
import pytest

from experiments import distillation
from zoo.convolution import build_cnn1d
from zoo.distillation import build_logits_mlp
from zoo.training import Trainer


@pytest.fixture(scope="module")
def quick(quick_run):
    return quick_run("distillation")


def test_the_distilled_student_beats_the_hard_label_student_and_not_the_teacher(quick):
    tables, _ = quick
    runs = distillation.tested(tables)
    teacher, hard, distilled = (runs[model]["test_accuracy"] for model in distillation.MODELS)
    assert distilled.mean() > hard.mean()
    assert (teacher > distilled + 0.1).all()


def test_the_temperature_is_chosen_on_validation_and_the_test_set_read_only_for_it(quick):
    tables, _ = quick
    rows = tables["mnist1d"]
    for _, seed_rows in rows[rows["model"] == "distilled"].groupby("seed"):
        best = seed_rows.loc[seed_rows["val_accuracy"].idxmax()]
        assert best["tested"] and seed_rows["tested"].sum() == 1
        assert seed_rows.loc[~seed_rows["tested"].astype(bool), "test_accuracy"].isna().all()
    assert rows.loc[rows["model"] != "distilled", "tested"].all()


def test_the_withheld_class_is_never_predicted_on_labels_and_recovered_by_distillation(quick):
    tables, _ = quick
    rows = tables["withheld"].set_index("model")
    assert (rows.loc["hard", "recall"] == 0).all()
    assert (rows.loc["hard", "predicted_share"] == 0).all()
    assert rows.loc["distilled", "recall_corrected"].mean() >= 0.8
    assert (rows.loc["distilled", "recall_corrected"] >= rows.loc["distilled", "recall"]).all()
    # Once corrected, the distilled student is nearly as accurate as the teacher.
    gap = (
        rows.loc["teacher", "test_accuracy"].mean()
        - rows.loc["distilled", "test_accuracy_corrected"].mean()
    )
    assert gap < 0.05


def test_every_student_of_a_seed_starts_from_the_same_weights():
    config = distillation.Config()
    teacher = build_cnn1d()

    def build_student():
        return build_logits_mlp((40,), 10, config.student_units)

    build = distillation.distiller(build_student, lambda: teacher, 4.0, 0.1)
    trainer = Trainer()
    hard = trainer.fresh(build_student, seed=3).get_weights()
    distilled = trainer.fresh(build, seed=3).student.get_weights()
    for a, b in zip(hard, distilled, strict=True):
        np.testing.assert_array_equal(a, b)
    other = trainer.fresh(build_student, seed=4).get_weights()
    assert not np.array_equal(hard[0], other[0])


def test_claims_are_computed_from_the_table(quick):
    tables, folder = quick
    stored = json.loads((folder / "claims.json").read_text())
    assert [claim.evaluate(tables) for claim in distillation.CLAIMS] == stored
    claims = {claim.id: claim for claim in distillation.CLAIMS}

    forged = {name: rows.copy() for name, rows in tables.items()}
    rows = forged["mnist1d"]
    hard = rows.loc[rows["model"] == "hard", "test_accuracy"].to_numpy()
    rows.loc[(rows["model"] == "distilled") & rows["tested"], "test_accuracy"] = hard
    assert claims["distillation_helps"].evaluate(forged)["verdict"] == "FAIL"

    forged = {name: rows.copy() for name, rows in tables.items()}
    rows = forged["withheld"]
    rows.loc[rows["model"] == "distilled", "recall_corrected"] = 0.5
    assert claims["dark_knowledge"].evaluate(forged)["verdict"] == "FAIL"

    forged = {name: rows.copy() for name, rows in tables.items()}
    check = forged["loss_check"]
    check["distiller_soft_swapped"] = check["reference_soft_clipped"]  # a swap would go unseen
    assert claims["loss_matches_reference"].evaluate(forged)["verdict"] == "FAIL"
    check = forged["loss_check"] = tables["loss_check"].copy()
    check["distiller_soft"] = check["keras_default_soft"]  # Keras's default loss string
    assert claims["loss_matches_reference"].evaluate(forged)["verdict"] == "FAIL"


def test_bad_settings_are_rejected():
    with pytest.raises(ValueError, match="temperatures"):
        distillation.Config(temperatures=(4.0, 0.0))
    with pytest.raises(ValueError, match="temperatures"):
        distillation.Config(temperatures=(4.0, 4.0))
    with pytest.raises(ValueError, match="student_loss_weight"):
        distillation.Config(student_loss_weight=1.5)
    with pytest.raises(ValueError, match="withheld_class"):
        distillation.Config(withheld_class=10)
    with pytest.raises(ValueError, match="validation_fraction"):
        distillation.Config(validation_fraction=1.0)
