import keras
import numpy as np
import pytest

from zoo.callbacks import (
    EpochEvaluation,
    EpochTimer,
    PrecheltStopping,
    correct_and_loss,
    generalization_loss,
    prechelt_stop_epoch,
    training_progress,
)
from zoo.mlp import build_mlp


def small_model(num_features=4, num_classes=3):
    model = build_mlp(input_shape=(num_features,), num_classes=num_classes, hidden_units=(8,))
    model.compile("sgd", "sparse_categorical_crossentropy")
    return model


def test_epoch_evaluation_logs_group_accuracy_and_loss_as_numpy_computes_them():
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.random((60, 4)).astype("float32")
    y = rng.integers(0, 3, 60)
    model = small_model()
    first_half = np.arange(60) < 30
    evaluation = EpochEvaluation(x, y, {"first": first_half, "val": np.flatnonzero(~first_half)})
    fit = model.fit(x[:30], y[:30], epochs=2, verbose=0, callbacks=[evaluation])

    probabilities = model.predict_on_batch(x)
    predicted = np.argmax(probabilities, axis=1)
    cross_entropy = -np.log(probabilities[np.arange(60), y])
    last = evaluation.history[-1]
    assert [r["epoch"] for r in evaluation.history] == [1, 2]
    assert last["first_accuracy"] == pytest.approx(np.mean(predicted[:30] == y[:30]))
    assert last["val_accuracy"] == pytest.approx(np.mean(predicted[30:] == y[30:]))
    assert last["val_loss"] == pytest.approx(cross_entropy[30:].mean(), rel=1e-5)
    # Keras's own evaluate() agrees, and the History returned by fit() saw the logs.
    assert last["val_loss"] == pytest.approx(model.evaluate(x[30:], y[30:], verbose=0), rel=1e-5)
    assert fit.history["val_loss"][-1] == last["val_loss"]


def test_on_splits_concatenates_splits_and_places_subsets_after_their_split():
    train = (np.arange(4.0)[:, None], np.array([0, 1, 0, 1]))
    test = (np.arange(4.0, 7.0)[:, None], np.array([1, 1, 0]))
    evaluation = EpochEvaluation.on_splits(
        {"train": train, "test": test}, subsets={"odd": ("train", [False, True, False, True])}
    )
    assert list(evaluation.groups) == ["train", "odd", "test"]
    np.testing.assert_array_equal(evaluation.x[:, 0], np.arange(7.0))
    np.testing.assert_array_equal(evaluation.groups["odd"], [1, 3])
    np.testing.assert_array_equal(evaluation.groups["test"], [4, 5, 6])


def test_epoch_evaluation_stops_once_the_group_reaches_the_target():
    x = np.zeros((8, 2), "float32")
    y = np.zeros(8, int)
    model = small_model(num_features=2, num_classes=2)
    evaluation = EpochEvaluation(x, y, {"all": slice(None)}, stop_group="all", stop_accuracy=0.0)
    model.fit(x, y, epochs=50, verbose=0, callbacks=[evaluation])
    assert len(evaluation.history) == 1


def test_epoch_evaluation_checks_its_stop_arguments():
    with pytest.raises(ValueError, match="both"):
        EpochEvaluation(np.zeros((1, 1)), [0], {"a": [0]}, stop_group="a")
    with pytest.raises(ValueError, match="not one of"):
        EpochEvaluation(np.zeros((1, 1)), [0], {"a": [0]}, stop_group="b", stop_accuracy=1.0)


# Prechelt's rules on a hand-computed run.
VALIDATION = [1.0, 0.8, 0.7, 0.75, 0.72, 0.9, 0.69, 0.8]
# E_opt = 1.0, 0.8, 0.7, 0.7, 0.7, 0.7, 0.69, 0.69, so GL = 100 * (E_va / E_opt - 1):
GL = [
    0.0,
    0.0,
    0.0,
    100 * (0.75 / 0.7 - 1),
    100 * (0.72 / 0.7 - 1),
    100 * (0.9 / 0.7 - 1),
    0.0,
    100 * (0.8 / 0.69 - 1),
]
TRAINING = [1.0, 0.5, 0.4, 0.38, 0.37, 0.365, 0.36, 0.359]
# Strips of k = 2 epochs end at epochs 2, 4, 6, 8: P = 1000 * (strip mean / strip min - 1).
P = [
    np.nan,
    500.0,
    np.nan,
    1000 * (0.39 / 0.38 - 1),
    np.nan,
    1000 * (0.3675 / 0.365 - 1),
    np.nan,
    1000 * (0.3595 / 0.359 - 1),
]
# So PQ = GL / P is 0 at epoch 2, 0.271 at 4, 4.171 at 6 and 11.446 at 8.


def test_generalization_loss_and_training_progress_match_hand_computation():
    np.testing.assert_allclose(generalization_loss(VALIDATION), GL, atol=1e-9)
    np.testing.assert_allclose(training_progress(TRAINING, strip_length=2), P, atol=1e-9)


@pytest.mark.parametrize(
    "criterion, alpha, expected",
    [
        ("gl", 5, 4),
        ("gl", 10, 6),
        ("gl", 20, 6),
        ("gl", 30, None),
        ("pq", 0.2, 4),
        ("pq", 0.5, 6),
        ("pq", 5, 8),
        ("pq", 20, None),
    ],
)
def test_stop_epochs_match_hand_computation(criterion, alpha, expected):
    assert prechelt_stop_epoch(VALIDATION, TRAINING, criterion, alpha, strip_length=2) == expected


def test_callback_stops_at_the_hand_computed_epoch_and_restores_the_best_weights():
    model = small_model()
    stopping = PrecheltStopping("gl", alpha=5.0, restore_best_weights=True)
    stopping.set_model(model)
    stopping.on_train_begin()
    for epoch, (val, train) in enumerate(zip(VALIDATION, TRAINING)):
        model.set_weights([np.full_like(w, epoch) for w in model.get_weights()])  # "training"
        stopping.on_epoch_end(epoch, {"val_loss": val, "loss": train})
        if model.stop_training:
            break
    stopping.on_train_end()
    assert stopping.stopped_epoch == 4 and epoch == 3
    assert stopping.best_epoch == 3  # validation error 0.7
    assert all(np.all(w == 2) for w in model.get_weights())  # the weights after epoch 3


def test_callback_in_a_real_fit_stops_when_validation_loss_rises():
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(80, 4)).astype("float32")
    y = rng.integers(0, 3, 80)  # random labels: the validation loss can only get worse
    model = build_mlp(input_shape=(4,), num_classes=3, hidden_units=(64,))
    model.compile(keras.optimizers.Adam(0.01), "sparse_categorical_crossentropy")
    evaluation = EpochEvaluation(x, y, {"val": slice(40, None)})
    stopping = PrecheltStopping("gl", alpha=5.0)
    model.fit(x[:40], y[:40], epochs=200, verbose=0, callbacks=[evaluation, stopping])
    assert 0 < stopping.stopped_epoch < 200
    assert len(evaluation.history) == stopping.stopped_epoch
    assert generalization_loss(stopping.validation_errors)[-1] > 5.0


def test_callback_needs_its_monitors_and_round_trips_its_config():
    stopping = PrecheltStopping("pq", alpha=0.5, strip_length=3, restore_best_weights=True)
    config = stopping.get_config()
    clone = PrecheltStopping.from_config(config)
    assert clone.get_config() == config
    assert keras.saving.get_registered_object("zoo>PrecheltStopping") is PrecheltStopping
    stopping.set_model(small_model())
    stopping.on_train_begin()
    with pytest.raises(ValueError, match="validation data"):
        stopping.on_epoch_end(0, {"loss": 1.0})
    with pytest.raises(ValueError, match="criterion"):
        PrecheltStopping("up")


def test_correct_and_loss_match_keras_accuracy_and_cross_entropy():

    probabilities = np.array([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8], [0.0, 1.0, 0.0]], dtype="float32")
    y = np.array([0, 1, 1])
    correct, losses = correct_and_loss(probabilities, y)
    np.testing.assert_array_equal(correct, [True, False, True])
    expected = keras.losses.sparse_categorical_crossentropy(y, probabilities)
    # Keras also renormalizes the clipped probabilities: the two differ by float32 round-off.
    np.testing.assert_allclose(losses, keras.ops.convert_to_numpy(expected), rtol=1e-5, atol=1e-6)


def test_epoch_evaluation_can_measure_the_start_and_epoch_timer_logs_seconds():
    keras.utils.set_random_seed(0)
    x = np.random.default_rng(0).random((40, 4)).astype("float32")
    y = np.arange(40) % 3
    model = small_model()
    start = correct_and_loss(model.predict_on_batch(x), y)[1].mean()
    evaluation = EpochEvaluation.on_splits({"train": (x, y)}, measure_start=True)
    history = model.fit(x, y, epochs=2, verbose=0, callbacks=[EpochTimer(), evaluation]).history
    assert [r["epoch"] for r in evaluation.history] == [0, 1, 2]
    assert evaluation.history[0]["train_loss"] == pytest.approx(start, rel=1e-6)
    assert len(history["seconds"]) == 2 and all(0 < s < 10 for s in history["seconds"])
