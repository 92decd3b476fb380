import keras
import numpy as np
import pytest

from zoo import series as ts
from zoo.recurrent import (
    CELLS,
    autoregressive_forecast,
    build_lstm_forecaster,
    build_sequence_regressor,
)


@pytest.mark.parametrize("cell", CELLS)
def test_each_cell_builds_saves_and_loads_with_identical_predictions(assert_saves_and_loads, cell):
    model = build_sequence_regressor(timesteps=12, features=2, cell=cell, units=4)
    x, _ = ts.adding_problem(8, 12)
    assert model.predict_on_batch(x).shape == (8, 1)
    assert isinstance(model.get_layer(cell), CELLS[cell])
    assert_saves_and_loads(model, x)
    clone = keras.Model.from_config(model.get_config())
    assert clone.count_params() == model.count_params()


def test_equal_units_give_the_lstm_four_times_the_simple_rnn_weights():
    counts = {
        cell: build_sequence_regressor(10, 2, cell, units=8).get_layer(cell).count_params()
        for cell in CELLS
    }
    assert counts["lstm"] == 4 * counts["simple_rnn"]
    assert counts["lstm"] > counts["gru"] > counts["simple_rnn"]


def test_bad_arguments_are_rejected():
    with pytest.raises(ValueError, match="cell"):
        build_sequence_regressor(cell="transformer")
    with pytest.raises(ValueError):
        build_lstm_forecaster(window=0)


def test_the_forecaster_predicts_every_step_of_its_horizon_and_round_trips(assert_saves_and_loads):
    model = build_lstm_forecaster(window=6, num_features=2, units=4, horizon=3, num_layers=2)
    x = np.random.default_rng(0).normal(size=(5, 6, 2)).astype("float32")
    assert model.predict_on_batch(x).shape == (5, 3)
    assert_saves_and_loads(model, x)


def _halving_model(window):
    """A one-step 'forecaster' whose next value is half the last one."""
    model = keras.Sequential(
        [keras.Input((window, 1)), keras.layers.Flatten(), keras.layers.Dense(1)]
    )
    kernel = np.zeros((window, 1), "float32")
    kernel[-1] = 0.5
    model.layers[-1].set_weights([kernel, np.zeros(1, "float32")])
    return model


def test_autoregressive_forecast_feeds_each_prediction_back_in():
    model = _halving_model(window=4)
    path = autoregressive_forecast(model, [1.0, 2.0, 3.0, 8.0], steps=5)
    np.testing.assert_allclose(path, 8 * 0.5 ** np.arange(1, 6))
    batch = autoregressive_forecast(model, np.array([[0, 0, 0, 1.0], [0, 0, 0, -2.0]]), steps=3)
    np.testing.assert_allclose(batch, [[0.5, 0.25, 0.125], [-1, -0.5, -0.25]])
    assert autoregressive_forecast(model, np.ones((4, 1)), steps=2).shape == (2,)
    with pytest.raises(ValueError, match="last 4 values"):
        autoregressive_forecast(model, np.ones(3), steps=2)
    with pytest.raises(ValueError, match="univariate"):
        autoregressive_forecast(
            build_lstm_forecaster(window=4, num_features=2, units=2), np.ones((4, 2)), 2
        )


def test_an_lstm_forecaster_learns_an_ar1_series():
    keras.utils.set_random_seed(0)
    returns = ts.log_returns(ts.ar1(3000, seed=0, phi=0.6)).to_numpy()
    scaled = ts.Standardizer.fit(returns[:2000]).transform(returns)
    x, y, _ = ts.windows(scaled, window=5, stop=2000)
    x_test, y_test, _ = ts.windows(scaled, window=5, start=2000)
    model = build_lstm_forecaster(window=5, units=8)
    model.compile(keras.optimizers.Adam(0.01), "mse")
    model.fit(x, y, batch_size=64, epochs=5, verbose=0)
    ratio = np.mean((model.predict_on_batch(x_test) - y_test) ** 2) / np.mean(y_test**2)
    assert ratio < 0.75  # theory: 1 - 0.6^2 = 0.64
