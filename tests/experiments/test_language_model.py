"""The lesson of language_model at quick size: directions, not exact numbers."""

import json

import pytest

from experiments import language_model


@pytest.fixture(scope="module")
def quick(quick_run):
    return quick_run("language_model")


def test_the_model_learns_held_out_addition(quick):
    tables, _ = quick
    final = tables["final"].groupby("order")["test_exact_match"].mean()
    assert final["reversed"] > 0.5 and final["forward"] > 0.1
    curve = tables["curve"].groupby(["seed", "order"])["exact_match"]
    assert (curve.last() > curve.first()).all()


def test_the_checks_hold_and_examples_are_shown(quick):
    tables, folder = quick
    assert (tables["final"]["causality_max_change"] == 0).all()
    assert (tables["final"]["greedy_mismatches"] == 0).all()
    examples = tables["examples"]
    assert set(examples["order"]) == {"reversed", "forward"}
    assert all(text[: len("00+00=")].endswith("=") for text in examples["text"])
    assert "### Generated examples" in (folder / "table.md").read_text()


def test_written_digits_are_never_more_right_than_teacher_forced_ones_while_learning(quick):
    tables, _ = quick
    rows = language_model.learning(tables)
    assert len(rows) > 0
    gap = language_model.later_digits(rows, "forced") - language_model.later_digits(rows, "written")
    assert gap.mean() > 0


def test_claims_are_computed_from_the_table(quick):
    tables, folder = quick
    stored = json.loads((folder / "claims.json").read_text())
    assert [claim.evaluate(tables) for claim in language_model.CLAIMS] == stored
    forged = {name: rows.copy() for name, rows in tables.items()}
    forged["final"]["causality_max_change"] = 1e-7
    claims = {claim.id: claim for claim in language_model.CLAIMS}
    assert claims["causal"].evaluate(forged)["verdict"] == "FAIL"
    curve = forged["curve"]
    curve.loc[curve["order"] == "reversed", "exact_match"] = 0.0  # never learned
    assert claims["order_matters"].evaluate(forged)["verdict"] == "FAIL"


def test_bad_settings_are_rejected():
    with pytest.raises(ValueError, match="orders"):
        language_model.Config(orders=("sideways",))
    with pytest.raises(ValueError, match="num_heads"):
        language_model.Config(d_model=30)
    with pytest.raises(ValueError, match="multiple"):
        language_model.Config(max_steps=110, eval_every=25)
    with pytest.raises(ValueError, match="half"):
        language_model.Config(test_problems=4000, validation_problems=1500)
