"""Residual vs plain networks: the degradation problem and skip connections.

The course: "Residual neural network: a neural network that uses skip connections to
jump over layers ... output from one layer can skip layers in the network."

Reproduces He et al. 2016, "Deep residual learning for image recognition": a deeper
plain network trains *worse*, not just tests worse (CIFAR-10: plain nets' training
error grows with depth, plain-110 above 60%; ImageNet top-1: plain-18 27.94% vs plain-34
28.54% error, while ResNet-18 27.88% vs ResNet-34 25.03%); and Veit et al. 2016,
"Residual networks behave like ensembles of relatively shallow networks": deleting a
single block barely hurts a trained ResNet but wrecks a plain network.

Design: MNIST-1D; fully connected networks 64 units wide of 4, 8, 16 and 32 weight
layers (`zoo.residual.build_residual_mlp`: a Dense stem, 1 to 15 pre-activation blocks
of two Dense layers with batch normalization, a softmax layer), each once with skip
connections and once without (the same layers, the same initialization); SGD with
momentum 0.9, learning rate 0.1 with cosine decay, batch 256, 15 epochs. Measured: the
training loss after every epoch; final training loss and accuracy and test accuracy;
the gradient norm of every weight layer at initialization (for batch, layer and no
normalization at the deepest depth); and the test accuracy with each block deleted in
turn (`zoo.residual.predictions_without_each_block`), with no retraining, at 8 and 16
layers, depths at which both arms train (at 32 the plain net is near chance before
anything is deleted). The training loss and accuracy are measured as the optimizer saw
them, with batch normalization using each batch's statistics (batches of the training
batch size); the moving statistics, which inference uses, flatter the plain nets'
failure (the table shows both).

Budget: the issue's calibration used 4/12/22/42 layers; with 3 seeds that took 140 s
here at 15 epochs (about 2.5 s of it per epoch of the deepest pair), so the default
stops at 32 layers. `--set depths=4,12,22,42` runs the calibrated sweep (lesions then at
12 and 42 layers).
`--set dataset=cifar10` trains the convolutional twins (`zoo.residual.build_resnet`, of
8, 14, 20 and 32 layers) when tensorflow-datasets has CIFAR-10; budget hours on a CPU.

    python -m experiments run residual_vs_plain             # about 2 minutes, 3 seeds
    python experiments/residual_vs_plain.py --quick         # about 20 seconds, 2 seeds
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
from matplotlib.ticker import MaxNLocator

from experiments.claims import Claim, by_record, mean_std, mean_std_table
from experiments.plots import errorbar_over_seeds
from experiments.progress import Progress
from experiments.settings import (
    at_least,
    at_most,
    distinct,
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
from zoo import datasets
from zoo.callbacks import correct_and_loss
from zoo.residual import build_residual_mlp, build_resnet, predictions_without_each_block
from zoo.training import Trainer, gradients

TITLE = "Residual vs plain networks"
CONCEPT = "Skip connections let a deep network train: without them, adding layers makes even training worse."
CONCLUSION = (
    "The problem is optimization, not overfitting: the 32-layer plain network fits its "
    "own training set far worse than the 4-layer one, measured with batch statistics as "
    "the optimizer saw it (inference-mode statistics make it look worse still), while the "
    "residual network of the same depth, layers and initialization fits it better than "
    "any shallower one. Its gradient does not vanish: with batch normalization the plain "
    "network's gradient at initialization grows toward the input, its first hidden "
    "layer's about 160 times its last's, as batch normalization theory predicts (Yang et "
    "al. 2019), and as He et al. said of their plain nets. Deleting one block from a "
    "plain net of 8 or 16 layers destroys it; from the residual net of 16 layers it costs "
    "about 0.11 of test accuracy, more than the claim's 0.08: with 7 blocks each still "
    "carries much of the signal, where Veit et al. deleted one of 54."
)

ARMS = ("plain", "residual")
MLP_DEPTHS = (4, 8, 16, 32)  # weight layers: 2 * blocks + 2
RESNET_DEPTHS = (8, 14, 20, 32)  # 6 * blocks per stage + 2
NORMALIZATIONS = ("batch", "layer", "none")


@dataclasses.dataclass(frozen=True)
class Config:
    dataset: str = setting("mnist1d", "the dataset to fit", one_of(*datasets.NAMES))
    train_size: int | None = setting(
        None, "a stratified subset of the training set; none: all of it"
    )
    architecture: str = setting(
        "auto",
        "mlp or resnet; auto: the ResNet for tensorflow-datasets' images",
        one_of("auto", "mlp", "resnet"),
    )
    depths: tuple[int, ...] | None = setting(
        None,
        "weight layers of the nets compared; none: 4,8,16,32 for the "
        "MLP, 8,14,20,32 for the ResNet",
    )
    width: int = setting(
        64,
        "the MLP's units; the ResNet's stages have width / 4, width / 2, width filters",
        at_least(4),
        layer_widths,
    )
    normalization: str = setting(
        "batch", "normalization inside every block", one_of(*NORMALIZATIONS)
    )
    learning_rate: float = setting(0.1, "SGD's learning rate", positive)
    momentum: float = setting(0.9, "SGD's momentum", non_negative, less_than(1))
    batch_size: int = setting(256, "examples per update", positive)
    epochs: int = setting(15, "epochs of training", positive)
    gradient_examples: int = setting(
        512,
        "the batch on which gradients at initialization are measured",
        positive,
        at_most(100_000),
    )
    gradient_normalizations: tuple[str, ...] = setting(
        NORMALIZATIONS,
        "normalizations whose gradients at initialization are measured at the deepest depth",
        one_of(*NORMALIZATIONS),
        distinct,
        may_be_empty,
    )
    lesion_depths: tuple[int, ...] | None = setting(
        None,
        "depths at which blocks are deleted one by one; none: the second and third depths (8, 16)",
    )
    seeds: tuple[int, ...] = seeds_setting()

    def __post_init__(self):
        validate(self)
        if self.kind == "resnet" and self.dataset == "mnist1d":
            raise ValueError("the ResNet needs images; mnist1d is one-dimensional")
        depths = self.depth_list
        step, least = (2, 4) if self.kind == "mlp" else (6, 8)
        if (
            len(depths) < 2
            or any(d < least or (d - 2) % step for d in depths)
            or list(depths) != sorted(set(depths))
        ):
            raise ValueError(
                f"depths must be at least two increasing values of the form {step}n + 2, "
                f"n >= 1, for the {self.kind}; got {depths}"
            )
        if not set(self.lesioned_depths) <= set(depths):
            raise ValueError(
                f"lesion_depths must be among the depths {depths}, got {self.lesion_depths}"
            )
        datasets.check_train_size(self.dataset, self.train_size)

    def resolved(self):
        return {
            "train_size": self.train_size or datasets.TRAIN_SIZES[self.dataset],
            "architecture": self.kind,
            "depths": self.depth_list,
            "lesion_depths": self.lesioned_depths,
        }

    @property
    def kind(self):
        if self.architecture == "auto":
            return "resnet" if self.dataset in datasets.TFDS else "mlp"
        return self.architecture

    @property
    def depth_list(self):
        return self.depths or (MLP_DEPTHS if self.kind == "mlp" else RESNET_DEPTHS)

    @property
    def lesioned_depths(self):
        if self.lesion_depths is not None:
            return self.lesion_depths
        depths = self.depth_list
        return tuple(dict.fromkeys(depths[1:3] if len(depths) > 2 else depths[-1:]))


# Quick: 1,000 examples in batches of 128, depths 4 and 16 (lesions at 16), the other
# normalizations' gradients left out. Each new depth and arm is compiled once (seconds of
# tracing), whatever the seeds.
QUICK = dict(
    train_size=1000, batch_size=128, depths=(4, 16), gradient_normalizations=(), seeds=(0, 1)
)


def build(config, depth, arm, normalization, input_shape, num_classes):
    norm = None if normalization == "none" else normalization
    residual = arm == "residual"
    if config.kind == "mlp":
        return build_residual_mlp(
            input_shape, num_classes, (depth - 2) // 2, config.width, residual, norm
        )
    filters = (config.width // 4, config.width // 2, config.width)
    return build_resnet(input_shape, num_classes, (depth - 2) // 6, filters, residual, norm)


def gradient_rows(model, x, y):
    """The gradient norm of every weight layer's kernel, input side first (skip projections left out)."""
    grads = gradients(model, x, y)
    kernels = [
        np.linalg.norm(g)
        for w, g in zip(model.trainable_weights, grads)
        if w.path.endswith("kernel") and "projection" not in w.path
    ]
    return [
        dict(record="gradient", layer=i + 1, gradient_norm=float(n)) for i, n in enumerate(kernels)
    ]


def accuracy_and_loss(probabilities, y):
    correct, losses = correct_and_loss(probabilities, y)
    return float(correct.mean()), float(losses.mean())


def training_mode_fit(model, x, y, batch_size):
    """Training accuracy and loss as the optimizer saw them: batch normalization normalizes
    each batch of `batch_size` by its own statistics. The moving statistics those calls
    update are put back afterwards."""
    saved = [np.array(variable.numpy()) for variable in model.non_trainable_variables]  # a copy
    probabilities = np.concatenate(
        [
            keras.ops.convert_to_numpy(model(x[start : start + batch_size], training=True))
            for start in range(0, len(y), batch_size)
        ]
    )
    for variable, value in zip(model.non_trainable_variables, saved):
        variable.assign(value)
    return accuracy_and_loss(probabilities, y)


def train(trainer, config, depth, arm, weights, splits, seed):
    """Trains one network; returns its rows: gradients at init, epochs, final, lesions.

    `weights` maps weight paths to initial values; the plain twin takes the residual
    net's values for every weight it has (all but the skip projections).
    """
    (x, y), (x_test, y_test) = splits

    def build_arm():
        model = build(
            config,
            depth,
            arm,
            config.normalization,
            x.shape[1:],
            datasets.NUM_CLASSES[config.dataset],
        )
        for variable in model.weights:
            variable.assign(weights[variable.path])
        return model

    rows = gradient_rows(
        trainer.fresh(build_arm, seed), x[: config.gradient_examples], y[: config.gradient_examples]
    )
    steps = -(-len(y) // config.batch_size)
    cosine = keras.optimizers.schedules.CosineDecay(
        config.learning_rate, decay_steps=config.epochs * steps
    )
    model, history = trainer.fit(
        build_arm,
        keras.optimizers.SGD(learning_rate=cosine, momentum=config.momentum),
        "sparse_categorical_crossentropy",
        x,
        y,
        batch_size=config.batch_size,
        epochs=config.epochs,
        seed=seed,
    )
    seconds = sum(history.history["seconds"])
    rows += [
        dict(record="epoch", epoch=i + 1, train_loss=loss)
        for i, loss in enumerate(history.history["loss"])
    ]
    # Direct calls in inference mode: no `predict` graph to trace for every model.
    probabilities = keras.ops.convert_to_numpy(model(np.concatenate([x, x_test]), training=False))
    inference_accuracy, inference_loss = accuracy_and_loss(probabilities[: len(y)], y)
    test_accuracy, _ = accuracy_and_loss(probabilities[len(y) :], y_test)
    train_accuracy, train_loss = training_mode_fit(model, x, y, config.batch_size)
    rows.append(
        dict(
            record="final",
            train_loss=train_loss,
            train_accuracy=train_accuracy,
            inference_train_loss=inference_loss,
            inference_train_accuracy=inference_accuracy,
            test_accuracy=test_accuracy,
            seconds=seconds,
        )
    )
    if depth in config.lesioned_depths:
        for index, lesioned in predictions_without_each_block(model, x_test).items():
            rows.append(
                dict(
                    record="lesion",
                    block=index,
                    test_accuracy=accuracy_and_loss(lesioned, y_test)[0],
                )
            )
    return rows


def run(config):
    rows, trainer = [], Trainer()
    num_classes = datasets.NUM_CLASSES[config.dataset]
    progress = Progress("residual_vs_plain", len(config.seeds) * len(config.depth_list) * len(ARMS))
    for seed in config.seeds:
        splits = datasets.load(config.dataset, seed=seed, train_size=config.train_size)
        x, y = (array[: config.gradient_examples] for array in splits[0])
        for depth in config.depth_list:
            # Both arms start from the same weights.
            fresh = trainer.fresh(
                lambda: build(
                    config, depth, "residual", config.normalization, x.shape[1:], num_classes
                ),
                seed,
            )
            weights = {variable.path: variable.numpy() for variable in fresh.weights}
            for arm in ARMS:
                run_rows = train(trainer, config, depth, arm, weights, splits, seed)
                rows += [
                    dict(seed=seed, arm=arm, depth=depth, normalization=config.normalization, **row)
                    for row in run_rows
                ]
                final = next(row for row in run_rows if row["record"] == "final")
                progress.done(
                    "seed=%d %s depth %d: train %.3f, test %.3f",
                    seed,
                    arm,
                    depth,
                    final["train_accuracy"],
                    final["test_accuracy"],
                )
        for normalization in dict.fromkeys(
            config.gradient_normalizations
        ):  # at init only, no training
            for arm in ARMS if normalization != config.normalization else ():
                model = trainer.fresh(
                    lambda: build(
                        config, config.depth_list[-1], arm, normalization, x.shape[1:], num_classes
                    ),
                    seed,
                )
                rows += [
                    dict(
                        seed=seed,
                        arm=arm,
                        depth=config.depth_list[-1],
                        normalization=normalization,
                        **row,
                    )
                    for row in gradient_rows(model, x, y)
                ]
    return by_record(rows)


# --- summaries of the table --------------------------------------------------------


def records(tables, kind, normalization=None):
    """The table of one record kind (empty if the run measured none); gradient rows of one
    normalization (default: the trained one)."""
    rows = tables.get(kind, pd.DataFrame())
    if kind == "gradient":
        trained = tables["final"]["normalization"].iloc[0]
        rows = rows[rows["normalization"] == (normalization or trained)]
    return rows


def gradient_ratio(tables, normalization=None):
    """Per seed, arm and depth: the gradient norm at the first hidden layer / at the last,
    hidden layers of equal shape only (not the stem, whose input is the data, nor the
    softmax layer)."""
    rows = records(tables, "gradient", normalization).sort_values("layer")

    def ratio(norms):
        hidden = norms.iloc[1:-1]
        return hidden.iloc[0] / hidden.iloc[-1] if len(hidden) >= 2 else np.nan

    by = rows.groupby(["seed", "arm", "depth"])["gradient_norm"]
    return by.apply(ratio).rename("ratio").reset_index()


def _arm_depth(tables, arm, depth):
    rows = records(tables, "final")
    selected = rows[(rows["arm"] == arm) & (rows["depth"] == depth)]
    if selected.empty:
        raise KeyError(f"no {arm} network of depth {depth}")
    return selected.set_index("seed")


def lesioned(tables, arm, depth):
    """Per seed: mean test accuracy over single-block deletions, and the accuracy it lost."""
    lesions = records(tables, "lesion")
    lesions = lesions[(lesions["arm"] == arm) & (lesions["depth"] == depth)]
    if lesions.empty:
        raise KeyError(f"no lesion results for the {arm} network of depth {depth}")
    accuracy = lesions.groupby("seed")["test_accuracy"].mean()
    return accuracy, _arm_depth(tables, arm, depth)["test_accuracy"] - accuracy


def summarize(tables):
    final = records(tables, "final").merge(gradient_ratio(tables), on=["seed", "arm", "depth"])
    lesions = records(tables, "lesion").groupby(["seed", "arm", "depth"])["test_accuracy"].mean()
    final = final.join(lesions.rename("lesioned_accuracy"), on=["seed", "arm", "depth"])
    return mean_std_table(
        final.sort_values(["depth", "arm"], kind="stable"),
        ["depth", "arm"],
        {
            "train loss (batch statistics)": "train_loss",
            "train accuracy (batch statistics)": "train_accuracy",
            "train accuracy (moving statistics)": "inference_train_accuracy",
            "test accuracy": "test_accuracy",
            "gradient first / last hidden layer at init": "ratio",
            "test accuracy, one block deleted": "lesioned_accuracy",
        },
    )


# --- claims --------------------------------------------------------------------------


def _depths(tables):
    depths = sorted(records(tables, "final")["depth"].unique())
    if len(depths) < 2:
        raise ValueError("the claims need at least two depths")
    return depths[0], depths[-1]


def _degradation(tables):
    shallow, deep = _depths(tables)
    drop = (
        _arm_depth(tables, "plain", shallow)["train_accuracy"]
        - _arm_depth(tables, "plain", deep)["train_accuracy"]
    )
    measured = {
        f"plain-{shallow} train accuracy": mean_std(
            _arm_depth(tables, "plain", shallow)["train_accuracy"]
        ),
        f"plain-{deep} train accuracy": mean_std(
            _arm_depth(tables, "plain", deep)["train_accuracy"]
        ),
        "drop": mean_std(drop),
    }
    return measured, measured["drop"]["mean"] >= 0.2


def _residual_does_not_degrade(tables):
    shallow, deep = _depths(tables)
    residual_deep = _arm_depth(tables, "residual", deep)["train_accuracy"]
    change = residual_deep - _arm_depth(tables, "residual", shallow)["train_accuracy"]
    margin = residual_deep - _arm_depth(tables, "plain", deep)["train_accuracy"]
    measured = {
        f"residual-{deep} train accuracy": mean_std(residual_deep),
        f"residual-{deep} - residual-{shallow}": mean_std(change),
        f"residual-{deep} - plain-{deep}": mean_std(margin),
    }
    return measured, measured[f"residual-{deep} - residual-{shallow}"][
        "mean"
    ] >= -0.02 and measured[f"residual-{deep} - plain-{deep}"]["mean"] >= 0.3


def _lesion(tables):
    # Veit et al. lesioned a deep ResNet (110 layers) and a plain net that trains (VGG):
    # here both arms at the deepest lesioned depth, one at which both train.
    depths = sorted(records(tables, "lesion")["depth"].unique())
    if not depths:
        raise ValueError("no lesion results")
    measured = {}
    for depth in depths:
        for arm in ARMS:
            accuracy, lost = lesioned(tables, arm, depth)
            measured[f"{arm}-{depth}: test accuracy"] = mean_std(
                _arm_depth(tables, arm, depth)["test_accuracy"]
            )
            measured[f"{arm}-{depth}: lost per deleted block"] = mean_std(lost)
    deep = depths[-1]
    residual_lost = measured[f"residual-{deep}: lost per deleted block"]["mean"]
    plain_left = lesioned(tables, "plain", deep)[0].mean()
    measured[f"plain-{deep}: accuracy left"] = float(plain_left)
    return measured, residual_lost <= 0.08 and plain_left <= 0.25


def _not_vanishing(tables):
    shallow, deep = _depths(tables)
    ratios = gradient_ratio(tables)
    ratios = ratios[ratios["depth"] == deep].set_index(["arm", "seed"])["ratio"]
    drop = (
        _arm_depth(tables, "plain", shallow)["train_accuracy"]
        - _arm_depth(tables, "plain", deep)["train_accuracy"]
    )
    measured = {
        f"plain-{deep} first / last hidden layer": mean_std(ratios.loc["plain"]),
        f"residual-{deep} first / last hidden layer": mean_std(ratios.loc["residual"]),
        f"plain-{shallow} - plain-{deep}, train accuracy": mean_std(drop),
    }
    return measured, bool(drop.mean() >= 0.2 and ratios.loc["plain"].mean() >= 1)


HE = "He et al. 2016, Deep residual learning for image recognition"
CLAIMS = [
    Claim(
        "degradation",
        "A deeper plain network trains worse: its training accuracy falls as layers are added.",
        f"{HE}: plain nets' training error grows with depth on CIFAR-10 (Fig. 6, plain-110 above 60% "
        "error); ImageNet plain-18 27.94% vs plain-34 28.54% top-1 error. Issue calibration: .93 -> .23.",
        "mean train accuracy (batch statistics, as the optimizer saw it) of the deepest plain net at least 0.2 "
        "below the shallowest plain net's",
        _degradation,
        headline=("drop",),
    ),
    Claim(
        "residual_does_not_degrade",
        "With skip connections the deepest network trains as well as the shallowest, far better than its plain twin.",
        f"Course: 'skip connections to jump over layers'. {HE}: ResNet-18 27.88% vs ResNet-34 25.03% "
        "top-1 error. Issue calibration: .93 -> .93.",
        "deepest residual train accuracy >= shallowest residual's - 0.02, and >= deepest plain's + 0.3",
        _residual_does_not_degrade,
        headline=("residual-32 - plain-32",),
    ),
    Claim(
        "lesion",
        "Deleting any one block barely hurts a trained residual network but wrecks a plain one.",
        "Veit et al. 2016, Residual networks behave like ensembles of relatively shallow networks (Fig. 3): "
        "deleting single blocks from ResNet-110 barely changes its error; from a plain net (VGG), error goes to chance.",
        "at the deepest lesioned depth (16 by default: both arms train there, like Veit's ResNet and VGG), "
        "mean over blocks and seeds: the residual net loses <= 0.08 test accuracy per deleted block; the "
        "plain net keeps <= 0.25",
        _lesion,
    ),
    Claim(
        "not_vanishing_gradients",
        "The deepest plain network degrades although its gradient does not shrink toward the input: "
        "degradation is an optimization problem, not vanishing gradients.",
        f"{HE}, Sec. 4.1: with batch normalization their plain nets' gradients 'exhibit healthy norms', "
        "so 'this optimization difficulty is unlikely to be caused by vanishing gradients'.",
        "deepest nets, trained normalization, mean over seeds: the plain net's train accuracy at least 0.2 "
        "below the shallowest plain net's, and its gradient norm at initialization at the first hidden layer "
        "at least that at the last (hidden layers of the same shape)",
        _not_vanishing,
    ),
]


# --- plots ---------------------------------------------------------------------------

COLORS = {"plain": "C3", "residual": "C0"}


def plot_depth(tables):
    final = records(tables, "final")
    figure, axis = plt.subplots(figsize=(6.5, 4.5))
    for arm in ARMS:
        rows = final[final["arm"] == arm]
        errorbar_over_seeds(
            axis, rows["train_accuracy"], rows["depth"], color=COLORS[arm], label=arm
        )
    axis.set(
        xlabel="weight layers",
        ylabel="final training accuracy (batch statistics)",
        ylim=(0, 1.02),
        title="Degradation: deeper plain nets fit the training set worse",
    )
    axis.legend()
    axis.grid(alpha=0.3)
    return figure


def plot_training_curves(tables):
    epochs = records(tables, "epoch")
    deep = epochs["depth"].max()
    figure, axis = plt.subplots(figsize=(6.5, 4.5))
    for arm in ARMS:
        for depth, style in ((epochs["depth"].min(), "--"), (deep, "-")):
            curve = epochs[(epochs["arm"] == arm) & (epochs["depth"] == depth)].groupby("epoch")[
                "train_loss"
            ]
            axis.plot(curve.mean(), style, color=COLORS[arm], label=f"{arm}-{depth}")
    axis.set(
        xlabel="epoch",
        ylabel="training loss (mean over seeds)",
        title=f"The {deep}-layer plain net barely trains; its residual twin does",
    )
    axis.legend()
    axis.grid(alpha=0.3)
    return figure


def plot_gradients(tables):
    gradient = tables["gradient"]
    deep = gradient["depth"].max()
    gradient = gradient[gradient["depth"] == deep]
    kinds = list(dict.fromkeys(gradient["normalization"]))
    figure, axes = plt.subplots(1, len(kinds), figsize=(5 * len(kinds), 4), squeeze=False)
    for axis, kind in zip(axes[0], kinds):
        for arm in ARMS:
            curve = gradient[(gradient["normalization"] == kind) & (gradient["arm"] == arm)]
            axis.plot(
                curve.groupby("layer")["gradient_norm"].mean(),
                marker=".",
                color=COLORS[arm],
                label=arm,
            )
        axis.set(
            yscale="log", xlabel="weight layer (1 = input side)", title=f"normalization: {kind}"
        )
        axis.grid(alpha=0.3)
    axes[0][0].set_ylabel("gradient norm at initialization")
    axes[0][0].legend()
    figure.suptitle(f"Gradient norm by layer at initialization, {deep} layers")
    figure.tight_layout()
    return figure


def plot_lesion(tables):
    lesions = records(tables, "lesion")
    depths = sorted(lesions["depth"].unique())
    figure, axes = plt.subplots(
        1, max(1, len(depths)), figsize=(5.5 * max(1, len(depths)), 4), squeeze=False
    )
    if not depths:
        axes[0][0].text(
            0.5, 0.5, "no lesions in this run (see lesion_depths)", ha="center", va="center"
        )
    for axis, depth in zip(axes[0], depths):
        for arm in ARMS:
            rows = lesions[(lesions["arm"] == arm) & (lesions["depth"] == depth)]
            axis.plot(
                rows.groupby("block")["test_accuracy"].mean(),
                marker="o",
                color=COLORS[arm],
                label=arm,
            )
            full = _arm_depth(tables, arm, depth)["test_accuracy"].mean()
            axis.axhline(full, color=COLORS[arm], linestyle=":", label=f"{arm}, no block deleted")
        axis.set(xlabel="deleted block", ylim=(0, 1), title=f"{depth} layers")
        axis.xaxis.set_major_locator(MaxNLocator(integer=True))
        axis.grid(alpha=0.3)
    axes[0][0].set_ylabel("test accuracy")
    if depths:
        axes[0][0].legend()
    figure.suptitle("Delete one block: the residual net shrugs, the plain net breaks")
    figure.tight_layout()
    return figure


PLOTS = {
    "train_accuracy_vs_depth.png": plot_depth,
    "training_curves.png": plot_training_curves,
    "gradient_norms.png": plot_gradients,
    "lesion.png": plot_lesion,
}
