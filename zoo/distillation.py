"""Knowledge distillation: a small student trained on a big teacher's softened outputs.

Hinton, Vinyals & Dean 2015, "Distilling the knowledge in a neural network": a trained
network's probabilities for the wrong classes (a 2 that looks a little like a 3, a lot
less like a 7) say how it generalizes, and a student trained to match them learns more
than from the labels alone. Most of those probabilities are tiny, so both networks'
logits `z` are divided by a temperature `T` before the softmax,
`softmax(z / T)`, which raises the small ones; the student minimizes the
Kullback-Leibler divergence from the teacher's softened distribution to its own,
times `T ** 2` (the gradients of the softened loss shrink as `1 / T ** 2`; the factor
keeps their size the same at every temperature). Optionally a small weight goes to the
usual cross-entropy with the true labels.

Keras ships this as `keras.distillation.Distiller` with
`keras.distillation.LogitsDistillation`; `build_distiller` makes one the right way. It
must: in Keras 3.15.1, `LogitsDistillation`'s default `loss="kl_divergence"` resolves to
the function `keras.losses.kl_divergence`, not an instance of the class
`keras.losses.KLDivergence`, so the branch that applies the softmax and the `T ** 2`
factor (`isinstance(loss_fn, keras.losses.KLDivergence)`) is skipped, and the KL
divergence is computed on the temperature-scaled logits themselves, clipped to
[1e-7, 1] as if they were probabilities. The result is not a divergence at all (on
trained networks it goes negative). Passing `loss=keras.losses.KLDivergence()` takes
the right branch; `soft_target_loss`, the formula written out, is the reference that
tests hold it to. The two differ in one detail: `KLDivergence` clips both
distributions to [1e-7, 1], which changes the loss (and zeroes the gradient) wherever
a confident network's softened probability falls below 1e-7; `soft_target_loss_numpy`
can apply the same clip.

Also here: `build_logits_mlp`, a small dense student, and `bias_correction`, the shift
of one class's logit that Hinton et al. used to recover a class the student never saw.
(The teacher on MNIST-1D is `zoo.convolution.build_cnn1d`.)
"""

import keras
import numpy as np


def build_logits_mlp(input_shape, num_classes=10, hidden_units=(100, 100), name="student"):
    """A multilayer perceptron that outputs logits: ReLU hidden layers, a linear head.

    `zoo.mlp.build_mlp` ends in a softmax; distillation divides the logits by a
    temperature, which a softmax output would not have (dividing probabilities by `T`
    and taking a softmax again gives nearly uniform targets).

    Args:
        input_shape: shape of one example; inputs with more than one axis are flattened.
        num_classes: number of classes.
        hidden_units: width of each hidden layer.
        name: name of the model.

    Returns:
        An uncompiled `keras.Model` from inputs to logits.

    Example:
        >>> build_logits_mlp((8, 8, 1), 10, (30, 30)).count_params()
        3190
    """
    if num_classes < 2:
        raise ValueError(f"num_classes must be at least 2, got {num_classes}")
    if any(int(units) < 1 for units in hidden_units):
        raise ValueError(f"hidden_units must be positive, got {tuple(hidden_units)}")
    inputs = keras.Input(shape=tuple(input_shape), name="inputs")
    x = keras.layers.Flatten(name="flatten")(inputs) if len(input_shape) > 1 else inputs
    for index, units in enumerate(hidden_units):
        x = keras.layers.Dense(int(units), activation="relu", name=f"dense_{index}")(x)
    outputs = keras.layers.Dense(num_classes, name="logits")(x)
    return keras.Model(inputs, outputs, name=name)


# --- the loss -------------------------------------------------------------------------


def soft_target_loss(teacher_logits, student_logits, temperature):
    """Hinton et al.'s soft-target loss, written out with `keras.ops`:
    `T ** 2 * mean over examples of KL(softmax(teacher / T) || softmax(student / T))`.

    The divergence is taken from the teacher's distribution to the student's, and the
    order matters: swapped, the teacher would be pulled toward the student. Up to the
    teacher's entropy (a constant) this is the cross-entropy of the student's softened
    prediction against the teacher's, and has the same gradient. Computed with
    log-softmax, so that no probability is clipped.

    Args:
        teacher_logits: `(examples, classes)` logits of the teacher.
        student_logits: `(examples, classes)` logits of the student.
        temperature: `T`, positive.

    Returns:
        A scalar tensor.
    """
    if temperature <= 0:
        raise ValueError(f"temperature must be positive, got {temperature}")
    teacher_log_p = keras.ops.log_softmax(teacher_logits / temperature, axis=-1)
    student_log_p = keras.ops.log_softmax(student_logits / temperature, axis=-1)
    divergence = keras.ops.sum(
        keras.ops.exp(teacher_log_p) * (teacher_log_p - student_log_p), axis=-1
    )
    return temperature**2 * keras.ops.mean(divergence)


def soft_target_loss_numpy(teacher_logits, student_logits, temperature, clip=None):
    """`soft_target_loss` in float64 NumPy: the reference the Keras losses are tested
    against.

    With `clip`, both softened distributions are clipped to `[clip, 1]` before the
    divergence is taken, as `keras.losses.KLDivergence` does with `clip` =
    `keras.config.epsilon()` (1e-7): the loss `LogitsDistillation` computes. The clip
    matters only where a probability falls below it, as a confident teacher's do at low
    temperatures; there it also stops the gradient.
    """

    def log_softmax(logits):
        scaled = np.asarray(logits, dtype="float64") / temperature
        scaled = scaled - scaled.max(axis=-1, keepdims=True)
        return scaled - np.log(np.exp(scaled).sum(axis=-1, keepdims=True))

    teacher, student = log_softmax(teacher_logits), log_softmax(student_logits)
    if clip is not None:
        teacher, student = (np.log(np.clip(np.exp(p), clip, 1.0)) for p in (teacher, student))
    divergence = np.sum(np.exp(teacher) * (teacher - student), axis=-1)
    return float(temperature**2 * np.mean(divergence))


def cross_entropy_numpy(logits, labels):
    """The mean cross-entropy of integer `labels` under `softmax(logits)`, float64."""
    logits = np.asarray(logits, dtype="float64")
    logits = logits - logits.max(axis=-1, keepdims=True)
    log_p = logits - np.log(np.exp(logits).sum(axis=-1, keepdims=True))
    return float(-np.mean(log_p[np.arange(len(labels)), labels]))


def logits_distillation(temperature):
    """`keras.distillation.LogitsDistillation` at `temperature`, with the loss given as a
    `keras.losses.KLDivergence` instance: the default string would skip the softmax and
    the `T ** 2` factor (see the module docstring). Its loss is `soft_target_loss` with
    the probabilities clipped to [1e-7, 1]."""
    return keras.distillation.LogitsDistillation(
        temperature=temperature, loss=keras.losses.KLDivergence()
    )


def build_distiller(teacher, student, temperature, student_loss_weight=0.1):
    """A `keras.distillation.Distiller` that trains `student` on `teacher`'s soft targets.

    Compile it with the hard-label loss for logits,
    `keras.losses.SparseCategoricalCrossentropy(from_logits=True)`; its total loss is
    `student_loss_weight * hard-label loss + (1 - student_loss_weight) * soft-target
    loss` (Keras's convention: the weight is the hard labels' share). After training,
    `distiller.student` is the trained student, a plain model that saves on its own.

    Args:
        teacher: a trained model that outputs logits; the Distiller freezes it.
        student: the model to train, outputting logits of the same shape.
        temperature: the temperature of both softmaxes.
        student_loss_weight: the weight of the hard labels' cross-entropy, in [0, 1];
            0 trains on the soft targets alone. Hinton et al. found a small weight on
            the hard labels best.

    Raises:
        ValueError: a model whose last layer applies a softmax (distillation needs
            logits), or a weight outside [0, 1].
    """
    for role, model in (("teacher", teacher), ("student", student)):
        activation = getattr(model.layers[-1], "activation", None)
        if activation is keras.activations.softmax:
            raise ValueError(
                f"the {role} {model.name!r} ends in a softmax; distillation divides logits "
                "by the temperature, so build it without one"
            )
    return keras.distillation.Distiller(
        teacher=teacher,
        student=student,
        distillation_losses=logits_distillation(temperature),
        student_loss_weight=student_loss_weight,
    )


# --- a class the student never saw ------------------------------------------------------


def bias_correction(logits, class_index, target_rate):
    """The shift of class `class_index`'s logit after which that class is predicted for
    a share `target_rate` of the examples: Hinton et al.'s bias correction for a class
    left out of the transfer set, where the student learned that it exists but
    never that it is common.

    Example `i` is predicted as the class once the shift exceeds `margin[i]`, its best
    other logit minus its own logit for the class, so the shift is the midpoint between
    the k-th and (k+1)-th smallest margins, with `k = round(target_rate * examples)`
    (one unit beyond the extreme margin when k is 0 or every example). Choose it on
    validation data, then apply it to the test set.

    Args:
        logits: `(examples, classes)` array.
        class_index: the class to shift.
        target_rate: the share of examples to predict as that class, in [0, 1].

    Returns:
        The shift, a float, to add to column `class_index` of the logits.
    """
    logits = np.asarray(logits, dtype="float64")
    if logits.ndim != 2 or not 0 <= class_index < logits.shape[1]:
        raise ValueError(
            f"need (examples, classes) logits and a class among them, got shape "
            f"{logits.shape} and class {class_index}"
        )
    if not 0 <= target_rate <= 1:
        raise ValueError(f"target_rate must lie in [0, 1], got {target_rate}")
    others = np.delete(logits, class_index, axis=1).max(axis=1)
    margins = np.sort(others - logits[:, class_index])
    k = int(round(target_rate * len(margins)))
    if k == 0:
        return float(margins[0] - 1.0)
    if k == len(margins):
        return float(margins[-1] + 1.0)
    return float((margins[k - 1] + margins[k]) / 2)
