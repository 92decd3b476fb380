"""Learning rates: too high, too low, a range test to find one, and adaptive optimizers.

The course: "If you set it too high you can overshoot the minimum, too low takes a long
time to converge ... try out a bunch of learning rates and see what works best ...
design an adaptive learning rate".

Reproduces two practices and one finding: a log-spaced sweep, where the rate that
works sits between rates that crawl and rates that diverge (Bengio 2012, "Practical
recommendations", Sec. 3.1: "the single most important hyper-parameter"); Smith's
(2017) learning-rate range test, which finds a good rate from one short run whose rate
rises batch by batch; and adaptive optimizers, which scale each weight's step by its own
gradient history (Duchi et al. 2011, Adagrad; Tieleman & Hinton 2012, RMSprop; Kingma &
Ba 2015, Adam) and so, the usual advice goes, are less sensitive to the rate chosen. What
the sweep shows instead is that adaptivity moves the good rates (Adam's step is about the
rate itself, whatever the gradient's scale) without widening the window around them, as
Wilson et al. 2017 found.

Design: MNIST-1D (`zoo.datasets`), 3,200 training and 800 validation signals; an MLP of
two hidden layers of 64 ReLU units; batch 128, 15 epochs. Every run of a seed starts from
the same weights.
- Sweep: SGD, Adam, RMSprop and Adagrad, each at 13 rates from 0.001 to 10 (three per
  decade); the training and validation loss after every epoch. A run is unstable if its
  loss becomes NaN or rises above its start, or it ends collapsed (one class predicted
  for every input). How wide a range of rates keeps an optimizer within 5% of its best
  final training loss, and of its best validation loss, is read off the sweep,
  interpolating in log rate between rates.
- Range test (`zoo.optimization.LearningRateRangeTest`): for each optimizer, the rate
  rising from 1e-5 to 10 over 200 batches; its suggestion is a tenth of the rate at the
  lowest smoothed loss.
Searching the rate together with other hyperparameters is the `hyperparameter_search`
experiment.

    python -m experiments run learning_rate              # about 1.3 minutes, 3 seeds
    python experiments/learning_rate.py --quick          # about 15 seconds, 2 seeds
"""

# `python experiments/NAME.py ...` is `python -m experiments run NAME ...` (runner.script_main).
if __name__ == "__main__":
    import sys
    from pathlib import Path

    sys.path[0] = str(Path(__file__).resolve().parents[1])  # the project, not experiments/
    from experiments.runner import script_main

    script_main(__file__)

import dataclasses

import keras
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from experiments.claims import Claim, by_record, mean_std, mean_std_table, run_outcomes
from experiments.progress import Progress
from experiments.settings import (
    count_at_least,
    distinct,
    layer_widths,
    one_of,
    positive,
    seeds_setting,
    setting,
    validate,
)
from zoo import datasets
from zoo.callbacks import EpochEvaluation
from zoo.mlp import build_mlp
from zoo.optimization import LearningRateRangeTest
from zoo.training import Trainer, classes_predicted

TITLE = "Learning rates: too high, too low, a range test, adaptive optimizers"
CONCEPT = "The learning rate decides whether gradient descent crawls, converges or diverges."
CONCLUSION = (
    "The two failures the course names are both there: SGD at the smallest rate has made "
    "a few percent of the possible progress after 15 epochs, and at the largest it blows "
    "up, to NaN or to a dead network that guesses one class. Smith's range test, one run "
    "of 200 batches, suggests a rate within a decade of the sweep's best, for SGD and for "
    "each adaptive optimizer. Adaptivity moves the good rates, Adam's best about 2.5 "
    "decades below SGD's. Whether it also widens the window depends on what is measured: "
    "on the final training loss Adam stays within 5% of its best over no wider a range of "
    "rates than SGD (about a tenth of a decade each, as Wilson et al. 2017 found), but on "
    "the lowest validation loss its window is about three times SGD's (1.0 against 0.35 "
    "decades), so the claim that it does not widen fails."
)

OPTIMIZERS = {
    "SGD": keras.optimizers.SGD,
    "Adam": keras.optimizers.Adam,
    "RMSprop": keras.optimizers.RMSprop,
    "Adagrad": keras.optimizers.Adagrad,
}
WITHIN = 0.05  # "within 5% of the best final loss"
RANGE_TEST_STEPS = 200


@dataclasses.dataclass(frozen=True)
class Config:
    train_size: int = setting(
        4000, "MNIST-1D training signals, of which a fifth is held out for validation"
    )
    hidden_units: int = setting(
        64, "width of the MLP's two hidden layers in the sweep", layer_widths
    )
    batch_size: int = setting(128, "examples per update", positive)
    epochs: int = setting(15, "epochs of training per learning rate", positive)
    learning_rates: tuple[float, ...] = setting(
        tuple(float(f"{10 ** (k / 3):.3g}") for k in range(-9, 4)),
        "the swept learning rates",
        positive,
        distinct,
        count_at_least(3),
    )
    optimizers: tuple[str, ...] = setting(
        tuple(OPTIMIZERS),
        "optimizers swept over the same rates; must include SGD",
        one_of(*OPTIMIZERS),
        distinct,
    )
    seeds: tuple[int, ...] = seeds_setting()

    def __post_init__(self):
        validate(self)
        datasets.check_train_size("mnist1d", self.train_size)
        if "SGD" not in self.optimizers:
            raise ValueError(f"optimizers must include SGD, got {','.join(self.optimizers)}")


# Quick: 1,000 signals, 8 epochs, two rates per decade, SGD and Adam, 2 seeds.
QUICK = dict(
    train_size=1000,
    epochs=8,
    learning_rates=tuple(float(f"{10 ** (k / 2):.3g}") for k in range(-6, 3)),
    optimizers=("SGD", "Adam"),
    seeds=(0, 1),
)


def train(trainer, optimizer, width, rate, splits, config, seed):
    """Per epoch (from 0, before training): the training and validation loss of a run of
    `optimizer` at learning rate `rate`, from the seed's initial weights for `width`."""
    (x, y), (x_val, y_val) = splits
    evaluation = EpochEvaluation.on_splits(
        {"train": (x, y), "val": (x_val, y_val)}, measure_start=True
    )
    model, _ = trainer.fit(
        lambda: build_mlp(x.shape[1:], 10, (width, width), "relu"),
        OPTIMIZERS[optimizer](learning_rate=rate),
        "sparse_categorical_crossentropy",
        x,
        y,
        batch_size=config.batch_size,
        epochs=config.epochs,
        seed=seed,
        callbacks=[evaluation, keras.callbacks.TerminateOnNaN()],
    )
    history = evaluation.history
    history[-1]["classes_predicted"] = classes_predicted(model, x)  # 1: collapsed
    return history


def range_test(trainer, optimizer, splits, config, seed):
    """Smith's range test from the seed's initial weights: the finished
    `LearningRateRangeTest`."""
    (x, y), _ = splits
    finder = LearningRateRangeTest(1e-5, 10.0, steps=RANGE_TEST_STEPS)
    trainer.fit(
        lambda: build_mlp(x.shape[1:], 10, (config.hidden_units,) * 2, "relu"),
        OPTIMIZERS[optimizer](),  # the test sets the rate
        "sparse_categorical_crossentropy",
        x,
        y,
        batch_size=config.batch_size,
        epochs=-(-RANGE_TEST_STEPS // -(-len(y) // config.batch_size)),
        seed=seed,
        callbacks=[finder],
    )
    return finder


def run(config):
    rows, trainer = [], Trainer()
    progress = Progress("learning_rate", len(config.seeds) * len(config.optimizers))
    for seed in config.seeds:
        (x, y), _ = datasets.load("mnist1d", seed=seed, train_size=config.train_size)
        splits = datasets.split_validation(x, y, seed=seed)
        for optimizer in config.optimizers:
            for rate in config.learning_rates:
                history = train(trainer, optimizer, config.hidden_units, rate, splits, config, seed)
                rows += [
                    dict(
                        seed=seed, record="sweep", optimizer=optimizer, learning_rate=rate, **point
                    )
                    for point in history
                ]
            finder = range_test(trainer, optimizer, splits, config, seed)
            rows += [
                dict(
                    seed=seed,
                    record="range_test",
                    optimizer=optimizer,
                    learning_rate=rate,
                    train_loss=loss,
                    smoothed_loss=smoothed,
                )
                for rate, loss, smoothed in zip(
                    finder.learning_rates, finder.losses, finder.smoothed_losses
                )
            ]
            rows.append(
                dict(
                    seed=seed,
                    record="suggestion",
                    optimizer=optimizer,
                    learning_rate=finder.suggestion(),
                )
            )
            progress.done(
                "seed=%d %s: swept %d rates; the range test suggests %.3g",
                seed,
                optimizer,
                len(config.learning_rates),
                finder.suggestion(),
            )

    return by_record(rows)


# --- summaries of the table --------------------------------------------------------


def sweep_summary(tables):
    """One row per seed, optimizer and rate: the start, the final training loss, whether the
    run was unstable (see `experiments.claims.run_outcomes`), and the lowest validation
    loss over the epochs."""
    runs = tables["sweep"].groupby(["seed", "optimizer", "learning_rate"])
    summary = run_outcomes(runs)
    summary["best_val"] = runs["val_loss"].min()
    return summary


def best_rates(tables, column):
    """Per seed and optimizer: the rate with the lowest `column` of `sweep_summary`."""
    return (
        sweep_summary(tables)[column]
        .dropna()
        .groupby(["seed", "optimizer"])
        .idxmin()
        .map(lambda key: key[2])
    )


def near_best_width(tables, column="final"):
    """Per seed and optimizer: how many decades of learning rate, around the best, keep
    `column` of `sweep_summary` (the final training loss, or "best_val", the lowest
    validation loss over the epochs) within WITHIN of the best.

    Between grid rates the loss is interpolated linearly in log rate: a grid a third of a
    decade apart cannot otherwise tell a range of 0.05 decades from one of 0.3. A diverged
    run counts as above the threshold; a range reaching the grid's end stops there.
    """

    def width(runs):
        final = runs[column].droplevel(["seed", "optimizer"]).sort_index()
        losses, logs = final.fillna(np.inf).to_numpy(), np.log10(final.index.to_numpy())
        best = int(np.argmin(losses))
        threshold = (1 + WITHIN) * losses[best]

        def edge(step):
            i = best
            while 0 <= i + step < len(losses) and losses[i + step] <= threshold:
                i += step
            if not 0 <= i + step < len(losses):
                return logs[i]
            outside = losses[i + step]
            fraction = 0.0 if np.isinf(outside) else (threshold - losses[i]) / (outside - losses[i])
            return logs[i] + fraction * (logs[i + step] - logs[i])

        return float(edge(1) - edge(-1))

    return sweep_summary(tables).groupby(["seed", "optimizer"]).apply(width)


def summarize(tables):
    summary = sweep_summary(tables)
    per_run = pd.DataFrame(
        {
            "best_rate": best_rates(tables, "final"),
            "best_final": summary["final"].groupby(["seed", "optimizer"]).min(),
            "best_val_rate": best_rates(tables, "best_val"),
            "width": near_best_width(tables),
            "val_width": near_best_width(tables, "best_val"),
            "unstable": summary["unstable"].groupby(["seed", "optimizer"]).sum(),
        }
    )
    suggestions = tables["suggestion"].set_index(["seed", "optimizer"])["learning_rate"]
    per_run["suggestion"] = suggestions
    out = mean_std_table(
        per_run.reset_index(),
        ["optimizer"],
        {
            "best rate (training loss)": "best_rate",
            "its final training loss": "best_final",
            f"decades within {WITHIN:.0%} of it": "width",
            f"decades within {WITHIN:.0%} of the best validation loss": "val_width",
            "best rate (validation loss)": "best_val_rate",
            "range test suggests": "suggestion",
            "unstable rates": "unstable",
        },
    )
    return out


# --- claims --------------------------------------------------------------------------


def _extremes(tables):
    summary = sweep_summary(tables).xs("SGD", level="optimizer")
    rates = summary.index.unique("learning_rate")
    largest, smallest = (
        summary.xs(rates.max(), level="learning_rate"),
        summary.xs(rates.min(), level="learning_rate"),
    )
    best = summary["final"].groupby("seed").min()
    # The share of the gap from the start to the best final loss.
    closed = (largest["start"] - smallest["final"]) / (largest["start"] - best)
    measured = {
        "largest rate": float(rates.max()),
        "runs that diverged there": int(largest["unstable"].sum()),
        "of": len(largest),
        "of them NaN": int(largest["final"].isna().sum()),
        "collapsed to one class, loss finite": int(
            (largest["final"].notna() & (largest["classes"] <= 1)).sum()
        ),
        "smallest rate": float(rates.min()),
        "its final loss": mean_std(smallest["final"]),
        "best final loss": mean_std(best),
        "share of the start-to-best drop it made": mean_std(closed),
    }
    return measured, bool(largest["unstable"].mean() > 0.5 and closed.mean() < 0.5)


def _range_test_close(tables):
    best = best_rates(tables, "best_val").xs("SGD", level="optimizer")
    picks = tables["suggestion"]
    picks = picks[picks["optimizer"] == "SGD"].set_index("seed")["learning_rate"]
    distance = np.log10(picks / best.reindex(picks.index))
    measured = {
        "sweep's best rate": mean_std(best),
        "suggestion rate": mean_std(picks),
        "log10(pick / best)": mean_std(distance),
    }
    measured["mean |log10(pick / best)|"] = float(distance.abs().mean())
    return measured, bool(distance.abs().mean() <= 1)


def _adaptive_moves_the_rate(tables):
    best = np.log10(best_rates(tables, "best_val")).unstack("optimizer")
    if "Adam" not in best.columns:
        raise KeyError("no Adam in the sweep")
    shift = best["SGD"] - best["Adam"]
    widths = {
        "training loss": near_best_width(tables).unstack("optimizer"),
        "validation loss": near_best_width(tables, "best_val").unstack("optimizer"),
    }
    measured = {"log10(SGD's best rate / Adam's)": mean_std(shift)}
    for loss, width in widths.items():
        measured |= {
            f"{name}: decades within {WITHIN:.0%}, {loss}": mean_std(width[name])
            for name in width.columns
        }
    validation = widths["validation loss"].mean()
    return measured, bool(shift.mean() >= 1 and validation["Adam"] <= 2 * validation["SGD"])


CLAIMS = [
    Claim(
        "too_high_too_low",
        "Too high a learning rate overshoots and diverges; too low a rate crawls and ends far above the best.",
        "Course: 'If you set it too high you can overshoot the minimum, too low takes a long time to converge'. "
        "Bengio 2012, Sec. 3.1.",
        "SGD: the largest rate diverges in more than half of the seeds (its loss NaN or above its start, or "
        "the network collapsed to one class for every input); the smallest makes, on average over seeds, "
        "less than half of the drop from the start to the best final loss",
        _extremes,
        headline=("runs that diverged there", "share of the start-to-best drop it made"),
    ),
    Claim(
        "range_test_finds_the_rate",
        "One short run of Smith's range test finds a learning rate close to the one a full sweep finds.",
        "Smith 2017, Cyclical learning rates for training neural networks, Sec. 3.3.",
        "SGD, mean over seeds: the suggestion (a tenth of the rate at the lowest smoothed loss) within 10x "
        "of the sweep's best rate by validation loss (mean |log10(pick / best)| <= 1)",
        _range_test_close,
        headline=("log10(pick / best)",),
    ),
    Claim(
        "adaptive_moves_the_rate",
        "Adaptivity moves where the good learning rates lie, far below SGD's, rather than widening the range "
        "of rates that work.",
        "Course: 'design an adaptive learning rate'. Kingma & Ba 2015 (Adam's step is about the rate itself); "
        "Wilson et al. 2017, The marginal value of adaptive gradient methods.",
        f"mean over seeds: Adam's best rate by validation loss at least 10x below SGD's; and its range of rates "
        f"within {WITHIN:.0%} of its best validation loss no more than twice as wide (in decades) as SGD's "
        "(the ranges on the final training loss are shown too)",
        _adaptive_moves_the_rate,
        headline=(
            "log10(SGD's best rate / Adam's)",
            "SGD: decades within 5%, validation loss",
            "Adam: decades within 5%, validation loss",
        ),
    ),
]


# --- plots ---------------------------------------------------------------------------


def plot_curves(tables):
    sweep = tables["sweep"][tables["sweep"]["optimizer"] == "SGD"]
    figure, axis = plt.subplots(figsize=(7.5, 4.5))
    colors = plt.cm.viridis(np.linspace(0, 1, sweep["learning_rate"].nunique()))
    for color, (rate, rows) in zip(colors, sweep.groupby("learning_rate")):
        curve = rows.groupby("epoch")["train_loss"].mean()
        axis.plot(curve.index, curve.values, color=color, label=f"{rate:.3g}")
    axis.set(
        xlabel="epoch",
        ylabel="training loss (mean over seeds)",
        yscale="log",
        ylim=(None, 5),
        title="SGD: small rates crawl, large ones diverge",
    )
    axis.legend(
        title="learning rate", fontsize=7, ncol=2, loc="center left", bbox_to_anchor=(1, 0.5)
    )
    axis.grid(alpha=0.3)
    figure.tight_layout()
    return figure


def plot_sweep(tables):
    summary = sweep_summary(tables).reset_index()
    suggestions = tables["suggestion"]
    figure, axis = plt.subplots(figsize=(6.5, 4.5))
    for optimizer, rows in summary.groupby("optimizer", sort=False):
        final = rows.groupby("learning_rate")["final"].mean()
        (line,) = axis.plot(final.index, final.values, "o-", label=optimizer)
        suggested = suggestions.loc[suggestions["optimizer"] == optimizer, "learning_rate"]
        axis.plot(suggested, np.full(len(suggested), 0.2), "v", color=line.get_color())
    axis.set(
        xscale="log",
        yscale="log",
        xlabel="learning rate",
        ylabel="final training loss (mean over seeds)",
        title="Each optimizer's sweep (v: its range test's suggestions)",
    )
    axis.legend(fontsize=8)
    axis.grid(alpha=0.3)
    return figure


def plot_range_test(tables):
    tests = tables["range_test"]
    suggestions = tables["suggestion"]
    figure, axis = plt.subplots(figsize=(6.5, 4.5))
    top = 0.0
    for optimizer, rows in tests.groupby("optimizer", sort=False):
        first = rows[rows["seed"] == rows["seed"].min()]
        (line,) = axis.plot(first["learning_rate"], first["smoothed_loss"], label=optimizer)
        top = max(top, 2 * first["smoothed_loss"].iloc[0])
        for rate in suggestions.loc[suggestions["optimizer"] == optimizer, "learning_rate"]:
            axis.axvline(rate, color=line.get_color(), linestyle=":", alpha=0.6)
    axis.set(
        xscale="log",
        ylim=(0, top),
        xlabel="learning rate (rising every batch)",
        ylabel="smoothed training loss (first seed)",
        title="Range test: the loss falls, then blows up (dotted: suggestions)",
    )
    axis.legend()
    axis.grid(alpha=0.3)
    return figure


PLOTS = {"sgd_curves.png": plot_curves, "sweep.png": plot_sweep, "range_test.png": plot_range_test}
