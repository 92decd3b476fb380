"""The lesson of policy_gradient at quick size: directions, not exact numbers."""

import json

import pytest

from experiments import policy_gradient as pg


@pytest.fixture(scope="module")
def quick(quick_run):
    return quick_run("policy_gradient")


def test_every_learner_beats_the_random_policy_by_far(quick):
    tables, _ = quick
    episodes = tables["episodes"]
    random = episodes[episodes["condition"] == pg.RANDOM]["ret"].mean()
    assert random < 40
    for baseline, run in episodes[episodes["condition"] != pg.RANDOM].groupby("condition"):
        assert run["ret"].tail(pg.WINDOW).mean() > 5 * random, baseline
    runs = tables["runs"]
    assert set(runs["baseline"]) == set(pg.Config().baselines)
    assert (runs["reached_v0"].dropna() < runs["episodes"][runs["reached_v0"].notna()]).all()


def test_a_baseline_lowers_the_variance_of_the_same_episodes_gradient(quick):
    tables, _ = quick
    ratios = pg.relative_variance(tables).set_index(["checkpoint", "baseline"])["ratio"]
    assert ratios.loc[("initialization", "mean")] < 1
    assert ratios.loc[("trained", "mean")] < 1 and ratios.loc[("trained", "value")] < 1


def test_claims_are_computed_from_the_table(quick):
    tables, folder = quick
    stored = json.loads((folder / "claims.json").read_text())
    assert [claim.evaluate(tables) for claim in pg.CLAIMS] == stored
    claims = {claim.id: claim for claim in pg.CLAIMS}
    forged = {name: rows.copy() for name, rows in tables.items()}
    forged["runs"]["solved"] = float("nan")
    assert claims["baseline_solves"].evaluate(forged)["verdict"] == "FAIL"
    variance = forged["variance"]
    variance.loc[variance["baseline"] == "mean", "total_variance"] *= 100
    assert claims["baseline_lowers_variance"].evaluate(forged)["verdict"] == "FAIL"
    episodes = forged["episodes"]
    episodes.loc[episodes["condition"] == pg.RANDOM, "ret"] = 100.0
    assert claims["random_policy_fails"].evaluate(forged)["verdict"] == "FAIL"


def test_bad_settings_are_rejected():
    with pytest.raises(ValueError, match="baselines"):
        pg.Config(baselines=("mean", "advantage"))
    with pytest.raises(ValueError, match="max_episodes"):
        pg.Config(max_episodes=50)
