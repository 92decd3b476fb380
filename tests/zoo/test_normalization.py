import keras
import numpy as np
import pytest

from zoo.normalization import (
    LOAN_FEATURES,
    build_normalized_mlp,
    gradient_descent_steps,
    student_loans,
)


def test_the_loan_table_has_features_on_their_natural_scales():
    x, y = student_loans(5000, seed=0)
    assert x.shape == (5000, len(LOAN_FEATURES)) and set(np.unique(y)) == {0, 1}
    for column, (_, mean, scale) in enumerate(LOAN_FEATURES):
        assert x[:, column].mean() == pytest.approx(mean, rel=0.05)
        assert x[:, column].std() == pytest.approx(scale, rel=0.05)
    np.testing.assert_array_equal(student_loans(100, seed=3)[0], student_loans(100, seed=3)[0])


def test_gradient_descent_steps_grow_with_the_condition_number():
    z = np.random.default_rng(0).normal(size=(500, 2))
    y = z @ np.array([1.0, -1.0])
    steps = [gradient_descent_steps(z * [1, ratio], y) for ratio in (1, 10)]
    assert steps[0][1] < 2 and 50 < steps[1][1] < 200  # kappa is about ratio squared
    assert steps[1][0] > 50 * steps[0][0]
    assert gradient_descent_steps(z * [1, 1000], y, max_steps=100)[0] == 100  # gave up


@pytest.mark.parametrize("normalization", [None, "input", "batch", "layer"])
def test_each_variant_saves_and_loads_with_identical_predictions(
    assert_saves_and_loads, normalization
):
    x, _ = student_loans(64, seed=0)
    assert_saves_and_loads(build_normalized_mlp(5, (8,), normalization, adapt_data=x), x)


def test_the_input_normalization_standardizes_with_the_training_statistics():
    x, _ = student_loans(2000, seed=0)
    model = build_normalized_mlp(5, (8,), "input", adapt_data=x)
    standardized = keras.Model(model.input, model.get_layer("standardize").output).predict_on_batch(
        x
    )
    np.testing.assert_allclose(standardized.mean(axis=0), 0, atol=1e-3)
    np.testing.assert_allclose(standardized.std(axis=0), 1, atol=1e-3)
    with pytest.raises(ValueError, match="adapt_data"):
        build_normalized_mlp(5, normalization="input")
