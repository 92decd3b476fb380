"""An educational model zoo: one Keras model per deep-learning concept.

Each module is one concept and exposes `build_<thing>(**hyperparameters)` returning a
`keras.Model`; every argument has a default, so `build_mlp()` alone gives a small
working model. Models save to `.keras` and load back with `safe_mode=True`.
"""

from zoo.mlp import build_mlp
from zoo.perceptron import build_perceptron
from zoo.recurrent import build_lstm_forecaster, build_sequence_regressor
from zoo.residual import build_residual_mlp, build_resnet  # also registers the residual blocks

__all__ = [
    "build_lstm_forecaster",
    "build_mlp",
    "build_perceptron",
    "build_residual_mlp",
    "build_resnet",
    "build_sequence_regressor",
]
__version__ = "0.1.0"
