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
  risen `alpha` percent above its best (GL); slower criteria (larger alpha) buy small
  gains in generalization at a large cost in training time (his averages: about 4%
  better for about 4 times the epochs).
- Arpit et al. 2017, "A closer look at memorization in deep networks": with noisy
  labels a network first learns the clean pattern, then memorizes the noise; dropout
  slows the memorization without hurting the real data.

Design: an MLP 256x256 (`zoo.mlp.build_mlp`), Adam 1e-3, batch 128, 100 epochs; a
stratified 20% validation split carved from the training set (the test set is only
looked at to report). Conditions: no regularization, dropout at 0.5, Keras
`EarlyStopping` on `val_loss` and on `val_accuracy` (patience 10, best weights restored)
and Prechelt's GL; then no regularization, early stopping and dropout again with 40% of the labels changed to a
wrong class. Every condition of a seed starts from the same initial weights (dropout adds
no weights; `build_mlp` draws the Dense layers' seeds before the Dropout layers'). GL is
also replayed, for thresholds alpha from 1 to 50, on each unregularized run's validation
losses, with the weights of its best epoch before the stop restored. A narrower net gains
less from dropout: measured over 3 seeds, 0.5 gains +0.030 at 128x128 and +0.063 at
512x512. More conditions, each about 30 s: `--set dropout_rates=0.2,0.5`, `--set l2=1e-3`
(weight decay), `--set dropout_with_early_stopping=true`.

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
    "accuracy stays about 40 points lower: it memorizes. Dropout 0.5 raises test accuracy "
    "by about 7 points at this width. Early stopping on the validation accuracy ends as "
    "accurate as the full run in about half the epochs. Stopping on the validation loss "
    "instead stops earlier, as the loss turns up while the accuracy still climbs (the net "
    "grows over-confident on the examples it gets wrong), and ends less accurate on "
    "average, but by less than a point, well within the seeds' spread. With 40% wrong "
    "labels the unregularized net's test accuracy peaks in the first tenth of training and "
    "falls as it memorizes every noisy label; dropout fits fewer than half of them and "
    "ends far more accurate. Prechelt's slower criteria train about five times longer for "
    "about two points of test accuracy."
)

LESSON_DROPOUT = 0.5
STOPPING = ("val_loss", "val_accuracy", "gl")
GL_ALPHAS = (1.0, 2.0, 5.0, 10.0, 20.0, 50.0)  # replayed on each unregularized run
EARLY_PEAK = 1 / 3  # with noisy labels, test accuracy peaks within this share of training


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
        (256, 256), "the MLP's hidden layer widths", layer_widths
    )
    learning_rate: float = setting(1e-3, "Adam's learning rate", positive)
    batch_size: int = setting(128, "examples per update", positive)
    epochs: int = setting(100, "epochs of the full, unstopped runs", positive)
    dropout_rates: tuple[float, ...] = setting(
        (LESSON_DROPOUT,), "dropout rates to compare", fraction, distinct, may_be_empty
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
    dropout_with_early_stopping: bool = setting(
        False, "also train dropout with early stopping (about 30 s more)"
    )
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


# Quick: two stopping rules, 1,000 examples, 40 epochs of batch 64 (twice the updates per
# epoch, so overfitting starts sooner), five conditions. 40 epochs are too few for dropout to
# overtake on clean labels (that takes the full run), so quick shows dropout's effect on
# noisy labels only.
QUICK = dict(
    train_size=1000,
    batch_size=64,
    epochs=40,
    dropout_rates=(),
    stopping=("val_loss", "val_accuracy"),
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


def _early_stopping(table):
    rows = kept(table)
    stopped = runs_of(rows, "early_stop_val_accuracy")
    full = runs_of(rows, "none")
    share = stopped["epochs_trained"] / full["epochs_trained"]
    difference = stopped["test_accuracy"] - full["test_accuracy"]
    measured = {
        "epochs trained / full run": mean_std(share),
        "test accuracy": mean_std(stopped["test_accuracy"]),
        "full run's final test accuracy": mean_std(full["test_accuracy"]),
        "stopped - full": mean_std(difference),
    }
    return measured, bool(share.mean() <= 0.6 and difference.mean() >= -0.01)


def _loss_stops_worse(table):
    rows = kept(table)
    on_loss = runs_of(rows, "early_stop_val_loss")
    on_accuracy = runs_of(rows, "early_stop_val_accuracy")
    difference = on_loss["test_accuracy"] - on_accuracy["test_accuracy"]
    measured = {
        "on val_loss: kept epoch": mean_std(on_loss["kept_epoch"]),
        "on val_accuracy: kept epoch": mean_std(on_accuracy["kept_epoch"]),
        "on val_loss: test accuracy": mean_std(on_loss["test_accuracy"]),
        "on val_accuracy: test accuracy": mean_std(on_accuracy["test_accuracy"]),
        "loss - accuracy": mean_std(difference),
    }
    return measured, bool(difference.mean() < 0)


def label_noise_level(table):
    """The label noise of the noisy-label runs; `NotMeasured` if the run had none."""
    noise = float(table["label_noise"].max())
    if noise <= 0:
        raise NotMeasured("the run had no noisy-label part (label_noise=0)")
    return noise


def _noise_peaks_early(table):
    noise = label_noise_level(table)
    curves = rows_of(table, "none", noise)
    final = runs_of(kept(table), "none", noise)
    peak = curves.loc[curves.groupby("seed")["test_accuracy"].idxmax()].set_index("seed")
    share = peak["epoch"] / final["epochs_trained"]
    drop = peak["test_accuracy"] - final["test_accuracy"]
    measured = {
        "peak epoch / epochs": mean_std(share),
        "peak test accuracy": mean_std(peak["test_accuracy"]),
        "final test accuracy": mean_std(final["test_accuracy"]),
        "peak - final": mean_std(drop),
    }
    return measured, bool(share.mean() <= EARLY_PEAK and drop.mean() >= 0.04)


def _dropout_resists_noise(table):
    noise = label_noise_level(table)
    rows = kept(table)
    none = runs_of(rows, "none", noise)
    dropout = runs_of(rows, f"dropout_{LESSON_DROPOUT:g}", noise)
    gain = dropout["test_accuracy"] - none["test_accuracy"]
    # At the same (last) epoch: the share of mislabelled training examples the net fits.
    measured = {
        "dropout - none, test accuracy": mean_std(gain),
        "noisy labels fit, none": mean_std(none["noisy_accuracy"]),
        "noisy labels fit, dropout": mean_std(dropout["noisy_accuracy"]),
        "clean labels fit, dropout": mean_std(dropout["clean_accuracy"]),
    }
    fits_less = dropout["noisy_accuracy"].mean() <= none["noisy_accuracy"].mean() / 2
    return measured, bool(gain.mean() >= 0.05 and fits_less)


def gl_replay(table):
    """Prechelt's GL replayed on each unregularized run: per seed and alpha, the epoch it
    stops at (after the last: never), and the test accuracy at the epoch of the lowest
    validation loss up to then (its weights restored)."""
    rows = []
    for seed, curve in rows_of(table, "none").groupby("seed"):
        curve = curve.sort_values("epoch")
        for alpha in GL_ALPHAS:
            stop = prechelt_stop_epoch(curve["val_loss"], criterion="gl", alpha=alpha)
            seen = curve if stop is None else curve[curve["epoch"] <= stop]
            best = seen.loc[seen["val_loss"].idxmin()]
            rows.append(
                dict(
                    seed=seed,
                    alpha=alpha,
                    epochs=len(seen),
                    kept_epoch=best["epoch"],
                    test_accuracy=best["test_accuracy"],
                )
            )
    return pd.DataFrame(rows)


def _slower_criteria_cost_more(table):
    replay = gl_replay(table)
    fast, slow = replay["alpha"].min(), replay["alpha"].max()
    by_alpha = replay.pivot(index="seed", columns="alpha")
    growth = by_alpha["epochs"][slow] / by_alpha["epochs"][fast]
    change = by_alpha["test_accuracy"][slow] - by_alpha["test_accuracy"][fast]
    measured = {
        f"alpha={alpha:g}: epochs": mean_std(by_alpha["epochs"][alpha]) for alpha in GL_ALPHAS
    }
    measured |= {
        f"epochs, alpha={slow:g} / alpha={fast:g}": mean_std(growth),
        f"test accuracy, alpha={slow:g} - alpha={fast:g}": mean_std(change),
    }
    return measured, bool(growth.mean() >= 2 and abs(change.mean()) <= 0.03)


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
        "early_stopping",
        "Early stopping on the validation accuracy saves much of the training and ends about as accurate as "
        "the full run.",
        "Course: 'set some of the training data aside as a validation set ... you stop'. Keras "
        "EarlyStopping(monitor='val_accuracy', restore_best_weights=True).",
        "mean over seeds: epochs trained <= 0.6 x the full run's, and test accuracy no more than 0.01 below "
        "the full run's final test accuracy",
        _early_stopping,
        headline=("epochs trained / full run", "stopped - full"),
    ),
    Claim(
        "loss_stops_worse",
        "Stopping on the validation loss ends less accurate than stopping on the validation accuracy: the "
        "loss turns up first, as the net grows over-confident on the examples it gets wrong.",
        "Guo et al. 2017, On calibration of modern neural networks: the loss can rise while the error falls.",
        "mean over seeds: test accuracy of early stopping on val_loss below that of early stopping on "
        "val_accuracy",
        _loss_stops_worse,
        headline=("loss - accuracy",),
    ),
    Claim(
        "noise_peaks_early",
        "With 40% wrong labels, the unregularized net's test accuracy peaks early and then falls, as it "
        "memorizes the noise.",
        "Arpit et al. 2017, A closer look at memorization in deep networks: real patterns first, noise later.",
        f"mean over seeds: the peak test accuracy within the first {EARLY_PEAK:.2g} of the epochs, and the "
        "final test accuracy at least 0.04 below it",
        _noise_peaks_early,
        headline=("peak epoch / epochs", "peak - final"),
    ),
    Claim(
        "dropout_resists_noise",
        f"With 40% wrong labels, dropout {LESSON_DROPOUT} ends more accurate than no regularization and "
        "memorizes far fewer of the wrong labels.",
        "Arpit et al. 2017: dropout degrades the fitting of noise without hurting the real data.",
        "mean over seeds: final test accuracy of dropout minus none >= 0.05; at the last epoch dropout fits at "
        "most half as many of the noisy training labels",
        _dropout_resists_noise,
        headline=("dropout - none, test accuracy", "noisy labels fit, dropout"),
    ),
    Claim(
        "slower_criteria_cost_more",
        "Slower stopping criteria buy little generalization at a large cost in training time.",
        f"{PRECHELT}, his averages: about 4% better generalization for about 4x the training time.",
        f"GL replayed on every unregularized run, mean over seeds: from alpha={min(GL_ALPHAS):g} to "
        f"alpha={max(GL_ALPHAS):g} the epochs trained grow at least 2x while test accuracy changes by at most "
        "0.03",
        _slower_criteria_cost_more,
        headline=("epochs, alpha=50 / alpha=1", "test accuracy, alpha=50 - alpha=1"),
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
    noise = float(table["label_noise"].max())
    figure, axis = plt.subplots(figsize=(8, 0.45 * len(labels) + 1.8))
    colors = ["C0" if noise == 0 else "C3" for noise, _ in stats.index]
    axis.barh(labels, stats["mean"], xerr=stats["std"].fillna(0), color=colors, capsize=3)
    axis.invert_yaxis()
    axis.set(
        xlabel="test accuracy (mean and std over seeds)",
        xlim=(0, 1),
        title="Test accuracy by regularizer\n(blue: clean labels"
        + (f", red: {noise:.0%} wrong labels)" if noise > 0 else ")"),
    )
    axis.grid(axis="x", alpha=0.3)
    figure.tight_layout()
    return figure


def plot_label_noise(table):
    noise = float(table["label_noise"].max())
    figure, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    if noise <= 0:  # the run left the noisy-label part out
        for axis in axes:
            axis.text(0.5, 0.5, "not measured: label_noise=0", ha="center", va="center")
            axis.set_axis_off()
        return figure
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
