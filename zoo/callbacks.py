"""Keras callbacks that experiments use to watch training."""

import keras
import numpy as np


class AccuracyHistory(keras.callbacks.Callback):
    """Records classification accuracy on groups of examples after every epoch.

    The accuracy Keras logs during `fit` is a running average over an epoch in which
    the weights keep changing. This callback instead measures the model as it stands at
    the end of each epoch, with one forward pass over `x`, and splits the result into
    named groups (say the training set, its clean and its mislabelled examples, and the
    test set). It can also stop training once a group is fit well enough.

    Args:
        x: inputs to evaluate, all groups together.
        y: integer labels for `x` (for training examples, the labels trained on).
        groups: dict from group name to a boolean mask or index array into `x`.
        stop_group: name of the group whose accuracy may stop training.
        stop_accuracy: stop once `stop_group` reaches this accuracy.

    After `fit`, `history` holds one dict per epoch: `epoch` (counting from 1) and the
    accuracy of every group.

    Example:
        >>> history = AccuracyHistory(x, y, {"train": slice(0, 100)},
        ...                           stop_group="train", stop_accuracy=0.99)
        >>> model.fit(x[:100], y[:100], epochs=50, callbacks=[history])
    """

    def __init__(self, x, y, groups, stop_group=None, stop_accuracy=None):
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
        self.history = []

    def on_epoch_end(self, epoch, logs=None):
        correct = np.argmax(self.model.predict_on_batch(self.x), axis=-1) == self.y
        record = {"epoch": epoch + 1}
        for name, members in self.groups.items():
            selected = correct[members]
            record[name] = float(selected.mean()) if selected.size else float("nan")
        self.history.append(record)
        if self.stop_group is not None and record[self.stop_group] >= self.stop_accuracy:
            self.model.stop_training = True
