"""Helpers for running many short trainings quickly on a CPU."""


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
