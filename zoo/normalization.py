"""Feature scaling and normalization layers.

Gradient descent on features of very different scales (age in years, a loan in
dollars) is slow: the loss surface is a long narrow valley, the learning rate must be
small enough for its steepest direction, and progress along the flattest is then tiny.
For linear regression the number of steps grows with the condition number of `X^T X`,
the ratio of its largest to smallest eigenvalue (`gradient_descent_steps`).
Standardizing each feature to mean 0 and standard deviation 1 (Keras:
`keras.layers.Normalization`, adapted on the training data) makes the valley round.
Batch normalization (Ioffe & Szegedy 2015) does the same to each hidden layer's
pre-activations across a batch, layer normalization (Ba et al. 2016) across one
example's features; both then apply a learned scale and shift.

Example:
    >>> x, y = student_loans(2000, seed=0)                 # raw: years, dollars, points
    >>> model = build_normalized_mlp(x.shape[1], normalization="input", adapt_data=x)
"""

import keras
import numpy as np

NORMALIZATIONS = (None, "input", "batch", "layer")

# A synthetic student-loan table: name, mean and standard deviation of each feature.
LOAN_FEATURES = (
    ("age", 27.0, 6.0),  # years
    ("loan", 30_000.0, 12_000.0),  # dollars
    ("income", 45_000.0, 15_000.0),  # dollars a year
    ("credit_score", 680.0, 60.0),  # points
    ("years_of_study", 4.0, 1.5),  # years
)
# How each standardized feature moves the log-odds of default (the truth the data is drawn from).
LOAN_LOG_ODDS = {
    "intercept": -1.0,
    "age": -0.3,
    "loan": 1.2,
    "income": -1.0,
    "credit_score": -0.8,
    "years_of_study": -0.2,
}


def student_loans(num_examples=2000, seed=0):
    """A synthetic student-loan table and whether each loan defaulted.

    Features on their natural scales: age (years), loan value and income (dollars),
    credit score (points) and years of study, independent and normal. A loan defaults
    with probability `sigmoid(sum of LOAN_LOG_ODDS times the standardized features)`.

    Returns:
        `x` of shape `(num_examples, 5)` float32, columns in `LOAN_FEATURES` order, and
        `y`, 0 or 1.
    """
    rng = np.random.default_rng(seed)
    standard = rng.normal(size=(num_examples, len(LOAN_FEATURES)))
    log_odds = LOAN_LOG_ODDS["intercept"] + standard @ np.array(
        [LOAN_LOG_ODDS[name] for name, _, _ in LOAN_FEATURES]
    )
    y = (rng.uniform(size=num_examples) < 1 / (1 + np.exp(-log_odds))).astype("int64")
    means = np.array([mean for _, mean, _ in LOAN_FEATURES])
    scales = np.array([scale for _, _, scale in LOAN_FEATURES])
    return (means + standard * scales).astype("float32"), y


def gradient_descent_steps(x, y, tolerance=1e-6, max_steps=1_000_000):
    """Full-batch gradient descent on least squares until the weights are within
    `tolerance` (relative) of the exact solution.

    The loss is `|x w - y|^2 / 2n`, its Hessian `H = x^T x / n`; the learning rate is
    `1 / largest eigenvalue of H`, the largest that is safe in every direction. Along
    an eigenvector with eigenvalue `l` the error then shrinks by `1 - l / l_max` per
    step, so the slowest direction needs about `kappa * ln(1 / tolerance)` steps, `kappa`
    the condition number `l_max / l_min`.

    Returns:
        `(steps, kappa)`; steps is `max_steps` if it did not converge.
    """
    x = np.asarray(x, dtype="float64")
    y = np.asarray(y, dtype="float64")
    hessian = x.T @ x / len(x)
    target = x.T @ y / len(x)
    eigenvalues = np.linalg.eigvalsh(hessian)
    solution = np.linalg.solve(hessian, target)
    learning_rate = 1 / eigenvalues[-1]
    kappa = float(eigenvalues[-1] / eigenvalues[0])
    close_enough = tolerance**2 * (solution @ solution)
    w = np.zeros(x.shape[1])
    for step in range(1, max_steps + 1):
        w -= learning_rate * (hessian @ w - target)  # the gradient of the loss is H w - x^T y / n
        error = w - solution
        if error @ error <= close_enough:
            return step, kappa
    return max_steps, kappa


def build_normalized_mlp(
    input_dim=5,
    hidden_units=(32, 32),
    normalization=None,
    adapt_data=None,
    activation="relu",
    name=None,
):
    """A binary classifier MLP with the chosen normalization.

    Args:
        input_dim: number of features.
        hidden_units: width of each hidden layer.
        normalization: None; "input", a `keras.layers.Normalization` that standardizes
            each feature with statistics from `adapt_data` (the training set) and saves
            them with the model; "batch" or "layer", a `BatchNormalization` or
            `LayerNormalization` between each Dense layer and its activation.
        adapt_data: the training inputs, required for "input".
        activation: the hidden layers' activation.
    """
    if normalization not in NORMALIZATIONS:
        raise ValueError(f"normalization must be one of {NORMALIZATIONS}, got {normalization!r}")
    inputs = keras.Input((input_dim,), name="features")
    x = inputs
    if normalization == "input":
        if adapt_data is None:
            raise ValueError("normalization='input' needs adapt_data, the training inputs")
        standardize = keras.layers.Normalization(name="standardize")
        standardize.adapt(np.asarray(adapt_data))
        x = standardize(x)
    for index, units in enumerate(hidden_units):
        x = keras.layers.Dense(units, name=f"dense_{index}")(x)
        if normalization == "batch":
            x = keras.layers.BatchNormalization(name=f"batch_norm_{index}")(x)
        elif normalization == "layer":
            x = keras.layers.LayerNormalization(name=f"layer_norm_{index}")(x)
        x = keras.layers.Activation(activation, name=f"{activation}_{index}")(x)
    outputs = keras.layers.Dense(1, activation="sigmoid", name="default_probability")(x)
    return keras.Model(inputs, outputs, name=name or f"mlp_{normalization or 'plain'}")
