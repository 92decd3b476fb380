"""Knowledge distillation: a small student learns from a big teacher's soft targets.

The course: "Distilled supervised fine tuning (dSFT) is a technique to train a model on
a smaller dataset by using a larger model as a teacher. The teacher model is used to
generate labels for the smaller dataset ... the student model does not ever reach the
performance of the parent model."

Reproduces Hinton, Vinyals & Dean 2015, "Distilling the knowledge in a neural network".
On MNIST a regularized teacher made 67 test errors, a small student trained on the
labels 146, the same student trained on the teacher's outputs softened at temperature
T = 20 made 74: it recovered 0.91 of the gap. And with every 3 removed from the transfer
set, the distilled student still recognized 3s (133 errors on the 1,010 test 3s, 14 once
the bias of class 3 was raised): the teacher's small probabilities for wrong classes,
its "dark knowledge", say what a 3 looks like.

Design, part 1, MNIST-1D (Greydanus 2020): the paper's CNN as teacher
(`zoo.convolution.build_cnn1d`), an MLP 100x100 as student, both outputting
logits; Adam at the paper's rate 1e-2, batches of 100, 60 epochs; a stratified 20% of the
training set held out for validation. For every seed the teacher is trained once, and
the student, from the same seed-drawn initial weights, once on the labels and once per
temperature through `keras.distillation.Distiller` (hard-label weight 0.1, Hinton's
advice of a small weight). The temperature is chosen on the validation split; the test
set is read only for the teacher, the hard-label student and the chosen student.
Part 2, digits, one class withheld: a teacher MLP 256x256 trained on every class; then
an MLP 30x30 trained, distilled at T = 20 or on the labels, on the training split
without a single 3. The logit of class 3 is then shifted until the student predicts 3
as often as 3s occur in the validation split (`zoo.distillation.bias_correction`).
Part 3, a check: the Distiller's loss on the trained networks' logits equals a NumPy
reference, and would not if teacher and student were swapped.

Keras's Distiller needs care: in Keras 3.15.1 `LogitsDistillation`'s default loss
string skips the softmax and the T^2 factor (see `zoo.distillation`); trained that way,
in a side run, the student scored 0.31 (0.51 with a softmax-output student), below the
hard-label student's 0.63, and its "divergence" ended negative. With
`loss=keras.losses.KLDivergence()` it is Hinton's loss, except that `KLDivergence`
clips probabilities at 1e-7 (a relative difference of 2e-4 at T = 4 on a confident
teacher); the check compares it with NumPy under the same clip.

Why the MNIST-1D gain is small: the MLP falls short of the CNN off the training points
(it fits those perfectly either way), and soft targets on the same 3,200 points say
little about elsewhere. In a side run (two seeds, T = 10, not part of this script), the
same student distilled on the training set plus 10,000 new unlabeled MNIST-1D signals
reached 0.76-0.79, and as much with the teacher's hard labels on them: the transfer
set, more than the dark knowledge, carries the CNN's advantage here.

    python -m experiments run distillation              # 1.5 minutes (TF), 35 s (JAX), 3 seeds
    python experiments/distillation.py --quick          # about 15 seconds, 2 seeds
"""

# `python experiments/NAME.py ...` is `python -m experiments run NAME ...` (runner.script_main).
if __name__ == "__main__":
    import sys
    from pathlib import Path

    sys.path[0] = str(Path(__file__).resolve().parents[1])  # the project, not experiments/
    from experiments.runner import script_main

    script_main(__file__)

import dataclasses

import keras
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from experiments.claims import Claim, NotMeasured, mean_std, mean_std_table
from experiments.plots import errorbar_over_seeds
from experiments.progress import Progress
from experiments.settings import (
    at_least,
    at_most,
    distinct,
    fraction,
    layer_widths,
    positive,
    probability,
    seeds_setting,
    setting,
    validate,
)
from zoo import datasets
from zoo.convolution import build_cnn1d
from zoo.distillation import (
    bias_correction,
    build_distiller,
    build_logits_mlp,
    cross_entropy_numpy,
    soft_target_loss,
    soft_target_loss_numpy,
)
from zoo.training import Trainer, loaded

TITLE = "Knowledge distillation"
CONCEPT = (
    "A small student trained on a big teacher's softened outputs learns more than from labels."
)
CONCLUSION = (
    "On MNIST-1D distillation helps the student only a little: at the temperature chosen on "
    "validation it gains about one point of test accuracy over the same student trained on "
    "the labels (over 10 seeds: +0.013 on TensorFlow, +0.010 on JAX, with a spread of 0.03 "
    "between seeds), so at three seeds the 0.01 threshold passes or fails with the seeds "
    "drawn. The student recovers a few hundredths of the gap to its CNN teacher, not "
    "Hinton's 0.91: the MLP fits its training set either way, and the teacher's soft "
    "targets on the same points say little about the signals between them; distilled on "
    "10,000 extra unlabeled signals, it gets half way. Dark knowledge shows plainly on "
    "digits: a student that never saw a 3 recognizes most test 3s from the teacher's soft "
    "targets alone, and nearly all once the logit of 3 is raised on validation; the "
    "hard-label student never predicts a 3, and after the same correction finds fewer, "
    "with a wide spread between seeds. Keras's Distiller computes Hinton's loss when given "
    "a KLDivergence instance; with its default loss string it does not."
)

# Hinton et al. 2015, Sec. 3: test errors on MNIST of the teacher, the student trained on
# labels and the student distilled at T = 20.
HINTON_ERRORS = {"teacher": 67, "hard": 146, "distilled": 74}
HINTON_GAP_RECOVERED = (HINTON_ERRORS["hard"] - HINTON_ERRORS["distilled"]) / (
    HINTON_ERRORS["hard"] - HINTON_ERRORS["teacher"]
)
HARD_LABELS = keras.losses.SparseCategoricalCrossentropy(from_logits=True)


@dataclasses.dataclass(frozen=True)
class Config:
    temperatures: tuple[float, ...] = setting(
        (2.0, 4.0, 10.0),
        "MNIST-1D: temperatures to distill at (chosen on validation)",
        positive,
        distinct,
    )
    student_loss_weight: float = setting(
        0.1, "weight of the hard labels' cross-entropy in the distilled loss", probability
    )
    student_units: tuple[int, ...] = setting(
        (100, 100), "MNIST-1D student MLP widths", layer_widths
    )
    teacher_epochs: int = setting(60, "MNIST-1D: epochs of the CNN teacher", positive)
    student_epochs: int = setting(60, "MNIST-1D: epochs of every student", positive)
    learning_rate: float = setting(1e-2, "Adam's learning rate, every network", positive)
    batch_size: int = setting(100, "examples per update", positive)
    validation_fraction: float = setting(
        0.2, "share of each training set held out to choose temperature and bias", fraction
    )
    withheld_class: int = setting(
        3, "digits: the class left out of the transfer set", at_least(0), at_most(9)
    )
    digits_temperature: float = setting(20.0, "digits: the distillation temperature", positive)
    digits_teacher_units: tuple[int, ...] = setting(
        (256, 256), "digits: teacher MLP widths", layer_widths
    )
    digits_student_units: tuple[int, ...] = setting(
        (30, 30), "digits: student MLP widths", layer_widths
    )
    digits_epochs: int = setting(50, "digits: epochs of teacher and students", positive)
    seeds: tuple[int, ...] = seeds_setting()

    def __post_init__(self):
        validate(self)


QUICK = dict(
    temperatures=(4.0,), teacher_epochs=20, student_epochs=20, digits_epochs=30, seeds=(0, 1)
)


def logits_of(model, x):
    return keras.ops.convert_to_numpy(model(x, training=False))


def accuracy(logits, y):
    return float(np.mean(np.argmax(logits, axis=-1) == y))


def distiller(build_student, build_teacher, temperature, student_loss_weight):
    """A builder of a `Distiller` of a fresh student and the trained teacher."""

    def build():
        student = build_student()  # first: the same random draws as the hard-label student
        return build_distiller(build_teacher(), student, temperature, student_loss_weight)

    return build


def fit(trainer, config, build, x, y, *, epochs, seed):
    """Trains `build()`'s model with Adam on the labels' cross-entropy (for a Distiller,
    the hard-label part of its loss; the teacher supplies the rest). Returns a builder of
    the trained (student) model and the seconds training took: the model `fit` returns
    is the Trainer's, and it trains the next run of the same setup."""
    model, history = trainer.fit(
        build,
        keras.optimizers.Adam(learning_rate=config.learning_rate),
        HARD_LABELS,
        x,
        y,
        batch_size=config.batch_size,
        epochs=epochs,
        seed=seed,
    )
    seconds = sum(history.history["seconds"])
    if isinstance(model, keras.distillation.Distiller):
        return loaded(lambda: build().student, model.student.get_weights()), seconds
    return loaded(build, model.get_weights()), seconds


def mnist1d(trainer, config, seed, progress):
    """Part 1, one seed: a row per network, and the loss check of the chosen student."""
    (x, y), (x_test, y_test) = datasets.load("mnist1d")
    (x, y), (x_val, y_val) = datasets.split_validation(x, y, config.validation_fraction, seed)

    def build_student():
        return build_logits_mlp(x.shape[1:], 10, config.student_units)

    def train(build, epochs=config.student_epochs):
        return fit(trainer, config, build, x, y, epochs=epochs, seed=seed)

    teacher, seconds = train(build_cnn1d, config.teacher_epochs)
    runs = {"teacher": (teacher, seconds), "hard": train(build_student)}
    for temperature in config.temperatures:
        runs[temperature] = train(
            distiller(build_student, teacher, temperature, config.student_loss_weight)
        )
    models = {name: build() for name, (build, _) in runs.items()}
    validation = {name: accuracy(logits_of(model, x_val), y_val) for name, model in models.items()}
    # The temperature is chosen on the validation split (ties: the first listed); the test set
    # is read for the teacher, the hard-label student and the chosen student only.
    chosen = max(config.temperatures, key=lambda temperature: validation[temperature])
    rows = []
    for name, model in models.items():
        tested = name in ("teacher", "hard", chosen)
        rows.append(
            dict(
                model=name if isinstance(name, str) else "distilled",
                temperature=np.nan if isinstance(name, str) else name,
                val_accuracy=validation[name],
                tested=tested,
                test_accuracy=accuracy(logits_of(model, x_test), y_test) if tested else np.nan,
                seconds=runs[name][1],
            )
        )
    test = {row["model"]: row["test_accuracy"] for row in rows if row["tested"]}
    progress.done(
        "seed=%d mnist1d: test accuracy of the teacher %.3f, on labels %.3f, distilled at T=%g %.3f",
        seed,
        test["teacher"],
        test["hard"],
        chosen,
        test["distilled"],
    )
    check = loss_check(
        models["teacher"], models[chosen], chosen, config.student_loss_weight, x_val, y_val
    )
    return rows, dict(temperature=chosen, **check)


def loss_check(teacher, student, temperature, student_loss_weight, x, y):
    """The losses on `(x, y)`'s logits: the NumPy reference, exact and with the clip of
    `keras.losses.KLDivergence`; the hand-written `soft_target_loss`; the Distiller's
    soft-target loss, also with teacher and student swapped; `LogitsDistillation` with
    its default loss string; and the Distiller's total loss against its reference."""
    teacher_logits, student_logits = logits_of(teacher, x), logits_of(student, x)
    model = build_distiller(teacher, student, temperature, student_loss_weight)
    model.compile(optimizer="adam", loss=HARD_LABELS)
    soft = model.distillation_losses[0]
    clipped = soft_target_loss_numpy(
        teacher_logits, student_logits, temperature, clip=keras.config.epsilon()
    )
    hard = cross_entropy_numpy(student_logits, y)

    def value(tensor):
        return float(keras.ops.convert_to_numpy(tensor))

    return dict(
        reference_soft=soft_target_loss_numpy(teacher_logits, student_logits, temperature),
        hand_written_soft=value(soft_target_loss(teacher_logits, student_logits, temperature)),
        reference_soft_clipped=clipped,
        distiller_soft=value(soft.compute_loss(teacher_logits, student_logits)),
        distiller_soft_swapped=value(soft.compute_loss(student_logits, teacher_logits)),
        keras_default_soft=value(
            keras.distillation.LogitsDistillation(temperature).compute_loss(
                teacher_logits, student_logits
            )
        ),
        reference_total=student_loss_weight * hard + (1 - student_loss_weight) * clipped,
        distiller_total=value(model.compute_loss(x, y, model(x, training=False), training=False)),
    )


def withheld(trainer, config, seed, progress):
    """Part 2, one seed: a teacher trained on every class; two students trained on the
    training split without the withheld class, one distilled, one on the labels; each
    measured as trained and with the class's logit shifted."""
    c = config.withheld_class
    (x, y), (x_test, y_test) = datasets.load("digits", seed=seed)
    (x, y), (x_val, y_val) = datasets.split_validation(x, y, config.validation_fraction, seed)
    transfer = y != c  # the students' training set: no example of class c

    def build_teacher():
        return build_logits_mlp(x.shape[1:], 10, config.digits_teacher_units, name="teacher")

    def build_student():
        return build_logits_mlp(x.shape[1:], 10, config.digits_student_units)

    def train(build, x, y):
        return fit(trainer, config, build, x, y, epochs=config.digits_epochs, seed=seed)

    teacher, seconds = train(build_teacher, x, y)
    runs = {
        "teacher": (teacher, seconds),
        "hard": train(build_student, x[transfer], y[transfer]),
        "distilled": train(
            distiller(
                build_student, teacher, config.digits_temperature, config.student_loss_weight
            ),
            x[transfer],
            y[transfer],
        ),
    }
    rows = []
    for name, (build, seconds) in runs.items():
        model = build()
        # Shift the class's logit until it is predicted as often as it occurs in validation.
        shift = bias_correction(logits_of(model, x_val), c, float(np.mean(y_val == c)))
        logits = logits_of(model, x_test)
        corrected = logits + shift * (np.arange(logits.shape[1]) == c)
        rows.append(
            dict(
                model=name,
                withheld_class=c,
                shift=shift,
                recall=accuracy(logits[y_test == c], y_test[y_test == c]),
                recall_corrected=accuracy(corrected[y_test == c], y_test[y_test == c]),
                test_accuracy=accuracy(logits, y_test),
                test_accuracy_corrected=accuracy(corrected, y_test),
                predicted_share=float(np.mean(np.argmax(logits, axis=-1) == c)),
                seconds=seconds,
            )
        )
    progress.done(
        "seed=%d digits without %d: its test recall, on labels %.3f, distilled %.3f (%.3f corrected)",
        seed,
        c,
        rows[1]["recall"],
        rows[2]["recall"],
        rows[2]["recall_corrected"],
    )
    return rows


def run(config):
    trainer = Trainer()
    progress = Progress("distillation", 2 * len(config.seeds))
    tables = {"mnist1d": [], "withheld": [], "loss_check": []}
    for seed in config.seeds:
        rows, check = mnist1d(trainer, config, seed, progress)
        tables["mnist1d"] += [dict(seed=seed, **row) for row in rows]
        tables["loss_check"].append(dict(seed=seed, **check))
        tables["withheld"] += [
            dict(seed=seed, **row) for row in withheld(trainer, config, seed, progress)
        ]
    return {name: pd.DataFrame(rows) for name, rows in tables.items()}


# --- summaries of the tables -----------------------------------------------------------


def tested(tables):
    """MNIST-1D, one row per seed and network read on the test set, indexed by seed: the
    teacher, the hard-label student and the student at the temperature validation chose."""
    rows = tables["mnist1d"]
    rows = rows[rows["tested"].astype(bool)]
    return {model: rows[rows["model"] == model].set_index("seed") for model in MODELS}


MODELS = ("teacher", "hard", "distilled")


def loss_differences(rows):
    """The loss check, one row per seed: the NumPy reference, and each loss's difference
    from it relative to it."""
    relative = {
        "soft_target_loss": ("hand_written_soft", "reference_soft"),
        "Distiller": ("distiller_soft", "reference_soft"),
        "Distiller, vs NumPy clipped at 1e-7": ("distiller_soft", "reference_soft_clipped"),
        "Distiller, teacher and student swapped": (
            "distiller_soft_swapped",
            "reference_soft_clipped",
        ),
        "default loss string": ("keras_default_soft", "reference_soft"),
        "Distiller's total (with hard labels)": ("distiller_total", "reference_total"),
    }
    out = rows[["seed", "temperature", "reference_soft"]].rename(
        columns={"temperature": "T", "reference_soft": "NumPy soft-target loss"}
    )
    for label, (column, reference) in relative.items():
        out[label] = (rows[column] - rows[reference]) / rows[reference]
    return out


def summarize(tables):
    rows = tables["mnist1d"].copy()
    rows["network"] = [
        f"distilled, T={t:g}" if model == "distilled" else model
        for model, t in zip(rows["model"], rows["temperature"])
    ]
    by_temperature = mean_std_table(rows, ["network"], {"validation accuracy": "val_accuracy"})
    chosen = rows[rows["model"] == "distilled"].groupby("network", sort=False)["tested"].sum()
    by_temperature["chosen in seeds"] = [
        int(chosen[n]) if n in chosen else "" for n in by_temperature["network"]
    ]
    test = rows[rows["tested"].astype(bool)].assign(
        network=lambda frame: frame["model"].map(
            {
                "teacher": "teacher (CNN)",
                "hard": "student, hard labels",
                "distilled": "student, distilled at the chosen T",
            }
        )
    )
    withheld_rows = tables["withheld"]
    return {
        "MNIST-1D: validation accuracy by temperature": by_temperature,
        "MNIST-1D: test accuracy of the teacher and of the students it was read for": mean_std_table(
            test,
            ["network"],
            {"validation accuracy": "val_accuracy", "test accuracy": "test_accuracy"},
        ),
        "Digits, one class withheld from the students' training set": mean_std_table(
            withheld_rows,
            ["model"],
            {
                "recall of the class": "recall",
                "recall, bias corrected": "recall_corrected",
                "test accuracy": "test_accuracy",
                "test accuracy, bias corrected": "test_accuracy_corrected",
                "logit shift": "shift",
            },
        ),
        "Loss check on each seed's validation logits: relative difference from NumPy": (
            loss_differences(tables["loss_check"])
        ),
    }


# --- claims ------------------------------------------------------------------------------


def _distillation_helps(tables):
    runs = tested(tables)
    gain = runs["distilled"]["test_accuracy"] - runs["hard"]["test_accuracy"]
    measured = {
        "distilled - hard labels": mean_std(gain),
        "hard labels": mean_std(runs["hard"]["test_accuracy"]),
        "distilled": mean_std(runs["distilled"]["test_accuracy"]),
        "chosen temperatures": [float(t) for t in runs["distilled"]["temperature"]],
    }
    return measured, measured["distilled - hard labels"]["mean"] >= 0.01


def _student_below_teacher(tables):
    runs = tested(tables)
    teacher, hard, distilled = (runs[m]["test_accuracy"] for m in MODELS)
    measured = {
        "teacher - distilled": mean_std(teacher - distilled),
        "gap recovered": mean_std((distilled - hard) / (teacher - hard)),
        "Hinton et al.'s gap recovered": HINTON_GAP_RECOVERED,
        "teacher": mean_std(teacher),
    }
    return measured, measured["teacher - distilled"]["mean"] >= 0.10


def _dark_knowledge(tables):
    rows = tables["withheld"].set_index("seed")
    hard, distilled = (rows[rows["model"] == m] for m in ("hard", "distilled"))
    if hard.empty or distilled.empty:
        raise NotMeasured("the run has no withheld-class students")
    measured = {
        "distilled, corrected": mean_std(distilled["recall_corrected"]),
        "distilled, uncorrected": mean_std(distilled["recall"]),
        "hard labels, uncorrected": mean_std(hard["recall"]),
        "hard labels, corrected": mean_std(hard["recall_corrected"]),
        "distilled accuracy, corrected": mean_std(distilled["test_accuracy_corrected"]),
    }
    corrected = measured["distilled, corrected"]["mean"]
    return measured, corrected >= 0.8 and corrected > measured["hard labels, corrected"]["mean"]


LOSS_TOLERANCE = 1e-5  # relative: float32 against float64


def _loss_matches_reference(tables):
    rows = tables["loss_check"]
    if rows.empty:
        raise NotMeasured("the run has no loss check")

    def difference(column, reference, worst=max):
        return float(worst(abs(rows[column] - rows[reference]) / abs(rows[reference])))

    measured = {
        "hand-written vs NumPy": difference("hand_written_soft", "reference_soft"),
        "Distiller vs NumPy, clipped": difference("distiller_soft", "reference_soft_clipped"),
        "Distiller's total vs NumPy": difference("distiller_total", "reference_total"),
        "swapped vs NumPy, smallest": difference(
            "distiller_soft_swapped", "reference_soft_clipped", min
        ),
        "Distiller vs NumPy, unclipped": difference("distiller_soft", "reference_soft"),
        "default loss string vs NumPy": difference("keras_default_soft", "reference_soft"),
    }
    passed = (
        max(list(measured.values())[:3]) <= LOSS_TOLERANCE
        and measured["swapped vs NumPy, smallest"] > 100 * LOSS_TOLERANCE
    )
    return measured, passed


HINTON = "Hinton, Vinyals & Dean 2015, Distilling the knowledge in a neural network"
CLAIMS = [
    Claim(
        "distillation_helps",
        "A student trained on the teacher's soft targets is more accurate than the same student trained "
        "on the labels.",
        f"{HINTON}, Sec. 3: on MNIST 146 test errors on labels, 74 distilled at T = 20. Issue "
        "calibration on MNIST-1D: 0.607 on labels, 0.622-0.627 distilled.",
        "MNIST-1D, mean over seeds: test accuracy of the student at the temperature chosen on the "
        "validation split minus that of the hard-label student >= 0.01",
        _distillation_helps,
        headline=("distilled - hard labels",),
    ),
    Claim(
        "student_below_teacher",
        "The distilled student does not reach its teacher.",
        "Course: 'the student model does not ever reach the performance of the parent model'. "
        f"{HINTON}: the student recovered {HINTON_GAP_RECOVERED:.2f} of the gap (74 errors against the "
        "teacher's 67 and the hard-label student's 146).",
        "MNIST-1D, mean over seeds: teacher test accuracy >= distilled student's + 0.10; the share of "
        "the gap recovered, (distilled - hard) / (teacher - hard), reported beside Hinton's",
        _student_below_teacher,
        headline=("teacher - distilled", "gap recovered"),
    ),
    Claim(
        "dark_knowledge",
        "A student distilled on a training set without a single example of a class still recognizes that "
        "class once its bias is raised; the same student trained on the labels does not.",
        f"{HINTON}, Sec. 3: with every 3 omitted from the transfer set, 133 errors on the 1,010 test 3s, "
        "14 after raising the bias of class 3. Issue calibration on digits: 0.568 uncorrected, 0.973 "
        "corrected.",
        "digits, mean over seeds: the distilled student's test recall of the withheld class, its logit "
        "shifted until it is predicted as often as it occurs in the validation split, >= 0.8 and above "
        "the hard-label student's recall after the same correction",
        _dark_knowledge,
        headline=("distilled, corrected", "distilled, uncorrected", "hard labels, corrected"),
    ),
    Claim(
        "loss_matches_reference",
        "The distillation loss is Hinton's: T^2 times the KL divergence from the teacher's softened "
        "outputs to the student's, plus the hard labels' share; swapped, it is not.",
        f"{HINTON}, Sec. 2. keras.distillation.LogitsDistillation(loss=keras.losses.KLDivergence()), "
        "whose KLDivergence clips probabilities to [1e-7, 1]; keras-io's distillation example once "
        "swapped teacher and student (keras-io issue 257).",
        f"on every seed's validation logits, relative differences <= {LOSS_TOLERANCE:g}: the "
        "hand-written soft_target_loss against NumPy, the Distiller's soft-target and total loss against "
        f"NumPy with Keras's clip; and the swapped loss differs by more than {100 * LOSS_TOLERANCE:g}",
        _loss_matches_reference,
        headline=(
            "hand-written vs NumPy",
            "Distiller vs NumPy, clipped",
            "swapped vs NumPy, smallest",
            "Distiller vs NumPy, unclipped",
        ),
        kind="check",
    ),
]


# --- plots -------------------------------------------------------------------------------


def plot_mnist1d(tables):
    rows = tables["mnist1d"]
    runs = tested(tables)
    figure, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    labels = ["teacher (CNN)", "student, hard labels", "student, distilled"]
    for index, (model, label) in enumerate(zip(MODELS, labels)):
        accuracy_ = runs[model]["test_accuracy"]
        axes[0].bar(
            index,
            accuracy_.mean(),
            yerr=np.nan_to_num(accuracy_.std()),
            color=f"C{index}",
            capsize=4,
        )
    axes[0].set_xticks(range(len(labels)), labels)
    axes[0].set(
        ylabel="test accuracy (mean and std over seeds)",
        ylim=(0, 1),
        title="The distilled student gains a little, and stays far below its teacher",
    )
    distilled = rows[rows["model"] == "distilled"]
    errorbar_over_seeds(
        axes[1], distilled["val_accuracy"], distilled["temperature"], color="C2", label="distilled"
    )
    for index, model in ((0, "teacher"), (1, "hard")):
        value = rows.loc[rows["model"] == model, "val_accuracy"].mean()
        axes[1].axhline(value, color=f"C{index}", linestyle=":", label=f"{labels[index]}")
    temperatures = sorted(distilled["temperature"].unique())
    axes[1].set_xscale("log")
    axes[1].set_xticks(temperatures, [f"{t:g}" for t in temperatures])
    axes[1].minorticks_off()
    axes[1].set(
        xlabel="temperature T",
        ylabel="validation accuracy (mean and std over seeds)",
        title="Choosing the temperature on the validation split",
    )
    axes[1].legend(fontsize=8)
    for axis in axes:
        axis.grid(alpha=0.3)
    figure.tight_layout()
    return figure


def plot_withheld(tables):
    rows = tables["withheld"]
    figure, axis = plt.subplots(figsize=(7, 4.5))
    for offset, (column, label) in enumerate(
        (("recall", "as trained"), ("recall_corrected", "bias corrected on validation"))
    ):
        stats = rows.groupby("model", sort=False)[column].agg(["mean", "std"])
        axis.bar(
            np.arange(len(stats)) + 0.4 * offset - 0.2,
            stats["mean"],
            width=0.4,
            yerr=stats["std"].fillna(0),
            capsize=4,
            label=label,
        )
    axis.set_xticks(
        range(len(stats)), ["teacher (saw the class)", "student, hard labels", "student, distilled"]
    )
    withheld_class = int(rows["withheld_class"].iloc[0])
    axis.set(
        ylim=(0, 1.3),
        ylabel=f"test recall of class {withheld_class} (mean and std over seeds)",
        title=f"Soft targets teach a class the student never saw (class {withheld_class})",
    )
    axis.legend(loc="upper center", ncol=2)
    axis.grid(axis="y", alpha=0.3)
    figure.tight_layout()
    return figure


PLOTS = {"mnist1d_accuracy.png": plot_mnist1d, "withheld_class.png": plot_withheld}
