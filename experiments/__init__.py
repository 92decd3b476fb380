"""Experiments: one script per concept, run and reported by `experiments.runner`.

Each experiment module defines:
- `TITLE` and `CONCEPT` (one line each, plain string constants: `list` reads them without
  importing the module), and `CONCLUSION`: what the result means;
- `Config`: a frozen dataclass of defaults whose fields are `settings.setting(...)`s with a
  one-line meaning and their checks, validated in `__post_init__` by `settings.validate`;
- `QUICK`: overrides for a run of a few seconds;
- `run(config) -> pandas.DataFrame`: the tidy table of measurements, no file I/O; a column
  of wall-clock time is named `seconds` or ends in `_seconds` (the runner keeps those
  apart, in `timings.csv`, so that everything else reruns byte for byte);
- `summarize(table) -> pandas.DataFrame`: the table shown in `table.md` (or a dict
  `{heading: DataFrame}` of several, each shown under its heading);
- `CLAIMS`: a list of `experiments.claims.Claim` checked against the table: findings,
  which can fail, do not hang on which seeds ran (a share of seeds or a mean with its
  spread, not "every seed"), are stated relative to the run's own course rather than a
  fixed epoch, and never select on the test set; and checks (`kind="check"`), identities
  that hold when the code is right, shown apart (see `Claim`);
- `PLOTS`: a dict from file name to a function of the table returning a figure.

Importing this package is cheap: it imports neither TensorFlow nor Keras, and it sets
the environment that keeps TensorFlow's start-up notices off the terminal.
"""

import ast
import importlib
import importlib.util
import os
import re
import sys
import tempfile
from pathlib import Path

# Before anything imports TensorFlow: its C++ INFO and WARNING notices.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

EXPERIMENTS = (
    "perceptron",
    "backprop",
    "loss_functions",
    "gradient_descent",
    "learning_rate",
    "hyperparameter_search",
    "normalization",
    "random_labels",
    "dropout_vs_early_stopping",
    "residual_vs_plain",
    "lstm_memory",
    "stock_forecast",
    "language_model",
    "distillation",
    "lora",
    "fine_tuning",
    "dpo",
    "emergence",
    "inductive_bias",
    "data_parallel",
    "policy_gradient",
    "algorithmic_bias",
)

FOLDER = Path(__file__).resolve().parent


def check_name(name):
    """Raises `ValueError` unless `name` is a registered experiment."""
    if name not in EXPERIMENTS:
        raise ValueError(f"unknown experiment {name!r}; choose from: {', '.join(EXPERIMENTS)}")


def get(name):
    """Imports and returns the experiment module `name` (this imports Keras)."""
    check_name(name)
    import_keras_quietly()
    return importlib.import_module(f"experiments.{name}")


def describe(name):
    """`{"TITLE": ..., "CONCEPT": ...}` of experiment `name`, read from its source without
    importing it (and so without importing TensorFlow)."""
    check_name(name)
    tree = ast.parse((FOLDER / f"{name}.py").read_text())
    constants = {}
    for node in tree.body:
        if (
            isinstance(node, ast.Assign)
            and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name)
        ):
            if node.targets[0].id in ("TITLE", "CONCEPT"):
                constants[node.targets[0].id] = ast.literal_eval(node.value)
    return constants


# TensorFlow 2.21 writes these from C++ through absl, before and regardless of
# TF_CPP_MIN_LOG_LEVEL: "All log messages before absl::InitializeLog()", oneDNN's notice,
# "Could not find cuda drivers", and on a machine without a GPU "failed call to cuInit:
# UNKNOWN ERROR", which reads as a failure though it is not one.
_START_UP_NOISE = re.compile(
    r"^(WARNING: All log messages before absl::InitializeLog\(\)"
    r"|[IWE]\d{4} [\d:. ]+\d+ \S+\.cc:\d+\] "
    r".*(oneDNN|cuda|cuInit|CUDA|TensorRT|cuDNN|cuFFT|cuBLAS|GPU will not be used))"
)
_keras_imported = False


def _keep_compiled_programs():
    """Turns on JAX's persistent compilation cache, so that a rerun loads the programs an
    earlier run compiled instead of compiling them again: on a CPU, compiling each small
    model costs more than training it. The cache lives in `$JAX_COMPILATION_CACHE_DIR`
    or else beside the zoo's datasets (`zoo.datasets.cache_dir()/jax`); the programs are
    the same either way, and so are the results."""
    import jax

    from zoo.datasets import cache_dir

    if not os.environ.get("JAX_COMPILATION_CACHE_DIR"):
        jax.config.update("jax_compilation_cache_dir", str(cache_dir() / "jax"))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)


def import_keras_quietly():
    """Imports Keras (and its backend) with the start-up notices filtered out.

    Standard error is captured at the file-descriptor level while Keras is imported and
    its backend makes a first tensor (which is when TensorFlow looks for a GPU; on JAX,
    after `_keep_compiled_programs`), and on another backend while TensorFlow, which Keras
    imports there too when it serializes a layer, does the same; the lines that are not known start-up notices are written back, so real errors
    still show.
    """
    global _keras_imported
    if _keras_imported:
        return
    _keras_imported = True
    if "keras" in sys.modules:
        return
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            import keras

            if keras.backend.backend() == "jax":
                _keep_compiled_programs()
            keras.ops.convert_to_numpy(keras.ops.zeros(()))
            if keras.backend.backend() != "tensorflow" and importlib.util.find_spec("tensorflow"):
                # Keras imports TensorFlow on every backend when it serializes a layer.
                import tensorflow as tf

                tf.zeros(())
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            for line in captured.read().decode(errors="replace").splitlines(keepends=True):
                if not _START_UP_NOISE.match(line):
                    sys.stderr.write(line)
