"""Stock forecasting with an autoregressive LSTM: does it beat the random walk?

The course: "Autoregressive models take in historical state data as input to predict
future state ... many stock market models are autoregressive ... the output from one
iteration is used as the input into the next."

The lesson most "an LSTM predicts stocks" tutorials miss: a model that predicts
tomorrow's price looks excellent (R^2 ~ 0.99) only because tomorrow's price is close to
today's; on returns, nothing beats the random walk. Makridakis, Spiliotis & Assimakopoulos
2018, "Statistical and machine learning forecasting methods" (1,045 M3 series): an LSTM
was the least accurate of ten machine-learning methods and worse than naive benchmarks
(one-step sMAPE: LSTM 11.67 vs Naive2 8.59). Tutorials that show otherwise usually leak
the future: scalers fitted on all the data, windows that straddle the split.

Design: daily log returns of the S&P 500 (1999-2018, bundled with `arch`; `--set
csv=PATH` takes any Yahoo-style price file instead), split in time order 60/20/20 into
training, validation and test periods. An LSTM of 32 units reads the last 20 returns,
scaled with the training period's mean and standard deviation, and predicts the next
(`zoo.recurrent.build_lstm_forecaster`); Adam 1e-3, batch 128, up to 30 epochs with
early stopping on the validation loss (patience 5, best weights kept). Walk-forward test:
the test period is cut into 4 blocks; before each block the model trains one more epoch
on every window whose target precedes the block (an expanding window), then forecasts
the block one day at a time from realized returns. Baselines, walk-forward alike: zero
return (the random walk), the historical mean so far, yesterday's return again
(persistence), and a linear AR(p) fitted with statsmodels, p <= 10 chosen on the
validation period and refitted before each block. Measured on the test period: MSE
relative to the zero forecast, directional accuracy, a Diebold-Mariano test against the
random walk, the R^2 of the prices that each forecast implies, and forecasts 1 to 20
days ahead: the one-step LSTM rolled out on its own predictions
(`zoo.recurrent.autoregressive_forecast`) against an LSTM trained to predict all 20 days
directly (both as fitted on the training period, no walk-forward updates). Controls,
with a new series for every seed: a synthetic random walk (nothing to find) and an AR(1)
with phi = 0.3 (something to find), as long as the real series.

    python -m experiments run stock_forecast            # about 75 seconds, 3 seeds
    python experiments/stock_forecast.py --quick        # about 15 seconds, 2 seeds
"""

# `python experiments/NAME.py ...` is `python -m experiments run NAME ...` (runner.script_main).
if __name__ == "__main__":
    import sys
    from pathlib import Path

    sys.path[0] = str(Path(__file__).resolve().parents[1])  # the project, not experiments/
    from experiments.runner import script_main

    script_main(__file__)

import dataclasses
from pathlib import Path

import keras
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from experiments.claims import Claim, by_record, mean_std, mean_std_table
from experiments.progress import Progress
from experiments.settings import (
    at_least,
    at_most,
    fraction,
    greater_than,
    layer_widths,
    less_than,
    non_negative,
    positive,
    seeds_setting,
    setting,
    validate,
)
from zoo import series as ts
from zoo.recurrent import autoregressive_forecast, build_lstm_forecaster
from zoo.training import Trainer

TITLE = "Stock forecasting with an autoregressive LSTM"
CONCEPT = (
    "An autoregressive model predicts the next value from past values; "
    "on stock returns the random walk is hard to beat."
)
CONCLUSION = (
    "The pipeline finds signal where there is some: on the AR(1) control the LSTM cuts "
    "the zero forecast's error by about the theoretical 9%, and its rollout decays toward "
    "the mean as the horizon grows. On the random walk and on the S&P 500 it does not "
    "beat predicting a zero return, and the S&P 500 result is more than an absence of "
    "evidence: the 95% block-bootstrap interval of its error relative to the zero "
    "forecast lies within 2% of 1. In price terms it is no better than 'tomorrow's price "
    "is today's', whose R^2 of about 0.99 says only that prices move little in a day."
)

SYNTHETIC = ("random_walk", "ar1")
EQUIVALENCE = 0.02  # an edge smaller than 2% of the random walk's MSE either way counts as none
MODELS = ("lstm", "zero", "mean", "persistence", "ar")


@dataclasses.dataclass(frozen=True)
class Config:
    csv: str | None = setting(
        None, "a price file (Date, Adj Close or Close) instead of the bundled S&P 500"
    )
    length: int | None = setting(
        None, "use the last this many prices only; none: all", at_least(ts.MIN_ROWS)
    )
    controls: bool = setting(True, "also forecast a synthetic random walk and an AR(1) series")
    phi: float = setting(0.3, "the AR(1) control's coefficient", greater_than(-1), less_than(1))
    validation_fraction: float = setting(
        0.2, "share of the series before the test period held out for early stopping", fraction
    )
    test_fraction: float = setting(
        0.2, "share of the series at its end forecast out of sample", fraction
    )
    window: int = setting(20, "past returns the models see", positive)
    units: int = setting(32, "the LSTM's units", layer_widths)
    learning_rate: float = setting(1e-3, "Adam's learning rate", positive)
    batch_size: int = setting(128, "windows per update", positive)
    max_epochs: int = setting(30, "the most epochs of the LSTM's first training", positive)
    patience: int = setting(
        5, "epochs without validation improvement before early stopping stops", positive
    )
    folds: int = setting(4, "walk-forward blocks of the test period", positive)
    update_epochs: int = setting(
        1, "training before each block on everything before it; 0: none", non_negative
    )
    horizon: int = setting(20, "the longest forecast horizon, in days", positive)
    max_lag: int = setting(10, "the most lags the AR model may choose", non_negative, at_most(1000))
    seeds: tuple[int, ...] = seeds_setting()

    def __post_init__(self):
        validate(self)
        try:
            available = len(ts.read_prices(self.csv) if self.csv else ts.sp500())
        except (OSError, ValueError) as error:  # a missing or malformed price file
            raise ValueError(str(error)) from None
        length = min(available, self.length or available)
        # Raises on bad fractions.
        ts.chronological_split(length, self.validation_fraction, self.test_fraction)
        test = int(round(length * self.test_fraction))
        if min(length - test, test) < 2 * (self.window + self.horizon) or test < self.folds * 2:
            raise ValueError(
                f"{length} prices are too few for window {self.window}, horizon {self.horizon} "
                f"and {self.folds} folds"
            )

    def resolved(self):
        available = len(ts.read_prices(self.csv) if self.csv else ts.sp500())
        return {"series": self.real_name, "length": min(available, self.length or available)}

    @property
    def real_name(self):
        return Path(self.csv).stem if self.csv else "sp500"


# Quick: the last 2,000 prices, 16 units, at most 10 epochs, 2 walk-forward blocks, horizons to 10, 2 seeds.
QUICK = dict(length=2000, units=16, max_epochs=10, patience=3, folds=2, horizon=10, seeds=(0, 1))


def load_series(config, seed):
    """`{name: prices}` for the real series and, with `controls`, the synthetic ones."""
    real = ts.read_prices(config.csv) if config.csv else ts.sp500()
    if config.length:
        real = real.iloc[-config.length :]
    series = {config.real_name: real}
    if config.controls:
        series["random_walk"] = ts.random_walk(len(real), seed=seed)
        series["ar1"] = ts.ar1(len(real), seed=seed, phi=config.phi)
    return series


# --- forecasts -------------------------------------------------------------------------


def fitted_lstm(trainer, horizon, scaled, bounds, config, seed):
    """A forecaster of `horizon` steps trained on the windows whose targets lie in the
    training period, stopped early on the validation period; and its `epochs` and `seconds`."""
    train_end, validation_end = bounds
    x, y, _ = ts.windows(scaled, config.window, horizon, stop=train_end)
    validation = ts.windows(scaled, config.window, horizon, start=train_end, stop=validation_end)
    stopping = keras.callbacks.EarlyStopping(patience=config.patience, restore_best_weights=True)
    model, history = trainer.fit(
        lambda: build_lstm_forecaster(config.window, 1, config.units, horizon),
        keras.optimizers.Adam(learning_rate=config.learning_rate),
        "mse",
        x,
        y,
        batch_size=config.batch_size,
        epochs=config.max_epochs,
        seed=seed,
        validation_data=validation[:2],
        callbacks=[stopping],
    )
    history = history.history
    return model, dict(epochs=len(history["loss"]), seconds=sum(history["seconds"]))


def lstm_walk_forward(trainer, model, scaled, blocks, config):
    """One-step forecasts of every test index, block by block; before each block the model
    trains `update_epochs` more on every window whose target precedes the block."""
    forecasts = np.full(len(scaled), np.nan)
    for start, stop in zip(blocks[:-1], blocks[1:]):
        if config.update_epochs:
            x, y, _ = ts.windows(scaled, config.window, stop=start)
            trainer.train(
                model, x, y, batch_size=config.batch_size, epochs=config.update_epochs, seed=start
            )
        x, _, origins = ts.windows(scaled, config.window, start=start, stop=stop)
        forecasts[origins] = model.predict_on_batch(x)[:, 0]
    return forecasts


def horizon_rows(one_step, direct, returns, scaled, scaler, bounds, lags, config, phi):
    """MSE at horizons 1..H over the test origins: LSTM rollout, direct LSTM, AR rollout, zero."""
    _, validation_end = bounds
    x, _, origins = ts.windows(scaled, config.window, config.horizon, start=validation_end)
    realized = returns[origins[:, None] + np.arange(config.horizon)]
    forecasts = {
        "lstm_rollout": scaler.inverse(
            autoregressive_forecast(one_step, x[..., 0], config.horizon)
        ),
        "lstm_direct": scaler.inverse(direct.predict_on_batch(x)),
        "zero": np.zeros_like(realized),
    }
    params = ts.ar_params(returns[:validation_end], lags)
    path = returns[origins[:, None] + np.arange(-lags, 0)] if lags else np.zeros((len(origins), 0))
    for _ in range(config.horizon):  # the linear AR(p) rolled out on its own forecasts
        following = params[0] + path[:, path.shape[1] - lags :][:, ::-1] @ params[1:]
        path = np.concatenate([path, following[:, None]], axis=1)
    forecasts["ar_rollout"] = path[:, lags:]
    if (
        phi is not None
    ):  # the true model: phi^h times the last realized return (phi = 0: the random walk)
        forecasts["oracle"] = returns[origins - 1][:, None] * phi ** np.arange(
            1, config.horizon + 1
        )
    return [
        dict(
            record="horizon",
            model=model,
            horizon=h + 1,
            mse=np.mean((realized[:, h] - f[:, h]) ** 2),
            forecast_std=np.std(f[:, h]),
        )
        for model, f in forecasts.items()
        for h in range(config.horizon)
    ]


def forecast(trainer, name, prices, config, seed):
    """Fits every model to one price series and forecasts its test period.

    Returns a dict: `returns`; `bounds` (train end, validation end); `scaler`;
    `forecasts`, each model's walk-forward one-step forecasts of `returns` (NaN before
    the test period for the LSTM and AR); `horizons`, the multi-step rows; and the
    LSTM's training `epochs` and `seconds`, and the AR's `lags`.
    """
    returns = ts.log_returns(prices).to_numpy()
    bounds = ts.chronological_split(len(returns), config.validation_fraction, config.test_fraction)
    scaler = ts.Standardizer.fit(returns[: bounds[0]])  # the training period only
    scaled = scaler.transform(returns)
    blocks = np.linspace(bounds[1], len(returns), config.folds + 1).round().astype(int)
    one_step, training = fitted_lstm(trainer, 1, scaled, bounds, config, seed)
    direct, _ = fitted_lstm(trainer, config.horizon, scaled, bounds, config, seed)
    ar_forecasts, lags = ts.ar_walk_forward(returns, bounds, blocks, config.max_lag)
    phi = config.phi if name == "ar1" else 0.0 if name == "random_walk" else None
    # Before the walk-forward updates change the one-step model.
    horizons = horizon_rows(one_step, direct, returns, scaled, scaler, bounds, lags, config, phi)
    lstm = scaler.inverse(lstm_walk_forward(trainer, one_step, scaled, blocks, config))
    return dict(
        returns=returns,
        bounds=bounds,
        scaler=scaler,
        horizons=horizons,
        lags=lags,
        **training,
        forecasts={"lstm": lstm, **ts.baselines(returns), "ar": ar_forecasts},
    )


def run_series(trainer, name, prices, config, seed):
    result = forecast(trainer, name, prices, config, seed)
    returns, lstm = result["returns"], result["forecasts"]["lstm"]
    test = np.arange(result["bounds"][1], len(returns))
    rows = list(result["horizons"])
    for row in ts.evaluate_forecasts(returns, prices.to_numpy(), result["forecasts"], test):
        extra = (
            dict(lags=result["lags"])
            if row["model"] == "ar"
            else dict(epochs=result["epochs"], seconds=result["seconds"])
            if row["model"] == "lstm"
            else {}
        )
        rows.append(dict(record="forecast", **row, **extra))
    # The test period day by day, for the plots; the day before's price is price * exp(-realized).
    dates = prices.index[test + 1]
    rows += [
        dict(
            record="test",
            t=int(t),
            date=str(date.date()) if hasattr(date, "date") else None,
            realized=returns[t],
            lstm=lstm[t],
            price=prices.iloc[t + 1],
        )
        for t, date in zip(test, dates)
    ]
    return rows


def run(config):
    rows, trainer = [], Trainer()
    progress = Progress("stock_forecast", len(config.seeds) * (3 if config.controls else 1))
    for seed in config.seeds:
        for name, prices in load_series(config, seed).items():
            series_rows = run_series(trainer, name, prices, config, seed)
            rows += [dict(seed=seed, series=name, **row) for row in series_rows]
            lstm = next(
                row for row in series_rows if row["record"] == "forecast" and row["model"] == "lstm"
            )
            progress.done(
                "seed=%d %s: LSTM MSE / zero %.3f, direction %.3f, DM p %.3f (%d epochs)",
                seed,
                name,
                lstm["mse_ratio"],
                lstm["directional_accuracy"],
                lstm["dm_p"],
                lstm["epochs"],
            )
    return by_record(rows)


# --- summaries of the table --------------------------------------------------------


def forecast_rows(tables, series, model):
    rows = tables["forecast"]
    rows = rows[(rows["series"] == series) & (rows["model"] == model)]
    if rows.empty:
        raise KeyError(f"no {model} forecasts of {series}")
    return rows.set_index("seed")


def horizon_mse(tables, series, model):
    """Per seed (rows) and horizon (columns): the test MSE of a multi-step forecast."""
    rows = tables["horizon"]
    rows = rows[(rows["series"] == series) & (rows["model"] == model)]
    if rows.empty:
        raise KeyError(f"no {model} horizons for {series}")
    return rows.pivot(index="seed", columns="horizon", values="mse")


def real_series(tables):
    names = [name for name in dict.fromkeys(tables["forecast"]["series"]) if name not in SYNTHETIC]
    if not names:
        raise KeyError("no real series in the tables")
    return names[0]


def summarize(tables):
    rows = tables["forecast"]
    series = list(dict.fromkeys(rows["series"]))
    order = {model: i for i, model in enumerate(MODELS)}
    rows = rows.assign(order=rows["model"].map(order)).sort_values(["order"], kind="stable")
    rows = rows.assign(series=pd.Categorical(rows["series"], series, ordered=True))
    return mean_std_table(
        rows.sort_values("series", kind="stable"),
        ["series", "model"],
        {
            "MSE / zero forecast": "mse_ratio",
            "directional accuracy": "directional_accuracy",
            "Diebold-Mariano p (beats the random walk)": "dm_p",
            "price R^2": "price_r2",
            "AR lags": "lags",
            "LSTM epochs": "epochs",
        },
    )


# --- claims --------------------------------------------------------------------------


def _positive_control(tables):
    lstm, ar = forecast_rows(tables, "ar1", "lstm"), forecast_rows(tables, "ar1", "ar")
    measured = {
        "LSTM MSE / zero": mean_std(lstm["mse_ratio"]),
        "AR(p) MSE / zero": mean_std(ar["mse_ratio"]),
    }
    return measured, measured["LSTM MSE / zero"]["mean"] <= 0.95


def _random_walk(tables):
    lstm = forecast_rows(tables, "random_walk", "lstm")
    measured = {
        "LSTM MSE / zero": mean_std(lstm["mse_ratio"]),
        "directional accuracy": mean_std(lstm["directional_accuracy"]),
    }
    return measured, measured["LSTM MSE / zero"]["mean"] >= 0.98 and abs(
        measured["directional accuracy"]["mean"] - 0.5
    ) <= 0.03


def equivalence_interval(tables):
    """The 95% block-bootstrap interval of the real series' LSTM MSE / zero-return MSE,
    averaged over seeds (`zoo.series.mse_ratio_interval`)."""
    name = real_series(tables)
    test = tables["test"][tables["test"]["series"] == name]
    days = test.pivot(index="t", columns="seed", values="lstm")
    realized = test.groupby("t")["realized"].first().reindex(days.index)
    return ts.mse_ratio_interval(realized.to_numpy(), days.to_numpy().T)


def _real_series(tables):
    lstm = forecast_rows(tables, real_series(tables), "lstm")
    low, high = equivalence_interval(tables)
    measured = {
        "LSTM MSE / zero": mean_std(lstm["mse_ratio"]),
        "95% interval": {"low": low, "high": high},
        "directional accuracy": mean_std(lstm["directional_accuracy"]),
        "Diebold-Mariano p": mean_std(lstm["dm_p"]),
        "smallest p": float(lstm["dm_p"].min()),
    }
    no_edge = (lstm["dm_p"] > 0.05).mean() > 0.5
    return measured, bool(no_edge and 1 - EQUIVALENCE <= low and high <= 1 + EQUIVALENCE)


def _price_illusion(tables):
    name = real_series(tables)
    lstm, persistence = forecast_rows(tables, name, "lstm"), forecast_rows(tables, name, "zero")
    measured = {
        "LSTM price R^2": mean_std(lstm["price_r2"]),
        "persistence price R^2": mean_std(persistence["price_r2"]),
        "LSTM - persistence": mean_std(lstm["price_r2"] - persistence["price_r2"]),
    }
    return measured, measured["LSTM - persistence"]["mean"] <= 0.001


def _rollout(tables):
    rollout, oracle, zero = (
        horizon_mse(tables, "ar1", model) for model in ("lstm_rollout", "oracle", "zero")
    )
    last = int(rollout.columns.max())
    spread = tables["horizon"]
    spread = spread[(spread["series"] == "ar1") & (spread["model"] == "lstm_rollout")]
    spread = spread.pivot(index="seed", columns="horizon", values="forecast_std")
    measured = {
        "h=1 MSE / innovation variance": mean_std(rollout[1] / oracle[1]),
        f"h={last} MSE / h=1 MSE": mean_std(rollout[last] / rollout[1]),
        f"h={last} MSE / series variance": mean_std(rollout[last] / zero[last]),
        "forecast spread h=2 / h=1 (phi)": mean_std(spread[2] / spread[1]),
    }
    return measured, measured["h=1 MSE / innovation variance"]["mean"] <= 1.05 and measured[
        f"h={last} MSE / h=1 MSE"
    ]["mean"] >= 1.05 and abs(measured[f"h={last} MSE / series variance"]["mean"] - 1) <= 0.03


MAKRIDAKIS = (
    "Makridakis et al. 2018, Statistical and machine learning forecasting methods: an LSTM was the "
    "least accurate of ten ML methods on 1,045 M3 series (one-step sMAPE 11.67 vs Naive2 8.59)"
)
CLAIMS = [
    Claim(
        "positive_control",
        "Where there is signal, the same pipeline finds it: on an AR(1) series the LSTM beats the zero forecast.",
        "Theory: for phi = 0.3 the best one-step MSE is 1 - phi^2 = 0.91 of the zero forecast's.",
        "AR(1), phi = 0.3: mean LSTM test MSE / zero-forecast MSE <= 0.95",
        _positive_control,
    ),
    Claim(
        "random_walk",
        "On a random walk there is nothing to learn: the LSTM does no better than a zero return, "
        "nor guesses the direction.",
        "A random walk's increments are independent: no forecast beats zero in expectation.",
        "synthetic random walk: mean LSTM MSE / zero >= 0.98, and directional accuracy within 0.50 +/- 0.03",
        _random_walk,
    ),
    Claim(
        "no_edge_on_stocks",
        "On real stock returns the LSTM does not beat the random walk: its error is the random walk's, within "
        "2%.",
        f"{MAKRIDAKIS}. The efficient-market view: daily returns are close to unpredictable.",
        "real series: one-sided Diebold-Mariano test of LSTM vs zero return, p > 0.05 in more than half the "
        "seeds (no evidence of an edge); and the 95% block-bootstrap interval of the LSTM's MSE / zero's, "
        "averaged over seeds, inside [0.98, 1.02] (evidence of no edge larger than 2% either way)",
        _real_series,
        headline=("LSTM MSE / zero", "95% interval", "Diebold-Mariano p"),
    ),
    Claim(
        "price_illusion",
        "In price terms the LSTM looks excellent, but no better than 'tomorrow's price is today's'.",
        "The issue: tutorials report R^2 ~ 0.99 on price levels; persistence scores the same.",
        "real series: mean R^2 of LSTM-implied prices <= R^2 of persistence (zero return) + 0.001",
        _price_illusion,
    ),
    Claim(
        "rollout_decays",
        "Fed its own predictions, an autoregressive forecast decays to the mean: its error grows with the "
        "horizon to the series' variance, while one step ahead it stays near the innovation variance.",
        "Course: 'the output from one iteration is used as the input into the next'. Theory for AR(1): "
        "the h-step forecast is phi^h r_t, with MSE sigma^2 (1 - phi^2h) / (1 - phi^2).",
        "AR(1) control, LSTM rollout: h=1 MSE <= 1.05 x the true model's; MSE at the last horizon >= 1.05 x "
        "at h=1; and within 3% of the zero forecast's (the series' variance)",
        _rollout,
    ),
]


# --- plots ---------------------------------------------------------------------------


def _first_seed(tables, record):
    rows = tables[record]
    return rows[rows["seed"] == rows["seed"].min()]


def plot_predicted_vs_realized(tables):
    rows = _first_seed(tables, "test")
    names = list(dict.fromkeys(rows["series"]))
    figure, axes = plt.subplots(1, len(names), figsize=(4.5 * len(names), 4.2), squeeze=False)
    for axis, name in zip(axes[0], names):
        points = rows[rows["series"] == name]
        axis.scatter(points["realized"], points["lstm"], s=4, alpha=0.4)
        axis.axhline(0, color="gray", linewidth=0.8)
        axis.set(xlabel="realized return", title=name)
        axis.grid(alpha=0.3)
    axes[0][0].set_ylabel("LSTM forecast")
    figure.suptitle(
        f"One-step forecasts on the test period (seed {int(rows['seed'].min())}): "
        "a slope only where there is signal"
    )
    figure.tight_layout()
    return figure


def plot_error_vs_horizon(tables):
    rows = tables["horizon"]
    names = list(dict.fromkeys(rows["series"]))
    figure, axes = plt.subplots(1, len(names), figsize=(4.5 * len(names), 4.2), squeeze=False)
    for axis, name in zip(axes[0], names):
        zero = horizon_mse(tables, name, "zero")
        for model in [m for m in dict.fromkeys(rows["model"]) if m != "zero"]:
            if (rows[rows["series"] == name]["model"] == model).any():
                ratio = (horizon_mse(tables, name, model) / zero).mean()
                axis.plot(ratio.index, ratio.values, marker=".", label=model)
        axis.axhline(1, color="gray", linestyle=":", label="zero forecast")
        axis.set(xlabel="horizon (days ahead)", title=name)
        axis.grid(alpha=0.3)
        axis.legend(fontsize=7)
    axes[0][0].set_ylabel("test MSE / zero forecast's (mean over seeds)")
    figure.suptitle(
        "Multi-step forecasts: the rollout decays to the mean; nothing beats zero on returns"
    )
    figure.tight_layout()
    return figure


def plot_price_illusion(tables):
    name = real_series(tables)
    rows = _first_seed(tables, "test")
    rows = rows[rows["series"] == name]
    previous = rows["price"] * np.exp(-rows["realized"])
    lstm = previous * np.exp(rows["lstm"])
    x = pd.to_datetime(rows["date"]) if rows["date"].notna().all() else rows["t"]
    figure, axes = plt.subplots(1, 2, figsize=(11, 4.2), gridspec_kw=dict(width_ratios=(2, 1)))
    for axis, last in zip(axes, (len(rows), 40)):
        axis.plot(x[-last:], rows["price"][-last:], color="black", linewidth=1.5, label="price")
        axis.plot(x[-last:], lstm[-last:], color="C0", linewidth=1, label="LSTM")
        axis.plot(
            x[-last:],
            previous[-last:],
            color="C3",
            linewidth=1,
            linestyle="--",
            label="persistence (yesterday's price)",
        )
        axis.grid(alpha=0.3)
        axis.tick_params(axis="x", labelrotation=30)
    summary = {
        model: forecast_rows(tables, name, model)["price_r2"].mean() for model in ("lstm", "zero")
    }
    axes[0].set(
        ylabel="price",
        title=f"{name}, test period: R^2 LSTM {summary['lstm']:.4f}, "
        f"persistence {summary['zero']:.4f}",
    )
    axes[1].set(title="the last 40 days: both a day behind")
    axes[0].legend()
    figure.tight_layout()
    return figure


PLOTS = {
    "predicted_vs_realized.png": plot_predicted_vs_realized,
    "error_vs_horizon.png": plot_error_vs_horizon,
    "price_illusion.png": plot_price_illusion,
}
