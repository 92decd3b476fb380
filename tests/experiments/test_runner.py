import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import experiments
from experiments import learning_rate, random_labels, runner, settings, storage
from experiments.runner import main, make_config

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


def snapshot(folder):
    folder = Path(folder)
    return {p.relative_to(folder): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def no_training(monkeypatch):
    """Fails the test if the runner starts an experiment."""

    def trained(*args, **kwargs):
        raise AssertionError("the runner trained before rejecting the input")

    monkeypatch.setattr(runner, "run_experiment", trained)


@pytest.fixture
def stored(quick_results, monkeypatch):
    """random_labels.run returns the quick run's stored table instead of training."""
    table = storage.load(quick_results / "random_labels")[0]
    monkeypatch.setattr(random_labels, "run", lambda config: table.copy())
    return table


# --- settings ------------------------------------------------------------------------


def test_set_values_are_parsed_to_the_field_type():
    pairs = [
        ("max_epochs", "7"),
        ("learning_rate", "0.01"),
        ("hidden_units", "32,16"),
        ("train_size", "none"),
        ("corruption_levels", "0,0.5"),
        ("dataset", "mnist1d"),
    ]
    config = make_config(random_labels, pairs=pairs)
    assert config.max_epochs == 7 and config.learning_rate == 0.01
    assert config.hidden_units == (32, 16) and config.train_size is None
    assert config.corruption_levels == (0.0, 0.5) and config.dataset == "mnist1d"
    assert settings.parse("true", bool, "flag") is True


def test_quick_and_seeds_override_the_defaults():
    config = make_config(random_labels, quick=True, seeds=4)
    assert config.seeds == (0, 1, 2, 3)
    assert config.train_size == random_labels.QUICK["train_size"]


@pytest.mark.parametrize("name", experiments.EXPERIMENTS)
def test_every_setting_has_a_meaning_and_the_defaults_and_quick_values_are_valid(name):
    module = experiments.get(name)
    for key, (_, _, meaning) in settings.fields(module.Config).items():
        assert meaning, f"{name}.{key} has no one-line meaning"
    assert set(module.QUICK) <= set(settings.fields(module.Config))
    make_config(module, quick=True)  # raises on a quick value its own checks refuse


def test_validate_catches_bad_values_from_python_too():
    with pytest.raises(ValueError, match="hidden_units must be positive"):
        random_labels.Config(hidden_units=(0,))
    with pytest.raises(ValueError, match="max_epochs must be an integer"):
        random_labels.Config(max_epochs=True)
    with pytest.raises(ValueError, match="learning_rate must be a number"):
        random_labels.Config(learning_rate="0.1")
    with pytest.raises(ValueError, match="learning_rates needs at least 3 values"):
        learning_rate.Config(learning_rates=(0.1, 1.0))


# --- bad input: one line on stderr, the right exit status, nothing trained or written ---

# (category, argv, exit status, message). {tmp} is a fresh folder; {foreign} a folder with
# someone else's file; {file} a file; {results} a copy of a quick run's results folder.
BAD_INPUT = [
    ("unknown", ["run", "no_such_experiment"], 2, "unknown experiment 'no_such_experiment'"),
    ("unknown", ["run", "random_labels", "--set", "max_epoch=3"], 2, "unknown setting 'max_epoch'"),
    (
        "unknown",
        ["run", "all", "--set", "no_such_key=1"],
        2,
        "unknown setting 'no_such_key' for any of",
    ),
    ("unknown", ["frobnicate"], 2, "invalid choice"),
    ("unknown", ["show", "no_such_experiment"], 2, "unknown experiment"),
    (
        "unknown",
        ["check", "no_such_experiment", "--results", "{results}", "--against", "{results}"],
        2,
        "unknown experiment",
    ),
    ("unknown", ["run"], 2, "at least one experiment"),
    ("type", ["run", "random_labels", "--set", "max_epochs=many"], 2, "max_epochs must be int"),
    (
        "type",
        ["run", "random_labels", "--set", "learning_rate=fast"],
        2,
        "learning_rate must be float",
    ),
    (
        "type",
        ["run", "random_labels", "--set", "hidden_units=32,wide"],
        2,
        "hidden_units must be int",
    ),
    (
        "type",
        ["run", "stock_forecast", "--set", "controls=maybe"],
        2,
        "controls must be true or false",
    ),
    ("type", ["run", "random_labels", "--seeds", "two"], 2, "invalid int value"),
    ("type", ["check", "--tolerance", "tiny"], 2, "invalid float value"),
    (
        "range",
        ["run", "random_labels", "--set", "hidden_units=0"],
        2,
        "hidden_units must be positive",
    ),
    (
        "range",
        ["run", "random_labels", "--set", "learning_rate=inf"],
        2,
        "learning_rate must be finite",
    ),
    (
        "range",
        ["run", "random_labels", "--set", "learning_rate=nan"],
        2,
        "learning_rate must be finite",
    ),
    (
        "range",
        ["run", "random_labels", "--set", "learning_rate=-0.1"],
        2,
        "learning_rate must be positive",
    ),
    (
        "range",
        ["run", "random_labels", "--set", "target_accuracy=2"],
        2,
        "target_accuracy must lie in [0, 1]",
    ),
    (
        "range",
        ["run", "random_labels", "--set", "corruption_levels=0.5,1.5"],
        2,
        "corruption_levels must lie in [0, 1]",
    ),
    (
        "range",
        ["run", "dropout_vs_early_stopping", "--set", "label_noise=1.5"],
        2,
        "label_noise must be less than 0.9",
    ),
    (
        "range",
        ["run", "dropout_vs_early_stopping", "--set", "dropout_rates=0.2,1.0"],
        2,
        "dropout_rates must lie strictly between 0 and 1",
    ),
    (
        "range",
        ["run", "random_labels", "--set", "train_size=5"],
        2,
        "train_size must be between 10 and",
    ),
    ("range", ["run", "random_labels", "--set", "dataset=imagenet"], 2, "dataset must be among"),
    ("range", ["run", "lstm_memory", "--set", "timesteps=2"], 2, "timesteps must be at least 4"),
    (
        "range",
        ["run", "residual_vs_plain", "--set", "momentum=1"],
        2,
        "momentum must be less than 1",
    ),
    ("range", ["run", "random_labels", "--seeds", "0"], 2, "--seeds must be at least 1"),
    ("range", ["run", "random_labels", "--seeds", "-3"], 2, "--seeds must be at least 1"),
    ("range", ["run", "random_labels", "--seeds", "100000"], 2, "--seeds must be at most 1000"),
    (
        "range",
        ["check", "--tolerance", "-1", "--results", "{results}", "--against", "{results}"],
        2,
        "--tolerance must be a finite number, not negative",
    ),
    (
        "range",
        ["check", "--tolerance", "nan", "--results", "{results}", "--against", "{results}"],
        2,
        "--tolerance must be a finite number",
    ),
    ("range", ["run", "gradient_descent", "--set", "batch_sizes=32,0,4000"], 2, "full batch twice"),
    ("out", ["show", "random_labels", "--results", "{tmp}/typo"], 2, "no such folder"),
    (
        "seeds",
        ["run", "random_labels", "--set", "seeds=-1"],
        2,
        "seeds must be integers between 0 and",
    ),
    ("seeds", ["run", "random_labels", "--set", "seeds=1,1"], 2, "seeds must not repeat a value"),
    ("seeds", ["run", "random_labels", "--set", "seeds="], 2, "seeds must not be empty"),
    (
        "empty",
        ["run", "random_labels", "--set", "hidden_units="],
        2,
        "hidden_units must not be empty",
    ),
    ("empty", ["run", "random_labels", "--set", "hidden_units=32,,16"], 2, "without empty items"),
    ("empty", ["run", "stock_forecast", "--set", "csv="], 2, "csv must not be empty"),
    ("empty", ["run", "random_labels", "--set", "dataset="], 2, "dataset must not be empty"),
    ("empty", ["run", "lstm_memory", "--set", "cells="], 2, "cells must not be empty"),
    (
        "memory",
        ["run", "random_labels", "--set", "hidden_units=100000,100000"],
        2,
        "GiB of float32 weights",
    ),
    ("memory", ["run", "lstm_memory", "--set", "units=50000"], 2, "GiB of float32 weights"),
    ("syntax", ["run", "random_labels", "--set", "max_epochs"], 2, "--set takes key=value"),
    ("syntax", ["run", "random_labels", "--set", "=3"], 2, "--set takes key=value"),
    ("file", ["run", "stock_forecast", "--set", "csv={tmp}/prices.csv"], 2, "prices.csv"),
    ("out", ["run", "random_labels", "--out", ""], 2, "--out must name a folder"),
    ("out", ["run", "backprop", "--quick", "--out", str(ROOT)], 2, "the project's folder"),
    ("out", ["run", "backprop", "--quick", "--out", str(ROOT.parent)], 2, "the project's folder"),
    (
        "out",
        ["run", "backprop", "--out", str(ROOT / "zoo")],
        2,
        "holds files the runner did not write",
    ),
    ("out", ["run", "backprop", "--out", "{foreign}"], 2, "holds files the runner did not write"),
    ("out", ["run", "backprop", "--out", "{file}"], 2, "is a file, not a folder"),
    ("out", ["run", "backprop", "--out", "{tmp}/missing/results"], 2, "does not exist"),
    ("out", ["report", "--out", str(ROOT)], 2, "is not a results folder"),
    ("out", ["report", "--out", "{foreign}"], 2, "is not a results folder"),
    ("out", ["report", "--out", "{tmp}/typo"], 2, "no such folder"),
    ("out", ["check", "--results", "{tmp}/typo", "--against", "{results}"], 2, "no such folder"),
    (
        "out",
        ["check", "--results", "{results}", "--against", "{foreign}"],
        2,
        "is not a results folder",
    ),
]


@pytest.mark.parametrize(
    "category, argv, status, message",
    BAD_INPUT,
    ids=[f"{case[0]}-{i}" for i, case in enumerate(BAD_INPUT)],
)
def test_bad_input_gets_one_line_and_an_exit_status_before_any_training(
    category, argv, status, message, tmp_path, quick_results, capsys, no_training
):
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    (tmp_path / "a_file").write_text("not a folder")
    results = tmp_path / "results"
    shutil.copytree(quick_results, results)
    places = {
        "{tmp}": str(tmp_path),
        "{foreign}": str(foreign),
        "{file}": str(tmp_path / "a_file"),
        "{results}": str(results),
    }
    for placeholder, path in places.items():
        argv = [word.replace(placeholder, path) for word in argv]
    if argv[0] == "run" and "--out" not in argv:
        argv += ["--out", str(tmp_path / "out")]
    before, committed = snapshot(tmp_path), snapshot(storage.RESULTS_DIR)
    assert main(argv) == status
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("experiments: error:"), err
    assert message in err
    assert snapshot(tmp_path) == before and not (tmp_path / "out").exists()
    assert snapshot(storage.RESULTS_DIR) == committed


# (how the folder is damaged, message). Each damages a copy of a quick run's results.
CORRUPT = [
    ("config-not-json", "config.json is not valid JSON"),
    ("config-empty-object", "config.json lacks experiment, seeds, config, wall_seconds"),
    ("config-list", "does not hold a run's record"),
    ("config-other-experiment", "records experiment 'backprop'"),
    ("config-missing", "config.json: No such file"),
    ("metrics-missing", "metrics.csv: No such file"),
    ("metrics-header-only", "checksum differs"),
    ("metrics-truncated-mid-row", "checksum differs"),
    ("metrics-truncated-at-a-row", "checksum differs"),
    ("metrics-edited", "checksum differs"),
    ("config-without-checksums", "config.json lacks files"),
    ("config-files-malformed", "files are malformed"),
    ("metrics-and-checksum-header-only", "metrics.csv has no rows"),
]


def damage(folder, how):
    config, metrics = folder / "config.json", folder / "metrics.csv"
    record = json.loads(config.read_text())
    text = metrics.read_text()
    lines = text.splitlines(keepends=True)
    if how == "config-not-json":
        config.write_text("{not json")
    elif how == "config-empty-object":
        config.write_text("{}")
    elif how == "config-list":
        config.write_text("[1, 2]")
    elif how == "config-other-experiment":
        config.write_text(json.dumps({**record, "experiment": "backprop"}))
    elif how == "config-missing":
        config.unlink()
    elif how == "metrics-missing":
        metrics.unlink()
    elif how == "config-without-checksums":
        config.write_text(
            json.dumps({key: value for key, value in record.items() if key != "files"})
        )
    elif how == "config-files-malformed":
        config.write_text(json.dumps({**record, "files": []}))
    elif how == "metrics-and-checksum-header-only":  # an empty table, stored consistently
        metrics.write_text(lines[0])
        files = {**record["files"], "metrics.csv": {"sha256": storage.digest(lines[0]), "rows": 0}}
        config.write_text(json.dumps({**record, "files": files}))
    elif how == "metrics-header-only":
        metrics.write_text(lines[0])
    elif how == "metrics-truncated-mid-row":
        middle = len(lines) // 2  # cut the middle row after its fourth field
        metrics.write_text("".join(lines[:middle]) + ",".join(lines[middle].split(",")[:4]) + ",")
    elif how == "metrics-truncated-at-a-row":
        metrics.write_text("".join(lines[:-1]))
    elif how == "metrics-edited":
        metrics.write_text(text.replace("0.9", "0.8", 1))


@pytest.mark.parametrize("how, message", CORRUPT, ids=[case[0] for case in CORRUPT])
def test_report_show_and_check_refuse_a_damaged_results_folder_and_write_nothing(
    how, message, quick_results, tmp_path, capsys
):
    copy = tmp_path / "results"
    shutil.copytree(quick_results, copy)
    damage(copy / "random_labels", how)
    before = snapshot(copy)
    for argv in (["report", "--out", str(copy)], ["show", "random_labels", "--results", str(copy)]):
        assert main(argv) == 1, argv
        err = capsys.readouterr().err
        assert (
            err.count("\n") == 1 and "cannot read the stored results" in err and message in err
        ), err
    assert main(["check", "--results", str(copy), "--against", str(quick_results)]) == 1
    assert message in capsys.readouterr().out
    assert snapshot(copy) == before


@pytest.mark.parametrize("claims", ["{not json", "{}", "[1]", '[{"id": "memorized"}]'])
def test_a_damaged_claims_file_stops_show_check_and_a_run_before_training(
    claims, quick_results, tmp_path, capsys, no_training
):
    copy = tmp_path / "results"
    shutil.copytree(quick_results, copy)
    (copy / "random_labels" / "claims.json").write_text(claims)
    before = snapshot(copy)
    for argv in (
        ["show", "random_labels", "--results", str(copy)],
        ["run", "backprop", "--quick", "--out", str(copy)],
    ):
        assert main(argv) == 1, argv
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "claims.json" in err, err
    assert main(["check", "--results", str(copy), "--against", str(quick_results)]) == 1
    assert "claims.json" in capsys.readouterr().out
    assert snapshot(copy) == before
    # claims.json is derived: the report rebuilds it.
    assert main(["report", "--out", str(copy)]) == 0
    assert (copy / "random_labels" / "claims.json").read_bytes() == (
        quick_results / "random_labels" / "claims.json"
    ).read_bytes()


# --- where results go --------------------------------------------------------------------


def test_a_run_without_out_goes_to_the_scratch_folder_and_says_where(
    stored, tmp_path, monkeypatch, capsys
):
    scratch = tmp_path / "runs"
    monkeypatch.setattr(runner, "SCRATCH_DIR", scratch)
    committed = snapshot(storage.RESULTS_DIR)
    assert main(["run", "random_labels", "--quick"]) == 0
    out = capsys.readouterr().out
    assert f"wrote {scratch / 'random_labels'}/" in out or "wrote runs/random_labels/" in out
    assert storage.is_results_folder(scratch) and (scratch / "random_labels" / "table.md").exists()
    assert snapshot(storage.RESULTS_DIR) == committed


def test_an_empty_folder_becomes_a_results_folder_and_stays_one(stored, tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    assert main(["run", "random_labels", "--quick", "--out", str(out)]) == 0
    assert storage.is_results_folder(out)
    assert main(["run", "random_labels", "--quick", "--out", str(out)]) == 0  # its own files now
    assert sorted(p.name for p in out.iterdir()) == [storage.MANIFEST, "README.md", "random_labels"]


def test_scratch_folder_is_ignored_by_git():
    result = subprocess.run(
        ["git", "check-ignore", "-q", str(storage.SCRATCH_DIR / "x" / "table.md")], cwd=ROOT
    )
    assert result.returncode == 0


def test_results_folder_is_marked():
    assert storage.is_results_folder(storage.RESULTS_DIR)


# --- all or nothing ------------------------------------------------------------------------

KILLABLE = """
import os, shutil, sys, time
from pathlib import Path

import experiments
from experiments import runner, storage

experiments.import_keras_quietly()
from experiments import random_labels

out, point, ready, source = sys.argv[1:5]
table = storage.load(Path(source) / "random_labels")[0]
new_table = table.assign(test_accuracy=table["test_accuracy"] / 2)  # a result unlike the old one


def pause(*args, **kwargs):
    Path(ready).touch()
    time.sleep(300)


random_labels.run = lambda config: pause() if point == "training" else new_table.copy()
if point == "files":  # after the first file of the new folder
    write_bytes = Path.write_bytes
    Path.write_bytes = lambda self, data: (write_bytes(self, data), ".new-" in self.parent.name and pause())[0]
elif point == "swap":  # the new folder is complete; the old one still in place
    exchange = storage._exchange
    storage._exchange = lambda a, b: (pause(), exchange(a, b))[1]
elif point == "cleanup":  # swapped; the previous folder not yet removed
    shutil.rmtree = pause
elif point == "index":  # the experiment is written; the index not yet replaced
    replace = os.replace
    os.replace = lambda a, b: (str(b).endswith("README.md") and pause(), replace(a, b))[1]
sys.exit(runner.main(["run", "random_labels", "--quick", "--out", out]))
"""


def start_paused(out, point, source, tmp_path):
    ready = tmp_path / f"ready-{point}"
    process = subprocess.Popen(
        [sys.executable, "-c", KILLABLE, str(out), point, str(ready), str(source)],
        cwd=ROOT,
        env=ENV,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 120
    while not ready.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(
                f"the writer never reached {point}: {process.stderr.read().decode()[-2000:]}"
            )
        time.sleep(0.1)
    return process


@pytest.mark.parametrize(
    "point, expected", [("files", "old"), ("swap", "old"), ("cleanup", "new"), ("index", "new")]
)
def test_a_run_killed_while_writing_leaves_a_complete_folder(
    point, expected, quick_results, tmp_path
):
    out = tmp_path / "results"
    shutil.copytree(quick_results, out)
    old = snapshot(out / "random_labels")
    old_index = (out / "README.md").read_bytes()
    process = start_paused(out, point, quick_results, tmp_path)
    process.send_signal(signal.SIGKILL)
    process.wait()
    now = snapshot(out / "random_labels")
    if expected == "old":
        assert now == old
    else:  # the new folder, whole: every file, checksums right, another result than the old
        storage.load(out / "random_labels")
        assert now.keys() == old.keys() and now[Path("metrics.csv")] != old[Path("metrics.csv")]
    assert (out / "README.md").read_bytes() == old_index  # the index is always whole
    # The next run into the folder removes what the killed one left behind.
    assert main(["report", "--out", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == [storage.MANIFEST, "README.md", "random_labels"]


def test_a_run_interrupted_midway_leaves_the_previous_results(quick_results, tmp_path, monkeypatch):
    out = tmp_path / "results"
    shutil.copytree(quick_results, out)
    before = snapshot(out)
    calls = []

    def interrupted_train(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt  # as if the user pressed Ctrl-C during the second training
        return original(*args, **kwargs)

    original = random_labels.train
    monkeypatch.setattr(random_labels, "train", interrupted_train)
    assert main(["run", "random_labels", "--quick", "--out", str(out)]) == 130
    assert snapshot(out) == before


@pytest.mark.parametrize("swap", ["exchange", "two renames"])
def test_ctrl_c_while_writing_leaves_the_previous_folder_and_no_temporary(
    swap, stored, quick_results, tmp_path, monkeypatch
):
    out = tmp_path / "results"
    shutil.copytree(quick_results, out)
    before = snapshot(out)
    if swap == "two renames":  # where renameat2 cannot swap folders
        monkeypatch.setattr(storage, "_exchange", lambda a, b: False)
        rename = os.rename

        def interrupted_rename(a, b):
            if Path(a).name.startswith(".random_labels.new-"):
                raise KeyboardInterrupt  # after the old folder was moved aside
            rename(a, b)

        monkeypatch.setattr(os, "rename", interrupted_rename)
    else:
        write_bytes = Path.write_bytes
        calls = []

        def interrupted_write(self, data):
            calls.append(1)
            if len(calls) == 3:
                raise KeyboardInterrupt
            return write_bytes(self, data)

        monkeypatch.setattr(Path, "write_bytes", interrupted_write)
    assert main(["run", "random_labels", "--quick", "--out", str(out)]) == 130
    assert snapshot(out) == before
    assert sorted(p.name for p in out.iterdir()) == [storage.MANIFEST, "README.md", "random_labels"]


def test_a_second_writer_is_refused_while_the_first_runs(
    quick_results, tmp_path, capsys, no_training
):
    out = tmp_path / "results"
    shutil.copytree(quick_results, out)
    first = start_paused(out, "training", quick_results, tmp_path)
    try:
        before = snapshot(out)
        for argv in (
            ["run", "backprop", "--quick", "--out", str(out)],
            ["report", "--out", str(out)],
        ):
            assert main(argv) == 1
            err = capsys.readouterr().err
            assert err.count("\n") == 1 and f"another run (pid {first.pid}) is writing" in err
        assert snapshot(out) == before
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    assert main(["report", "--out", str(out)]) == 0  # the lock died with its holder


def test_atomic_write_keeps_the_old_file_when_the_write_fails(tmp_path, monkeypatch):
    target = tmp_path / "table.md"
    storage.atomic_write(target, "old")

    def fail(*args):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError):
        storage.atomic_write(target, "new")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["table.md"]  # no temporary left


def test_atomic_write_interrupted_after_the_move_reraises_the_interrupt(tmp_path, monkeypatch):
    target = tmp_path / "table.md"
    replace = os.replace

    def moved_then_interrupted(a, b):
        replace(a, b)
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", moved_then_interrupted)
    with pytest.raises(KeyboardInterrupt):
        storage.atomic_write(target, "new")
    assert [p.name for p in tmp_path.iterdir()] == ["table.md"] and target.read_text() == "new"


def test_atomic_write_leaves_a_readable_file(tmp_path):
    storage.atomic_write(tmp_path / "a.json", "{}")
    assert (tmp_path / "a.json").stat().st_mode & 0o777 == 0o644


# --- reports, checks and records ------------------------------------------------------------


def test_report_rebuilds_byte_identical_files(quick_results, tmp_path):
    copy = tmp_path / "results"
    shutil.copytree(quick_results, copy)
    first_run = snapshot(copy)
    assert main(["report", "--out", str(copy)]) == 0
    rebuilt = snapshot(copy)
    assert main(["report", "--out", str(copy)]) == 0
    assert snapshot(copy) == rebuilt
    # The report reproduces exactly what the run wrote.
    assert rebuilt == first_run


def test_the_same_run_twice_gives_byte_identical_results_but_for_config_and_timings(
    stored, tmp_path, monkeypatch
):
    import numpy as np

    rng = np.random.default_rng()
    # Each run measures other wall-clock seconds, as real runs do.
    monkeypatch.setattr(
        random_labels, "run", lambda config: stored.assign(seconds=rng.random(len(stored)))
    )
    for out in ("a", "b"):
        assert main(["run", "random_labels", "--quick", "--out", str(tmp_path / out)]) == 0
    a, b = snapshot(tmp_path / "a" / "random_labels"), snapshot(tmp_path / "b" / "random_labels")
    assert a.keys() == b.keys() and Path("timings.csv") in a
    assert {name for name in a if a[name] != b[name]} == {Path("config.json"), Path("timings.csv")}
    assert main(["check", "--results", str(tmp_path / "a"), "--against", str(tmp_path / "b")]) == 0


def test_check_finds_agreement_and_every_kind_of_difference(
    stored, quick_results, tmp_path, capsys
):
    copy = tmp_path / "copy"
    shutil.copytree(quick_results, copy)
    assert main(["check", "--results", str(copy), "--against", str(quick_results)]) == 0
    assert "random_labels: same" in capsys.readouterr().out

    changed = stored.copy()
    changed.loc[changed.index[0], "test_accuracy"] += 0.01
    random_labels.run = lambda config: changed  # the monkeypatch of `stored` undoes this
    assert (
        main(
            ["run", "random_labels", "--quick", "--set", "learning_rate=0.002", "--out", str(copy)]
        )
        == 0
    )
    capsys.readouterr()
    assert (
        main(["check", "random_labels", "--results", str(copy), "--against", str(quick_results)])
        == 1
    )
    out = capsys.readouterr().out
    assert "random_labels: DIFFERENT" in out and "setting learning_rate: 0.002 vs 0.001" in out
    assert "column test_accuracy: 1 of" in out and "column train_accuracy" not in out

    assert main(["run", "random_labels", "--quick", "--out", str(copy)]) == 0
    assert (
        main(
            ["check", "--results", str(copy), "--against", str(quick_results), "--tolerance", "0.1"]
        )
        == 0
    )


def test_run_records_the_command_backend_resolved_settings_and_checksums(quick_results):
    folder = quick_results / "random_labels"
    record = json.loads((folder / "config.json").read_text())
    assert record["seeds"] == list(random_labels.QUICK["seeds"])
    assert record["quick"] is True and record["wall_seconds"] > 0
    assert record["command"].endswith("python -m experiments run random_labels --quick")
    assert record["backend"] == os.environ.get("KERAS_BACKEND", "tensorflow")
    assert {"python", "keras", record["backend"]} <= set(record["versions"])
    assert record["config"]["train_size"] == random_labels.QUICK["train_size"]
    assert None not in record["config"].values()
    assert record["files"]["metrics.csv"]["sha256"] == storage.digest(
        (folder / "metrics.csv").read_bytes()
    )
    claims = json.loads((folder / "claims.json").read_text())
    assert [c["id"] for c in claims] == [c.id for c in random_labels.CLAIMS]
    for claim in claims:
        assert set(claim) == {
            "id",
            "kind",
            "statement",
            "source",
            "measured",
            "criterion",
            "verdict",
            "headline",
        }
        assert claim["verdict"] in ("pass", "FAIL", "not measured")
        assert claim["kind"] in ("finding", "check")
    assert re.search(r"\b\d+(\.\d)? s\b", (folder / "table.md").read_text()) is None  # no wall time
    index = (quick_results / "README.md").read_text()
    assert "[random_labels](random_labels/table.md)" in index
    assert max(len(line) for line in index.splitlines() if line.startswith("|")) <= 200


def test_the_command_line_reproduces_the_run(tmp_path, stored):
    argv = ["run", "random_labels", "--quick", "--seeds", "1", "--set", "learning_rate=0.002"]
    assert main([*argv, "--out", str(tmp_path)]) == 0
    record = json.loads((tmp_path / "random_labels" / "config.json").read_text())
    assert record["command"].split()[-len(argv) :] == argv
    assert record["seeds"] == [0] and record["config"]["learning_rate"] == 0.002


def test_resolved_settings_name_what_the_code_picked():
    from experiments import residual_vs_plain

    record = runner.resolved_settings(residual_vs_plain.Config())
    assert record["architecture"] == "mlp" and record["depths"] == (4, 8, 16, 32)
    assert record["lesion_depths"] == (8, 16) and record["train_size"] == 4000


def test_claims_that_were_not_run_are_not_measured_and_counted_apart(stored):
    from experiments import report

    only_random = stored[stored["condition"] != "gaussian"]
    claims = [claim.evaluate(only_random) for claim in random_labels.CLAIMS]
    verdicts = {claim["id"]: claim["verdict"] for claim in claims}
    assert verdicts["noise_inputs_faster"] == "not measured"
    assert verdicts["memorized"] == "pass"
    assert report.tally(claims) == "4/4 pass, 1 not measured"


def test_checks_are_shown_apart_from_findings():
    from experiments import perceptron, report
    from experiments.claims import Claim

    with pytest.raises(ValueError, match="kind"):
        Claim("x", "s", "src", "c", lambda table: (1.0, True), kind="lemma")
    claims = [
        {"id": "a", "kind": "finding", "verdict": "pass"},
        {"id": "b", "kind": "check", "verdict": "pass"},
        {"id": "c", "kind": "finding", "verdict": "FAIL"},
    ]
    findings, checks = report.by_kind(claims)
    assert [c["id"] for c in findings] == ["a", "c"] and [c["id"] for c in checks] == ["b"]
    assert report.tally_kinds(claims) == "findings 1/2 pass; checks 1/1 pass"
    # forward_by_hand and the linear stack hold by construction: checks, not findings.
    kinds = {claim.id: claim.kind for claim in perceptron.CLAIMS}
    assert kinds["forward_by_hand"] == "check" and kinds["xor_needs_hidden_layer"] == "finding"


def test_at_the_default_settings_an_error_in_a_claim_is_a_bug_not_a_missing_condition(stored):
    broken = stored.drop(columns="test_accuracy")
    assert random_labels.CLAIMS[0].evaluate(broken)["verdict"] == "not measured"
    with pytest.raises(KeyError):
        random_labels.CLAIMS[0].evaluate(broken, defaults=True)


def test_run_all_applies_a_setting_to_the_experiments_that_have_it(monkeypatch, tmp_path, capsys):
    ran = {}
    monkeypatch.setattr(
        runner,
        "run_experiment",
        lambda name, module, config, out, command, quick: (
            ran.setdefault(name, (config, command)) and ([], {"wall_seconds": 0})
        ),
    )
    monkeypatch.setattr(runner, "print_verdicts", lambda *args: None)
    assert main(["run", "all", "--quick", "--set", "dataset=digits", "--out", str(tmp_path)]) == 0
    have = [
        name
        for name in experiments.EXPERIMENTS
        if "dataset" in settings.fields(experiments.get(name).Config)
    ]
    assert set(ran) == set(experiments.EXPERIMENTS) and len(have) >= 3
    for name, (config, command) in ran.items():
        assert (getattr(config, "dataset", None) == "digits") == (name in have)
        assert ("dataset=digits" in command) == (name in have)


# --- the command line as a person meets it -----------------------------------------------


def test_run_help_lists_every_setting_with_type_default_quick_value_and_meaning(capsys):
    assert main(["run", "random_labels", "--help"]) == 0
    out = capsys.readouterr().out
    for key, (annotation, _, meaning) in settings.fields(random_labels.Config).items():
        assert f"  {key} ({settings.type_name(annotation)}; default " in out and meaning in out
    assert "train_size (int or none; default none, quick 300)" in out


def test_show_prints_the_concept_claims_and_committed_verdicts(quick_results, capsys):
    assert main(["show", "random_labels", "--results", str(quick_results)]) == 0
    out = capsys.readouterr().out
    assert random_labels.CONCEPT in out
    for claim in random_labels.CLAIMS:
        assert claim.id in out and claim.criterion in out
    assert "[pass] memorized" in out or "[FAIL] memorized" in out


def test_list_and_help_answer_without_importing_tensorflow_or_keras():
    code = (
        "import sys; from experiments.runner import main; main(['list']); main(['--help']); "
        "main(['run', '--help']); print(sorted({'tensorflow', 'keras', 'jax'} & set(sys.modules)))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0 and result.stdout.strip().endswith("[]"), (
        result.stdout + result.stderr
    )
    assert result.stderr == ""
    assert "random_labels" in result.stdout


def test_cli_and_script_are_quiet_and_exit_2_without_traceback(tmp_path):
    env = {key: value for key, value in ENV.items() if key != "TF_CPP_MIN_LOG_LEVEL"}
    out = str(tmp_path / "out")
    for command in (
        [
            sys.executable,
            "-m",
            "experiments",
            "run",
            "random_labels",
            "--set",
            "target_accuracy=2",
            "--out",
            out,
        ],
        [sys.executable, "experiments/random_labels.py", "--set", "nope=1", "--out", out],
    ):
        result = subprocess.run(
            command, cwd=ROOT, capture_output=True, text=True, env=env, timeout=120
        )
        assert result.returncode == 2, result.stderr
        assert result.stderr.count("\n") == 1 and result.stderr.startswith("experiments: error:"), (
            result.stderr
        )


def test_a_normal_run_prints_progress_verdicts_and_no_start_up_noise(tmp_path):
    env = {key: value for key, value in ENV.items() if key != "TF_CPP_MIN_LOG_LEVEL"}
    command = [
        sys.executable,
        "experiments/backprop.py",
        "--quick",
        "--seeds",
        "1",
        "--out",
        str(tmp_path),
    ]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr
    assert [line for line in result.stderr.splitlines() if not line.startswith("backprop")] == []
    assert "backprop 1/1, ETA 0 s: seed=0 largest relative error, hand vs Keras:" in result.stderr
    assert (
        result.stdout.startswith("backprop: ")
        and f"wrote {tmp_path / 'backprop'}/" in result.stdout
    )


def test_the_readme_names_every_command():
    readme = (ROOT / "README.md").read_text()
    for command in ("list", "run", "show", "report", "check"):
        assert f"python -m experiments {command}" in readme
