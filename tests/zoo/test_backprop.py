import keras
import numpy as np
import pytest

from zoo import backprop as bp
from zoo.mlp import build_mlp
from zoo.perceptron import softmax
from zoo.training import gradients

# Keras computes on JAX every reduction of a 64-bit tensor (ops.mean in the losses) in
# 32 bits (BIT64_TO_BIT32_DTYPE in keras/src/backend/common/dtypes.py), so Keras' float64
# gradients and losses agree with the hand-written ones to float32 round-off there.
KERAS_FLOAT64 = 1e-6 if keras.backend.backend() == "jax" else 1e-12


@pytest.fixture(autouse=True)
def in_float64():
    with bp.float64():
        yield


def _network(activation, seed=0):
    keras.utils.set_random_seed(seed)
    model = build_mlp(
        input_shape=(5,), num_classes=3, hidden_units=(6, 4), activation=activation, dtype="float64"
    )
    rng = np.random.default_rng(seed)
    model.set_weights(
        [w if w.ndim > 1 else rng.normal(0, 0.5, w.shape) for w in model.get_weights()]
    )
    return model, rng.normal(size=(10, 5)), rng.integers(0, 3, 10)


@pytest.mark.parametrize("activation", ["tanh", "relu", "sigmoid", "linear"])
@pytest.mark.parametrize(
    "loss, keras_loss",
    [("cross_entropy", "sparse_categorical_crossentropy"), ("mse", "mean_squared_error")],
)
def test_backprop_by_hand_equals_keras_and_finite_differences(activation, loss, keras_loss):
    model, x, y = _network(activation)
    value, hand = bp.backprop(model, x, y, loss)
    targets = np.eye(3)[y] if loss == "mse" else y
    auto = gradients(model, x, targets, keras_loss)
    assert [g.shape for g in hand] == [tuple(w.shape) for w in model.trainable_weights]
    assert bp.relative_error(hand, auto) < KERAS_FLOAT64
    assert bp.relative_error(hand, bp.finite_differences(model, x, y, loss)) < 1e-7
    expected = keras.losses.get(keras_loss)(targets, model.predict_on_batch(x))
    assert value == pytest.approx(
        float(np.mean(keras.ops.convert_to_numpy(expected))), rel=KERAS_FLOAT64
    )


def test_the_cross_entropy_gradient_at_the_logits_is_p_minus_the_label():
    p = softmax(np.array([[1.0, 2.0, 0.5], [0.0, 0.0, 3.0]]))
    np.testing.assert_allclose(
        bp.output_gradient(p, np.array([0, 2]), "cross_entropy"), (p - np.eye(3)[[0, 2]]) / 2
    )


def test_squared_error_stops_pushing_a_confidently_wrong_softmax():
    p = softmax(np.array([[0.0, 10.0]]))  # class 0 is the truth
    cross_entropy = np.linalg.norm(bp.output_gradient(p, np.array([0]), "cross_entropy"))
    mse = np.linalg.norm(bp.output_gradient(p, np.array([0]), "mse"))
    assert cross_entropy > 1 and mse < 1e-3 * cross_entropy


def test_backprop_refuses_networks_it_does_not_cover():
    with pytest.raises(NotImplementedError, match="softmax"):
        bp.backprop(
            keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)]), np.zeros((1, 2)), [0]
        )
    with pytest.raises(ValueError, match="loss"):
        bp.backprop(_network("tanh")[0], np.zeros((1, 5)), [0], "hinge")


def test_build_mlp_in_float64():
    model = build_mlp(input_shape=(3,), num_classes=2, hidden_units=(2,), dtype="float64")
    assert {w.dtype for w in model.weights} == {"float64"}
    assert model.predict_on_batch(np.ones((1, 3))).dtype == np.float64
