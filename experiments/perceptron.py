"""Perceptrons, hidden layers and forward propagation: what one neuron cannot learn.

The course: "Neuron: takes inputs, applies a function, produces an output; a perceptron
is a subset type of neuron"; "Hidden layer"; "Dense layer: each neuron receives input
from every neuron in the previous layer"; "Forward propagation"; "Feed forward:
information moves in one direction, no cycles".

Reproduces Rosenblatt 1958 and Novikoff 1962 (the perceptron rule converges in finitely
many updates on linearly separable data) and Minsky & Papert 1969 (no single neuron
computes XOR: it can get at most 3 of its 4 cases right); one hidden layer with a
non-linearity can, and without the non-linearity any number of layers is still one
linear map.

Design: tasks AND, OR, XOR (the four points of {0, 1}^2) and two 2-D problems of 200
points, scikit-learn's two moons (noise 0.1) and circles (noise 0.05, factor 0.5). Models:
Rosenblatt's rule (`zoo.perceptron.Perceptron`, at most 100 epochs); one sigmoid neuron
(`build_perceptron`); one tanh hidden layer of 1, 2, 4 or 8 units (`zoo.mlp.build_mlp`);
and three Dense layers with no activation between them. The Keras models train by
full-batch Adam, learning rate 0.05, for 1,000 steps. Measured: accuracy on the task's
points (the question is what a model can represent, so there is no test set), the
rule's updates, and the largest difference between `zoo.perceptron.forward_numpy`
(forward propagation by hand) and Keras' own output.

    python -m experiments run perceptron              # about 45 seconds, 3 seeds
    python experiments/perceptron.py --quick          # about 15 seconds, 2 seeds
"""

# `python experiments/NAME.py ...` is `python -m experiments run NAME ...` (runner.script_main).
if __name__ == "__main__":
    import sys
    from pathlib import Path

    sys.path[0] = str(Path(__file__).resolve().parents[1])  # the project, not experiments/
    from experiments.runner import script_main

    script_main(__file__)

import dataclasses
import json

import keras
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.datasets import make_circles, make_moons

from experiments.claims import Claim, mean_std, mean_std_table
from experiments.plots import errorbar_over_seeds
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
from zoo.mlp import build_mlp
from zoo.perceptron import Perceptron, build_perceptron, forward_numpy
from zoo.training import Trainer

TITLE = "Perceptrons, hidden layers and forward propagation"
CONCEPT = (
    "One neuron draws one straight line; a hidden layer with a non-linearity can draw any boundary."
)
CONCLUSION = (
    "The perceptron rule finds AND and OR in a handful of updates and never settles on XOR. "
    "No single neuron, however trained, gets more than three of XOR's four cases right, and "
    "neither do three Dense layers without an activation between them: their product is one "
    "linear map. One hidden layer of tanh units solves XOR and bends its boundary around "
    "the moons and circles. Two units are enough to represent XOR, but not always enough "
    "for gradient descent to find it: with seeds 0 to 4, seed 3's two-unit network stays "
    "at 0.5 after 1,000 steps, while four or more units solve it every time. Forward "
    "propagation is nothing more than each layer's activation(x W + b) in turn: done by "
    "hand in NumPy it gives Keras' numbers."
)

TASKS = ("and", "or", "xor", "moons", "circles")
LOGIC = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype="float32")
LOGIC_LABELS = {"and": [0, 0, 0, 1], "or": [0, 1, 1, 1], "xor": [0, 1, 1, 0]}


@dataclasses.dataclass(frozen=True)
class Config:
    tasks: tuple[str, ...] = setting(
        TASKS, "the logic tasks and 2-D point sets to fit", one_of(*TASKS), distinct
    )
    widths: tuple[int, ...] = setting(
        (1, 2, 4, 8), "hidden tanh units of the one-hidden-layer nets", layer_widths, distinct
    )
    linear_depth: int = setting(
        3,
        "Dense layers without activation in the linear stack; 0 leaves it out",
        non_negative,
        at_most(100),
    )
    points: int = setting(200, "points of the moons and circles", positive, at_most(1_000_000))
    learning_rate: float = setting(0.05, "Adam's learning rate", positive)
    steps: int = setting(1000, "full-batch Adam steps", positive)
    rule_epochs: int = setting(
        100, "the most passes of the perceptron rule over the data", positive
    )
    seeds: tuple[int, ...] = seeds_setting()

    def __post_init__(self):
        validate(self)

    @property
    def models(self):
        linear = (f"linear-{self.linear_depth}",) if self.linear_depth else ()
        return ("neuron", *(f"hidden-{width}" for width in self.widths), *linear)


# Quick: the three logic tasks, hidden widths 2 and 8 only, 2 seeds.
QUICK = dict(tasks=("and", "or", "xor"), widths=(2, 8), seeds=(0, 1))


def task_data(task, config, seed):
    if task in LOGIC_LABELS:
        return LOGIC, np.array(LOGIC_LABELS[task])
    make = make_moons if task == "moons" else make_circles
    options = dict(noise=0.1) if task == "moons" else dict(noise=0.05, factor=0.5)
    x, y = make(n_samples=config.points, random_state=seed, **options)
    return x.astype("float32"), y.astype("int64")


def build(model_name):
    """The Keras model called `model_name`: "neuron", "hidden-W" or "linear-D"."""
    kind, _, size = model_name.partition("-")
    if kind == "neuron":
        return build_perceptron(input_dim=2)
    if kind == "hidden":
        return build_mlp(
            input_shape=(2,), num_classes=2, hidden_units=(int(size),), activation="tanh"
        )
    return build_mlp(
        input_shape=(2,), num_classes=2, hidden_units=(8,) * (int(size) - 1), activation="linear"
    )


def predicted_class(model_name, probabilities):
    return (
        (probabilities[:, 0] > 0.5).astype(int)
        if model_name == "neuron"
        else probabilities.argmax(axis=1)
    )


def train(trainer, model_name, x, y, config, seed):
    """Full-batch Adam from `seed`'s initial weights for this model; returns the model.

    Every task starts a model from the same weights, whatever else ran before.
    """
    loss = "binary_crossentropy" if model_name == "neuron" else "sparse_categorical_crossentropy"
    targets = y[:, None].astype("float32") if model_name == "neuron" else y
    model, _ = trainer.fit(
        lambda: build(model_name),
        keras.optimizers.Adam(learning_rate=config.learning_rate),
        loss,
        x,
        targets,
        batch_size=len(x),  # the whole task, every step
        steps_per_epoch=config.steps,
        seed=seed,
    )
    return model


def run(config):
    rows, trainer = [], Trainer()
    progress = Progress("perceptron", len(config.seeds) * len(config.tasks))
    for seed in config.seeds:
        for task in config.tasks:
            x, y = task_data(task, config, seed)
            rule = Perceptron(max_epochs=config.rule_epochs, seed=seed).fit(x, y)
            rows.append(
                dict(
                    seed=seed,
                    task=task,
                    points=len(y),
                    model="perceptron rule",
                    accuracy=rule.score(x, y),
                    updates=rule.updates,
                    converged=rule.converged,
                    weights=json.dumps([rule.weights.tolist(), rule.bias]),
                )
            )
            for model_name in config.models:
                model = train(trainer, model_name, x, y, config, seed)
                keras_output = keras.ops.convert_to_numpy(model.predict_on_batch(x))
                by_hand = forward_numpy(model, x)
                rows.append(
                    dict(
                        seed=seed,
                        task=task,
                        points=len(y),
                        model=model_name,
                        accuracy=float(np.mean(predicted_class(model_name, keras_output) == y)),
                        forward_error=float(np.abs(by_hand - keras_output).max()),
                        weights=json.dumps([w.tolist() for w in model.get_weights()]),
                    )
                )
            progress.done(
                "seed=%d %s: %s",
                seed,
                task,
                ", ".join(
                    f"{row['model']} {row['accuracy']:.2f}"
                    for row in rows
                    if row["task"] == task and row["seed"] == seed
                ),
            )
    return pd.DataFrame(rows)


# --- summaries of the table --------------------------------------------------------


def summarize(table):
    return mean_std_table(
        table,
        ["task", "model"],
        {
            "accuracy": "accuracy",
            "rule: updates": "updates",
            "rule: converged": "converged",
            "max |forward by hand - Keras|": "forward_error",
        },
    )


def _accuracy(table, task, model):
    rows = table[(table["task"] == task) & (table["model"] == model)]
    if rows.empty:
        raise KeyError(f"no {model} on {task}")
    return rows.set_index("seed")["accuracy"]


# --- claims --------------------------------------------------------------------------

WIDE = 4  # hidden units from which every seed is expected to solve XOR


def _rule_converges(table):
    measured, passed = {}, True
    for task in ("and", "or"):
        rows = table[(table["task"] == task) & (table["model"] == "perceptron rule")]
        if rows.empty:
            raise KeyError(f"no perceptron rule on {task}")
        measured[f"{task}: updates"] = mean_std(rows["updates"])
        measured[f"{task}: accuracy"] = mean_std(rows["accuracy"])
        passed &= bool(rows["converged"].astype(bool).all() and (rows["accuracy"] == 1).all())
    xor = table[(table["task"] == "xor") & (table["model"] == "perceptron rule")]
    measured["xor: converged"] = int(xor["converged"].astype(bool).sum())
    return measured, passed


def _xor_needs_hidden_layer(table):
    neuron = _accuracy(table, "xor", "neuron")
    hidden = sorted(
        (int(m.split("-")[1]), m) for m in table["model"].unique() if m.startswith("hidden-")
    )
    if not any(width >= WIDE for width, _ in hidden) or len(hidden) < 2:
        raise KeyError(f"needs two hidden widths, one of {WIDE} or more units")
    solved = {width: (_accuracy(table, "xor", name) == 1).mean() for width, name in hidden}
    measured = {"neuron": mean_std(neuron), "neuron, best seed": float(neuron.max())}
    measured.update({f"hidden-{width}: share solved": share for width, share in solved.items()})
    shares = list(solved.values())
    grows = all(a <= b for a, b in zip(shares, shares[1:]))
    wide = all(share == 1 for width, share in solved.items() if width >= WIDE)
    return measured, bool(neuron.max() <= 0.75 and grows and wide)


def _forward_matches(table):
    errors = table["forward_error"].dropna()
    if errors.empty:
        raise KeyError("no forward propagation measured")
    return {
        "largest difference": float(errors.max()),
        "models": int(len(errors)),
    }, errors.max() <= 1e-6


def _linear_stack(table):
    names = [m for m in table["model"].unique() if m.startswith("linear-")]
    if not names:
        raise KeyError("no linear stack")
    accuracy = _accuracy(table, "xor", names[0])
    return {
        f"{names[0]} on xor": mean_std(accuracy),
        "best seed": float(accuracy.max()),
    }, accuracy.max() <= 0.75


CLAIMS = [
    Claim(
        "rule_converges",
        "The perceptron rule learns AND and OR in finitely many updates, and never settles on XOR.",
        "Rosenblatt 1958; Novikoff 1962: on linearly separable data at most (R / margin)^2 updates.",
        "AND and OR: every seed converges with accuracy 1.0 (XOR's count of converged seeds is reported)",
        _rule_converges,
        headline=("and: updates", "or: updates", "xor: converged"),
    ),
    Claim(
        "xor_needs_hidden_layer",
        "No single neuron learns XOR; a hidden layer of tanh units does, more reliably the wider it is.",
        "Minsky & Papert 1969, Perceptrons: a single threshold unit cannot compute XOR (at most 3 of 4 cases).",
        f"XOR: the single neuron's best seed <= 0.75 (a theorem: at most 3 of 4 cases); the share of seeds "
        f"that solve XOR never falls as the hidden layer widens; at {WIDE} units or more, every seed solves it",
        _xor_needs_hidden_layer,
        headline=("neuron", "hidden-2: share solved", "hidden-4: share solved"),
    ),
    Claim(
        "forward_by_hand",
        "Forward propagation is each layer's activation(x W + b) in turn: by hand it equals Keras.",
        "Course: 'Forward propagation'; 'Feed forward: information moves in one direction, no cycles'.",
        "largest |zoo.perceptron.forward_numpy - Keras output| over every trained model <= 1e-6",
        _forward_matches,
        kind="check",
    ),
    Claim(
        "depth_without_nonlinearity",
        "Without a non-linear activation, stacked Dense layers are still one linear model: no XOR.",
        "W2 (W1 x + b1) + b2 = W x + b; Minsky & Papert's bound applies to the product.",
        "the linear stack's best seed on XOR <= 0.75",
        _linear_stack,
        kind="check",
    ),
]


# --- plots ---------------------------------------------------------------------------

PLOTTED = ("perceptron rule", "neuron", "hidden-2", "hidden-8")


def decision_values(model_name, weights, grid):
    """Class-1 scores of a stored model on `grid`, by forward propagation by hand."""
    weights = json.loads(weights)
    if model_name == "perceptron rule":
        return grid @ np.array(weights[0]) + weights[1]
    model = build(model_name)
    model.set_weights([np.array(w, dtype="float32") for w in weights])
    output = forward_numpy(model, grid)
    return output[:, 0] - 0.5 if model_name == "neuron" else output[:, 1] - 0.5


def plot_boundaries(table):
    seed = table["seed"].min()
    rows = table[table["seed"] == seed]
    tasks = [t for t in dict.fromkeys(rows["task"]) if t != "or"]
    models = [m for m in PLOTTED if m in set(rows["model"])] + [
        m for m in rows["model"].unique() if m.startswith("linear-")
    ]
    figure, axes = plt.subplots(
        len(tasks), len(models), figsize=(2.6 * len(models), 2.6 * len(tasks)), squeeze=False
    )
    for i, task in enumerate(tasks):
        x, y = task_data(
            task, Config(points=int(rows.loc[rows["task"] == task, "points"].iloc[0])), seed
        )
        low, high = x.min(axis=0) - 0.5, x.max(axis=0) + 0.5
        u, v = np.meshgrid(np.linspace(low[0], high[0], 120), np.linspace(low[1], high[1], 120))
        grid = np.c_[u.ravel(), v.ravel()]
        for j, model_name in enumerate(models):
            row = rows[(rows["task"] == task) & (rows["model"] == model_name)].iloc[0]
            values = decision_values(model_name, row["weights"], grid).reshape(u.shape)
            axis = axes[i][j]
            axis.contourf(u, v, values > 0, levels=[-0.5, 0.5, 1.5], colors=["#f4c7c3", "#c6dbef"])
            axis.scatter(
                x[:, 0], x[:, 1], c=np.where(y == 1, "C0", "C3"), s=40 if len(y) == 4 else 6
            )
            axis.set(
                xticks=[],
                yticks=[],
                title=f"{model_name}: {row['accuracy']:.2f}"
                if i == 0
                else f"{row['accuracy']:.2f}",
            )
        axes[i][0].set_ylabel(task)
    figure.suptitle(f"Decision regions (seed {seed}; accuracy in the titles): one neuron, one line")
    figure.tight_layout()
    return figure


def plot_width(table):
    hidden = table[table["model"].str.startswith("hidden-")]
    hidden = hidden.assign(width=hidden["model"].str.split("-").str[1].astype(int))
    neuron = table[table["model"] == "neuron"].assign(width=0)
    rows = pd.concat([neuron, hidden])
    figure, axis = plt.subplots(figsize=(6.5, 4.5))
    tasks = list(dict.fromkeys(rows["task"]))
    widths = sorted(rows["width"].unique())
    markers = "os^Dv"
    for k, task in enumerate(tasks):
        of_task = rows[rows["task"] == task]
        # Tasks that all reach 1.0 would hide each other: each is shifted a little sideways.
        shift = 0.07 * (k - (len(tasks) - 1) / 2)
        errorbar_over_seeds(
            axis,
            of_task["accuracy"],
            of_task["width"],
            x=lambda width, shift=shift: widths.index(width) + shift,
            marker=markers[k % len(markers)],
            label=task,
        )
    axis.set(
        xlabel="hidden tanh units",
        xticks=range(len(widths)),
        xticklabels=["one neuron" if width == 0 else str(width) for width in widths],
        ylabel="accuracy on the task's points",
        title="A hidden layer, and a little width, is all XOR needs",
        ylim=(0.4, 1.02),
    )
    axis.legend()
    axis.grid(alpha=0.3)
    return figure


PLOTS = {"decision_boundaries.png": plot_boundaries, "accuracy_vs_width.png": plot_width}
