import keras
import numpy as np
import pytest

from zoo.arithmetic import (
    ERROR_KINDS,
    Arithmetic,
    answer_log_probs,
    answer_loss,
    corrupt_answers,
    dropped_carry_answers,
    fit_answers,
    sample_answers,
    training_examples,
)
from zoo.language_model import CharTokenizer, build_language_model, generate
from zoo.training import Trainer


def test_problems_are_written_at_a_fixed_width_in_either_order():
    forward, reversed_ = Arithmetic(2, "+", reverse=False), Arithmetic(2, "+", reverse=True)
    assert forward.texts([37, 5], [45, 7]) == ["37+45=082", "05+07=012"]
    assert reversed_.texts([37, 5], [45, 7]) == ["37+45=280", "05+07=210"]
    assert reversed_.length == len("37+45=280") and reversed_.prompt_length == len("37+45=")
    for task in (forward, reversed_):
        a, b = task.problems()
        np.testing.assert_array_equal(task.read_answers(task.texts(a, b)), a + b)
    assert list(reversed_.read_answers(["37+45=2x0", "37+45=28"])) == [-1, -1]


def test_subtraction_keeps_natural_answers_in_the_same_format():
    task = Arithmetic(2, "-", reverse=True)
    a, b = task.problems()
    assert (a >= b).all() and len(a) == 5050
    assert task.texts([90], [7]) == ["90-07=380"]
    assert task.length == Arithmetic(2, "+").length


def test_the_split_is_disjoint_and_seeded():
    task = Arithmetic(2, "+")
    (a, b), (a_test, b_test) = task.split(1000, seed=3)
    train = set(zip(a.tolist(), b.tolist()))
    test = set(zip(a_test.tolist(), b_test.tolist()))
    assert len(test) == 1000 and len(train) == 9000 and not train & test
    (_, _), (again, _) = task.split(1000, seed=3)
    np.testing.assert_array_equal(again, a_test)
    with pytest.raises(ValueError, match="test_size"):
        task.split(10_000)


def test_three_splits_are_disjoint_and_the_test_set_is_the_two_way_splits():
    task = Arithmetic(2, "-")
    train, validation, test = task.splits(300, 500, seed=1)
    pairs = [set(zip(a.tolist(), b.tolist())) for a, b in (train, validation, test)]
    assert [len(p) for p in pairs] == [len(task.problems()[0]) - 800, 300, 500]
    assert not (pairs[0] & pairs[1] or pairs[0] & pairs[2] or pairs[1] & pairs[2])
    _, (a_held, _) = task.split(800, seed=1)  # held out: validation, then test
    np.testing.assert_array_equal(np.concatenate([validation[0], test[0]]), a_held)


def test_held_out_sets_are_disjoint_and_consecutive_pieces_of_the_split():
    task = Arithmetic(2, "+")
    train, *parts = task.held_out((100, 200, 300), seed=2)
    assert [len(a) for a, _ in parts] == [100, 200, 300]
    assert len(train[0]) == 10_000 - 600
    _, (a_held, b_held) = task.split(600, seed=2)
    np.testing.assert_array_equal(np.concatenate([a for a, _ in parts]), a_held)
    np.testing.assert_array_equal(np.concatenate([b for _, b in parts]), b_held)


@pytest.mark.parametrize("operator", ["+", "-"])
def test_corrupted_answers_are_wrong_by_their_named_kind(operator):
    task = Arithmetic(2, operator, reverse=True)
    a, b = task.problems()
    answers, kinds = corrupt_answers(task, a, b, fraction=0.3, seed=0)
    truth = task.answers(a, b)
    wrong = answers != truth
    assert wrong.sum() == round(0.3 * len(a))
    np.testing.assert_array_equal(wrong, kinds != "")
    assert set(kinds[wrong]) == set(ERROR_KINDS)
    off = kinds == "off_by_one"
    assert (np.abs(answers[off] - truth[off]) == 1).all()
    carry = kinds == "dropped_carry"
    if operator == "+":
        # Each place on its own, mod 10: 37 + 45 = 72, not 82.
        expected = (a % 10 + b % 10) % 10 + 10 * ((a // 10 + b // 10) % 10)
    else:
        expected = (a % 10 - b % 10) % 10 + 10 * ((a // 10 - b // 10) % 10)
    np.testing.assert_array_equal(answers[carry], expected[carry])
    swapped = kinds == "swapped_digits"
    for answer, right in zip(answers[swapped], truth[swapped]):
        assert sorted(task.write_answer(answer)) == sorted(task.write_answer(right))
    texts = task.texts(a, b, answers)  # every corrupted answer is still a well-formed answer
    np.testing.assert_array_equal(task.read_answers(texts), answers)
    again, _ = corrupt_answers(task, a, b, fraction=0.3, seed=0)
    np.testing.assert_array_equal(again, answers)


def test_bad_corruptions_are_rejected():
    task = Arithmetic()
    with pytest.raises(ValueError, match="fraction"):
        corrupt_answers(task, [1], [2], fraction=1.5)
    with pytest.raises(ValueError, match="kinds"):
        corrupt_answers(task, [1], [2], fraction=0.5, kinds=("typo",))
    with pytest.raises(ValueError, match="operator"):
        Arithmetic(2, "*")


def test_training_examples_put_the_loss_on_the_answer_only():
    task = Arithmetic(2, "+")
    tokenizer = CharTokenizer(task.alphabet)
    x, y = training_examples(task, tokenizer, [37], [45])
    assert x.shape == y.shape == (1, task.length - 1)
    assert tokenizer.decode(x) == ["37+45=28"]
    # Targets: every position before the answer is ignored (pad), then the answer digits.
    assert (y[0, : task.prompt_length - 1] == tokenizer.pad_id).all()
    assert tokenizer.decode(y[:, task.prompt_length - 1 :]) == ["280"]


def test_fit_answers_refuses_steps_that_are_no_multiple_of_the_scoring():
    task = Arithmetic(2, "+")
    train, validation, _ = task.splits(100, 100)
    with pytest.raises(ValueError, match="multiple"):
        fit_answers(
            Trainer(),
            None,
            None,
            task,
            CharTokenizer(task.alphabet),
            train,
            validation,
            batch_size=32,
            max_steps=120,
            eval_every=50,
            seed=0,
        )


def test_dropped_carry_answers_compute_each_place_on_its_own():
    add, subtract = Arithmetic(2, "+"), Arithmetic(2, "-")
    np.testing.assert_array_equal(
        dropped_carry_answers(add, [37, 99, 12], [45, 99, 34]), [72, 88, 46]
    )
    np.testing.assert_array_equal(dropped_carry_answers(subtract, [52, 40], [17, 20]), [45, 20])
    a, b = add.problems()
    carries = (a % 10 + b % 10 >= 10) | ((a // 10 + b // 10 + (a % 10 + b % 10) // 10) >= 10)
    np.testing.assert_array_equal(dropped_carry_answers(add, a, b) != add.answers(a, b), carries)


@pytest.fixture(scope="module")
def untrained():
    task = Arithmetic(2, "+")
    tokenizer = CharTokenizer(task.alphabet)
    keras.utils.set_random_seed(0)
    model = build_language_model(tokenizer.vocab_size, task.length, d_model=16)
    (a, b), _ = task.split(64, seed=0)
    return task, tokenizer, model, a[:64], b[:64]


def test_sampled_answers_are_the_models_own_and_checked(untrained):
    task, tokenizer, model, a, b = untrained
    tokens, correct = sample_answers(model, task, tokenizer, a, b, samples=3, seed=1)
    assert tokens.shape == (3 * len(a), task.length) and correct.shape == (3 * len(a),)
    np.testing.assert_array_equal(
        tokens[::3, : task.prompt_length], tokenizer.encode(task.prompts(a, b))
    )
    written = task.read_answers(tokenizer.decode(tokens))
    np.testing.assert_array_equal(correct, written == np.repeat(task.answers(a, b), 3))
    again, _ = sample_answers(model, task, tokenizer, a, b, samples=3, seed=1)
    np.testing.assert_array_equal(again, tokens)
    greedy, _ = sample_answers(model, task, tokenizer, a, b, temperature=0.0)
    prompts = tokenizer.encode(task.prompts(a, b))
    np.testing.assert_array_equal(greedy, generate(model, prompts, task.answer_length))


def test_the_answer_loss_is_the_training_loss_on_the_answer_tokens(untrained):
    task, tokenizer, model, a, b = untrained
    answers, _ = corrupt_answers(task, a, b, 0.5, seed=0)
    x, y = training_examples(task, tokenizer, a, b, answers)
    keras_loss = keras.losses.SparseCategoricalCrossentropy(
        from_logits=True, ignore_class=tokenizer.pad_id
    )(y, model.predict_on_batch(x))
    loss = answer_loss(model, task, tokenizer, a, b, answers)
    np.testing.assert_allclose(loss, float(keras_loss), rtol=1e-5)
    tokens = tokenizer.encode(task.texts(a, b, answers))
    np.testing.assert_allclose(
        -answer_log_probs(model, task, tokens).mean() / task.answer_length, loss
    )
