"""Experiments: one script per concept, run and reported by `experiments.runner`.

Each experiment module defines:
- `TITLE` and `CONCEPT` (one line each), and `CONCLUSION`: what the result means;
- `Config`: a frozen dataclass of defaults that validates itself in `__post_init__`;
- `QUICK`: overrides for a run of a few seconds;
- `run(config) -> pandas.DataFrame`: the tidy table of measurements, no file I/O;
- `summarize(table) -> pandas.DataFrame`: the table shown in `table.md`;
- `CLAIMS`: a list of `experiments.claims.Claim` checked against the table;
- `PLOTS`: a dict from file name to a function of the table returning a figure.
"""

import importlib
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's C++ start-up notices

EXPERIMENTS = ("perceptron", "backprop", "gradient_descent", "learning_rate", "normalization", "random_labels", "dropout_vs_early_stopping", "residual_vs_plain", "lstm_memory", "stock_forecast")


def get(name):
    """Imports and returns the experiment module `name`."""
    if name not in EXPERIMENTS:
        raise ValueError(f"unknown experiment {name!r}; choose from: {', '.join(EXPERIMENTS)}")
    return importlib.import_module(f"experiments.{name}")
