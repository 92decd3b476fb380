"""Helpers for training: compiling a model once and restarting it, and gradients on any backend."""

import keras
import numpy as np


def restart(model, weights, learning_rate=None):
    """Puts a compiled model back at the start of training, without recompiling.

    Sets the given initial weights and a fresh optimizer state: the step count and
    every slot variable (Adam's moment estimates, SGD's momentum) go back to zero; the
    learning rate stays, or becomes `learning_rate` if given (a learning-rate sweep
    needs one compiled model, not one per rate). The result trains exactly like a newly built and compiled
    model with those weights, but reuses the training graph Keras already traced,
    which on a small model costs more (about a second) than many epochs of training.

    Args:
        model: a compiled `keras.Model` that has trained before.
        weights: the initial weights, e.g. `fresh_model.get_weights()` of a freshly
            built model of the same architecture.

    Example:
        >>> initial = model.get_weights()
        >>> model.fit(x, y, epochs=10)                 # traces the training graph
        >>> restart(model, initial)
        >>> model.fit(x, y, epochs=10)                 # same run again, no tracing
    """
    model.set_weights(weights)
    for variable in model.optimizer.variables:
        if variable.name != "learning_rate":
            variable.assign(variable.numpy() * 0)
    if learning_rate is not None:
        model.optimizer.learning_rate.assign(learning_rate)


def compile_once(cache, key, build, optimizer, loss, steps_per_execution=1):
    """The model `cache[key]`, built and compiled the first time `key` is asked for.

    Experiments train the same architecture many times, from fresh weights each time:
    compile one model per architecture and training setup, and start every run with
    `restart`. The optimizer's variables are created here too, not inside the first
    traced training step, where TensorFlow would trace that step twice.

    Args:
        cache: a dict the compiled models are kept in.
        key: what tells the models apart, e.g. `(optimizer_name, width, steps)`.
        build: a function of no arguments returning the uncompiled model.
        optimizer: a function of no arguments returning a new optimizer, such as
            `keras.optimizers.SGD` or `lambda: keras.optimizers.Adam(1e-3)`; called
            only when the model is compiled.
        loss: the loss to compile with.
        steps_per_execution: passed to `compile`.

    Example:
        >>> for seed in seeds:
        ...     keras.utils.set_random_seed(seed)
        ...     weights = build().get_weights()          # drawn first: see restart
        ...     model = compile_once(models, "mlp", build, keras.optimizers.SGD, "mse")
        ...     restart(model, weights)
        ...     model.fit(x, y, epochs=10)
    """
    if key not in cache:
        model = cache[key] = build()
        model.compile(optimizer(), loss, steps_per_execution=steps_per_execution)
        model.optimizer.build(model.trainable_variables)
    return cache[key]


def classes_predicted(model, x):
    """How many different classes `model` predicts over the inputs `x`.

    One class for every input means the network has collapsed: a learning rate that
    blew up killed its ReLUs, and its output no longer depends on its input.
    """
    return len(np.unique(np.argmax(model.predict_on_batch(x), axis=-1)))


def gradients(model, x, y, loss="sparse_categorical_crossentropy"):
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

    Returns:
        A list of NumPy arrays, one per trainable weight, in the same order.

    Example:
        >>> grads = gradients(model, x[:256], y[:256])
        >>> norms = {w.path: np.linalg.norm(g) for w, g in zip(model.trainable_weights, grads)}
    """
    loss_fn = keras.losses.get(loss)
    x, y = keras.ops.convert_to_tensor(x), keras.ops.convert_to_tensor(y)
    non_trainable = [variable.value for variable in model.non_trainable_variables]

    def mean_loss(*trainable):
        predictions, _ = model.stateless_call(list(trainable), non_trainable, x, training=True)
        return keras.ops.mean(loss_fn(y, predictions))

    return _gradient(mean_loss, [variable.value for variable in model.trainable_variables])


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
    y = keras.ops.convert_to_tensor(y)
    trainable = [variable.value for variable in model.trainable_variables]
    non_trainable = [variable.value for variable in model.non_trainable_variables]

    def total_loss(inputs):
        predictions, _ = model.stateless_call(trainable, non_trainable, inputs, training=False)
        # The sum, not the mean: example i's loss is the only one that depends on x[i].
        return keras.ops.sum(loss_fn(y, predictions))

    return _gradient(total_loss, [keras.ops.convert_to_tensor(x)])[0]


def _gradient(function, arguments):
    """Gradients of the scalar `function(*arguments)` with respect to each argument,
    as NumPy arrays, on whichever Keras backend is running."""
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        with tf.GradientTape() as tape:
            tape.watch(arguments)
            value = function(*arguments)
        grads = tape.gradient(value, arguments)
    elif backend == "jax":
        import jax

        grads = jax.grad(lambda args: function(*args))(list(arguments))
    elif backend == "torch":
        import torch

        arguments = [argument.detach().requires_grad_(True) for argument in arguments]
        grads = torch.autograd.grad(function(*arguments), arguments)
    else:
        raise NotImplementedError(f"gradients are not implemented for the {backend!r} backend")
    return [keras.ops.convert_to_numpy(grad) for grad in grads]
