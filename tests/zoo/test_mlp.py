import keras
import numpy as np
import pytest

from zoo import datasets
from zoo.mlp import build_mlp


def test_defaults_give_a_working_model_with_the_expected_parameter_count():
    model = build_mlp()
    assert model.input_shape == (None, 64) and model.output_shape == (None, 10)
    expected = (64 * 512 + 512) + (512 * 512 + 512) + (512 * 10 + 10)
    assert model.count_params() == expected
    probabilities = model.predict_on_batch(np.zeros((3, 64), "float32"))
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)


def test_images_are_flattened_and_dropout_follows_each_hidden_layer():
    model = build_mlp(input_shape=(8, 8, 1), hidden_units=(16, 8), dropout_rate=0.5)
    names = [layer.name for layer in model.layers]
    assert names == [
        "inputs",
        "flatten",
        "dense_0",
        "dropout_0",
        "dense_1",
        "dropout_1",
        "predictions",
    ]
    assert build_mlp(hidden_units=()).count_params() == 64 * 10 + 10  # logistic regression
    with_input = build_mlp(hidden_units=(8,), input_dropout_rate=0.2)
    assert [layer.name for layer in with_input.layers][1] == "input_dropout"


def test_l2_adds_the_weight_penalty_to_the_loss():
    model = build_mlp(input_shape=(3,), hidden_units=(4,), l2=0.01)
    model(np.zeros((1, 3), "float32"))
    kernels = [layer.kernel for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    expected = 0.01 * sum(float(np.sum(np.square(keras.ops.convert_to_numpy(k)))) for k in kernels)
    assert float(sum(model.losses)) == pytest.approx(expected, rel=1e-5)
    assert build_mlp(hidden_units=(4,)).losses == []


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"num_classes": 1}, "num_classes"),
        ({"hidden_units": (8, 0)}, "hidden_units"),
        ({"dropout_rate": 1.0}, "dropout_rate"),
        ({"input_dropout_rate": -0.1}, "input_dropout_rate"),
        ({"l2": -1.0}, "l2"),
    ],
)
def test_bad_arguments_raise_value_error(kwargs, message):
    with pytest.raises(ValueError, match=message):
        build_mlp(**kwargs)


def test_training_learns_digits():
    keras.utils.set_random_seed(0)
    (x, y), (x_test, y_test) = datasets.load("digits", seed=0)
    model = build_mlp(input_shape=x.shape[1:], hidden_units=(64,))
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    before = model.evaluate(x_test, y_test, verbose=0)[1]
    model.fit(x, y, epochs=5, batch_size=32, verbose=0)
    after = model.evaluate(x_test, y_test, verbose=0)[1]
    assert before < 0.3 and after > 0.9


def test_save_load_and_config_round_trips_give_identical_predictions(assert_saves_and_loads):
    model = build_mlp(
        input_shape=(8, 8, 1),
        hidden_units=(32, 16),
        dropout_rate=0.2,
        input_dropout_rate=0.1,
        l2=1e-4,
    )
    x = np.random.default_rng(0).random((7, 8, 8, 1)).astype("float32")
    expected = model.predict_on_batch(x)
    assert_saves_and_loads(model, x)

    clone = keras.Model.from_config(model.get_config())
    clone.set_weights(model.get_weights())
    np.testing.assert_array_equal(clone.predict_on_batch(x), expected)
    assert clone.get_config() == model.get_config()


@pytest.mark.parametrize("dropout", [dict(dropout_rate=0.5), dict(input_dropout_rate=0.2)])
def test_dropout_does_not_change_the_initial_weights(dropout):
    keras.utils.set_random_seed(3)
    plain = build_mlp((10,), 3, (16, 8))
    keras.utils.set_random_seed(3)
    thinned = build_mlp((10,), 3, (16, 8), **dropout)
    for a, b in zip(plain.get_weights(), thinned.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
