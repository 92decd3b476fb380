"""The lesson of lstm_memory at quick size: directions, not exact numbers."""

import json

import numpy as np
import pytest

from experiments import lstm_memory


@pytest.fixture(scope="module")
def quick(quick_run):
    return quick_run("lstm_memory")


def test_the_lstm_learns_the_adding_problem_and_the_simple_rnn_does_not(quick):
    tables, _ = quick
    mse = lstm_memory.longest(tables).groupby("cell")["test_mse"]
    assert mse.max()["lstm"] < 0.02
    assert mse.min()["simple_rnn"] > 0.1  # the constant baseline is 0.167


def test_the_simple_rnn_learns_the_short_problem(quick):
    tables, _ = quick
    final = tables["final"]
    short = final[final["timesteps"] == final["timesteps"].min()].set_index(["seed", "cell"])
    assert (short.xs("simple_rnn", level="cell")["test_mse"] < 0.08).all()
    assert (short.xs("lstm", level="cell")["test_mse"] < 0.02).all()
    # Gradients are measured at the longest length only.
    assert (tables["gradient"]["timesteps"] == final["timesteps"].max()).all()


def test_the_trained_lstm_gradient_reaches_back_and_the_simple_rnn_gradient_does_not(quick):
    tables, _ = quick
    trained = np.log10(lstm_memory.first_step_gradient(tables, "trained")).unstack("cell")
    assert (trained["lstm"] - trained["simple_rnn"] > 1).all()
    profile = tables["gradient"]
    profile = profile[(profile["cell"] == "simple_rnn") & (profile["stage"] == "trained")]
    by_timestep = np.log10(profile["relative_gradient"]).groupby(profile["timestep"]).mean()
    assert by_timestep.iloc[0] < by_timestep.iloc[len(by_timestep) // 2] < by_timestep.iloc[-1] == 0


def test_training_stops_once_solved_and_logs_a_curve(quick):
    tables, _ = quick
    final = lstm_memory.longest(tables).set_index(["seed", "cell"])
    curves = tables["curve"].groupby(["seed", "cell", "timesteps"])["step"].max()
    steps = tables["final"].set_index(["seed", "cell", "timesteps"])["steps"]
    assert (curves.sort_index() == steps.sort_index()).all()
    assert (
        final.xs("simple_rnn", level="cell")["steps"]
        == lstm_memory.Config(**lstm_memory.QUICK).max_steps
    ).all()


def test_claims_are_computed_from_the_table(quick):
    tables, folder = quick
    stored = json.loads((folder / "claims.json").read_text())
    assert [claim.evaluate(tables) for claim in lstm_memory.CLAIMS] == stored
    forged = {name: rows.copy() for name, rows in tables.items()}
    final = forged["final"]
    final.loc[final["cell"] == "simple_rnn", "test_mse"] = 0.001
    assert lstm_memory.CLAIMS[1].evaluate(forged)["verdict"] == "FAIL"


def test_bad_settings_are_rejected():
    with pytest.raises(ValueError, match="cells"):
        lstm_memory.Config(cells=("lstm", "transformer"))
    with pytest.raises(ValueError, match="multiple"):
        lstm_memory.Config(max_steps=120, log_every=50)
    with pytest.raises(ValueError, match="short_lengths"):
        lstm_memory.Config(timesteps=30, short_lengths=(10, 30))
