"""Sequences and time series: the adding problem, stock prices, synthetic controls,
leak-free splitting, windowing and scaling, the forecasts every model must beat (the
naive baselines and a walk-forward AR(p)), their evaluation, and the Diebold-Mariano
test.

Prices, offline:
- `sp500()`: the daily S&P 500 (adjusted close, 1999-2018) bundled with the `arch`
  package; no download.
- `read_prices(path)`: any CSV with a `Date` column and an `Adj Close` or `Close`
  column, such as a Yahoo Finance export.
- `random_walk(...)` and `ar1(...)`: synthetic prices whose log returns are white noise
  (nothing to predict) or an AR(1) process (something to predict): the controls that
  show whether a forecasting pipeline finds signal only where there is some.

The rules that keep a forecast honest, each one a function here:
- split in time order, never at random (`chronological_split`);
- fit every statistic, scaling included, on the training part only (`Standardizer.fit`);
- build each split's examples so that every target lies inside that split
  (`windows(..., start, stop)`); the inputs are the values before the target, which
  were known when the forecast was made.

Example:
    >>> returns = log_returns(sp500())
    >>> train_end, validation_end = chronological_split(len(returns))
    >>> scaler = Standardizer.fit(returns[:train_end])
    >>> x, y, origins = windows(scaler.transform(returns), window=20, stop=train_end)
    >>> x.shape, y.shape                       # (examples, window, features), (examples, horizon)
    ((2998, 20, 1), (2998, 1))
"""

import collections
import dataclasses
import os

import numpy as np
import pandas as pd

NAMES = ("sp500", "random_walk", "ar1")
MIN_ROWS = 100  # fewer prices than this cannot be split, windowed and evaluated


class SeriesFormatError(ValueError):
    """A price file that cannot be used: missing columns, bad dates or too few rows."""


# --- the adding problem ------------------------------------------------------------


def adding_problem(num_examples, timesteps, seed=0):
    """The adding problem (Hochreiter & Schmidhuber 1997, in the form of Le et al. 2015).

    Each example is a sequence of `timesteps` pairs (value, marker): values uniform in
    [0, 1], markers 0 except at two positions, one in each half of the sequence. The
    target is the sum of the two marked values. Predicting the constant 1 gives a mean
    squared error of 1/6, the variance of a sum of two uniform values: a model does
    better only by remembering a value for up to `timesteps` steps.

    Returns:
        `x` of shape `(num_examples, timesteps, 2)` and `y` of shape `(num_examples, 1)`,
        float32.
    """
    if timesteps < 2 or num_examples < 1:
        raise ValueError(
            f"need timesteps >= 2 and num_examples >= 1, got {timesteps}, {num_examples}"
        )
    rng = np.random.default_rng(seed)
    values = rng.uniform(0.0, 1.0, size=(num_examples, timesteps))
    markers = np.zeros_like(values)
    rows = np.arange(num_examples)
    markers[rows, rng.integers(0, timesteps // 2, num_examples)] = 1.0
    markers[rows, rng.integers(timesteps // 2, timesteps, num_examples)] = 1.0
    x = np.stack([values, markers], axis=-1).astype("float32")
    y = (values * markers).sum(axis=1, keepdims=True).astype("float32")
    return x, y


# --- prices --------------------------------------------------------------------------


def sp500():
    """Daily S&P 500 adjusted closing prices, 1999-01-04 to 2018-12-31 (5,031 days),
    bundled with the `arch` package."""
    from arch.data import sp500 as bundled

    return _prices(bundled.load(), "the S&P 500 data bundled with arch")


def read_prices(path):
    """Daily prices from a CSV file with `Date` and `Adj Close` or `Close` columns.

    A Yahoo Finance export reads as it is. `Adj Close` (adjusted for splits and
    dividends) is preferred where both are present. Rows are sorted by date; rows
    without a price are dropped.

    Raises:
        FileNotFoundError: no such file.
        SeriesFormatError: no `Date` or price column, unparseable dates, duplicated
            dates, non-positive prices, or fewer than `MIN_ROWS` prices.
    """
    path = os.fspath(path)
    try:
        frame = pd.read_csv(path)
    except FileNotFoundError:
        raise FileNotFoundError(f"no such price file: {path}") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        raise SeriesFormatError(
            f"{path} is not a readable CSV file ({type(error).__name__})"
        ) from None
    if "Date" not in frame.columns:
        raise SeriesFormatError(
            f"{path} has no 'Date' column; columns: {', '.join(map(str, frame.columns))}"
        )
    try:
        frame["Date"] = pd.to_datetime(frame["Date"], format="ISO8601")
    except (ValueError, TypeError):
        raise SeriesFormatError(
            f"{path}: the 'Date' column has values that are not dates (use YYYY-MM-DD)"
        ) from None
    return _prices(frame.set_index("Date"), path)


def _prices(frame, where):
    column = next((name for name in ("Adj Close", "Close") if name in frame.columns), None)
    if column is None:
        raise SeriesFormatError(f"{where} has no 'Close' or 'Adj Close' column")
    prices = pd.to_numeric(frame[column], errors="coerce").dropna().sort_index()
    if prices.index.has_duplicates:
        raise SeriesFormatError(f"{where} has duplicated dates")
    if (prices <= 0).any():
        raise SeriesFormatError(f"{where} has prices that are zero or negative")
    if len(prices) < MIN_ROWS:
        raise SeriesFormatError(f"{where} has {len(prices)} prices; at least {MIN_ROWS} are needed")
    return prices.rename("price").astype("float64")


def log_returns(prices):
    """`log(p_t / p_{t-1})`, one shorter than `prices`, indexed by the later date."""
    return np.log(prices).diff().iloc[1:].rename("return")


def random_walk(length, seed=0, volatility=0.01, start=100.0):
    """Prices whose log returns are independent normal draws: nothing to predict."""
    returns = np.random.default_rng(seed).normal(0.0, volatility, length - 1)
    return _from_returns(returns, start)


def ar1(length, seed=0, phi=0.3, volatility=0.01, start=100.0):
    """Prices whose log returns follow `r_t = phi * r_{t-1} + e_t`, `e_t ~ N(0, volatility**2)`.

    The best one-step forecast, `phi * r_{t-1}`, has mean squared error `volatility**2`;
    the zero forecast has the returns' variance, `volatility**2 / (1 - phi**2)`. Their
    ratio `1 - phi**2` (0.91 for phi = 0.3) is what a good model should approach.
    """
    if not -1 < phi < 1:
        raise ValueError(f"phi must be in (-1, 1) for a stationary series, got {phi}")
    rng = np.random.default_rng(seed)
    noise = rng.normal(0.0, volatility, length - 1)
    returns = np.empty(length - 1)
    previous = rng.normal(0.0, volatility / np.sqrt(1 - phi**2))  # the stationary distribution
    for t, innovation in enumerate(noise):
        returns[t] = previous = phi * previous + innovation
    return _from_returns(returns, start)


def _from_returns(returns, start):
    prices = start * np.exp(np.concatenate([[0.0], np.cumsum(returns)]))
    return pd.Series(prices, name="price")


# --- splitting, windowing, scaling ---------------------------------------------------


def chronological_split(length, validation_fraction=0.2, test_fraction=0.2):
    """Boundaries `(train_end, validation_end)`: the first part trains, the next
    validates, the last tests, in time order."""
    if not (
        0 < validation_fraction and 0 < test_fraction and validation_fraction + test_fraction < 1
    ):
        raise ValueError(
            "validation_fraction and test_fraction must be positive and sum to less than 1"
        )
    validation_end = length - int(round(length * test_fraction))
    train_end = validation_end - int(round(length * validation_fraction))
    return train_end, validation_end


def windows(values, window, horizon=1, start=0, stop=None, target=0):
    """Supervised examples from a series: the `window` values before a time, and the
    `horizon` values from it on.

    Only examples whose every target lies in `values[start:stop]` are made, so a split's
    examples never reach into the next split. The inputs are the values just before the
    targets, which may lie before `start`: they were known when the forecast was made.

    Args:
        values: array of shape `(time,)` or `(time, features)`.
        window: how many past values each example sees.
        horizon: how many future values of column `target` each example predicts.
        start, stop: the targets' range of time indices.
        target: the column to predict, for multivariate `values`.

    Returns:
        `x` of shape `(n, window, features)`, `y` of shape `(n, horizon)`, and `origins`:
        the index of each example's first target, so `x[i]` is
        `values[origins[i] - window:origins[i]]`.
    """
    values = np.asarray(values, dtype="float32")
    if values.ndim == 1:
        values = values[:, None]
    stop = len(values) if stop is None else stop
    if window < 1 or horizon < 1:
        raise ValueError(f"window and horizon must be at least 1, got {window} and {horizon}")
    origins = np.arange(max(start, window), stop - horizon + 1)
    x = values[origins[:, None] + np.arange(-window, 0)]
    y = values[origins[:, None] + np.arange(horizon), target]
    return x, y, origins


@dataclasses.dataclass(frozen=True)
class Standardizer:
    """Subtracts a mean and divides by a standard deviation, both fitted on one split.

    Example:
        >>> scaler = Standardizer.fit(returns[:train_end])   # the training split only
        >>> scaled = scaler.transform(returns)               # every split, same statistics
    """

    mean: float
    std: float

    @classmethod
    def fit(cls, values):
        values = np.asarray(values, dtype="float64")
        std = float(values.std())
        return cls(float(values.mean()), std if std > 0 else 1.0)

    def transform(self, values):
        return (np.asarray(values, dtype="float64") - self.mean) / self.std

    def inverse(self, values):
        return np.asarray(values, dtype="float64") * self.std + self.mean


# --- forecasts to beat -----------------------------------------------------------------


def baselines(returns):
    """The naive one-step forecasts of `returns[i]`, each from the returns before i:
    zero (the random walk), the historical mean up to the day before, and yesterday's
    return (persistence). Index 0 has no past: NaN."""
    returns = np.asarray(returns, dtype="float64")
    history_mean = np.concatenate([[np.nan], np.cumsum(returns)[:-1] / np.arange(1, len(returns))])
    persistence = np.concatenate([[np.nan], returns[:-1]])
    return {"zero": np.zeros(len(returns)), "mean": history_mean, "persistence": persistence}


def ar_params(returns, lags):
    """An AR(`lags`) model with a constant fitted to `returns` by statsmodels' `AutoReg`:
    the constant, then the coefficients of lags 1..p."""
    from statsmodels.tsa.ar_model import AutoReg

    return AutoReg(returns, lags=lags, trend="c").fit().params


def ar_predict(returns, params, start, stop):
    """One-step AR forecasts of `returns[start:stop]`, each from the realized values before it."""
    lags = len(params) - 1
    if lags == 0:
        return np.full(stop - start, params[0])
    x, _, _ = windows(returns, lags, start=start, stop=stop)
    return params[0] + x[:, ::-1, 0].astype("float64") @ params[1:]


def ar_walk_forward(returns, bounds, blocks, max_lag):
    """A walk-forward AR(p): p (0 to `max_lag`) is chosen on the validation period by the
    one-step MSE of a model fitted to the training period, then the model is refitted on
    everything before each test block and forecasts that block.

    Args:
        returns: the whole series.
        bounds: `(train_end, validation_end)`, as `chronological_split` gives them.
        blocks: the test blocks' boundaries, `[start_0, start_1, ..., end]`.
        max_lag: the largest p tried.

    Returns:
        `(forecasts, p)`: one-step forecasts, NaN outside the test blocks, and the chosen p.
    """
    train_end, validation_end = bounds
    validation = returns[train_end:validation_end]
    errors = [
        np.mean(
            (
                ar_predict(returns, ar_params(returns[:train_end], p), train_end, validation_end)
                - validation
            )
            ** 2
        )
        for p in range(max_lag + 1)
    ]
    lags = int(np.argmin(errors))
    forecasts = np.full(len(returns), np.nan)
    for start, stop in zip(blocks[:-1], blocks[1:]):
        forecasts[start:stop] = ar_predict(returns, ar_params(returns[:start], lags), start, stop)
    return forecasts, lags


# --- comparing forecasts -------------------------------------------------------------


def evaluate_forecasts(returns, prices, forecasts, test):
    """How well each one-step forecast of the returns did on the test indices.

    Args:
        returns: the log returns; `returns[i]` is the move from `prices[i]` to `prices[i + 1]`.
        prices: the prices the returns come from (one more than the returns).
        forecasts: `{model name: forecast of every return}`; one of them named "zero".
        test: the indices to evaluate.

    Returns:
        One dict per model: `mse`, `mse_ratio` to the zero forecast, `directional_accuracy`
        (the share of days with a move and a non-zero forecast whose sign it got right),
        `price_r2` (the R^2 of the prices it implies, high for any forecast: prices are
        persistent), and for every model but zero the Diebold-Mariano test that it beats
        zero (`dm_statistic`, `dm_p`).
    """
    realized = returns[test]
    zero_errors = realized
    previous_price, price = prices[test], prices[test + 1]
    rows = []
    for model, forecast in forecasts.items():
        errors = realized - forecast[test]
        implied = previous_price * np.exp(forecast[test])
        moved = (forecast[test] != 0) & (realized != 0)
        row = dict(
            model=model,
            mse=np.mean(errors**2),
            mse_ratio=np.mean(errors**2) / np.mean(zero_errors**2),
            directional_accuracy=np.mean(np.sign(forecast[test][moved]) == np.sign(realized[moved]))
            if moved.any()
            else np.nan,
            price_r2=1 - np.sum((price - implied) ** 2) / np.sum((price - price.mean()) ** 2),
        )
        if model != "zero":
            # H1: the model beats the random walk.
            dm = diebold_mariano(errors, zero_errors, alternative="less")
            row.update(dm_statistic=dm.statistic, dm_p=dm.p_value)
        rows.append(row)
    return rows


DieboldMariano = collections.namedtuple("DieboldMariano", ["statistic", "p_value"])


def diebold_mariano(errors_a, errors_b, horizon=1, alternative="two-sided"):
    """Diebold & Mariano (1995) test that two forecasts are equally accurate.

    Compares squared errors; the loss differential's variance counts autocovariances up
    to lag `horizon - 1`, as `horizon`-step forecast errors overlap, and the statistic
    has the small-sample correction of Harvey, Leybourne & Newbold (1997), compared
    with Student's t with n - 1 degrees of freedom.

    Args:
        errors_a, errors_b: the two forecasts' errors on the same targets.
        horizon: the forecast horizon.
        alternative: "two-sided"; "less": forecast a is more accurate; "greater": less.

    Returns:
        `DieboldMariano(statistic, p_value)`; a negative statistic favours forecast a.
    """
    from scipy import stats

    differential = (
        np.asarray(errors_a, dtype="float64") ** 2 - np.asarray(errors_b, dtype="float64") ** 2
    )
    n = len(differential)
    if n < 2 or len(errors_b) != n:
        raise ValueError("need two error series of the same length, at least 2")
    centered = differential - differential.mean()
    variance = centered @ centered / n
    for lag in range(1, horizon):
        variance += 2 * (centered[lag:] @ centered[:-lag]) / n
    if variance <= 0:
        raise ValueError(
            "the two forecasts' squared errors differ by a constant; the test is undefined"
        )
    correction = np.sqrt((n + 1 - 2 * horizon + horizon * (horizon - 1) / n) / n)
    statistic = correction * differential.mean() / np.sqrt(variance / n)
    p_values = {
        "two-sided": 2 * stats.t.sf(abs(statistic), n - 1),
        "less": stats.t.cdf(statistic, n - 1),
        "greater": stats.t.sf(statistic, n - 1),
    }
    if alternative not in p_values:
        raise ValueError(f"alternative must be one of {', '.join(p_values)}, got {alternative!r}")
    return DieboldMariano(float(statistic), float(p_values[alternative]))


def mse_ratio_interval(realized, forecasts, size=0.95, reps=2000, seed=0):
    """A block-bootstrap confidence interval for a forecast's MSE relative to the zero
    forecast's (the random walk's, for returns): `sum((r - f)^2) / sum(r^2)`.

    The days are resampled in blocks (arch's `CircularBlockBootstrap`, the block length
    chosen for the loss differential by `arch.bootstrap.optimal_block_length`), which
    keeps volatility clusters together. With several rows of `forecasts` (say, one per
    seed), the statistic is their mean ratio, every row resampled on the same days.

    An interval inside `[1 - d, 1 + d]` is evidence of equivalence (no edge larger than
    `d` either way), which a large Diebold-Mariano p-value alone is not.

    Args:
        realized: the realized values, shape `(n,)`.
        forecasts: forecasts of them, shape `(n,)` or `(k, n)`.
        size: the coverage.
        reps: bootstrap resamples.
        seed: seeds the resampling.

    Returns:
        `(low, high)`.
    """
    from arch.bootstrap import CircularBlockBootstrap, optimal_block_length

    realized = np.asarray(realized, dtype="float64")
    forecasts = np.atleast_2d(np.asarray(forecasts, dtype="float64"))
    if forecasts.shape[1] != len(realized) or len(realized) < 10:
        raise ValueError("need forecasts of the same at least 10 realized values")

    def ratio(r, f):
        return np.array([np.mean(((r[:, None] - f) ** 2).sum(axis=0) / (r**2).sum())])

    differential = ((realized[:, None] - forecasts.T) ** 2).mean(axis=1) - realized**2
    if np.ptp(differential) == 0:  # the zero forecast itself: every resample gives 1
        block = 1
    else:
        block = max(1, round(float(optimal_block_length(differential)["circular"].iloc[0])))
    bootstrap = CircularBlockBootstrap(block, realized, forecasts.T, seed=seed)
    low, high = bootstrap.conf_int(ratio, reps=reps, method="percentile", size=size)[:, 0]
    return float(low), float(high)
