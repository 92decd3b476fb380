"""Gradient descent's two main knobs: the batch size and the learning rate.

A training step moves the weights by `-learning_rate * g_B`, where `g_B` is the mean
gradient over a mini-batch of `B` examples. `g_B` is an unbiased estimate of the full
gradient `g` over all `N` training examples, and its noise shrinks with the batch: for
batches drawn without replacement,

    E ||g_B - g||^2 = tr(Sigma) / B * (N - B) / (N - 1),

where `Sigma` is the covariance of one example's gradient. `gradient_noise` measures
the left side. Small batches are cheap and noisy, large batches accurate and costly;
McCandlish et al. (2018) call `tr(Sigma) / ||g||^2` the gradient noise scale, the batch
size beyond which a bigger batch stops buying much.

The learning rate sets how far each step goes: too small and training crawls, too large
and it overshoots and diverges. `LearningRateRangeTest` finds a good one in a single
short run (Smith 2017): it raises the rate exponentially, batch by batch, and watches
where the loss falls fastest and where it blows up.

Example:
    >>> noise = gradient_noise(model, x, y, batch_sizes=(1, 8, 64))
    >>> finder = LearningRateRangeTest(min_learning_rate=1e-5, max_learning_rate=10, steps=200)
    >>> model.fit(x, y, batch_size=64, epochs=10, callbacks=[finder])   # stops by itself
    >>> finder.suggestion()                                              # e.g. 0.08
"""

import keras
import numpy as np

from zoo.training import gradients


def gradient_noise(
    model, x, y, batch_sizes, draws=32, seed=0, loss="sparse_categorical_crossentropy"
):
    """How far mini-batch gradients scatter around the full-batch gradient.

    For each batch size `B`, draws `draws` batches of `B` distinct examples and averages
    the squared distance between their mean gradient and the gradient over all of
    `(x, y)`, over every trainable weight at once. The model is not changed.

    Args:
        model: a built `keras.Model`.
        x: the training inputs, all of them.
        y: their targets.
        batch_sizes: the batch sizes to measure, each at most `len(x)`.
        draws: batches drawn per batch size.
        seed: fixes which examples are drawn.
        loss: a Keras loss name or function.

    Returns:
        `(squared_norm, variances)`: `||g||^2` of the full gradient, and a dict from
        batch size to `E ||g_B - g||^2`.
    """
    if any(not 1 <= size <= len(x) for size in batch_sizes):
        raise ValueError(f"batch sizes must be between 1 and {len(x)}, got {batch_sizes}")
    rng = np.random.default_rng(seed)
    full = _flat(gradients(model, x, y, loss))
    variances = {}
    for size in batch_sizes:
        distances = []
        for _ in range(draws):
            batch = rng.choice(len(x), size=size, replace=False)
            distances.append(
                np.sum((_flat(gradients(model, x[batch], y[batch], loss)) - full) ** 2)
            )
        variances[size] = float(np.mean(distances))
    return float(np.sum(full**2)), variances


def _flat(arrays):
    return np.concatenate([np.ravel(array).astype("float64") for array in arrays])


class LearningRateRangeTest(keras.callbacks.Callback):
    """Smith's learning-rate range test, as a callback.

    During `fit`, sets the optimizer's learning rate before every batch, rising
    exponentially from `min_learning_rate` to `max_learning_rate` over `steps` batches,
    and records each batch's loss. The loss first barely moves (the rate is too small),
    then falls, then turns up and explodes (the rate is too large). Training stops by
    itself once the smoothed loss exceeds `stop_factor` times its lowest value, or after
    `steps` batches; with `restore=True` the weights, the optimizer's state and its
    learning rate are then put back as they were, so the model can be trained for real.

    Smith (2017, "Cyclical learning rates for training neural networks", Sec. 3.3) reads
    this curve for where training starts to improve and where it turns ragged. The
    suggested rate (`suggestion()`) is a tenth of the rate at the smoothed loss's
    minimum, the rule of fastai's `lr_find`: at the minimum the rate is already too
    large to keep improving. `steepest()` gives the rate where the smoothed loss falls
    fastest, the other common choice.

    Needs an optimizer whose learning rate is a number rather than a schedule, and
    `steps_per_execution=1` (the default) so that every batch gets its own rate.
    Give `fit` at least `steps` batches, over as many epochs as that takes.

    Args:
        min_learning_rate: the rate of the first batch.
        max_learning_rate: the rate of batch `steps`.
        steps: batches from the first rate to the last.
        smoothing: factor of the exponential moving average of the loss, with
            bias correction (0 keeps the raw losses).
        stop_factor: stop once the smoothed loss exceeds this multiple of its minimum.
        restore: put the weights and optimizer back after the test.

    Attributes after `fit`: `learning_rates`, `losses` and `smoothed_losses`, one value
    per batch tested.

    Example:
        >>> finder = LearningRateRangeTest(1e-5, 10.0, steps=200)
        >>> model.fit(x, y, batch_size=64, epochs=20, callbacks=[finder], verbose=0)
        >>> model.optimizer.learning_rate.assign(finder.suggestion())
        >>> model.fit(x, y, batch_size=64, epochs=20)
    """

    def __init__(
        self,
        min_learning_rate=1e-6,
        max_learning_rate=10.0,
        steps=100,
        smoothing=0.98,
        stop_factor=4.0,
        restore=True,
    ):
        super().__init__()
        if not 0 < min_learning_rate < max_learning_rate:
            raise ValueError(
                f"need 0 < min_learning_rate < max_learning_rate, got "
                f"{min_learning_rate} and {max_learning_rate}"
            )
        if steps < 2 or not 0 <= smoothing < 1 or stop_factor <= 1:
            raise ValueError("need steps >= 2, 0 <= smoothing < 1 and stop_factor > 1")
        self.min_learning_rate = min_learning_rate
        self.max_learning_rate = max_learning_rate
        self.steps = steps
        self.smoothing = smoothing
        self.stop_factor = stop_factor
        self.restore = restore

    def on_train_begin(self, logs=None):
        optimizer = self.model.optimizer
        if isinstance(optimizer._learning_rate, keras.optimizers.schedules.LearningRateSchedule):
            raise ValueError(
                "the range test sets the learning rate itself; compile with a number, not a schedule"
            )
        if self.model.steps_per_execution != 1:
            raise ValueError(
                "the range test needs steps_per_execution=1, one learning rate per batch"
            )
        if self.restore:
            self._saved = (
                self.model.get_weights(),
                [variable.numpy() for variable in optimizer.variables],
            )
        self.learning_rates, self.losses, self.smoothed_losses = [], [], []
        self._average = 0.0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch_total = 0.0  # Keras logs the running mean of the epoch's losses

    def on_train_batch_begin(self, batch, logs=None):
        fraction = len(self.losses) / (self.steps - 1)
        rate = (
            self.min_learning_rate * (self.max_learning_rate / self.min_learning_rate) ** fraction
        )
        self.model.optimizer.learning_rate.assign(rate)
        self.learning_rates.append(rate)

    def on_train_batch_end(self, batch, logs=None):
        total = float(logs["loss"]) * (batch + 1)
        loss, self._epoch_total = total - self._epoch_total, total
        self.losses.append(loss)
        self._average = self.smoothing * self._average + (1 - self.smoothing) * loss
        smoothed = self._average / (1 - self.smoothing ** len(self.losses))
        self.smoothed_losses.append(smoothed)
        exploded = not np.isfinite(smoothed) or smoothed > self.stop_factor * min(
            self.smoothed_losses
        )
        if exploded or len(self.losses) >= self.steps:
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.restore:
            weights, optimizer_values = self._saved
            self.model.set_weights(weights)
            for variable, value in zip(self.model.optimizer.variables, optimizer_values):
                variable.assign(value)

    def suggestion(self):
        """A tenth of the learning rate at which the smoothed loss was lowest."""
        return float(self.learning_rates[int(np.nanargmin(self.smoothed_losses))] / 10)

    def steepest(self):
        """The learning rate, before the minimum, where the smoothed loss fell fastest
        per decade of learning rate."""
        end = int(np.nanargmin(self.smoothed_losses)) + 1
        if end < 3:
            raise ValueError("the loss was lowest at the very start; lower min_learning_rate")
        slopes = np.gradient(
            np.asarray(self.smoothed_losses[:end]), np.log10(self.learning_rates[:end])
        )
        return float(self.learning_rates[int(np.argmin(slopes))])
