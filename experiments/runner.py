"""The shared runner: command line, configuration, seeds, timing and atomic writes.

    python -m experiments list
    python -m experiments run NAME [NAME ...|all] [--quick] [--seeds N] [--set key=value ...] [--out DIR]
    python -m experiments report [--out DIR]

An experiment's `run(config)` computes a table and touches no file; this module writes
`DIR/NAME/`: `config.json`, `metrics.csv`, then everything `report.render` derives
from the table. Every file is written to a temporary file in the same folder and moved
into place with `os.replace`, and only after the whole run has finished, so an
interrupted run leaves the previous results as they were.
"""

import argparse
import dataclasses
import io
import json
import logging
import os
import platform
import subprocess
import sys
import tempfile
import time
import types
import typing
from pathlib import Path

import pandas as pd

import experiments
from experiments import report

log = logging.getLogger("experiments")

RESULTS_DIR = Path(__file__).resolve().parent.parent / "results"


class UsageError(Exception):
    """Bad input on the command line: reported in one line, exit status 2."""


# --- configuration -----------------------------------------------------------------


def parse_value(text, annotation, key):
    """Parses `--set key=text` into the type of the config field `key`."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        inner = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
        if text.lower() == "none":
            return None
        return parse_value(text, inner[0], key)
    if typing.get_origin(annotation) is tuple:
        item_type = typing.get_args(annotation)[0]
        return tuple(parse_value(item, item_type, key) for item in text.split(",") if item)
    if annotation is bool:
        if text.lower() in ("true", "1", "yes"):
            return True
        if text.lower() in ("false", "0", "no"):
            return False
        raise UsageError(f"{key} must be true or false, got {text!r}")
    try:
        return annotation(text)
    except ValueError:
        raise UsageError(f"{key} must be of type {annotation.__name__}, got {text!r}") from None


def make_config(module, quick=False, seeds=None, settings=()):
    """The experiment's `Config` with the quick overrides, seed count and `--set` pairs."""
    config_class = module.Config
    fields = typing.get_type_hints(config_class)
    overrides = dict(module.QUICK) if quick else {}
    if seeds is not None:
        if seeds < 1:
            raise UsageError(f"--seeds must be at least 1, got {seeds}")
        overrides["seeds"] = tuple(range(seeds))
    for pair in settings:
        key, sep, text = pair.partition("=")
        if not sep:
            raise UsageError(f"--set takes key=value, got {pair!r}")
        if key not in fields:
            raise UsageError(
                f"unknown setting {key!r} for {module_name(module)}; "
                f"settings: {', '.join(fields)}"
            )
        overrides[key] = parse_value(text, fields[key], key)
    try:
        return dataclasses.replace(config_class(), **overrides)
    except (ValueError, TypeError) as error:
        raise UsageError(f"{module_name(module)}: {error}") from None


def module_name(module):
    return module.__name__.rsplit(".", 1)[-1]


# --- running and writing -----------------------------------------------------------


def atomic_write(path, data):
    """Writes bytes or text to `path` through a temporary file in the same folder."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(temporary, 0o644)  # mkstemp makes it private; results are for everyone
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise


def write_files(folder, files):
    for file_name, data in files.items():
        atomic_write(Path(folder) / file_name, data)


def run_experiment(name, config, out_dir=RESULTS_DIR, quick=False):
    """Runs one experiment and writes `out_dir/name/`. Returns the folder."""
    module = experiments.get(name)
    started = time.perf_counter()
    table = module.run(config)
    record = {
        "experiment": name,
        "quick": quick,
        "seeds": list(config.seeds),
        "config": dataclasses.asdict(config),
        "wall_seconds": round(time.perf_counter() - started, 1),
        "versions": _versions(),
        "git_commit": _git_commit(),
        "command": " ".join(["python -m experiments run", name] + (["--quick"] if quick else [])),
    }
    metrics = table.to_csv(index=False)
    # Render from the CSV as stored, so `report` later rebuilds exactly these files.
    stored = pd.read_csv(io.StringIO(metrics))
    files = {
        "config.json": json.dumps(record, indent=2) + "\n",
        "metrics.csv": metrics,
        **report.render(module, stored, record),
    }
    folder = Path(out_dir) / name
    write_files(folder, files)
    write_files(out_dir, {"README.md": report.render_index(Path(out_dir))})
    log.info("%s: wrote %s (%.0f s)", name, folder, record["wall_seconds"])
    return folder


def rebuild_reports(out_dir=RESULTS_DIR):
    """Rebuilds every table, claims file and plot from stored metrics, then the index."""
    out_dir = Path(out_dir)
    for name in experiments.EXPERIMENTS:
        folder = out_dir / name
        if not (folder / "metrics.csv").exists():
            continue
        try:
            table = pd.read_csv(folder / "metrics.csv")
            record = json.loads((folder / "config.json").read_text())
        except (OSError, ValueError) as error:
            raise OSError(f"cannot read the stored results in {folder}: {error}") from error
        write_files(folder, report.render(experiments.get(name), table, record))
    write_files(out_dir, {"README.md": report.render_index(out_dir)})


def _versions():
    import keras
    import numpy
    import tensorflow

    return {
        "python": platform.python_version(),
        "tensorflow": tensorflow.__version__,
        "keras": keras.__version__,
        "numpy": numpy.__version__,
        "pandas": pd.__version__,
    }


def _git_commit():
    try:
        result = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=Path(__file__).parent,
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return result.stdout.strip() or None


# --- command line ------------------------------------------------------------------


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise UsageError(message)


def _parser():
    parser = _Parser(prog="python -m experiments", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    commands.add_parser("list", help="list the experiments")
    run = commands.add_parser("run", help="run experiments and write their results")
    run.add_argument("names", nargs="+", metavar="NAME", help="experiment names, or all")
    run.add_argument("--quick", action="store_true", help="a small run of a few seconds")
    run.add_argument("--seeds", type=int, help="number of seeds (0..N-1)")
    run.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", dest="settings")
    run.add_argument("--out", type=Path, default=RESULTS_DIR, help="results folder")
    rebuild = commands.add_parser("report", help="rebuild tables from stored metrics")
    rebuild.add_argument("--out", type=Path, default=RESULTS_DIR, help="results folder")
    return parser


def main(argv=None):
    """Command-line entry point; returns the exit status."""
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    try:
        args = _parser().parse_args(argv)
        if args.command == "list":
            for name in experiments.EXPERIMENTS:
                print(f"{name:24s} {experiments.get(name).CONCEPT}")
        elif args.command == "report":
            rebuild_reports(args.out)
        else:
            names = list(experiments.EXPERIMENTS) if args.names == ["all"] else args.names
            try:
                modules = [experiments.get(name) for name in names]
            except ValueError as error:
                raise UsageError(str(error)) from None
            # Check every configuration before training anything: a typo fails at once.
            configs = [make_config(m, args.quick, args.seeds, args.settings) for m in modules]
            for name, config in zip(names, configs):
                run_experiment(name, config, args.out, quick=args.quick)
    except UsageError as error:
        print(f"experiments: error: {error}", file=sys.stderr)
        return 2
    except (OSError, RuntimeError) as error:
        print(f"experiments: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("experiments: interrupted; results left as they were", file=sys.stderr)
        return 130
    return 0


def script_main(module_file):
    """Lets `python experiments/NAME.py [options]` act as `python -m experiments run NAME`."""
    sys.exit(main(["run", Path(module_file).stem, *sys.argv[1:]]))
