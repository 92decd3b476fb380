"""Hyperparameters: a grid, a Bayesian search, and which hyperparameter matters most.

The course: "Hyperparameters - Parameters that determine the network structure and how
the network is trained. Examples: learning rate, number of hidden layers, number of
epochs, batch size"; "The learning rate is a hyperparameter that you can tune ... Try
out a bunch of learning rates and see what works best".

Reproduces two findings about choosing hyperparameters on held-out data. A sequential
model-based search (Bayesian optimization; Snoek, Larochelle & Adams 2012; here
KerasTuner's `BayesianOptimization`) reaches about what an exhaustive grid reaches in a
fraction of its runs. And of the hyperparameters searched, the learning rate decides
most of the result: Bengio 2012 ("Practical recommendations", Sec. 3.1) calls it "the
single most important hyper-parameter", and the functional ANOVA of Hutter, Hoos &
Leyton-Brown 2014 ("An efficient approach for assessing hyperparameter importance")
measures that a few hyperparameters, most often the learning rate, explain most of the
variance of performance.

Design: MNIST-1D (`zoo.datasets`), 3,200 training and 800 validation signals, and its
test set; an MLP of two hidden ReLU layers trained with SGD, batch 128, 15 epochs. Every
run is scored by its lowest validation loss over the epochs, so the number of epochs is
chosen by validation too (the epoch of that loss). The test set is measured every epoch
but chooses nothing: it is read once, at each search's chosen run and epoch.
- Grid: every width (32, 64, 128) at every rate from 0.001 to 10 (three per decade).
- Search: KerasTuner's `BayesianOptimization` over the same space (the rate log-uniform
  between the grid's smallest and largest, the width one of the grid's), 12 trials: under
  a third of the grid's 39 runs.
- Importance: over the grid, the variance of the log of each run's score split into the
  rate's main effect, the width's main effect and their interaction (a two-way ANOVA of
  the complete grid, the functional ANOVA's exact form on a grid).

    python -m experiments run hyperparameter_search      # about a minute, 3 seeds
    python experiments/hyperparameter_search.py --quick  # about 15 seconds, 2 seeds
"""

# `python experiments/NAME.py ...` is `python -m experiments run NAME ...` (runner.script_main).
if __name__ == "__main__":
    import sys
    from pathlib import Path

    sys.path[0] = str(Path(__file__).resolve().parents[1])  # the project, not experiments/
    from experiments.runner import script_main

    script_main(__file__)

import dataclasses
import tempfile

import keras
import keras_tuner
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from experiments.claims import Claim, by_record, mean_std, mean_std_table
from experiments.progress import Progress
from experiments.settings import (
    at_most,
    count_at_least,
    distinct,
    positive,
    seeds_setting,
    setting,
    validate,
)
from zoo import datasets
from zoo.callbacks import EpochEvaluation
from zoo.mlp import build_mlp
from zoo.training import Trainer

TITLE = "Hyperparameters: a grid, a Bayesian search, and which one matters most"
CONCEPT = (
    "Hyperparameters are picked on validation data: a search matches a grid in fewer runs, "
    "and the learning rate matters most."
)
CONCLUSION = (
    "KerasTuner's Bayesian search, with 12 runs, ends within a few percent of the best "
    "validation loss of the 39-run grid over the same rates and widths, and its pick, read "
    "once on the test set, is a few hundredths behind the grid's there too. The grid run in "
    "a random order gets about as close in its first dozen runs (the progress plot): with "
    "one hyperparameter that matters, random search does as well as a model of the loss "
    "(Bergstra & Bengio 2012). Over the grid the learning rate explains nearly all of the "
    "variance of the log validation loss and the width about 1%: width matters only near "
    "the best rate, where wider is a little better."
)


@dataclasses.dataclass(frozen=True)
class Config:
    train_size: int = setting(
        4000, "MNIST-1D training signals, of which a fifth is held out for validation"
    )
    widths: tuple[int, ...] = setting(
        (32, 64, 128),
        "the hidden widths searched (both hidden layers)",
        positive,
        distinct,
        count_at_least(2),
    )
    learning_rates: tuple[float, ...] = setting(
        tuple(float(f"{10 ** (k / 3):.3g}") for k in range(-9, 4)),
        "the grid's SGD learning rates; the search draws between the ends",
        positive,
        distinct,
        count_at_least(3),
    )
    batch_size: int = setting(128, "examples per update", positive)
    epochs: int = setting(15, "the most epochs a run trains; validation picks the epoch", positive)
    tuner_trials: int = setting(
        12, "KerasTuner trials over the rate and the width", positive, at_most(1000)
    )
    seeds: tuple[int, ...] = seeds_setting()

    def __post_init__(self):
        validate(self)
        datasets.check_train_size("mnist1d", self.train_size)


# Quick: 1,000 signals, 8 epochs, two widths, two rates per decade, 2 seeds; the search
# keeps its 12 trials (the grid has 18 runs).
QUICK = dict(
    train_size=1000,
    widths=(32, 64),
    epochs=8,
    learning_rates=tuple(float(f"{10 ** (k / 2):.3g}") for k in range(-6, 3)),
    seeds=(0, 1),
)


def train(trainer, width, rate, splits, config, seed):
    """Per epoch (from 0, before training): the training, validation and test loss and
    accuracy of SGD at `rate` on an MLP of `width`, from the seed's initial weights."""
    (x, y), validation, test = splits
    evaluation = EpochEvaluation.on_splits(
        {"train": (x, y), "val": validation, "test": test}, measure_start=True
    )
    trainer.fit(
        lambda: build_mlp(x.shape[1:], 10, (width, width), "relu"),
        keras.optimizers.SGD(learning_rate=rate),
        "sparse_categorical_crossentropy",
        x,
        y,
        batch_size=config.batch_size,
        epochs=config.epochs,
        seed=seed,
        callbacks=[evaluation, keras.callbacks.TerminateOnNaN()],
    )
    return evaluation.history


def score(history):
    """A run's score: its lowest validation loss over the epochs (a diverged epoch's NaN
    never wins; epoch 0, before training, is always finite)."""
    return float(np.nanmin([point["val_loss"] for point in history]))


class Search(keras_tuner.BayesianOptimization):
    """KerasTuner's Bayesian optimization, each trial trained by `trial_score(rate, width)`
    through the experiment's `Trainer`. Overriding `run_trial` is KerasTuner's documented
    way to train a trial yourself; it skips rebuilding and retracing a model per trial."""

    def __init__(self, trial_score, rates, widths, **kwargs):
        super().__init__(objective=keras_tuner.Objective("val_loss", "min"), **kwargs)
        self.trial_score, self.rates, self.widths = trial_score, rates, widths

    def run_trial(self, trial, *args, **kwargs):
        hp = trial.hyperparameters
        rate = hp.Float("learning_rate", min(self.rates), max(self.rates), sampling="log")
        width = hp.Choice("hidden_units", list(self.widths))
        return {"val_loss": self.trial_score(rate, width)}


def search(trial_score, config, seed):
    """Runs the search; returns the best trial's rate, width and score."""
    with tempfile.TemporaryDirectory() as directory:
        tuner = Search(
            trial_score,
            config.learning_rates,
            config.widths,
            max_trials=config.tuner_trials,
            seed=seed,
            directory=directory,
            project_name="hyperparameter_search",
            overwrite=True,
        )
        tuner.search(verbose=0)
        best = tuner.oracle.get_best_trials(1)[0]
        return best.hyperparameters["learning_rate"], best.hyperparameters["hidden_units"]


def run(config):
    rows, trainer = [], Trainer()
    progress = Progress("hyperparameter_search", 2 * len(config.seeds))
    for seed in config.seeds:
        (x, y), test = datasets.load("mnist1d", seed=seed, train_size=config.train_size)
        train_split, validation = datasets.split_validation(x, y, seed=seed)
        splits = (train_split, validation, test)
        for width in config.widths:
            for rate in config.learning_rates:
                history = train(trainer, width, rate, splits, config, seed)
                rows += [
                    dict(seed=seed, record="grid", hidden_units=width, learning_rate=rate, **point)
                    for point in history
                ]
        progress.done(
            "seed=%d grid of %d runs", seed, len(config.widths) * len(config.learning_rates)
        )

        trials = []

        def trial_score(rate, width):
            history = train(trainer, width, rate, splits, config, seed)
            trials.append((rate, width))
            rows.extend(
                dict(
                    seed=seed,
                    record="trials",
                    trial=len(trials),
                    hidden_units=width,
                    learning_rate=rate,
                    **point,
                )
                for point in history
            )
            return score(history)

        rate, width = search(trial_score, config, seed)
        rows.append(
            dict(
                seed=seed,
                record="pick",
                trial=trials.index((rate, width)) + 1,
                hidden_units=width,
                learning_rate=rate,
            )
        )
        progress.done("seed=%d the search picks rate %.3g, width %d", seed, rate, width)
    return by_record(rows)


# --- summaries of the table --------------------------------------------------------


def runs(tables, record):
    """One row per seed and run of `record` ("grid" or "trials"): its rate, width, score
    (lowest validation loss), the epoch of that score, and the test loss and accuracy
    there."""
    table = tables[record]
    keys = ["seed", "trial"] if record == "trials" else ["seed", "hidden_units", "learning_rate"]
    chosen = table.loc[table["val_loss"].fillna(np.inf).groupby([table[k] for k in keys]).idxmin()]
    return chosen.rename(columns={"val_loss": "score", "epoch": "best_epoch"}).set_index(keys)[
        [c for c in ("hidden_units", "learning_rate") if c not in keys]
        + ["score", "best_epoch", "test_loss", "test_accuracy"]
    ]


def choices(tables):
    """Per seed, the run each search chose: the grid's best run and the tuner's pick."""
    grid = runs(tables, "grid").reset_index()
    best = grid.loc[grid.groupby("seed")["score"].idxmin()].assign(search="grid")
    trials = runs(tables, "trials").reset_index()
    picks = tables["pick"][["seed", "trial"]].merge(trials, on=["seed", "trial"])
    runs_per_seed = {
        "grid": grid.groupby("seed").size(),
        "KerasTuner": trials.groupby("seed").size(),
    }
    out = pd.concat([best, picks.assign(search="KerasTuner")], ignore_index=True)
    out["runs"] = [runs_per_seed[name][seed] for name, seed in zip(out["search"], out["seed"])]
    return out


def summarize(tables):
    return mean_std_table(
        choices(tables),
        ["search"],
        {
            "runs": "runs",
            "learning rate": "learning_rate",
            "hidden width": "hidden_units",
            "epochs (by validation)": "best_epoch",
            "validation loss": "score",
            "test loss": "test_loss",
            "test accuracy": "test_accuracy",
        },
    )


def importance(tables):
    """Per seed: the shares of the variance of log(score) over the grid explained by the
    rate's main effect, the width's and their interaction (two-way ANOVA of a complete
    grid: the shares sum to 1)."""

    def shares(grid):
        scores = np.log(grid["score"].unstack("learning_rate"))  # widths x rates
        total = scores - scores.to_numpy().mean()
        rate = scores.mean(axis=0) - scores.to_numpy().mean()
        width = scores.mean(axis=1) - scores.to_numpy().mean()
        variance = (total.to_numpy() ** 2).mean()
        return pd.Series(
            {
                "learning rate": (rate**2).mean() / variance,
                "width": (width**2).mean() / variance,
                "interaction": 1 - ((rate**2).mean() + (width**2).mean()) / variance,
            }
        )

    return runs(tables, "grid").groupby("seed").apply(lambda grid: shares(grid.droplevel("seed")))


# --- claims --------------------------------------------------------------------------


def _search_matches_grid(tables):
    picked = choices(tables).pivot(index="seed", columns="search")
    ratio = picked["score"]["KerasTuner"] / picked["score"]["grid"]
    measured = {
        "grid's best validation loss": mean_std(picked["score"]["grid"]),
        "search's validation loss": mean_std(picked["score"]["KerasTuner"]),
        "search / grid": mean_std(ratio),
        "search's runs / grid's": mean_std(picked["runs"]["KerasTuner"] / picked["runs"]["grid"]),
    }
    return measured, bool(ratio.mean() <= 1.05)


def _rate_matters_most(tables):
    shares = importance(tables)
    measured = {f"{name}: share of variance": mean_std(shares[name]) for name in shares.columns}
    return measured, bool(shares["learning rate"].mean() > shares["width"].mean())


CLAIMS = [
    Claim(
        "search_matches_the_grid",
        "A Bayesian search over the learning rate and the width reaches the validation loss of a "
        "full grid over them in far fewer runs.",
        "Course: 'try out a bunch of learning rates and see what works best'. Snoek, Larochelle & "
        "Adams 2012; KerasTuner's BayesianOptimization.",
        "mean over seeds: the search's best validation loss within 5% of the grid's best (at most "
        "1.05 times it)",
        _search_matches_grid,
        headline=("search / grid",),
    ),
    Claim(
        "rate_matters_most",
        "Of the learning rate and the width, the learning rate decides more of the validation "
        "loss.",
        "Bengio 2012, Sec. 3.1: 'the single most important hyper-parameter'. Hutter, Hoos & "
        "Leyton-Brown 2014, functional ANOVA.",
        "mean over seeds: the rate's main effect explains a larger share of the variance of the "
        "log validation loss over the grid (rates 0.001 to 10, widths 32 to 128) than the width's",
        _rate_matters_most,
        headline=("learning rate: share of variance", "width: share of variance"),
    ),
]


# --- plots ---------------------------------------------------------------------------


def plot_grid(tables):
    grid = runs(tables, "grid").reset_index()
    trials = runs(tables, "trials").reset_index()
    picks = choices(tables)
    figure, axis = plt.subplots(figsize=(7, 4.5))
    for width, rows in grid.groupby("hidden_units"):
        curve = rows.groupby("learning_rate")["score"].mean()
        (line,) = axis.plot(curve.index, curve.values, "o-", label=f"grid, width {width}")
        tried = trials[trials["hidden_units"] == width]
        axis.plot(tried["learning_rate"], tried["score"], "x", color=line.get_color(), alpha=0.6)
    tuner = picks[picks["search"] == "KerasTuner"]
    axis.plot(
        tuner["learning_rate"], tuner["score"], "*", color="black", ms=12, label="KerasTuner's pick"
    )
    axis.set(
        xscale="log",
        xlabel="SGD learning rate",
        ylabel="lowest validation loss",
        title="Grid (lines, mean over seeds) and search (x: its trials, all seeds)",
    )
    axis.legend(fontsize=8)
    axis.grid(alpha=0.3)
    figure.tight_layout()
    return figure


def plot_progress(tables):
    """Best score so far against runs, for the search in its order and the grid in a random
    order (random search over the grid's points)."""
    grid = runs(tables, "grid").reset_index()
    trials = runs(tables, "trials").reset_index()
    figure, axis = plt.subplots(figsize=(6.5, 4.5))
    for seed, rows in trials.groupby("seed"):
        best = rows.sort_values("trial")["score"].cummin().to_numpy()
        first = seed == trials["seed"].min()
        axis.plot(
            np.arange(1, len(best) + 1), best, color="C0", label="KerasTuner" if first else None
        )
    for seed, rows in grid.groupby("seed"):
        order = np.random.default_rng(seed).permutation(len(rows))
        best = rows["score"].to_numpy()[order]
        axis.plot(
            np.arange(1, len(best) + 1),
            np.minimum.accumulate(best),
            color="C1",
            label="grid, in a random order" if seed == grid["seed"].min() else None,
        )
    axis.set(
        xlabel="runs",
        ylabel="best validation loss so far",
        title="Search against the grid, one line per seed",
    )
    axis.legend()
    axis.grid(alpha=0.3)
    figure.tight_layout()
    return figure


PLOTS = {"grid.png": plot_grid, "progress.png": plot_progress}
