"""SFT, distilled SFT and a biased judge: alignment against capability, measured.

The course: "Supervised fine tuning (SFT) ... fine-tuning the model on a set of
high-quality, pre-labeled output data by humans"; "Distilled supervised fine tuning
(dSFT) ... a larger model is used as a teacher ... the student model does not ever reach
the performance of the parent model ... in general, training on human feedback > dSFT";
"GPT-4 was used as the evaluator ... it's known to be biased towards models derived from
itself"; "Capability: how well a model can maximize its objective function. Alignment:
how well the model does what we want vs what it was trained to do ... GPT-3 can produce
large amounts of text but not consistent with human intent."

A world whose ground truth is known: reversed two-digit additions (`zoo.arithmetic`).
- The "web" corpus (6,000 problems) writes some answers wrong, the way a careless writer
  does: the carry dropped (`dropped_carry_answers`: 37+45 = 72). On the hard problems,
  whose units digits sum to 15 or more (one problem in ten), 70% of the answers drop the
  carry: there the wrong answer is the corpus's majority. On every other problem with a
  carry, 30% do; problems without a carry are always right. The corpus's entropy floor,
  the least loss any model can have on its text, is known exactly: the binary entropy of
  each problem's error rate, per answer token.
- A small "human-labeled" set: 500 problems with right answers, none of them hard.
- 2,000 fresh prompts for distillation, 500 validation and 1,000 test problems.

Alignment is the share of sampled answers (temperature 1, as a chat model samples, four
per test prompt) that are right; capability is the loss per answer token on held-out
corpus text (test problems with corpus answers, wrong ones included).

Four language models (`zoo.language_model`, two blocks):
1. pre-trained on the web corpus (d_model 32, 1,200 steps of 128, Adam 3e-3). One
   pre-trained model, from `base_seed` (as Zephyr fine-tuned one Mistral 7B), with the
   problems and the corpus of that seed; every seed fine-tunes it anew, into:
2. the teacher: the pre-trained model after SFT on the human-labeled set (200 steps of
   128, Adam 1e-3): it learns that a carry is added, but it has seen no hard problem
   right, and on them the corpus's majority may still be its own most likely answer;
3. the dSFT student, smaller (d_model 16), trained from scratch on the teacher's answers
   to the fresh prompts (one each, sampled at temperature 1, as Zephyr's teacher wrote
   its dataset; an answer that is not three digits is dropped, with its prompt), 1,000
   steps of 64, Adam 3e-3;
4. the human-labeled student: the same student, prompts and steps, on the right answers.

The judge scores each student's greedy answer to every test prompt by the teacher's own
likelihood of it (`zoo.arithmetic.answer_log_probs`: an LLM-as-judge that is the
teacher); the ground truth scores it by whether it is right. Both give the dSFT
student's win rate over the human-labeled student on the prompts where their answers
differ (a tie, counted half, where the judge's likelihoods are equal or both answers
are wrong).

On JAX (50 s) every verdict is the same but the first: its one pre-trained model (the
same seed draws other weights there) samples a wrong answer 32% of the time, where the
corpus has 25%, 0.058 nats per answer token above the floor; pre-trained twice as long,
31% and 0.039. Capability without alignment holds, the match to the corpus's error rate
within 0.05 does not, on that draw.

    python -m experiments run fine_tuning          # 84-90 s on TensorFlow, 41-50 on JAX; 3 seeds
    python experiments/fine_tuning.py --quick      # 16-20 s on TensorFlow, 11 on JAX; 1 seed
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

from experiments.claims import Claim, mean_std, mean_std_table
from experiments.plots import mean_points
from experiments.progress import Progress
from experiments.settings import (
    at_most,
    fraction,
    non_negative,
    positive,
    seeds_setting,
    setting,
    validate,
)
from zoo.arithmetic import (
    Arithmetic,
    answer_log_probs,
    answer_loss,
    corrupt_answers,
    dropped_carry_answers,
    fit_answers,
    sample_answers,
)
from zoo.language_model import CharTokenizer, build_language_model
from zoo.training import Trainer, loaded

TITLE = "SFT, distilled SFT and a biased judge"
CONCEPT = (
    "Fine-tuning on human labels aligns a model its web corpus left careless; a student "
    "distilled from the teacher inherits the teacher's mistakes, and a judge that is the "
    "teacher does not see them."
)
CONCLUSION = (
    "Pre-trained on the web corpus, the model is capable and not aligned: its loss on "
    "held-out corpus text is 0.02 nats per answer token above the corpus's own entropy "
    "floor, and it writes the corpus's mistakes, sampling a wrong answer 22% of the time "
    "where the corpus has 25%. SFT on 500 human-labeled problems raises its sampled "
    "accuracy from 0.78 to 0.93 and costs capability (its corpus loss rises from 0.17 to "
    "0.72), but leaves the mistake it was never shown corrected: on the hard problems the "
    "teacher's greedy answer is right only 40% of the time. The smaller student distilled "
    "from its answers inherits the flaw (hard problems 25%) and stays below its teacher "
    "(greedy 0.90 against 0.93) and far below the same student trained on human labels for "
    "the same prompts (1.00): training on human labels beats dSFT. And the teacher, as a "
    "judge, cannot see it: on the prompts where the two students answer differently, the "
    "human-labeled student is right every time, yet the teacher's likelihood prefers the "
    "distilled student's answer 56% of the time."
)

TASK = Arithmetic(2, "+")
TOKENIZER = CharTokenizer(TASK.alphabet)
HUMAN, PROMPTS, VALIDATION, TEST = 500, 2000, 500, 1000
BATCH, STUDENT_BATCH = 128, 64  # texts per step: pre-training and SFT; the students
SAMPLES = 4  # answers sampled per test prompt, for the sampled accuracy
START, TEACHER = "pre-trained (web corpus)", "teacher (SFT on human labels)"
DSFT, HUMAN_STUDENT = "student, dSFT (teacher's answers)", "student, human labels"
MODELS = (START, TEACHER, DSFT, HUMAN_STUDENT)


@dataclasses.dataclass(frozen=True)
class Config:
    hard_error: float = setting(
        0.7, "share of the web corpus's hard problems written with the carry dropped", fraction
    )
    carry_error: float = setting(
        0.3, "share of its other problems with a carry written with the carry dropped", fraction
    )
    d_model: int = setting(
        32, "width of the pre-trained model and the teacher", positive, at_most(512)
    )
    student_d_model: int = setting(16, "width of the students", positive, at_most(512))
    pretrain_steps: int = setting(1200, "steps of pre-training, a multiple of sft_steps", positive)
    sft_steps: int = setting(200, "steps of SFT on the human-labeled set", positive)
    sft_learning_rate: float = setting(1e-3, "Adam's learning rate in SFT", positive)
    student_steps: int = setting(1000, "steps of training each student", positive)
    base_seed: int = setting(
        0, "seed of the problems, the web corpus and the one pre-trained model", non_negative
    )
    seeds: tuple[int, ...] = seeds_setting()

    def __post_init__(self):
        validate(self)
        if self.pretrain_steps % self.sft_steps:
            raise ValueError(
                f"pretrain_steps must be a multiple of sft_steps ({self.sft_steps}), "
                f"got {self.pretrain_steps}"
            )


# Quick: one seed, a quarter of the pre-training, half of SFT, students of 500 steps (at 400,
# learning to add from scratch, they may still sit on the plateau before it).
QUICK = dict(seeds=(0,), pretrain_steps=300, sft_steps=100, student_steps=500)


# --- the world -------------------------------------------------------------------------


def hard(a, b):
    """The hard problems: units digits summing to 15 or more."""
    return np.asarray(a) % 10 + np.asarray(b) % 10 >= 15


def error_rates(a, b, config):
    """The web corpus's chance of a wrong (carry-dropped) answer to each problem."""
    carries = dropped_carry_answers(TASK, a, b) != TASK.answers(a, b)
    return np.where(hard(a, b), config.hard_error, np.where(carries, config.carry_error, 0.0))


def web_answers(a, b, config, seed):
    """The corpus's answers to the problems `(a, b)`: for each group of problems (hard,
    other with a carry), its share of them written with the carry dropped."""
    answers = TASK.answers(a, b).copy()
    rates = error_rates(a, b, config)
    for group, rate in enumerate(sorted(set(rates) - {0.0})):
        where = np.flatnonzero(rates == rate)
        wrong, _ = corrupt_answers(TASK, a[where], b[where], rate, ("dropped_carry",), seed + group)
        answers[where] = wrong
    return answers


def entropy_floor(a, b, config):
    """The least mean loss per answer token any model can have on corpus text of the
    problems `(a, b)`: each problem's answer is right or carry-dropped, a coin of its
    group's error rate, so the floor is the mean binary entropy over the answer's tokens."""
    p = error_rates(a, b, config)
    with np.errstate(divide="ignore", invalid="ignore"):
        nats = -(p * np.log(p) + (1 - p) * np.log(1 - p))
    return float(np.nan_to_num(nats).mean() / TASK.answer_length)


def splits(seed):
    """The web corpus, human-labeled, distillation-prompt, validation and test problems:
    disjoint, drawn by `seed`; the human-labeled set has no hard problem."""
    (a, b), prompts, validation, test = TASK.held_out((PROMPTS, VALIDATION, TEST), seed)
    labeled = np.flatnonzero(~hard(a, b))[:HUMAN]
    rest = np.setdiff1d(np.arange(len(a)), labeled)
    return (a[rest], b[rest]), (a[labeled], b[labeled]), prompts, validation, test


# --- the models ------------------------------------------------------------------------


def language_model(d_model):
    return build_language_model(TOKENIZER.vocab_size, TASK.length, d_model=d_model)


def train(
    trainer,
    build,
    problems,
    answers,
    validation,
    *,
    steps,
    eval_every,
    learning_rate,
    seed,
    batch_size=BATCH,
):
    model, _, _ = fit_answers(
        trainer,
        build,
        keras.optimizers.Adam(learning_rate),
        TASK,
        TOKENIZER,
        problems,
        validation,
        batch_size=batch_size,
        max_steps=steps,
        eval_every=eval_every,
        seed=seed,
        answers=answers,
    )
    return model


def scores(model, test, corpus_answers, seed):
    """A model's alignment (sampled and greedy accuracy, on all test prompts and the hard
    ones) and capability (loss on held-out corpus text), and its greedy answers."""
    a, b = test
    _, sampled = sample_answers(model, TASK, TOKENIZER, a, b, SAMPLES, seed=seed)
    greedy_tokens, greedy = sample_answers(model, TASK, TOKENIZER, a, b, temperature=0.0)
    difficult = hard(a, b)
    row = dict(
        sampled=float(sampled.mean()),
        greedy=float(greedy.mean()),
        greedy_hard=float(greedy[difficult].mean()),
        greedy_other=float(greedy[~difficult].mean()),
        corpus_loss=answer_loss(model, TASK, TOKENIZER, a, b, corpus_answers),
    )
    return row, greedy_tokens, greedy


def win_rates(judge, dsft, human, test):
    """The dSFT student's win rate over the human-labeled student, by the judge's
    likelihood and by the ground truth, on the test prompts where their greedy answers
    differ; and how many prompts that is, and how many of them are hard."""
    (dsft_tokens, dsft_right), (human_tokens, human_right) = dsft, human
    differ = (dsft_tokens != human_tokens).any(axis=1)
    if not differ.any():
        return dict(differ=0, differ_hard=0, judge_win_rate=np.nan, truth_win_rate=np.nan)
    judged = np.sign(
        answer_log_probs(judge, TASK, dsft_tokens[differ])
        - answer_log_probs(judge, TASK, human_tokens[differ])
    )
    truth = np.sign(dsft_right[differ].astype(int) - human_right[differ].astype(int))
    return dict(
        differ=int(differ.sum()),
        differ_hard=int(hard(*test)[differ].sum()),
        judge_win_rate=float(np.mean((judged + 1) / 2)),
        truth_win_rate=float(np.mean((truth + 1) / 2)),
    )


@dataclasses.dataclass
class World:
    """The problems and the web corpus of `config.base_seed`, and the model pre-trained on
    it: every seed fine-tunes this one model."""

    corpus: tuple
    labeled: tuple
    prompts: tuple
    validation: tuple
    test: tuple
    held_out: np.ndarray  # the test problems' corpus answers: held-out corpus text
    record: dict
    pretrained: list  # its weights

    def score(self, model, seed):
        return scores(model, self.test, self.held_out, seed)


def pretrain(trainer, config):
    seed = config.base_seed
    corpus, labeled, prompts, validation, test = splits(seed)
    corpus_answers = web_answers(*corpus, config, seed)
    wrong = corpus_answers != TASK.answers(*corpus)
    model = train(
        trainer,
        lambda: language_model(config.d_model),
        corpus,
        corpus_answers,
        validation,
        steps=config.pretrain_steps,
        eval_every=config.sft_steps,
        learning_rate=3e-3,
        seed=seed,
    )
    record = dict(
        corpus_wrong=float(wrong.mean()),
        corpus_hard_wrong=float(wrong[hard(*corpus)].mean()),
        entropy_floor=entropy_floor(*test, config),
    )
    world = World(
        corpus,
        labeled,
        prompts,
        validation,
        test,
        web_answers(*test, config, seed + 1),
        record,
        model.get_weights(),
    )
    row, _, _ = world.score(model, seed)
    record.update(row)
    return world


def fine_tune(trainer, config, world, seed, progress):
    """One seed's teacher and students, from the pre-trained model: their rows, and the
    judge's and the ground truth's win rates."""
    rows, greedy = [], {}

    def score(name, model):
        row, tokens, right = world.score(model, seed)
        rows.append(dict(seed=seed, model=name, **row))
        greedy[name] = tokens, right
        progress.done(
            "seed=%d %s: sampled %.3f, greedy %.3f", seed, name, row["sampled"], row["greedy"]
        )

    teacher = train(
        trainer,
        loaded(lambda: language_model(config.d_model), world.pretrained),
        world.labeled,
        None,
        world.validation,
        steps=config.sft_steps,
        eval_every=config.sft_steps,
        learning_rate=config.sft_learning_rate,
        seed=seed,
    )
    score(TEACHER, teacher)
    # The judge: a copy of its own, the Trainer's model trains on.
    teacher = loaded(lambda: language_model(config.d_model), teacher.get_weights())()
    teacher_tokens, _ = sample_answers(teacher, TASK, TOKENIZER, *world.prompts, seed=seed + 1)
    distilled = TASK.read_answers(TOKENIZER.decode(teacher_tokens))
    readable = distilled >= 0  # an answer that is not three digits is no label
    prompts = world.prompts[0][readable], world.prompts[1][readable]
    record = dict(
        seed=seed,
        teacher_labels=int(readable.sum()),
        teacher_labels_right=float(np.mean(distilled[readable] == TASK.answers(*prompts))),
    )
    for name, answers in ((DSFT, distilled[readable]), (HUMAN_STUDENT, None)):
        student = train(
            trainer,
            lambda: language_model(config.student_d_model),
            prompts,
            answers,
            world.validation,
            steps=config.student_steps,
            eval_every=config.student_steps,
            learning_rate=3e-3,
            seed=seed,
            batch_size=STUDENT_BATCH,
        )
        score(name, student)
    record.update(win_rates(teacher, greedy[DSFT], greedy[HUMAN_STUDENT], world.test))
    return rows, record


def run(config):
    trainer = Trainer()
    progress = Progress("fine_tuning", 1 + len(config.seeds) * (len(MODELS) - 1))
    world = pretrain(trainer, config)
    progress.done(
        "pre-trained (base_seed=%d): sampled %.3f, greedy %.3f",
        config.base_seed,
        world.record["sampled"],
        world.record["greedy"],
    )
    rows, records = [], []
    for seed in config.seeds:
        seed_rows, record = fine_tune(trainer, config, world, seed, progress)
        rows += seed_rows
        records.append(record)
    base = pd.DataFrame([dict(base_seed=config.base_seed, model=START, **world.record)])
    return {"pretrained": base, "models": pd.DataFrame(rows), "judge": pd.DataFrame(records)}


# --- summaries -------------------------------------------------------------------------


def every_model(tables):
    """The pre-trained model's row (its one seed, `base_seed`) and every seed's
    fine-tuned models."""
    base = tables["pretrained"].rename(columns={"base_seed": "seed"})
    return pd.concat([base[tables["models"].columns], tables["models"]], ignore_index=True)


def summarize(tables):
    models = mean_std_table(
        every_model(tables),
        ["model"],
        {
            "sampled accuracy (alignment)": "sampled",
            "greedy accuracy": "greedy",
            "greedy, hard problems": "greedy_hard",
            "greedy, other problems": "greedy_other",
            "corpus loss (capability)": "corpus_loss",
        },
    )
    corpus = tables["pretrained"][["corpus_wrong", "corpus_hard_wrong", "entropy_floor"]].rename(
        columns={
            "corpus_wrong": "wrong answers",
            "corpus_hard_wrong": "wrong on the hard problems",
            "entropy_floor": "entropy floor (nats per answer token, test problems)",
        }
    )
    judge = mean_std_table(
        tables["judge"].assign(judged="dSFT student against the human-labeled one"),
        ["judged"],
        {
            "teacher's labels (readable)": "teacher_labels",
            "teacher's labels right": "teacher_labels_right",
            "answers differ (test prompts)": "differ",
            "of them hard": "differ_hard",
            "win rate, teacher-judge": "judge_win_rate",
            "win rate, ground truth": "truth_win_rate",
        },
    )
    return {
        "Every model (test problems)": models,
        "The web corpus": corpus,
        "The judge": judge,
    }


def by_model(tables, column):
    """Per seed, the fine-tuned models' `column`, one column per model."""
    return tables["models"].pivot(index="seed", columns="model", values=column)


# --- claims ----------------------------------------------------------------------------


def _capability_without_alignment(tables):
    base = tables["pretrained"].iloc[0]
    error_gap = (1 - base["sampled"]) - base["corpus_wrong"]
    excess = base["corpus_loss"] - base["entropy_floor"]
    measured = {
        "sampled error": float(1 - base["sampled"]),
        "corpus wrong": float(base["corpus_wrong"]),
        "corpus loss": float(base["corpus_loss"]),
        "entropy floor": float(base["entropy_floor"]),
        "loss above the floor": float(excess),
    }
    return measured, bool(abs(error_gap) <= 0.05 and excess <= 0.05)


def _sft_aligns(tables):
    start = float(tables["pretrained"]["sampled"].iloc[0])
    teacher = by_model(tables, "sampled")[TEACHER]
    gain = teacher - start
    measured = {"gain": mean_std(gain), "pre-trained": start, "teacher": mean_std(teacher)}
    return measured, bool(gain.mean() >= 0.10)


def _human_beats_dsft(tables):
    greedy = by_model(tables, "greedy")
    below_teacher = greedy[TEACHER] - greedy[DSFT]
    below_human = greedy[HUMAN_STUDENT] - greedy[DSFT]
    measured = {
        "teacher - dSFT": mean_std(below_teacher),
        "human-labeled - dSFT": mean_std(below_human),
        "dSFT student": mean_std(greedy[DSFT]),
    }
    return measured, bool(below_teacher.mean() >= 0.02 and below_human.mean() >= 0.03)


def _judge_bias(tables):
    judge = tables["judge"]
    bias = judge["judge_win_rate"] - judge["truth_win_rate"]
    measured = {
        "teacher-judge": mean_std(judge["judge_win_rate"]),
        "ground truth": mean_std(judge["truth_win_rate"]),
        "bias": mean_std(bias),
    }
    return measured, bool(bias.mean() >= 0.10)


CLAIMS = [
    Claim(
        "capability_without_alignment",
        "Pre-trained on the web, the model fits its corpus and writes the corpus's mistakes: "
        "capable, not aligned.",
        "The course: capability is how well a model maximizes its objective; GPT-3 produces "
        "text not consistent with human intent.",
        "its sampled error rate within 0.05 of the corpus's share of wrong answers, and its loss "
        "on held-out corpus text within 0.05 nats per answer token of the corpus's entropy floor",
        _capability_without_alignment,
        headline=("sampled error", "corpus wrong", "loss above the floor"),
    ),
    Claim(
        "sft_aligns",
        "SFT on a small set of human labels makes the model's sampled answers right more often.",
        "The course: SFT fine-tunes on high-quality, pre-labeled output data by humans.",
        "mean sampled accuracy, teacher minus pre-trained model, >= 0.10",
        _sft_aligns,
        headline=("gain",),
    ),
    Claim(
        "human_beats_dsft",
        "The distilled student stays below its teacher and below the same student trained on "
        "human labels.",
        "The course: the student model does not ever reach the performance of the parent "
        "model; training on human feedback > dSFT.",
        "mean greedy accuracy: teacher >= dSFT student + 0.02, and human-labeled student >= dSFT "
        "student + 0.03",
        _human_beats_dsft,
        headline=("teacher - dSFT", "human-labeled - dSFT"),
    ),
    Claim(
        "judge_bias",
        "A judge that is the teacher favours the student distilled from it.",
        "The course: GPT-4 as the evaluator is biased towards models derived from itself "
        "(Tunstall et al. 2023, Zephyr, on MT-Bench).",
        "the dSFT student's mean win rate over the human-labeled student by the teacher's "
        "likelihood >= its ground-truth win rate + 0.10",
        _judge_bias,
        headline=("teacher-judge", "ground truth"),
    ),
]


# --- plots -----------------------------------------------------------------------------


def plot_alignment_capability(tables):
    floor = tables["pretrained"]["entropy_floor"].iloc[0]
    figure, axis = plt.subplots(figsize=(6.5, 4.5))
    mean_points(axis, every_model(tables), "corpus_loss", "sampled", "model", MODELS)
    axis.axvline(floor, color="gray", linestyle="--", label="the corpus's entropy floor")
    axis.set(
        xlabel="loss on held-out corpus text (nats per answer token): capability, lower is better",
        ylabel="sampled accuracy (test): alignment",
        title="Alignment against capability",
    )
    axis.legend(fontsize=8)
    axis.grid(alpha=0.3)
    return figure


def plot_win_rates(tables):
    judge = tables["judge"]
    figure, axis = plt.subplots(figsize=(5, 4))
    means = [judge["judge_win_rate"].mean(), judge["truth_win_rate"].mean()]
    spreads = [judge["judge_win_rate"].std(), judge["truth_win_rate"].std()]
    axis.bar(
        ["teacher-judge", "ground truth"],
        means,
        yerr=spreads if len(judge) > 1 else None,
        capsize=4,
        color=["C1", "C2"],
    )
    axis.axhline(0.5, color="gray", linestyle="--", linewidth=1)
    axis.set(
        ylim=(0, 1),
        ylabel="dSFT student's win rate over the human-labeled student",
        title="Who judges decides who wins",
    )
    axis.grid(alpha=0.3, axis="y")
    return figure


PLOTS = {
    "alignment_capability.png": plot_alignment_capability,
    "win_rates.png": plot_win_rates,
}
