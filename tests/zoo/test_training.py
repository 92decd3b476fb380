import keras
import numpy as np
import pytest

from zoo import datasets
from zoo.mlp import build_mlp
from zoo.training import Trainer, batches, gradients, loaded

LOSS = "sparse_categorical_crossentropy"


@pytest.fixture(scope="module")
def digits():
    (x, y), _ = datasets.load("digits", seed=0, train_size=200)
    return x, y


def sgd(rate=0.05):
    return keras.optimizers.SGD(learning_rate=rate, momentum=0.9)


class StartingWeights(keras.callbacks.Callback):
    def on_train_begin(self, logs=None):
        self.weights = self.model.get_weights()


def test_every_run_trains_exactly_like_a_new_model(digits):
    x, y = digits

    def build():
        return build_mlp(x.shape[1:], hidden_units=(16,), dropout_rate=0.3)

    trainer = Trainer()
    first, _ = trainer.fit(build, sgd(), LOSS, x, y, batch_size=32, epochs=3, seed=1)
    first = first.predict_on_batch(x)
    trainer.fit(build, sgd(0.2), LOSS, x, y, batch_size=32, epochs=2, seed=2)  # in between
    again, _ = trainer.fit(build, sgd(), LOSS, x, y, batch_size=32, epochs=3, seed=1)
    assert trainer.compiled == 1 and trainer.runs == 3
    np.testing.assert_array_equal(again.predict_on_batch(x), first)

    new = trainer.fresh(build, 1)  # built, compiled and fitted by hand on the same batches
    new.compile(sgd(), LOSS)
    new.fit(batches(x, y, 32, 1, 21), steps_per_epoch=7, epochs=3, shuffle=False, verbose=0)
    np.testing.assert_allclose(new.predict_on_batch(x), first, rtol=1e-5, atol=1e-6)


def test_a_run_starts_from_the_weights_fresh_draws(digits):
    x, y = digits
    build = lambda: build_mlp(x.shape[1:], hidden_units=(8,))  # noqa: E731
    start = StartingWeights()
    Trainer().fit(build, sgd(), LOSS, x, y, batch_size=50, seed=4, callbacks=[start])
    for trained_from, drawn in zip(start.weights, Trainer().fresh(build, 4).get_weights()):
        np.testing.assert_array_equal(trained_from, drawn)
    other = Trainer().fresh(build, 5).get_weights()[0]
    assert not np.array_equal(other, start.weights[0])


def test_one_model_is_compiled_per_architecture_and_setup(digits):
    x, y = digits
    trainer = Trainer()

    def run(optimizer, width=8, batch_size=50):
        model, _ = trainer.fit(
            lambda: build_mlp(x.shape[1:], hidden_units=(width,)),
            optimizer,
            LOSS,
            x,
            y,
            batch_size=batch_size,
            seed=0,
        )
        return model

    model = run(sgd(0.1))
    assert run(sgd(0.01)) is model  # the learning rate is only a value
    assert float(model.optimizer.learning_rate) == pytest.approx(0.01)
    assert int(model.optimizer.iterations) == 4  # a fresh optimizer: one epoch of 4 steps
    assert run(sgd(0.1), width=16) is not model
    assert run(keras.optimizers.SGD(learning_rate=0.1, momentum=0.5)) is not model
    assert run(keras.optimizers.Adam(learning_rate=0.1)) is not model
    assert trainer.compiled == 4


def test_a_normalization_layer_adapted_to_other_data_gets_its_own_model(digits):
    x, y = digits
    x = x.reshape(len(x), -1)

    def build(data):
        normalize = keras.layers.Normalization()
        normalize.adapt(data)
        dense = keras.layers.Dense(10, activation="softmax")
        return keras.Sequential([keras.Input(x.shape[1:]), normalize, dense])

    trainer = Trainer()
    for data in (x, x * 2, x):
        trainer.fit(lambda: build(data), sgd(), LOSS, x, y, batch_size=50, seed=0)
    assert trainer.compiled == 2


def test_a_learning_rate_schedule_is_applied_once_per_epoch(digits):
    x, y = digits
    cosine = keras.optimizers.schedules.CosineDecay(0.1, decay_steps=5 * 4)
    _, history = Trainer().fit(
        lambda: build_mlp(x.shape[1:], hidden_units=(8,)),
        keras.optimizers.SGD(learning_rate=cosine),
        LOSS,
        x,
        y,
        batch_size=50,
        epochs=5,
        seed=0,
    )
    expected = [float(cosine(epoch * 4)) for epoch in range(5)]
    np.testing.assert_allclose(history.history["learning_rate"], expected, rtol=1e-6)
    assert len(history.history["seconds"]) == 5  # every epoch timed


def test_every_epoch_has_its_steps_also_when_training_goes_on_with_other_data(digits):
    x, y = digits
    trainer = Trainer()
    model, _ = trainer.fit(
        lambda: build_mlp(x.shape[1:], hidden_units=(8,)),
        sgd(),
        LOSS,
        x,
        y,
        batch_size=16,
        epochs=3,
        seed=0,
    )
    assert int(model.optimizer.iterations) == 3 * 13
    for examples, epochs in ((150, 1), (150, 2), (90, 3)):  # 10, 10 and 6 steps per epoch
        before = int(model.optimizer.iterations)
        trainer.train(model, x[:examples], y[:examples], batch_size=16, epochs=epochs, seed=0)
        assert int(model.optimizer.iterations) - before == epochs * -(-examples // 16)


def test_steps_per_epoch_streams_on_across_passes(digits):
    x, y = digits
    model, history = Trainer().fit(
        lambda: build_mlp(x.shape[1:], hidden_units=(8,)),
        sgd(),
        LOSS,
        x,
        y,
        batch_size=64,
        epochs=5,
        steps_per_epoch=3,
        seed=0,
    )
    assert int(model.optimizer.iterations) == 15 and len(history.history["loss"]) == 5


def test_a_callback_acting_before_every_batch_sees_every_batch(digits):
    from zoo.optimization import LearningRateRangeTest

    x, y = digits
    finder = LearningRateRangeTest(1e-4, 1.0, steps=12)  # refuses to run several steps per call
    Trainer().fit(
        lambda: build_mlp(x.shape[1:], hidden_units=(8,)),
        sgd(),
        LOSS,
        x,
        y,
        batch_size=50,
        epochs=3,
        seed=0,
        callbacks=[finder],
    )
    assert len(finder.losses) == 12


def test_batches_cover_each_example_once_per_pass_in_a_new_order():
    x = np.arange(10, dtype="float32")[:, None]
    y = np.arange(10)
    labels = [batch_y.tolist() for _, batch_y in batches(x, y, 4, seed=0, steps=6)]
    assert [len(batch) for batch in labels] == [4, 4, 2] * 2
    passes = sum(labels[:3], []), sum(labels[3:], [])
    assert sorted(passes[0]) == sorted(passes[1]) == list(range(10))
    assert passes[0] != passes[1]
    assert [b.tolist() for _, b in batches(x, y, 4, seed=0, steps=6)] == labels  # seeded
    in_order = [b.tolist() for _, b in batches(x, y, 4, seed=0, steps=3, shuffle=False)]
    assert in_order == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    # Without the remainder every batch is whole, and each pass leaves out other examples.
    whole = [b.tolist() for _, b in batches(x, y, 4, seed=0, steps=6, drop_remainder=True)]
    assert [len(batch) for batch in whole] == [4] * 6
    assert whole[:2] == labels[:2] and whole[2:4] == labels[3:5]


def test_a_batch_of_the_whole_set_is_full_batch_gradient_descent():
    x = np.arange(10, dtype="float32")[:, None]
    y = np.arange(10)
    for _, labels in batches(x, y, 10, seed=0, steps=3):  # the same whole set every step
        assert labels.tolist() == list(range(10))


def test_gradients_match_the_closed_form_of_softmax_regression():
    x = np.random.default_rng(0).normal(size=(32, 5)).astype("float32")
    y = np.random.default_rng(1).integers(0, 3, size=32)
    model = build_mlp(input_shape=(5,), num_classes=3, hidden_units=())
    kernel, bias = model.get_weights()
    logits = x @ kernel + bias
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    error = (p - np.eye(3)[y]) / len(y)  # d(mean cross-entropy) / d(logits)
    grad_kernel, grad_bias = gradients(model, x, y)
    np.testing.assert_allclose(grad_kernel, x.T @ error, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(grad_bias, error.sum(axis=0), rtol=1e-4, atol=1e-6)


def test_weighted_gradients_are_those_of_the_mean_weighted_loss():
    x = np.random.default_rng(0).normal(size=(32, 5)).astype("float32")
    y = np.random.default_rng(1).integers(0, 3, size=32)
    weights = np.random.default_rng(2).normal(size=32)  # any sign, as advantages have
    model = build_mlp(input_shape=(5,), num_classes=3, hidden_units=())
    kernel, bias = model.get_weights()
    logits = x @ kernel + bias
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    error = weights[:, None] * (p - np.eye(3)[y]) / len(y)
    grad_kernel, grad_bias = gradients(model, x, y, sample_weight=weights)
    np.testing.assert_allclose(grad_kernel, x.T @ error, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(grad_bias, error.sum(axis=0), rtol=1e-4, atol=1e-6)
    ones = gradients(model, x, y, sample_weight=np.ones(32))
    for weighted, plain in zip(ones, gradients(model, x, y)):
        np.testing.assert_allclose(weighted, plain, rtol=1e-6, atol=1e-8)


def test_gradients_leave_batch_normalization_statistics_alone():
    from zoo.residual import build_residual_mlp

    model = build_residual_mlp(num_blocks=1, width=8)
    before = [w.copy() for w in model.get_weights()]
    gradients(
        model,
        np.random.default_rng(0).normal(size=(16, 40)).astype("float32"),
        np.zeros(16, "int64"),
    )
    for old, new in zip(before, model.get_weights()):
        np.testing.assert_array_equal(old, new)


def test_input_gradients_match_the_closed_form_of_linear_regression():
    from zoo.training import input_gradients

    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(16, 3)).astype("float32"), rng.normal(size=(16, 1)).astype("float32")
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    kernel, bias = model.get_weights()
    expected = 2 * (x @ kernel + bias - y) * kernel[:, 0]  # d (per-example squared error) / dx
    np.testing.assert_allclose(input_gradients(model, x, y), expected, rtol=1e-4, atol=1e-6)


def test_classes_predicted_counts_the_distinct_answers():
    from zoo.training import classes_predicted

    model = build_mlp(input_shape=(4,), num_classes=3, hidden_units=())
    model.set_weights([np.zeros((4, 3), "float32"), np.array([0.0, 1.0, 0.0], "float32")])
    assert (
        classes_predicted(model, np.random.default_rng(0).normal(size=(20, 4)).astype("float32"))
        == 1
    )
    model.set_weights([np.eye(4, 3, dtype="float32"), np.zeros(3, "float32")])
    assert classes_predicted(model, np.eye(4, dtype="float32")[:3]) == 3


def two_inputs():
    left, right = keras.Input((2,), name="left"), keras.Input((2,), name="right")
    output = keras.layers.Dense(1)(keras.layers.Concatenate()([left, right]))
    return keras.Model({"left": left, "right": right}, output)


def test_named_inputs_are_batched_like_one_array():
    x = np.arange(20, dtype="float32").reshape(10, 2)
    y = np.arange(10, dtype="float32")
    plain = list(batches(x, y, 4, seed=3, steps=5))
    named = list(batches({"left": x, "right": 2 * x}, y, 4, seed=3, steps=5))
    for (bx, by), (nx, ny) in zip(plain, named, strict=True):
        np.testing.assert_array_equal(nx["left"], bx)
        np.testing.assert_array_equal(nx["right"], 2 * bx)
        np.testing.assert_array_equal(ny, by)
    _, history = Trainer().fit(
        two_inputs,
        keras.optimizers.SGD(0.05),
        "mse",
        {"left": x / 20, "right": x / 10},
        y[:, None] / 10,
        batch_size=4,
        epochs=20,
        seed=0,
    )
    assert history.history["loss"][-1] < history.history["loss"][0] / 2


def test_loaded_builds_a_fresh_model_holding_the_weights():
    def build():
        return keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])

    trained = build()
    weights = [w + 1.0 for w in trained.get_weights()]
    rebuild = loaded(build, weights)
    first, second = rebuild(), rebuild()
    assert first is not second and first is not trained
    for got, expected in zip(first.get_weights(), weights):
        np.testing.assert_array_equal(got, expected)


def test_sample_weights_travel_with_their_examples():
    x = np.arange(10, dtype="float32")[:, None]
    y = np.arange(10)
    weights = np.arange(10) / 10
    plain = list(batches(x, y, 4, seed=2, steps=6))
    weighted = list(batches(x, y, 4, seed=2, steps=6, sample_weight=weights))
    for (bx, by), (wx, wy, ww) in zip(plain, weighted, strict=True):
        np.testing.assert_array_equal(wx, bx)
        np.testing.assert_array_equal(wy, by)
        np.testing.assert_array_equal(ww, by / 10)  # each example's own weight
    with pytest.raises(ValueError, match="one weight per example"):
        Trainer().fit(
            lambda: build_mlp((1,), 10, (4,)), sgd(), LOSS, x, y, batch_size=4,
            seed=0, sample_weight=weights[:5],
        )  # fmt: skip


def test_a_weight_of_two_on_every_example_is_a_doubled_learning_rate(digits):
    # Keras multiplies each example's loss by its weight and averages over the batch, so
    # under plain SGD doubling every weight doubles every step.
    x, y = digits
    build = lambda: build_mlp(x.shape[1:], hidden_units=(16,))  # noqa: E731
    trainer = Trainer()
    fit = dict(batch_size=32, epochs=3, seed=1)
    weighted, _ = trainer.fit(
        build, keras.optimizers.SGD(0.05), LOSS, x, y, sample_weight=np.full(len(x), 2.0), **fit
    )
    weighted = weighted.predict_on_batch(x)
    doubled, _ = trainer.fit(build, keras.optimizers.SGD(0.1), LOSS, x, y, **fit)
    np.testing.assert_allclose(weighted, doubled.predict_on_batch(x), rtol=1e-4, atol=1e-6)
    plain, _ = trainer.fit(build, keras.optimizers.SGD(0.05), LOSS, x, y, **fit)
    assert not np.allclose(plain.predict_on_batch(x), weighted, atol=1e-3)


def test_a_weight_of_zero_leaves_an_example_out(digits):
    # Full batch, with the loss averaged over the weights rather than the batch size.
    x, y = digits
    build = lambda: build_mlp(x.shape[1:], hidden_units=(16,))  # noqa: E731
    loss = keras.losses.SparseCategoricalCrossentropy(reduction="mean_with_sample_weight")
    kept = np.arange(len(x)) % 3 != 0
    fit = dict(batch_size=len(x), epochs=5, seed=1)
    trainer = Trainer()
    weighted, _ = trainer.fit(build, sgd(), loss, x, y, sample_weight=kept.astype("float32"), **fit)
    weighted = weighted.predict_on_batch(x)
    left_out, _ = trainer.fit(build, sgd(), loss, x[kept], y[kept], **fit)
    np.testing.assert_allclose(weighted, left_out.predict_on_batch(x), rtol=1e-4, atol=1e-5)
