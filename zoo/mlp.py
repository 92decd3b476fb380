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
            hidden layer.
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
    if not 0.0 <= dropout_rate < 1.0:
        raise ValueError(f"dropout_rate must be in [0, 1), got {dropout_rate}")

    inputs = keras.Input(shape=tuple(input_shape), name="inputs")
    x = keras.layers.Flatten(name="flatten")(inputs) if len(input_shape) > 1 else inputs
    for index, units in enumerate(hidden_units):
        x = keras.layers.Dense(int(units), activation=activation, name=f"dense_{index}")(x)
        if dropout_rate > 0:
            x = keras.layers.Dropout(dropout_rate, name=f"dropout_{index}")(x)
    outputs = keras.layers.Dense(num_classes, activation="softmax", name="predictions")(x)
    return keras.Model(inputs, outputs, name=name)
