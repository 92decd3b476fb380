"""The lessons of the backprop experiment at quick size."""

import json

import keras
import pytest

from experiments import backprop


@pytest.fixture(scope="module")
def quick(quick_run):
    return quick_run("backprop")


def test_three_ways_of_computing_the_gradient_agree(quick):
    tables, _ = quick
    checks = tables["check"]
    assert len(checks) == 2 * 3 * 2  # seeds x activations x losses
    # On JAX, Keras reduces float64 tensors in float32 (see tests/zoo/test_backprop.py).
    keras_float64 = 1e-6 if keras.backend.backend() == "jax" else 1e-10
    assert checks["hand_vs_auto"].max() < keras_float64 and checks["hand_vs_fd"].max() < 1e-6


def test_claims_are_computed_from_the_table(quick):
    tables, folder = quick
    stored = json.loads((folder / "claims.json").read_text())
    assert [claim.evaluate(tables) for claim in backprop.CLAIMS] == stored
    forged = {name: rows.copy() for name, rows in tables.items()}
    forged["check"]["hand_vs_auto"] = 0.1
    assert backprop.CLAIMS[0].evaluate(forged)["verdict"] == "FAIL"
