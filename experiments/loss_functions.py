"""Loss functions: cross-entropy against squared error for a classifier.

The course: "The loss function is a continuous function used to calculate the loss ... a
loss function is just a function of the set of weights".

Reproduces the reason classifiers are trained with cross-entropy rather than squared
error (Golik, Doetsch & Ney 2013; Nielsen, Neural networks and deep learning, ch. 3):
through a saturated softmax or sigmoid the squared error's gradient all but vanishes,
even when the output is confidently wrong, so learning from a bad start is slow. A learning rate can hide or
fake that difference (a small gradient times a large rate is a normal step), so each
loss is compared at its own best rate.

Design:
- Saturation on paper: one softmax layer of 2 classes whose logits put a margin m against
  the true class; the gradient norm at the logits under each loss, m from 0 to 10.
- Training: scikit-learn's digits (a fifth of the training set held out for validation),
  one hidden layer of 64 tanh units, SGD, batch 32, at most 100 epochs, each loss at each
  learning rate 0.1, 0.3, 1, 3 and 10, from two starts: Keras's initialization, and the
  same weights with the output bias of class 0 raised by 10, so that the network says
  "0" with probability above 0.99 for every input: confidently wrong on 90% of them. A run
  stops when validation accuracy reaches 0.9; its epochs to 0.9 are compared at each
  loss's best rate (the fewest epochs; the test set chooses nothing). At the wrong start
  the gradient norm over all weights is measured under each loss (`zoo.training.gradients`).
- The loss as a function of the weights: around each trained cross-entropy network,
  the training loss along one random direction (and a plane of two), each direction
  scaled layer by layer to the weights' norm (Li et al. 2018).

    python -m experiments run loss_functions        # about a minute, 3 seeds
    python experiments/loss_functions.py --quick    # about 15 seconds, 2 seeds
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

from experiments.claims import Claim, by_record, mean_std, mean_std_table
from experiments.progress import Progress
from experiments.settings import (
    at_least,
    at_most,
    distinct,
    layer_widths,
    positive,
    seeds_setting,
    setting,
    validate,
)
from zoo import backprop as bp
from zoo import datasets
from zoo.callbacks import EpochEvaluation
from zoo.mlp import build_mlp
from zoo.perceptron import softmax
from zoo.training import Trainer, gradients

TITLE = "Loss functions: cross-entropy vs squared error"
CONCEPT = (
    "A loss is a function of the weights; which one is differentiated decides how fast a "
    "classifier learns from its mistakes."
)
CONCLUSION = (
    "A confidently wrong softmax output gets a gradient of about 1 from cross-entropy but "
    "almost none from squared error, whose gradient passes through the softmax's flat "
    "tail. A network started confidently wrong gets nearly ten thousand times less "
    "gradient under squared error than under cross-entropy, and even at its own best "
    "learning rate needs more epochs to reach 90% validation accuracy. From Keras's "
    "initialization, where nothing is saturated, the two losses are equally fast, each at "
    "its best rate (one or two epochs to 90%), and the claim that cross-entropy is faster "
    "fails: compared at one rate, the usual demonstration, the loss is confounded with "
    "the rate. What cross-entropy buys is robustness to a saturated start, not speed from "
    "a good one."
)

LOSSES = bp.KERAS_LOSSES
MARGINS = (0.0, 1.0, 2.0, 4.0, 6.0, 8.0, 10.0)
TARGET_ACCURACY = 0.9  # the validation accuracy whose epoch the claims compare
WRONG_MARGIN = 10.0  # how far the confidently wrong start raises class 0's logit
STARTS = ("keras", "wrong")


@dataclasses.dataclass(frozen=True)
class Config:
    hidden_units: int = setting(64, "hidden units of the digits MLP", layer_widths)
    learning_rates: tuple[float, ...] = setting(
        (0.1, 0.3, 1.0, 3.0, 10.0),
        "SGD learning rates tried for each loss; each is compared at its best",
        positive,
        distinct,
    )
    batch_size: int = setting(32, "examples per update", positive)
    epochs: int = setting(
        100, "the most epochs of a run (it stops at 0.9 validation accuracy)", positive
    )
    slice_points: int = setting(
        41,
        "points along the 1-D loss slice; the 2-D plane has about half as many per side",
        at_least(3),
        at_most(1000),
    )
    seeds: tuple[int, ...] = seeds_setting()

    def __post_init__(self):
        validate(self)


# Quick: 15 epochs, three rates, a coarser slice, 2 seeds.
QUICK = dict(epochs=15, learning_rates=(0.3, 3.0, 10.0), slice_points=21, seeds=(0, 1))


def saturation_rows():
    """Gradient norm at the logits of a 2-class softmax that is wrong by `margin`."""
    rows = []
    for margin in MARGINS:
        probabilities = softmax(np.array([[0.0, margin]]))  # the true class is 0
        for loss in LOSSES:
            gradient = bp.output_gradient(probabilities, np.array([0]), loss)
            rows.append(
                dict(
                    record="saturation",
                    margin=margin,
                    loss=loss,
                    probability_true=probabilities[0, 0],
                    gradient_norm=float(np.linalg.norm(gradient)),
                )
            )
    return rows


def confidently_wrong(model, margin=WRONG_MARGIN):
    """`model` with its output layer's bias for class 0 raised by `margin`: it then says "0"
    for every input, with a probability near 1 (the start of Nielsen's learning slowdown)."""
    output = model.layers[-1]
    kernel, bias = output.get_weights()
    output.set_weights([kernel, bias + margin * (np.arange(bias.size) == 0)])
    return model


def train_rows(trainer, config, seed, splits):
    """Every loss at every rate from both starts: validation and test accuracy per epoch,
    up to 0.9 validation accuracy; and each start's gradient norm under each loss."""
    (x, y), (x_val, y_val), (x_test, y_test) = splits
    rows = []
    for start in STARTS:

        def build(start=start):
            model = build_mlp(x.shape[1:], 10, (config.hidden_units,), "tanh")
            return confidently_wrong(model) if start == "wrong" else model

        for loss, keras_loss in LOSSES.items():
            targets = bp.keras_targets(loss, y, 10).astype("float32")
            norm = np.sqrt(
                sum(
                    float(np.sum(g**2))
                    for g in gradients(trainer.fresh(build, seed), x, targets, keras_loss)
                )
            )
            rows.append(dict(record="start", start=start, loss=loss, gradient_norm=norm))
            for rate in config.learning_rates:
                evaluation = EpochEvaluation.on_splits(
                    {"val": (x_val, y_val), "test": (x_test, y_test)},
                    stop_group="val",
                    stop_accuracy=TARGET_ACCURACY,
                    measure_start=True,
                )
                trainer.fit(  # every run of a seed and start from the same weights
                    build,
                    keras.optimizers.SGD(learning_rate=rate),
                    keras_loss,
                    x,
                    targets,
                    batch_size=config.batch_size,
                    epochs=config.epochs,
                    seed=seed,
                    callbacks=[evaluation, keras.callbacks.TerminateOnNaN()],
                )
                rows += [
                    dict(
                        record="epoch",
                        start=start,
                        loss=loss,
                        learning_rate=rate,
                        epoch=point["epoch"],
                        val_accuracy=point["val_accuracy"],
                        test_accuracy=point["test_accuracy"],
                    )
                    for point in evaluation.history
                ]
    return rows


def trained(trainer, config, seed, x, y):
    """A cross-entropy network trained from Keras's start at the smallest rate tried, for
    every epoch: the weights the loss landscape is drawn around."""
    model, _ = trainer.fit(
        lambda: build_mlp(x.shape[1:], 10, (config.hidden_units,), "tanh"),
        keras.optimizers.SGD(learning_rate=min(config.learning_rates)),
        "sparse_categorical_crossentropy",
        x,
        y,
        batch_size=config.batch_size,
        epochs=config.epochs,
        seed=seed,
    )
    return model


def slice_rows(model, x, y, config, seed):
    """The training loss around the trained weights, along a random direction and a plane."""
    layers = bp.dense_layers(model)
    rng = np.random.default_rng(seed)

    def direction():  # Gaussian, scaled layer by layer to the weights' norm (Li et al. 2018)
        return [
            (d * np.linalg.norm(k) / np.linalg.norm(d), e * np.linalg.norm(b) / np.linalg.norm(e))
            for (k, b, _), d, e in (
                (layer, rng.normal(size=layer[0].shape), rng.normal(size=layer[1].shape))
                for layer in layers
            )
        ]

    def loss_at(steps):
        moved = [
            (k + sum(a * d[i][0] for a, d in steps), b + sum(a * d[i][1] for a, d in steps), f)
            for i, (k, b, f) in enumerate(layers)
        ]
        return bp.loss_value(bp.forward(moved, x)[0], y, "cross_entropy")

    first, second = direction(), direction()
    alphas = np.linspace(-1, 1, config.slice_points)
    rows = [dict(record="slice", alpha=a, train_loss=loss_at([(a, first)])) for a in alphas]
    plane = np.linspace(-1, 1, config.slice_points // 2 + 1)
    rows += [
        dict(record="plane", alpha=a, beta=b, train_loss=loss_at([(a, first), (b, second)]))
        for a in plane
        for b in plane
    ]
    return rows


def run(config):
    rows, trainer = saturation_rows(), Trainer()
    progress = Progress("loss_functions", len(config.seeds))
    for seed in config.seeds:
        (x, y), test = datasets.load("digits", seed=seed)
        train, validation = datasets.split_validation(x, y, seed=seed)
        training = [
            dict(seed=seed, **row)
            for row in train_rows(trainer, config, seed, (train, validation, test))
        ]
        rows += training
        model = trained(trainer, config, seed, *train)
        rows += [dict(seed=seed, **row) for row in slice_rows(model, *train, config, seed)]
        best = best_runs(by_record(training))
        progress.done(
            "seed=%d epochs to %.2f validation accuracy at the best rate: %s",
            seed,
            TARGET_ACCURACY,
            ", ".join(
                f"{start} {loss} {row.epochs:.0f}" for (_, start, loss), row in best.iterrows()
            ),
        )
    return by_record(rows)


# --- summaries of the table --------------------------------------------------------


def epochs_to_target(tables):
    """Per seed, start, loss and rate: the first epoch with validation accuracy >= 0.9
    (NaN: never, or the run diverged)."""
    epochs = tables["epoch"]
    keys = ["seed", "start", "loss", "learning_rate"]
    hit = epochs[epochs["val_accuracy"] >= TARGET_ACCURACY].groupby(keys)["epoch"].min()
    return hit.reindex(epochs.set_index(keys).index.unique())


def best_runs(tables):
    """Per seed, start and loss: the rate that reaches 0.9 validation accuracy in the fewest
    epochs (the smaller rate on a tie), those `epochs` (NaN: no rate did), and the test
    accuracy at that epoch."""
    reached = epochs_to_target(tables)
    budget = tables["epoch"]["epoch"].max() + 1  # never: after the last epoch
    order = reached.fillna(budget).reset_index(name="epochs")
    order = order.sort_values(["seed", "start", "loss", "epochs", "learning_rate"])
    best = order.groupby(["seed", "start", "loss"]).first()
    epochs = tables["epoch"].set_index(["seed", "start", "loss", "learning_rate", "epoch"])
    best["test_accuracy"] = [
        epochs["test_accuracy"].get((*key, rate, epoch), np.nan)
        for key, rate, epoch in zip(best.index, best["learning_rate"], best["epochs"])
    ]
    best["epochs"] = best["epochs"].where(best["epochs"] < budget)
    return best


def summarize(tables):
    best = best_runs(tables).join(
        tables["start"].set_index(["seed", "start", "loss"])["gradient_norm"]
    )
    return mean_std_table(
        best.reset_index().assign(
            network="digits, 64 tanh units, start: " + best.reset_index()["start"]
        ),
        ["network", "loss"],
        {
            "gradient norm at the start": "gradient_norm",
            "best learning rate": "learning_rate",
            f"epochs to {TARGET_ACCURACY} validation accuracy": "epochs",
            "test accuracy then": "test_accuracy",
        },
    )


# --- claims --------------------------------------------------------------------------


def _epochs_at_best_rate(tables, start):
    best = best_runs(tables).xs(start, level="start")["epochs"].unstack("loss")
    never = tables["epoch"]["epoch"].max() + 1
    return best, best.fillna(never)


def _cross_entropy_faster(tables):
    best, counted = _epochs_at_best_rate(tables, "keras")
    measured = {
        "cross-entropy epochs to 0.9": mean_std(best["cross_entropy"]),
        "MSE epochs to 0.9": mean_std(best["mse"]),
        "MSE seeds that never reached it": int(best["mse"].isna().sum()),
    }
    return measured, bool(counted["cross_entropy"].mean() < counted["mse"].mean())


def _saturation_slows_mse(tables):
    norms = tables["start"].set_index(["seed", "start", "loss"])["gradient_norm"]
    wrong = norms.xs("wrong", level="start").unstack("loss")
    ratio = np.log10(wrong["cross_entropy"] / wrong["mse"])
    best, counted = _epochs_at_best_rate(tables, "wrong")
    measured = {
        "log10 gradient norm CE / MSE": mean_std(ratio),
        "cross-entropy epochs to 0.9": mean_std(best["cross_entropy"]),
        "MSE epochs to 0.9": mean_std(best["mse"]),
        "MSE seeds that never reached it": int(best["mse"].isna().sum()),
    }
    slower = counted["cross_entropy"].mean() < counted["mse"].mean()
    return measured, bool(ratio.mean() >= 2 and slower)


CLAIMS = [
    Claim(
        "cross_entropy_faster",
        "Each at its own best learning rate, a classifier trained with cross-entropy reaches a target "
        "accuracy in fewer epochs than one trained with squared error.",
        "Golik et al. 2013, Cross-entropy vs. squared error training: squared error needs tuning and more "
        "epochs to reach cross-entropy's accuracy.",
        f"from Keras's initialization, mean over seeds: epochs to {TARGET_ACCURACY} validation accuracy at each "
        "loss's best rate (never = the epoch budget + 1), cross-entropy's fewer",
        _cross_entropy_faster,
        headline=("cross-entropy epochs to 0.9", "MSE epochs to 0.9"),
    ),
    Claim(
        "saturation_slows_mse",
        "From a confidently wrong start, squared error's gradient is orders of magnitude smaller than "
        "cross-entropy's, and it learns more slowly even at its best rate.",
        "Nielsen, Neural networks and deep learning, ch. 3 (the learning slowdown); Golik et al. 2013.",
        f"the network saying class 0 with probability above 0.99 for every input, mean over seeds: log10 of the "
        f"gradient norm ratio CE / MSE >= 2, and epochs to {TARGET_ACCURACY} validation accuracy at each "
        "loss's best rate, cross-entropy's fewer",
        _saturation_slows_mse,
        headline=(
            "log10 gradient norm CE / MSE",
            "cross-entropy epochs to 0.9",
            "MSE epochs to 0.9",
        ),
    ),
]


# --- plots ---------------------------------------------------------------------------

COLORS = {"cross_entropy": "C0", "mse": "C3"}


def plot_saturation(tables):
    rows = tables["saturation"]
    epochs = tables["epoch"]
    best = best_runs(tables)
    reached = epochs_to_target(tables).groupby(["start", "loss", "learning_rate"]).mean()
    figure, (left, middle, right) = plt.subplots(1, 3, figsize=(15, 4.2))
    for loss in LOSSES:
        curve = rows[rows["loss"] == loss]
        left.plot(
            curve["margin"], curve["gradient_norm"], marker="o", color=COLORS[loss], label=loss
        )
        for start, style in zip(STARTS, ("-", "--")):
            rates = reached.xs((start, loss), level=("start", "loss"))
            middle.plot(
                rates.index,
                rates.values,
                style,
                marker="o",
                color=COLORS[loss],
                label=f"{loss}, {start} start",
            )
            seed = epochs["seed"].min()
            rate = best.loc[(seed, start, loss), "learning_rate"]
            run = epochs[
                (epochs["seed"] == seed)
                & (epochs["start"] == start)
                & (epochs["loss"] == loss)
                & (epochs["learning_rate"] == rate)
            ]
            right.plot(
                run["epoch"],
                run["val_accuracy"],
                style,
                color=COLORS[loss],
                label=f"{loss}, {start} start, rate {rate:g}",
            )
    left.set(
        yscale="log",
        xlabel="margin of the wrong class's logit",
        ylabel="gradient norm at the logits",
        title="On paper: squared error barely pushes a wrong softmax",
    )
    middle.set(
        xscale="log",
        xlabel="SGD learning rate",
        ylabel=f"epochs to {TARGET_ACCURACY} validation accuracy (mean; missing: never)",
        title="The rate can hide or fake the difference",
    )
    right.axhline(TARGET_ACCURACY, color="gray", linestyle=":")
    right.set(
        xlabel="epoch",
        ylabel="validation accuracy",
        title=f"Each at its best rate (seed {epochs['seed'].min()})",
    )
    for axis in (left, middle, right):
        axis.legend(fontsize=7)
        axis.grid(alpha=0.3)
    figure.tight_layout()
    return figure


def plot_landscape(tables):
    slices = tables["slice"]
    plane = tables["plane"][tables["plane"]["seed"] == tables["plane"]["seed"].min()]
    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    for seed, curve in slices.groupby("seed"):
        left.plot(curve["alpha"], curve["train_loss"], label=f"seed {int(seed)}")
    left.set(
        xlabel="step along a random direction (1 = the weights' own norm)",
        ylabel="training loss",
        yscale="log",
        title="The loss is a function of the weights: a 1-D slice",
    )
    left.legend()
    left.grid(alpha=0.3)
    grid = plane.pivot(index="beta", columns="alpha", values="train_loss")
    contour = right.contourf(
        grid.columns, grid.index, np.log10(grid.values), levels=20, cmap="viridis"
    )
    right.plot(0, 0, "w*", markersize=12)
    figure.colorbar(contour, ax=right, label="log10 training loss")
    right.set(
        xlabel="direction 1",
        ylabel="direction 2",
        title="A 2-D slice around the trained weights (*)",
    )
    figure.tight_layout()
    return figure


PLOTS = {"cross_entropy_vs_mse.png": plot_saturation, "loss_landscape.png": plot_landscape}
