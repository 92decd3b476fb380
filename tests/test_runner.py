import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from experiments import random_labels, runner
from experiments.runner import main, make_config, parse_value

ROOT = Path(__file__).resolve().parent.parent


def test_set_values_are_parsed_to_the_field_type():
    config = make_config(
        random_labels,
        settings=["max_epochs=7", "learning_rate=0.01", "hidden_units=32,16", "train_size=none",
                  "corruption_levels=0,0.5", "dataset=mnist1d"],
    )
    assert config.max_epochs == 7 and config.learning_rate == 0.01
    assert config.hidden_units == (32, 16) and config.train_size is None
    assert config.corruption_levels == (0.0, 0.5) and config.dataset == "mnist1d"
    assert parse_value("true", bool, "flag") is True


def test_quick_and_seeds_override_the_defaults():
    config = make_config(random_labels, quick=True, seeds=4)
    assert config.seeds == (0, 1, 2, 3)
    assert config.train_size == random_labels.QUICK["train_size"]


@pytest.mark.parametrize(
    "argv, message",
    [
        (["run", "no_such_experiment"], "unknown experiment 'no_such_experiment'"),
        (["run", "random_labels", "--set", "max_epoch=3"], "unknown setting 'max_epoch'"),
        (["run", "random_labels", "--set", "max_epochs=many"], "max_epochs must be of type int"),
        (["run", "random_labels", "--set", "corruption_levels=0.5,1.5"], "corruption_levels must lie in [0, 1]"),
        (["run", "random_labels", "--set", "dataset=imagenet"], "dataset must be one of"),
        (["run", "random_labels", "--set", "max_epochs"], "--set takes key=value"),
        (["run", "random_labels", "--seeds", "0"], "--seeds must be at least 1"),
        (["frobnicate"], "invalid choice"),
    ],
)
def test_bad_input_exits_2_with_one_line(argv, message, capsys, tmp_path):
    assert main([*argv, "--out", str(tmp_path)] if argv[0] == "run" else argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("experiments: error:")
    assert message in err
    assert not any(tmp_path.iterdir())  # nothing written


def test_cli_and_script_exit_2_without_traceback():
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    for command in (
        [sys.executable, "-m", "experiments", "run", "random_labels", "--set", "target_accuracy=2"],
        [sys.executable, "experiments/random_labels.py", "--set", "nope=1"],
    ):
        result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, env=env, timeout=120)
        assert result.returncode == 2, result.stderr
        lines = [line for line in result.stderr.splitlines() if line.startswith("experiments:")]
        assert len(lines) == 1 and "Traceback" not in result.stderr


def test_list_names_every_experiment(capsys):
    assert main(["list"]) == 0
    assert "random_labels" in capsys.readouterr().out


def test_atomic_write_keeps_the_old_file_when_the_write_fails(tmp_path, monkeypatch):
    target = tmp_path / "table.md"
    runner.atomic_write(target, "old")

    def fail(*args):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError):
        runner.atomic_write(target, "new")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["table.md"]  # no temporary left


def snapshot(folder):
    return {p.relative_to(folder): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_a_run_interrupted_midway_leaves_the_previous_results(quick_results, tmp_path, monkeypatch):
    before = snapshot(quick_results)
    calls = []

    def interrupted_train(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt  # as if the user pressed Ctrl-C during the second training
        return original(*args, **kwargs)

    original = random_labels.train
    monkeypatch.setattr(random_labels, "train", interrupted_train)
    assert main(["run", "random_labels", "--quick", "--out", str(quick_results)]) == 130
    assert snapshot(quick_results) == before


def test_report_rebuilds_byte_identical_files(quick_results, tmp_path):
    import shutil

    copy = tmp_path / "results"
    shutil.copytree(quick_results, copy)
    first_run = snapshot(copy)
    assert main(["report", "--out", str(copy)]) == 0
    rebuilt = snapshot(copy)
    assert main(["report", "--out", str(copy)]) == 0
    assert snapshot(copy) == rebuilt
    # The report reproduces exactly what the run wrote.
    assert rebuilt == first_run


def test_report_on_an_unreadable_results_file_fails_cleanly(quick_results, tmp_path, capsys):
    import shutil

    copy = tmp_path / "results"
    shutil.copytree(quick_results, copy)
    (copy / "random_labels" / "config.json").write_text("{not json")
    before = (copy / "random_labels" / "table.md").read_bytes()
    assert main(["report", "--out", str(copy)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cannot read the stored results" in err
    assert (copy / "random_labels" / "table.md").read_bytes() == before


def test_run_records_config_seeds_versions_and_wall_time(quick_results):
    folder = quick_results / "random_labels"
    record = json.loads((folder / "config.json").read_text())
    assert record["seeds"] == list(random_labels.QUICK["seeds"])
    assert record["quick"] is True and record["wall_seconds"] > 0
    assert {"python", "tensorflow", "keras"} <= set(record["versions"])
    assert record["config"]["train_size"] == random_labels.QUICK["train_size"]
    claims = json.loads((folder / "claims.json").read_text())
    assert [c["id"] for c in claims] == [c.id for c in random_labels.CLAIMS]
    for claim in claims:
        assert set(claim) == {"id", "statement", "source", "measured", "criterion", "passed"}
        assert isinstance(claim["passed"], bool)
    index = (quick_results / "README.md").read_text()
    assert "[random_labels](random_labels/table.md)" in index


def test_atomic_write_leaves_a_readable_file(tmp_path):
    runner.atomic_write(tmp_path / "a.json", "{}")
    assert (tmp_path / "a.json").stat().st_mode & 0o777 == 0o644
