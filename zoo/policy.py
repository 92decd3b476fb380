"""Policy learning: REINFORCE, the policy gradient without a Q function.

The course: "Policy Learning - A reinforcement learning technique where the agent learns to
optimize the decision making policy directly without ever having to learn the Q function."

A policy network maps an observation to a score (a logit) for each action, whose softmax
is the probability of taking it. The agent samples its actions from it, plays whole episodes, and then makes the actions that were
followed by much reward more likely (Williams 1992, "Simple statistical gradient-following
algorithms for connectionist reinforcement learning"):

    gradient of J  =  E[ sum_t  A_t * grad log pi(a_t | s_t) ],
    A_t = G_t - b(s_t),   G_t = r_t + gamma r_{t+1} + gamma^2 r_{t+2} + ...  (return-to-go)

`grad log pi(a_t | s_t)` is the gradient of the cross-entropy of the policy's output
against the action it took, with the sign flipped (computed from the logits, as Keras
advises: `from_logits=True` is exact where a probability is tiny, on every backend). So one REINFORCE step is one step of
supervised learning in Keras: the targets are the agent's own actions and each example's
`sample_weight` is its advantage `A_t`; good actions are imitated, bad ones unlearned.
Nothing here estimates the value of an action (a Q function) or bootstraps from one.

The baseline `b` does not change the expected gradient (E[grad log pi] = 0 for any `b`
that does not depend on the action) but can shrink its variance: `"none"` (raw
returns-to-go), `"mean"` (the batch's mean return-to-go), `"value"` (a learned state
value `V(s)`, fitted to the returns-to-go by regression: it only centres the returns, it
is never bootstrapped from) and `"normalized"` (returns-to-go minus their mean, over their
standard deviation, as keras-io's and PyTorch's examples do).

- `build_policy`, `build_value`: the two networks.
- `play(env, act, rng)`: one episode in every copy of a gymnasium vector environment,
  one batched forward pass per step (`act = action_probabilities(policy)`); `Episodes`
  holds them, padded, with a mask.
- `returns_to_go`, `advantages`: the quantities above, in NumPy.
- `Reinforce`: the learner (compile, then one `train_on_batch` per batch of episodes);
  `Reinforce.gradient` gives the gradient estimate of a batch without taking the step.
- `train(env, learner, ...)`: update after every batch of episodes until the mean
  return of the last 100 episodes reaches a target (an environment's "solved") or a
  budget of episodes runs out.
"""

import dataclasses

import keras
import numpy as np

from zoo.distillation import build_logits_mlp
from zoo.training import gradients

BASELINES = ("none", "mean", "value", "normalized")


def build_policy(observation_size, num_actions, hidden_units=(128,), name="policy"):
    """A policy network: observations `(batch, observation_size)` to the logits of the
    `num_actions` actions (their softmax is the policy), through dense ReLU layers."""
    return build_logits_mlp((observation_size,), num_actions, hidden_units, name=name)


def build_value(observation_size, hidden_units=(128,), name="value"):
    """A state-value network: observations to one number, the expected return-to-go."""
    inputs = keras.Input((observation_size,))
    x = inputs
    for units in hidden_units:
        x = keras.layers.Dense(units, activation="relu")(x)
    outputs = keras.layers.Dense(1)(x)
    return keras.Model(inputs, outputs, name=name)


@dataclasses.dataclass
class Episodes:
    """One episode per copy of a vector environment, time-major and padded.

    Attributes:
        observations: `(steps, copies, observation_size)`.
        actions: `(steps, copies)`, integers.
        rewards: `(steps, copies)`, zero after an episode ended.
        alive: `(steps, copies)`, True while the copy's episode is running.
    """

    observations: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray
    alive: np.ndarray

    @property
    def lengths(self):
        """Each episode's number of steps."""
        return self.alive.sum(axis=0)

    @property
    def returns(self):
        """Each episode's total reward (undiscounted): its score."""
        return self.rewards.sum(axis=0)

    def split(self, parts):
        """`parts` batches of the episodes, each of `copies / parts` of them."""
        return [
            Episodes(
                self.observations[:, i], self.actions[:, i], self.rewards[:, i], self.alive[:, i]
            )
            for i in np.array_split(np.arange(self.actions.shape[1]), parts)
        ]


def numpy_forward(model):
    """`model`'s forward pass as a NumPy function, for acting: exact for a chain of
    `Dense` layers (ReLU, softmax or linear), else `model.predict_on_batch`.

    An agent acts one step at a time, and a Keras call on 16 observations costs about half
    a millisecond of dispatch on TensorFlow (0.15 on JAX), 50 times the arithmetic of a
    small policy: thousands of steps per run make that most of a run's time. The NumPy
    copy holds the weights as they are now: make a new one after every update.
    """
    layers = [layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]
    activations = {"relu": lambda x: np.maximum(x, 0), "linear": lambda x: x, "softmax": _softmax}
    plain = all(type(layer) is keras.layers.Dense and not layer.lora_enabled for layer in layers)
    # ... and a chain: each layer reads the one before it (not a model with branches).
    try:
        chained = [model.input, *(layer.output for layer in layers[:-1])]
        plain = plain and all(layer.input is previous for layer, previous in zip(layers, chained))
    except (AttributeError, ValueError):  # a layer called more than once, or not yet built
        plain = False
    names = [keras.activations.serialize(layer.activation) for layer in layers] if plain else []
    if not plain or any(name not in activations for name in names):
        return lambda x: keras.ops.convert_to_numpy(model.predict_on_batch(x))
    weights = [
        (layer.kernel.numpy(), layer.bias.numpy() if layer.use_bias else 0.0, activations[name])
        for layer, name in zip(layers, names)
    ]

    def forward(x):
        for kernel, bias, activation in weights:
            x = activation(x @ kernel + bias)
        return x

    return forward


def _softmax(x):
    x = np.exp(x - x.max(axis=-1, keepdims=True))
    return x / x.sum(axis=-1, keepdims=True)


def action_probabilities(policy):
    """The policy's action probabilities as a NumPy function of observations, the softmax
    of its logits (`numpy_forward`): what `play` acts on. Make a new one after every
    update."""
    logits = numpy_forward(policy)
    return lambda x: _softmax(logits(x))


def action_loss(actions, logits):
    """Each step's `-log pi(a_t | s_t)`, from the policy's logits: the loss a REINFORCE
    step weights by the advantages."""
    return keras.losses.sparse_categorical_crossentropy(actions, logits, from_logits=True)


def play(env, act, rng, greedy=False, max_steps=None):
    """Plays one episode in every copy of the vector environment `env`.

    All copies step together: one batched forward pass of `act` (a function from
    observations to action probabilities, such as `action_probabilities(policy)`; None: actions
    drawn uniformly at random) gives every copy its next action, sampled from the
    probabilities with `rng` (a `numpy.random.Generator`), or its most likely action if
    `greedy`. A copy whose episode has ended (terminated, or truncated by a time limit)
    keeps stepping, as gymnasium's vector environments reset it on their own, but what
    it does is masked out, until every copy has finished, or `max_steps` steps have been
    played (an environment without a time limit).
    """
    observation, _ = env.reset()
    copies = observation.shape[0]
    space = env.single_action_space
    alive = np.ones(copies, bool)
    steps = []
    while alive.any() and (max_steps is None or len(steps) < max_steps):
        if act is None:
            probabilities = np.full((copies, space.n), 1.0 / space.n)
        else:
            probabilities = act(observation)
        if greedy:
            action = probabilities.argmax(axis=1)
        else:  # inverse-CDF sampling, one uniform number per copy
            cumulative = np.cumsum(probabilities, axis=1)
            draws = rng.random(copies)[:, None] * cumulative[:, -1:]
            action = np.minimum((draws >= cumulative).sum(axis=1), space.n - 1)
        following, reward, terminated, truncated, _ = env.step(action + space.start)
        steps.append((observation, action, np.where(alive, reward, 0.0), alive.copy()))
        alive &= ~(terminated | truncated)
        observation = following
    observations, actions, rewards, masks = (np.stack(part) for part in zip(*steps))
    return Episodes(observations.astype("float32"), actions, rewards.astype("float32"), masks)


def returns_to_go(rewards, alive, gamma):
    """`G_t = r_t + gamma G_{t+1}` within each episode, time-major `(steps, copies)`;
    zero where the episode is over."""
    returns = np.zeros(rewards.shape, "float64")
    following = np.zeros(rewards.shape[1:], "float64")
    for t in reversed(range(len(rewards))):
        following = np.where(alive[t], rewards[t] + gamma * following, 0.0)
        returns[t] = following
    return returns


def advantages(returns, alive, baseline, values=None):
    """The weight of each step's log-probability in the gradient, `G_t - b(s_t)`.

    Args:
        returns: returns-to-go, `(steps, copies)`.
        alive: the mask of real steps; padding gets weight 0.
        baseline: one of `BASELINES`.
        values: the value network's `V(s_t)`, same shape, for the "value" baseline.
    """
    if baseline not in BASELINES:
        raise ValueError(f"baseline must be one of {BASELINES}, got {baseline!r}")
    real = returns[alive]
    if baseline == "none":
        weights = returns
    elif baseline == "mean":
        weights = returns - real.mean()
    elif baseline == "normalized":
        weights = (returns - real.mean()) / (real.std() + 1e-8)
    else:
        if values is None:
            raise ValueError("the 'value' baseline needs the value network's values")
        weights = returns - values
    return np.where(alive, weights, 0.0)


class Reinforce:
    """The REINFORCE learner: one gradient step per batch of episodes.

    The policy is compiled with `action_loss`, the cross-entropy of its logits; a step is
    `policy.train_on_batch(states, actions, sample_weight=advantages)`. Keras averages the
    weighted losses over all rows of the batch, padding included, so every batch is padded
    to the same `horizon` rows per episode: one traced step serves every batch, and the
    loss is Williams's sum over each episode's steps, averaged over the episodes, divided
    by the constant `horizon`.

    Args:
        policy: a model from observations to action logits (`build_policy`).
        optimizer: a new Keras optimizer for the policy.
        gamma: the discount of the returns-to-go.
        baseline: one of `BASELINES`.
        value: with the "value" baseline, the state-value model (`build_value`).
        value_optimizer: its optimizer; it is fitted to the returns-to-go by mean squared
            error, `value_steps` steps per batch, after the batch's advantages are taken
            from it (a baseline fitted to the batch's own returns would depend on the
            actions taken, and bias the gradient).
        horizon: the most steps an episode can have (an environment's time limit).

    Example:
        >>> env = gymnasium.make_vec("CartPole-v1", num_envs=16, vectorization_mode="vector_entry_point")
        >>> learner = Reinforce(build_policy(4, 2), keras.optimizers.Adam(0.01), horizon=500)
        >>> history = train(env, learner, np.random.default_rng(0), max_episodes=1500, target=475)
    """

    def __init__(
        self,
        policy,
        optimizer,
        *,
        gamma=0.99,
        baseline="mean",
        value=None,
        value_optimizer=None,
        value_steps=5,
        horizon,
    ):
        if baseline not in BASELINES:
            raise ValueError(f"baseline must be one of {BASELINES}, got {baseline!r}")
        if (baseline == "value") != (value is not None):
            raise ValueError("a value network is given with the 'value' baseline, and only then")
        if not 0.0 <= gamma <= 1.0:
            raise ValueError(f"gamma must be in [0, 1], got {gamma}")
        self.policy, self.value = policy, value
        self.gamma, self.baseline, self.horizon, self.value_steps = (
            gamma,
            baseline,
            horizon,
            value_steps,
        )
        policy.compile(optimizer, action_loss)
        if value is not None:
            value.compile(value_optimizer or keras.optimizers.Adam(1e-2), "mean_squared_error")

    def _rows(self, episodes):
        """States, actions, returns-to-go and the mask as flat rows, padded to `horizon`
        steps per episode."""
        padding = self.horizon - len(episodes.actions)
        if padding < 0:
            raise ValueError(f"an episode ran {len(episodes.actions)} steps, past the horizon")

        def pad(array):
            widths = [(0, padding)] + [(0, 0)] * (array.ndim - 1)
            padded = np.pad(array, widths)
            return padded.reshape(-1, *array.shape[2:])

        returns = returns_to_go(episodes.rewards, episodes.alive, self.gamma)
        return (
            pad(episodes.observations),
            pad(episodes.actions).astype("int32"),
            pad(returns).astype("float32"),
            pad(episodes.alive),
        )

    def _weights(self, states, returns, alive, baseline):
        values = None
        if baseline == "value":
            values = keras.ops.convert_to_numpy(self.value.predict_on_batch(states))[:, 0]
        return advantages(returns, alive, baseline, values).astype("float32")

    def update(self, episodes):
        """One policy-gradient step on a batch of episodes (and, with the "value"
        baseline, the value network's regression steps on it). Returns the policy's loss."""
        states, actions, returns, alive = self._rows(episodes)
        weights = self._weights(states, returns, alive, self.baseline)
        if self.value is not None:
            for _ in range(self.value_steps):
                self.value.train_on_batch(states, returns, sample_weight=alive.astype("float32"))
        return float(self.policy.train_on_batch(states, actions, sample_weight=weights))

    def gradient(self, episodes, baseline=None):
        """The gradient estimate of a batch of episodes, as one flat NumPy vector, at the
        current parameters, without a step: the ascent direction of the expected return
        with `baseline` (default: the learner's), up to the constant `1 / rows`."""
        states, actions, returns, alive = self._rows(episodes)
        weights = self._weights(states, returns, alive, baseline or self.baseline)
        grads = gradients(self.policy, states, actions, action_loss, sample_weight=weights)
        return -np.concatenate([grad.ravel() for grad in grads])


def train(env, learner, rng, *, max_episodes, target=None, window=100):
    """Trains `learner` on batches of episodes, one batch per copy of `env`, until the
    mean return of the last `window` episodes reaches `target` or `max_episodes` episodes
    have been played.

    Returns:
        The return of every episode played, in order (within a batch, by copy).
    """
    history = []
    while len(history) < max_episodes:
        act = action_probabilities(learner.policy)
        episodes = play(env, act, rng, max_steps=learner.horizon)
        history.extend(episodes.returns.tolist())
        learner.update(episodes)
        if target is not None and len(history) >= window and np.mean(history[-window:]) >= target:
            break
    return np.asarray(history[:max_episodes])  # the last batch may run past the budget


def first_reaching(returns, level, window=100):
    """The number of episodes after which the mean return of the last `window` episodes
    first reaches `level`; None if it never does."""
    returns = np.asarray(returns, "float64")
    if len(returns) < window:
        return None
    means = np.convolve(returns, np.ones(window) / window, mode="valid")
    reached = np.flatnonzero(means >= level)
    return int(reached[0] + window) if len(reached) else None
