"""Backpropagation and loss functions: gradients by hand, by Keras and by finite differences.

The course: "The loss function is a continuous function used to calculate the loss ... a
loss function is just a function of the set of weights"; "How do you compute the
gradient? Backpropagation".

Reproduces Rumelhart, Hinton & Williams 1986 (backpropagation is the chain rule, and
gives the exact gradient) against the two independent references every practitioner
uses, automatic differentiation and central finite differences; and the reason
classifiers are trained with cross-entropy rather than squared error (Golik, Doetsch &
Ney 2013; Nielsen, Neural networks and deep learning, ch. 3): through a saturated
softmax or sigmoid the squared error's gradient all but vanishes, even when the output
is confidently wrong, so learning from a bad start is slow.

Design:
- Gradient check: softmax classifiers of two hidden layers of 4 units (tanh, ReLU and
  sigmoid), in float64, on 8 random examples of 5 features and 3 classes; for each loss,
  the gradient of every weight by `zoo.backprop.backprop` (by hand), by
  `zoo.training.gradients` (Keras) and by `zoo.backprop.finite_differences`.
- Saturation: one softmax layer of 2 classes whose logits put a margin m against the
  true class; the gradient norm at the logits under each loss, m from 0 to 10.
- Training: scikit-learn's digits, one hidden layer of 64 tanh units, SGD with learning
  rate 0.1, batch 32, 100 epochs, once with each loss; the epochs until test accuracy
  first reaches 0.9.
- The loss as a function of the weights: around each trained cross-entropy network,
  the training loss along one random direction (and a plane of two), each direction
  scaled layer by layer to the weights' norm (Li et al. 2018).

    python -m experiments run backprop              # about 30 seconds, 3 seeds
    python experiments/backprop.py --quick          # about 15 seconds, 2 seeds
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

from experiments.claims import Claim, by_record, mean_std, mean_std_table
from experiments.progress import Progress
from experiments.settings import (
    at_least,
    at_most,
    distinct,
    layer_widths,
    one_of,
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

TITLE = "Backpropagation and loss functions"
CONCEPT = "Backpropagation is the chain rule: it gives the exact gradient of the loss, a function of the weights."
CONCLUSION = (
    "Backpropagation written out by hand, Keras' automatic differentiation and finite "
    "differences agree: the first two to float64 round-off, finite differences to their own "
    "approximation error. Which loss is differentiated matters as much as how. A "
    "confidently wrong softmax output gets a gradient of about 1 from cross-entropy but "
    "almost none from squared error, whose gradient passes through the softmax's flat "
    "tail; trained from the same start with the same learning rate, the cross-entropy "
    "network reaches 90% test accuracy in a few epochs, the squared-error one much later."
)

LOSSES = {"cross_entropy": "sparse_categorical_crossentropy", "mse": "mean_squared_error"}
ACTIVATIONS = ("tanh", "relu", "sigmoid")
MARGINS = (0.0, 1.0, 2.0, 4.0, 6.0, 8.0, 10.0)
TARGET_ACCURACY = 0.9  # the test accuracy whose epoch the claim compares


@dataclasses.dataclass(frozen=True)
class Config:
    check_activations: tuple[str, ...] = setting(
        ACTIVATIONS,
        "activations of the nets whose gradients are checked",
        one_of(*ACTIVATIONS),
        distinct,
    )
    hidden_units: int = setting(64, "hidden units of the digits MLP", layer_widths)
    learning_rate: float = setting(0.1, "SGD's learning rate", positive)
    batch_size: int = setting(32, "examples per update", positive)
    epochs: int = setting(100, "epochs of training for each loss", positive)
    slice_points: int = setting(
        41,
        "points along the 1-D loss slice; the 2-D plane has about half as many per side",
        at_least(3),
        at_most(1000),
    )
    seeds: tuple[int, ...] = seeds_setting()

    def __post_init__(self):
        validate(self)


# Quick: 15 epochs, a coarser slice, 2 seeds.
QUICK = dict(epochs=15, slice_points=21, seeds=(0, 1))


def keras_targets(loss, y, num_classes):
    return np.eye(num_classes)[y] if loss == "mse" else y


def check_rows(trainer, config, seed):
    """Hand-written, automatic and finite-difference gradients of small float64 networks."""
    rng = np.random.default_rng(seed)
    x, y = rng.normal(size=(8, 5)), rng.integers(0, 3, 8)
    rows = []
    with bp.float64():  # on JAX, too
        for activation in config.check_activations:
            model = trainer.fresh(
                lambda: build_mlp(
                    input_shape=(5,),
                    num_classes=3,
                    hidden_units=(4, 4),
                    activation=activation,
                    dtype="float64",
                ),
                seed,
            )
            # Random biases, not Keras' zeros: a ReLU layer whose inputs are all zero would put
            # the next layer exactly on ReLU's kink, where finite differences average the two
            # one-sided slopes and no longer measure the gradient (Karpathy, CS231n notes).
            model.set_weights(
                [w if w.ndim > 1 else rng.normal(0, 0.5, w.shape) for w in model.get_weights()]
            )
            for loss, keras_loss in LOSSES.items():
                _, hand = bp.backprop(model, x, y, loss)
                auto = gradients(model, x, keras_targets(loss, y, 3), keras_loss)
                numeric = bp.finite_differences(model, x, y, loss)
                rows.append(
                    dict(
                        record="check",
                        activation=activation,
                        loss=loss,
                        hand_vs_auto=bp.relative_error(hand, auto),
                        hand_vs_fd=bp.relative_error(hand, numeric),
                        auto_vs_fd=bp.relative_error(auto, numeric),
                    )
                )
    return rows


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


def train_rows(trainer, config, seed, splits):
    (x, y), (x_test, y_test) = splits
    rows, models = [], {}
    for loss, keras_loss in LOSSES.items():
        evaluation = EpochEvaluation.on_splits({"test": (x_test, y_test)})
        model, history = trainer.fit(  # both losses start from the same weights
            lambda: build_mlp(x.shape[1:], 10, (config.hidden_units,), "tanh"),
            keras.optimizers.SGD(learning_rate=config.learning_rate),
            keras_loss,
            x,
            keras_targets(loss, y, 10).astype("float32"),
            batch_size=config.batch_size,
            epochs=config.epochs,
            seed=seed,
            callbacks=[evaluation],
        )
        history = history.history
        rows += [
            dict(
                record="epoch",
                loss=loss,
                epoch=epoch + 1,
                train_loss=history["loss"][epoch],
                test_accuracy=history["test_accuracy"][epoch],
            )
            for epoch in range(config.epochs)
        ]
        models[loss] = model
    return rows, models["cross_entropy"]


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
    progress = Progress("backprop", len(config.seeds))
    for seed in config.seeds:
        splits = datasets.load("digits", seed=seed)
        rows += [dict(seed=seed, **row) for row in check_rows(trainer, config, seed)]
        training, model = train_rows(trainer, config, seed, splits)
        rows += [dict(seed=seed, **row) for row in training]
        rows += [dict(seed=seed, **row) for row in slice_rows(model, *splits[0], config, seed)]
        reached = epochs_to_target(
            by_record(dict(seed=seed, **row) for row in training), TARGET_ACCURACY
        )
        progress.done(
            "seed=%d epochs to %.2f test accuracy: %s",
            seed,
            TARGET_ACCURACY,
            ", ".join(f"{loss} {epoch:.0f}" for (_, loss), epoch in reached.items()),
        )
    return by_record(rows)


# --- summaries of the table --------------------------------------------------------


def epochs_to_target(tables, target):
    """Per seed and loss: the first epoch with test accuracy >= target (NaN: never)."""
    epochs = tables["epoch"]
    hit = epochs[epochs["test_accuracy"] >= target].groupby(["seed", "loss"])["epoch"].min()
    return hit.reindex(epochs.set_index(["seed", "loss"]).index.unique())


def summarize(tables):
    checks = tables["check"]
    epochs = tables["epoch"]
    final = epochs[epochs["epoch"] == epochs["epoch"].max()].set_index(["seed", "loss"])
    final["epochs_to_target"] = epochs_to_target(tables, TARGET_ACCURACY)
    summary = mean_std_table(
        checks.assign(network="gradient check, " + checks["activation"]),
        ["network", "loss"],
        {
            "relative error, hand vs Keras": "hand_vs_auto",
            "hand vs finite differences": "hand_vs_fd",
            "Keras vs finite differences": "auto_vs_fd",
        },
    )
    training = mean_std_table(
        final.reset_index().assign(network="digits, 64 tanh units"),
        ["network", "loss"],
        {
            f"epochs to {TARGET_ACCURACY} test accuracy": "epochs_to_target",
            "final test accuracy": "test_accuracy",
            "final training loss": "train_loss",
        },
    )
    return pd.concat([summary, training], ignore_index=True).fillna("")


# --- claims --------------------------------------------------------------------------


def _gradients_agree(tables):
    checks = tables["check"]
    if checks.empty:
        raise KeyError("no gradient checks")
    measured = {
        "hand vs Keras, largest": float(checks["hand_vs_auto"].max()),
        "hand vs finite differences, largest": float(checks["hand_vs_fd"].max()),
        "Keras vs finite differences, largest": float(checks["auto_vs_fd"].max()),
        "networks checked": int(len(checks)),
    }
    return measured, measured["hand vs Keras, largest"] <= 1e-6 and max(
        measured["hand vs finite differences, largest"],
        measured["Keras vs finite differences, largest"],
    ) <= 1e-5


def _cross_entropy_faster(tables):
    saturation = tables["saturation"].set_index(["margin", "loss"])["gradient_norm"]
    margin = saturation.index.get_level_values("margin").max()
    ratio = saturation[margin, "cross_entropy"] / saturation[margin, "mse"]
    reached = epochs_to_target(tables, TARGET_ACCURACY).unstack("loss")
    epochs = int(tables["epoch"]["epoch"].max())
    measured = {
        f"gradient ratio at margin {margin:g}": float(ratio),
        "cross-entropy epochs to 0.9": mean_std(reached["cross_entropy"]),
        "MSE epochs to 0.9": mean_std(reached["mse"]),
        f"MSE runs that never reached 0.9 in {epochs} epochs": int(reached["mse"].isna().sum()),
    }
    # A run that never reaches the target counts as slower than any that does.
    slower = reached["mse"].fillna(np.inf) > reached["cross_entropy"].fillna(np.inf)
    return measured, ratio >= 100 and bool(slower.all())


CLAIMS = [
    Claim(
        "gradients_agree",
        "Backpropagation by hand gives the same gradient as Keras' automatic differentiation, and both "
        "match finite differences.",
        "Course: 'How do you compute the gradient? Backpropagation'. Rumelhart, Hinton & Williams 1986.",
        "float64, every network and loss: relative error hand vs Keras <= 1e-6; both vs finite differences <= 1e-5",
        _gradients_agree,
    ),
    Claim(
        "cross_entropy_faster",
        "For a confidently wrong output, cross-entropy's gradient is orders of magnitude larger than squared "
        "error's, and a classifier trained with it reaches a target accuracy in fewer epochs.",
        "Golik et al. 2013, Cross-entropy vs. squared error training; Nielsen, Neural networks and deep "
        "learning, ch. 3 (the learning slowdown).",
        "gradient norm ratio CE / MSE >= 100 at the largest margin; and for every seed, CE reaches 0.9 test "
        "accuracy in fewer epochs than MSE",
        _cross_entropy_faster,
        headline=(
            "gradient ratio at margin 10",
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
    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    for loss in LOSSES:
        curve = rows[rows["loss"] == loss]
        left.plot(
            curve["margin"], curve["gradient_norm"], marker="o", color=COLORS[loss], label=loss
        )
        accuracy = epochs[epochs["loss"] == loss].groupby("epoch")["test_accuracy"]
        right.plot(accuracy.mean(), color=COLORS[loss], label=loss)
        right.fill_between(
            accuracy.mean().index, accuracy.min(), accuracy.max(), color=COLORS[loss], alpha=0.2
        )
    left.set(
        yscale="log",
        xlabel="margin of the wrong class's logit",
        ylabel="gradient norm at the logits",
        title="A confidently wrong softmax: squared error barely pushes",
    )
    right.axhline(TARGET_ACCURACY, color="gray", linestyle=":")
    right.set(
        xlabel="epoch",
        ylabel="test accuracy (mean, range over seeds)",
        title="Digits, same start, SGD 0.1",
    )
    for axis in (left, right):
        axis.legend()
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
