import keras
import numpy as np
import pytest

from zoo import preference
from zoo.language_model import build_language_model, sequence_log_prob

VOCAB, LENGTH = 15, 9


def numpy_dpo(policy, reference, beta):
    """The DPO loss of Rafailov et al., eq. 7, per pair, in NumPy (float64)."""
    margin = beta * ((policy[:, 0] - reference[:, 0]) - (policy[:, 1] - reference[:, 1]))
    return np.log1p(np.exp(-margin))  # -log sigmoid(margin)


def test_the_loss_and_the_rewards_match_numpy():
    rng = np.random.default_rng(0)
    policy, reference = rng.normal(-5, 2, (2, 64, 2)).astype("float32")
    for beta in (0.1, 1.0, 3.0):
        loss = preference.DPOLoss(beta)
        expected = numpy_dpo(policy.astype("float64"), reference.astype("float64"), beta)
        np.testing.assert_allclose(float(loss(reference, policy)), expected.mean(), rtol=1e-5)
        rewards = keras.ops.convert_to_numpy(preference.implicit_rewards(reference, policy, beta))
        np.testing.assert_allclose(rewards, beta * (policy - reference), rtol=1e-5)
    # Chosen and rejected swapped is another loss: the order of the pair is the preference.
    swapped = preference.DPOLoss(1.0)(reference[:, ::-1], policy[:, ::-1])
    assert abs(float(swapped) - float(preference.DPOLoss(1.0)(reference, policy))) > 0.1
    again = keras.losses.deserialize(keras.losses.serialize(preference.DPOLoss(0.3)))
    assert isinstance(again, preference.DPOLoss) and again.beta == 0.3
    with pytest.raises(ValueError, match="beta"):
        preference.DPOLoss(0.0)


def language_model(seed):
    keras.utils.set_random_seed(seed)
    return build_language_model(VOCAB, LENGTH, d_model=16, num_heads=2, feed_forward_dim=32)


def pairs(n=32, seed=0):
    rng = np.random.default_rng(seed)
    chosen, rejected = rng.integers(2, VOCAB, (2, n, LENGTH)).astype("int32")
    rejected[:, :6] = chosen[:, :6]  # the same prompt, different answers
    mask = np.zeros((n, LENGTH), "float32")
    mask[:, 6:] = 1
    return preference.pair_inputs(chosen, rejected, mask)


def test_at_the_first_step_the_policy_is_the_reference_and_the_loss_is_ln_2():
    reference = language_model(0)
    policy = language_model(1)
    policy.set_weights(reference.get_weights())
    data = pairs()
    targets = preference.reference_log_probs(reference, data)
    model = preference.build_pair_model(policy, LENGTH)
    np.testing.assert_allclose(model.predict_on_batch(data), targets, rtol=1e-5, atol=1e-5)
    model.compile(
        keras.optimizers.Adam(1e-3), preference.DPOLoss(0.1), metrics=preference.dpo_metrics(0.1)
    )
    logs = model.evaluate(data, targets, batch_size=len(targets), verbose=0, return_dict=True)
    assert logs["loss"] == pytest.approx(np.log(2), abs=1e-5)  # TRL pins 0.6931...
    assert logs["rewards_margin"] == pytest.approx(0, abs=1e-4)


def test_dpo_training_raises_the_chosen_answers_against_the_reference():
    reference = language_model(0)
    policy = language_model(0)
    data = pairs(64)
    targets = preference.reference_log_probs(reference, data)
    model = preference.build_pair_model(policy, LENGTH)
    model.compile(
        keras.optimizers.Adam(3e-3), preference.DPOLoss(0.5), metrics=preference.dpo_metrics(0.5)
    )
    history = model.fit(data, targets, batch_size=16, epochs=5, verbose=0).history
    assert history["loss"][-1] < 0.5 * np.log(2) < history["loss"][0]
    assert history["rewards_accuracy"][-1] > 0.9
    assert history["rewards_chosen"][-1] > 0 > history["rewards_rejected"][-1]
    # The policy model itself moved: what the pair model reports is its log-probability.
    moved = sequence_log_prob(policy, data["tokens"][:, 0], data["scored"][:, 0])
    np.testing.assert_allclose(moved, model.predict_on_batch(data)[:, 0], rtol=1e-4, atol=1e-4)


def test_the_pair_model_saves_and_loads(assert_saves_and_loads):
    assert_saves_and_loads(preference.build_pair_model(language_model(0), LENGTH), pairs(4))


def test_dpo_on_every_pair_of_a_bandit_reaches_the_closed_form_optimum(assert_saves_and_loads):
    reference = np.array([0.4, 0.3, 0.2, 0.1])
    reward = np.array([0.0, 1.0, 0.5, 2.0])
    indices, weights = preference.all_pairs(reference, reward)
    assert weights.sum() == pytest.approx(1 - (reference**2).sum())
    beta = 1.0
    policy = preference.BanditPolicy(4, np.log(reference))
    inputs = keras.Input((2,), dtype="int32")
    model = keras.Model(inputs, policy(inputs))
    model.compile(keras.optimizers.Adam(0.05), preference.DPOLoss(beta), steps_per_execution=100)
    targets = np.log(reference)[indices].astype("float32")
    steps = 1500  # of full-batch descent on the expected loss, all in one epoch
    model.fit(
        np.tile(indices, (steps, 1)),
        np.tile(targets, (steps, 1)),
        sample_weight=np.tile(weights, steps),
        batch_size=len(indices),
        shuffle=False,
        verbose=0,
    )
    learned = np.exp(keras.ops.convert_to_numpy(policy.log_probs()))
    optimum = preference.optimal_policy(reference, reward, beta)
    assert preference.kl_divergence(learned, optimum) < 1e-4
    assert preference.kl_divergence(reference, optimum) > 0.1  # it had somewhere to go
    assert_saves_and_loads(model, indices)


def test_the_closed_form_trades_reward_for_drift_as_beta_falls():
    reference = np.array([0.4, 0.3, 0.2, 0.1])
    reward = np.array([0.0, 1.0, 0.5, 2.0])
    optima = [preference.optimal_policy(reference, reward, beta) for beta in (3, 1, 0.3, 0.1)]
    rewards = [p @ reward for p in optima]
    drift = [preference.kl_divergence(p, reference) for p in optima]
    assert np.all(np.diff(rewards) > 0) and np.all(np.diff(drift) > 0)
    np.testing.assert_allclose(
        preference.optimal_policy(reference, reward, 1e6), reference, rtol=1e-5
    )
