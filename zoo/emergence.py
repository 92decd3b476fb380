"""Emergence and its measurement: multi-digit addition scored digit by digit and whole.

Wei et al. 2022 ("Emergent abilities of large language models") saw abilities such as
multi-digit addition appear abruptly as models grew; Schaeffer et al. 2023 ("Are
emergent abilities of large language models a mirage?") showed that a metric which
needs every token right turns a smooth rise in per-token accuracy `p` into a jump: an
answer of `L` tokens is all right with probability about `p ** L`. The tools here score
the same predictions both ways, and continuously.

- `addition_problems(n, digits, seed)`: distinct random problems, with their operands'
  digits one-hot (the network's input) and the answer's digits (its targets).
- `build_digit_mlp`: an MLP with one softmax head per answer digit.
- `digit_scores(predicted, answers)`: per-digit accuracy, exact match, the mean number of
  wrong digits, and how strongly the errors of one answer's digits go together.
"""

import keras
import numpy as np


def addition_problems(n, digits=4, seed=0):
    """`n` distinct problems `a + b` with `digits`-digit operands, drawn by `seed`.

    Returns:
        `(x, y)`: `x` `(n, 2 * digits * 10)`, each operand digit one-hot (most significant
        first, `a` then `b`); `y` `(n, digits + 1)`, the answer's digits, most significant
        first (the leading one is 0 or 1).
    """
    top = 10**digits
    if not 0 < n <= top * top // 2:
        raise ValueError(f"n must be in [1, {top * top // 2}], got {n}")
    rng = np.random.default_rng(seed)
    drawn = np.unique(rng.integers(0, top * top, size=2 * n))
    drawn = rng.permutation(drawn)[:n]
    while len(drawn) < n:  # as good as never: 2n draws from 10 ** (2 * digits)
        extra = rng.integers(0, top * top, size=n)
        drawn = np.unique(np.concatenate([drawn, extra]))[:n]
    a, b = drawn // top, drawn % top
    operands = np.concatenate([to_digits(a, digits), to_digits(b, digits)], axis=1)
    x = np.eye(10, dtype="float32")[operands].reshape(n, -1)
    return x, to_digits(a + b, digits + 1)


def to_digits(values, length):
    """The decimal digits of `values`, `(n, length)`, most significant first."""
    places = 10 ** np.arange(length - 1, -1, -1)
    return (np.asarray(values)[:, None] // places) % 10


def build_digit_mlp(input_size, answer_digits, hidden_units=(64, 64), name="digit_mlp"):
    """An MLP that writes a whole answer at once: ReLU hidden layers, then one softmax over
    the ten digits for each of the `answer_digits` places, `(batch, answer_digits, 10)`.
    Train it with `SparseCategoricalCrossentropy` on the digits `(batch, answer_digits)`.

    Example:
        >>> build_digit_mlp(80, 5, (16, 16)).output_shape
        (None, 5, 10)
    """
    if answer_digits < 1:
        raise ValueError(f"answer_digits must be positive, got {answer_digits}")
    if any(int(units) < 1 for units in hidden_units):
        raise ValueError(f"hidden_units must be positive, got {tuple(hidden_units)}")
    inputs = keras.Input((input_size,), name="digits")
    x = inputs
    for index, units in enumerate(hidden_units):
        x = keras.layers.Dense(int(units), activation="relu", name=f"dense_{index}")(x)
    x = keras.layers.Dense(answer_digits * 10, name="heads")(x)
    x = keras.layers.Reshape((answer_digits, 10), name="per_digit")(x)
    outputs = keras.layers.Softmax(name="softmax")(x)
    return keras.Model(inputs, outputs, name=name)


def digit_scores(predicted, answers):
    """The same predictions scored four ways.

    Args:
        predicted: the predicted digits, `(n, L)`.
        answers: the true digits, `(n, L)`.

    Returns:
        A dict: `per_digit` (the share of digits right, `p`), `exact_match` (the share of
        answers with every digit right), `p_to_the_L` (`p ** L`, the exact match if digit
        errors were independent and equally likely at every place), `independent` (the
        product of each place's accuracy: the exact match if the places' errors were
        independent, however likely at each place), `wrong_digits` (the
        mean number of wrong digits per answer: a Hamming distance, continuous where exact
        match is all or nothing), and `error_correlation` (the mean correlation between
        two places' errors over the answers; nan where no pair of places both err
        sometimes).
    """
    predicted, answers = np.asarray(predicted), np.asarray(answers)
    if predicted.shape != answers.shape:
        raise ValueError(f"shapes differ: {predicted.shape} and {answers.shape}")
    wrong = predicted != answers
    per_digit = float(1 - wrong.mean())
    varying = wrong[:, wrong.std(axis=0) > 0].astype("float64")
    if varying.shape[1] >= 2:
        correlation = np.corrcoef(varying, rowvar=False)
        error_correlation = float(correlation[np.triu_indices_from(correlation, k=1)].mean())
    else:
        error_correlation = float("nan")
    return dict(
        per_digit=per_digit,
        exact_match=float((~wrong.any(axis=1)).mean()),
        p_to_the_L=per_digit ** answers.shape[1],
        independent=float(np.prod(1 - wrong.mean(axis=0))),
        wrong_digits=float(wrong.sum(axis=1).mean()),
        error_correlation=error_correlation,
    )
