"""The lesson of dpo at quick size: directions, not exact numbers."""

import json

import numpy as np
import pytest

from experiments import dpo


@pytest.fixture(scope="module")
def quick(quick_run):
    return quick_run("dpo")


def test_the_bandit_reaches_its_optimum_and_trades_reward_for_drift(quick):
    tables, _ = quick
    bandit = tables["bandit"].sort_values("beta", ascending=False)
    assert (bandit["kl_to_optimum"] < 1e-3).all()
    assert np.all(np.diff(bandit["reward"]) > 0) and np.all(np.diff(bandit["kl_to_reference"]) > 0)
    np.testing.assert_allclose(bandit["reward"], bandit["optimum_reward"], atol=1e-3)


def test_the_pretrained_model_samples_the_corpus_errors_it_learned(quick):
    tables, _ = quick
    start = tables["models"].set_index("model").loc[dpo.START]
    assert start["corpus_wrong"] == pytest.approx(dpo.Config().corpus_error, abs=0.01)
    assert start["sampled"] < start["greedy"]  # sampling writes the corpus's mistakes too
    assert start["kl"] == 0


def test_dpo_prefers_the_chosen_answers_and_drifts_from_the_reference(quick):
    tables, _ = quick
    rows = dpo.dpo_rows(tables)
    assert (rows["reward_accuracy"] > 0.6).all()
    assert (rows["kl"] > 0).all() and (rows["pairs"] > 50).all()
    models = tables["models"].set_index("model")
    assert models.loc[dpo.SFT, "sampled"] > models.loc[dpo.START, "sampled"]


def test_claims_are_computed_from_the_table(quick):
    tables, folder = quick
    stored = json.loads((folder / "claims.json").read_text())
    assert [claim.evaluate(tables) for claim in dpo.CLAIMS] == stored
    claims = {claim.id: claim for claim in dpo.CLAIMS}
    forged = {name: rows.copy() for name, rows in tables.items()}
    forged["bandit"]["kl_to_optimum"] = 0.01
    assert claims["bandit_optimum"].evaluate(forged)["verdict"] == "FAIL"
    models = forged["models"]
    models.loc[models["model"].str.startswith("DPO"), "sampled"] = 0.0
    assert claims["dpo_aligns"].evaluate(forged)["verdict"] == "FAIL"


def test_bad_settings_are_rejected():
    with pytest.raises(ValueError, match="betas"):
        dpo.Config(betas=(0.0, 1.0))
    with pytest.raises(ValueError, match="preference_prompts"):
        dpo.Config(preference_prompts=6000)
    with pytest.raises(ValueError, match="multiple of steps"):
        dpo.Config(pretrain_steps=500, steps=200)
