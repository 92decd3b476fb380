"""Full batch vs stochastic vs mini-batch gradient descent; epochs.

The course: "A gradient over the whole dataset is very expensive ... stochastic gradient
descent picks a single point (noisy but easy) ... mini-batch of 10s or 100s of examples
is a happy medium ... more accurate gradients lead to smoother convergence and a larger
learning rate ... parallelizable"; "One epoch is when all the training data is used once".

Reproduces the trade-off behind every batch size choice (Bottou, Curtis & Nocedal 2018,
"Optimization methods for large-scale machine learning", Sec. 4): a mini-batch gradient
is an unbiased estimate of the full one whose variance falls as 1/B; per epoch, small
batches take many more steps and so make more progress; per second, hardware does a
batch of tens or hundreds in about the time of one example, so mini-batches win; and a
less noisy gradient tolerates a larger learning rate (Goyal et al. 2017 scale it
linearly with the batch size, up to 8k images).

Design: MNIST-1D (4,000 training signals of length 40, 10 classes; `zoo.datasets`), one
MLP of two hidden layers of 64 ReLU units, plain SGD, batch sizes 1, 32, 128 and the full
4,000 (`zoo.training.Trainer`: shuffled every epoch; the full batch is the whole set at
every step). Every run of a seed starts from the same weights.
- Gradient noise (`zoo.optimization.gradient_noise`): the mean squared distance of the
  mini-batch gradient from the full gradient, for B = 1, 2, 4, ..., 256, 64 batches each,
  at initialization and after training (the end of the batch-128 run with the lowest
  final loss).
- Training: each batch size at each learning rate 4^-4 ... 4 (1/256 to 4) for 1 / 15 / 45
  / 250 epochs (about half a second of updates each here), the training loss measured 25
  times per run. A run is unstable if its loss goes above where it started, becomes NaN,
  or ends collapsed (one class predicted for every input: a blow-up killed the ReLUs).
- Per epoch and per second: each batch size's best rate (lowest final loss). Its wall
  seconds are its updates times its median seconds per update, timed by
  `zoo.callbacks.EpochTimer` around the training steps alone; measuring never counts.
  Epochs are compared at the full batch's first measurement (10 epochs), seconds at
  the end of the shortest best run. Those timings are the lesson, so unlike the other
  experiments this one's table, claims and plots change from run to run with the
  machine's speed (the timings themselves are stored in `timings.csv`), and its
  per-second claim is judged on each run as it came.

    python -m experiments run gradient_descent              # about 1.5 minutes, 3 seeds
    python experiments/gradient_descent.py --quick          # about 15 seconds, 2 seeds
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

from experiments.claims import Claim, by_record, mean_std, mean_std_table, run_outcomes
from experiments.progress import Progress
from experiments.settings import (
    at_most,
    distinct,
    layer_widths,
    non_negative,
    one_of,
    positive,
    seeds_setting,
    setting,
    validate,
)
from zoo import datasets
from zoo.callbacks import EpochEvaluation
from zoo.mlp import build_mlp
from zoo.optimization import gradient_noise
from zoo.training import Trainer, classes_predicted

TITLE = "Full batch vs stochastic vs mini-batch gradient descent"
CONCEPT = "Mini-batches trade gradient noise against cost: many cheap noisy steps, or few exact expensive ones."
CONCLUSION = (
    "A mini-batch gradient scatters around the full gradient with a variance that falls as "
    "1/B, as sampling theory says. Per epoch, the smaller the batch the more updates and the "
    "more progress; per example, though, small batches are dear: an update on 32 or 128 "
    "examples costs little more than one on a single example, because the hardware does "
    "the examples of a batch together, so per second the mini-batches win and single "
    "examples come last. The full batch is exact but slow per second, and single examples "
    "are so noisy that they blow up at learning rates that mini-batches and the full batch "
    "handle: the largest stable rate grows with the batch, though far less than in "
    "proportion to it (Goyal et al.'s linear rule), and a rate only just stable (such as "
    "the full batch's 4) trains erratically."
)

SLOPE_TOLERANCE = 0.25  # of the log-log slope of gradient variance against batch size, around -1
MEASUREMENTS = 25  # of the training loss per run, evenly spaced in updates


@dataclasses.dataclass(frozen=True)
class Config:
    dataset: str = setting("mnist1d", "the dataset to fit", one_of(*datasets.NAMES))
    train_size: int | None = setting(
        None, "a stratified subset of the training set; none: all of it"
    )
    hidden_units: tuple[int, ...] = setting((64, 64), "the MLP's hidden layer widths", layer_widths)
    batch_sizes: tuple[int, ...] = setting(
        (1, 32, 128, 0),
        "batch sizes to compare; 0: the whole training set, full-batch gradient descent",
        non_negative,
        distinct,
    )
    epochs: tuple[float, ...] = setting(
        (1, 15, 45, 250), "epochs of training, one value per batch size", positive
    )
    learning_rates: tuple[float, ...] = setting(
        tuple(4.0**k for k in range(-4, 2)),
        "SGD learning rates swept for every batch size",
        positive,
        distinct,
    )
    noise_batch_sizes: tuple[int, ...] = setting(
        (1, 2, 4, 8, 16, 32, 64, 128, 256),
        "batch sizes at which the gradient noise is measured",
        positive,
        distinct,
    )
    noise_draws: int = setting(
        64, "mini-batches drawn per noise measurement", positive, at_most(100_000)
    )
    seeds: tuple[int, ...] = seeds_setting()

    def __post_init__(self):
        validate(self)
        datasets.check_train_size(self.dataset, self.train_size)
        size = self.train_size or datasets.TRAIN_SIZES[self.dataset]
        if max(self.batch_sizes) > size or max(self.noise_batch_sizes) > size:
            raise ValueError(
                f"batch_sizes and noise_batch_sizes must be at most the training set's {size}"
            )
        if len({batch or size for batch in self.batch_sizes}) < len(self.batch_sizes):
            raise ValueError(
                f"batch_sizes must not name the full batch twice (0 is the training set's {size})"
            )
        if len(self.epochs) != len(self.batch_sizes):
            raise ValueError(
                f"give one epochs value per batch size, got {len(self.epochs)} for "
                f"{len(self.batch_sizes)}"
            )

    def resolved(self):
        size = self.train_size or datasets.TRAIN_SIZES[self.dataset]
        return {
            "train_size": size,
            "batch_sizes": tuple(batch or size for batch in self.batch_sizes),
        }


# Quick: 1,000 training signals, shorter runs, fewer batch sizes for the noise, 2 seeds.
# The noise keeps its 64 draws per batch size: with 16, the slope after training scatters
# by about 0.13 from seed to seed, half the claim's tolerance.
QUICK = dict(
    train_size=1000,
    epochs=(1, 5, 15, 50),
    learning_rates=tuple(4.0**k for k in range(-3, 2)),
    noise_batch_sizes=(1, 4, 16, 64),
    seeds=(0, 1),
)


def train_rows(trainer, build, rate, batch_size, interval, measurements, x, y, seed):
    """One run at learning rate `rate`: the training loss every `interval` updates, and
    the seconds those updates took (measuring excluded)."""
    evaluation = EpochEvaluation.on_splits({"train": (x, y)}, measure_start=True)
    # TerminateOnNaN: a run that blows up stops at once; its remaining updates would only cost time.
    model, history = trainer.fit(
        build,
        keras.optimizers.SGD(learning_rate=rate),
        "sparse_categorical_crossentropy",
        x,
        y,
        batch_size=batch_size,
        epochs=measurements,
        steps_per_epoch=interval,
        seed=seed,
        callbacks=[evaluation, keras.callbacks.TerminateOnNaN()],
    )
    history = history.history
    seconds = [0.0, *history["seconds"]]  # the start took none
    rows = [
        dict(update=point["epoch"] * interval, train_loss=point["train_loss"], seconds=took)
        for point, took in zip(evaluation.history, seconds)
    ]
    rows[-1]["classes_predicted"] = classes_predicted(model, x)  # 1: collapsed
    return rows, model


def run(config):
    rows, trainer = [], Trainer()
    progress = Progress("gradient_descent", len(config.seeds) * len(config.batch_sizes))
    for seed in config.seeds:
        (x, y), _ = datasets.load(config.dataset, seed=seed, train_size=config.train_size)
        x = x.reshape(len(x), -1)

        def build():
            return build_mlp(x.shape[1:], 10, config.hidden_units, "relu")

        probe = trainer.fresh(build, seed)  # where every run of the seed starts
        rows += noise_rows(probe, x, y, config, seed, "initialization")
        # Gradient noise after training, too: at the end of the largest mini-batch's best run.
        sizes = [size or len(x) for size in config.batch_sizes]
        trained_size, trained = (
            max([size for size in sizes if 1 < size < len(x)], default=None),
            (np.inf, None),
        )
        for batch_size, epochs in zip(sizes, config.epochs):
            steps = -(-len(x) // batch_size)
            interval = max(1, round(epochs * steps / MEASUREMENTS))
            finals = {}
            for rate in config.learning_rates:
                measurements = max(1, round(epochs * steps / interval))
                run_rows, model = train_rows(
                    trainer, build, rate, batch_size, interval, measurements, x, y, seed
                )
                rows += [
                    dict(
                        seed=seed,
                        record="train",
                        batch_size=batch_size,
                        updates_per_epoch=steps,
                        learning_rate=rate,
                        epoch=row["update"] / steps,
                        **row,
                    )
                    for row in run_rows
                ]
                final = run_rows[-1]["train_loss"]
                finals[rate] = round(final, 3)
                if batch_size == trained_size and final < trained[0]:
                    trained = (final, model.get_weights())
            progress.done(
                "seed=%d B=%d final training loss by rate: %s",
                seed,
                batch_size,
                ", ".join(f"{rate:g}: {loss:.3f}" for rate, loss in finals.items()),
            )
        if trained[1] is not None:
            probe.set_weights(trained[1])
            rows += noise_rows(probe, x, y, config, seed, "after training")
    return by_record(rows)


def noise_rows(model, x, y, config, seed, point):
    squared_norm, variances = gradient_noise(
        model, x, y, config.noise_batch_sizes, config.noise_draws, seed
    )
    return [
        dict(
            seed=seed,
            record="noise",
            point=point,
            batch_size=size,
            variance=variance,
            gradient_squared_norm=squared_norm,
        )
        for size, variance in variances.items()
    ]


# --- summaries of the table --------------------------------------------------------


def run_summary(tables):
    """One row per seed, batch size and learning rate: the start, the end, and whether the
    run was stable (see `experiments.claims.run_outcomes`)."""
    train = tables["train"]
    summary = run_outcomes(train.groupby(["seed", "batch_size", "learning_rate"]))
    summary["stable"] = ~summary["unstable"]
    return summary


def largest_stable_rate(tables):
    """Per seed and batch size: the largest rate below the smallest unstable one (NaN: none)."""

    def largest(runs):
        runs = runs.droplevel(["seed", "batch_size"]).sort_index()
        unstable = runs.index[~runs["stable"]]
        below = runs.index[runs.index < unstable.min()] if len(unstable) else runs.index
        return below.max() if len(below) else np.nan

    return run_summary(tables).groupby(["seed", "batch_size"]).apply(largest)


def best_curves(tables):
    """The measurements of each seed's and batch size's best run (lowest final loss), with
    the wall seconds its updates took: updates times the batch size's median seconds per update."""
    summary = run_summary(tables)
    best = summary[np.isfinite(summary["final"])].groupby(["seed", "batch_size"])["final"].idxmin()
    train = tables["train"].set_index(["seed", "batch_size", "learning_rate"])
    curves = train.loc[list(best)].reset_index()
    timed = train[train["update"] > 0].copy()
    timed["per_update"] = timed["seconds"] / timed.groupby(level=[0, 1, 2])["update"].diff().fillna(
        timed["update"]
    )
    per_update = timed.groupby(level=["seed", "batch_size"])["per_update"].median()
    curves["seconds_per_update"] = curves.set_index(["seed", "batch_size"]).index.map(per_update)
    curves["wall_seconds"] = curves["update"] * curves["seconds_per_update"]
    return curves


def loss_at(curves, column, limits):
    """Per seed and batch size: the loss at the last measurement with `column` <= the seed's limit."""
    within = curves[curves[column] <= curves["seed"].map(limits) + 1e-9]
    return within.groupby(["seed", "batch_size"])["train_loss"].last().unstack("batch_size")


def per_epoch_and_second(tables):
    """Losses at a common number of epochs (the full batch's first measurement) and at a
    common wall time (the shortest of the best runs), per seed and batch size."""
    curves = best_curves(tables)
    full = curves["batch_size"].max()
    first = (
        curves[(curves["batch_size"] == full) & (curves["update"] > 0)]
        .groupby("seed")["epoch"]
        .min()
    )
    shortest = curves.groupby(["seed", "batch_size"])["wall_seconds"].max().groupby("seed").min()
    return (
        loss_at(curves, "epoch", first),
        first,
        loss_at(curves, "wall_seconds", shortest),
        shortest,
    )


def summarize(tables):
    curves = best_curves(tables)
    last = curves.groupby(["seed", "batch_size"]).last()
    last["largest_stable"] = largest_stable_rate(tables)
    last["ms_per_update"] = 1000 * last["seconds_per_update"]
    last["seconds_per_epoch"] = last["seconds_per_update"] * last["updates_per_epoch"]
    return mean_std_table(
        last.reset_index(),
        ["batch_size"],
        {
            "updates per epoch": "updates_per_epoch",
            "ms per update": "ms_per_update",
            "seconds per epoch": "seconds_per_epoch",
            "largest stable rate": "largest_stable",
            "best rate": "learning_rate",
            "epochs run": "epoch",
            "final training loss (best rate)": "train_loss",
        },
    )


# --- claims --------------------------------------------------------------------------


def noise_slopes(tables):
    """Per seed and point: the slope of log variance against log batch size."""
    noise = tables["noise"]
    if noise.empty:
        raise KeyError("no gradient noise measured")
    return noise.groupby(["point", "seed"]).apply(
        lambda rows: float(np.polyfit(np.log(rows["batch_size"]), np.log(rows["variance"]), 1)[0])
    )


def _noise_falls_as_1_over_b(tables):
    slopes = noise_slopes(tables)
    measured = {
        f"slope, {point}": mean_std(slopes[point]) for point in slopes.index.unique("point")
    }
    means = slopes.groupby("point").mean()
    return measured, bool((means - (-1)).abs().max() <= SLOPE_TOLERANCE)


def _small_batches_per_epoch(tables):
    losses, epochs, _, _ = per_epoch_and_second(tables)
    full = losses.columns.max()
    measured = {"epochs compared": mean_std(epochs)}
    measured |= {f"B={size} loss": mean_std(losses[size]) for size in losses.columns}
    means = losses.mean()
    return measured, bool((means.drop(full) < means[full]).all())


def _minibatch_per_second(tables):
    _, _, losses, seconds = per_epoch_and_second(tables)
    one, full = losses.columns.min(), losses.columns.max()
    measured = {"seconds compared": mean_std(seconds)}
    measured |= {f"B={size} loss": mean_std(losses[size]) for size in losses.columns}
    middle = losses.drop(columns=[one, full])
    if middle.empty:
        raise KeyError("no batch size between 1 and the full batch")
    means = losses.mean()
    best_middle = means[middle.columns].min()
    return measured, bool(best_middle < means[one] and best_middle < means[full])


def _stable_rate_grows(tables):
    stable = largest_stable_rate(tables).unstack("batch_size")
    measured = {
        f"B={size}: log2 largest stable rate": mean_std(np.log2(stable[size]))
        for size in stable.columns
    }
    # Mean over seeds of log2 of the largest stable rate; no stable rate counts as the
    # smallest rate tried, halved.
    floor = np.log2(tables["train"]["learning_rate"].min()) - 1
    means = np.log2(stable[sorted(stable.columns)]).fillna(floor).mean().to_numpy()
    grows = (np.diff(means) >= 0).all() and means[-1] > means[0]
    return measured, bool(grows)


CLAIMS = [
    Claim(
        "noise_falls_as_1_over_b",
        "A mini-batch gradient is a noisy estimate of the full gradient whose variance falls as one over the "
        "batch size.",
        "Course: 'stochastic gradient descent picks a single point (noisy but easy)'. Bottou, Curtis & Nocedal "
        "2018, Sec. 4: E||g_B - g||^2 = tr(Sigma) / B.",
        f"mean over seeds, at initialization and after training: log-log slope of E||g_B - g||^2 against B "
        f"within -1 +/- {SLOPE_TOLERANCE}",
        _noise_falls_as_1_over_b,
    ),
    Claim(
        "small_batches_per_epoch",
        "Per epoch, small batches make more progress than the full batch: they take many more steps.",
        "Course: 'One epoch is when all the training data is used once'; 'a gradient over the whole dataset "
        "is very expensive'.",
        "mean over seeds: at the full batch's first measurement, every smaller batch size's training loss, "
        "after no more epochs, is lower",
        _small_batches_per_epoch,
        headline=("B=32 loss", "B=4000 loss"),
    ),
    Claim(
        "minibatch_per_second",
        "Per wall second, mini-batches beat both extremes: a batch of tens or hundreds costs little more than "
        "one example, and much less than the whole set.",
        "Course: 'mini-batch of 10s or 100s of examples is a happy medium ... parallelizable'.",
        "mean over seeds, at the wall time of the shortest best run: the lowest training loss among the "
        "batch sizes between 1 and full is below both batch size 1's and the full batch's",
        _minibatch_per_second,
        headline=("B=1 loss", "B=32 loss"),
    ),
    Claim(
        "stable_rate_grows",
        "Larger batches, with their more accurate gradients, tolerate larger learning rates.",
        "Course: 'more accurate gradients lead to smoother convergence and a larger learning rate'. Goyal "
        "et al. 2017 scale the rate linearly with the batch size.",
        "mean over seeds of log2 of the largest stable rate (none stable: half the smallest rate tried): it "
        "never falls as the batch grows, and is larger for the full batch than for batch size 1",
        _stable_rate_grows,
        headline=("B=1: log2 largest stable rate", "B=4000: log2 largest stable rate"),
    ),
]


# --- plots ---------------------------------------------------------------------------


def plot_noise(tables):
    noise = tables["noise"]
    figure, axis = plt.subplots(figsize=(6.5, 4.5))
    for point, rows in noise.groupby("point", sort=False):
        mean = rows.groupby("batch_size")["variance"].mean()
        axis.loglog(mean.index, mean.values, "o-", label=point)
        axis.loglog(mean.index, mean.iloc[0] / mean.index, ":", color="gray")
    axis.set(
        xlabel="batch size B",
        ylabel="E ||g_B - g||^2 (mean over seeds)",
        title="Gradient noise falls as 1/B (dotted: exactly 1/B)",
    )
    axis.legend()
    axis.grid(alpha=0.3, which="both")
    return figure


def plot_progress(tables):
    curves = best_curves(tables)
    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    for size, rows in curves.groupby("batch_size"):
        label = f"B={size}" + (" (full)" if size == curves["batch_size"].max() else "")
        mean = rows.groupby("update")[["epoch", "wall_seconds", "train_loss"]].mean()
        left.plot(mean["epoch"].where(mean["epoch"] > 0), mean["train_loss"], label=label)
        right.plot(mean["wall_seconds"], mean["train_loss"], label=label)
    left.set(
        xscale="log",
        xlabel="epochs",
        ylabel="training loss (best rate, mean over seeds)",
        title="Per epoch, small batches make the most progress",
    )
    right.set(
        xlabel="wall seconds of training",
        ylabel="training loss",
        title="Per second, mini-batches win",
    )
    for axis in (left, right):
        axis.legend()
        axis.grid(alpha=0.3)
    figure.tight_layout()
    return figure


def plot_stability(tables):
    summary = run_summary(tables).reset_index()
    figure, axis = plt.subplots(figsize=(6.5, 4.5))
    for size, rows in summary.groupby("batch_size"):
        mean = rows.groupby("learning_rate").agg({"final": "mean", "stable": "all"})
        (line,) = axis.plot(mean.index, mean["final"], "o-", label=f"B={size}")
        unstable = mean[~mean["stable"]]
        axis.plot(
            unstable.index,
            unstable["final"].fillna(summary["start"].max()),
            "x",
            color=line.get_color(),
            markersize=10,
        )
    axis.set(
        xscale="log",
        xlabel="learning rate",
        ylabel="final training loss (mean over seeds)",
        title="Larger batches tolerate larger rates (x: unstable in a seed)",
    )
    axis.legend()
    axis.grid(alpha=0.3)
    return figure


PLOTS = {
    "gradient_noise.png": plot_noise,
    "progress.png": plot_progress,
    "stability.png": plot_stability,
}
