"""zoo.policy: REINFORCE's quantities against NumPy, and the learner against the formula."""

import gymnasium
import keras
import numpy as np
import pytest

from zoo import policy as pg


def cartpole(copies, seed=0):
    env = gymnasium.make_vec(
        "CartPole-v1", num_envs=copies, vectorization_mode="vector_entry_point"
    )
    env.reset(seed=seed)
    return env


def random_episodes(steps=7, copies=5, seed=0):
    rng = np.random.default_rng(seed)
    lengths = rng.integers(1, steps + 1, copies)
    alive = np.arange(steps)[:, None] < lengths[None, :]
    return pg.Episodes(
        rng.normal(size=(steps, copies, 4)).astype("float32"),
        rng.integers(0, 2, (steps, copies)),
        np.where(alive, rng.normal(size=(steps, copies)), 0.0).astype("float32"),
        alive,
    )


def test_returns_to_go_discount_each_episode_separately():
    episodes = random_episodes()
    returns = pg.returns_to_go(episodes.rewards, episodes.alive, gamma=0.9)
    for copy, length in enumerate(episodes.lengths):
        rewards = episodes.rewards[:length, copy]
        expected = [sum(0.9**k * r for k, r in enumerate(rewards[t:])) for t in range(length)]
        np.testing.assert_allclose(returns[:length, copy], expected, rtol=1e-6)
        assert not returns[length:, copy].any()


def test_advantages_centre_and_scale_the_real_steps_only():
    episodes = random_episodes()
    returns = pg.returns_to_go(episodes.rewards, episodes.alive, 0.99)
    real = episodes.alive
    np.testing.assert_array_equal(pg.advantages(returns, real, "none"), returns)
    centred = pg.advantages(returns, real, "mean")
    assert abs(centred[real].mean()) < 1e-9 and not centred[~real].any()
    normalized = pg.advantages(returns, real, "normalized")
    assert normalized[real].std() == pytest.approx(1.0, abs=1e-6)
    values = np.full(returns.shape, 2.0)
    np.testing.assert_allclose(
        pg.advantages(returns, real, "value", values)[real], returns[real] - 2
    )
    with pytest.raises(ValueError, match="baseline"):
        pg.advantages(returns, real, "median")
    with pytest.raises(ValueError, match="value network"):
        pg.advantages(returns, real, "value")


def test_the_keras_step_is_the_score_function_gradient():
    """For a softmax-linear policy, grad log pi(a|s) = s (onehot(a) - pi(s)): REINFORCE's
    estimate, averaged over the padded rows, is what the learner's Keras loss gives."""
    keras.utils.set_random_seed(0)
    policy = pg.build_policy(4, 2, hidden_units=())
    learner = pg.Reinforce(policy, keras.optimizers.SGD(0.1), baseline="mean", horizon=10)
    episodes = random_episodes()
    returns = pg.returns_to_go(episodes.rewards, episodes.alive, 0.99)
    weights = pg.advantages(returns, episodes.alive, "mean")
    kernel, bias = (np.asarray(w, "float64") for w in policy.get_weights())
    states = episodes.observations.astype("float64")
    logits = states @ kernel + bias
    probabilities = np.exp(logits) / np.exp(logits).sum(axis=-1, keepdims=True)
    score = np.eye(2)[episodes.actions] - probabilities
    rows = 10 * episodes.actions.shape[1]  # the horizon's padded rows
    expected_kernel = np.einsum("tc,tci,tcj->ij", weights, states, score) / rows
    expected_bias = np.einsum("tc,tcj->j", weights, score) / rows
    expected = np.concatenate([expected_kernel.ravel(), expected_bias])
    np.testing.assert_allclose(learner.gradient(episodes), expected, rtol=1e-4, atol=1e-7)
    # And the update is that step: plain SGD moves the weights up the estimate.
    before = np.concatenate([w.ravel() for w in policy.get_weights()])
    learner.update(episodes)
    after = np.concatenate([w.ravel() for w in policy.get_weights()])
    np.testing.assert_allclose(after - before, 0.1 * expected, rtol=1e-3, atol=1e-7)


def test_numpy_forward_equals_keras_and_falls_back_for_other_layers():
    x = np.random.default_rng(0).normal(size=(16, 4)).astype("float32")
    for model in (pg.build_policy(4, 3, (8, 8)), pg.build_value(4, (8,))):
        np.testing.assert_allclose(
            pg.numpy_forward(model)(x), model.predict_on_batch(x), rtol=1e-5, atol=1e-6
        )
    policy = pg.build_policy(4, 3, (8,))
    probabilities = keras.ops.convert_to_numpy(keras.ops.softmax(policy.predict_on_batch(x)))
    np.testing.assert_allclose(pg.action_probabilities(policy)(x), probabilities, rtol=1e-5)
    inputs = keras.Input((4,))
    other = keras.Model(inputs, keras.layers.LayerNormalization()(inputs))
    np.testing.assert_array_equal(pg.numpy_forward(other)(x), other.predict_on_batch(x))


def test_play_masks_every_copy_after_its_episode_ends():
    episodes = pg.play(cartpole(8), None, np.random.default_rng(0))
    for copy in range(8):
        alive = episodes.alive[:, copy]
        length = int(alive.sum())
        assert alive[:length].all() and not alive[length:].any()
    # CartPole pays 1 for every step the pole is up.
    np.testing.assert_array_equal(episodes.returns, episodes.lengths)
    assert len(episodes.actions) == episodes.lengths.max()
    again = pg.play(cartpole(8), None, np.random.default_rng(0))
    np.testing.assert_array_equal(again.returns, episodes.returns)  # one seed, one result
    parts = episodes.split(4)
    assert [part.actions.shape[1] for part in parts] == [2, 2, 2, 2]


def test_an_update_climbs_the_weighted_log_likelihood_of_the_actions_taken():
    """Actions that paid off more than the batch's mean become more likely, the others
    less: a small step raises mean(A_t log pi(a_t | s_t))."""
    keras.utils.set_random_seed(1)
    policy = pg.build_policy(4, 2, (16,))
    learner = pg.Reinforce(policy, keras.optimizers.SGD(1e-2), baseline="mean", horizon=500)
    act = pg.action_probabilities(policy)
    episodes = pg.play(cartpole(16, seed=1), act, np.random.default_rng(1))
    states, actions, returns, alive = learner._rows(episodes)
    weights = pg.advantages(returns, alive, "mean")

    def surrogate():
        chosen = pg.action_probabilities(policy)(states)[np.arange(len(actions)), actions]
        return np.mean(weights * np.log(chosen))

    before = surrogate()
    learner.update(episodes)
    assert surrogate() > before


def test_the_value_baseline_fits_the_returns():
    keras.utils.set_random_seed(2)
    value = pg.build_value(4, (16,))
    learner = pg.Reinforce(
        pg.build_policy(4, 2, (16,)),
        keras.optimizers.Adam(1e-2),
        baseline="value",
        value=value,
        horizon=500,
    )
    episodes = pg.play(cartpole(16, seed=2), None, np.random.default_rng(2))
    states, _, returns, alive = learner._rows(episodes)
    error = lambda: np.mean((value.predict_on_batch(states)[:, 0] - returns)[alive] ** 2)  # noqa: E731
    before = error()
    for _ in range(20):
        learner.update(episodes)
    assert error() < 0.5 * before


def test_the_learner_checks_its_setup():
    with pytest.raises(ValueError, match="baseline"):
        pg.Reinforce(pg.build_policy(4, 2), keras.optimizers.Adam(), baseline="best", horizon=9)
    with pytest.raises(ValueError, match="value network"):
        pg.Reinforce(pg.build_policy(4, 2), keras.optimizers.Adam(), baseline="value", horizon=9)
    learner = pg.Reinforce(pg.build_policy(4, 2), keras.optimizers.Adam(), horizon=3)
    with pytest.raises(ValueError, match="horizon"):
        learner.update(random_episodes(steps=7))


def test_first_reaching_counts_the_episodes_of_the_first_window_to_reach_the_level():
    returns = [10] * 5 + [30] * 5
    assert pg.first_reaching(returns, 20, window=4) == 7  # episodes 4-7: (10 + 10 + 30 + 30) / 4
    assert pg.first_reaching(returns, 31, window=4) is None
    assert pg.first_reaching(returns[:3], 0, window=4) is None


def test_the_networks_save_and_load(assert_saves_and_loads):
    x = np.random.default_rng(0).normal(size=(5, 4)).astype("float32")
    assert_saves_and_loads(pg.build_policy(4, 2, (8,)), x)
    assert_saves_and_loads(pg.build_value(4, (8,)), x)


def test_train_stops_at_its_budget_or_its_target():
    keras.utils.set_random_seed(0)
    learner = pg.Reinforce(pg.build_policy(4, 2, (8,)), keras.optimizers.Adam(1e-3), horizon=500)
    history = pg.train(cartpole(16), learner, np.random.default_rng(0), max_episodes=40)
    assert len(history) == 40  # three batches of 16, cut to the budget
    history = pg.train(
        cartpole(16), learner, np.random.default_rng(0), max_episodes=1000, target=0, window=10
    )
    assert len(history) == 16  # the first batch reaches a mean of 0


def test_the_value_baseline_is_taken_before_the_value_network_learns_the_batch():
    keras.utils.set_random_seed(3)
    value = pg.build_value(4, (8,))
    learner = pg.Reinforce(
        pg.build_policy(4, 2, (8,)),
        keras.optimizers.SGD(0.0),
        baseline="value",
        value=value,
        horizon=500,
    )
    episodes = pg.play(cartpole(4, seed=3), None, np.random.default_rng(3))
    states, _, returns, alive = learner._rows(episodes)
    before = learner._weights(states, returns, alive, "value")
    seen = []
    learner.policy.train_on_batch = lambda x, y, sample_weight: seen.append(sample_weight) or 0.0
    learner.update(episodes)
    np.testing.assert_array_equal(seen[0], before)
    assert not np.array_equal(learner._weights(states, returns, alive, "value"), before)


def test_numpy_forward_falls_back_for_a_layer_used_twice():
    inputs = keras.Input((4,))
    shared = keras.layers.Dense(4, activation="relu")
    model = keras.Model(inputs, keras.layers.Dense(2)(shared(shared(inputs))))
    x = np.random.default_rng(0).normal(size=(3, 4)).astype("float32")
    np.testing.assert_allclose(pg.numpy_forward(model)(x), model.predict_on_batch(x), rtol=1e-6)
