"""Helpers for training: restarting a compiled model, and gradients on any backend."""

import keras


def restart(model, weights):
    """Puts a compiled model back at the start of training, without recompiling.

    Sets the given initial weights and a fresh optimizer state: the step count and
    every slot variable (Adam's moment estimates, SGD's momentum) go back to zero, the
    learning rate stays. The result trains exactly like a newly built and compiled
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


def gradients(model, x, y, loss="sparse_categorical_crossentropy"):
    """Gradients of the mean loss on `(x, y)` with respect to `model.trainable_weights`.

    Computed in training mode, as a training step would (dropout active, batch
    normalization using the batch's statistics), under whichever Keras backend is
    running. The model is left as it was: statistics such as BatchNormalization's
    moving averages, which a training-mode call updates, are put back.

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
    state = [variable.numpy() for variable in model.non_trainable_variables]
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        with tf.GradientTape() as tape:
            value = keras.ops.mean(loss_fn(y, model(x, training=True)))
        grads = tape.gradient(value, model.trainable_weights)
    elif backend == "jax":
        import jax

        non_trainable = [variable.value for variable in model.non_trainable_variables]

        def mean_loss(trainable):
            predictions, _ = model.stateless_call(trainable, non_trainable, x, training=True)
            return keras.ops.mean(loss_fn(y, predictions))

        grads = jax.grad(mean_loss)([variable.value for variable in model.trainable_variables])
    elif backend == "torch":
        for variable in model.trainable_variables:
            variable.value.grad = None
        keras.ops.mean(loss_fn(y, model(x, training=True))).backward()
        grads = [variable.value.grad for variable in model.trainable_variables]
    else:
        raise NotImplementedError(f"gradients() does not support the {backend!r} backend")
    for variable, value in zip(model.non_trainable_variables, state):
        variable.assign(value)
    return [keras.ops.convert_to_numpy(grad) for grad in grads]
