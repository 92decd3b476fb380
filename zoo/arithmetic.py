"""Arithmetic as text: the task small language models learn, and a corpus with known errors.

A problem is written as a string the model reads character by character, with every
number at a fixed width, so that every problem of a task is a sequence of the same length
and the answer's digits sit at the same positions:

    forward order:   "37+45=082"     (the answer as it is written)
    reversed order:  "37+45=280"     (least significant digit first)

Reversed, each answer digit depends only on the operands' digits at its place and the
carry from the digit before it, which the model has just written: the order in which a
person adds on paper. Forward, the first digit written depends on every carry below it.
Lee et al. 2023 ("Teaching arithmetic to small transformers") found the reversed format
learned with far fewer examples, and minGPT's adder writes its answers reversed too.

- `Arithmetic(digits, operator, reverse)`: one task; `problems()` lists all of them,
  `split(test_size, seed)` divides them into disjoint training and test problems
  (`splits(validation_size, test_size, seed)`: training, validation and test),
  `texts(a, b)` writes them out, and `read_answers(texts)` reads generated answers back.
- `corrupt_answers(task, a, b, fraction, kinds, seed)`: answers with a controlled
  fraction of wrong ones, of named kinds a careless writer makes (`ERROR_KINDS`): a corpus
  whose mistakes are known, as a web corpus's are not.
- `fit_answers(...)` trains a language model on a task's answers (true ones, or a
  corpus's), and `score_answers` / `AnswerEvaluation` score what it writes: digit by
  digit, reading its own digits, against the teacher-forced digits.
- `sample_answers(...)` has a model write answers as a chat model does (sampled, at a
  temperature) and checks them; `answer_log_probs` and `answer_loss` score given answers
  (a judge's likelihood; the loss on a corpus's text, the model's own objective).
"""

import dataclasses

import keras
import numpy as np

OPERATORS = ("+", "-")
ERROR_KINDS = ("dropped_carry", "off_by_one", "swapped_digits")


@dataclasses.dataclass(frozen=True)
class Arithmetic:
    """A family of arithmetic problems written as fixed-width text.

    Args:
        digits: digits of each operand (2: every problem from 00+00 to 99+99).
        operator: "+" or "-"; subtraction keeps the problems with a >= b, so every answer
            is a natural number.
        reverse: write the answer least significant digit first.

    The answer always has `digits + 1` places (zero-padded), for subtraction too, so that
    tasks with the same `digits` share one sequence length and one model can learn both.

    Example:
        >>> task = Arithmetic(digits=2, operator="+", reverse=True)
        >>> task.texts([37], [45])
        ['37+45=280']
        >>> task.read_answers(["37+45=280"])
        array([82])
    """

    digits: int = 2
    operator: str = "+"
    reverse: bool = True

    def __post_init__(self):
        if not isinstance(self.digits, int) or not 1 <= self.digits <= 6:
            raise ValueError(f"digits must be an integer from 1 to 6, got {self.digits!r}")
        if self.operator not in OPERATORS:
            raise ValueError(f"operator must be one of {OPERATORS}, got {self.operator!r}")

    @property
    def answer_length(self):
        return self.digits + 1

    @property
    def prompt_length(self):
        """Characters up to and including "=": what the model is given."""
        return 2 * self.digits + 2

    @property
    def length(self):
        return self.prompt_length + self.answer_length

    @property
    def alphabet(self):
        return "0123456789" + "".join(OPERATORS) + "="

    def problems(self):
        """Every problem of the task, as operand arrays `(a, b)` in order."""
        a, b = np.divmod(np.arange(10 ** (2 * self.digits)), 10**self.digits)
        keep = a >= b if self.operator == "-" else np.ones_like(a, dtype=bool)
        return a[keep], b[keep]

    def split(self, test_size, seed=0):
        """Disjoint training and test problems: `((a, b), (a_test, b_test))`, the test
        problems drawn at random by `seed`; no test problem is ever trained on."""
        a, b = self.problems()
        if not 0 < test_size < len(a):
            raise ValueError(f"test_size must be between 1 and {len(a) - 1}, got {test_size}")
        order = np.random.default_rng(seed).permutation(len(a))
        test, train = order[:test_size], order[test_size:]
        return (a[train], b[train]), (a[test], b[test])

    def splits(self, validation_size, test_size, seed=0):
        """Disjoint training, validation and test problems, drawn at random by `seed`:
        `((a, b), (a_val, b_val), (a_test, b_test))`. Validation problems are for scoring
        during training and choosing; the test problems are for reading once, at the end."""
        return self.held_out((validation_size, test_size), seed)

    def held_out(self, sizes, seed=0):
        """The training problems and disjoint held-out sets of the given `sizes` (say
        validation, prompts for a teacher, test), drawn at random by `seed`:
        `((a, b), (a_1, b_1), (a_2, b_2), ...)`."""
        train, (a, b) = self.split(sum(sizes), seed)
        parts = np.split(np.arange(sum(sizes)), np.cumsum(sizes)[:-1])
        return (train, *((a[part], b[part]) for part in parts))

    def answers(self, a, b):
        """The true answers."""
        a, b = np.asarray(a), np.asarray(b)
        return a + b if self.operator == "+" else a - b

    def prompts(self, a, b):
        """The problems up to "=": "37+45="."""
        width = self.digits
        return [f"{x:0{width}d}{self.operator}{y:0{width}d}=" for x, y in zip(a, b)]

    def texts(self, a, b, answers=None):
        """Whole problems, prompt and answer; `answers` (default: the true ones) may be
        wrong ones, from `corrupt_answers`."""
        answers = self.answers(a, b) if answers is None else np.asarray(answers)
        if answers.min(initial=0) < 0 or answers.max(initial=0) >= 10**self.answer_length:
            raise ValueError(f"answers must fit {self.answer_length} digits")
        return [
            prompt + self.write_answer(answer)
            for prompt, answer in zip(self.prompts(a, b), answers)
        ]

    def write_answer(self, answer):
        text = f"{int(answer):0{self.answer_length}d}"
        return text[::-1] if self.reverse else text

    def read_answers(self, texts):
        """The answers written in `texts` (whole problems, or answers alone) as integers;
        -1 where the answer is not `answer_length` digits."""
        values = []
        for text in texts:
            answer = text[-self.answer_length :]
            if len(answer) != self.answer_length or not answer.isdigit():
                values.append(-1)
                continue
            values.append(int(answer[::-1] if self.reverse else answer))
        return np.array(values)


def corrupt_answers(task, a, b, fraction, kinds=ERROR_KINDS, seed=0):
    """The true answers with a fraction of them replaced by wrong ones of named kinds.

    The kinds are mistakes a careless writer makes, so that a model trained on such a
    corpus learns from errors that look like answers:
    - "dropped_carry": every place computed on its own, the carry (or borrow) dropped
      (37+45 = 72);
    - "off_by_one": one more or one less than the answer (83 or 81);
    - "swapped_digits": two neighbouring different digits of the written answer swapped.

    Args:
        task: the `Arithmetic` task.
        a, b: the operands.
        fraction: the share of problems, in [0, 1], whose answer is made wrong.
        kinds: the error kinds to draw from, uniformly.
        seed: fixes which problems are corrupted, and how.

    Returns:
        `(answers, kind)`: the answers, and for each problem the kind of its error, or ""
        where the answer is right. Every answer of a named kind differs from the truth: a
        problem whose chosen kind cannot make it wrong (no carry to drop, equal digits to
        swap) gets an off-by-one error instead, and its kind says so.
    """
    if not 0 <= fraction <= 1:
        raise ValueError(f"fraction must be in [0, 1], got {fraction}")
    unknown = set(kinds) - set(ERROR_KINDS)
    if unknown or not kinds:
        raise ValueError(f"kinds must be a non-empty subset of {ERROR_KINDS}, got {kinds}")
    a, b = np.asarray(a), np.asarray(b)
    truth = task.answers(a, b)
    answers, labels = truth.copy(), np.full(len(a), "", dtype=object)
    rng = np.random.default_rng(seed)
    chosen = rng.permutation(len(a))[: int(round(fraction * len(a)))]
    for i in chosen:
        kind = kinds[rng.integers(len(kinds))]
        wrong = _wrong(task, a[i], b[i], truth[i], kind, rng)
        if wrong is None or wrong == truth[i]:
            kind, wrong = "off_by_one", _off_by_one(task, truth[i], rng)
        answers[i], labels[i] = wrong, kind
    return answers, labels


def dropped_carry_answers(task, a, b):
    """The answers with every place computed on its own and the carry (or borrow) dropped:
    37+45 gives 72. The true answer wherever no place carries."""
    a, b = np.asarray(a), np.asarray(b)
    sign = 1 if task.operator == "+" else -1
    places = 10 ** np.arange(task.digits)
    digits = ((a[:, None] // places) % 10 + sign * ((b[:, None] // places) % 10)) % 10
    return (digits * places).sum(axis=1)


def _wrong(task, a, b, truth, kind, rng):
    if kind == "off_by_one":
        return _off_by_one(task, truth, rng)
    if kind == "dropped_carry":
        return int(dropped_carry_answers(task, [a], [b])[0])
    written = list(task.write_answer(truth))
    pairs = [i for i in range(len(written) - 1) if written[i] != written[i + 1]]
    if not pairs:
        return None
    i = pairs[rng.integers(len(pairs))]
    written[i], written[i + 1] = written[i + 1], written[i]
    text = "".join(written)
    return int(text[::-1] if task.reverse else text)


def _off_by_one(task, truth, rng):
    if truth == 0:
        return 1
    if truth == 10**task.answer_length - 1:
        return truth - 1
    return truth + (1 if rng.integers(2) else -1)


# --- how well a language model does the task ----------------------------------------


def score_answers(model, task, tokenizer, a, b):
    """A language model's answers to the problems `(a, b)`, written and teacher-forced.

    Written: the model is given each prompt and writes the answer digit by digit,
    reading its own earlier digits (`zoo.language_model.generate`, greedy). Teacher-forced:
    the model reads the true answer and is scored on predicting each digit from the true
    digits before it, as in training. The two differ only where an earlier digit the
    model wrote was wrong: the feedback loop of autoregressive generation.

    Returns:
        A dict of NumPy arrays over the problems: `answers` (the written answers, -1 where
        unreadable), `correct` (whole answer right), `written_digits` and `forced_digits`
        (each digit right, `(n, answer_length)`, in the order they are written).
    """
    from zoo.language_model import generate

    tokens = tokenizer.encode(task.texts(a, b))
    start = task.prompt_length
    # The whole text, as `generate`'s buffer: one shape, one compiled prediction. The
    # causal mask keeps each position's logits from the tokens after it.
    logits = keras.ops.convert_to_numpy(model.predict_on_batch(tokens))
    predicted = np.argmax(logits[:, start - 1 : -1], axis=-1).astype(tokens.dtype)
    # The first answer digit is read from the prompt alone: the teacher-forced prediction
    # is the written one too. Generation writes the rest, reading its own digits.
    given = np.concatenate([tokens[:, :start], predicted[:, :1]], axis=1)
    written = generate(model, given, task.answer_length - 1)
    answers = task.read_answers(tokenizer.decode(written))
    return dict(
        answers=answers,
        correct=answers == task.answers(a, b),
        written_digits=written[:, start:] == tokens[:, start:],
        forced_digits=predicted == tokens[:, start:],
    )


class AnswerEvaluation(keras.callbacks.Callback):
    """Scores a language model on held-out problems after every epoch (`score_answers`),
    writes `exact_match` into the epoch's logs, and stops training once it reaches
    `stop_at` (if given).

    After `fit`, `history` holds one dict per epoch: `epoch`, `exact_match`, and the
    written and teacher-forced accuracy of each answer digit (`written_digit_K`,
    `forced_digit_K`, K counting from 1 in the order digits are written).
    """

    def __init__(self, task, tokenizer, a, b, stop_at=None):
        super().__init__()
        self.task, self.tokenizer, self.a, self.b = task, tokenizer, a, b
        self.stop_at = stop_at
        self.history = []

    def on_train_begin(self, logs=None):
        self.history = []

    def on_epoch_end(self, epoch, logs=None):
        scores = score_answers(self.model, self.task, self.tokenizer, self.a, self.b)
        record = {"epoch": epoch + 1, "exact_match": float(scores["correct"].mean())}
        for kind in ("written", "forced"):
            for k, accuracy in enumerate(scores[f"{kind}_digits"].mean(axis=0)):
                record[f"{kind}_digit_{k + 1}"] = float(accuracy)
        self.history.append(record)
        if logs is not None:
            logs["exact_match"] = record["exact_match"]
        if self.stop_at is not None and record["exact_match"] >= self.stop_at:
            self.model.stop_training = True


def fit_answers(
    trainer,
    build,
    optimizer,
    task,
    tokenizer,
    train,
    validation,
    *,
    batch_size,
    max_steps,
    eval_every,
    seed,
    stop_at=None,
    answers=None,
):
    """Trains `build()`'s language model on the problems `train = (a, b)`, the loss on the
    answers (`training_examples`; `answers`, default the true ones, may be a corpus's
    wrong ones), scoring the `validation` problems every `eval_every` steps
    (`AnswerEvaluation`, against the true answers) and stopping at `stop_at` or after
    `max_steps`.

    Args:
        trainer: a `zoo.training.Trainer`.
        build: a function of no arguments returning the uncompiled model.
        optimizer: a new Keras optimizer.
        max_steps: a multiple of `eval_every`.

    Returns:
        `(model, history, curve)`: the trained model and `History`, as `Trainer.fit`
        returns them, and the validation scores after every `eval_every` steps
        (`AnswerEvaluation.history`).
    """
    if max_steps % eval_every:
        raise ValueError(f"max_steps ({max_steps}) must be a multiple of eval_every ({eval_every})")
    x, y = training_examples(task, tokenizer, *train, answers=answers)
    evaluation = AnswerEvaluation(task, tokenizer, *validation, stop_at=stop_at)
    model, history = trainer.fit(
        build,
        optimizer,
        keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=tokenizer.pad_id),
        x,
        y,
        batch_size=batch_size,
        epochs=max_steps // eval_every,
        steps_per_epoch=eval_every,
        seed=seed,
        drop_remainder=True,  # every step a whole batch: one compiled shape
        callbacks=[evaluation],
    )
    return model, history, evaluation.history


def training_examples(task, tokenizer, a, b, answers=None):
    """Next-token inputs and targets for the problems `(a, b)` with the loss on the answer
    only: the targets before the answer are `<pad>`, which
    `SparseCategoricalCrossentropy(ignore_class=tokenizer.pad_id)` leaves out. `answers`
    (default: the true ones) may be wrong ones, from `corrupt_answers`."""
    from zoo.language_model import next_token_examples

    tokens = tokenizer.encode(task.texts(a, b, answers))
    return next_token_examples(tokens, loss_from=task.prompt_length, pad_id=tokenizer.pad_id)


# --- answers as a chat model writes them, and their likelihood -------------------------


def answer_mask(task, n):
    """`(n, task.length)`: 1 on the answer's tokens, the ones a judge or a loss scores."""
    mask = np.zeros((n, task.length), "float32")
    mask[:, task.prompt_length :] = 1
    return mask


def sample_answers(model, task, tokenizer, a, b, samples=1, temperature=1.0, seed=None):
    """`samples` answers to each problem's prompt, written by `model` at `temperature`
    (`zoo.language_model.generate`; 0 is greedy), and whether each is right.

    Returns:
        `(tokens, correct)`: the whole texts' token ids, `(len(a) * samples, length)`, the
        samples of one problem on consecutive rows; and a boolean per text.
    """
    from zoo.language_model import generate

    prompts = np.repeat(tokenizer.encode(task.prompts(a, b)), samples, axis=0)
    tokens = generate(model, prompts, task.answer_length, temperature=temperature, seed=seed)
    truth = np.repeat(task.answers(a, b), samples)
    return tokens, task.read_answers(tokenizer.decode(tokens)) == truth


def answer_log_probs(model, task, tokens):
    """`log p(answer | prompt)` of each text (token ids of whole problems): a model's
    likelihood of the answers written, as a judge scores them."""
    from zoo.language_model import sequence_log_prob

    return sequence_log_prob(model, tokens, answer_mask(task, len(tokens)))


def answer_loss(model, task, tokenizer, a, b, answers=None):
    """The mean loss per answer token, in nats, of the problems `(a, b)` with `answers`
    (default the true ones; a corpus's, wrong ones included): the objective the model was
    trained on, on text it has not seen."""
    tokens = tokenizer.encode(task.texts(a, b, answers))
    return float(-answer_log_probs(model, task, tokens).mean() / task.answer_length)
