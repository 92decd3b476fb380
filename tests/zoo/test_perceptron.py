import keras
import numpy as np
import pytest

from zoo.mlp import build_mlp
from zoo.perceptron import Perceptron, build_perceptron, forward_numpy

LOGIC = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype="float32")
AND, OR, XOR = np.array([0, 0, 0, 1]), np.array([0, 1, 1, 1]), np.array([0, 1, 1, 0])


@pytest.mark.parametrize("y", [AND, OR], ids=["and", "or"])
def test_the_perceptron_rule_converges_on_separable_logic(y):
    for seed in range(5):
        perceptron = Perceptron(seed=seed).fit(LOGIC, y)
        assert perceptron.converged and perceptron.score(LOGIC, y) == 1.0
        assert 0 < perceptron.updates < 50


def test_the_perceptron_never_converges_on_xor():
    perceptron = Perceptron(max_epochs=200, seed=0).fit(LOGIC, XOR)
    assert not perceptron.converged and perceptron.epochs == 200
    assert perceptron.score(LOGIC, XOR) <= 0.75


def test_one_update_is_the_rule_written_out():
    perceptron = Perceptron(max_epochs=1, shuffle=False, learning_rate=0.5).fit(
        LOGIC[3:], np.array([1])
    )
    np.testing.assert_array_equal(perceptron.weights, [0.5, 0.5])  # w = 0 + 0.5 * (1 - 0) * [1, 1]
    assert perceptron.bias == 0.5 and perceptron.updates == 1


def test_updates_stay_within_novikoffs_bound():
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, size=(300, 2))
    direction = np.array([0.6, 0.8])
    margin = x @ direction
    x, margin = x[np.abs(margin) > 0.1], margin[np.abs(margin) > 0.1]
    perceptron = Perceptron(max_epochs=1000, seed=0).fit(x, (margin > 0).astype(int))
    radius = np.linalg.norm(np.c_[x, np.ones(len(x))], axis=1).max()  # the bias as a constant input
    gamma = np.abs(margin).min() / np.linalg.norm([*direction, 0.0])
    assert perceptron.converged and perceptron.updates <= (radius / gamma) ** 2


@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid", "linear"])
def test_forward_propagation_by_hand_equals_keras(activation):
    keras.utils.set_random_seed(0)
    model = build_mlp(
        input_shape=(3,),
        num_classes=4,
        hidden_units=(5, 6),
        activation=activation,
        dropout_rate=0.5,
    )
    x = np.random.default_rng(1).normal(size=(20, 3)).astype("float32")
    output, layers = forward_numpy(model, x, return_layers=True)
    np.testing.assert_allclose(output, model.predict_on_batch(x), atol=1e-6)
    assert [a.shape[1] for a in layers if a.shape[1] != 3][-1] == 4
    np.testing.assert_allclose(output.sum(axis=1), 1.0, atol=1e-12)  # the softmax output


def test_forward_numpy_refuses_layers_it_cannot_compute():
    model = keras.Sequential([keras.Input((4, 4, 1)), keras.layers.Conv2D(2, 3)])
    with pytest.raises(NotImplementedError, match="Conv2D"):
        forward_numpy(model, np.zeros((1, 4, 4, 1)))


def test_dense_layers_without_a_nonlinearity_collapse_into_one():
    keras.utils.set_random_seed(0)
    model = build_mlp(input_shape=(2,), num_classes=3, hidden_units=(8, 8), activation="linear")
    kernels, biases = model.get_weights()[0::2], model.get_weights()[1::2]
    kernel, bias = kernels[0], biases[0]
    for k, b in zip(kernels[1:], biases[1:]):
        kernel, bias = kernel @ k, bias @ k + b
    x = np.random.default_rng(0).normal(size=(10, 2))
    logits = x @ kernel + bias
    expected = np.exp(logits - logits.max(axis=1, keepdims=True))
    np.testing.assert_allclose(
        forward_numpy(model, x), expected / expected.sum(axis=1, keepdims=True), atol=1e-6
    )


def test_a_single_neuron_cannot_learn_xor_but_one_hidden_layer_can(assert_saves_and_loads):
    keras.utils.set_random_seed(0)
    neuron = build_perceptron(input_dim=2)
    neuron.compile(keras.optimizers.Adam(0.1), "binary_crossentropy")
    neuron.fit(
        np.repeat(LOGIC, 50, axis=0), np.repeat(XOR, 50), batch_size=200, epochs=100, verbose=0
    )
    assert np.mean((neuron.predict_on_batch(LOGIC)[:, 0] > 0.5) == XOR) <= 0.75
    mlp = build_mlp(input_shape=(2,), num_classes=2, hidden_units=(4,), activation="tanh")
    mlp.compile(keras.optimizers.Adam(0.1), "sparse_categorical_crossentropy")
    mlp.fit(np.repeat(LOGIC, 50, axis=0), np.repeat(XOR, 50), batch_size=200, epochs=100, verbose=0)
    assert (mlp.predict_on_batch(LOGIC).argmax(axis=1) == XOR).all()
    assert_saves_and_loads(neuron, LOGIC)
