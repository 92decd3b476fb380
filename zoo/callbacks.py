"""Keras callbacks for watching and stopping training.

- `EpochEvaluation`: accuracy and loss on named groups of examples after every epoch.
- `EpochTimer`: the wall-clock seconds of each epoch's training, in the logs.
- `PrecheltStopping`: early stopping by Prechelt's generalization-loss and
  progress-quotient rules, with the rules themselves as plain functions
  (`generalization_loss`, `training_progress`, `prechelt_stop_epoch`).
"""

import time

import keras
import numpy as np

# Keras clips probabilities to [EPSILON, 1 - EPSILON] in its losses.
EPSILON = keras.config.epsilon()


class EpochEvaluation(keras.callbacks.Callback):
    """Measures a classifier on groups of examples after every epoch and logs the result.

    The accuracy and loss Keras logs during `fit` are running averages over an epoch in
    which the weights keep changing (and dropout is active). This callback measures the
    model as it stands at the end of each epoch, with one forward pass over `x`, and
    splits the result into named groups (say the training set, its clean and its
    mislabelled examples, a validation and a test set). For every group it writes
    `{group}_accuracy` and `{group}_loss` (the cross-entropy `-log p(true class)`, as
    Keras's `sparse_categorical_crossentropy` computes it) into the epoch's logs, where
    callbacks listed after it, such as `EarlyStopping(monitor="val_loss")`, and the
    `History` returned by `fit` see them. A group named `val` thus stands in for
    `fit(validation_data=...)`, whose separate `evaluate()` call costs more than a whole
    epoch of training on a small model.

    Args:
        x: inputs to evaluate, all groups together.
        y: integer labels for `x` (for training examples, the labels trained on).
        groups: dict from group name to a boolean mask, index array or slice into `x`.
        stop_group: name of the group whose accuracy may stop training.
        stop_accuracy: stop once `stop_group` reaches this accuracy.
        measure_start: also measure the model before training, as epoch 0.

    After `fit`, `history` holds one dict per epoch: `epoch` (counting from 1, or from 0
    with `measure_start`) and the logged values.

    Example:
        >>> evaluation = EpochEvaluation(x, y, {"train": slice(0, 800), "val": slice(800, None)})
        >>> stopping = keras.callbacks.EarlyStopping("val_loss", restore_best_weights=True)
        >>> model.fit(x[:800], y[:800], epochs=50, callbacks=[evaluation, stopping])
    """

    def __init__(self, x, y, groups, stop_group=None, stop_accuracy=None, measure_start=False):
        super().__init__()
        if (stop_group is None) != (stop_accuracy is None):
            raise ValueError("give both stop_group and stop_accuracy, or neither")
        if stop_group is not None and stop_group not in groups:
            raise ValueError(f"stop_group {stop_group!r} is not one of {list(groups)}")
        self.x = x
        self.y = np.asarray(y)
        self.groups = groups
        self.stop_group = stop_group
        self.stop_accuracy = stop_accuracy
        self.measure_start = measure_start
        self.history = []

    @classmethod
    def on_splits(cls, splits, subsets=None, **kwargs):
        """Builds the callback from named `(x, y)` splits instead of one array and masks.

        Args:
            splits: dict from group name to `(x, y)`, e.g. `{"train": (x_train, y_train),
                "val": (x_val, y_val)}`.
            subsets: optional dict from group name to `(split name, boolean mask over that
                split)`, e.g. `{"noisy": ("train", labels != true_labels)}`; each subset
                group follows its split in the logs.
            **kwargs: `stop_group`, `stop_accuracy` and `measure_start`.
        """
        groups, start = {}, 0
        for name, (_, y) in splits.items():
            groups[name] = np.arange(start, start + len(y))
            for subset, (parent, mask) in (subsets or {}).items():
                if parent == name:
                    groups[subset] = groups[name][np.asarray(mask, dtype=bool)]
            start += len(y)
        x = np.concatenate([x for x, _ in splits.values()])
        y = np.concatenate([y for _, y in splits.values()])
        return cls(x, y, groups, **kwargs)

    def on_train_begin(self, logs=None):
        self.history = [{"epoch": 0, **self._measure()}] if self.measure_start else []

    def on_epoch_end(self, epoch, logs=None):
        record = self._measure()
        if logs is not None:
            logs.update(record)
        self.history.append({"epoch": epoch + 1, **record})
        if (
            self.stop_group is not None
            and record[f"{self.stop_group}_accuracy"] >= self.stop_accuracy
        ):
            self.model.stop_training = True

    def _measure(self):
        correct, losses = correct_and_loss(self.model.predict_on_batch(self.x), self.y)
        record = {}
        for name, members in self.groups.items():
            empty = not correct[members].size
            record[f"{name}_accuracy"] = np.nan if empty else float(correct[members].mean())
            record[f"{name}_loss"] = np.nan if empty else float(losses[members].mean())
        return record


class EpochTimer(keras.callbacks.Callback):
    """Logs `seconds`, the wall-clock time of each epoch's training steps.

    Put it first in the callback list: callbacks run in order, so the time then stops
    before any later callback's end-of-epoch work (an `EpochEvaluation`, say).
    Keras validates before any callback's `on_epoch_end`, so `validation_data` is
    counted; leave it out to time training alone.
    """

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["seconds"] = time.perf_counter() - self._start


class StopBelow(keras.callbacks.Callback):
    """Stops training at the end of the first epoch whose logged `monitor` is below
    `threshold`: a task counts as solved there, and more training would only cost time.

    Example:
        >>> model.fit(x, y, epochs=100, callbacks=[StopBelow("loss", 0.01)])
    """

    def __init__(self, monitor, threshold):
        super().__init__()
        self.monitor = monitor
        self.threshold = threshold

    def on_epoch_end(self, epoch, logs=None):
        if logs[self.monitor] < self.threshold:
            self.model.stop_training = True


def correct_and_loss(probabilities, y):
    """Per example: whether the most probable class is `y`, and the cross-entropy, with
    probabilities clipped as Keras' `sparse_categorical_crossentropy` clips them."""
    probabilities = np.asarray(probabilities)
    true_class = np.take_along_axis(probabilities, np.asarray(y)[:, None], axis=-1)[:, 0]
    return np.argmax(probabilities, axis=-1) == y, -np.log(
        np.clip(true_class, EPSILON, 1 - EPSILON)
    )


def generalization_loss(validation_errors):
    """Prechelt's GL(t) = 100 * (E_va(t) / E_opt(t) - 1) for every epoch t.

    E_opt(t) is the lowest validation error up to epoch t, so GL is the percentage by
    which the validation error now exceeds its best value: 0 while it keeps improving.
    """
    errors = np.asarray(validation_errors, dtype=float)
    return 100.0 * (errors / np.minimum.accumulate(errors) - 1.0)


def training_progress(training_errors, strip_length=5):
    """Prechelt's P_k(t) = 1000 * (mean of E_tr over the strip / min over the strip - 1).

    Defined at the end of each strip of `strip_length` epochs (t = k, 2k, ...; NaN
    elsewhere): how much the training error still moves. It is large while training
    makes progress and falls toward 0 as training stalls.
    """
    errors = np.asarray(training_errors, dtype=float)
    progress = np.full(len(errors), np.nan)
    for end in range(strip_length, len(errors) + 1, strip_length):
        strip = errors[end - strip_length : end]
        progress[end - 1] = 1000.0 * (strip.mean() / strip.min() - 1.0)
    return progress


def prechelt_stop_epoch(
    validation_errors, training_errors=None, criterion="gl", alpha=5.0, strip_length=5
):
    """The first epoch (counting from 1) at which a Prechelt criterion stops; None if never.

    `gl`: stop when GL(t) > alpha. `pq`: at the end of a strip, stop when
    GL(t) / P_k(t) > alpha, so a high generalization loss is tolerated while training
    still makes fast progress.
    """
    gl = generalization_loss(validation_errors)
    if criterion == "gl":
        signal = gl
    elif criterion == "pq":
        if training_errors is None:
            raise ValueError("the pq criterion needs the training errors")
        with np.errstate(divide="ignore", invalid="ignore"):
            signal = gl / training_progress(training_errors, strip_length)
    else:
        raise ValueError(f"criterion must be 'gl' or 'pq', got {criterion!r}")
    stops = np.flatnonzero(signal > alpha)
    return int(stops[0]) + 1 if len(stops) else None


@keras.saving.register_keras_serializable(package="zoo")
class PrecheltStopping(keras.callbacks.Callback):
    """Early stopping by Prechelt's criteria ("Early stopping - but when?", 1998).

    Keras's `EarlyStopping` waits a fixed number of epochs (`patience`) without
    improvement. Prechelt's rules instead stop when the validation error has grown by
    more than `alpha` percent over its best value (generalization loss, `gl`), or when
    that loss is large compared with the progress training still makes over the last
    strip of `strip_length` epochs (progress quotient, `pq`). A larger `alpha` waits
    longer and never stops earlier on the same run.

    Args:
        criterion: `"gl"` or `"pq"`.
        alpha: the threshold: percent for `gl`, a ratio for `pq`.
        strip_length: epochs per training strip (Prechelt's k), used by `pq`.
        monitor: the validation quantity to minimize (Prechelt's E_va).
        training_monitor: the training quantity for `pq` (Prechelt's E_tr).
        restore_best_weights: at the end of training, restore the weights of the
            epoch with the lowest `monitor`, as `EarlyStopping` does.

    After `fit`: `stopped_epoch` (counting from 1; 0 if it never stopped),
    `best_epoch` (counting from 1), and `validation_errors` / `training_errors`.

    Example:
        >>> stopping = PrecheltStopping("gl", alpha=5.0, restore_best_weights=True)
        >>> model.fit(x, y, validation_split=0.2, epochs=200, callbacks=[stopping])
    """

    def __init__(
        self,
        criterion="gl",
        alpha=5.0,
        strip_length=5,
        monitor="val_loss",
        training_monitor="loss",
        restore_best_weights=False,
    ):
        super().__init__()
        if criterion not in ("gl", "pq"):
            raise ValueError(f"criterion must be 'gl' or 'pq', got {criterion!r}")
        if not alpha > 0:
            raise ValueError(f"alpha must be positive, got {alpha}")
        if strip_length < 1:
            raise ValueError(f"strip_length must be at least 1, got {strip_length}")
        self.criterion = criterion
        self.alpha = alpha
        self.strip_length = strip_length
        self.monitor = monitor
        self.training_monitor = training_monitor
        self.restore_best_weights = restore_best_weights

    def on_train_begin(self, logs=None):
        self.validation_errors = []
        self.training_errors = []
        self.stopped_epoch = 0
        self.best_epoch = 0
        self.best_weights = None

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.monitor not in logs or self.training_monitor not in logs:
            raise ValueError(
                f"PrecheltStopping needs {self.monitor!r} and {self.training_monitor!r} in the "
                f"logs, got {sorted(logs)}; pass validation data to fit()"
            )
        self.validation_errors.append(float(logs[self.monitor]))
        self.training_errors.append(float(logs[self.training_monitor]))
        if self.validation_errors[-1] <= min(self.validation_errors):
            self.best_epoch = epoch + 1
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
        stop = prechelt_stop_epoch(
            self.validation_errors,
            self.training_errors,
            self.criterion,
            self.alpha,
            self.strip_length,
        )
        if stop is not None:
            self.stopped_epoch = stop
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.restore_best_weights and self.best_weights is not None:
            self.model.set_weights(self.best_weights)

    def get_config(self):
        return {
            "criterion": self.criterion,
            "alpha": self.alpha,
            "strip_length": self.strip_length,
            "monitor": self.monitor,
            "training_monitor": self.training_monitor,
            "restore_best_weights": self.restore_best_weights,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)
