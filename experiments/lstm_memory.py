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
cell, LSTM and SimpleRNN (GRU with `--set cells=lstm,gru,simple_rnn`), and a linear
read-out; Adam, learning rate 0.01, gradient
norm clipped at 1, batches of 64 fresh sequences, up to 1,500 steps; a cell stops early
once its training loss over the last 50 steps is below 0.002 (the problem is solved, and
time saved). Measured: the training loss every 50 steps; the test MSE on 1,000 new
sequences; and, at initialization and after training, the gradient of each example's
loss with respect to its input at every timestep (`zoo.training.input_gradients`),
relative to the gradient at the last timestep.

The length sweep: the LSTM and the SimpleRNN are also trained at T = 10 and 20 (no
gradients measured), the lag at which Hochreiter & Schmidhuber's finding turns: a simple
RNN bridges short lags but not long ones, an LSTM bridges both.

Budget: at T = 150 an LSTM needs about 1,000 steps of 35 ms here; three cells and three
seeds took 6.5 minutes (391 s), so the default longest length is 50, and the GRU, which
no claim needs, is left out. `--set timesteps=150`
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
from experiments.plots import errorbar_over_seeds
from experiments.progress import Progress
from experiments.settings import (
    at_least,
    at_most,
    distinct,
    layer_widths,
    may_be_empty,
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
    "The LSTM solves the adding problem at every length tried; the simple RNN, with the "
    "same number of units and the same training, solves it over 10 steps but never gets "
    "below the constant baseline of 1/6 at the longer lengths: the lag it cannot bridge, "
    "not the task, defeats it. The gradients illustrate why. At initialization every "
    "cell's gradient fades with distance, the LSTM's too: its forget gates start near "
    "0.73, and 0.73 multiplied over dozens of steps is tiny. Training opens the LSTM's "
    "memory, so the trained LSTM's loss responds to the first input almost as much as to "
    "the last, while in the simple RNN the gradient from the target back to the first "
    "timestep stays vanishingly small."
)

BASELINE_MSE = 1 / 6  # the variance of the sum of two uniform values
STAGES = ("initialization", "trained")


@dataclasses.dataclass(frozen=True)
class Config:
    timesteps: int = setting(
        50, "length of the adding problem's sequences (the longest)", at_least(4), at_most(10_000)
    )
    short_lengths: tuple[int, ...] = setting(
        (10, 20),
        "shorter lengths at which the LSTM and the SimpleRNN are trained too (no gradients)",
        at_least(4),
        distinct,
        may_be_empty,
    )
    cells: tuple[str, ...] = setting(
        ("lstm", "simple_rnn"),
        "recurrent cells to compare (gru too: about 15 s more)",
        one_of(*CELLS),
        distinct,
    )
    units: int = setting(32, "units of every cell", layer_widths)
    learning_rate: float = setting(0.01, "Adam's learning rate", positive)
    clipnorm: float = setting(1.0, "gradient norm clipping", positive)
    batch_size: int = setting(64, "sequences per update", positive)
    max_steps: int = setting(1500, "the most updates a training may take", positive)
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
        if any(length >= self.timesteps for length in self.short_lengths):
            raise ValueError(
                f"short_lengths must be below timesteps ({self.timesteps}), got {self.short_lengths}"
            )
        if self.max_steps < self.log_every or self.max_steps % self.log_every:
            raise ValueError(
                f"max_steps must be a multiple of log_every ({self.log_every}), got {self.max_steps}"
            )


# Quick: LSTM and SimpleRNN only, sequences of 30 and 10, at most 800 steps, 2 seeds.
QUICK = dict(
    timesteps=30, short_lengths=(10,), cells=("lstm", "simple_rnn"), max_steps=800, seeds=(0, 1)
)
SWEPT = ("lstm", "simple_rnn")  # the cells trained at the short lengths too


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


def train(trainer, config, cell, timesteps, seed, data, profile=True):
    """One cell's run at one length: its learning curve, test MSE and (with `profile`) its
    gradient by distance at initialization and after training."""
    (x, y), (x_test, y_test), (x_gradient, y_gradient) = data

    def build():
        return build_sequence_regressor(timesteps, 2, cell, config.units)

    rows = (
        [
            dict(record="gradient", stage="initialization", timestep=t + 1, relative_gradient=g)
            for t, g in enumerate(
                gradient_profile(trainer.fresh(build, seed), x_gradient, y_gradient)
            )
        ]
        if profile
        else []
    )

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
    if profile:
        rows += [
            dict(record="gradient", stage="trained", timestep=t + 1, relative_gradient=g)
            for t, g in enumerate(gradient_profile(model, x_gradient, y_gradient))
        ]
    return rows


def run(config):
    rows, trainer = [], Trainer()
    swept = [cell for cell in config.cells if cell in SWEPT]
    progress = Progress(
        "lstm_memory",
        len(config.seeds) * (len(config.cells) + len(swept) * len(config.short_lengths)),
    )
    for seed in config.seeds:
        for timesteps in (config.timesteps, *config.short_lengths):
            # One seed fixes the sequences: training stream, test set and gradient batch.
            total = (
                config.max_steps * config.batch_size
                + config.test_examples
                + config.gradient_examples
            )
            x, y = adding_problem(total, timesteps, seed=seed)
            cut = np.cumsum([config.max_steps * config.batch_size, config.test_examples])
            data = list(zip(np.split(x, cut), np.split(y, cut)))
            longest = timesteps == config.timesteps
            for cell in config.cells if longest else swept:
                run_rows = train(trainer, config, cell, timesteps, seed, data, profile=longest)
                rows += [dict(seed=seed, cell=cell, timesteps=timesteps, **row) for row in run_rows]
                final = next(row for row in run_rows if row["record"] == "final")
                progress.done(
                    "seed=%d %s, T=%d: test MSE %.4f after %d steps",
                    seed,
                    cell,
                    timesteps,
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


def longest(tables):
    """The runs at the longest length, one row per seed and cell."""
    final = tables["final"]
    return final[final["timesteps"] == final["timesteps"].max()]


def summarize(tables):
    final = tables["final"].set_index(["seed", "cell", "timesteps"])
    final["mse_ratio"] = final["test_mse"] / BASELINE_MSE
    deepest = final.index.get_level_values("timesteps").max()
    for stage in STAGES:
        gradient = first_step_gradient(tables, stage)
        final[stage] = [
            np.log10(gradient.get((seed, cell), np.nan)) if length == deepest else np.nan
            for seed, cell, length in final.index
        ]
    final = final.reset_index().sort_values(["timesteps", "cell"], kind="stable")
    return mean_std_table(
        final.assign(cell=final["cell"] + ", T=" + final["timesteps"].astype(str)),
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
    final = longest(tables)
    final = final[final["cell"] == cell]
    if final.empty:
        raise KeyError(f"no {cell} runs")
    return final["test_mse"]


def _lstm_learns(tables):
    measured = mean_std(_test_mse(tables, "lstm"))
    return measured, measured["mean"] <= 0.01


def _simple_rnn_fails(tables):
    measured = mean_std(_test_mse(tables, "simple_rnn"))
    return measured, measured["mean"] >= 0.08


def _length_sweep(tables):
    final = tables["final"]
    mse = final.groupby(["cell", "timesteps"])["test_mse"].mean()
    lengths = sorted(final["timesteps"].unique())
    if len(lengths) < 2 or not {"lstm", "simple_rnn"} <= set(final["cell"]):
        raise KeyError("the sweep needs the LSTM and the SimpleRNN at two lengths or more")
    measured = {
        f"{cell}, T={length}": mean_std(
            final[(final["cell"] == cell) & (final["timesteps"] == length)]["test_mse"]
        )
        for cell in ("simple_rnn", "lstm")
        for length in lengths
    }
    shortest, longest_length = lengths[0], lengths[-1]
    rnn_turns = mse["simple_rnn", shortest] <= 0.05 and mse["simple_rnn", longest_length] >= 0.08
    lstm_solves = all(mse["lstm", length] <= 0.01 for length in lengths)
    return measured, bool(rnn_turns and lstm_solves)


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
        "length_sweep",
        "A simple RNN learns the adding problem over a short lag but not a long one; the LSTM learns every "
        "length.",
        f"{HOCHREITER}: simple RNNs bridge short time lags, not long ones; the LSTM bridges both. Bengio et "
        "al. 1994.",
        "mean test MSE over seeds: SimpleRNN <= 0.05 at the shortest length and >= 0.08 at the longest; "
        "LSTM <= 0.01 at every length",
        _length_sweep,
        headline=("simple_rnn, T=10", "simple_rnn, T=50", "lstm, T=50"),
    ),
]


# --- plots ---------------------------------------------------------------------------

COLORS = {"lstm": "C0", "gru": "C2", "simple_rnn": "C3"}


def plot_learning_curves(tables):
    curves = tables["curve"]
    curves = curves[curves["timesteps"] == curves["timesteps"].max()]
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


def plot_lengths(tables):
    final = tables["final"]
    figure, axis = plt.subplots(figsize=(6.5, 4.5))
    for cell in dict.fromkeys(final["cell"]):
        rows = final[final["cell"] == cell]
        errorbar_over_seeds(
            axis, rows["test_mse"], rows["timesteps"], color=COLORS[cell], label=cell
        )
    axis.axhline(BASELINE_MSE, color="gray", linestyle=":", label="predict the mean (1/6)")
    axis.set(
        xlabel="sequence length T (the lag to bridge)",
        ylabel="test MSE (mean and std over seeds)",
        yscale="log",
        title="A simple RNN bridges short lags only",
    )
    axis.legend()
    axis.grid(alpha=0.3)
    return figure


PLOTS = {
    "learning_curves.png": plot_learning_curves,
    "gradient_by_distance.png": plot_gradients,
    "mse_by_length.png": plot_lengths,
}
