"""Convolution as a prior: locality and translation equivariance built into a network.

A 1-D convolution looks at a few neighbouring positions at a time and slides the same
weights along the signal: what it learns at one place it knows at every place, and it
never relates two far-apart positions directly. That is knowledge about the data (nearby
samples belong together; a pattern means the same wherever it appears), given before any
training. An MLP has none of it: its first dense layer treats the positions as an
unordered set, so shuffling them, the same way for every example, changes nothing it
can learn (`permute_inputs` shows it exactly), while a convolution loses its footing.

- `build_cnn1d`: the convolutional network of the MNIST-1D paper (Greydanus 2020).
- `permute_inputs(model, permutation)`: the same dense network for inputs whose
  positions were permuted: its first kernel's rows permuted alike.
"""

import keras
import numpy as np


def build_cnn1d(input_length=40, num_classes=10, channels=25, kernel_sizes=(5, 3, 3), name="cnn1d"):
    """The convolutional network of the MNIST-1D paper (Greydanus 2020, `ConvBase`).

    1-D convolutions of `channels` channels (kernels 5, 3 and 3 by default), each with
    stride 2 and one step of zero padding on either side, ReLU after each, then a dense
    layer from the flattened features to the logits. On signals of length 40 the
    features are 5 steps of 25 channels, the reference's `linear_in=125`. The paper
    reports 94% test accuracy, against 68% for an MLP, and 56% once the signals'
    positions are shuffled (the MLP: still 68%).

    Args:
        input_length: length of a signal.
        num_classes: number of classes.
        channels: channels of every convolution.
        kernel_sizes: the width of each convolution's kernel, input side first.
        name: name of the model.

    Returns:
        An uncompiled `keras.Model` from signals `(input_length,)` to logits (no
        softmax: train it with `from_logits=True`).

    Example:
        >>> build_cnn1d().output_shape
        (None, 10)
    """
    if num_classes < 2:
        raise ValueError(f"num_classes must be at least 2, got {num_classes}")
    if channels < 1:
        raise ValueError(f"channels must be positive, got {channels}")
    if not kernel_sizes or any(int(size) < 1 for size in kernel_sizes):
        raise ValueError(f"kernel_sizes must be positive, got {tuple(kernel_sizes)}")
    inputs = keras.Input(shape=(input_length,), name="signal")
    x = keras.layers.Reshape((input_length, 1), name="channel_axis")(inputs)
    for index, kernel in enumerate(kernel_sizes):
        x = keras.layers.ZeroPadding1D(1, name=f"pad_{index}")(x)
        x = keras.layers.Conv1D(
            channels, int(kernel), strides=2, activation="relu", name=f"conv_{index}"
        )(x)
    x = keras.layers.Flatten(name="flatten")(x)
    outputs = keras.layers.Dense(num_classes, name="logits")(x)
    return keras.Model(inputs, outputs, name=name)


def permute_inputs(model, permutation):
    """A copy of `model` that gives on `x[:, permutation]` exactly what `model` gives on
    `x`: the rows of its first dense layer's kernel permuted the same way.

    A dense layer sums `x[i] * kernel[i]` over the positions `i`, in no particular order;
    moving each input and its row of weights together leaves every sum as it was. So a
    dense network trained on permuted signals can reach every function it could reach on
    the ordered ones. (A convolution has no such copy: its kernel's weights are shared
    by neighbours, and a permutation makes them strangers.)

    Args:
        model: a Keras model whose inputs `(n, length)` go straight into a `Dense` layer.
        permutation: the order of the positions, `x_permuted = x[:, permutation]`.
    """
    permutation = np.asarray(permutation)
    first = next(layer for layer in model.layers if isinstance(layer, keras.layers.Dense))
    length = first.kernel.shape[0]
    if sorted(permutation.tolist()) != list(range(length)):
        raise ValueError(f"permutation must order the {length} inputs, got {permutation.tolist()}")
    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    kernel = keras.ops.convert_to_numpy(first.kernel)
    copy.get_layer(first.name).kernel.assign(kernel[permutation])
    return copy
