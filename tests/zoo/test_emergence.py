import numpy as np
import pytest

from zoo.emergence import addition_problems, build_digit_mlp, digit_scores, to_digits


def test_addition_problems_are_distinct_one_hot_digits_and_their_sums():
    x, y = addition_problems(500, digits=3, seed=0)
    assert x.shape == (500, 60) and y.shape == (500, 4)
    operands = x.reshape(500, 6, 10).argmax(axis=-1)
    assert (x.reshape(500, 6, 10).sum(axis=-1) == 1).all()
    places = 10 ** np.arange(2, -1, -1)
    a, b = operands[:, :3] @ places, operands[:, 3:] @ places
    np.testing.assert_array_equal(y @ (10 ** np.arange(3, -1, -1)), a + b)
    assert len(set(zip(a, b))) == 500
    again, _ = addition_problems(500, digits=3, seed=0)
    np.testing.assert_array_equal(again, x)
    with pytest.raises(ValueError, match="n must be"):
        addition_problems(0)


def test_to_digits_writes_the_most_significant_first():
    np.testing.assert_array_equal(to_digits([1234, 7], 5), [[0, 1, 2, 3, 4], [0, 0, 0, 0, 7]])


def test_the_digit_mlp_has_a_softmax_per_place_and_saves(assert_saves_and_loads):
    model = build_digit_mlp(80, 5, (16, 16))
    x, _ = addition_problems(32, digits=4, seed=1)
    probabilities = model.predict_on_batch(x)
    assert probabilities.shape == (32, 5, 10)
    np.testing.assert_allclose(probabilities.sum(axis=-1), 1.0, rtol=1e-5)
    assert_saves_and_loads(model, x)


def test_digit_scores_on_answers_worked_by_hand():
    answers = np.array([[1, 2, 3], [4, 5, 6], [7, 8, 9], [1, 1, 1]])
    predicted = answers.copy()
    predicted[0, 1] = predicted[0, 2] = 0  # two wrong digits in one answer
    predicted[1, 2] = 0  # one in another
    scores = digit_scores(predicted, answers)
    assert scores["per_digit"] == pytest.approx(9 / 12)
    assert scores["exact_match"] == 0.5
    assert scores["p_to_the_L"] == pytest.approx(0.75**3)
    assert scores["independent"] == pytest.approx(1.0 * 0.75 * 0.5)
    assert scores["wrong_digits"] == pytest.approx(3 / 4)
    # Places 1 and 2 err together in answer 0, place 2 alone in answer 1.
    expected = np.corrcoef([1, 0, 0, 0], [1, 1, 0, 0])[0, 1]
    assert scores["error_correlation"] == pytest.approx(expected)
    assert np.isnan(digit_scores(answers, answers)["error_correlation"])
