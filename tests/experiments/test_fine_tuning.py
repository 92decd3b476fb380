"""The lesson of fine_tuning: its world exactly, and the directions at quick size."""

import json
from types import SimpleNamespace

import numpy as np
import pytest

from experiments import fine_tuning as ft


def test_the_world_has_disjoint_splits_and_no_hard_problem_among_the_human_labels():
    corpus, labeled, prompts, validation, test = ft.splits(0)
    sizes = [len(split[0]) for split in (labeled, prompts, validation, test)]
    assert sizes == [ft.HUMAN, ft.PROMPTS, ft.VALIDATION, ft.TEST]
    problems = [set(zip(*split)) for split in (corpus, labeled, prompts, validation, test)]
    assert sum(map(len, problems)) == len(set().union(*problems)) == 10_000
    assert not ft.hard(*labeled).any()
    assert 0.08 < ft.hard(*test).mean() < 0.12  # one problem in ten is hard


def test_the_web_corpus_drops_the_carry_at_each_groups_rate():
    config = ft.Config()
    corpus, *_ = ft.splits(0)
    a, b = corpus
    answers = ft.web_answers(a, b, config, seed=0)
    wrong = answers != ft.TASK.answers(a, b)
    rates = ft.error_rates(a, b, config)
    for rate in (config.hard_error, config.carry_error):
        assert wrong[rates == rate].mean() == pytest.approx(rate, abs=1e-3)
    assert not wrong[rates == 0].any()
    np.testing.assert_array_equal(answers[wrong], ft.dropped_carry_answers(ft.TASK, a, b)[wrong])
    np.testing.assert_array_equal(ft.web_answers(a, b, config, seed=0), answers)
    assert not np.array_equal(ft.web_answers(a, b, config, seed=1), answers)


def test_the_entropy_floor_is_the_mean_binary_entropy_per_answer_token():
    a, b = np.array([96, 11, 99, 15]), np.array([99, 22, 6, 5])  # hard, none, hard, carry
    config = ft.Config(hard_error=0.5, carry_error=0.1)
    coins = [np.log(2), 0, np.log(2), -(0.1 * np.log(0.1) + 0.9 * np.log(0.9))]
    assert ft.entropy_floor(a, b, config) == pytest.approx(np.mean(coins) / 3)
    certain = SimpleNamespace(hard_error=1.0, carry_error=0.0)  # a corpus without doubt
    assert ft.entropy_floor(a, b, certain) == 0


@pytest.fixture(scope="module")
def quick(quick_run):
    return quick_run("fine_tuning")


def test_sft_aligns_the_teacher_but_leaves_its_mistake_on_the_hard_problems(quick):
    tables, _ = quick
    start = tables["pretrained"].iloc[0]
    assert start["corpus_wrong"] == pytest.approx(0.25, abs=0.01)
    teacher = tables["models"].set_index("model").loc[ft.TEACHER]
    assert teacher["sampled"] > start["sampled"] + 0.1
    assert teacher["greedy_hard"] < teacher["greedy_other"] - 0.2  # its systematic flaw
    assert teacher["corpus_loss"] > start["corpus_loss"]  # it no longer writes like the web


def test_the_distilled_student_inherits_the_flaw_and_its_teacher_does_not_see_it(quick):
    tables, _ = quick
    models = tables["models"].set_index("model")
    assert models.loc[ft.HUMAN_STUDENT, "greedy"] > models.loc[ft.DSFT, "greedy"]
    assert models.loc[ft.HUMAN_STUDENT, "greedy_hard"] > models.loc[ft.DSFT, "greedy_hard"]
    judge = tables["judge"].iloc[0]
    assert judge["differ"] > 0 and judge["teacher_labels"] > 0.9 * ft.PROMPTS
    assert judge["judge_win_rate"] > judge["truth_win_rate"]


def test_claims_are_computed_from_the_table(quick):
    tables, folder = quick
    stored = json.loads((folder / "claims.json").read_text())
    assert [claim.evaluate(tables) for claim in ft.CLAIMS] == stored
    claims = {claim.id: claim for claim in ft.CLAIMS}
    forged = {name: rows.copy() for name, rows in tables.items()}
    forged["judge"]["judge_win_rate"] = forged["judge"]["truth_win_rate"]
    assert claims["judge_bias"].evaluate(forged)["verdict"] == "FAIL"
    models = forged["models"]
    models.loc[models["model"] == ft.TEACHER, "sampled"] = 0.0
    assert claims["sft_aligns"].evaluate(forged)["verdict"] == "FAIL"


def test_bad_settings_are_rejected():
    with pytest.raises(ValueError, match="hard_error"):
        ft.Config(hard_error=1.5)
    with pytest.raises(ValueError, match="multiple of sft_steps"):
        ft.Config(pretrain_steps=500, sft_steps=200)
