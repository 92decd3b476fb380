"""Learning from preferences: Direct Preference Optimization (Rafailov et al. 2023).

Given pairs of responses to the same prompt, one preferred (`y_w`, "chosen") and one not
(`y_l`, "rejected"), DPO trains the policy `pi` directly, with no reward model and no
reinforcement learning, against a frozen reference `pi_ref` (the model it starts from):

    L = -log sigmoid(beta * [(log pi(y_w) - log pi_ref(y_w)) - (log pi(y_l) - log pi_ref(y_l))])

`beta * (log pi(y) - log pi_ref(y))` is the reward the policy implicitly assigns to `y`;
the loss is the Bradley-Terry likelihood of the preferences under those rewards. Its
optimum, where every pair is covered, is `pi*(y) ~ pi_ref(y) exp(r(y) / beta)`: the
policy of RLHF's KL-regularized objective. A small `beta` lets the policy drift far
from the reference for reward; a large one holds it close.

Portable by construction: the reference is frozen, so its log-probabilities are computed
once, before training (`reference_log_probs`), and given as the targets. The trained
Keras model outputs the policy's log-probabilities of each pair, `(batch, 2)` (chosen,
rejected), and `DPOLoss` compares the two; a plain `compile` and `fit` train it, on any
backend:

    model = build_pair_model(policy, sequence_length)
    pairs = pair_inputs(chosen, rejected, answer_mask)
    targets = reference_log_probs(reference, pairs)
    model.compile(keras.optimizers.Adam(1e-4), DPOLoss(beta=0.1), metrics=dpo_metrics(0.1))
    model.fit(pairs, targets)

`dpo_metrics` are the numbers TRL's `DPOTrainer` logs: the mean chosen and rejected
rewards, the reward accuracy (how often the chosen one is rewarded more) and the margin.
At the first step, when the policy is the reference, the loss is exactly `ln 2`.

`BanditPolicy` is the smallest policy there is, a distribution over a few responses, for
which the expected loss over every pair and its optimum are known in closed form
(`all_pairs`, `optimal_policy`).
"""

import keras
import numpy as np

from zoo.language_model import sequence_log_prob, token_log_probs


def implicit_rewards(y_true, y_pred, beta):
    """`beta * (log pi - log pi_ref)` of each response, `(batch, 2)`: chosen, rejected."""
    return beta * (y_pred - keras.ops.cast(y_true, y_pred.dtype))


def _margin(y_true, y_pred, beta):
    rewards = implicit_rewards(y_true, y_pred, beta)
    return rewards[:, 0] - rewards[:, 1]


@keras.saving.register_keras_serializable(package="zoo")
class DPOLoss(keras.losses.Loss):
    """The DPO loss. `y_true`: the reference's log-probabilities of (chosen, rejected),
    `(batch, 2)`; `y_pred`: the policy's."""

    def __init__(self, beta=0.1, name="dpo", reduction="sum_over_batch_size", dtype=None):
        if not beta > 0:
            raise ValueError(f"beta must be positive, got {beta}")
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.beta = float(beta)

    def call(self, y_true, y_pred):
        return -keras.ops.log_sigmoid(_margin(y_true, y_pred, self.beta))

    def get_config(self):
        return {**super().get_config(), "beta": self.beta}


def chosen_reward(y_true, y_pred, beta):
    return implicit_rewards(y_true, y_pred, beta)[:, 0]


def rejected_reward(y_true, y_pred, beta):
    return implicit_rewards(y_true, y_pred, beta)[:, 1]


def reward_accuracy(y_true, y_pred, beta):
    return keras.ops.cast(_margin(y_true, y_pred, beta) > 0, "float32")


def reward_margin(y_true, y_pred, beta):
    return _margin(y_true, y_pred, beta)


def dpo_metrics(beta):
    """What TRL's DPOTrainer logs, as Keras metrics: `rewards_chosen`, `rewards_rejected`,
    `rewards_accuracy`, `rewards_margin` (means over the examples seen)."""
    return [
        keras.metrics.MeanMetricWrapper(function, name=name, beta=beta)
        for name, function in (
            ("rewards_chosen", chosen_reward),
            ("rewards_rejected", rejected_reward),
            ("rewards_accuracy", reward_accuracy),
            ("rewards_margin", reward_margin),
        )
    ]


# --- a language model's log-probabilities of a pair ----------------------------------


@keras.saving.register_keras_serializable(package="zoo")
class SequenceLogProb(keras.layers.Layer):
    """`log p(text)` summed over the tokens `scored` marks (1, else 0):
    `call(logits, tokens, scored)` with a language model's logits of `tokens` (each
    position's logits predict the next token; the last position's are not used). Returns
    `(batch, 1)`. (Not `mask`: Keras keeps that argument name for its own masking.)"""

    def call(self, logits, tokens, scored):
        per_token = token_log_probs(logits[:, :-1], tokens[:, 1:])
        scored = keras.ops.cast(scored[:, 1:], per_token.dtype)
        return keras.ops.sum(per_token * scored, axis=-1, keepdims=True)

    def compute_output_shape(self, logits_shape, tokens_shape, scored_shape):
        return (logits_shape[0], 1)


@keras.saving.register_keras_serializable(package="zoo")
class Regroup(keras.layers.Layer):
    """Reshapes every example to `shape`, the batch taking up the rest: `(batch, 2,
    length)` to `(2 * batch, length)` with `shape=(length,)`, and back with `(2,)`."""

    def __init__(self, shape, **kwargs):
        super().__init__(**kwargs)
        self.shape = tuple(shape)

    def call(self, x):
        return keras.ops.reshape(x, (-1, *self.shape))

    def compute_output_shape(self, input_shape):
        return (None, *self.shape)

    def get_config(self):
        return {**super().get_config(), "shape": self.shape}


def build_pair_model(policy, length):
    """A Functional model that runs `policy` (a language model: tokens to logits) on both
    texts of every pair, in one batch, and outputs their log-probabilities, `(batch, 2)`:
    chosen, rejected. Training it trains `policy`'s weights, which it shares.

    Inputs, a dict (`pair_inputs` makes it): `tokens`, `(batch, 2, length)` token ids,
    chosen then rejected; `scored`, the same shape, 1 on the tokens scored (the answer's).
    """
    tokens = keras.Input((2, length), dtype="int32", name="tokens")
    scored = keras.Input((2, length), dtype="float32", name="scored")
    texts, marks = Regroup((length,))(tokens), Regroup((length,))(scored)
    log_probs = SequenceLogProb(name="sequence_log_prob")(policy(texts), texts, marks)
    outputs = Regroup((2,), name="log_probs")(log_probs)
    return keras.Model({"tokens": tokens, "scored": scored}, outputs, name="preference_pairs")


def pair_inputs(chosen, rejected, chosen_scored, rejected_scored=None):
    """The inputs of `build_pair_model` from the chosen and rejected texts' token ids and
    the marks of their scored tokens (`rejected_scored` defaults to `chosen_scored`)."""
    rejected_scored = chosen_scored if rejected_scored is None else rejected_scored
    return dict(
        tokens=np.stack([chosen, rejected], axis=1).astype("int32"),
        scored=np.stack([chosen_scored, rejected_scored], axis=1).astype("float32"),
    )


def pair_policy(pair_model):
    """The language model inside a `build_pair_model` model: the policy it trains."""
    return next(layer for layer in pair_model.layers if isinstance(layer, keras.Model))


def reference_log_probs(reference, pairs):
    """The frozen reference's log-probabilities of each pair (`pair_inputs`), `(n, 2)`:
    DPO's targets."""
    tokens, scored = pairs["tokens"], pairs["scored"]
    flat = sequence_log_prob(
        reference, tokens.reshape(-1, tokens.shape[-1]), scored.reshape(-1, scored.shape[-1])
    )
    return flat.reshape(-1, 2).astype("float32")


# --- a bandit: a few responses, and the closed form ----------------------------------


@keras.saving.register_keras_serializable(package="zoo")
class BanditPolicy(keras.layers.Layer):
    """A distribution over `responses` choices, `softmax(logits)`, starting at
    `initial_log_probs` (the reference, say). `call(indices)` gives the log-probabilities
    of the indexed responses, any shape."""

    def __init__(self, responses, initial_log_probs=None, **kwargs):
        super().__init__(**kwargs)
        self.responses = int(responses)
        self.initial_log_probs = (
            None if initial_log_probs is None else [float(v) for v in initial_log_probs]
        )

    def build(self, input_shape):
        initial = self.initial_log_probs
        self.logits = self.add_weight(
            shape=(self.responses,),
            initializer="zeros" if initial is None else keras.initializers.Constant(initial),
            name="logits",
        )

    def log_probs(self):
        return keras.ops.log_softmax(self.logits)

    def call(self, indices):
        return keras.ops.take(self.log_probs(), keras.ops.cast(indices, "int32"))

    def get_config(self):
        return {
            **super().get_config(),
            "responses": self.responses,
            "initial_log_probs": self.initial_log_probs,
        }


def all_pairs(reference, reward):
    """Every ordered pair `(chosen, rejected)` of distinct responses, with its weight in
    DPO's expected loss: the chance that two responses drawn from `reference` are `i` and
    `j`, times the Bradley-Terry probability `sigmoid(reward[i] - reward[j])` that `i` is
    preferred. Returns `(pairs (m, 2), weights (m,))`; the weights sum to the chance that
    two draws differ (pairs of equal responses carry no preference)."""
    reference, reward = np.asarray(reference, "float64"), np.asarray(reward, "float64")
    i, j = np.where(~np.eye(len(reference), dtype=bool))
    drawn = 2 * reference[i] * reference[j]  # i then j, or j then i
    weights = drawn / (1 + np.exp(-(reward[i] - reward[j])))
    return np.stack([i, j], axis=1).astype("int32"), weights


def optimal_policy(reference, reward, beta):
    """DPO's (and KL-regularized RLHF's) optimum: `pi*(y) ~ pi_ref(y) exp(r(y) / beta)`."""
    logits = np.log(np.asarray(reference, "float64")) + np.asarray(reward, "float64") / beta
    logits -= logits.max()
    return np.exp(logits) / np.exp(logits).sum()


def kl_divergence(p, q):
    """`KL(p || q)` of two discrete distributions, in nats."""
    p, q = np.asarray(p, "float64"), np.asarray(q, "float64")
    support = p > 0
    return float(np.sum(p[support] * (np.log(p[support]) - np.log(q[support]))))
