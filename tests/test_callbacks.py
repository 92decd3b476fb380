import keras
import numpy as np
import pytest

from zoo.callbacks import AccuracyHistory
from zoo.mlp import build_mlp


def test_records_accuracy_per_group_as_numpy_computes_it():
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.random((60, 4)).astype("float32")
    y = rng.integers(0, 3, 60)
    model = build_mlp(input_shape=(4,), num_classes=3, hidden_units=(8,))
    model.compile("sgd", "sparse_categorical_crossentropy")
    first_half = np.arange(60) < 30
    history = AccuracyHistory(x, y, {"first": first_half, "rest": np.flatnonzero(~first_half)})
    model.fit(x, y, epochs=2, verbose=0, callbacks=[history])

    predicted = np.argmax(model.predict_on_batch(x), axis=1)
    last = history.history[-1]
    assert [r["epoch"] for r in history.history] == [1, 2]
    assert last["first"] == pytest.approx(np.mean(predicted[:30] == y[:30]))
    assert last["rest"] == pytest.approx(np.mean(predicted[30:] == y[30:]))


def test_stops_once_the_group_reaches_the_target():
    x = np.zeros((8, 2), "float32")
    y = np.zeros(8, int)
    model = build_mlp(input_shape=(2,), num_classes=2, hidden_units=())
    model.compile("sgd", "sparse_categorical_crossentropy")
    history = AccuracyHistory(x, y, {"all": slice(None)}, stop_group="all", stop_accuracy=0.0)
    model.fit(x, y, epochs=50, verbose=0, callbacks=[history])
    assert len(history.history) == 1


def test_stop_arguments_are_checked():
    with pytest.raises(ValueError, match="both"):
        AccuracyHistory(np.zeros((1, 1)), [0], {"a": [0]}, stop_group="a")
    with pytest.raises(ValueError, match="not one of"):
        AccuracyHistory(np.zeros((1, 1)), [0], {"a": [0]}, stop_group="b", stop_accuracy=1.0)
