"""The benchmark: how fast the zoo trains, per backend, beside a bare `model.fit` and PyTorch.

    python -m experiments bench [--out DIR] [--repeats N] [--no-quick-runs]

Each backend is measured in a process of its own (Keras picks its backend once per
process). For the zoo's MLP (40-512-512-10) and LSTM (32 units over 50 steps), batch 64:

- `trainer`: `zoo.training.Trainer.fit`, the way every experiment trains;
- `bare fit`: the same model built, compiled and fitted on NumPy arrays, as a Keras
  tutorial would;
- `pytorch`: the same network in eager PyTorch (`torch.optim.SGD`, a shuffled index per
  epoch), when `torch` is installed, in a process of its own too (TensorFlow and PyTorch
  in one process crash here); it is optional and large, and its rows are left out
  without it.

Two numbers per path. `first_step_s`: the start-up, the wall time of the first epoch of a
newly built model less its other steps at the steady rate (tracing and compiling, for
Keras; JAX's persistent compilation cache is off here, but within one process JAX reuses
what it compiled for an identical model in an earlier repeat, where TensorFlow traces
every new model anew). `steady_ms_per_step`: an epoch's training time over its steps once compiled. Each
is the median over `--repeats` repeats, the paths interleaved within every repeat, in one
process per backend; the table divides each by the bare fit of the same backend and by
PyTorch.
Besides, every experiment's `--quick` run is timed per backend (its recorded
`wall_seconds`), twice: first with nothing compiled before, then again, when JAX loads
what it compiled from its persistent compilation cache. These are timings on one machine shared with whatever else runs: read
the ratios, not the digits.

Writes `DIR/bench/` (default `results/bench/`): `bench.csv`, `quick_runs.csv`, `table.md`.
"""

import importlib.metadata
import importlib.util
import io
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

import experiments
from experiments import storage
from experiments.storage import UsageError

BACKENDS = ("tensorflow", "jax")
BATCH_SIZE = 64
EPOCHS = 3  # per steady measurement
PROJECT = Path(__file__).resolve().parent.parent


# --- one backend, in its own process -------------------------------------------------


def _data(model):
    import numpy as np

    rng = np.random.default_rng(0)
    if model == "mlp":
        return rng.normal(size=(4000, 40)).astype("float32"), rng.integers(0, 10, 4000)
    x = rng.normal(size=(2048, 50, 2)).astype("float32")
    return x, rng.normal(size=(2048, 1)).astype("float32")


def _keras_model(model):
    from zoo.mlp import build_mlp
    from zoo.recurrent import build_sequence_regressor

    if model == "mlp":
        return build_mlp((40,), 10, (512, 512))
    return build_sequence_regressor(50, 2, "lstm", 32)


LOSSES = {"mlp": "sparse_categorical_crossentropy", "lstm": "mse"}


def _trainer_path(model, x, y, repeat):
    """Epoch wall times of a new Trainer: the first run, then a steady run."""
    import keras

    from zoo.training import Trainer

    trainer = Trainer()

    def run(epochs):
        started = time.perf_counter()
        _, history = trainer.fit(
            lambda: _keras_model(model),
            keras.optimizers.SGD(learning_rate=0.01),
            LOSSES[model],
            x,
            y,
            batch_size=BATCH_SIZE,
            epochs=epochs,
            seed=repeat,
        )
        return time.perf_counter() - started, history.history["seconds"]

    first, _ = run(1)
    _, steady = run(EPOCHS)
    return first, steady


def _bare_fit_path(model, x, y, repeat):
    import keras

    from zoo.callbacks import EpochTimer

    keras.utils.set_random_seed(repeat)
    net = _keras_model(model)
    net.compile(keras.optimizers.SGD(learning_rate=0.01), LOSSES[model])
    started = time.perf_counter()
    net.fit(x, y, batch_size=BATCH_SIZE, epochs=1, verbose=0)
    first = time.perf_counter() - started
    history = net.fit(
        x, y, batch_size=BATCH_SIZE, epochs=EPOCHS, verbose=0, callbacks=[EpochTimer()]
    )
    return first, history.history["seconds"]


def _pytorch_path(model, x, y, repeat):
    import numpy as np
    import torch

    torch.manual_seed(repeat)
    if model == "mlp":
        net = torch.nn.Sequential(
            torch.nn.Linear(40, 512),
            torch.nn.ReLU(),
            torch.nn.Linear(512, 512),
            torch.nn.ReLU(),
            torch.nn.Linear(512, 10),
        )
        loss_fn = torch.nn.CrossEntropyLoss()
        targets = torch.as_tensor(y, dtype=torch.long)
    else:

        class Regressor(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.lstm = torch.nn.LSTM(2, 32, batch_first=True)
                self.out = torch.nn.Linear(32, 1)

            def forward(self, inputs):
                return self.out(self.lstm(inputs)[0][:, -1])

        net, loss_fn, targets = Regressor(), torch.nn.MSELoss(), torch.as_tensor(y)
    inputs = torch.as_tensor(x)
    optimizer = torch.optim.SGD(net.parameters(), lr=0.01)
    rng = np.random.default_rng(repeat)

    def epoch():
        started = time.perf_counter()
        order = torch.as_tensor(rng.permutation(len(x)))
        for start in range(0, len(x), BATCH_SIZE):
            chosen = order[start : start + BATCH_SIZE]
            optimizer.zero_grad()
            loss = loss_fn(net(inputs[chosen]), targets[chosen])
            loss.backward()
            optimizer.step()
        float(loss.detach())  # wait for the last step
        return time.perf_counter() - started

    started = time.perf_counter()
    epoch()
    first = time.perf_counter() - started
    return first, [epoch() for _ in range(EPOCHS)]


def measure(framework, repeats):
    """The rows of `framework` ("keras", on the backend this process runs, or "pytorch"):
    one per model and path, medians over repeats."""
    if framework == "pytorch":
        backend, paths = "pytorch", {"pytorch": _pytorch_path}
    else:
        import keras

        backend = keras.backend.backend()
        paths = {"trainer": _trainer_path, "bare fit": _bare_fit_path}
    rows = []
    for model in ("mlp", "lstm"):
        x, y = _data(model)
        steps = -(-len(x) // BATCH_SIZE)
        times = {path: ([], []) for path in paths}
        for repeat in range(repeats):
            for path, measure_path in paths.items():  # interleaved, repeat by repeat
                first, epochs = measure_path(model, x, y, repeat)
                step = statistics.median(epochs) / steps
                times[path][0].append(first - (steps - 1) * step)
                times[path][1].append(step)
        for path, (firsts, steadies) in times.items():
            rows.append(
                dict(
                    backend=backend,
                    model=model,
                    path=path,
                    first_step_s=statistics.median(firsts),
                    steady_ms_per_step=1000 * statistics.median(steadies),
                    repeats=repeats,
                )
            )
    return rows


# --- the command ---------------------------------------------------------------------


def _backend_rows(backend, repeats):
    """`measure` in a new process running `backend` (a Keras backend, or "pytorch")."""
    framework = "pytorch" if backend == "pytorch" else "keras"
    # Start-up from scratch: JAX's persistent compilation cache off, or every repeat but
    # the first would load what the first compiled.
    quiet = (
        "from experiments import import_keras_quietly; import_keras_quietly(); import keras; "
        "keras.backend.backend() == 'jax' and __import__('jax').config.update("
        "'jax_enable_compilation_cache', False); "
    )
    code = (
        f"import json; {quiet if framework == 'keras' else ''}"
        "from experiments.bench import measure; "
        f"print(json.dumps(measure({framework!r}, {repeats})))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=PROJECT,
        env={**os.environ, "KERAS_BACKEND": backend if framework == "keras" else "tensorflow"},
        capture_output=True,
        text=True,
    )
    if result.returncode:
        raise RuntimeError(f"the {backend} benchmark failed:\n{result.stderr[-2000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def _quick_seconds(backend, name, compiled):
    """The recorded wall time of `name`'s quick run on `backend`, JAX keeping its compiled
    programs in the folder `compiled`."""
    with tempfile.TemporaryDirectory() as folder:
        result = subprocess.run(
            [sys.executable, "-m", "experiments", "run", name, "--quick", "--out", folder],
            cwd=PROJECT,
            env={**os.environ, "KERAS_BACKEND": backend, "JAX_COMPILATION_CACHE_DIR": compiled},
            capture_output=True,
            text=True,
        )
        if result.returncode:
            raise RuntimeError(f"{name} --quick failed on {backend}:\n{result.stderr[-2000:]}")
        return json.loads((Path(folder) / name / "config.json").read_text())["wall_seconds"]


def render(bench, quick, machine):
    """`table.md` from the stored tables and machine description."""
    out = io.StringIO()
    out.write("# Benchmark: training speed per backend\n\n")
    out.write(
        "Medians over repeats interleaved in one process per backend, batch 64; "
        "`first_step_s` is the start-up (tracing, compiling; JAX reuses, within the process, "
        "what it compiled for an identical model in an earlier repeat), `steady_ms_per_step` "
        "a compiled step. Ratios are to Keras' bare `model.fit` on the same backend. "
        f"Timings on one noisy {machine['cpus']}-core machine: read the ratios, not the "
        "digits. Regenerate with `python -m experiments bench`.\n\n"
    )
    if machine["pytorch"] is None:
        out.write("PyTorch was not installed when this ran: its rows are left out.\n\n")
    table = bench.copy()
    bare = table[table["path"] == "bare fit"].set_index(["backend", "model"])
    torch = table[table["path"] == "pytorch"].set_index("model")
    for column in ("first_step_s", "steady_ms_per_step"):
        table[f"{column} / bare fit"] = [
            row[column] / bare.loc[(row["backend"], row["model"]), column]
            if (row["backend"], row["model"]) in bare.index
            else float("nan")
            for _, row in table.iterrows()
        ]
    if len(torch):
        table["steady / pytorch"] = [
            row["steady_ms_per_step"] / torch.loc[row["model"], "steady_ms_per_step"]
            for _, row in table.iterrows()
        ]
    out.write(table.to_markdown(index=False, floatfmt=".3g"))
    out.write("\n")
    if len(quick):
        out.write(
            "\n## Quick runs (seconds)\n\n`first`: each experiment's quick run with nothing "
            "compiled before; `again`: the same run once more, when JAX loads the programs it "
            "compiled the first time from its persistent compilation cache (TensorFlow has "
            "none).\n\n"
        )
        wide = quick.pivot(index="experiment", columns=["backend", "run"], values="wall_seconds")
        wide = wide.reindex(list(dict.fromkeys(quick["experiment"])))
        wide.columns = [f"{backend}, {run}" for backend, run in wide.columns]
        wide.loc["total"] = wide.sum()
        for run in ("first", "again"):
            if {f"jax, {run}", f"tensorflow, {run}"} <= set(wide.columns):
                wide[f"jax / tensorflow, {run}"] = wide[f"jax, {run}"] / wide[f"tensorflow, {run}"]
        out.write(wide.reset_index().to_markdown(index=False, floatfmt=".3g"))
        out.write("\n")
    return out.getvalue()


def stored_files(bench, quick, machine):
    """`{file name: text}` of `results/bench/`. The table is rendered from the CSV texts, as
    `rebuild` renders it, so that `report` reproduces it byte for byte."""
    files = {
        "bench.csv": bench.to_csv(index=False, float_format="%.4g"),
        "quick_runs.csv": quick.to_csv(index=False, float_format="%.4g"),
        "machine.json": json.dumps(machine, indent=2) + "\n",
    }
    files["table.md"] = render(
        pd.read_csv(io.StringIO(files["bench.csv"])),
        pd.read_csv(io.StringIO(files["quick_runs.csv"])),
        machine,
    )
    return files


def rebuild(folder):
    """Rewrites `folder`'s `table.md` from its stored CSVs and machine description."""
    folder = Path(folder)
    table = render(
        pd.read_csv(folder / "bench.csv"),
        pd.read_csv(folder / "quick_runs.csv"),
        json.loads((folder / "machine.json").read_text()),
    )
    storage.atomic_write(folder / "table.md", table)


def command_bench(args):
    """Measures every backend and writes `args.out/bench/`."""
    if args.repeats < 1:
        raise UsageError(f"--repeats must be at least 1, got {args.repeats}")
    storage.check_writable(args.out)
    out = Path(args.out)
    torch = importlib.util.find_spec("torch")
    frameworks = [*BACKENDS, *(["pytorch"] if torch is not None else [])]
    bench = pd.DataFrame([row for b in frameworks for row in _backend_rows(b, args.repeats)])
    quick = []
    with tempfile.TemporaryDirectory() as compiled:  # no program compiled before the first runs
        for name in [] if args.no_quick_runs else experiments.EXPERIMENTS:
            for backend in BACKENDS:
                for run in ("first", "again"):
                    seconds = _quick_seconds(backend, name, compiled)
                    quick.append(
                        dict(experiment=name, backend=backend, run=run, wall_seconds=seconds)
                    )
    quick = pd.DataFrame(quick, columns=["experiment", "backend", "run", "wall_seconds"])
    machine = dict(
        platform=platform.platform(),
        python=platform.python_version(),
        cpus=os.cpu_count(),
        pytorch=None if torch is None else importlib.metadata.version("torch"),
    )
    files = stored_files(bench, quick, machine)
    with storage.Lock(out):
        storage.replace_folder(out / "bench", files)
    print(files["table.md"])
    return 0
