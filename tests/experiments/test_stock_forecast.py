"""The lesson of stock_forecast at quick size, and the guards against leaking the future."""

import json

import numpy as np
import pandas as pd
import pytest

from experiments import stock_forecast
from experiments.runner import main
from experiments.stock_forecast import Config, forecast_rows, horizon_mse
from zoo import series as ts
from zoo.training import Trainer


@pytest.fixture(scope="module")
def quick(quick_run):
    return quick_run("stock_forecast")


def test_the_lstm_finds_the_ar1_signal_and_nothing_in_a_random_walk(quick):
    tables, _ = quick
    ar1 = forecast_rows(tables, "ar1", "lstm")["mse_ratio"]
    walk = forecast_rows(tables, "random_walk", "lstm")["mse_ratio"]
    assert ar1.mean() < 0.97 and (ar1 < walk).all()
    assert walk.mean() > 0.97


def test_the_lstm_does_not_significantly_beat_the_random_walk_on_the_sp500(quick):
    tables, _ = quick
    lstm = forecast_rows(tables, "sp500", "lstm")
    assert (lstm["dm_p"] > 0.05).all()
    assert abs(lstm["mse_ratio"].mean() - 1) < 0.05


def test_price_levels_look_excellent_for_every_forecast(quick):
    tables, _ = quick
    lstm, persistence = (
        forecast_rows(tables, "sp500", "lstm"),
        forecast_rows(tables, "sp500", "zero"),
    )
    assert (persistence["price_r2"] > 0.9).all()
    assert lstm["price_r2"].mean() <= persistence["price_r2"].mean() + 0.001


def test_the_rollout_error_grows_to_the_series_variance(quick):
    tables, _ = quick
    rollout, zero = horizon_mse(tables, "ar1", "lstm_rollout"), horizon_mse(tables, "ar1", "zero")
    last = rollout.columns.max()
    assert (rollout[last] > rollout[1]).all()
    assert (rollout[last] / zero[last]).mean() == pytest.approx(1, abs=0.05)
    assert set(tables["horizon"]["model"]) == {
        "lstm_rollout",
        "lstm_direct",
        "ar_rollout",
        "zero",
        "oracle",
    }


def test_claims_are_computed_from_the_table(quick):
    tables, folder = quick
    stored = json.loads((folder / "claims.json").read_text())
    assert [claim.evaluate(tables) for claim in stock_forecast.CLAIMS] == stored
    forged = {name: rows.copy() for name, rows in tables.items()}
    forecasts = forged["forecast"]
    forecasts.loc[(forecasts["series"] == "ar1") & (forecasts["model"] == "lstm"), "mse_ratio"] = (
        1.0
    )
    assert stock_forecast.CLAIMS[0].evaluate(forged)["verdict"] == "FAIL"


# --- leakage ---------------------------------------------------------------------------

TINY = Config(
    length=400,
    window=5,
    units=4,
    max_epochs=2,
    patience=1,
    folds=3,
    horizon=3,
    max_lag=3,
    controls=False,
    seeds=(0,),
)


def _forecasts(prices, trainer):
    return stock_forecast.forecast(trainer, "tiny", prices, TINY, 0)


def test_changing_the_future_changes_no_forecast_made_before_it():
    prices = ts.random_walk(400, seed=0)
    last_known = 360  # inside the test period, in the middle of a walk-forward block
    changed = prices.copy()
    changed.iloc[last_known + 1 :] *= np.exp(
        np.random.default_rng(1).normal(0, 0.05, 400 - last_known - 1)
    )
    trainer = Trainer()  # the second run restarts the first one's compiled models
    before, after = _forecasts(prices, trainer), _forecasts(changed, trainer)
    assert before["bounds"][1] < last_known
    for model, forecasts in before["forecasts"].items():
        # forecasts[i] predicts the return into day i + 1, from prices up to day i.
        np.testing.assert_array_equal(
            forecasts[: last_known + 1], after["forecasts"][model][: last_known + 1], err_msg=model
        )
    assert not np.allclose(
        before["forecasts"]["lstm"][last_known + 1 :], after["forecasts"]["lstm"][last_known + 1 :]
    )


def test_the_scaler_is_fitted_on_the_training_period_only():
    prices = ts.random_walk(400, seed=0)
    train_end = ts.chronological_split(len(prices) - 1)[0]
    changed = prices.copy()
    # A wild later period.
    changed.iloc[train_end + 1 :] *= 3.0 ** np.arange(1, len(prices) - train_end)
    trainer = Trainer()
    assert _forecasts(prices, trainer)["scaler"] == _forecasts(changed, trainer)["scaler"]


# --- data from a file --------------------------------------------------------------------


def _yahoo_export(path, rows=600):
    prices = ts.random_walk(rows, seed=5).to_numpy()
    pd.DataFrame(
        {
            "Date": pd.bdate_range("2015-01-01", periods=rows).strftime("%Y-%m-%d"),
            "Open": prices,
            "High": prices,
            "Low": prices,
            "Close": prices,
            "Adj Close": prices,
            "Volume": 1,
        }
    ).to_csv(path, index=False)
    return path


def test_a_yahoo_style_file_runs_in_place_of_the_sp500(tmp_path):
    path = _yahoo_export(tmp_path / "ACME.csv")
    out = tmp_path / "results"
    settings = [
        "--set",
        f"csv={path}",
        "--set",
        "controls=false",
        "--set",
        "folds=1",
        "--seeds",
        "1",
    ]
    assert main(["run", "stock_forecast", "--quick", *settings, "--out", str(out)]) == 0
    forecasts = pd.read_csv(out / "stock_forecast" / "forecast.csv")
    assert set(forecasts["series"]) == {"ACME"}
    assert (out / "stock_forecast" / "price_illusion.png").exists()


def test_a_bad_file_is_one_line_on_stderr_and_writes_nothing(tmp_path, capsys):
    (tmp_path / "bad.csv").write_text("Day,Close\nMonday,1\n")
    for path in (tmp_path / "bad.csv", tmp_path / "missing.csv"):
        assert (
            main(["run", "stock_forecast", "--set", f"csv={path}", "--out", str(tmp_path / "out")])
            == 2
        )
        error = capsys.readouterr().err.strip()
        assert "\n" not in error and str(path) in error
    assert not (tmp_path / "out").exists()
