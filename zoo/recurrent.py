"""Recurrent networks: gated memory, and forecasting a series from its own past.

A recurrent layer reads a sequence one step at a time and carries a state from step to
step. In a simple RNN the state is rewritten at every step, `h_t = tanh(W x_t + U h_{t-1}
+ b)`, so the gradient that reaches an input k steps back is a product of k Jacobians;
it shrinks (or grows) geometrically with k, and what happened long ago cannot be
learned (Bengio et al. 1994). An LSTM (Hochreiter & Schmidhuber 1997) adds a cell state
that is changed only by addition, `c_t = f_t * c_{t-1} + i_t * g_t`, through gates it
learns: with the forget gate `f_t` near 1 the cell carries a value, and its gradient,
unchanged across many steps. A GRU (Cho et al. 2014) gates its state the same way.

Autoregressive forecasting predicts the next value of a series from its recent values;
to look further ahead, `autoregressive_forecast` feeds each prediction back in as the
newest input, the way a language model generates text.

Example:
    >>> model = build_sequence_regressor(timesteps=50, features=2, cell="lstm", units=32)
    >>> forecaster = build_lstm_forecaster(window=20)
    >>> path = autoregressive_forecast(forecaster, history[-20:], steps=10)  # shape (10,)
"""

import keras
import numpy as np

CELLS = {
    "lstm": keras.layers.LSTM,
    "gru": keras.layers.GRU,
    "simple_rnn": keras.layers.SimpleRNN,
}


def build_sequence_regressor(timesteps=50, features=2, cell="lstm", units=32, outputs=1, name=None):
    """A recurrent layer that reads a whole sequence, and a linear read-out of its last state.

    Args:
        timesteps: sequence length, or `None` for sequences of any length.
        features: values per timestep.
        cell: "lstm", "gru" or "simple_rnn"; Keras' own layer with its default
            initialization (orthogonal recurrent weights; the LSTM's forget-gate bias
            starts at 1).
        units: size of the recurrent state.
        outputs: values predicted per sequence.

    Example:
        >>> x, y = zoo.series.adding_problem(1024, timesteps=50)
        >>> model = build_sequence_regressor(50, 2, cell="gru")
        >>> model.compile(keras.optimizers.Adam(1e-2, clipnorm=1.0), "mse")
        >>> model.fit(x, y, epochs=5)
    """
    if cell not in CELLS:
        raise ValueError(f"cell must be one of {', '.join(CELLS)}, got {cell!r}")
    if units < 1 or features < 1 or outputs < 1:
        raise ValueError("units, features and outputs must be at least 1")
    inputs = keras.Input((timesteps, features))
    state = CELLS[cell](units, name=cell)(inputs)
    predictions = keras.layers.Dense(outputs, name="readout")(state)
    return keras.Model(inputs, predictions, name=name or f"{cell}_regressor")


def build_lstm_forecaster(
    window=20,
    num_features=1,
    units=32,
    horizon=1,
    num_layers=1,
    dropout_rate=0.0,
    name="lstm_forecaster",
):
    """An LSTM that reads the last `window` values of a series and predicts the next `horizon`.

    With `horizon=1` it is a one-step model for `autoregressive_forecast`; with
    `horizon > 1` it forecasts every step directly, each output trained on its own.

    Args:
        window: how many past timesteps the model sees.
        num_features: values per timestep; feature 0 is the one predicted.
        units: LSTM units per layer.
        horizon: how many future values are predicted at once.
        num_layers: stacked LSTM layers.
        dropout_rate: dropout on each LSTM layer's inputs.
    """
    if min(window, num_features, units, horizon, num_layers) < 1:
        raise ValueError("window, num_features, units, horizon and num_layers must be at least 1")
    if not 0 <= dropout_rate < 1:
        raise ValueError(f"dropout_rate must be in [0, 1), got {dropout_rate}")
    inputs = keras.Input((window, num_features))
    x = inputs
    for i in range(num_layers):
        x = keras.layers.LSTM(
            units, return_sequences=i < num_layers - 1, dropout=dropout_rate, name=f"lstm_{i}"
        )(x)
    outputs = keras.layers.Dense(horizon, name="forecast")(x)
    return keras.Model(inputs, outputs, name=name)


def autoregressive_forecast(model, history, steps):
    """Forecasts `steps` values ahead by feeding each one-step prediction back in.

    The model predicts the next value from the last `window` values; that prediction is
    appended to the window, the oldest value dropped, and the model is called again. So
    an error at one step becomes an input at the next, and on a series with little
    memory the forecast decays to what the model predicts from its own predictions.

    Args:
        model: a univariate forecaster, input `(window, 1)`; of its outputs only the
            first (the next step) is used.
        history: the last `window` values, shape `(window,)` or `(window, 1)`, or a batch
            of them, `(batch, window)` or `(batch, window, 1)`.
        steps: how many steps to forecast.

    Returns:
        The forecasts, shape `(steps,)`, or `(batch, steps)` for a batch.
    """
    window, num_features = model.input_shape[1:]
    if num_features != 1:
        raise ValueError("only a univariate model's predictions can be fed back as its whole input")
    history = np.asarray(history, dtype="float32")
    single = history.ndim == 1 or history.shape == (window, 1)
    if single:
        history = history.reshape(1, -1, 1)
    elif history.ndim == 2:
        history = history[:, :, None]
    if history.ndim != 3 or history.shape[1:] != (window, 1):
        raise ValueError(f"history must hold the last {window} values, got shape {history.shape}")
    forecasts = []
    for _ in range(steps):
        following = keras.ops.convert_to_numpy(model.predict_on_batch(history))[:, :1]
        forecasts.append(following[:, 0])
        history = np.concatenate([history[:, 1:], following[:, :, None]], axis=1)
    forecasts = np.stack(forecasts, axis=1)
    return forecasts[0] if single else forecasts
