"""Fitting random labels: a deep network can memorize anything.

The course: "Modern deep networks can perfectly fit to random data ... the network is
just generating a function that fits the training data."

Reproduces Zhang, Bengio, Hardt, Recht and Vinyals (2017), "Understanding deep learning
requires rethinking generalization": an MLP with one hidden layer of 512 units fits
CIFAR-10 with random labels (Table 1: 99.34% train, 10.61% test accuracy, chance 10%);
true labels, shuffled pixels, random pixels and Gaussian inputs are all fit, random
labels taking longest but only a constant factor longer (Fig. 1a); and test error climbs
toward 90% as the fraction of corrupted labels goes to 1 (Fig. 1c). And Arpit et al.
(2017), "A closer look at memorization in deep networks": networks learn the real
patterns first and memorize the noise later.

Design: scikit-learn's digits (80/20 split), an MLP 2x512 (`zoo.mlp.build_mlp`), Adam
1e-3, batch 64, trained until 99% of the training set is fit (at most `max_epochs`);
the same initialization for every condition of a seed. Accuracy is measured after every
epoch on the whole training set, on its clean and its corrupted examples, and on the
test set. Random labels are drawn once and stay fixed across epochs.

    python -m experiments run random_labels              # about 1.5 minutes, 3 seeds
    python experiments/random_labels.py --quick          # about 16 seconds, 2 seeds
    python -m experiments run random_labels --set dataset=mnist1d
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

from experiments.claims import Claim, mean_std, mean_std_table, measured_rows
from experiments.plots import errorbar_over_seeds
from experiments.progress import Progress
from experiments.settings import (
    distinct,
    layer_widths,
    may_be_empty,
    one_of,
    positive,
    probability,
    seeds_setting,
    setting,
    validate,
)
from zoo import corruptions, datasets
from zoo.callbacks import EpochEvaluation
from zoo.mlp import build_mlp
from zoo.training import Trainer

TITLE = "Fitting random labels"
CONCEPT = (
    "Deep networks can fit random labels perfectly: capacity alone does not explain generalization."
)
CONCLUSION = (
    "The same network that generalizes on real digits also memorizes pure noise: random "
    "labels, random pixels and Gaussian inputs are all fit to 99%, with test accuracy at "
    "chance, and random labels take only a constant factor more epochs. So the network's "
    "capacity, or its training loss, cannot tell us whether it will generalize; that "
    "depends on the data, and with noisy labels the real pattern is learned first. "
    "Shuffled pixels (one fixed permutation) are no harder than true labels for an MLP, "
    "which does not know which pixel is next to which."
)

INPUT_CONDITIONS = ("true_labels", "random_labels", "shuffled_pixels", "random_pixels", "gaussian")
CLEAN_FIT = 0.9  # Arpit et al.: by the time the clean examples are fit, the noise is not yet
LESSON_CORRUPTION = 0.4


@dataclasses.dataclass(frozen=True)
class Config:
    dataset: str = setting("digits", "the dataset to fit", one_of(*datasets.NAMES))
    train_size: int | None = setting(
        None, "a stratified subset of the training set; none: all of it"
    )
    hidden_units: tuple[int, ...] = setting(
        (512, 512), "the MLP's hidden layer widths", layer_widths
    )
    learning_rate: float = setting(1e-3, "Adam's learning rate", positive)
    batch_size: int = setting(64, "examples per update", positive)
    max_epochs: int = setting(200, "the longest a training may run", positive)
    target_accuracy: float = setting(
        0.99, "stop once this share of the training set is fit", positive, probability
    )
    conditions: tuple[str, ...] = setting(
        INPUT_CONDITIONS,
        "what is randomized: labels, pixels or inputs",
        one_of(*INPUT_CONDITIONS),
        distinct,
        may_be_empty,
    )
    corruption_levels: tuple[float, ...] = setting(
        (0.0, 0.2, 0.4, 0.6, 0.8, 1.0),
        "shares of labels replaced at random, for the sweep",
        probability,
        distinct,
        may_be_empty,
    )
    seeds: tuple[int, ...] = seeds_setting()

    def __post_init__(self):
        validate(self)
        datasets.check_train_size(self.dataset, self.train_size)
        if not self.conditions and not self.corruption_levels:
            raise ValueError("give at least one of conditions and corruption_levels")

    def resolved(self):
        return {"train_size": self.train_size or datasets.TRAIN_SIZES[self.dataset]}


# Quick: every claim still measured, on 300 examples, without the shuffled-pixels
# condition (the true-labels task in disguise) and three of the sweep's six levels.
QUICK = dict(
    train_size=300,
    conditions=("true_labels", "random_labels", "random_pixels", "gaussian"),
    hidden_units=(256, 256),
    corruption_levels=(0.0, 0.4, 1.0),
    seeds=(0, 1),
)


def trainings(config):
    """The (condition, corruption probability) pairs to train, each once per seed.

    The corruption sweep's end points are the true- and random-label conditions.
    """
    runs = [(c, 1.0 if c == "random_labels" else 0.0) for c in config.conditions]
    for p in config.corruption_levels:
        name = {0.0: "true_labels", 1.0: "random_labels"}.get(p, "corrupted_labels")
        runs.append((name, p))
    return list(dict.fromkeys(runs))


def make_condition(condition, p, train, test, num_classes, seed):
    """Returns `(x_train, y_train, x_test)` for one condition; test labels stay true."""
    (x_train, y_train), (x_test, _) = train, test
    seeds = np.random.default_rng(seed).integers(2**31, size=2)
    if condition == "shuffled_pixels":  # one permutation, shared by both splits
        return (
            corruptions.shuffle_pixels(x_train, seeds[0]),
            y_train,
            corruptions.shuffle_pixels(x_test, seeds[0]),
        )
    if condition == "random_pixels":
        return (
            corruptions.random_pixels(x_train, seeds[0]),
            y_train,
            corruptions.random_pixels(x_test, seeds[1]),
        )
    if condition == "gaussian":
        mean, std = float(x_train.mean()), float(x_train.std())
        return (
            corruptions.gaussian_like(x_train, seeds[0]),
            y_train,
            corruptions.gaussian_like(x_test, seeds[1], mean=mean, std=std),
        )
    return x_train, corruptions.corrupt_labels(y_train, p, num_classes, seed=seeds[0]), x_test


def train(trainer, config, x_train, y_train, x_test, y_test, clean, num_classes, seed):
    """Trains the seed's MLP, the same initialization for every condition; returns one
    record per epoch."""
    history = EpochEvaluation.on_splits(
        {"train": (x_train, y_train), "test": (x_test, y_test)},
        subsets={"clean": ("train", clean), "noisy": ("train", ~clean)},
        stop_group="train",
        stop_accuracy=config.target_accuracy,
    )
    _, fit = trainer.fit(
        lambda: build_mlp(x_train.shape[1:], num_classes, config.hidden_units),
        keras.optimizers.Adam(learning_rate=config.learning_rate),
        "sparse_categorical_crossentropy",
        x_train,
        y_train,
        batch_size=config.batch_size,
        epochs=config.max_epochs,
        seed=seed,
        callbacks=[history],
    )
    return [dict(record, loss=loss) for record, loss in zip(history.history, fit.history["loss"])]


def run(config):
    rows, trainer = [], Trainer()
    progress = Progress("random_labels", len(config.seeds) * len(trainings(config)))
    for seed in config.seeds:
        train_split, test_split = datasets.load(
            config.dataset, seed=seed, train_size=config.train_size
        )
        num_classes = datasets.NUM_CLASSES[config.dataset]
        for condition, p in trainings(config):
            x_train, y_train, x_test = make_condition(
                condition, p, train_split, test_split, num_classes, seed
            )
            clean = y_train == train_split[1]
            records = train(
                trainer, config, x_train, y_train, x_test, test_split[1], clean, num_classes, seed
            )
            rows += [dict(seed=seed, condition=condition, corruption=p, **r) for r in records]
            last = records[-1]
            progress.done(
                "seed=%d %s p=%.1f: %d epochs, train %.3f, test %.3f",
                seed,
                condition,
                p,
                last["epoch"],
                last["train_accuracy"],
                last["test_accuracy"],
            )
    return pd.DataFrame(rows)


# --- summaries of the table --------------------------------------------------------

RUN = ["seed", "condition", "corruption"]


def final(table):
    """The last epoch of every training run."""
    return table.groupby(RUN, sort=False).tail(1).reset_index(drop=True)


def epochs_to_fit(table, accuracy=0.99):
    """First epoch at which each run fit `accuracy` of its training set (NaN: never)."""
    reached = table[table["train_accuracy"] >= accuracy]
    first = reached.groupby(RUN, sort=False)["epoch"].min()
    runs = table[RUN].drop_duplicates().set_index(RUN)
    return runs.join(first).reset_index()


def summarize(table):
    last = final(table).merge(epochs_to_fit(table).rename(columns={"epoch": "fit_epoch"}), on=RUN)
    last["test_error"] = 1 - last["test_accuracy"]
    summary = mean_std_table(
        last,
        ["condition", "corruption"],
        {
            "epochs to fit 99%": "fit_epoch",
            "train accuracy": "train_accuracy",
            "test accuracy": "test_accuracy",
        },
    )
    return summary


def _by_condition(values, condition, p=None):
    rows = values[values["condition"] == condition]
    return rows if p is None else rows[np.isclose(rows["corruption"], p)]


def _measured(values, condition, p=None):
    """The rows of one condition, for a claim: `NotMeasured` if the run left it out."""
    what = condition if p is None else f"{condition} run at p = {p}"
    return measured_rows(_by_condition(values, condition, p), what)


# --- claims --------------------------------------------------------------------------


def _memorized(table):
    last = _measured(final(table), "random_labels")
    train, test = mean_std(last["train_accuracy"]), mean_std(last["test_accuracy"])
    passed = train["mean"] >= 0.99 and 0.05 <= test["mean"] <= 0.15
    return {"train_accuracy": train, "test_accuracy": test}, passed


def _constant_factor(table):
    fit = epochs_to_fit(table).pivot(
        index="seed", columns=["condition", "corruption"], values="epoch"
    )
    ratio = fit[("random_labels", 1.0)] / fit[("true_labels", 0.0)]
    measured = mean_std(ratio)
    return measured, bool(ratio.notna().all()) and 1 < measured["mean"] <= 20


def _noise_inputs_faster(table):
    fit = epochs_to_fit(table)
    epochs = {
        c: mean_std(_measured(fit, c)["epoch"])
        for c in ("random_pixels", "gaussian", "random_labels")
    }
    passed = (
        max(epochs["random_pixels"]["mean"], epochs["gaussian"]["mean"])
        < epochs["random_labels"]["mean"]
    )
    return {f"{c} epochs": v for c, v in epochs.items()}, passed


def _label_sweep(table):
    last = final(table)
    last = last[last["condition"].isin(["true_labels", "corrupted_labels", "random_labels"])]
    means = last.groupby("corruption")["test_accuracy"].mean().sort_index()
    if len(means) < 2:
        raise ValueError("the corruption sweep needs at least two levels")
    measured = {f"p={p:g}": acc for p, acc in means.items()}
    return measured, bool(np.all(np.diff(means.to_numpy()) < 0))


def clean_fit_epochs(table):
    """Per seed of the p = LESSON_CORRUPTION run: the row of the first epoch at which the
    clean (correctly labelled) training examples are CLEAN_FIT fit."""
    rows = _measured(table, "corrupted_labels", LESSON_CORRUPTION)
    fit = rows[rows["clean_accuracy"] >= CLEAN_FIT]
    if fit.empty:
        raise ValueError(
            f"no run with p={LESSON_CORRUPTION} fit {CLEAN_FIT:.0%} of its clean examples"
        )
    return fit.loc[fit.groupby("seed")["epoch"].idxmin()].set_index("seed")


def _real_patterns_first(table):
    rows = clean_fit_epochs(table)
    gap = mean_std(rows["clean_accuracy"] - rows["noisy_accuracy"])
    seeds = _measured(table, "corrupted_labels", LESSON_CORRUPTION)["seed"].nunique()
    measured = {
        "epoch": mean_std(rows["epoch"]),
        "clean fit": mean_std(rows["clean_accuracy"]),
        "noisy fit": mean_std(rows["noisy_accuracy"]),
        "gap": gap,
        "seeds whose clean examples were never fit": seeds - len(rows),
    }
    return measured, gap["mean"] >= 0.5 and len(rows) == seeds


ZHANG = "Zhang et al. 2017, Understanding deep learning requires rethinking generalization"
CLAIMS = [
    Claim(
        "memorized",
        "Random labels are memorized: the training set is fit while test accuracy stays at chance.",
        f"Course: 'deep networks can perfectly fit to random data'. {ZHANG}, Table 1: "
        "MLP 1x512 on CIFAR-10 random labels, 99.34% train / 10.61% test accuracy.",
        "mean train accuracy >= 0.99 and mean test accuracy in [0.05, 0.15] (chance 0.10)",
        _memorized,
        headline=("train_accuracy", "test_accuracy"),
    ),
    Claim(
        "constant_factor",
        "Memorizing random labels costs only a constant factor more training than learning true labels.",
        f"{ZHANG}, Fig. 1a and Section 2: 'fitting random labels ... only slows down by a small constant factor'.",
        "epochs to reach 99% train accuracy, random / true, mean over seeds: longer, by at most 20x (in (1, 20]; "
        "every seed must reach 99%)",
        _constant_factor,
    ),
    Claim(
        "noise_inputs_faster",
        "Random pixels and Gaussian inputs are fit faster than random labels on real images.",
        f"{ZHANG}, Fig. 1a: random pixels and Gaussian converge faster than random labels.",
        "mean epochs to 99% train accuracy: random pixels and Gaussian both < random labels",
        _noise_inputs_faster,
        headline=("random_pixels epochs", "gaussian epochs", "random_labels epochs"),
    ),
    Claim(
        "test_falls_with_corruption",
        "The more labels are corrupted, the worse the memorizing network does on the test set.",
        f"{ZHANG}, Fig. 1c: test error rises steadily to about 90% as the corruption level goes to 1.",
        "mean final test accuracy falls strictly from each corruption level to the next",
        _label_sweep,
        headline=("p=0", "p=1"),
    ),
    Claim(
        "real_patterns_first",
        "Real patterns are learned before noise: early in training the clean examples are fit, the mislabelled ones not yet.",
        "Arpit et al. 2017, A closer look at memorization in deep networks: networks learn simple patterns first.",
        f"at p = {LESSON_CORRUPTION}, at the first epoch at which {CLEAN_FIT:.0%} of the clean examples are "
        "fit: clean minus mislabelled training accuracy >= 0.5, mean over seeds (every seed's clean examples "
        "must get there)",
        _real_patterns_first,
        headline=("gap",),
    ),
]


# --- plots ---------------------------------------------------------------------------

LABELS = {
    "true_labels": "true labels",
    "shuffled_pixels": "shuffled pixels",
    "random_pixels": "random pixels",
    "gaussian": "Gaussian",
    "random_labels": "random labels",
}


def plot_learning_curves(table):
    figure, axis = plt.subplots(figsize=(7, 4.5))
    for color, (condition, label) in enumerate(LABELS.items()):
        rows = table[(table["condition"] == condition)]
        for index, (_, run_rows) in enumerate(rows.groupby("seed")):
            axis.plot(
                run_rows["epoch"],
                run_rows["train_accuracy"],
                color=f"C{color}",
                alpha=0.8,
                linestyle="--" if condition == "shuffled_pixels" else "-",  # it hides true labels
                label=label if index == 0 else None,
            )
    axis.set(
        xlabel="epoch",
        ylabel="training accuracy",
        title="Every condition is fit; random labels just take longer (one line per seed)",
    )
    axis.legend(loc="lower right")
    axis.grid(alpha=0.3)
    return figure


def plot_corruption_sweep(table):
    last = final(table)
    last = last[last["condition"].isin(["true_labels", "corrupted_labels", "random_labels"])]
    figure, axis = plt.subplots(figsize=(6, 4))
    errorbar_over_seeds(axis, 1 - last["test_accuracy"], last["corruption"])
    axis.axhline(0.9, color="gray", linestyle="--", label="chance (90% error)")
    axis.set(
        xlabel="label corruption probability p",
        ylabel="test error after fitting",
        title="Test error rises with label noise, though training error is ~0",
    )
    axis.legend()
    axis.grid(alpha=0.3)
    return figure


def plot_clean_vs_noisy(table):
    rows = _by_condition(table, "corrupted_labels", LESSON_CORRUPTION)
    figure, axis = plt.subplots(figsize=(6, 4))
    for column, label in (
        ("clean_accuracy", "clean examples"),
        ("noisy_accuracy", "mislabelled examples"),
    ):
        curve = rows.groupby("epoch")[column].agg(["mean", "std"])
        axis.plot(curve.index, curve["mean"], label=label)
        axis.fill_between(
            curve.index, curve["mean"] - curve["std"], curve["mean"] + curve["std"], alpha=0.2
        )
    for epoch in clean_fit_epochs(table)["epoch"].unique():
        axis.axvline(epoch, color="gray", linestyle=":")
    axis.set(
        xlabel="epoch",
        ylabel="training accuracy on its labels",
        title=f"p = {LESSON_CORRUPTION}: the real pattern is fit first, the noise later "
        f"(dotted: clean {CLEAN_FIT:.0%} fit)",
    )
    axis.legend()
    axis.grid(alpha=0.3)
    return figure


PLOTS = {
    "learning_curves.png": plot_learning_curves,
    "corruption_sweep.png": plot_corruption_sweep,
    "clean_vs_noisy.png": plot_clean_vs_noisy,
}
