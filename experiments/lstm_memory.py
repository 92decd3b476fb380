"""LSTM memory: the adding problem, and why a simple RNN cannot learn it.

The course: "LSTMs, long short-term memory: a type of RNN that uses gated cells to
remember relevant information and forget irrelevant information over time ... designed
so long-term dependencies can be tracked and backpropagation through time can be done
without vanishing gradients."

Reproduces Hochreiter & Schmidhuber 1997, "Long short-term memory" (the adding problem,
Sec. 5.4; in the form of Le et al. 2015): each sequence holds T random values in [0, 1],
two of them marked, one in each half; the target is the sum of the two marked values.
Predicting the constant mean scores a mean squared error of 1/6 (0.167). A simple RNN
stays at that baseline; an LSTM learns the task (issue calibration at T = 150: SimpleRNN
.16-.17, LSTM .0001). And the reason, after Bengio et al. 1994: the gradient reaching an
input k steps back shrinks geometrically with k in a simple RNN.

Design: one Keras layer of 32 units (`zoo.recurrent.build_sequence_regressor`) of each
cell, LSTM, GRU and SimpleRNN, and a linear read-out; Adam, learning rate 0.01, gradient
norm clipped at 1, batches of 64 fresh sequences, up to 2,000 steps; a cell stops early
once its training loss over the last 50 steps is below 0.002 (the problem is solved, and
time saved). Measured: the training loss every 50 steps; the test MSE on 1,000 new
sequences; and, at initialization and after training, the gradient of each example's
loss with respect to its input at every timestep (`zoo.training.input_gradients`),
relative to the gradient at the last timestep.

Budget: at T = 150 an LSTM needs about 1,000 steps of 35 ms here; three cells and three
seeds took 6.5 minutes (391 s), so the default sequence length is 50. `--set timesteps=150`
runs the calibrated length.

    python -m experiments run lstm_memory              # about 1.5 minutes, 3 seeds
    python experiments/lstm_memory.py --quick          # about 20 seconds, 2 seeds
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
    non_negative,
    one_of,
    positive,
    seeds_setting,
    setting,
    validate,
)
from zoo.callbacks import StopBelow
from zoo.recurrent import CELLS, build_sequence_regressor
from zoo.series import adding_problem
from zoo.training import Trainer, input_gradients

TITLE = "LSTM memory: the adding problem"
CONCEPT = (
    "Gated cells carry information, and its gradient, across many timesteps; a simple RNN cannot."
)
CONCLUSION = (
    "The LSTM and the GRU solve the adding problem; the simple RNN, with the same number of "
    "units and the same training, never gets below the constant baseline of 1/6. Their "
    "gradients show why. At initialization every cell's gradient fades with distance, the "
    "LSTM's too: its forget gates start near 0.73, and 0.73 multiplied over dozens of steps "
    "is tiny. Training opens the gated cells' memory, so the trained LSTM's loss responds "
    "to the first input almost as much as to the last, while in the simple RNN the "
    "gradient from the target back to the first timestep stays vanishingly small, so it "
    "never learns that the first input matters."
)

BASELINE_MSE = 1 / 6  # the variance of the sum of two uniform values
STAGES = ("initialization", "trained")


@dataclasses.dataclass(frozen=True)
class Config:
    timesteps: int = setting(
        50, "length of the adding problem's sequences", at_least(4), at_most(10_000)
    )
    cells: tuple[str, ...] = setting(
        tuple(CELLS), "recurrent cells to compare", one_of(*CELLS), distinct
    )
    units: int = setting(32, "units of every cell", layer_widths)
    learning_rate: float = setting(0.01, "Adam's learning rate", positive)
    clipnorm: float = setting(1.0, "gradient norm clipping", positive)
    batch_size: int = setting(64, "sequences per update", positive)
    max_steps: int = setting(2000, "the most updates a training may take", positive)
    log_every: int = setting(
        50, "updates per logged training loss; also how often stopping is checked", positive
    )
    stop_loss: float = setting(
        0.002,
        "stop once the last log_every updates' mean loss is below this; 0: never",
        non_negative,
    )
    test_examples: int = setting(1000, "test sequences", positive, at_most(1_000_000))
    gradient_examples: int = setting(
        256, "sequences in the gradient-by-distance batch", positive, at_most(100_000)
    )
    seeds: tuple[int, ...] = seeds_setting()

    def __post_init__(self):
        validate(self)
        if self.max_steps < self.log_every or self.max_steps % self.log_every:
            raise ValueError(
                f"max_steps must be a multiple of log_every ({self.log_every}), got {self.max_steps}"
            )


# Quick: LSTM and SimpleRNN only, sequences of 30, at most 800 steps, 2 seeds.
QUICK = dict(timesteps=30, cells=("lstm", "simple_rnn"), max_steps=800, seeds=(0, 1))


def gradient_profile(model, x, y):
    """Per timestep: the gradient of each example's loss with respect to that timestep's
    input, divided by the gradient at the last timestep, geometric mean over examples.

    The ratio does not depend on how large the example's error is, only on how strongly
    the prediction depends on each input, which is what vanishing gradients are about.
    """
    norms = np.linalg.norm(input_gradients(model, x, y, "mean_squared_error"), axis=-1).astype(
        "float64"
    )
    tiny = np.finfo("float64").tiny
    relative = np.log10(np.maximum(norms, tiny)) - np.log10(np.maximum(norms[:, -1:], tiny))
    return 10 ** relative.mean(axis=0)


def train(trainer, config, cell, seed, data):
    (x, y), (x_test, y_test), (x_gradient, y_gradient) = data

    def build():
        return build_sequence_regressor(config.timesteps, 2, cell, config.units)

    rows = [
        dict(record="gradient", stage="initialization", timestep=t + 1, relative_gradient=g)
        for t, g in enumerate(gradient_profile(trainer.fresh(build, seed), x_gradient, y_gradient))
    ]

    # Every step takes a batch of new sequences, in order: there is no training set to overfit.
    model, history = trainer.fit(
        build,
        keras.optimizers.Adam(learning_rate=config.learning_rate, clipnorm=config.clipnorm),
        "mse",
        x,
        y,
        batch_size=config.batch_size,
        epochs=config.max_steps // config.log_every,
        steps_per_epoch=config.log_every,
        shuffle=False,
        seed=seed,
        callbacks=[StopBelow("loss", config.stop_loss)],
    )
    seconds = sum(history.history["seconds"])
    losses = history.history["loss"]
    rows += [
        dict(record="curve", step=(i + 1) * config.log_every, train_loss=loss)
        for i, loss in enumerate(losses)
    ]
    predictions = keras.ops.convert_to_numpy(model(x_test, training=False))
    test_mse = float(np.mean((predictions - y_test) ** 2))
    rows.append(
        dict(
            record="final", steps=len(losses) * config.log_every, test_mse=test_mse, seconds=seconds
        )
    )
    rows += [
        dict(record="gradient", stage="trained", timestep=t + 1, relative_gradient=g)
        for t, g in enumerate(gradient_profile(model, x_gradient, y_gradient))
    ]
    return rows


def run(config):
    rows, trainer = [], Trainer()
    progress = Progress("lstm_memory", len(config.seeds) * len(config.cells))
    for seed in config.seeds:
        # One seed fixes the sequences: training stream, test set and gradient batch.
        total = (
            config.max_steps * config.batch_size + config.test_examples + config.gradient_examples
        )
        x, y = adding_problem(total, config.timesteps, seed=seed)
        cut = np.cumsum([config.max_steps * config.batch_size, config.test_examples])
        data = list(zip(np.split(x, cut), np.split(y, cut)))
        for cell in config.cells:
            run_rows = train(trainer, config, cell, seed, data)
            rows += [
                dict(seed=seed, cell=cell, timesteps=config.timesteps, **row) for row in run_rows
            ]
            final = next(row for row in run_rows if row["record"] == "final")
            progress.done(
                "seed=%d %s: test MSE %.4f after %d steps",
                seed,
                cell,
                final["test_mse"],
                final["steps"],
            )
    return by_record(rows)


# --- summaries of the table --------------------------------------------------------


def first_step_gradient(tables, stage):
    """Per seed and cell: the relative gradient that reaches the first timestep."""
    rows = tables["gradient"]
    rows = rows[(rows["stage"] == stage) & (rows["timestep"] == 1)]
    return rows.set_index(["seed", "cell"])["relative_gradient"]


def summarize(tables):
    final = tables["final"].set_index(["seed", "cell"])
    final["mse_ratio"] = final["test_mse"] / BASELINE_MSE
    for stage in STAGES:
        final[stage] = np.log10(first_step_gradient(tables, stage))
    return mean_std_table(
        final.reset_index(),
        ["cell"],
        {
            "test MSE": "test_mse",
            "test MSE / baseline (1/6)": "mse_ratio",
            "steps": "steps",
            "log10 relative gradient at t=1, initialization": "initialization",
            "log10 relative gradient at t=1, trained": "trained",
        },
    )


# --- claims --------------------------------------------------------------------------


def _test_mse(tables, cell):
    final = tables["final"][tables["final"]["cell"] == cell]
    if final.empty:
        raise KeyError(f"no {cell} runs")
    return final["test_mse"]


def _lstm_learns(tables):
    measured = mean_std(_test_mse(tables, "lstm"))
    return measured, measured["mean"] <= 0.01


def _simple_rnn_fails(tables):
    measured = mean_std(_test_mse(tables, "simple_rnn"))
    return measured, measured["mean"] >= 0.08


def _vanishing_gradient(tables):
    measured = {}
    for stage in STAGES:
        logs = np.log10(first_step_gradient(tables, stage)).unstack("cell")
        measured[f"{stage}: log10 LSTM / SimpleRNN"] = mean_std(logs["lstm"] - logs["simple_rnn"])
    return measured, measured["trained: log10 LSTM / SimpleRNN"]["mean"] >= 2


HOCHREITER = "Hochreiter & Schmidhuber 1997, Long short-term memory, Sec. 5.4 (the adding problem)"
CLAIMS = [
    Claim(
        "lstm_learns",
        "An LSTM learns to add two values marked anywhere in a long sequence.",
        f"{HOCHREITER}: LSTM solves it for T up to 1,000. Issue calibration (T = 150): LSTM test MSE .0001.",
        "mean LSTM test MSE <= 0.01 (the constant baseline is 0.167)",
        _lstm_learns,
    ),
    Claim(
        "simple_rnn_fails",
        "A simple RNN with as many units does no better than predicting the mean.",
        f"{HOCHREITER}: gradient-based simple RNNs fail on long time lags; Bengio et al. 1994. "
        "Issue calibration (T = 150): SimpleRNN test MSE .16-.17.",
        "mean SimpleRNN test MSE >= 0.08, i.e. not better than half the constant baseline",
        _simple_rnn_fails,
    ),
    Claim(
        "vanishing_gradient",
        "The gradient that reaches the first timestep is orders of magnitude smaller in a simple RNN than in an LSTM.",
        "Course: LSTMs are 'designed so ... backpropagation through time can be done without vanishing "
        "gradients'. Bengio et al. 1994; Hochreiter & Schmidhuber 1997, Sec. 3 (constant error carousel).",
        "after training, gradient at timestep 1 relative to the last timestep: log10(LSTM) - log10(SimpleRNN) "
        ">= 2, mean over seeds (at initialization reported, no criterion)",
        _vanishing_gradient,
        headline=("initialization: log10 LSTM / SimpleRNN", "trained: log10 LSTM / SimpleRNN"),
    ),
]


# --- plots ---------------------------------------------------------------------------

COLORS = {"lstm": "C0", "gru": "C2", "simple_rnn": "C3"}


def plot_learning_curves(tables):
    curves = tables["curve"]
    figure, axis = plt.subplots(figsize=(6.5, 4.5))
    for cell in dict.fromkeys(curves["cell"]):
        for seed, curve in curves[curves["cell"] == cell].groupby("seed"):
            axis.plot(
                curve["step"],
                curve["train_loss"],
                color=COLORS[cell],
                alpha=0.8,
                label=cell if seed == curves["seed"].min() else None,
            )
    axis.axhline(BASELINE_MSE, color="gray", linestyle=":", label="predict the mean (1/6)")
    axis.set(
        xlabel="training step (64 new sequences each)",
        ylabel="training MSE",
        yscale="log",
        title=f"Adding problem, T = {int(curves['timesteps'].iloc[0])}: gated cells escape the baseline",
    )
    axis.legend()
    axis.grid(alpha=0.3)
    return figure


def plot_gradients(tables):
    gradient = tables["gradient"]
    timesteps = int(gradient["timesteps"].iloc[0])
    figure, axis = plt.subplots(figsize=(6.5, 4.5))
    for cell in dict.fromkeys(gradient["cell"]):
        for stage, style in zip(STAGES, (":", "-")):
            rows = gradient[(gradient["cell"] == cell) & (gradient["stage"] == stage)]
            profile = 10 ** np.log10(rows["relative_gradient"]).groupby(rows["timestep"]).mean()
            axis.plot(
                timesteps - profile.index,
                profile.values,
                style,
                color=COLORS[cell],
                label=f"{cell}, {stage}",
            )
    axis.set(
        xlabel="distance from the last timestep",
        yscale="log",
        ylabel="gradient w.r.t. the input / at the last timestep",
        title="How far back the gradient reaches",
    )
    axis.legend(fontsize=8)
    axis.grid(alpha=0.3)
    return figure


PLOTS = {"learning_curves.png": plot_learning_curves, "gradient_by_distance.png": plot_gradients}
