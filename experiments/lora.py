"""LoRA: adapting a trained language model to a new task with a few low-rank weights.

The course: "LoRA - Low-Rank Adaptation of Large Language Models. A training method that
accelerates the training of large models while consuming less memory. This essentially
freezes the pre-trained weights and injects trainable parameters into each layer of the
architecture. This is critical, since redeploying new weights for each 70B+ parameter
model fine-tuned is not feasible."

Reproduces Hu et al. 2021, "LoRA: Low-rank adaptation of large language models": with
every pre-trained weight frozen and only `A` and `B` of `W + A B` trained in the
attention's query and value projections, GPT-3 175B was adapted with 10,000 times fewer
trainable weights and 3 times less GPU memory, and rank 4 on `W_q` and `W_v` did as well
as more weights at higher rank (Table 5; WikiSQL 73.7). keras-io's GPT-2 LoRA guide: rank
4 on query and value of 12 layers trains 147,456 of 124,587,264 weights.

Design: the language model of `language_model` (two blocks, d_model 64, about 100k
weights) is pre-trained once, on reversed two-digit addition in batches of 128, until it
writes 0.99 of its validation problems right (from `base_seed`): one base for every
adaptation, as in Hu et al., who adapt one pre-trained model and repeat each adaptation
over seeds. It is then adapted to subtraction (a - b with a >= b, the same format and
vocabulary; the base model gets almost none right) by: full fine-tuning (Adam 1e-3, the
pre-training rate); training the output layer alone; and LoRA (`zoo.lora.enable_lora`,
on Keras's `layer.enable_lora(rank)`) on the attention's query and value projections at
ranks 1, 2, 4, 8 and 16 (`--set ffn_ranks=4` adds the second placement, on the
feed-forward layers too). LoRA and the output layer train at Adam 1e-2: Hu et al. train
LoRA at rates well above those of full fine-tuning (their Appendix D), and at 1e-3, in a
one-seed run of 600 steps, rank 8 reached only 0.64. Each adaptation, one per seed:
batches of 64, scored on 500 validation problems every 100 steps, stopped at 0.99 or
after 200 steps (the issue calibrated 600; 200 keep the default run within its two
minutes on TensorFlow, where a step of this model costs 10-14 ms); the 500 test problems
are read once, at the end. Measured: subtraction and addition test exact match,
trainable weights, optimizer state bytes, the bytes of what must be stored per task (an
adapter file, `zoo.lora.save_adapter`, against the whole model's `.keras` file without
optimizer state), and the seconds per step (in `adapt.timings.csv`). Issue calibration
(one seed, 600 steps): full fine-tuning 1.000, output layer 0.017, query and value rank 4
0.097, rank 8 0.993; every variant forgot addition once merged.

Measured here, 3 seeds on TensorFlow with `--set ffn_ranks=4`: rank 4 on query, value and
both feed-forward layers 0.850 +/- 0.065 (9,472 trainable weights) against 0.713 +/-
0.067 at rank 4 and 0.776 +/- 0.020 at rank 8 on query and value alone; full fine-tuning
0.979. The feed-forward layers hold part of what a new algorithm needs, but within 200
steps no variant came within 0.03 of full fine-tuning.

Why the rank claims fail at the defaults: the 200-step cap. Measured on this machine, 3
seeds on TensorFlow with `--set max_steps=600` (180 s, over the two minutes): test exact
match 0.489 / 0.865 / 0.923 / 0.989 +/- 0.006 / 0.999 at ranks 1 / 2 / 4 / 8 / 16 on
query and value, full fine-tuning 0.995 +/- 0.009, the output layer alone 0.215; rank 8
is chosen on validation, trains 11.8 times fewer weights than full fine-tuning and its
adapter file is 13.2 times smaller than the model, so `low_rank_suffices` and
`small_per_task` both pass. LoRA needs more steps than full fine-tuning, not more rank:
full fine-tuning reached 0.99 on validation in 200 to 300 steps, rank 8 in 400 to 600 and
rank 16 in 400. On this CPU a LoRA step saves less
than its trainable weights suggest: the frozen model's backward pass still runs, and the
factors add matrix products. After the first seed (which compiles), a step took 10-11 ms
with LoRA, 12-14 ms fully fine-tuned and 5-6 ms for the output layer alone on
TensorFlow; 5-7, 11 and 3 ms on JAX (`adapt.timings.csv`).

    python -m experiments run lora              # under 2 minutes on TensorFlow, 1 on JAX
    python experiments/lora.py --quick          # 13-16 s on TensorFlow, 8 on JAX; 1 seed, rank 8
"""

# `python experiments/NAME.py ...` is `python -m experiments run NAME ...` (runner.script_main).
if __name__ == "__main__":
    import sys
    from pathlib import Path

    sys.path[0] = str(Path(__file__).resolve().parents[1])  # the project, not experiments/
    from experiments.runner import script_main

    script_main(__file__)

import dataclasses
import tempfile
from pathlib import Path

import keras
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from experiments.claims import Claim, NotMeasured, mean_std, mean_std_table
from experiments.plots import errorbar_over_seeds
from experiments.progress import Progress
from experiments.settings import (
    at_most,
    distinct,
    fraction,
    may_be_empty,
    non_negative,
    positive,
    seeds_setting,
    setting,
    validate,
)
from zoo import lora
from zoo.arithmetic import Arithmetic, fit_answers, score_answers
from zoo.language_model import CharTokenizer, build_language_model
from zoo.training import Trainer

TITLE = "LoRA: a new task from a few low-rank weights"
CONCEPT = "Freeze the trained weights; train a low-rank update in each layer; store one small adapter per task."
CONCLUSION = (
    "LoRA adapts the frozen addition model to subtraction with a few thousand trainable "
    "weights: the accuracy climbs with the rank, from about a fifth of the problems at "
    "rank 1 to about four in five at ranks 8 and 16, far above the output layer alone, "
    "which cannot learn a new algorithm. But within 200 steps no rank on query and value "
    "came within 0.03 of full fine-tuning's 0.98, on validation or test: the step budget "
    "fails here, not the rank. Given the 600 steps the issue calibrated (`--set "
    "max_steps=600`, 3 minutes, over this run's budget), rank 8 on query and value reaches "
    "0.989 +/- 0.006 against full fine-tuning's 0.995, with 12 times fewer trainable "
    "weights and an adapter 13 times smaller, and both findings pass: low ranks suffice, "
    "but train more slowly (see the docstring). What "
    "LoRA does deliver holds exactly: only the factors train, the base weights stay "
    "bit-identical, an adapter file of 7 to 73 kB (the model is 501 kB) put on a fresh "
    "copy of the base reproduces the adapted model, and removing it gives back the base "
    "model, which still adds, while every fully fine-tuned model has forgotten addition. "
    "How much smaller depends on the rank: the rank best on validation, 16, trains 17% of "
    "the model's weights, and its adapter is only 7 times smaller than the model and its "
    "Adam state 6 times, short of the tenfold claimed; rank 8 would be 13 and 12 times. "
    "Time per step shrinks least: on this CPU a LoRA step costs about four fifths of a "
    "full fine-tuning step on TensorFlow, and half on JAX."
)

PRETRAIN_STEPS, PRETRAIN_BATCH = 1000, 128  # the most steps: pre-training stops at `stop_at`
FULL, HEAD = "full fine-tuning", "output layer only"


@dataclasses.dataclass(frozen=True)
class Config:
    ranks: tuple[int, ...] = setting(
        (1, 2, 4, 8, 16),
        "LoRA ranks on the attention's query and value",
        positive,
        at_most(64),
        distinct,
    )
    ffn_ranks: tuple[int, ...] = setting(
        (),
        "LoRA ranks on query, value and the feed-forward layers",
        positive,
        at_most(64),
        distinct,
        may_be_empty,
    )
    d_model: int = setting(
        64, "width of the language model's embeddings and blocks", positive, at_most(512)
    )
    batch_size: int = setting(64, "problems per adaptation step", positive)
    max_steps: int = setting(200, "the most steps an adaptation may take", positive)
    eval_every: int = setting(100, "steps between scorings on the validation problems", positive)
    stop_at: float = setting(0.99, "stop once the validation exact match reaches this", fraction)
    learning_rate: float = setting(
        1e-3, "Adam's learning rate in pre-training and full fine-tuning", positive
    )
    adapter_learning_rate: float = setting(
        1e-2, "Adam's learning rate for LoRA and the output layer alone", positive
    )
    base_seed: int = setting(
        0, "seed of the one pre-trained base model every adaptation starts from", non_negative
    )
    seeds: tuple[int, ...] = seeds_setting()

    def __post_init__(self):
        validate(self)
        if self.max_steps % self.eval_every:
            raise ValueError(
                f"max_steps must be a multiple of eval_every ({self.eval_every}), got {self.max_steps}"
            )


# Quick: one seed, a narrower model at a higher rate, in batches of 128 (the base's: one
# compiled step serves it and full fine-tuning), rank 8 alone, trained to 0.95 at most.
QUICK = dict(
    seeds=(0,),
    d_model=32,
    learning_rate=5e-3,
    batch_size=PRETRAIN_BATCH,
    ranks=(8,),
    ffn_ranks=(),
    max_steps=200,
    eval_every=50,
    stop_at=0.95,
)

TASKS = {"addition": Arithmetic(2, "+"), "subtraction": Arithmetic(2, "-")}
TOKENIZER = CharTokenizer(TASKS["addition"].alphabet)
TEST_PROBLEMS = VALIDATION_PROBLEMS = 500  # one shape: one compiled prediction
PROBE_PROBLEMS = 256  # addition test problems on which predictions are compared exactly


def splits(task, seed):
    """Training, validation and test problems of a task, disjoint, drawn by `seed`."""
    return task.splits(VALIDATION_PROBLEMS, TEST_PROBLEMS, seed)


def fit(trainer, build, task, seed, *, learning_rate, batch_size, max_steps, config):
    """Trains `build()`'s model on `task` until `config.stop_at` on validation problems."""
    train, validation, _ = splits(task, seed)
    return fit_answers(
        trainer,
        build,
        keras.optimizers.Adam(learning_rate=learning_rate),
        task,
        TOKENIZER,
        train,
        validation,
        batch_size=batch_size,
        max_steps=max_steps,
        eval_every=config.eval_every,
        seed=seed,
        stop_at=config.stop_at,
    )


def test_exact_match(model, task, seed):
    _, _, (a, b) = splits(task, seed)
    return float(score_answers(model, task, TOKENIZER, a, b)["correct"].mean())


def variants(config):
    """`(name, placement, rank)` of every way of adapting, in order."""
    return [
        (FULL, None, None),
        (HEAD, None, None),
        *((f"LoRA attention r={rank}", "attention", rank) for rank in config.ranks),
        *(
            (f"LoRA attention+FFN r={rank}", "attention_and_feed_forward", rank)
            for rank in config.ffn_ranks
        ),
    ]


def base_model(d_model=64):
    return build_language_model(TOKENIZER.vocab_size, TASKS["addition"].length, d_model=d_model)


@dataclasses.dataclass
class Base:
    """The pre-trained base model: its weights, its record, and its logits on the probe
    problems (`probe`), to which every adapter, removed, must give back exactly."""

    weights: list
    record: dict
    probe: np.ndarray
    probe_logits: np.ndarray

    def model(self, d_model):
        """A fresh copy of the base model."""
        model = base_model(d_model)
        model.set_weights(self.weights)
        return model


def adapted(base, d_model, name, placement, rank):
    """A function building a fresh copy of the base model, made ready for one way of
    adapting it."""

    def build():
        model = base.model(d_model)
        if name == HEAD:
            for layer in model.layers:
                layer.trainable = layer.name == "logits"
        elif placement is not None:
            lora.enable_lora(model, rank, placement)
        return model

    return build


def model_file_bytes(model):
    """Bytes of the whole model in a `.keras` file, its weights and nothing else (no
    optimizer state): what a fully fine-tuned model costs to store, per task."""
    with tempfile.TemporaryDirectory() as folder:
        model.save(Path(folder) / "model.keras")
        return (Path(folder) / "model.keras").stat().st_size


def logits(model, tokens):
    """The model's logits, called eagerly: every comparison of exact predictions goes
    through this one path, and a new model compiles no prediction function for it."""
    return keras.ops.convert_to_numpy(model(tokens, training=False))


def lora_checks(model, config, placement, rank, base, folder):
    """The checks one LoRA run allows, on a fresh copy of the base model: with LoRA
    enabled (B = 0) it predicts exactly as the base; the adapter file put on it predicts
    exactly as the trained model; removed, the base model's predictions come back. And
    the trained model's frozen weights are the base's, bit for bit."""
    fresh = base.model(config.d_model)
    reference = {w.path: keras.ops.convert_to_numpy(w) for w in fresh.weights}
    untouched = all(
        np.array_equal(keras.ops.convert_to_numpy(w), reference[w.path])
        for w in model.weights
        if not w.path.endswith(("lora_kernel_a", "lora_kernel_b"))
    )
    lora.enable_lora(fresh, rank, placement)
    starts_as_base = np.array_equal(logits(fresh, base.probe), base.probe_logits)
    lora.load_adapter(fresh, Path(folder) / "adapter.npz")
    reloaded = np.array_equal(logits(fresh, base.probe), logits(model, base.probe))
    lora.remove_adapter(fresh)
    removed = np.array_equal(logits(fresh, base.probe), base.probe_logits)
    return dict(
        frozen_untouched=untouched,
        starts_as_base=starts_as_base,
        adapter_reloads=reloaded,
        removal_restores=removed,
    )


def pretrain(trainer, config):
    """The base model, trained on addition from `config.base_seed`."""
    seed = config.base_seed
    model, history, _ = fit(
        trainer,
        lambda: base_model(config.d_model),
        TASKS["addition"],
        seed,
        learning_rate=config.learning_rate,
        batch_size=PRETRAIN_BATCH,
        max_steps=PRETRAIN_STEPS,
        config=config,
    )
    _, _, (a, b) = splits(TASKS["addition"], seed)
    probe = TOKENIZER.encode(TASKS["addition"].texts(a[:PROBE_PROBLEMS], b[:PROBE_PROBLEMS]))
    base = Base(model.get_weights(), {}, probe, logits(model, probe))
    base.record = dict(
        seed=seed,
        steps=len(history.history["loss"]) * config.eval_every,
        addition=test_exact_match(model, TASKS["addition"], seed),
        subtraction=test_exact_match(model, TASKS["subtraction"], seed),
        # a fresh copy: the Trainer's model would store its optimizer state too
        model_file_bytes=model_file_bytes(base.model(config.d_model)),
    )
    return base


def adapt(trainer, config, seed, base, name, placement, rank):
    """One way of adapting the base model to subtraction: its row and its curve."""
    build = adapted(base, config.d_model, name, placement, rank)
    model, history, curve = fit(
        trainer,
        build,
        TASKS["subtraction"],
        seed,
        learning_rate=config.learning_rate if name == FULL else config.adapter_learning_rate,
        batch_size=config.batch_size,
        max_steps=config.max_steps,
        config=config,
    )
    steps = len(history.history["loss"]) * config.eval_every
    seconds = float(sum(history.history["seconds"]))
    row = dict(
        variant=name,
        placement=placement or "none",
        rank=rank or 0,
        subtraction=test_exact_match(model, TASKS["subtraction"], seed),
        validation=curve[-1]["exact_match"],
        # the base's addition test problems: the merged model forgot, or did not
        addition_merged=test_exact_match(model, TASKS["addition"], config.base_seed),
        trainable=int(sum(np.prod(w.shape) for w in model.trainable_weights)),
        expected_trainable=lora.lora_parameter_count(model, rank, placement) if rank else np.nan,
        optimizer_bytes=int(
            sum(np.prod(v.shape) * np.dtype(v.dtype).itemsize for v in model.optimizer.variables)
        ),
        steps=steps,
        seconds=seconds,
        step_seconds=seconds / steps,
    )
    if rank:
        with tempfile.TemporaryDirectory() as folder:
            path = lora.save_adapter(model, Path(folder) / "adapter.npz")
            row["adapter_file_bytes"] = path.stat().st_size
            row.update(lora_checks(model, config, placement, rank, base, folder))
    return row, curve


def run(config):
    trainer = Trainer()
    ways = variants(config)
    rows, curves = [], []
    progress = Progress("lora", 1 + len(config.seeds) * len(ways))
    base = pretrain(trainer, config)
    progress.done("base (seed=%d): addition %.3f", config.base_seed, base.record["addition"])
    for seed in config.seeds:
        for name, placement, rank in ways:
            row, curve = adapt(trainer, config, seed, base, name, placement, rank)
            rows.append(dict(seed=seed, model_file_bytes=base.record["model_file_bytes"], **row))
            curves += [dict(seed=seed, variant=name, **point) for point in curve]
            progress.done(
                "seed=%d %s: subtraction %.3f after %d steps (%d trainable)",
                seed,
                name,
                row["subtraction"],
                row["steps"],
                row["trainable"],
            )
    return {
        "adapt": pd.DataFrame(rows),
        "base": pd.DataFrame([base.record]),
        "curve": pd.DataFrame(curves),
    }


# --- summaries of the table --------------------------------------------------------


def summarize(tables):
    adapt = tables["adapt"].copy()
    adapt["per-task file KB"] = adapt["adapter_file_bytes"].fillna(adapt["model_file_bytes"]) / 1e3
    adapt["optimizer KB"] = adapt["optimizer_bytes"] / 1e3
    results = mean_std_table(
        adapt,
        ["variant"],
        {
            "subtraction (test)": "subtraction",
            "addition after, merged (test)": "addition_merged",
            "trainable weights": "trainable",
            "optimizer KB": "optimizer KB",
            "per-task file KB": "per-task file KB",
            "steps": "steps",
        },
    )
    base = mean_std_table(
        tables["base"].assign(model="pre-trained on addition"),
        ["model"],
        {"addition (test)": "addition", "subtraction (test)": "subtraction", "steps": "steps"},
    )
    return {"The base model": base, "Adapted to subtraction": results}


def by_variant(tables, column):
    """Per variant, the mean of `column` over seeds, in the run's order."""
    adapt = tables["adapt"]
    return adapt.groupby("variant", sort=False)[column].mean()


# --- claims --------------------------------------------------------------------------


def _counts(tables):
    lora_rows = tables["adapt"][tables["adapt"]["rank"] > 0]
    if lora_rows.empty:
        raise NotMeasured("the run has no LoRA variant")
    wrong = int((lora_rows["trainable"] != lora_rows["expected_trainable"]).sum())
    return {"runs": len(lora_rows), "counts that differ": wrong}, wrong == 0


def _frozen(tables):
    lora_rows = tables["adapt"][tables["adapt"]["rank"] > 0]
    if lora_rows.empty:
        raise NotMeasured("the run has no LoRA variant")
    measured = {
        "frozen weights untouched": int(lora_rows["frozen_untouched"].sum()),
        "start predicts as the base": int(lora_rows["starts_as_base"].sum()),
        "runs": len(lora_rows),
    }
    return measured, bool(lora_rows["frozen_untouched"].all() and lora_rows["starts_as_base"].all())


def chosen_rank(tables, tolerance=0.03):
    """The smallest attention-only rank <= 8 whose mean validation exact match is within
    `tolerance` of full fine-tuning's: chosen on validation problems, never the test."""
    adapt = tables["adapt"]
    validation = adapt.groupby("variant", sort=False)["validation"].mean()
    if FULL not in validation:
        raise NotMeasured("the run has no full fine-tuning")
    attention = adapt[(adapt["placement"] == "attention") & (adapt["rank"] <= 8)]
    for rank in sorted(attention["rank"].unique()):
        name = f"LoRA attention r={rank}"
        if validation[name] >= validation[FULL] - tolerance:
            return name
    return None


def best_on_validation(tables):
    """The attention-only LoRA variant with the best mean validation exact match: the
    adapter one would deploy when no rank matches full fine-tuning."""
    adapt = tables["adapt"]
    attention = adapt[adapt["placement"] == "attention"]
    if attention.empty:
        raise NotMeasured("the run has no LoRA variant on query and value")
    return attention.groupby("variant", sort=False)["validation"].mean().idxmax()


def _low_rank_suffices(tables):
    adapt = tables["adapt"]
    test = by_variant(tables, "subtraction")
    trainable = by_variant(tables, "trainable")
    if HEAD not in test:
        raise NotMeasured("the run has no output-layer-only variant")
    name = chosen_rank(tables)
    curve = {
        variant: mean_std(adapt[adapt["variant"] == variant]["subtraction"])
        for variant in test.index
        if variant != FULL
    }
    measured = {FULL: mean_std(adapt[adapt["variant"] == FULL]["subtraction"]), **curve}
    measured["chosen on validation"] = name or "none"
    if name is None:
        return measured, False
    measured["fewer trainable weights"] = float(trainable[FULL] / trainable[name])
    passed = (
        test[name] >= test[FULL] - 0.03
        and trainable[FULL] >= 10 * trainable[name]
        and test[HEAD] <= test[FULL] - 0.25
    )
    return measured, bool(passed)


def _smaller(tables):
    name = chosen_rank(tables) or best_on_validation(tables)
    adapt = tables["adapt"].set_index("variant")
    file_ratio = (
        adapt.loc[FULL, "model_file_bytes"].mean() / adapt.loc[name, "adapter_file_bytes"].mean()
    )
    optimizer_ratio = (
        adapt.loc[FULL, "optimizer_bytes"].mean() / adapt.loc[name, "optimizer_bytes"].mean()
    )
    measured = {
        "variant": name,
        "file, model / adapter": file_ratio,
        "optimizer state, full / LoRA": optimizer_ratio,
    }
    return measured, bool(file_ratio >= 10 and optimizer_ratio >= 10)


def _one_base_many_tasks(tables):
    adapt = tables["adapt"]
    lora_rows = adapt[adapt["rank"] > 0]
    if lora_rows.empty:
        raise NotMeasured("the run has no LoRA variant")
    measured = {
        "adapter reloads exactly": int(lora_rows["adapter_reloads"].sum()),
        "removal restores the base exactly": int(lora_rows["removal_restores"].sum()),
        "runs": len(lora_rows),
        "base addition": mean_std(tables["base"]["addition"]),
        "full fine-tune's addition, merged": mean_std(
            adapt[adapt["variant"] == FULL]["addition_merged"]
        ),
    }
    passed = lora_rows["adapter_reloads"].all() and lora_rows["removal_restores"].all()
    return measured, bool(passed)


HU = "Hu et al. 2021, LoRA: Low-rank adaptation of large language models"
CLAIMS = [
    Claim(
        "parameter_counts",
        "LoRA trains exactly the factors: the trainable weights equal the count from the kernels' shapes.",
        f"{HU}, Sec. 4; keras-io's GPT-2 LoRA guide: 147,456 of 124,587,264.",
        "trainable weights == zoo.lora.lora_parameter_count, every LoRA run",
        _counts,
        kind="check",
    ),
    Claim(
        "frozen_and_starts_at_base",
        "The pre-trained weights stay bit-identical through LoRA training, and before training the "
        "adapted model predicts exactly as the base (B starts at zero).",
        f"{HU}: W0 is frozen; B = 0 at initialization, so W0 + BA = W0 at the start.",
        "every LoRA run",
        _frozen,
        kind="check",
    ),
    Claim(
        "low_rank_suffices",
        "A low rank on query and value adapts the model about as well as full fine-tuning with a "
        "tenth of the trainable weights or fewer, while the output layer alone cannot.",
        f"{HU}, Table 5: rank 4 on W_q, W_v did as well as more weights at higher rank. Issue "
        "calibration: rank 4 0.097, rank 8 0.993, output layer 0.017, full 1.000.",
        "the smallest rank <= 8 whose mean validation exact match is within 0.03 of full "
        "fine-tuning's: mean test exact match within 0.03 of full's, with >= 10x fewer trainable "
        "weights; the output layer alone >= 0.25 below full",
        _low_rank_suffices,
        headline=(FULL, HEAD, "chosen on validation"),
    ),
    Claim(
        "small_per_task",
        "What must be stored per task, and the optimizer state in training, are each at least ten "
        "times smaller with LoRA.",
        f"{HU}: 10,000x fewer trainable weights and 3x less GPU memory for GPT-3; a 35 MB "
        "checkpoint instead of 350 GB.",
        "for the rank low_rank_suffices chose (or, if none, the rank best on validation): model "
        "file / adapter file >= 10 and optimizer state, full / LoRA >= 10",
        _smaller,
        headline=("file, model / adapter", "optimizer state, full / LoRA"),
    ),
    Claim(
        "one_base_many_tasks",
        "One base, many tasks: an adapter file on a fresh base reproduces the adapted model exactly; "
        "removed, the base (which still adds) comes back exactly.",
        "The course: redeploying new weights for each fine-tuned model is not feasible.",
        "every LoRA run: predictions equal, bit for bit",
        _one_base_many_tasks,
        kind="check",
        headline=("adapter reloads exactly", "full fine-tune's addition, merged"),
    ),
]


# --- plots ---------------------------------------------------------------------------


def plot_ranks(tables):
    adapt = tables["adapt"]
    figure, axis = plt.subplots(figsize=(6.5, 4.5))
    for placement, color, label in (
        ("attention", "C0", "LoRA on query, value"),
        ("attention_and_feed_forward", "C2", "LoRA on query, value, feed-forward"),
    ):
        rows = adapt[adapt["placement"] == placement]
        if len(rows):
            errorbar_over_seeds(axis, rows["subtraction"], rows["rank"], color=color, label=label)
    for name, style in ((FULL, "-"), (HEAD, ":")):
        if name in set(adapt["variant"]):
            axis.axhline(
                by_variant(tables, "subtraction")[name], color="gray", linestyle=style, label=name
            )
    axis.set(
        xscale="log",
        xlabel="rank",
        ylabel="subtraction test exact match",
        title="A few low-rank weights learn the new task",
    )
    axis.set_xticks(sorted(adapt[adapt["rank"] > 0]["rank"].unique()))
    axis.get_xaxis().set_major_formatter(plt.ScalarFormatter())
    axis.legend(fontsize=8)
    axis.grid(alpha=0.3)
    return figure


def plot_cost(tables):
    adapt = tables["adapt"]
    figure, axis = plt.subplots(figsize=(6.5, 4.5))
    means = adapt.groupby("variant", sort=False)[["trainable", "subtraction"]].mean()
    axis.scatter(means["trainable"], means["subtraction"], color="C0")
    for name, row in means.iterrows():
        axis.annotate(
            name,
            (row["trainable"], row["subtraction"]),
            fontsize=7,
            xytext=(4, 2),
            textcoords="offset points",
        )
    axis.set(
        xscale="log",
        xlabel="trainable weights",
        ylabel="subtraction test exact match",
        title="Accuracy against what is trained",
    )
    axis.grid(alpha=0.3)
    return figure


PLOTS = {"rank_curve.png": plot_ranks, "accuracy_by_trainable.png": plot_cost}
