"""Feature scaling and normalization layers: why gradient descent needs features on one scale.

The course: "for student loan models, age and value could be features on very different
scales ... gradient descent takes much longer to converge when input features are not on
the same scale ... a normalization layer ensures the outputs of each hidden layer are
normalized to mean 0 and standard deviation 1".

Reproduces the textbook analysis of gradient descent on a quadratic (e.g. Boyd &
Vandenberghe 2004, Sec. 9.3; LeCun et al. 1998, "Efficient backprop": shift and scale the
inputs): the steps needed grow in proportion to the condition number of `X^T X` (issue
calibration: feature scale ratios 1 / 10 / 100 gave 6 / 1,271 / 127,935 steps), and
standardizing the inputs removes the problem; and Ioffe & Szegedy 2015 and Ba et al.
2016: normalization layers let a network train on badly scaled inputs.

Design:
- Linear regression by full-batch gradient descent (`zoo.normalization.gradient_descent_steps`,
  learning rate 1 / largest eigenvalue, until the weights are within 1e-6 of the exact
  solution): two standard normal features, the second multiplied by 1, 10 or 100; and
  the student-loan table raw and standardized (capped at 200,000 steps).
- A synthetic student-loan table (`zoo.normalization.student_loans`: age, loan, income,
  credit score, years of study, on their natural scales; defaults drawn from a known
  logistic model), 4,000 training and 1,000 validation loans. An MLP of two hidden
  layers of 32 ReLU units (`build_normalized_mlp`), Adam 1e-3, batch 128, 25 epochs:
  plain on raw features, plain on standardized features (statistics from the training
  set), and on raw features with `keras.layers.Normalization` on the inputs, with
  `BatchNormalization` or with `LayerNormalization` between layers. Measured: the
  validation loss per epoch, the epochs until it is within 0.05 of the true model's
  loss, each hidden layer's activation statistics, and the per-example mean and
  standard deviation of the first `LayerNormalization`'s output before its scale and shift.

    python -m experiments run normalization              # about 1 minute, 3 seeds
    python experiments/normalization.py --quick          # about 15 seconds, 2 seeds
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
from zoo.normalization import (
    LOAN_FEATURES,
    LOAN_LOG_ODDS,
    build_normalized_mlp,
    gradient_descent_steps,
    student_loans,
)
from zoo.training import Trainer

TITLE = "Feature scaling and normalization layers"
CONCEPT = (
    "Gradient descent is slow on badly scaled features: standardizing fixes it; "
    "normalization layers help, but less."
)
CONCLUSION = (
    "Gradient descent's steps grow with the condition number: a tenfold difference in "
    "scale between two features costs a hundred times the steps, and the raw student-loan "
    "tables, with dollars next to years, does not converge in 200,000. Standardized, it "
    "converges in a handful. The same network trains in a couple of epochs on "
    "standardized features and never settles on raw ones: its hidden activations are in "
    "the thousands. A Normalization layer at the input fixes this inside the model, "
    "exactly as well as standardizing by hand. Batch and layer normalization between "
    "layers let it train too, but end 0.06-0.08 above the true model's loss rather than "
    "0.005: they rescale the hidden layers, while the first layer still weighs dollars "
    "against years."
)

MARGIN = 0.05  # "reached": a validation loss within this of the true model's

VARIANTS = {  # name: (inputs standardized beforehand, normalization of build_normalized_mlp)
    "plain, raw": (False, None),
    "plain, standardized": (True, None),
    "input Normalization": (False, "input"),
    "BatchNormalization": (False, "batch"),
    "LayerNormalization": (False, "layer"),
}


@dataclasses.dataclass(frozen=True)
class Config:
    train_size: int = setting(4000, "student loans to train on", positive, at_most(10_000_000))
    validation_size: int = setting(
        1000, "student loans to validate on", positive, at_most(10_000_000)
    )
    hidden_units: tuple[int, ...] = setting((32, 32), "the MLP's hidden layer widths", layer_widths)
    learning_rate: float = setting(1e-3, "Adam's learning rate", positive)
    batch_size: int = setting(128, "examples per update", positive)
    epochs: int = setting(25, "epochs of training per variant", positive)
    scale_ratios: tuple[int, ...] = setting(
        (1, 10, 100),
        "scale of the second feature relative to the first, for plain gradient descent",
        at_least(1),
        distinct,
    )
    max_gd_steps: int = setting(
        200_000, "the most plain gradient-descent steps per scale ratio", positive
    )
    seeds: tuple[int, ...] = seeds_setting()

    def __post_init__(self):
        validate(self)


# Quick: 1,000 training loans, 10 epochs; scale ratios up to 30 and gradient descent
# capped at 20,000 steps (the ratio of 100 takes 130,000); 2 seeds.
QUICK = dict(
    train_size=1000, epochs=10, scale_ratios=(1, 10, 30), max_gd_steps=20_000, seeds=(0, 1)
)


def gradient_descent_rows(config, seed):
    rng = np.random.default_rng(seed)
    rows = []
    z = rng.normal(size=(1000, 2))
    for ratio in config.scale_ratios:
        x = z * np.array([1.0, ratio])
        y = z @ np.array([1.0, -2.0]) + rng.normal(0, 0.1, len(z))
        steps, kappa = gradient_descent_steps(x, y, max_steps=config.max_gd_steps)
        rows.append(
            dict(
                record="gd",
                setting=f"scale ratio {ratio}",
                scale_ratio=ratio,
                steps=steps,
                kappa=kappa,
            )
        )
    x, y = student_loans(1000, seed=seed)
    for name, inputs in (("loans, raw", x), ("loans, standardized", (x - x.mean(0)) / x.std(0))):
        steps, kappa = gradient_descent_steps(
            inputs, y.astype("float64"), max_steps=config.max_gd_steps
        )
        rows.append(dict(record="gd", setting=name, steps=steps, kappa=kappa))
    return rows


def true_model_loss(x, y):
    """Cross-entropy of the probabilities the data was drawn from: the best any model can do."""
    means = np.array([mean for _, mean, _ in LOAN_FEATURES])
    scales = np.array([scale for _, _, scale in LOAN_FEATURES])
    weights = np.array([LOAN_LOG_ODDS[name] for name, _, _ in LOAN_FEATURES])
    p = 1 / (1 + np.exp(-(LOAN_LOG_ODDS["intercept"] + (x - means) / scales @ weights)))
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


def train_variant(trainer, variant, config, seed, data):
    (x, y), (x_val, y_val) = data
    standardized, normalization = VARIANTS[variant]
    if standardized:  # with the training set's statistics only
        mean, std = x.mean(axis=0), x.std(axis=0)
        x, x_val = (x - mean) / std, (x_val - mean) / std
    model, history = trainer.fit(
        lambda: build_normalized_mlp(5, config.hidden_units, normalization, adapt_data=x),
        keras.optimizers.Adam(learning_rate=config.learning_rate),
        "binary_crossentropy",
        x,
        y.astype("float32"),
        batch_size=config.batch_size,
        epochs=config.epochs,
        seed=seed,
        validation_data=(x_val, y_val.astype("float32")),
    )
    rows = [
        dict(record="epoch", variant=variant, epoch=i + 1, val_loss=loss)
        for i, loss in enumerate(history.history["val_loss"])
    ]
    rows += activation_rows(model, variant, x_val)
    return rows


def activation_rows(model, variant, x):
    """Per hidden layer: the activations' mean and standard deviation; and, for layer
    normalization, each example's normalized features before the learned scale and shift."""
    rows = []
    for layer in model.layers:
        if isinstance(layer, keras.layers.Activation):
            outputs = keras.ops.convert_to_numpy(keras.Model(model.input, layer.output)(x)).astype(
                "float64"
            )
            rows.append(
                dict(
                    record="activation",
                    variant=variant,
                    layer=layer.name,
                    mean=outputs.mean(),
                    std=outputs.std(),
                    dead_fraction=float(np.mean(outputs.max(axis=0) <= 0)),
                )
            )
    norms = [layer for layer in model.layers if isinstance(layer, keras.layers.LayerNormalization)]
    if norms:
        layer = norms[0]
        out = keras.ops.convert_to_numpy(keras.Model(model.input, layer.output)(x)).astype(
            "float64"
        )
        gamma, beta = (
            keras.ops.convert_to_numpy(w).astype("float64") for w in (layer.gamma, layer.beta)
        )
        normalized = (out - beta) / gamma
        rows.append(
            dict(
                record="layer_norm",
                variant=variant,
                mean_deviation=np.abs(normalized.mean(axis=1)).max(),
                std_deviation=np.abs(normalized.std(axis=1) - 1).max(),
            )
        )
    return rows


def run(config):
    rows, trainer = [], Trainer()
    progress = Progress("normalization", len(config.seeds) * len(VARIANTS))
    for seed in config.seeds:
        rows += [dict(seed=seed, **row) for row in gradient_descent_rows(config, seed)]
        x, y = student_loans(config.train_size + config.validation_size, seed=seed)
        data = (
            (x[: config.train_size], y[: config.train_size]),
            (x[config.train_size :], y[config.train_size :]),
        )
        best = true_model_loss(*data[1])
        rows.append(dict(seed=seed, record="true_model", val_loss=best))
        for variant in VARIANTS:
            trained = train_variant(trainer, variant, config, seed, data)
            rows += [dict(seed=seed, **row) for row in trained]
            progress.done(
                "seed=%d %s: final validation loss %.3f (true model %.3f)",
                seed,
                variant,
                trained[config.epochs - 1]["val_loss"],
                best,
            )
    return by_record(rows)


# --- summaries of the table --------------------------------------------------------


def epochs_to_reach(tables, margin):
    """Per seed and variant: the first epoch whose validation loss is within `margin` of
    the true model's (NaN: never)."""
    best = tables["true_model"].set_index("seed")["val_loss"]
    epochs = tables["epoch"]
    close = epochs[epochs["val_loss"] <= epochs["seed"].map(best) + margin]
    reached = close.groupby(["seed", "variant"])["epoch"].min()
    return reached.reindex(epochs.set_index(["seed", "variant"]).index.unique())


def summarize(tables):
    epochs = tables["epoch"]
    final = epochs[epochs["epoch"] == epochs["epoch"].max()].set_index(["seed", "variant"])
    final["reached"] = epochs_to_reach(tables, MARGIN)
    best = tables["true_model"].set_index("seed")["val_loss"]
    final["excess"] = final["val_loss"] - final.index.get_level_values("seed").map(best)
    activations = tables["activation"]
    for column in ("std", "dead_fraction"):  # averaged over the hidden layers
        final[column] = activations.groupby(["seed", "variant"])[column].mean()
    return mean_std_table(
        final.reset_index(),
        ["variant"],
        {
            "final validation loss": "val_loss",
            "above the true model's": "excess",
            f"epochs to within {MARGIN} of it": "reached",
            "hidden activations' std": "std",
            "dead ReLUs": "dead_fraction",
        },
    )


# --- claims --------------------------------------------------------------------------


def _steps_follow_kappa(tables):
    gd = tables["gd"][tables["gd"]["scale_ratio"].notna()]
    means = gd.groupby("scale_ratio")[["steps", "kappa"]].mean()
    measured = {
        f"ratio {int(r)}": {"steps": float(row["steps"]), "kappa": float(row["kappa"])}
        for r, row in means.iterrows()
    }
    conditioned = means[means["kappa"] >= 10]
    if len(conditioned) < 2:
        raise ValueError("need two scale ratios with condition numbers of 10 or more")
    proportion = (conditioned["steps"] / conditioned["kappa"]).to_numpy()
    measured["steps / kappa, largest over smallest"] = float(proportion.max() / proportion.min())
    return measured, measured["steps / kappa, largest over smallest"] <= 2


def _standardized_faster(tables):
    reached = epochs_to_reach(tables, MARGIN).unstack("variant")
    epochs = int(tables["epoch"]["epoch"].max())
    raw = reached["plain, raw"].fillna(epochs + 1)  # never: more than all the epochs run
    measured = {
        "standardized: epochs": mean_std(reached["plain, standardized"]),
        "raw: epochs (never = epochs + 1)": mean_std(raw),
        "raw runs that never got there": int(reached["plain, raw"].isna().sum()),
    }
    return measured, bool(reached["plain, standardized"].mean() <= raw.mean() / 5)


def _layer_norm_statistics(tables):
    rows = tables["layer_norm"]
    if rows.empty:
        raise KeyError("no LayerNormalization measured")
    measured = {
        "largest |mean|": float(rows["mean_deviation"].max()),
        "largest |std - 1|": float(rows["std_deviation"].max()),
    }
    return measured, max(measured.values()) <= 1e-3


def _normalization_layers_train(tables):
    epochs = tables["epoch"]
    final = epochs[epochs["epoch"] == epochs["epoch"].max()].set_index(["seed", "variant"])[
        "val_loss"
    ]
    best = tables["true_model"].set_index("seed")["val_loss"]
    excess = (final - final.index.get_level_values("seed").map(best)).unstack("variant")
    layers = ["input Normalization", "BatchNormalization", "LayerNormalization"]
    measured = {
        f"{name}: above the true loss": mean_std(excess[name])
        for name in ["plain, raw", "plain, standardized", *layers]
    }
    return measured, bool(
        excess["plain, raw"].mean() > 0.1 and (excess[layers].mean() <= 0.1).all()
    )


CLAIMS = [
    Claim(
        "steps_follow_kappa",
        "Gradient descent needs more steps the worse the features' scales are matched: in proportion to "
        "the condition number of X^T X.",
        "Course: 'gradient descent takes much longer to converge when input features are not on the same "
        "scale'. Issue calibration: scale ratios 1 / 10 / 100 gave 6 / 1,271 / 127,935 steps.",
        "steps / kappa varies by at most 2x across the scale ratios whose kappa >= 10",
        _steps_follow_kappa,
    ),
    Claim(
        "standardized_faster",
        "A network on standardized features reaches a good loss in a fraction of the epochs it needs on raw ones.",
        "LeCun et al. 1998, Efficient backprop, Sec. 4.3: shift and scale the inputs.",
        "mean over seeds: epochs to within 0.05 of the true model's validation loss, standardized <= raw / 5 "
        "(raw runs that never get there count as epochs + 1)",
        _standardized_faster,
        headline=("standardized: epochs", "raw: epochs (never = epochs + 1)"),
    ),
    Claim(
        "layer_norm_statistics",
        "After layer normalization each example's hidden features have mean 0 and standard deviation 1.",
        "Course: 'normalized to mean 0 and standard deviation 1'. Ba, Kiros & Hinton 2016, Layer normalization.",
        "first LayerNormalization, before its learned scale and shift: every example's |mean| and |std - 1| <= 1e-3",
        _layer_norm_statistics,
        kind="check",
    ),
    Claim(
        "normalization_layers_train",
        "Normalization layers let the network train on raw features, where the plain network does not.",
        "Ioffe & Szegedy 2015, Batch normalization; Ba et al. 2016; keras.layers.Normalization.",
        "mean over seeds of the final validation loss above the true model's: plain on raw > 0.1; "
        "with each normalization layer <= 0.1 (plain on standardized features is shown beside them)",
        _normalization_layers_train,
        headline=("plain, raw: above the true loss", "BatchNormalization: above the true loss"),
    ),
]


# --- plots ---------------------------------------------------------------------------


def plot_condition(tables):
    gd = tables["gd"].groupby("setting", sort=False)[["steps", "kappa"]].mean()
    figure, axis = plt.subplots(figsize=(6.5, 4.5))
    axis.loglog(gd["kappa"], gd["steps"], "o")
    for name, row in gd.iterrows():
        axis.annotate(
            name,
            (row["kappa"], row["steps"]),
            textcoords="offset points",
            xytext=(5, -10),
            fontsize=8,
        )
    axis.set(
        xlabel="condition number of X^T X",
        ylabel="gradient descent steps to converge",
        title="Steps grow with the condition number (capped runs did not converge)",
    )
    axis.grid(alpha=0.3, which="both")
    return figure


def plot_curves(tables):
    epochs = tables["epoch"]
    best = tables["true_model"]["val_loss"].mean()
    figure, axis = plt.subplots(figsize=(6.5, 4.5))
    for variant in VARIANTS:
        curve = epochs[epochs["variant"] == variant].groupby("epoch")["val_loss"].mean()
        axis.plot(curve.index, curve.values, label=variant)
    axis.axhline(best, color="gray", linestyle=":", label="true model")
    axis.set(
        xlabel="epoch",
        ylabel="validation loss (mean over seeds)",
        yscale="log",
        title="Student loans: raw features stall, normalized ones train",
    )
    axis.legend(fontsize=8)
    axis.grid(alpha=0.3)
    return figure


PLOTS = {"steps_vs_condition_number.png": plot_condition, "learning_curves.png": plot_curves}
