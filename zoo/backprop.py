"""Backpropagation written out: the chain rule, layer by layer, in NumPy.

A network's loss is a function of its weights. Its gradient says how the loss changes
as each weight changes; gradient descent steps against it. Backpropagation computes all
of it in one backward sweep: the forward pass keeps every layer's input and
pre-activation; the backward pass starts from the loss's derivative with respect to the
output and, layer by layer, applies the chain rule,

    dz = da * f'(z)            through the activation
    dW = a_prev^T dz           the layer's weight gradient
    db = sum of dz over the batch
    da_prev = dz W^T           handed to the layer before,

so each weight's gradient costs about as much as the forward pass itself. Keras does the
same by automatic differentiation (`zoo.training.gradients`); `backprop` here does it by
hand, for the Dense softmax classifiers of `zoo.mlp.build_mlp`, under two losses:
- "cross_entropy": `-log p_y`, whose gradient at the logits is simply `p - onehot(y)`;
- "mse": the mean squared error between `p` and `onehot(y)`, whose gradient passes
  through the softmax's slope and vanishes when the output saturates, even when the
  output is confidently wrong.

Example:
    >>> model = build_mlp(input_shape=(5,), num_classes=3, hidden_units=(4,), activation="tanh")
    >>> loss, grads = backprop(model, x, y, "cross_entropy")   # one array per model.trainable_weights
"""

import contextlib

import keras
import numpy as np

from zoo import perceptron
from zoo.perceptron import ACTIVATIONS

LOSSES = ("cross_entropy", "mse")
# The Keras loss that computes each of them from the softmax output.
KERAS_LOSSES = {"cross_entropy": "sparse_categorical_crossentropy", "mse": "mean_squared_error"}


def keras_targets(loss, y, num_classes):
    """The targets Keras's loss for `loss` takes: class indices for the cross-entropy, one-hot
    rows for the squared error (which compares the softmax output with them)."""
    return np.eye(num_classes)[y] if loss == "mse" else y


# The derivative of each hidden activation, as a function of the pre-activation z.
DERIVATIVES = {
    "linear": np.ones_like,
    "relu": lambda z: (z > 0).astype(z.dtype),
    "tanh": lambda z: 1 - np.tanh(z) ** 2,
    "sigmoid": lambda z: np.exp(-z) / (1 + np.exp(-z)) ** 2,
}


@contextlib.contextmanager
def float64():
    """A context in which Keras computes in float64 on every backend: JAX, unlike
    TensorFlow, makes every array float32 unless 64-bit types are enabled, which this
    does for the duration (for the whole process: JAX's flag is global, and Keras reads
    it). Build a float64 model and compute its gradients inside it.

    Example:
        >>> with float64():
        ...     model = build_mlp((5,), 3, (4,), dtype="float64")
        ...     grads = gradients(model, x, y)
    """
    if keras.backend.backend() != "jax":
        yield
        return
    import jax

    enabled = jax.config.jax_enable_x64
    jax.config.update("jax_enable_x64", True)
    try:
        yield
    finally:
        jax.config.update("jax_enable_x64", enabled)


def dense_layers(model):
    """`zoo.perceptron.dense_layers`, checked to be a softmax classifier that backprop covers:
    every Dense layer with a bias, every hidden activation one of `DERIVATIVES`."""
    if any(isinstance(layer, keras.layers.Dense) and not layer.use_bias for layer in model.layers):
        raise NotImplementedError("backprop handles Dense layers with a bias")
    layers = perceptron.dense_layers(model)
    if not layers or layers[-1][2] != "softmax":
        raise NotImplementedError(
            "backprop expects a classifier whose last Dense layer is a softmax"
        )
    unknown = {activation for _, _, activation in layers[:-1]} - set(DERIVATIVES)
    if unknown:
        raise NotImplementedError(f"backprop has no derivative for {', '.join(sorted(unknown))}")
    return layers


def forward(layers, x):
    """Forward pass; returns the probabilities and the cache the backward pass needs."""
    a = np.asarray(x, dtype="float64").reshape(len(x), -1)
    cache = []
    for kernel, bias, activation in layers:
        z = a @ kernel + bias
        cache.append((a, z))
        a = ACTIVATIONS[activation](z)
    return a, cache


def loss_value(probabilities, y, loss):
    """The mean loss over the batch, as Keras computes it (MSE averages over classes too)."""
    onehot = np.eye(probabilities.shape[1])[y]
    if loss == "cross_entropy":
        return float(-np.mean(np.log(probabilities[np.arange(len(y)), y])))
    if loss == "mse":
        return float(np.mean((probabilities - onehot) ** 2))
    raise ValueError(f"loss must be one of {', '.join(LOSSES)}, got {loss!r}")


def output_gradient(probabilities, y, loss):
    """d(mean loss) / d(logits): where the backward pass starts."""
    n, classes = probabilities.shape
    onehot = np.eye(classes)[y]
    if loss == "cross_entropy":
        return (probabilities - onehot) / n
    if loss == "mse":
        d_probabilities = 2 * (probabilities - onehot) / (n * classes)
        # Through the softmax: dz_i = p_i (dp_i - sum_j dp_j p_j).
        return probabilities * (
            d_probabilities - np.sum(d_probabilities * probabilities, axis=1, keepdims=True)
        )
    raise ValueError(f"loss must be one of {', '.join(LOSSES)}, got {loss!r}")


def backward(layers, cache, probabilities, y, loss):
    """The chain rule from the output back to the input: `[(dW, db), ...]`, input side first."""
    dz = output_gradient(probabilities, y, loss)
    grads = []
    for index in range(len(layers) - 1, -1, -1):
        kernel, _, _ = layers[index]
        a_previous, _ = cache[index]
        grads.append((a_previous.T @ dz, dz.sum(axis=0)))
        if index:
            _, z_previous = cache[index - 1]
            derivative = DERIVATIVES[layers[index - 1][2]]
            dz = (dz @ kernel.T) * derivative(z_previous)
    return grads[::-1]


def backprop(model, x, y, loss="cross_entropy"):
    """The mean loss of `model` on `(x, y)` and its gradients, by hand, in float64.

    Args:
        model: a chain of Dense layers ending in a softmax, such as `zoo.mlp.build_mlp`.
        x: inputs; y: integer class labels.
        loss: "cross_entropy" or "mse" (against one-hot labels).

    Returns:
        `(loss, gradients)`, the gradients in the order of `model.trainable_weights`
        (each layer's kernel, then its bias).
    """
    layers = dense_layers(model)
    y = np.asarray(y)
    probabilities, cache = forward(layers, x)
    grads = backward(layers, cache, probabilities, y, loss)
    return loss_value(probabilities, y, loss), [g for pair in grads for g in pair]


def finite_differences(model, x, y, loss="cross_entropy", epsilon=1e-6):
    """Central differences `(L(w + e) - L(w - e)) / 2e` for every weight, in float64.

    Slow (two forward passes per weight) and approximate (error of order epsilon^2), but
    needs nothing except the loss: the reference that backprop is checked against.
    """
    layers = dense_layers(model)
    y = np.asarray(y)
    params = [array for kernel, bias, _ in layers for array in (kernel, bias)]
    names = [activation for _, _, activation in layers]

    def loss_at(values):
        rebuilt = [(values[2 * i], values[2 * i + 1], name) for i, name in enumerate(names)]
        return loss_value(forward(rebuilt, x)[0], y, loss)

    grads = []
    for param in params:
        grad = np.zeros_like(param)
        for index in np.ndindex(param.shape):
            original = param[index]
            param[index] = original + epsilon
            above = loss_at(params)
            param[index] = original - epsilon
            below = loss_at(params)
            param[index] = original
            grad[index] = (above - below) / (2 * epsilon)
        grads.append(grad)
    return grads


def relative_error(a, b):
    """`||a - b|| / max(||a||, ||b||)` over lists of arrays taken as one vector."""
    a = np.concatenate([np.ravel(x) for x in a])
    b = np.concatenate([np.ravel(x) for x in b])
    scale = max(np.linalg.norm(a), np.linalg.norm(b))
    return float(np.linalg.norm(a - b) / scale) if scale else 0.0
