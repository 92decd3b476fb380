"""Neurons, perceptrons and forward propagation.

A neuron takes inputs, weighs each one, adds a bias and applies a function:
`y = f(w . x + b)`. Rosenblatt's perceptron (1958) is the neuron whose function is a
step, 1 if `w . x + b > 0` else 0, trained by his rule: after each mistake, move the
weights toward the example it got wrong. On data that a straight line (a hyperplane)
separates, the rule stops making mistakes after finitely many updates (Novikoff 1962);
on XOR, which no line separates, it never does (Minsky & Papert 1969).

A dense layer is many neurons side by side, each seeing every input; a network feeds
one layer's outputs forward as the next layer's inputs, with no cycles. That is all
forward propagation is, and `forward_numpy` does it by hand from a Keras model's weights.
Without a non-linear function between them, stacked dense layers collapse into one:
`W2 (W1 x + b1) + b2` is again `W x + b`.

Example:
    >>> perceptron = Perceptron().fit(x, y)          # y in {0, 1}
    >>> perceptron.updates, perceptron.converged
    >>> model = build_mlp(input_shape=(2,), num_classes=2, hidden_units=(4,), activation="tanh")
    >>> np.allclose(forward_numpy(model, x), model.predict(x))
    True
"""

import keras
import numpy as np


class Perceptron:
    """Rosenblatt's perceptron, trained by the perceptron rule (NumPy).

    For each training example `(x, y)`, `y` in {0, 1}, in turn:

        prediction = 1 if w . x + b > 0 else 0
        w = w + learning_rate * (y - prediction) * x
        b = b + learning_rate * (y - prediction)

    so nothing changes when the prediction is right. Training stops after an epoch
    without a mistake (`converged`) or after `max_epochs`.

    Args:
        learning_rate: the step of each update. With zero initial weights it only
            scales `w` and `b`, and changes no prediction.
        max_epochs: passes over the data at most.
        shuffle: present the examples in a new random order every epoch.
        seed: fixes the order, and the initial weights when `initial_scale > 0`.
        initial_scale: standard deviation of the random initial weights; 0 starts at zero.

    Attributes (after `fit`): `weights`, `bias`, `updates` (mistakes corrected),
    `epochs`, `converged`.

    Example:
        >>> x = np.array([[0, 0], [0, 1], [1, 0], [1, 1]])
        >>> p = Perceptron().fit(x, np.array([0, 0, 0, 1]))      # AND
        >>> p.converged, p.predict(x)
        (True, array([0, 0, 0, 1]))
    """

    def __init__(
        self, learning_rate=1.0, max_epochs=100, shuffle=True, seed=None, initial_scale=0.0
    ):
        if learning_rate <= 0 or max_epochs < 1 or initial_scale < 0:
            raise ValueError(
                "learning_rate must be positive, max_epochs at least 1, initial_scale not negative"
            )
        self.learning_rate = learning_rate
        self.max_epochs = max_epochs
        self.shuffle = shuffle
        self.seed = seed
        self.initial_scale = initial_scale

    def fit(self, x, y):
        x, y = np.asarray(x, dtype="float64"), np.asarray(y)
        if not np.isin(y, (0, 1)).all():
            raise ValueError("the perceptron's labels must be 0 or 1")
        rng = np.random.default_rng(self.seed)
        self.weights = (
            rng.normal(0.0, self.initial_scale, x.shape[1])
            if self.initial_scale
            else np.zeros(x.shape[1])
        )
        self.bias = 0.0
        self.updates, self.converged = 0, False
        for self.epochs in range(1, self.max_epochs + 1):
            mistakes = 0
            for i in rng.permutation(len(y)) if self.shuffle else range(len(y)):
                error = y[i] - self.predict(x[i : i + 1])[0]
                if error:  # the perceptron rule
                    self.weights += self.learning_rate * error * x[i]
                    self.bias += self.learning_rate * error
                    mistakes += 1
            self.updates += mistakes
            if not mistakes:
                self.converged = True
                break
        return self

    def decision_function(self, x):
        return np.asarray(x, dtype="float64") @ self.weights + self.bias

    def predict(self, x):
        return (self.decision_function(x) > 0).astype("int64")

    def score(self, x, y):
        return float(np.mean(self.predict(x) == np.asarray(y)))


def build_perceptron(input_dim=2, activation="sigmoid", name="neuron"):
    """A single neuron as a Keras model: one Dense unit, `activation(w . x + b)`.

    With "sigmoid" and binary cross-entropy it is logistic regression, the perceptron
    made differentiable so that gradient descent can train it; its decision boundary is
    still one straight line.
    """
    inputs = keras.Input((input_dim,))
    outputs = keras.layers.Dense(1, activation=activation, name="neuron")(inputs)
    return keras.Model(inputs, outputs, name=name)


def softmax(z):
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


ACTIVATIONS = {
    "linear": lambda z: z,
    "relu": lambda z: np.maximum(z, 0),
    "tanh": np.tanh,
    "sigmoid": lambda z: 1 / (1 + np.exp(-z)),
    "softmax": softmax,
}


def dense_layers(model):
    """`[(kernel, bias, activation name), ...]` of a model's chain of Dense layers, in
    float64 (a zero bias where a layer has none). Input and Flatten layers, and Dropout,
    which does nothing at inference, are passed over; any other layer is refused."""
    layers = []
    for layer in model.layers:
        if isinstance(layer, (keras.layers.InputLayer, keras.layers.Flatten, keras.layers.Dropout)):
            continue
        if not isinstance(layer, keras.layers.Dense):
            raise NotImplementedError(
                f"forward propagation by hand handles Dense layers, not {type(layer).__name__}"
            )
        name = keras.activations.serialize(layer.activation)
        if not isinstance(name, str) or name not in ACTIVATIONS:
            raise NotImplementedError(
                f"forward propagation by hand does not know the activation {name!r}"
            )
        kernel = keras.ops.convert_to_numpy(layer.kernel).astype("float64")
        bias = (
            keras.ops.convert_to_numpy(layer.bias).astype("float64")
            if layer.use_bias
            else np.zeros(kernel.shape[1])
        )
        layers.append((kernel, bias, name))
    return layers


def forward_numpy(model, x, return_layers=False):
    """Forward propagation by hand: each Dense layer computes `activation(x @ W + b)` from
    the Keras model's own weights, and hands the result to the next.

    Handles chains of Dense layers (see `dense_layers`), in float64. Meant to agree with
    `model.predict(x)` to float32 round-off.

    Args:
        model: a Sequential or functional Keras model whose layers run in a chain.
        x: the inputs.
        return_layers: also return every Dense layer's output, input side first.
    """
    a = np.asarray(x, dtype="float64").reshape(len(x), -1)
    outputs = []
    for kernel, bias, activation in dense_layers(model):
        a = ACTIVATIONS[activation](a @ kernel + bias)
        outputs.append(a)
    return (a, outputs) if return_layers else a
