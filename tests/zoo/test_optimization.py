import keras
import numpy as np
import pytest

from zoo.mlp import build_mlp
from zoo.optimization import LearningRateRangeTest, gradient_noise
from zoo.training import gradients


def data(n=200, features=5, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, features)).astype("float32")
    y = (x[:, 0] > 0).astype("int64") + (x[:, 1] > 1).astype("int64")
    return x, y


def test_gradient_noise_matches_the_sampling_formula():
    x, y = data()
    keras.utils.set_random_seed(0)
    model = build_mlp(input_shape=(5,), num_classes=3, hidden_units=(8,))
    flat = lambda grads: np.concatenate([g.ravel() for g in grads])  # noqa: E731
    full = flat(gradients(model, x, y))
    per_example = np.array(
        [flat(gradients(model, x[i : i + 1], y[i : i + 1])) for i in range(len(x))]
    )
    sigma2 = np.mean(np.sum((per_example - full) ** 2, axis=1))  # tr(Sigma) of one example
    squared_norm, variances = gradient_noise(model, x, y, batch_sizes=(1, 8, 50), draws=400, seed=0)
    assert squared_norm == pytest.approx(np.sum(full**2), rel=1e-5)
    n = len(x)
    for size, variance in variances.items():
        expected = sigma2 / size * (n - size) / (n - 1)  # without replacement
        assert variance == pytest.approx(expected, rel=0.15)
    with pytest.raises(ValueError, match="between 1 and 200"):
        gradient_noise(model, x, y, batch_sizes=(0,))


def compiled_model(rate=0.01, steps_per_execution=1):
    keras.utils.set_random_seed(0)
    model = build_mlp(input_shape=(5,), num_classes=3, hidden_units=(16,))
    model.compile(
        keras.optimizers.SGD(rate),
        "sparse_categorical_crossentropy",
        steps_per_execution=steps_per_execution,
    )
    return model


def test_range_test_raises_the_rate_exponentially_and_records_each_batch_loss():
    x, y = data()
    model = compiled_model()
    weights = model.get_weights()
    first_batch_loss = float(
        keras.ops.mean(keras.losses.sparse_categorical_crossentropy(y[:20], model(x[:20])))
    )
    finder = LearningRateRangeTest(1e-4, 1e-1, steps=25, stop_factor=100)
    model.fit(x, y, batch_size=20, epochs=3, shuffle=False, callbacks=[finder], verbose=0)
    assert len(finder.losses) == 25  # 10 batches per epoch, stopped within the third
    np.testing.assert_allclose(finder.learning_rates[0], 1e-4)
    np.testing.assert_allclose(finder.learning_rates[-1], 1e-1, rtol=1e-6)
    ratios = np.diff(np.log(finder.learning_rates))
    np.testing.assert_allclose(ratios, ratios[0], rtol=1e-6)
    # The losses are each batch's own, recovered from Keras' running mean of the epoch.
    assert finder.losses[0] == pytest.approx(first_batch_loss, rel=1e-5)
    # The model and the optimizer are put back as they were.
    for before, after in zip(weights, model.get_weights()):
        np.testing.assert_array_equal(before, after)
    assert float(model.optimizer.learning_rate) == pytest.approx(0.01)
    assert int(model.optimizer.iterations) == 0


def test_range_test_stops_when_the_loss_explodes_and_suggests_a_rate_that_trains():
    x, y = data()
    model = compiled_model()
    finder = LearningRateRangeTest(1e-5, 1e3, steps=200)
    model.fit(x, y, batch_size=20, epochs=20, callbacks=[finder], verbose=0)
    assert len(finder.losses) < 200  # stopped early: the loss blew up
    minimum = int(np.nanargmin(finder.smoothed_losses))
    assert finder.suggestion() == pytest.approx(finder.learning_rates[minimum] / 10)
    assert finder.steepest() < finder.learning_rates[minimum]
    before = model.evaluate(x, y, verbose=0)
    model.optimizer.learning_rate.assign(finder.suggestion())
    model.fit(x, y, batch_size=20, epochs=10, verbose=0)
    assert model.evaluate(x, y, verbose=0) < 0.7 * before


def test_range_test_rejects_schedules_multi_step_execution_and_bad_arguments():
    x, y = data(n=40)
    with pytest.raises(ValueError, match="steps_per_execution=1"):
        compiled_model(steps_per_execution=2).fit(
            x, y, callbacks=[LearningRateRangeTest()], verbose=0
        )
    model = build_mlp(input_shape=(5,), num_classes=3, hidden_units=(4,))
    model.compile(
        keras.optimizers.SGD(keras.optimizers.schedules.ExponentialDecay(0.1, 10, 0.5)),
        "sparse_categorical_crossentropy",
    )
    with pytest.raises(ValueError, match="schedule"):
        model.fit(x, y, callbacks=[LearningRateRangeTest()], verbose=0)
    with pytest.raises(ValueError):
        LearningRateRangeTest(1.0, 0.1)
    with pytest.raises(ValueError):
        LearningRateRangeTest(steps=1)
