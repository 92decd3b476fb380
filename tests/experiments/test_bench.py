"""The benchmark's table and command line (the measurements themselves take minutes: the
committed results/bench/ shows them)."""

import json

import pandas as pd

from experiments import bench
from experiments.runner import main

MACHINE = dict(platform="test", python="3.11", cpus=2, pytorch="2.0")


def _tables():
    steps = pd.DataFrame(
        [
            dict(backend=b, model="mlp", path=p, first_step_s=f, steady_ms_per_step=s, repeats=3)
            for b, p, f, s in (
                ("tensorflow", "trainer", 0.5, 1.5),
                ("tensorflow", "bare fit", 1.0, 3.0),
                ("jax", "trainer", 0.4, 1.0),
                ("jax", "bare fit", 0.8, 1.25),
                ("pytorch", "pytorch", 0.01, 2.0),
            )
        ]
    )
    quick = pd.DataFrame(
        [
            dict(experiment="perceptron", backend=backend, run=run, wall_seconds=seconds)
            for backend, run, seconds in (
                ("tensorflow", "first", 10.0),
                ("tensorflow", "again", 9.0),
                ("jax", "first", 12.0),
                ("jax", "again", 4.5),
            )
        ]
    )
    return steps, quick


def _rows(markdown):
    """The first markdown table's rows as dicts of cell texts."""
    lines = [line for line in markdown.split("## Quick")[0].splitlines() if line.startswith("|")]
    header = [cell.strip() for cell in lines[0].strip("|").split("|")]
    return [
        dict(zip(header, (cell.strip() for cell in line.strip("|").split("|"))))
        for line in lines[2:]
    ]


def test_the_table_gives_ratios_to_the_bare_fit_and_to_pytorch():
    steps, quick = _tables()
    table = bench.render(steps, quick, MACHINE)
    rows = {(row["backend"], row["path"]): row for row in _rows(table)}
    tf = rows["tensorflow", "trainer"]
    assert tf["first_step_s / bare fit"] == "0.5" and tf["steady_ms_per_step / bare fit"] == "0.5"
    assert tf["steady / pytorch"] == "0.75"
    assert rows["jax", "trainer"]["steady / pytorch"] == "0.5"
    assert "read the ratios" in table and "| total " in table  # the quick runs, summed
    quick_rows = {row["experiment"]: row for row in _rows(table.split("## Quick runs")[1])}
    assert quick_rows["total"]["jax / tensorflow, first"] == "1.2"
    assert quick_rows["total"]["jax / tensorflow, again"] == "0.5"
    assert "PyTorch was not installed" in bench.render(steps, quick, {**MACHINE, "pytorch": None})


def test_report_rebuilds_the_bench_table_from_its_data(tmp_path):
    steps, quick = _tables()
    assert main(["run", "perceptron", "--quick", "--seeds", "1", "--out", str(tmp_path)]) == 0
    folder = tmp_path / "bench"
    folder.mkdir()
    steps.to_csv(folder / "bench.csv", index=False)
    quick.to_csv(folder / "quick_runs.csv", index=False)
    (folder / "machine.json").write_text(json.dumps(MACHINE))
    assert main(["report", "--out", str(tmp_path)]) == 0
    assert (folder / "table.md").read_text() == bench.render(steps, quick, MACHINE)


def test_the_table_written_is_the_one_report_rebuilds(tmp_path):
    steps, quick = _tables()
    steps.loc[0, "first_step_s"] = 0.43155  # 0.432 to three digits, but stored as 0.4315
    files = bench.stored_files(steps, quick, MACHINE)
    assert files["table.md"] != bench.render(steps, quick, MACHINE)  # the digits do matter
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    bench.rebuild(tmp_path)
    assert (tmp_path / "table.md").read_text() == files["table.md"]


def test_bad_input_is_refused_before_measuring(tmp_path, capsys):
    assert main(["bench", "--repeats", "0", "--out", str(tmp_path)]) == 2
    assert "--repeats must be at least 1" in capsys.readouterr().err
    (tmp_path / "notes.txt").write_text("mine")
    assert main(["bench", "--out", str(tmp_path)]) == 2
    assert not (tmp_path / "bench").exists()
