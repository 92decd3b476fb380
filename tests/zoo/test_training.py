import keras
import numpy as np

from zoo import datasets
from zoo.mlp import build_mlp
from zoo.training import gradients, restart


def test_a_restarted_model_trains_exactly_like_a_fresh_one():
    (x, y), _ = datasets.load("digits", seed=0, train_size=200)

    def fresh():
        keras.utils.set_random_seed(0)
        model = build_mlp(x.shape[1:], hidden_units=(16,))
        model.compile(keras.optimizers.Adam(0.01), "sparse_categorical_crossentropy")
        return model

    def fit(model):
        keras.utils.set_random_seed(0)
        data, steps = datasets.batches(x, y, 32, seed=0)
        model.fit(data, steps_per_epoch=steps, epochs=3, shuffle=False, verbose=0)
        return model.predict_on_batch(x)

    reused = fresh()
    initial = reused.get_weights()
    fit(reused)
    restart(reused, initial)
    assert int(reused.optimizer.iterations) == 0
    assert float(reused.optimizer.learning_rate) == np.float32(0.01)
    np.testing.assert_allclose(fit(reused), fit(fresh()), rtol=1e-5, atol=1e-6)


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


def test_restart_can_set_a_new_learning_rate():
    model = build_mlp(input_shape=(4,), hidden_units=(4,))
    model.compile(keras.optimizers.SGD(0.1), "sparse_categorical_crossentropy")
    model.optimizer.build(model.trainable_variables)
    restart(model, model.get_weights(), learning_rate=0.5)
    assert float(model.optimizer.learning_rate) == 0.5


def test_compile_once_compiles_a_model_per_key_with_its_optimizer_built():
    from zoo.training import compile_once

    models, built = {}, []

    def build():
        built.append(1)
        return build_mlp(input_shape=(4,), hidden_units=(4,))

    first = compile_once(
        models,
        "a",
        build,
        lambda: keras.optimizers.Adam(0.01),
        "sparse_categorical_crossentropy",
        3,
    )
    assert compile_once(models, "a", build, keras.optimizers.SGD, "mse") is first
    assert len(built) == 1 and isinstance(first.optimizer, keras.optimizers.Adam)
    assert first.optimizer.built and first.steps_per_execution == 3
    assert compile_once(models, "b", build, keras.optimizers.SGD, "mse") is not first


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
