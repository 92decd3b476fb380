"""Dropout vs early stopping: two regularizers, side by side.

The course: "Overfitting: when a model is too complex it starts to memorize the
training data ... Regularization 1: Dropout, randomly set some activations to 0 ...
forces the model to not rely on any one node. Regularization 2: Early stopping, set
some of the training data aside as a validation set ... when the training loss
decreases but the validation loss increases, you stop."

Reproduces, on MNIST-1D (Greydanus 2020; its baseline table: MLP 68%, CNN 94% test
accuracy):
- Srivastava et al. 2014, "Dropout: a simple way to prevent neural networks from
  overfitting": dropout lowers the test error of fully connected nets (Fig. 4).
- Prechelt 1998, "Early stopping - but when?": stop when the validation error has
  risen `alpha` percent above its best (GL); slower criteria (larger alpha) stop later.
- Arpit et al. 2017, "A closer look at memorization in deep networks": with noisy
  labels a network first learns the clean pattern, then memorizes the noise; dropout
  slows the memorization without hurting the real data.

Design: an MLP 128x128 (`zoo.mlp.build_mlp`), Adam 1e-3, batch 128, 100 epochs; a
stratified 20% validation split carved from the training set (the test set is only
looked at to report). Conditions: no regularization, dropout at 0.2 and 0.5 (and L2
weight decay with `--set l2=1e-3`), Keras `EarlyStopping` on `val_loss` and on `val_accuracy` (patience 10,
best weights restored), Prechelt's GL, and dropout with early stopping; then no
regularization, early stopping and dropout again with 40% of the labels changed to a
wrong class. Every condition of a seed starts from the same initialization. A wider
net overfits more and gains more from dropout (`--set hidden_units=256,256`), at about
twice the time, over this experiment's 2-minute budget.

    python -m experiments run dropout_vs_early_stopping          # about 1.5 minutes, 3 seeds
    python experiments/dropout_vs_early_stopping.py --quick      # about 20 seconds, 2 seeds
"""

# `python experiments/NAME.py ...` is `python -m experiments run NAME ...` (runner.script_main).
if __name__ == "__main__":
    import sys
    from pathlib import Path

    sys.path[0] = str(Path(__file__).resolve().parents[1])  # the project, not experiments/
    from experiments.runner import script_main

    script_main(__file__)

import dataclasses
from typing import NamedTuple

import keras
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from experiments.claims import Claim, NotMeasured, mean_std, mean_std_table
from experiments.progress import Progress
from experiments.settings import (
    distinct,
    fraction,
    layer_widths,
    less_than,
    may_be_empty,
    non_negative,
    one_of,
    positive,
    seeds_setting,
    setting,
    validate,
)
from zoo import corruptions, datasets
from zoo.callbacks import EpochEvaluation, PrecheltStopping, prechelt_stop_epoch
from zoo.mlp import build_mlp
from zoo.training import Trainer

TITLE = "Dropout vs early stopping"
CONCEPT = "Dropout and early stopping both fight overfitting: one thins the network, the other stops in time."
CONCLUSION = (
    "Without regularization the network fits its training set perfectly while test "
    "accuracy stays about 40 points lower: it memorizes. Dropout raises test accuracy, "
    "0.2 more than 0.5 on this small net. Early stopping saves most of the training, but "
    "which signal it watches matters: the validation loss bottoms out long before the "
    "validation accuracy peaks, because the network keeps growing more confident on the "
    "examples it gets wrong, so stopping on the loss gives up a few points of accuracy. "
    "With 40% wrong labels the unregularized net memorizes every noisy label and its "
    "test accuracy peaks early and then falls; dropout, which fits only a fifth of the "
    "noisy labels, does far better than early stopping here. On this data and budget "
    "several of the calibrated margins are not met; the claims below say which."
)

LESSON_DROPOUT = 0.5
STOPPING = ("val_loss", "val_accuracy", "gl")
GL_ALPHAS = (1.0, 2.0, 5.0, 10.0, 20.0, 50.0)  # replayed on each unregularized run


class Condition(NamedTuple):
    name: str
    dropout_rate: float = 0.0
    l2: float = 0.0
    stopping: str | None = None  # "val_loss", "val_accuracy" (Keras EarlyStopping) or "gl"


@dataclasses.dataclass(frozen=True)
class Config:
    dataset: str = setting("mnist1d", "the dataset to fit", one_of(*datasets.NAMES))
    train_size: int | None = setting(
        None, "a stratified subset of the training set; none: all of it"
    )
    validation_fraction: float = setting(
        0.2, "share of the training set held out to decide when to stop", fraction
    )
    hidden_units: tuple[int, ...] = setting(
        (128, 128), "the MLP's hidden layer widths", layer_widths
    )
    learning_rate: float = setting(1e-3, "Adam's learning rate", positive)
    batch_size: int = setting(128, "examples per update", positive)
    epochs: int = setting(100, "epochs of the full, unstopped runs", positive)
    dropout_rates: tuple[float, ...] = setting(
        (0.2, LESSON_DROPOUT), "dropout rates to compare", fraction, distinct, may_be_empty
    )
    l2: float = setting(
        0.0,
        "weight decay for an extra condition (e.g. 1e-3, about 20 s more); 0: none",
        non_negative,
    )
    stopping: tuple[str, ...] = setting(
        STOPPING,
        "early-stopping rules: on validation loss, accuracy, or Prechelt's GL",
        one_of(*STOPPING),
        distinct,
    )
    dropout_with_early_stopping: bool = setting(True, "also train dropout with early stopping")
    patience: int = setting(10, "epochs without improvement before early stopping stops", positive)
    gl_alpha: float = setting(
        5.0, "Prechelt's GL threshold, in percent of generalization loss", positive
    )
    label_noise: float = setting(
        0.4,
        "share of wrong labels in the noisy-label part; 0 leaves it out",
        non_negative,
        less_than(0.9),
    )
    seeds: tuple[int, ...] = seeds_setting()

    def __post_init__(self):
        validate(self)
        datasets.check_train_size(self.dataset, self.train_size)
        if "val_loss" not in self.stopping:
            raise ValueError(f"stopping must include val_loss, got {','.join(self.stopping)}")

    def resolved(self):
        return {"train_size": self.train_size or datasets.TRAIN_SIZES[self.dataset]}


# Quick: one stopping rule, 1,000 examples, 40 epochs of batch 64 (twice the updates per
# epoch, so overfitting starts sooner), five conditions. 40 epochs are too few for dropout to
# overtake on clean labels (that takes the full run), so quick shows dropout's effect on
# noisy labels only.
QUICK = dict(
    train_size=1000,
    batch_size=64,
    epochs=40,
    dropout_rates=(),
    stopping=("val_loss",),
    dropout_with_early_stopping=False,
    seeds=(0, 1),
)


def conditions(config):
    """The clean-label conditions, then the noisy-label ones."""
    clean = [Condition("none")]
    clean += [Condition(f"dropout_{rate:g}", dropout_rate=rate) for rate in config.dropout_rates]
    if config.l2 > 0:
        clean.append(Condition("l2", l2=config.l2))
    names = {
        "val_loss": "early_stop_val_loss",
        "val_accuracy": "early_stop_val_accuracy",
        "gl": "prechelt_gl",
    }
    clean += [Condition(names[monitor], stopping=monitor) for monitor in config.stopping]
    if config.dropout_with_early_stopping:
        clean.append(
            Condition(f"dropout_{LESSON_DROPOUT:g}+early_stop", LESSON_DROPOUT, stopping="val_loss")
        )
    noisy = [
        Condition("none"),
        Condition("early_stop_val_loss", stopping="val_loss"),
        Condition(f"dropout_{LESSON_DROPOUT:g}", dropout_rate=LESSON_DROPOUT),
    ]
    return clean, noisy if config.label_noise > 0 else []


def stopper(config, monitor):
    if monitor == "gl":
        return PrecheltStopping("gl", alpha=config.gl_alpha, restore_best_weights=True)
    mode = "max" if monitor == "val_accuracy" else "min"
    return keras.callbacks.EarlyStopping(
        monitor, mode=mode, patience=config.patience, restore_best_weights=True
    )


def train(trainer, config, condition, splits, clean, num_classes, seed):
    """Trains one condition; returns the model (with its kept weights) and per-epoch records.

    `splits` holds the train, validation and test `(x, y)` pairs; `clean` marks the
    training examples whose label is the true one. Every condition of a seed starts from
    that seed's initialization and sees the same batches.
    """
    (x_train, y_train), (x_val, y_val), (x_test, y_test) = splits
    evaluation = EpochEvaluation.on_splits(  # logs val_loss and val_accuracy for the stopping rules
        {"train": (x_train, y_train), "val": (x_val, y_val), "test": (x_test, y_test)},
        subsets={"clean": ("train", clean), "noisy": ("train", ~clean)},
    )
    callbacks = [evaluation] + ([stopper(config, condition.stopping)] if condition.stopping else [])
    model, history = trainer.fit(
        lambda: build_mlp(
            x_train.shape[1:],
            num_classes,
            config.hidden_units,
            dropout_rate=condition.dropout_rate,
            l2=condition.l2,
        ),
        keras.optimizers.Adam(learning_rate=config.learning_rate),
        "sparse_categorical_crossentropy",
        x_train,
        y_train,
        batch_size=config.batch_size,
        epochs=config.epochs,
        seed=seed,
        callbacks=callbacks,
    )
    seconds = sum(history.history["seconds"])
    trained = len(evaluation.history)
    if condition.stopping is None:
        kept = trained
    elif condition.stopping == "gl":
        kept = callbacks[1].best_epoch
    else:
        kept = callbacks[1].best_epoch + 1  # Keras counts epochs from 0
    records = [
        dict(r, kept_epoch=kept, epochs_trained=trained, seconds=seconds)
        for r in evaluation.history
    ]
    return model, records


def run(config):
    rows, trainer = [], Trainer()
    clean_conditions, noisy_conditions = conditions(config)
    num_classes = datasets.NUM_CLASSES[config.dataset]
    progress = Progress(
        "dropout_vs_early_stopping",
        len(config.seeds) * (len(clean_conditions) + len(noisy_conditions)),
    )
    for seed in config.seeds:
        (x, y), test = datasets.load(config.dataset, seed=seed, train_size=config.train_size)
        (train_index, _), (val_index, _) = datasets.split_validation(
            np.arange(len(y)), y, config.validation_fraction, seed
        )
        for noise, runs in ((0.0, clean_conditions), (config.label_noise, noisy_conditions)):
            # Noise hits the validation labels too: in practice they come from the same source.
            labels = corruptions.corrupt_labels(y, noise, num_classes, seed=seed, always_wrong=True)
            splits = (
                (x[train_index], labels[train_index]),
                (x[val_index], labels[val_index]),
                test,
            )
            clean = labels[train_index] == y[train_index]
            for condition in runs:
                _, records = train(trainer, config, condition, splits, clean, num_classes, seed)
                rows += [
                    dict(seed=seed, label_noise=noise, condition=condition.name, **r)
                    for r in records
                ]
                kept = records[records[0]["kept_epoch"] - 1]
                progress.done(
                    "seed=%d noise=%.1f %s: %d epochs, kept %d: train %.3f, test %.3f",
                    seed,
                    noise,
                    condition.name,
                    len(records),
                    kept["epoch"],
                    kept["train_accuracy"],
                    kept["test_accuracy"],
                )
    return pd.DataFrame(rows)


# --- summaries of the table --------------------------------------------------------

RUN = ["seed", "label_noise", "condition"]


def kept(table):
    """One row per training run: the epoch whose weights the run ends with."""
    return table[table["epoch"] == table["kept_epoch"]].reset_index(drop=True)


def rows_of(table, condition, noise=0.0):
    """Every row of one condition at one label-noise level."""
    return table[(table["condition"] == condition) & np.isclose(table["label_noise"], noise)]


def runs_of(rows, condition, noise=0.0):
    """`rows_of`, indexed by seed; `NotMeasured` if the condition was not run."""
    selected = rows_of(rows, condition, noise)
    if selected.empty:
        raise NotMeasured(f"no run of {condition!r} at label noise {noise}")
    return selected.set_index("seed")


def summarize(table):
    rows = kept(table)
    rows["gap"] = rows["train_accuracy"] - rows["test_accuracy"]
    return mean_std_table(
        rows,
        ["label_noise", "condition"],
        {
            "epochs trained": "epochs_trained",
            "kept epoch": "kept_epoch",
            "train accuracy": "train_accuracy",
            "test accuracy": "test_accuracy",
            "train - test": "gap",
        },
    )


# --- claims --------------------------------------------------------------------------


def _overfits(table):
    last = runs_of(kept(table), "none")
    curves = rows_of(table, "none").set_index("epoch")
    gap = mean_std(last["train_accuracy"] - last["test_accuracy"])
    minimum = mean_std(curves.groupby("seed")["val_loss"].idxmin())
    epochs = int(last["epochs_trained"].iloc[0])
    measured = {
        "train - test": gap,
        "epoch of lowest val_loss": minimum,
        "epoch of highest val_accuracy": mean_std(curves.groupby("seed")["val_accuracy"].idxmax()),
        "epochs": epochs,
    }
    return measured, gap["mean"] >= 0.2 and minimum["mean"] <= epochs / 2


def _dropout_helps(table):
    rows = kept(table)
    gain = (
        runs_of(rows, f"dropout_{LESSON_DROPOUT:g}")["test_accuracy"]
        - runs_of(rows, "none")["test_accuracy"]
    )
    measured = mean_std(gain)
    return measured, measured["mean"] >= 0.04


def _early_stopping(monitor):
    def check(table):
        rows = kept(table)
        stopped = runs_of(rows, f"early_stop_{monitor}")
        full = runs_of(rows, "none")
        curves = rows_of(table, "none")
        best_any_epoch = curves.groupby("seed")["test_accuracy"].max()
        epoch_share = mean_std(stopped["epochs_trained"] / full["epochs_trained"])
        shortfall = mean_std(best_any_epoch - stopped["test_accuracy"])
        measured = {
            "epochs trained / full run": epoch_share,
            "test accuracy": mean_std(stopped["test_accuracy"]),
            "best test accuracy of the full run, any epoch": mean_std(best_any_epoch),
            "shortfall": shortfall,
        }
        return measured, epoch_share["mean"] <= 0.5 and shortfall["mean"] <= 0.02

    return check


def _label_noise(table):
    rows = kept(table)
    noise = float(rows["label_noise"].max())
    none, stopped = runs_of(rows, "none", noise), runs_of(rows, "early_stop_val_loss", noise)
    dropout = runs_of(rows, f"dropout_{LESSON_DROPOUT:g}", noise)
    gain = mean_std(stopped["test_accuracy"] - none["test_accuracy"])
    # At the same (last) epoch: the share of mislabelled training examples the net fits.
    noisy_none, noisy_dropout = (
        mean_std(none["noisy_accuracy"]),
        mean_std(dropout["noisy_accuracy"]),
    )
    clean_dropout = mean_std(dropout["clean_accuracy"])
    measured = {
        "early stopping - none, test accuracy": gain,
        "noisy labels fit, none": noisy_none,
        "noisy labels fit, dropout": noisy_dropout,
        "clean labels fit, dropout": clean_dropout,
    }
    passed = (
        gain["mean"] >= 0.10
        and noisy_dropout["mean"] <= noisy_none["mean"] / 2
        and clean_dropout["mean"] >= 0.95
    )
    return measured, passed


def _gl_alpha_order(table):
    curves = rows_of(table, "none")
    after_the_end = int(curves["epoch"].max()) + 1  # where a rule that never fired "stops"
    stops = np.array(
        [
            [
                prechelt_stop_epoch(curve["val_loss"], criterion="gl", alpha=alpha) or after_the_end
                for alpha in GL_ALPHAS
            ]
            for _, curve in curves.groupby("seed")
        ]
    )
    measured = {f"alpha={alpha:g}": mean_std(stops[:, i]) for i, alpha in enumerate(GL_ALPHAS)}
    return measured, bool(np.all(np.diff(stops, axis=1) >= 0))


PRECHELT = "Prechelt 1998, Early stopping - but when?"
CLAIMS = [
    Claim(
        "overfits",
        "Without regularization the net memorizes: it fits the training set far better than the test set, "
        "and its validation loss starts rising long before training ends.",
        "Course: 'when a model is too complex it starts to memorize the training data'.",
        "train - test accuracy >= 0.2 and the epoch of lowest val_loss <= half the epochs",
        _overfits,
    ),
    Claim(
        "dropout_helps",
        f"Dropout {LESSON_DROPOUT} improves test accuracy over no regularization.",
        "Srivastava et al. 2014, Dropout, Fig. 4: dropout lowers test error for every architecture tried. "
        "Issue calibration on MNIST-1D: about 0.66 -> 0.74.",
        "test accuracy gain >= 0.04",
        _dropout_helps,
    ),
    Claim(
        "early_stopping_val_loss",
        "Early stopping on the validation loss saves most of the training and keeps the best test accuracy.",
        "Course: 'when the training loss decreases but the validation loss increases, you stop'.",
        "epochs trained <= 0.5 x the full run, and test accuracy within 0.02 of the best any epoch "
        "of the unregularized run reached",
        _early_stopping("val_loss"),
        headline=("epochs trained / full run", "shortfall"),
    ),
    Claim(
        "early_stopping_val_accuracy",
        "Early stopping on the validation accuracy saves most of the training and keeps the best test accuracy.",
        "Keras EarlyStopping(monitor='val_accuracy', restore_best_weights=True).",
        "epochs trained <= 0.5 x the full run, and test accuracy within 0.02 of the best any epoch "
        "of the unregularized run reached",
        _early_stopping("val_accuracy"),
        headline=("epochs trained / full run", "shortfall"),
    ),
    Claim(
        "label_noise",
        "With 40% wrong labels the unregularized net memorizes the noise; early stopping keeps the "
        "model from before, and dropout slows the memorization while still fitting the clean examples.",
        "Arpit et al. 2017, A closer look at memorization in deep networks: dropout degrades the fitting "
        "of noise without hurting real data.",
        "early stopping beats the unregularized final test accuracy by >= 0.10; at the last epoch dropout "
        "fits at most half as many noisy labels, and >= 0.95 of the clean ones",
        _label_noise,
    ),
    Claim(
        "gl_alpha_order",
        "A larger GL threshold alpha never stops earlier on the same run.",
        f"{PRECHELT}: GL_alpha stops once the validation error exceeds its best by alpha percent; "
        "slower criteria stop later.",
        f"on every seed's unregularized run, the GL stop epoch is non-decreasing over alpha in {GL_ALPHAS}",
        _gl_alpha_order,
    ),
]


# --- plots ---------------------------------------------------------------------------


def _mean_curve(table, condition, column, noise=0.0):
    return rows_of(table, condition, noise).groupby("epoch")[column].mean()


def _mark_stops(axis, table, noise=0.0):
    rows = kept(table)
    rows = rows[np.isclose(rows["label_noise"], noise)]
    for index, condition in enumerate(
        c for c in rows["condition"].unique() if "early_stop" in c or "gl" in c
    ):
        if "+" in condition:
            continue
        epoch = rows.loc[rows["condition"] == condition, "kept_epoch"].mean()
        axis.axvline(
            epoch,
            color=f"C{index + 3}",
            linestyle=":",
            label=f"{condition} keeps epoch {epoch:.0f}",
        )


def plot_learning_curves(table):
    figure, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    for axis, metric in zip(axes, ("loss", "accuracy")):
        for split, style in (("train", "-"), ("val", "--")):
            axis.plot(
                _mean_curve(table, "none", f"{split}_{metric}"),
                style,
                color="C0",
                label=f"no regularization, {split}",
            )
            axis.plot(
                _mean_curve(table, f"dropout_{LESSON_DROPOUT:g}", f"{split}_{metric}"),
                style,
                color="C1",
                label=f"dropout {LESSON_DROPOUT}, {split}",
            )
        _mark_stops(axis, table)
        axis.set(xlabel="epoch", ylabel=metric)
        axis.grid(alpha=0.3)
    axes[0].set_ylim(0, 2.5)
    axes[0].legend(fontsize=8)
    axes[0].set_title("Validation loss turns up early: the net grows over-confident")
    axes[1].set_title("Validation accuracy peaks later; dropout closes the gap")
    figure.tight_layout()
    return figure


def plot_test_accuracy(table):
    rows = kept(table)
    stats = rows.groupby(["label_noise", "condition"], sort=False)["test_accuracy"].agg(
        ["mean", "std"]
    )
    labels = [f"{condition} (noise {noise:g})" for noise, condition in stats.index]
    figure, axis = plt.subplots(figsize=(8, 0.45 * len(labels) + 1.5))
    colors = ["C0" if noise == 0 else "C3" for noise, _ in stats.index]
    axis.barh(labels, stats["mean"], xerr=stats["std"].fillna(0), color=colors, capsize=3)
    axis.invert_yaxis()
    axis.set(
        xlabel="test accuracy (mean and std over seeds)",
        xlim=(0, 1),
        title="Test accuracy by regularizer (blue: clean labels, red: 40% wrong labels)",
    )
    axis.grid(axis="x", alpha=0.3)
    figure.tight_layout()
    return figure


def plot_label_noise(table):
    noise = float(table["label_noise"].max())
    figure, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    for color, condition in ((0, "none"), (1, f"dropout_{LESSON_DROPOUT:g}")):
        axes[0].plot(
            _mean_curve(table, condition, "test_accuracy", noise),
            color=f"C{color}",
            label=condition,
        )
        axes[1].plot(
            _mean_curve(table, condition, "noisy_accuracy", noise),
            color=f"C{color}",
            label=f"{condition}: wrong labels fit",
        )
        axes[1].plot(
            _mean_curve(table, condition, "clean_accuracy", noise),
            "--",
            color=f"C{color}",
            label=f"{condition}: clean labels fit",
        )
    for axis in axes:
        _mark_stops(axis, table, noise)
        axis.set(xlabel="epoch")
        axis.grid(alpha=0.3)
        axis.legend(fontsize=8)
    axes[0].set(
        ylabel="test accuracy", title=f"{noise:.0%} wrong labels: test accuracy peaks, then falls"
    )
    axes[1].set(
        ylabel="training accuracy on the given labels",
        title="The noise is memorized late, and more slowly with dropout",
    )
    figure.tight_layout()
    return figure


PLOTS = {
    "learning_curves.png": plot_learning_curves,
    "test_accuracy.png": plot_test_accuracy,
    "label_noise.png": plot_label_noise,
}
