"""Backpropagation: gradients by hand, by Keras and by finite differences.

The course: "How do you compute the gradient? Backpropagation"; "Training is done by
computing the gradient ... and multiplying it by a learning rate".

Reproduces Rumelhart, Hinton & Williams 1986 (backpropagation is the chain rule, and
gives the exact gradient) against the two independent references every practitioner
uses, automatic differentiation and central finite differences. That the three agree is
a check, not a finding: it holds when the code is right. What the loss being
differentiated does to learning is the `loss_functions` experiment.

Design: softmax classifiers of two hidden layers of 4 units (tanh, ReLU and sigmoid), in
float64, on 8 random examples of 5 features and 3 classes, with random biases; for the
cross-entropy and the squared error, the gradient of every weight by
`zoo.backprop.backprop` (by hand), by `zoo.training.gradients` (Keras) and by
`zoo.backprop.finite_differences`, compared by their relative error.

    python -m experiments run backprop              # about 10 seconds, 3 seeds
    python experiments/backprop.py --quick          # about 5 seconds, 2 seeds
"""

# `python experiments/NAME.py ...` is `python -m experiments run NAME ...` (runner.script_main).
if __name__ == "__main__":
    import sys
    from pathlib import Path

    sys.path[0] = str(Path(__file__).resolve().parents[1])  # the project, not experiments/
    from experiments.runner import script_main

    script_main(__file__)

import dataclasses

import matplotlib.pyplot as plt
import numpy as np

from experiments.claims import Claim, by_record, mean_std_table
from experiments.progress import Progress
from experiments.settings import distinct, one_of, seeds_setting, setting, validate
from zoo import backprop as bp
from zoo.mlp import build_mlp
from zoo.training import Trainer, gradients

TITLE = "Backpropagation"
CONCEPT = "Backpropagation is the chain rule: it gives the exact gradient of the loss, a function of the weights."
CONCLUSION = (
    "Backpropagation written out by hand, Keras' automatic differentiation and finite "
    "differences agree: the first two to float64 round-off, finite differences to their own "
    "approximation error, for every activation and both losses."
)

LOSSES = bp.KERAS_LOSSES
ACTIVATIONS = ("tanh", "relu", "sigmoid")


@dataclasses.dataclass(frozen=True)
class Config:
    check_activations: tuple[str, ...] = setting(
        ACTIVATIONS,
        "activations of the nets whose gradients are checked",
        one_of(*ACTIVATIONS),
        distinct,
    )
    seeds: tuple[int, ...] = seeds_setting()

    def __post_init__(self):
        validate(self)


# Quick: 2 seeds.
QUICK = dict(seeds=(0, 1))


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
                auto = gradients(model, x, bp.keras_targets(loss, y, 3), keras_loss)
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


def run(config):
    rows, trainer = [], Trainer()
    progress = Progress("backprop", len(config.seeds))
    for seed in config.seeds:
        checks = check_rows(trainer, config, seed)
        rows += [dict(seed=seed, **row) for row in checks]
        progress.done(
            "seed=%d largest relative error, hand vs Keras: %.1e",
            seed,
            max(row["hand_vs_auto"] for row in checks),
        )
    return by_record(rows)


# --- summaries of the table --------------------------------------------------------


def summarize(tables):
    checks = tables["check"]
    return mean_std_table(
        checks.assign(network="gradient check, " + checks["activation"]),
        ["network", "loss"],
        {
            "relative error, hand vs Keras": "hand_vs_auto",
            "hand vs finite differences": "hand_vs_fd",
            "Keras vs finite differences": "auto_vs_fd",
        },
    )


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


CLAIMS = [
    Claim(
        "gradients_agree",
        "Backpropagation by hand gives the same gradient as Keras' automatic differentiation, and both "
        "match finite differences.",
        "Course: 'How do you compute the gradient? Backpropagation'. Rumelhart, Hinton & Williams 1986.",
        "float64, every network and loss: relative error hand vs Keras <= 1e-6; both vs finite differences <= 1e-5",
        _gradients_agree,
        kind="check",
    ),
]


# --- plots ---------------------------------------------------------------------------


def plot_errors(tables):
    checks = tables["check"]
    pairs = {
        "hand vs Keras": "hand_vs_auto",
        "hand vs finite differences": "hand_vs_fd",
        "Keras vs finite differences": "auto_vs_fd",
    }
    groups = list(dict.fromkeys(zip(checks["activation"], checks["loss"])))
    figure, axis = plt.subplots(figsize=(8, 4.5))
    width = 0.8 / len(pairs)
    for k, (label, column) in enumerate(pairs.items()):
        largest = [
            checks[(checks["activation"] == a) & (checks["loss"] == loss)][column].max()
            for a, loss in groups
        ]
        axis.bar(np.arange(len(groups)) + (k - 1) * width, largest, width, label=label)
    axis.set(
        xticks=range(len(groups)),
        xticklabels=[f"{a}\n{loss}" for a, loss in groups],
        yscale="log",
        ylabel="largest relative error over seeds",
        title="Three ways to the gradient: round-off apart, and finite differences' own error",
    )
    axis.legend(fontsize=8)
    axis.grid(axis="y", alpha=0.3)
    figure.tight_layout()
    return figure


PLOTS = {"gradient_check.png": plot_errors}
