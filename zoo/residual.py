"""Residual networks: skip connections that let a block's input jump over its layers.

A plain block computes `y = F(x)`; a residual block computes `y = x + F(x)`, so the
block only has to learn the residual `F(x) = y - x`, and doing nothing (`F = 0`) is
easy. He et al. (2016, "Deep residual learning for image recognition") found that
adding layers to a plain network makes its *training* error worse, the degradation
problem, while residual networks keep improving with depth. Veit et al. (2016,
"Residual networks behave like ensembles of relatively shallow networks") showed that
a trained residual network survives the deletion of any one block, a plain one does not.

The blocks here are He et al.'s improved "pre-activation" design (2016, "Identity
mappings in deep residual networks"): `F(x) = W2 act(norm(W1 act(norm(x))))`, nothing
after the sum, so the skip path from the input to the last block is the identity; the
network normalizes the sum once more before its output layer.

Why normalization matters in a residual stack: every block adds its branch to the
signal, `x_{l+1} = x_l + F(x_l)`. Without normalization and with He initialization a
branch roughly preserves the variance of its input, so `Var(x_{l+1}) ~ 2 Var(x_l)`,
and after `L` blocks the signal (and its gradient) is `2^L` times larger: a naive deep
sum diverges. The blocks avoid that in one of two ways:
- `normalization="batch"` (as in He et al.) or `"layer"`: the branch normalizes its
  input, so it adds a term of fixed variance however large the sum has grown, and
  `Var(x_L)` grows only linearly in `L`;
- `normalization=None` with `branch_scale=1/L` (the idea of Fixup, Zhang et al. 2019):
  the branch's last layer starts with its variance scaled by `1/L`, so
  `Var(x_L) ~ (1 + 1/L)^L Var(x_0) <= e Var(x_0)`.

This module has:
- `ResidualBlock`: two Dense layers with normalization, the skip on or off;
- `ConvResidualBlock`: the same with 3x3 convolutions, optionally strided;
- `build_residual_mlp` and `build_resnet` (CIFAR-style), each with a plain twin
  (`residual=False`) that differs only by the skip connections;
- `without_block(model, index)`: a copy of a trained model with one block deleted.
"""

import keras

NORMALIZATIONS = ("batch", "layer", None)


def normalization_layer(kind, name):
    """A `BatchNormalization` or `LayerNormalization` layer, or `None` for `kind=None`."""
    if kind is None:
        return None
    layers = {"batch": keras.layers.BatchNormalization, "layer": keras.layers.LayerNormalization}
    if kind not in layers:
        raise ValueError(f"normalization must be one of {NORMALIZATIONS}, got {kind!r}")
    return layers[kind](name=name)


class _Block(keras.layers.Layer):
    """What the dense and convolutional blocks share: `x + t2(act(norm(t1(act(norm(x))))))`.

    Subclasses make the two transforms and the projection in `_transform`.
    """

    strides = 1  # the convolutional block may stride its first layer

    def __init__(
        self,
        width,
        residual=True,
        normalization="batch",
        activation="relu",
        branch_scale=1.0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if int(width) < 1:
            raise ValueError(f"width must be positive, got {width}")
        if normalization not in NORMALIZATIONS:
            raise ValueError(
                f"normalization must be one of {NORMALIZATIONS}, got {normalization!r}"
            )
        if not branch_scale > 0:
            raise ValueError(f"branch_scale must be positive, got {branch_scale}")
        self.width = int(width)
        self.residual = bool(residual)
        self.normalization = normalization
        self.activation = keras.activations.get(activation)
        self.branch_scale = float(branch_scale)

    def _transform(self, initializer, strides, name):
        """A Dense or Conv2D layer with `self.width` units."""
        raise NotImplementedError

    def changes_shape(self, input_shape):
        """Whether the block's output shape differs from its input's (then the skip projects)."""
        return input_shape[-1] != self.width or self.strides != 1

    def build(self, input_shape):
        he = dict(mode="fan_in", distribution="truncated_normal")
        self.norm_1 = normalization_layer(self.normalization, "norm_1")
        self.transform_1 = self._transform(
            keras.initializers.VarianceScaling(2.0, **he), self.strides, "transform_1"
        )
        self.norm_2 = normalization_layer(self.normalization, "norm_2")
        # The branch's last layer: He initialization, its variance scaled by `branch_scale`.
        self.transform_2 = self._transform(
            keras.initializers.VarianceScaling(2.0 * self.branch_scale, **he), 1, "transform_2"
        )
        self.transform_1.build(input_shape)
        hidden_shape = self.transform_1.compute_output_shape(input_shape)
        self.transform_2.build(hidden_shape)
        if self.normalization:
            self.norm_1.build(input_shape)
            self.norm_2.build(hidden_shape)
        self.projection = None
        if self.residual and self.changes_shape(input_shape):
            # He et al.'s option B: a learned linear projection where the shape changes.
            self.projection = self._transform("glorot_uniform", self.strides, "projection")
            self.projection.build(input_shape)

    def call(self, inputs, training=None):
        x = inputs
        if self.norm_1 is not None:
            x = self.norm_1(x, training=training)
        x = self.activation(x)
        # As in He et al.'s code, a projection shortcut takes the normalized input.
        shortcut = inputs if self.projection is None else self.projection(x)
        x = self.transform_1(x)
        if self.norm_2 is not None:
            x = self.norm_2(x, training=training)
        x = self.transform_2(self.activation(x))
        return x + shortcut if self.residual else x

    def get_config(self):
        config = super().get_config()
        config.update(
            width=self.width,
            residual=self.residual,
            normalization=self.normalization,
            activation=keras.activations.serialize(self.activation),
            branch_scale=self.branch_scale,
        )
        return config


@keras.saving.register_keras_serializable(package="zoo")
class ResidualBlock(_Block):
    """Two Dense layers with normalization, and a skip connection around them.

    `outputs = x + dense_2(act(norm_2(dense_1(act(norm_1(x))))))` with `residual=True`;
    the same without `x +` with `residual=False`, so a plain network and a residual one
    built from these blocks differ by the skip connections alone. This is the
    pre-activation block of He et al. (2016, "Identity mappings in deep residual
    networks"). Where the input width differs from `width`, the skip goes through a
    learned projection (a Dense layer on the normalized input), He et al.'s option B.

    Args:
        width: number of units of both Dense layers, and of the output.
        residual: whether to add the skip connection.
        normalization: `"batch"` (BatchNormalization, as in He et al.), `"layer"`
            (LayerNormalization) or `None`.
        activation: activation after each normalization.
        branch_scale: the variance of the second Dense layer's He initialization is
            multiplied by this; with `normalization=None`, `1 / num_blocks` keeps a
            deep stack of residual blocks from blowing up (see the module docstring).
        **kwargs: standard layer arguments such as `name`.

    Example:
        >>> block = ResidualBlock(64)
        >>> block(keras.ops.ones((2, 64))).shape
        (2, 64)
    """

    def _transform(self, initializer, strides, name):
        # With normalization, a bias is cancelled by the next normalization layer.
        return keras.layers.Dense(
            self.width,
            use_bias=self.normalization is None,
            kernel_initializer=initializer,
            name=name,
        )

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.width)


@keras.saving.register_keras_serializable(package="zoo")
class ConvResidualBlock(_Block):
    """Two 3x3 convolutions with normalization, and a skip connection around them.

    The basic block of He et al.'s CIFAR ResNets, in its pre-activation form. The first
    convolution may be strided to halve the feature map; the skip then goes through a
    strided 1x1 convolution.

    Args:
        width: number of filters of both convolutions.
        residual: whether to add the skip connection.
        normalization: `"batch"`, `"layer"` or `None`.
        activation: activation after each normalization.
        branch_scale: multiplies the variance of the second convolution's He
            initialization.
        strides: stride of the first convolution (and of the projection).
        **kwargs: standard layer arguments such as `name`.

    Example:
        >>> block = ConvResidualBlock(32, strides=2)
        >>> block(keras.ops.ones((2, 16, 16, 16))).shape
        (2, 8, 8, 32)
    """

    def __init__(
        self,
        width,
        residual=True,
        normalization="batch",
        activation="relu",
        branch_scale=1.0,
        strides=1,
        **kwargs,
    ):
        super().__init__(width, residual, normalization, activation, branch_scale, **kwargs)
        if int(strides) < 1:
            raise ValueError(f"strides must be positive, got {strides}")
        self.strides = int(strides)

    def _transform(self, initializer, strides, name):
        kernel_size = 1 if name == "projection" else 3
        return keras.layers.Conv2D(
            self.width,
            kernel_size,
            strides=strides,
            padding="same",
            use_bias=self.normalization is None,
            kernel_initializer=initializer,
            name=name,
        )

    def compute_output_shape(self, input_shape):
        batch, height, width, _ = input_shape
        # "same" padding
        spatial = [None if size is None else -(-size // self.strides) for size in (height, width)]
        return (batch, *spatial, self.width)

    def get_config(self):
        return {**super().get_config(), "strides": self.strides}


def _head(x, num_classes, normalization, activation):
    """The final normalization and activation of a pre-activation network, then the output layer."""
    norm = normalization_layer(normalization, "final_norm")
    if norm is not None:
        x = norm(x)
    x = keras.layers.Activation(activation, name="final_activation")(x)
    if len(x.shape) > 2:
        x = keras.layers.GlobalAveragePooling2D(name="pool")(x)
    return keras.layers.Dense(num_classes, activation="softmax", name="predictions")(x)


def _check(num_classes, normalization):
    if num_classes < 2:
        raise ValueError(f"num_classes must be at least 2, got {num_classes}")
    if normalization not in NORMALIZATIONS:
        raise ValueError(f"normalization must be one of {NORMALIZATIONS}, got {normalization!r}")


def build_residual_mlp(
    input_shape=(40,),
    num_classes=10,
    num_blocks=4,
    width=64,
    residual=True,
    normalization="batch",
    activation="relu",
    name=None,
):
    """Builds a deep fully connected classifier from `ResidualBlock`s, or its plain twin.

    Layout: a Dense stem of `width` units, `num_blocks` blocks of two Dense layers,
    then normalization, activation and a softmax layer: `2 * num_blocks + 2` Dense
    layers in all, the depth He et al. count. `residual=False` gives the plain network
    with the same layers and the same parameter count.

    Args:
        input_shape: shape of one example; inputs with more than one axis are flattened.
        num_classes: number of output classes.
        num_blocks: number of blocks.
        width: units of every hidden layer.
        residual: skip connections on (a ResNet) or off (a plain network).
        normalization: `"batch"`, `"layer"` or `None`; with `None`, the residual
            blocks' last layers start scaled by `branch_scale=1/num_blocks` so the
            residual sum does not blow up.
        activation: hidden activation.
        name: model name; default `"residual_mlp_{depth}"` or `"plain_mlp_{depth}"`.

    Returns:
        An uncompiled `keras.Model` whose blocks are named `block_0`, `block_1`, ...

    Example:
        >>> model = build_residual_mlp(input_shape=(40,), num_blocks=5, width=64)
        >>> len(blocks(model))
        5
    """
    _check(num_classes, normalization)
    if num_blocks < 0 or width < 1:
        raise ValueError(
            f"num_blocks must be non-negative and width positive, got {num_blocks} and {width}"
        )
    name = name or f"{'residual' if residual else 'plain'}_mlp_{2 * num_blocks + 2}"
    inputs = keras.Input(shape=tuple(input_shape), name="inputs")
    x = keras.layers.Flatten(name="flatten")(inputs) if len(input_shape) > 1 else inputs
    x = keras.layers.Dense(width, kernel_initializer="he_normal", name="stem")(x)
    # Only a residual sum needs its branches scaled down (see the module docstring).
    branch_scale = 1.0 / num_blocks if residual and normalization is None and num_blocks else 1.0
    for index in range(num_blocks):
        x = ResidualBlock(
            width,
            residual=residual,
            normalization=normalization,
            activation=activation,
            branch_scale=branch_scale,
            name=f"block_{index}",
        )(x)
    return keras.Model(inputs, _head(x, num_classes, normalization, activation), name=name)


def build_resnet(
    input_shape=(32, 32, 3),
    num_classes=10,
    blocks_per_stage=3,
    filters=(16, 32, 64),
    residual=True,
    normalization="batch",
    name=None,
):
    """Builds a CIFAR-style ResNet (He et al. 2016, Section 4.2), or its plain twin.

    A 3x3 convolution with `filters[0]` filters, then one stage per entry of `filters`,
    each of `blocks_per_stage` `ConvResidualBlock`s; every stage after the first halves
    the feature map in its first block. Normalization, ReLU, global average pooling and
    a softmax layer finish it. With three stages the network has `6n + 2` weight layers
    for `n` blocks per stage: `n=3` is ResNet-20, `n=18` ResNet-110.

    Args:
        input_shape: shape of one image, `(height, width, channels)`.
        num_classes: number of output classes.
        blocks_per_stage: blocks in every stage.
        filters: filters of each stage.
        residual: skip connections on (ResNet) or off (plain network).
        normalization: `"batch"`, `"layer"` or `None`.
        name: model name; default `"resnet_{depth}"` or `"plain_{depth}"`.

    Returns:
        An uncompiled `keras.Model` whose blocks are named `block_0`, `block_1`, ...

    Example:
        >>> model = build_resnet(blocks_per_stage=3)    # ResNet-20
        >>> model.output_shape
        (None, 10)
    """
    _check(num_classes, normalization)
    if len(input_shape) != 3:
        raise ValueError(f"input_shape must be (height, width, channels), got {tuple(input_shape)}")
    if blocks_per_stage < 1 or not filters or min(filters) < 1:
        raise ValueError(
            "blocks_per_stage must be positive and filters a non-empty tuple of positive counts"
        )
    num_blocks = blocks_per_stage * len(filters)
    name = name or f"{'resnet' if residual else 'plain'}_{2 * num_blocks + 2}"
    inputs = keras.Input(shape=tuple(input_shape), name="inputs")
    x = keras.layers.Conv2D(
        filters[0], 3, padding="same", kernel_initializer="he_normal", name="stem"
    )(inputs)
    branch_scale = 1.0 / num_blocks if residual and normalization is None else 1.0
    for index in range(num_blocks):
        stage, position = divmod(index, blocks_per_stage)
        x = ConvResidualBlock(
            filters[stage],
            residual=residual,
            normalization=normalization,
            branch_scale=branch_scale,
            strides=2 if stage > 0 and position == 0 else 1,
            name=f"block_{index}",
        )(x)
    return keras.Model(inputs, _head(x, num_classes, normalization, "relu"), name=name)


def blocks(model):
    """The model's residual (or plain) blocks, input side first."""
    return [layer for layer in model.layers if isinstance(layer, _Block)]


def without_block(model, index):
    """A copy of a trained model with block `index` deleted, its weights copied.

    The block is replaced by the identity, so its input goes straight on to the next
    block; every other layer keeps its trained weights. This is Veit et al.'s lesion
    study: in a residual network the deleted block's input still reaches the next block
    through the skip connections, as it did in training; in a plain network the next
    block now sees a representation it never saw. No retraining happens.

    Args:
        model: a functional model built from `ResidualBlock`s or `ConvResidualBlock`s,
            such as `build_residual_mlp` or `build_resnet` return.
        index: which block to delete, counting from 0 at the input side.

    Returns:
        A new `keras.Model` (uncompiled) with one block fewer.

    Raises:
        ValueError: if there is no such block, or the block changes the shape of its
            input (a strided or widening block cannot be bypassed).
    """
    found = blocks(model)
    if not 0 <= index < len(found):
        raise ValueError(f"block index must be in [0, {len(found)}), got {index}")
    target = found[index]
    if target.changes_shape(target.input.shape):
        raise ValueError(
            f"block {target.name!r} changes the shape of its input and cannot be deleted"
        )

    def clone(layer):
        if layer is target:
            return keras.layers.Identity(name=f"{layer.name}_deleted")
        return layer.__class__.from_config(layer.get_config())

    lesioned = keras.models.clone_model(model, clone_function=clone)
    originals = {layer.name: layer for layer in model.layers}
    for layer in lesioned.layers:
        if layer.name in originals and layer.weights:
            layer.set_weights(originals[layer.name].get_weights())
    return lesioned


def predictions_without_each_block(model, inputs):
    """Predictions of `model` on `inputs` with each block deleted in turn, in one sweep.

    The same numbers as `without_block(model, i)(inputs)` for every block `i` that can
    be deleted, in inference mode, but computed with the model's own layers and without
    building any model: the activations up to each block are computed once and shared,
    which is what a lesion study over every block of many models can afford. Only for
    models whose layers form a single chain, as `build_residual_mlp` and `build_resnet`
    build.

    Args:
        model: a trained chain model built from residual or plain blocks.
        inputs: a batch of inputs.

    Returns:
        A dict from block index (counting from 0 at the input side) to the predictions,
        a NumPy array, of the model without that block. Blocks that change the shape of
        their input are left out.
    """
    layers = model.layers[1:]  # after the InputLayer
    if any(layer.input is not previous.output for previous, layer in zip(model.layers, layers)):
        raise ValueError(f"model {model.name!r} is not a chain of layers; use without_block")
    deletable = {
        id(block): index
        for index, block in enumerate(blocks(model))
        if not block.changes_shape(block.input.shape)
    }
    predictions = {}
    x = keras.ops.convert_to_tensor(inputs)
    for position, layer in enumerate(layers):
        if id(layer) in deletable:  # what the rest of the model makes of this block's input
            rest = x
            for later in layers[position + 1 :]:
                rest = later(rest, training=False)
            predictions[deletable[id(layer)]] = keras.ops.convert_to_numpy(rest)
        x = layer(x, training=False)
    return predictions
