"""Training many small models fast, the same way on every backend; gradients on any backend.

A lesson trains the same few architectures again and again: for every seed, learning
rate or condition, from fresh weights. Built and compiled anew each time, a small Keras
model spends more time starting (tracing its training step, about a second) than
training. `Trainer` keeps one compiled model per architecture and training setup, and
starts every run from freshly drawn weights and a fresh optimizer state, so that a run
is exactly what a new model would do, at a fraction of the cost:

    trainer = Trainer()
    for seed in seeds:
        for rate in rates:
            model, history = trainer.fit(
                lambda: build_mlp((40,), 10, (100, 100)),
                keras.optimizers.SGD(learning_rate=rate, momentum=0.9),
                "sparse_categorical_crossentropy",
                x, y, batch_size=64, epochs=20, seed=seed,
            )

What else it takes care of, and why:

- Batches. One seed fixes the order: every epoch is a new permutation drawn by NumPy from
  the seed, the same on every backend, and a whole epoch runs in one call of the training
  function (`steps_per_execution`). On TensorFlow the batches come from one `tf.data`
  pipeline per run, on JAX from NumPy. A `sample_weight` (one weight per example)
  travels with its example, as the third element of every batch.
- Seeding. Keras draws every layer's initializer seed and every dropout seed from
  Python's `random` when the layer is built; the Trainer seeds Python's and NumPy's
  generators before it builds, but not TensorFlow's: `tf.random.set_seed` clears
  TensorFlow's caches, which costs a retrace.
- Learning-rate schedules. A `keras.optimizers.schedules.LearningRateSchedule` given as an
  optimizer's learning rate is applied once per epoch, at the epoch's first step. Evaluated
  inside the training step, it costs small models about a third of their step time.
- Timing. Every epoch's training time is logged as `seconds` (see `EpochTimer`).
"""

import hashlib
import json
import math
import random
import weakref

import keras
import numpy as np

from zoo.callbacks import EpochTimer


class Trainer:
    """Trains models built by a function, compiling one model per architecture and setup.

    Two runs share a compiled model when the built models have the same configuration,
    the same weights (shapes, and which of them train) and the same adapted statistics
    in their preprocessing layers (a `Normalization` layer's are part of the traced
    graph), and the optimizers, losses, metrics and steps per
    call of the training function agree; only the learning rate may differ. The shared
    model is put back at the start of training for every run: every variable (weights,
    dropout seeds) from the freshly built model, every optimizer variable at zero.

    Attributes:
        compiled: how many models the Trainer has compiled.
        runs: how many runs it has started.
    """

    def __init__(self):
        self._models = {}
        self.compiled = 0
        self.runs = 0

    def fresh(self, build, seed):
        """The model `build()` returns after seeding with `seed`: where every `fit` with
        that seed starts."""
        random.seed(seed)
        np.random.seed(seed)
        return build()

    def fit(
        self,
        build,
        optimizer,
        loss,
        x,
        y,
        *,
        batch_size,
        epochs=1,
        seed,
        metrics=None,
        steps_per_epoch=None,
        shuffle=True,
        drop_remainder=False,
        validation_data=None,
        callbacks=None,
        sample_weight=None,
    ):
        """Trains `build()`'s model from its seed-drawn weights, like `model.fit`.

        Args:
            build: a function of no arguments returning an uncompiled model.
            optimizer: a new Keras optimizer, e.g. `keras.optimizers.SGD(learning_rate=0.1)`.
            loss: the loss to compile with.
            x, y: the training data, NumPy arrays (`x` may be a dict of them, for a model
                with named inputs).
            batch_size: examples per step; `len(x)` or more trains on the whole set at every
                step (full batch).
            epochs: how many epochs to train.
            seed: fixes the initial weights, dropout masks and the order of the batches.
            metrics: passed to `compile`.
            steps_per_epoch: steps per epoch, if not one pass over `x`: the batches keep
                coming, a new permutation after every pass, so an "epoch" is then just how
                often the callbacks and the history look.
            shuffle: whether each pass takes the examples in a new random order.
            drop_remainder: leave out the last, smaller batch of each pass (as
                `tf.data`'s `batch(drop_remainder=True)`), so that every step sees
                `batch_size` examples and one compiled step serves them all; each pass
                leaves out other examples.
            validation_data: `(x_val, y_val)`, evaluated at the end of every epoch.
            callbacks: Keras callbacks.
            sample_weight: None, or a NumPy array of one weight per example, batched
                with its example and passed to Keras as the third element of each batch
                (as `model.fit(x, y, sample_weight=...)` takes it): each example's loss
                is multiplied by its weight before the batch's losses are averaged over
                the batch size (Keras's default reduction, "sum_over_batch_size"), so a
                weight of 2 counts an example twice, a weight of 0 leaves it out.

        Returns:
            `(model, history)`: the trained model, and the `keras.callbacks.History` that
            `model.fit` returns, whose `history` has every epoch's `seconds` too. The model
            is the Trainer's: the next `fit` of the same setup trains it again, so keep
            `model.get_weights()`, not the model, if you need them after.
        """
        steps = steps_per_epoch or _steps(_length(x), batch_size, drop_remainder)
        fresh = self.fresh(build, seed)
        model, schedule = self._compiled(
            fresh, optimizer, loss, metrics, _steps_per_execution(steps, callbacks)
        )
        for variable, value in zip(model.variables, fresh.variables, strict=True):
            variable.assign(value)
        for variable in model.optimizer.variables:
            if variable.name != "learning_rate":
                variable.assign(np.zeros(variable.shape, variable.dtype))
        callbacks = list(callbacks or [])
        if schedule is not None:
            callbacks.insert(
                0,
                keras.callbacks.LearningRateScheduler(lambda epoch: float(schedule(epoch * steps))),
            )
        self.runs += 1
        history = self.train(
            model,
            x,
            y,
            batch_size=batch_size,
            epochs=epochs,
            seed=seed,
            steps_per_epoch=steps_per_epoch,
            shuffle=shuffle,
            drop_remainder=drop_remainder,
            validation_data=validation_data,
            callbacks=callbacks,
            sample_weight=sample_weight,
        )
        return model, history

    def train(
        self,
        model,
        x,
        y,
        *,
        batch_size,
        epochs=1,
        seed,
        steps_per_epoch=None,
        shuffle=True,
        drop_remainder=False,
        validation_data=None,
        callbacks=None,
        sample_weight=None,
    ):
        """Trains `model`, one the Trainer returned, further from where it stands: the
        same batching as `fit`, and the same `sample_weight`, without the restart (say, a
        forecaster updated on new data). Returns the `History`."""
        _check_weights(sample_weight, _length(x))
        steps = steps_per_epoch or _steps(_length(x), batch_size, drop_remainder)
        # The compiled model runs a fixed number of steps per call. Every epoch still has
        # `steps` steps if that number divides them, or if there is one epoch (the stream
        # ends with it); otherwise (or if callbacks need every batch) it is made anew.
        execution = _steps_per_execution(steps, callbacks)
        current = model.steps_per_execution
        if (execution == 1 and current != 1) or (epochs > 1 and steps % current):
            model.steps_per_execution = execution
            model.make_train_function(force=True)
        if keras.backend.backend() != "tensorflow":
            stream = batches(
                x, y, batch_size, seed, steps * epochs, shuffle, drop_remainder, sample_weight
            )
        else:
            import tensorflow as tf

            stream = _tf_dataset(
                x, y, batch_size, seed, steps * epochs, shuffle, drop_remainder, sample_weight
            )
            if validation_data is not None:  # one batch, not a pipeline built every epoch
                validation_data = tf.data.Dataset.from_tensors(tuple(validation_data))
        return model.fit(
            stream,
            steps_per_epoch=steps,
            epochs=epochs,
            validation_data=validation_data,
            callbacks=[EpochTimer(), *(callbacks or [])],
            shuffle=False,
            verbose=0,
        )

    def _compiled(self, fresh, optimizer, loss, metrics, steps_per_execution):
        """The compiled model for this setup, its learning rate set; and the optimizer's
        learning-rate schedule, if it has one."""
        config = optimizer.get_config()
        schedule = config["learning_rate"]
        if isinstance(schedule, dict):  # a serialized LearningRateSchedule
            schedule = keras.optimizers.schedules.deserialize(schedule)
            config["learning_rate"] = float(schedule(0))
        else:
            schedule = None
        setup = dict(
            model=_anonymous(keras.saving.serialize_keras_object(fresh)),
            state=_digest(_adapted_state(fresh)),
            # Which weights train is not all in the config: LoRA factors added to a layer,
            # a kernel or bias frozen on its own.
            weights=[(tuple(v.shape), v.trainable) for v in fresh.weights],
            optimizer=[type(optimizer).__name__, {**config, "name": None, "learning_rate": None}],
            loss=keras.saving.serialize_keras_object(loss),
            metrics=keras.saving.serialize_keras_object(metrics),
            steps_per_execution=steps_per_execution,
        )
        key = json.dumps(setup, sort_keys=True, default=str)
        if key not in self._models:
            model = self._models[key] = fresh
            model.compile(
                type(optimizer).from_config(config),
                loss,
                metrics=metrics,
                steps_per_execution=steps_per_execution,
            )
            # Built now, not inside the first traced step, where TensorFlow would trace twice.
            model.optimizer.build(model.trainable_variables)
            self.compiled += 1
        model = self._models[key]
        model.optimizer.learning_rate = config["learning_rate"]
        return model, schedule


def loaded(build, weights):
    """A builder of `build()`'s model with `weights` loaded: a trained network, built
    anew (a teacher inside every distiller, a pre-trained model to fine-tune)."""

    def rebuilt():
        model = build()
        model.set_weights(weights)
        return model

    return rebuilt


def batches(x, y, batch_size, seed, steps, shuffle=True, drop_remainder=False, sample_weight=None):
    """The `steps` batches `(x[i], y[i])` a `Trainer` trains on, as NumPy arrays; with a
    `sample_weight`, `(x[i], y[i], sample_weight[i])`, as `model.fit` takes them.

    Pass after pass over the examples, each pass in a new order drawn from `seed` (or in
    the given order if not `shuffle`), the last batch of a pass smaller if `batch_size`
    does not divide `len(x)` (or left out, with `drop_remainder`). A `batch_size` of
    `len(x)` or more gives the whole set at every step, unshuffled: the order of examples
    in a batch changes nothing. `x` may be a dict of arrays, batched alike.
    """
    data = (x, y) if sample_weight is None else (x, y, sample_weight)
    order = _order(_length(x), batch_size, seed, steps, shuffle, drop_remainder)
    if order is None:
        for _ in range(steps):
            yield data
        return
    for chosen in _split(order, batch_size, steps, drop_remainder):
        yield keras.tree.map_structure(lambda v: v[chosen], data)


def _order(examples, batch_size, seed, steps, shuffle, drop_remainder=False):
    """One row per pass that `steps` batches need: the order of the examples in that
    pass. None for full-batch training."""
    if batch_size >= examples:
        return None
    passes = math.ceil(steps / _steps(examples, batch_size, drop_remainder))
    if not shuffle:
        return np.tile(np.arange(examples), (passes, 1))
    rng = np.random.default_rng(seed)
    return np.stack([rng.permutation(examples) for _ in range(passes)])


def _split(order, batch_size, steps, drop_remainder=False):
    """The first `steps` batches of indices, pass by pass."""
    stop = order.shape[1] - (order.shape[1] % batch_size if drop_remainder else 0)
    return [
        row[start : start + batch_size] for row in order for start in range(0, stop, batch_size)
    ][:steps]


def _tf_dataset(x, y, batch_size, seed, steps, shuffle, drop_remainder=False, sample_weight=None):
    """`batches` as a `tf.data` pipeline, which TensorFlow can run a whole epoch of in
    one call."""
    import tensorflow as tf

    data = (x, y) if sample_weight is None else (x, y, sample_weight)
    order = _order(_length(x), batch_size, seed, steps, shuffle, drop_remainder)
    if order is None:
        return tf.data.Dataset.from_tensors(data).repeat(steps)
    data = keras.tree.map_structure(tf.constant, data)
    return (
        tf.data.Dataset.from_tensor_slices(order)
        .flat_map(
            lambda row: tf.data.Dataset.from_tensor_slices(row).batch(batch_size, drop_remainder)
        )
        .take(steps)
        .map(lambda chosen: keras.tree.map_structure(lambda v: tf.gather(v, chosen), data))
        .prefetch(2)
    )


def _check_weights(sample_weight, examples):
    """Raises `ValueError` unless `sample_weight` is None or one weight per example."""
    if sample_weight is not None and np.shape(sample_weight) != (examples,):
        raise ValueError(
            f"sample_weight must hold one weight per example, shape ({examples},), "
            f"got shape {np.shape(sample_weight)}"
        )


def _steps_per_execution(steps, callbacks):
    """Training steps per call of the training function: a whole epoch, unless a callback
    acts before every batch (and must see each one). On TensorFlow the epoch is one traced
    loop; on JAX a Python loop over the jitted step, which skips Keras's bookkeeping and
    callbacks between steps."""
    base = keras.callbacks.Callback.on_train_batch_begin
    per_batch = any(type(callback).on_train_batch_begin is not base for callback in callbacks or [])
    return 1 if per_batch else steps


def _length(x):
    """Examples in `x`: an array, or a dict of arrays (a model with named inputs)."""
    return len(keras.tree.flatten(x)[0])


def _steps(examples, batch_size, drop_remainder=False):
    """Steps in one pass over `examples`."""
    if batch_size >= examples:
        return 1
    return examples // batch_size if drop_remainder else math.ceil(examples / batch_size)


def _anonymous(config):
    """`config` with every name replaced by its order of first appearance: models built
    alike get layer names that differ only in Keras's counters (`dense_3`, `dense_7`)."""
    names = {}

    def collect(node):
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "name" and isinstance(value, str):
                    names.setdefault(value, f"<{len(names)}>")
                collect(value)
        elif isinstance(node, list | tuple):
            for value in node:
                collect(value)

    def rename(node):
        if isinstance(node, dict):
            return {key: rename(value) for key, value in node.items()}
        if isinstance(node, list | tuple):
            return [rename(value) for value in node]
        return names.get(node, node) if isinstance(node, str) else node

    collect(config)
    return rename(config)


def _adapted_state(model):
    """The weights of the model's preprocessing layers (those with an `adapt` method,
    such as `Normalization`): their adapted statistics are constants of the traced graph,
    not variables a restart can assign. Every other weight, frozen ones included, is."""
    return [
        weight
        for layer in model._flatten_layers(include_self=False)
        if hasattr(layer, "adapt")
        for weight in layer.weights
    ]


def _digest(variables):
    """A fingerprint of the variables' values."""
    digest = hashlib.sha256()
    for variable in variables:
        digest.update(np.ascontiguousarray(keras.ops.convert_to_numpy(variable)).tobytes())
    return digest.hexdigest()


def classes_predicted(model, x):
    """How many different classes `model` predicts over the inputs `x`.

    One class for every input means the network has collapsed: a learning rate that
    blew up killed its ReLUs, and its output no longer depends on its input.
    """
    return len(np.unique(np.argmax(model.predict_on_batch(x), axis=-1)))


def gradients(model, x, y, loss="sparse_categorical_crossentropy", sample_weight=None):
    """Gradients of the mean loss on `(x, y)` with respect to `model.trainable_weights`.

    Computed in training mode, as a training step would (dropout active, batch
    normalization using the batch's statistics), under whichever Keras backend is
    running. The model is left as it was: the forward pass is a `stateless_call`, so
    statistics such as BatchNormalization's moving averages are not updated.

    Args:
        model: a built `keras.Model`.
        x: a batch of inputs.
        y: their targets.
        loss: a Keras loss name or function of `(y_true, y_pred)`.
        sample_weight: None, or one weight per example: the gradient of the mean of the
            weighted losses, `mean(w_i * loss_i)`, as Keras's default reduction
            ("sum_over_batch_size") computes it in a training step.

    Returns:
        A list of NumPy arrays, one per trainable weight, in the same order.

    Example:
        >>> grads = gradients(model, x[:256], y[:256])
        >>> norms = {w.path: np.linalg.norm(g) for w, g in zip(model.trainable_weights, grads)}
    """
    loss_fn = keras.losses.get(loss)

    def mean_loss(model, trainable, non_trainable, x, y):
        predictions, _ = model.stateless_call(trainable, non_trainable, x, training=True)
        return keras.ops.mean(loss_fn(y, predictions))

    if sample_weight is None:
        return _gradient(mean_loss, model, ("weights", loss), x, y, with_respect_to=0)

    def weighted_mean_loss(model, trainable, non_trainable, x, targets):
        y, weights = targets
        predictions, _ = model.stateless_call(trainable, non_trainable, x, training=True)
        return keras.ops.mean(loss_fn(y, predictions) * weights)

    targets = (y, np.asarray(sample_weight, "float32"))
    return _gradient(weighted_mean_loss, model, ("weighted", loss), x, targets, with_respect_to=0)


def input_gradients(model, x, y, loss="mean_squared_error"):
    """Gradients of each example's loss with respect to that example's inputs.

    How strongly the loss on an example depends on each part of its input: for a
    sequence model, `np.linalg.norm(grads, axis=-1)` has one value per timestep, and
    how it falls with distance from the output is the vanishing-gradient picture.
    Computed in inference mode; the model is left as it was.

    Args:
        model: a built `keras.Model`.
        x: a batch of inputs.
        y: their targets.
        loss: a Keras loss name or function of `(y_true, y_pred)` returning one value
            per example.

    Returns:
        A NumPy array shaped like `x`.
    """
    loss_fn = keras.losses.get(loss)

    def total_loss(model, trainable, non_trainable, x, y):
        predictions, _ = model.stateless_call(trainable, non_trainable, x, training=False)
        # The sum, not the mean: example i's loss is the only one that depends on x[i].
        return keras.ops.sum(loss_fn(y, predictions))

    return _gradient(total_loss, model, ("inputs", loss), x, y, with_respect_to=2)


_JAX_GRADIENTS = weakref.WeakKeyDictionary()  # model -> {key: compiled gradient}


def _gradient(function, model, key, x, y, with_respect_to):
    """Gradients of the scalar `function(model, trainable, non_trainable, x, y)` with
    respect to its argument number `with_respect_to` (0: the trainable weights, 2: the
    inputs), as NumPy arrays, on whichever Keras backend is running. On JAX the gradient is
    compiled, once per model, `key` and input shape: even a single call costs less that way than
    op by op, where every operation compiles on its own the first time it meets a shape."""
    arguments = [
        [variable.value for variable in model.trainable_variables],
        [variable.value for variable in model.non_trainable_variables],
        keras.ops.convert_to_tensor(x),
        keras.tree.map_structure(keras.ops.convert_to_tensor, y),
    ]
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        with tf.GradientTape() as tape:
            tape.watch(arguments[with_respect_to])
            value = function(model, *arguments)
        grads = tape.gradient(value, arguments[with_respect_to])
    elif backend == "jax":
        import jax

        compiled = _JAX_GRADIENTS.setdefault(model, {})
        if key not in compiled:  # the model's gradient, compiled once per input shape
            reference = weakref.ref(model)  # the cache must not keep the model alive
            compiled[key] = jax.jit(
                jax.grad(lambda *args: function(reference(), *args), argnums=with_respect_to)
            )
        gradient = compiled[key]
        grads = gradient(*arguments)
    elif backend == "torch":
        import torch

        argument = arguments[with_respect_to]
        watched = (
            [a.detach().requires_grad_(True) for a in argument]
            if isinstance(argument, list)
            else argument.detach().requires_grad_(True)
        )
        arguments[with_respect_to] = watched
        grads = torch.autograd.grad(function(model, *arguments), watched)
    else:
        raise NotImplementedError(f"gradients are not implemented for the {backend!r} backend")
    if not isinstance(grads, list | tuple):
        return keras.ops.convert_to_numpy(grads)
    return [keras.ops.convert_to_numpy(grad) for grad in grads]
