"""The multilayer perceptron: dense hidden layers, then a softmax over the classes.

A dense layer connects every input to every unit; stacking them with a non-linear
activation in between gives a network that can approximate any function of its input,
and, as the random-labels experiment shows, can memorize any labelling of its training
set. Inputs of any shape are flattened first, so the same builder serves images,
signals and tables.
"""

import keras


def build_mlp(
    input_shape=(64,),
    num_classes=10,
    hidden_units=(512, 512),
    activation="relu",
    dropout_rate=0.0,
    input_dropout_rate=0.0,
    l2=0.0,
    dtype=None,
    name="mlp",
):
    """Builds a multilayer perceptron classifier with the Functional API.

    Args:
        input_shape: shape of one example, without the batch axis; inputs with more
            than one axis are flattened.
        num_classes: number of output classes; the output is a softmax over them.
        hidden_units: width of each hidden layer, input side first; `()` gives
            multinomial logistic regression.
        activation: activation of the hidden layers.
        dropout_rate: if positive, a `Dropout` layer with this rate follows each
            hidden layer: during training each hidden activation is set to 0 with
            this probability (and the rest scaled up), so no unit can rely on any
            other being present.
        input_dropout_rate: if positive, dropout on the inputs too (Srivastava et
            al. 2014 used 0.2 on inputs, 0.5 on hidden layers).
        l2: if positive, an L2 penalty `l2 * sum(w ** 2)` on every kernel (weight
            decay), a regularizer to compare dropout with.
        dtype: the layers' dtype, such as "float64" for gradient checks; None: Keras'
            default (float32).
        name: name of the model.

    Returns:
        An uncompiled `keras.Model` mapping inputs to class probabilities.

    Example:
        >>> model = build_mlp(input_shape=(8, 8, 1), num_classes=10, hidden_units=(32,))
        >>> model.output_shape
        (None, 10)
    """
    if num_classes < 2:
        raise ValueError(f"num_classes must be at least 2, got {num_classes}")
    if any(int(units) < 1 for units in hidden_units):
        raise ValueError(f"hidden_units must be positive, got {tuple(hidden_units)}")
    for key, rate in (("dropout_rate", dropout_rate), ("input_dropout_rate", input_dropout_rate)):
        if not 0.0 <= rate < 1.0:
            raise ValueError(f"{key} must be in [0, 1), got {rate}")
    if l2 < 0:
        raise ValueError(f"l2 must be non-negative, got {l2}")

    regularizer = keras.regularizers.L2(l2) if l2 > 0 else None
    # Every Dense layer is made before any Dropout layer: each layer draws its seed from
    # Python's `random` when it is made, so a net with dropout starts from the very weights
    # of the same net without it (for the same seed), and a comparison of the two is fair.
    dense = [
        keras.layers.Dense(
            int(units),
            activation=activation,
            kernel_regularizer=regularizer,
            name=f"dense_{index}",
            dtype=dtype,
        )
        for index, units in enumerate(hidden_units)
    ]
    head = keras.layers.Dense(
        num_classes,
        activation="softmax",
        kernel_regularizer=regularizer,
        name="predictions",
        dtype=dtype,
    )
    dropout = [
        keras.layers.Dropout(dropout_rate, name=f"dropout_{index}", dtype=dtype)
        for index in range(len(hidden_units))
        if dropout_rate > 0
    ]
    inputs = keras.Input(shape=tuple(input_shape), name="inputs", dtype=dtype)
    x = (
        keras.layers.Flatten(name="flatten", dtype=dtype)(inputs)
        if len(input_shape) > 1
        else inputs
    )
    if input_dropout_rate > 0:
        x = keras.layers.Dropout(input_dropout_rate, name="input_dropout", dtype=dtype)(x)
    for index, layer in enumerate(dense):
        x = layer(x)
        if dropout:
            x = dropout[index](x)
    outputs = head(x)
    return keras.Model(inputs, outputs, name=name)
