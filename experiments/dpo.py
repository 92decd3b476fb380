"""DPO: aligning a language model with preferences, against a frozen reference.

The course: "Direct Preference Optimization (DPO): aligning models in finetuning with
human preference as an alternative to RLHF"; "Capability: how well a model can maximize
its objective function. Alignment: how well the model does what we want vs what it was
trained to do."

Reproduces Rafailov et al. 2023, "Direct preference optimization: your language model is
secretly a reward model": the loss `-log sigmoid(beta [(log pi(y_w) - log pi_ref(y_w)) -
(log pi(y_l) - log pi_ref(y_l))])` (`zoo.preference.DPOLoss`) has the optimum of
KL-regularized RLHF, `pi* ~ pi_ref exp(r / beta)`, and `beta` trades reward for drift from
the reference (their Figure 2, the reward-KL frontier).

Part 1, a bandit with a known answer: six responses, a reference policy and a reward
drawn once (seed 0 of NumPy, the same in every run), Bradley-Terry preferences from that
reward, and DPO trained on the exact expected loss over every pair
(`zoo.preference.all_pairs`: full-batch Adam, 1,500 steps) at beta 0.1, 0.3, 1 and 3.

Part 2, the language model (`zoo.language_model`, two blocks, d_model 32 to fit the
budget): pre-trained on a "web" corpus of reversed two-digit additions in which 30% of
the answers are wrong (`zoo.arithmetic.corrupt_answers`: the carry dropped, or off by one
where there is no carry), 600 steps of 128, Adam 3e-3. It samples four answers at
temperature 1 to each of 2,000 fresh prompts; a labeler who knows arithmetic prefers a
right answer to a wrong one, giving a pair wherever the four hold both. From the
pre-trained model, frozen as the reference, DPO trains at each beta (Adam 1e-4, 200
steps of 64 pairs); continued SFT trains on the preferred answers alone (the same steps,
rate and texts per step: 128 answers, where DPO reads 64 pairs). Every model is scored on 500 test prompts: sampled accuracy (four answers each
at temperature 1, as a chat model samples), greedy accuracy, KL to the reference (the mean
of `log pi(y) - log pi_ref(y)` over its own samples: a Monte Carlo estimate of the
answers' KL), and the corpus loss (capability: the loss per answer token on held-out
corpus text, wrong answers included). The beta for `dpo_aligns` is chosen by sampled
accuracy on 500 validation prompts.

    python -m experiments run dpo              # 79-102 s on TensorFlow, 73 on JAX; 3 seeds
    python experiments/dpo.py --quick          # 16-17 s on TensorFlow, 9 on JAX; 1 seed
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

from experiments.claims import Claim, NotMeasured, mean_std, mean_std_table
from experiments.plots import mean_points
from experiments.progress import Progress
from experiments.settings import (
    at_most,
    distinct,
    fraction,
    positive,
    seeds_setting,
    setting,
    validate,
)
from zoo import preference
from zoo.arithmetic import (
    Arithmetic,
    answer_log_probs,
    answer_loss,
    answer_mask,
    corrupt_answers,
    fit_answers,
    sample_answers,
)
from zoo.language_model import CharTokenizer, build_language_model
from zoo.training import Trainer, loaded

TITLE = "DPO: aligning a language model with preferences"
CONCEPT = (
    "Direct Preference Optimization trains on pairs of answers, one preferred, against a "
    "frozen reference: no reward model, no reinforcement learning."
)
CONCLUSION = (
    "On the bandit, DPO reaches its closed-form optimum at every beta (KL to pi* at most "
    "1e-7) and traces the paper's reward-KL frontier: as beta falls from 3 to 0.1, the "
    "expected reward rises from 0.46 to 0.77 and the KL to the reference from 0.007 to "
    "0.78. On the language model, DPO on 1,500 pairs of its own samples raises sampled "
    "accuracy from 0.63 to 0.85 at beta 1 (chosen on validation; +0.22 +/- 0.02) and at "
    "beta 3 alike, at a KL of 0.59 and 0.20: the larger beta drifts less but gains no less, "
    "and beta 0.1 does not trade more drift for more reward, it collapses (0.24, KL 5.5). "
    "There DPO lowers even the chosen answers' likelihood (implicit reward -0.25 while 92% "
    "of the pairs are ordered right), the likelihood displacement of pairs that differ in "
    "a token or two; so the frontier's trade reproduced on the bandit, not on the model "
    "beyond beta 1. Alignment cost capability: the corpus loss rose from 0.33 to 0.57 for "
    "DPO at beta 1 (0.37 at beta 3) and for SFT on the preferred answers, which aligned "
    "more (0.94) at less drift (0.40) than DPO: with a labeler who knows the answer, the "
    "chosen answers are right, and imitating them suffices."
)

BANDIT_BETAS = (0.1, 0.3, 1.0, 3.0)
BANDIT_STEPS = 1500
START, SFT = "pre-trained (web corpus)", "SFT on preferred answers"
SAMPLES = 4  # answers sampled per prompt, for the pairs and for scoring


@dataclasses.dataclass(frozen=True)
class Config:
    betas: tuple[float, ...] = setting(
        (0.1, 1.0, 3.0), "DPO's beta for the language model", positive, at_most(100), distinct
    )
    corpus_error: float = setting(0.3, "share of wrong answers in the web corpus", fraction)
    d_model: int = setting(32, "width of the language model", positive, at_most(512))
    pretrain_steps: int = setting(
        600, "steps of pre-training on the web corpus, a multiple of steps", positive
    )
    steps: int = setting(200, "steps of DPO, and of SFT", positive)
    learning_rate: float = setting(1e-4, "Adam's learning rate for DPO and SFT", positive)
    preference_prompts: int = setting(2000, "prompts sampled for preference pairs", positive)
    seeds: tuple[int, ...] = seeds_setting()

    def __post_init__(self):
        validate(self)
        if self.preference_prompts + VALIDATION + TEST > 10_000 // 2:
            raise ValueError(
                f"preference_prompts must leave half of the 10,000 problems for the corpus, "
                f"got {self.preference_prompts}"
            )
        if self.pretrain_steps % self.steps:
            raise ValueError(
                f"pretrain_steps must be a multiple of steps ({self.steps}), got {self.pretrain_steps}"
            )


# Quick: one seed, one beta, half the pre-training and of the steps, a quarter of the pairs.
QUICK = dict(seeds=(0,), betas=(1.0,), pretrain_steps=300, steps=100, preference_prompts=500)

TASK = Arithmetic(2, "+")
TOKENIZER = CharTokenizer(TASK.alphabet)
VALIDATION = TEST = 500
# Pre-training and SFT take the same batches and steps per call: one compiled model.
BATCH, PAIRS = 128, 64  # texts per step of pre-training and SFT; pairs (of texts) of DPO


# --- part 1: the bandit -------------------------------------------------------------


def bandit():
    """The bandit: a reference policy over six responses and their rewards."""
    rng = np.random.default_rng(0)
    return rng.dirichlet(np.ones(6)), rng.uniform(0, 1, 6)


def train_bandit(betas):
    """DPO on the exact expected loss over every pair of the bandit's responses, one
    policy per beta, all trained at once (one model, a loss per beta: each policy's
    gradient is its own loss's), full-batch, each pair weighted by its probability; the
    learned policies, as probabilities."""
    reference, reward = bandit()
    pairs, weights = preference.all_pairs(reference, reward)

    def build():
        policies = [
            preference.BanditPolicy(len(reference), np.log(reference), name=f"policy_{i}")
            for i in range(len(betas))
        ]
        inputs = keras.Input((2,), dtype="int32")
        return keras.Model(inputs, [policy(inputs) for policy in policies])

    model, _ = Trainer().fit(
        build,
        keras.optimizers.Adam(0.05),
        [preference.DPOLoss(beta) for beta in betas],
        pairs,
        (np.log(reference)[pairs].astype("float32"),) * len(betas),
        batch_size=len(pairs),
        steps_per_epoch=BANDIT_STEPS,
        seed=0,
        sample_weight=weights,
    )
    return [
        np.exp(keras.ops.convert_to_numpy(policy.log_probs()).astype("float64"))
        for policy in model.layers[1:]
    ]


def bandit_rows():
    reference, reward = bandit()
    rows = []
    for beta, learned in zip(BANDIT_BETAS, train_bandit(BANDIT_BETAS), strict=True):
        optimum = preference.optimal_policy(reference, reward, beta)
        rows.append(
            dict(
                beta=beta,
                kl_to_optimum=preference.kl_divergence(learned, optimum),
                reward=float(learned @ reward),
                kl_to_reference=preference.kl_divergence(learned, reference),
                optimum_reward=float(optimum @ reward),
                optimum_kl_to_reference=preference.kl_divergence(optimum, reference),
            )
        )
    return rows


# --- part 2: the language model -----------------------------------------------------


def language_model(config):
    return build_language_model(TOKENIZER.vocab_size, TASK.length, d_model=config.d_model)


def preference_pairs(model, a, b, seed):
    """The labeler's pairs: for each prompt whose samples hold a right and a wrong answer,
    the first right one (chosen) and the first wrong one (rejected)."""
    tokens, correct = sample_answers(model, TASK, TOKENIZER, a, b, SAMPLES, seed=seed)
    correct = correct.reshape(len(a), SAMPLES)
    tokens = tokens.reshape(len(a), SAMPLES, -1)
    both = np.flatnonzero(correct.any(axis=1) & ~correct.all(axis=1))
    chosen = tokens[both, correct[both].argmax(axis=1)]
    rejected = tokens[both, (~correct[both]).argmax(axis=1)]
    return chosen, rejected, both


def scores(model, reference, splits, held_out, seed):
    """A model's alignment and capability numbers on the test prompts (and its sampled
    accuracy on the validation prompts, for choosing beta)."""
    (a, b), (a_val, b_val) = splits
    drawn, sampled = sample_answers(model, TASK, TOKENIZER, a, b, SAMPLES, seed=seed)
    drift = answer_log_probs(model, TASK, drawn) - answer_log_probs(reference, TASK, drawn)
    _, greedy = sample_answers(model, TASK, TOKENIZER, a, b, temperature=0.0)
    _, validation = sample_answers(model, TASK, TOKENIZER, a_val, b_val, SAMPLES, seed=seed + 1)
    return dict(
        sampled=float(sampled.mean()),
        greedy=float(greedy.mean()),
        kl=float(drift.mean()),
        corpus_loss=answer_loss(model, TASK, TOKENIZER, a, b, held_out),
        validation_sampled=float(validation.mean()),
    )


def run_seed(trainer, reference, config, seed, progress):
    """One seed's models and their scores; `reference` is given the pre-trained weights."""
    train, validation, pref, test = _splits(config, seed)
    corpus, _ = corrupt_answers(TASK, *train, config.corpus_error, ("dropped_carry",), seed)
    held_out, _ = corrupt_answers(TASK, *test, config.corpus_error, ("dropped_carry",), seed + 1)

    start, _, _ = fit_answers(
        trainer,
        lambda: language_model(config),
        keras.optimizers.Adam(3e-3),
        TASK,
        TOKENIZER,
        train,
        validation,
        batch_size=BATCH,
        max_steps=config.pretrain_steps,
        eval_every=config.steps,
        seed=seed,
        answers=corpus,
    )
    weights = start.get_weights()
    pretrained = loaded(lambda: language_model(config), weights)
    reference.set_weights(weights)  # one model for every seed: its predictions compile once
    score = lambda model: scores(model, reference, (test, validation), held_out, seed)  # noqa: E731
    rows = [
        dict(
            model=START,
            beta=np.nan,
            corpus_wrong=float(np.mean(corpus != TASK.answers(*train))),
            **score(start),
        )
    ]
    progress.done("seed=%d pre-trained: sampled %.3f", seed, rows[0]["sampled"])

    chosen, rejected, kept = preference_pairs(
        reference, *pref, keras.random.SeedGenerator(seed + 2)
    )
    mask = answer_mask(TASK, len(chosen))
    x = preference.pair_inputs(chosen, rejected, mask)
    targets = preference.reference_log_probs(reference, x)

    for beta in config.betas:
        model, history = trainer.fit(
            lambda: preference.build_pair_model(pretrained(), TASK.length),
            keras.optimizers.Adam(config.learning_rate),
            preference.DPOLoss(beta),
            x,
            targets,
            batch_size=PAIRS,
            epochs=1,
            steps_per_epoch=config.steps,
            seed=seed,
            metrics=preference.dpo_metrics(beta),
        )
        # After training, on every training pair: TRL's numbers.
        rewards = preference.implicit_rewards(targets, model.predict_on_batch(x), beta)
        rewards = keras.ops.convert_to_numpy(rewards)
        rows.append(
            dict(
                model=f"DPO beta={beta:g}",
                beta=beta,
                pairs=len(chosen),
                rewards_chosen=float(rewards[:, 0].mean()),
                rewards_rejected=float(rewards[:, 1].mean()),
                reward_accuracy=float((rewards[:, 0] > rewards[:, 1]).mean()),
                dpo_loss=float(history.history["loss"][-1]),
                **score(preference.pair_policy(model)),
            )
        )
        progress.done("seed=%d DPO beta=%g: sampled %.3f", seed, beta, rows[-1]["sampled"])

    a, b = pref[0][kept], pref[1][kept]
    sft, _, _ = fit_answers(
        trainer,
        pretrained,
        keras.optimizers.Adam(config.learning_rate),
        TASK,
        TOKENIZER,
        (a, b),
        validation,
        batch_size=BATCH,
        max_steps=config.steps,
        eval_every=config.steps,
        seed=seed,
        answers=TASK.read_answers(TOKENIZER.decode(chosen)),
    )
    rows.append(dict(model=SFT, beta=np.nan, pairs=len(chosen), **score(sft)))
    progress.done("seed=%d SFT: sampled %.3f", seed, rows[-1]["sampled"])
    return [dict(seed=seed, **row) for row in rows]


def _splits(config, seed):
    """Corpus, validation, preference and test problems, disjoint, drawn by `seed`."""
    return TASK.held_out((VALIDATION, config.preference_prompts, TEST), seed)


def run(config):
    trainer = Trainer()
    progress = Progress("dpo", 1 + len(config.seeds) * (2 + len(config.betas)))
    bandit_table = pd.DataFrame(bandit_rows())
    progress.done("bandit: largest KL to the optimum %.2g", bandit_table["kl_to_optimum"].max())
    rows, reference = [], language_model(config)
    for seed in config.seeds:
        rows += run_seed(trainer, reference, config, seed, progress)
    columns = ["seed", "model", "beta"]
    models = pd.DataFrame(rows)
    return {
        "bandit": bandit_table,
        "models": models[columns + [c for c in models if c not in columns]],
    }


# --- summaries -------------------------------------------------------------------------


def summarize(tables):
    models = mean_std_table(
        tables["models"],
        ["model"],
        {
            "sampled accuracy (test)": "sampled",
            "greedy accuracy (test)": "greedy",
            "KL to the reference": "kl",
            "corpus loss (capability)": "corpus_loss",
            "sampled accuracy (validation)": "validation_sampled",
        },
    )
    return {"The bandit (exact expected loss)": tables["bandit"], "The language model": models}


def by_model(tables, column):
    return tables["models"].groupby("model", sort=False)[column].mean()


def dpo_rows(tables):
    models = tables["models"]
    rows = models[models["model"].str.startswith("DPO")]
    if rows.empty:
        raise NotMeasured("the run has no DPO model")
    return rows


def chosen_beta(tables):
    """The DPO model with the best mean sampled accuracy on the validation prompts."""
    return dpo_rows(tables).groupby("model", sort=False)["validation_sampled"].mean().idxmax()


# --- claims ----------------------------------------------------------------------------


def _bandit_optimum(tables):
    worst = float(tables["bandit"]["kl_to_optimum"].max())
    return {"largest KL(pi || pi*)": worst}, worst <= 1e-3


def _bandit_frontier(tables):
    rows = tables["bandit"].sort_values("beta", ascending=False)  # beta falling
    rises = bool(
        np.all(np.diff(rows["reward"]) > 0) and np.all(np.diff(rows["kl_to_reference"]) > 0)
    )
    measured = {
        "betas": " > ".join(f"{beta:g}" for beta in rows["beta"]),
        "expected reward": " < ".join(f"{r:.3f}" for r in rows["reward"]),
        "KL to the reference": " < ".join(f"{kl:.3f}" for kl in rows["kl_to_reference"]),
    }
    return measured, rises


def _dpo_aligns(tables):
    name = chosen_beta(tables)
    models = tables["models"]
    start = models[models["model"] == START].set_index("seed")["sampled"]
    dpo = models[models["model"] == name].set_index("seed")["sampled"]
    gain = dpo - start
    measured = {
        "chosen on validation": name,
        "gain": mean_std(gain),
        "pre-trained": mean_std(start),
        "DPO": mean_std(dpo),
    }
    return measured, bool(gain.mean() >= 0.05)


def _beta_holds_close(tables):
    rows = dpo_rows(tables)
    if rows["beta"].nunique() < 2:
        raise NotMeasured("the run has fewer than two betas")
    means = rows.groupby("beta")[["kl", "sampled"]].mean().sort_index()
    start = by_model(tables, "sampled")[START]
    drifts_less = bool(np.all(np.diff(means["kl"]) < 0))
    gains_less = bool(np.all(np.diff(means["sampled"]) < 0))
    measured = {
        f"beta={beta:g}": f"KL {kl:.2f}, gain {acc - start:+.3f}"
        for beta, kl, acc in zip(means.index, means["kl"], means["sampled"])
    }
    measured["larger beta drifts less"] = drifts_less
    measured["larger beta gains less"] = gains_less
    return measured, drifts_less and gains_less


def _alignment_tax(tables):
    name = chosen_beta(tables)
    loss = by_model(tables, "corpus_loss")
    accuracy = by_model(tables, "sampled")
    measured = {
        name: f"corpus loss {loss[name] - loss[START]:+.3f}, sampled {accuracy[name] - accuracy[START]:+.3f}",
        SFT: f"corpus loss {loss[SFT] - loss[START]:+.3f}, sampled {accuracy[SFT] - accuracy[START]:+.3f}",
        "pre-trained corpus loss": float(loss[START]),
    }
    return measured, bool(loss[name] > loss[START] and loss[SFT] > loss[START])


def _displacement(tables):
    rows = dpo_rows(tables)
    smallest = rows[rows["beta"] == rows["beta"].min()]
    chosen = mean_std(smallest["rewards_chosen"])
    measured = {
        "beta": float(smallest["beta"].iloc[0]),
        "chosen reward": chosen,
        "rejected reward": mean_std(smallest["rewards_rejected"]),
        "reward accuracy": mean_std(smallest["reward_accuracy"]),
    }
    return measured, bool(chosen["mean"] < 0)


RAFAILOV = "Rafailov et al. 2023, Direct preference optimization"
CLAIMS = [
    Claim(
        "bandit_optimum",
        "On every pair of a bandit, DPO reaches its closed-form optimum pi* ~ pi_ref exp(r / beta).",
        f"{RAFAILOV}, Sec. 4 and Appendix A.1.",
        "KL(pi || pi*) <= 1e-3 at each beta in {0.1, 0.3, 1, 3}",
        _bandit_optimum,
        kind="check",
    ),
    Claim(
        "bandit_frontier",
        "As beta falls, the bandit's policy collects more reward and drifts further from the reference.",
        f"{RAFAILOV}, Figure 2: the reward-KL frontier.",
        "from beta 3 down to 0.1, the learned policy's expected reward and KL(pi || pi_ref) both rise",
        _bandit_frontier,
        headline=("expected reward", "KL to the reference"),
    ),
    Claim(
        "dpo_aligns",
        "DPO on a labeler's preferences raises how often the model's sampled answers are right.",
        f"{RAFAILOV}; the course: DPO aligns a model with human preference.",
        "the beta best on validation: mean test sampled accuracy minus the pre-trained model's >= 0.05",
        _dpo_aligns,
        headline=("chosen on validation", "gain"),
    ),
    Claim(
        "beta_holds_close",
        "A larger beta holds the model closer to its reference and gains less.",
        f"{RAFAILOV}: beta controls the deviation from the reference policy.",
        "over the betas in increasing order: the mean KL to the reference falls, and so does the "
        "mean sampled accuracy",
        _beta_holds_close,
        headline=("larger beta drifts less", "larger beta gains less"),
    ),
    Claim(
        "alignment_tax",
        "Alignment costs capability: the aligned models fit the web corpus worse than the pre-trained one.",
        "The course: capability is how well a model maximizes its objective, alignment how well "
        "it does what we want.",
        "the corpus loss of DPO (the beta chosen on validation) and of SFT above the pre-trained model's",
        _alignment_tax,
    ),
    Claim(
        "likelihood_displacement",
        "At the smallest beta, DPO lowers even the chosen answers' likelihood below the reference's.",
        "Pal et al. 2024, Smaug: fixing failure modes of preference optimisation with DPO-Positive "
        "(pairs that differ in a few tokens); Razin et al. 2024, Unintentional unalignment.",
        "mean implicit reward of the chosen answers, beta (log pi - log pi_ref), below 0 on the "
        "training pairs",
        _displacement,
        headline=("chosen reward", "reward accuracy"),
    ),
]


# --- plots -----------------------------------------------------------------------------


def plot_frontier(tables):
    rows = tables["bandit"]
    reference, reward = bandit()
    betas = np.geomspace(0.03, 30, 60)
    optima = [preference.optimal_policy(reference, reward, beta) for beta in betas]
    figure, axis = plt.subplots(figsize=(6.5, 4.5))
    axis.plot(
        [preference.kl_divergence(p, reference) for p in optima],
        [p @ reward for p in optima],
        color="gray",
        label="closed form, pi_ref exp(r / beta)",
    )
    axis.scatter(
        rows["kl_to_reference"], rows["reward"], color="C0", zorder=3, label="DPO, learned"
    )
    for _, row in rows.iterrows():
        axis.annotate(
            f"beta={row['beta']:g}",
            (row["kl_to_reference"], row["reward"]),
            fontsize=8,
            xytext=(4, -10),
            textcoords="offset points",
        )
    axis.set(
        xlabel="KL(pi || pi_ref)",
        ylabel="expected reward",
        title="The bandit: reward against drift, as beta falls",
    )
    axis.legend(fontsize=8)
    axis.grid(alpha=0.3)
    return figure


def plot_accuracy_kl(tables):
    figure, axis = plt.subplots(figsize=(6.5, 4.5))
    mean_points(axis, tables["models"], "kl", "sampled", "model")
    axis.set(
        xlabel="KL to the reference (nats per answer)",
        ylabel="sampled accuracy (test)",
        title="Alignment against drift",
    )
    axis.legend(fontsize=8)
    axis.grid(alpha=0.3)
    return figure


PLOTS = {"bandit_frontier.png": plot_frontier, "accuracy_by_kl.png": plot_accuracy_kl}
