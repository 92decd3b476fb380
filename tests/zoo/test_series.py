import numpy as np
import pandas as pd
import pytest

from zoo import series as ts


def test_the_adding_problem_marks_one_value_in_each_half_and_sums_them():
    x, y = ts.adding_problem(500, timesteps=20, seed=0)
    assert x.shape == (500, 20, 2) and y.shape == (500, 1)
    markers = x[..., 1]
    assert (markers.sum(axis=1) == 2).all()
    assert (markers[:, :10].sum(axis=1) == 1).all()
    np.testing.assert_allclose(y[:, 0], (x[..., 0] * markers).sum(axis=1), rtol=1e-6)
    np.testing.assert_array_equal(ts.adding_problem(500, 20, seed=0)[0], x)


def test_predicting_the_mean_of_the_adding_problem_scores_one_sixth():
    _, y = ts.adding_problem(50_000, timesteps=10, seed=1)
    assert np.mean((y - 1.0) ** 2) == pytest.approx(1 / 6, abs=0.005)


def test_sp500_is_the_bundled_daily_series():
    prices = ts.sp500()
    assert len(prices) == 5031
    assert (
        str(prices.index[0].date()) == "1999-01-04" and str(prices.index[-1].date()) == "2018-12-31"
    )
    assert prices.index.is_monotonic_increasing and (prices > 0).all()


def _yahoo_csv(path, rows=150, **columns):
    dates = pd.bdate_range("2020-01-01", periods=rows)
    close = 100 + np.arange(rows, dtype=float)
    frame = pd.DataFrame(
        {
            "Date": dates.strftime("%Y-%m-%d"),
            "Open": close,
            "High": close + 1,
            "Low": close - 1,
            "Close": close,
            "Adj Close": close / 2,
            "Volume": 1000,
        }
    )
    for name, value in columns.items():
        if value is None:
            frame = frame.drop(columns=name)
        else:
            frame[name] = value
    frame.iloc[::-1].to_csv(path, index=False)  # newest first, as some exports are
    return path


def test_a_yahoo_finance_export_reads_with_the_adjusted_close(tmp_path):
    prices = ts.read_prices(_yahoo_csv(tmp_path / "spy.csv"))
    assert len(prices) == 150 and prices.index.is_monotonic_increasing
    assert prices.iloc[0] == 50.0  # Adj Close preferred, sorted oldest first
    only_close = ts.read_prices(_yahoo_csv(tmp_path / "close.csv", **{"Adj Close": None}))
    assert only_close.iloc[0] == 100.0


@pytest.mark.parametrize(
    "columns, message",
    [
        ({"Date": None}, "no 'Date' column"),
        ({"Close": None, "Adj Close": None}, "no 'Close' or 'Adj Close'"),
        ({"Date": "yesterday"}, "not dates"),
        ({"Close": -1.0, "Adj Close": None}, "zero or negative"),
    ],
)
def test_a_bad_price_file_gets_a_clear_error(tmp_path, columns, message):
    with pytest.raises(ts.SeriesFormatError, match=message):
        ts.read_prices(_yahoo_csv(tmp_path / "bad.csv", **columns))


def test_a_missing_short_or_garbled_price_file_gets_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such price file"):
        ts.read_prices(tmp_path / "missing.csv")
    with pytest.raises(ts.SeriesFormatError, match="at least 100"):
        ts.read_prices(_yahoo_csv(tmp_path / "short.csv", rows=50))
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(ts.SeriesFormatError, match="not a readable CSV"):
        ts.read_prices(tmp_path / "empty.csv")


def test_log_returns_of_prices():
    prices = pd.Series([100.0, 110.0, 99.0])
    np.testing.assert_allclose(ts.log_returns(prices), [np.log(1.1), np.log(0.9)])


def test_the_synthetic_controls_have_the_autocorrelation_they_promise():
    def lag_one(prices):
        r = ts.log_returns(prices).to_numpy()
        return np.corrcoef(r[1:], r[:-1])[0, 1]

    assert abs(lag_one(ts.random_walk(20_000, seed=0))) < 0.03
    assert lag_one(ts.ar1(20_000, seed=0, phi=0.3)) == pytest.approx(0.3, abs=0.03)
    r = ts.log_returns(ts.ar1(20_000, seed=1, phi=0.3, volatility=0.01)).to_numpy()
    assert r.var() == pytest.approx(0.01**2 / (1 - 0.3**2), rel=0.05)
    pd.testing.assert_series_equal(ts.ar1(100, seed=3), ts.ar1(100, seed=3))


def test_the_split_is_in_time_order():
    assert ts.chronological_split(1000) == (600, 800)
    assert ts.chronological_split(1000, 0.1, 0.3) == (600, 700)
    with pytest.raises(ValueError):
        ts.chronological_split(1000, 0.5, 0.5)


def test_windows_keep_every_target_inside_its_split_and_every_input_before_it():
    values = np.arange(100, dtype=float)
    train_end, validation_end = 60, 80
    for start, stop in ((0, train_end), (train_end, validation_end), (validation_end, 100)):
        x, y, origins = ts.windows(values, window=5, horizon=3, start=start, stop=stop)
        assert y.min() >= max(start, 5) and y.max() < stop  # values equal their index
        assert (x.max(axis=(1, 2)) < y.min(axis=1)).all()
        np.testing.assert_array_equal(x[:, :, 0], values[origins[:, None] + np.arange(-5, 0)])
        np.testing.assert_array_equal(y, values[origins[:, None] + np.arange(3)])
    x, y, _ = ts.windows(np.stack([values, -values], axis=1), window=4, stop=train_end)
    assert x.shape[1:] == (4, 2) and (y >= 0).all()  # the target is column 0


def test_the_scaler_sees_only_the_training_split():
    rng = np.random.default_rng(0)
    values = rng.normal(3.0, 2.0, 1000)
    changed = values.copy()
    changed[600:] *= 100  # a crash after the training period
    assert ts.Standardizer.fit(values[:600]) == ts.Standardizer.fit(changed[:600])
    scaler = ts.Standardizer.fit(values[:600])
    np.testing.assert_allclose(scaler.transform(values[:600]).mean(), 0, atol=1e-12)
    np.testing.assert_allclose(scaler.inverse(scaler.transform(values)), values)


def test_diebold_mariano_holds_its_size_under_the_null_and_detects_a_better_forecast():
    rng = np.random.default_rng(0)
    p_values = [
        ts.diebold_mariano(rng.normal(size=300), rng.normal(size=300)).p_value for _ in range(400)
    ]
    assert 0.02 <= np.mean(np.array(p_values) < 0.05) <= 0.09
    truth = rng.normal(size=500)
    good, bad = truth - (truth + rng.normal(0, 0.5, 500)), truth
    better = ts.diebold_mariano(good, bad, alternative="less")
    assert better.statistic < 0 and better.p_value < 1e-6
    assert ts.diebold_mariano(good, bad, alternative="greater").p_value > 0.999
    assert ts.diebold_mariano(good, bad, horizon=5).p_value < 1e-3
    with pytest.raises(ValueError):
        ts.diebold_mariano(np.ones(10), np.ones(10))


# --- forecasts to beat and their evaluation ---------------------------------------------


def test_the_baselines_use_only_the_past():
    returns = np.random.default_rng(0).normal(size=50)
    forecasts = ts.baselines(returns)
    assert np.isnan(forecasts["mean"][0]) and np.isnan(forecasts["persistence"][0])
    for i in (1, 7, 49):
        assert forecasts["mean"][i] == pytest.approx(returns[:i].mean())
        assert forecasts["persistence"][i] == returns[i - 1]
    assert not forecasts["zero"].any()


def test_ar_predict_is_the_linear_recursion_on_realized_values():
    returns = np.random.default_rng(1).normal(size=30)
    params = np.array([0.1, 0.5, -0.2])  # constant, lag 1, lag 2
    expected = [
        params[0] + params[1] * returns[t - 1] + params[2] * returns[t - 2] for t in range(10, 20)
    ]
    # `windows` gives float32 inputs, so the forecast carries their rounding.
    np.testing.assert_allclose(
        ts.ar_predict(returns, params, 10, 20), expected, rtol=1e-4, atol=1e-7
    )
    np.testing.assert_array_equal(ts.ar_predict(returns, np.array([0.3]), 10, 20), np.full(10, 0.3))


def test_the_walk_forward_ar_finds_an_ar1_and_never_looks_ahead():
    returns = ts.log_returns(ts.ar1(3000, seed=0, phi=0.3)).to_numpy()
    bounds = ts.chronological_split(len(returns))
    blocks = np.linspace(bounds[1], len(returns), 4).astype(int)
    forecasts, lags = ts.ar_walk_forward(returns, bounds, blocks, max_lag=3)
    assert lags >= 1 and ts.ar_params(returns[: bounds[1]], 1)[1] == pytest.approx(0.3, abs=0.1)
    assert np.isnan(forecasts[: bounds[1]]).all() and not np.isnan(forecasts[bounds[1] :]).any()
    changed = returns.copy()
    changed[blocks[2] :] += 1.0  # the last block's returns, and everything after its start
    again, _ = ts.ar_walk_forward(changed, bounds, blocks, max_lag=3)
    np.testing.assert_array_equal(again[: blocks[2]], forecasts[: blocks[2]])


def test_evaluation_scores_the_random_walk_as_one_and_a_perfect_forecast_as_zero():
    prices = ts.random_walk(200, seed=0)
    returns = ts.log_returns(prices).to_numpy()
    test = np.arange(150, len(returns))
    rows = {
        row["model"]: row
        for row in ts.evaluate_forecasts(
            returns,
            prices.to_numpy(),
            {"zero": np.zeros(len(returns)), "oracle": returns.copy()},
            test,
        )
    }
    assert rows["zero"]["mse_ratio"] == 1 and "dm_p" not in rows["zero"]
    assert rows["oracle"]["mse"] == 0 and rows["oracle"]["directional_accuracy"] == 1
    assert rows["oracle"]["price_r2"] == pytest.approx(1)
    assert rows["oracle"]["dm_p"] < 1e-4  # over 49 test days


def test_mse_ratio_interval_brackets_the_ratio_and_is_exact_when_it_cannot_vary():
    rng = np.random.default_rng(0)
    realized = rng.standard_t(4, size=1000) * 0.01
    assert ts.mse_ratio_interval(realized, np.zeros(1000)) == (1.0, 1.0)
    assert ts.mse_ratio_interval(realized, 0.5 * realized) == pytest.approx((0.25, 0.25))
    noisy = 0.2 * realized + rng.normal(0, 0.005, size=(3, 1000))
    low, high = ts.mse_ratio_interval(realized, noisy)
    ratio = np.mean(((realized - noisy) ** 2).sum(axis=1) / (realized**2).sum())
    assert low < ratio < high and high - low < 0.2
    # The same seed gives the same interval; a better forecast's lies lower.
    assert ts.mse_ratio_interval(realized, noisy) == (low, high)
    assert ts.mse_ratio_interval(realized, 0.5 * realized + noisy - 0.2 * realized)[1] < low
