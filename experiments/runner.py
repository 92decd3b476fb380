"""The shared runner: command line, configuration, seeds, timing and writing results.

    python -m experiments list
    python -m experiments run NAME [NAME ...|all] [--quick] [--seeds N] [--set key=value ...] [--out DIR]
    python -m experiments run NAME --help          # every setting: type, default, quick value, meaning
    python -m experiments show NAME                # the concept, the claims, the committed verdicts
    python -m experiments report [--out DIR]
    python -m experiments check [NAME ...] [--results DIR] [--against DIR] [--tolerance T]
    python -m experiments bench [--out DIR] [--repeats N] [--no-quick-runs]

An experiment's `run(config)` computes a table and touches no file; this module writes
`DIR/NAME/` through `experiments.storage`, all at once and only after the whole run has
finished. Without `--out` a run writes into the scratch folder `runs/`, which git
ignores; the committed `results/` change only with `--out results` (as `make results`
does) or `report`. Exit status: 0 done, 1 a runtime error (an unreadable results
folder, another run writing the same folder), 2 bad input, 130 interrupted.
"""

import argparse
import contextlib
import dataclasses
import json
import logging
import math
import os
import platform
import shlex
import subprocess
import sys
import time
from pathlib import Path

import experiments
from experiments import bench, settings, storage
from experiments.storage import RESULTS_DIR, SCRATCH_DIR, ResultsError, UsageError

log = logging.getLogger("experiments")


# --- configuration -----------------------------------------------------------------


def make_config(module, quick=False, seeds=None, pairs=()):
    """The experiment's `Config` with the quick overrides, seed count and `--set` pairs."""
    fields = settings.fields(module.Config)
    overrides = dict(module.QUICK) if quick else {}
    if seeds is not None:
        overrides["seeds"] = tuple(range(seeds))
    for key, text in pairs:
        if key not in fields:
            raise UsageError(
                f"unknown setting {key!r} for {module_name(module)}; settings: {', '.join(fields)}"
            )
        try:
            overrides[key] = settings.parse(text, fields[key][0], key)
        except ValueError as error:
            raise UsageError(f"{module_name(module)}: {error}") from None
    try:
        return module.Config(**overrides)
    except (ValueError, TypeError) as error:
        raise UsageError(f"{module_name(module)}: {error}") from None


def split_pairs(texts):
    """`["a=1", "b=x"]` -> `[("a", "1"), ("b", "x")]`; a pair without `=` is a usage error."""
    pairs = []
    for text in texts:
        key, sep, value = text.partition("=")
        if not sep or not key:
            raise UsageError(f"--set takes key=value, got {text!r}")
        pairs.append((key, value))
    return pairs


def module_name(module):
    return module.__name__.rsplit(".", 1)[-1]


def resolved_settings(config):
    """Every setting as the run used it: `Config.resolved()`, where an experiment has
    one, replaces "auto" and None by the value the code picked."""
    values = dataclasses.asdict(config)
    if hasattr(config, "resolved"):
        values.update(config.resolved())
    return values


def command_line(name, quick, seeds, pairs, distribute=False):
    """The command that reproduces a run, with the backend when it is not the default."""
    words = ["python", "-m", "experiments", "run", name]
    words += ["--quick"] if quick else []
    words += ["--distribute"] if distribute else []
    words += ["--seeds", str(seeds)] if seeds is not None else []
    for key, value in pairs:
        words += ["--set", f"{key}={value}"]
    backend = os.environ.get("KERAS_BACKEND", "tensorflow")
    prefix = f"KERAS_BACKEND={backend} " if backend != "tensorflow" else ""
    return prefix + " ".join(shlex.quote(word) for word in words)


# --- running and writing -----------------------------------------------------------


def run_experiment(name, module, config, out_dir, command, quick=False):
    """Runs one experiment and writes `out_dir/name/`; returns its claim records and record."""
    import keras

    from experiments import report

    started = time.perf_counter()
    with contextlib.redirect_stdout(sys.stderr):  # what training prints joins the progress lines
        tables = module.run(config)
    wall = round(time.perf_counter() - started, 1)
    data, checksums = storage.data_files(tables)
    record = {
        "experiment": name,
        "command": command,
        "backend": keras.backend.backend(),
        "devices": _devices(),
        "quick": quick,
        "defaults": config == module.Config(),
        "seeds": list(config.seeds),
        "config": resolved_settings(config),
        "wall_seconds": wall,
        "versions": _versions(),
        "git_commit": _git_commit(),
        "files": checksums,
    }
    # Render from the CSV as stored, so `report` later rebuilds exactly these files.
    rendered = report.render(module, storage.stored_tables(data), record)
    files = {"config.json": json.dumps(record, indent=2) + "\n", **data, **rendered}
    storage.replace_folder(Path(out_dir) / name, files)
    write_index(out_dir)
    return json.loads(rendered["claims.json"]), record


def _devices():
    """How many devices the run's training was spread across (`--distribute`), or 1."""
    import keras

    distribution = keras.distribution.distribution()
    return 1 if distribution is None else int(distribution.device_mesh.devices.size)


def distribute():
    """Makes all training from here on data-parallel across every visible device:
    Keras's `DataParallel` over a one-axis mesh (the JAX backend only, in Keras 3.15).
    Every batch must split evenly across the devices."""
    import keras

    if keras.backend.backend() != "jax":
        raise UsageError(
            "--distribute needs the JAX backend (KERAS_BACKEND=jax): Keras's distribution "
            f"API is JAX-only; this run's backend is {keras.backend.backend()}"
        )
    devices = keras.distribution.list_devices()
    keras.distribution.set_distribution(keras.distribution.DataParallel(devices=devices))
    log.info("training data-parallel across %d devices: %s", len(devices), ", ".join(devices))


def write_index(out_dir):
    from experiments import report

    runs = []
    for name in storage.experiment_folders(out_dir):
        folder = Path(out_dir) / name
        runs.append(
            (
                name,
                experiments.describe(name),
                storage.read_record(folder)[0],
                storage.read_claims(folder),
            )
        )
    storage.atomic_write(Path(out_dir) / "README.md", report.render_index(runs))


def rebuild_reports(out_dir=RESULTS_DIR):
    """Rebuilds every table, claims file and plot from stored metrics, then the index.

    Every experiment folder is read and checked first, and everything rendered in memory:
    one bad folder stops the report before it writes anything.
    """
    from experiments import report

    with storage.Lock(out_dir):
        rebuilt = {}
        for name in storage.experiment_folders(out_dir):
            table, record, files = storage.load(Path(out_dir) / name)
            rebuilt[name] = {**files, **report.render(experiments.get(name), table, record)}
        for name, files in rebuilt.items():
            storage.replace_folder(Path(out_dir) / name, files)
        if (Path(out_dir) / "bench" / "bench.csv").is_file():
            bench.rebuild(Path(out_dir) / "bench")
        write_index(out_dir)


def _versions():
    import keras
    import numpy
    import pandas

    backend = keras.backend.backend()
    backend_module = __import__(backend)
    return {
        "python": platform.python_version(),
        "keras": keras.__version__,
        backend: backend_module.__version__,
        "numpy": numpy.__version__,
        "pandas": pandas.__version__,
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


def print_verdicts(name, claims, folder):
    """The end of a run: one line per claim, and where the files are."""
    from experiments import report

    print(f"{name}: {report.tally_kinds(claims)}")
    findings, checks = report.by_kind(claims)
    for claim in findings + checks:
        statement = claim["statement"]
        statement = statement if len(statement) <= 90 else statement[:89] + "…"
        label = report.verdict_label(claim["verdict"]) + (" check" if claim in checks else "")
        print(f"  {label:<12} {claim['id']}: {statement}")
        print(f"  {'':<12} measured {claim['headline']}")
    print(f"  wrote {_shown(folder)}/")


def _shown(path):
    path = Path(path).resolve()
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


# --- the commands ----------------------------------------------------------------------


def check_names(names):
    """Raises `UsageError` naming the first of `names` that is not an experiment."""
    for name in names:
        try:
            experiments.check_name(name)
        except ValueError as error:
            raise UsageError(str(error)) from None


def command_run(args):
    names = list(experiments.EXPERIMENTS) if args.names == ["all"] else args.names
    if not names:
        raise UsageError("run needs at least one experiment name, or all")
    check_names(names)
    if args.seeds is not None and args.seeds < 1:
        raise UsageError(f"--seeds must be at least 1, got {args.seeds}")
    if args.seeds is not None and args.seeds > 1000:
        raise UsageError(f"--seeds must be at most 1000, got {args.seeds}")
    if args.help:
        return show_settings(names)
    out = SCRATCH_DIR if args.out is None else args.out
    storage.check_writable(out)
    out = Path(out)
    pairs = split_pairs(args.settings)
    modules = [experiments.get(name) for name in names]
    known = set().union(*(settings.fields(module.Config) for module in modules))
    unknown = [key for key, _ in pairs if key not in known]
    if unknown:
        which = names[0] if len(names) == 1 else "any of " + ", ".join(names)
        raise UsageError(
            f"unknown setting {unknown[0]!r} for {which}; settings: {', '.join(sorted(known))}"
        )
    # Each key applies to the experiments that have it. Every configuration is checked
    # before anything trains: a typo fails at once.
    own = [
        [(key, value) for key, value in pairs if key in settings.fields(m.Config)] for m in modules
    ]
    configs = [make_config(m, args.quick, args.seeds, pairs_) for m, pairs_ in zip(modules, own)]
    if out.is_dir():
        # The index reads every folder: a damaged one fails now, not after training.
        storage.check_all(out)
    if args.distribute:
        distribute()
    with storage.Lock(out):
        for name, module, config, pairs_ in zip(names, modules, configs, own):
            command = command_line(name, args.quick, args.seeds, pairs_, args.distribute)
            claims, record = run_experiment(name, module, config, out, command, quick=args.quick)
            print_verdicts(name, claims, Path(out) / name)
            log.info("%s: %.0f s", name, record["wall_seconds"])
    return 0


def show_settings(names):
    for name in names:
        module = experiments.get(name)
        print(
            f"{name}: settings (--set key=value; tuples comma-separated, none for an unset optional)"
        )
        default = module.Config()
        for key, (annotation, _, meaning) in settings.fields(module.Config).items():
            value = settings.show(getattr(default, key))
            quick = f", quick {settings.show(module.QUICK[key])}" if key in module.QUICK else ""
            print(f"  {key} ({settings.type_name(annotation)}; default {value}{quick})")
            print(f"      {meaning}")
    return 0


def command_show(args):
    check_names([args.name])
    folder = storage.check_readable(args.results, "--results") / args.name
    committed = {}
    if folder.exists():  # a damaged folder is an error, not a silent "no results"
        storage.load(folder)
        committed = {claim["id"]: claim for claim in storage.read_claims(folder)}
    module = experiments.get(args.name)
    print(f"{module.TITLE} ({args.name})\n\n{module.CONCEPT}\n")
    where = f"in {_shown(folder)}" if committed else f"none in {_shown(args.results)}"
    print(f"Claims (verdicts {where}):")
    for claim in module.CLAIMS:
        stored = committed.get(claim.id)
        verdict = stored["verdict"] if stored else "no result"
        print(f"- [{verdict}] {claim.id}: {claim.statement}")
        print(f"    criterion: {claim.criterion}")
        if stored:
            print(f"    measured: {stored['headline']}")
    return 0


def command_check(args):
    from experiments import compare

    for option, folder in (("--results", args.results), ("--against", args.against)):
        storage.check_readable(folder, option)
    names = args.names or storage.experiment_folders(args.results)
    check_names(names)
    if not math.isfinite(args.tolerance) or args.tolerance < 0:
        raise UsageError(f"--tolerance must be a finite number, not negative, got {args.tolerance}")
    if not names:
        raise UsageError(f"{args.results} holds no experiment's results")
    different = 0
    for name in names:
        lines = compare.folders(
            Path(args.results) / name, Path(args.against) / name, args.tolerance
        )
        different += bool(lines)
        print(
            f"{name}: {'DIFFERENT' if lines else 'same'} ({_shown(args.results)} vs {_shown(args.against)})"
        )
        for line in lines:
            print(f"  {line}")
    print(f"{len(names) - different} of {len(names)} experiments agree")
    return 1 if different else 0


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise UsageError(message)


def _parser():
    parser = _Parser(prog="python -m experiments", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    commands.add_parser("list", help="list the experiments")
    run = commands.add_parser("run", add_help=False, help="run experiments and write their results")
    run.add_argument("names", nargs="*", metavar="NAME", help="experiment names, or all")
    run.add_argument(
        "-h",
        "--help",
        action="store_true",
        help="with NAME: list its settings; without: this message",
    )
    run.add_argument("--quick", action="store_true", help="a small run of a few seconds")
    run.add_argument("--seeds", type=int, help="number of seeds (0..N-1)")
    run.add_argument(
        "--distribute",
        action="store_true",
        help="train data-parallel across every visible device (JAX; see README)",
    )
    run.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        dest="settings",
        help="change one setting (see run NAME --help); repeatable",
    )
    run.add_argument(
        "--out",
        help=f"results folder (default: {_shown(SCRATCH_DIR)}/; "
        f"the committed results: --out {_shown(RESULTS_DIR)})",
    )
    show = commands.add_parser("show", help="the concept, the claims and the committed verdicts")
    show.add_argument("name", metavar="NAME")
    show.add_argument("--results", default=RESULTS_DIR, help="results folder to read")
    rebuild = commands.add_parser("report", help="rebuild tables and the index from stored metrics")
    rebuild.add_argument("--out", default=RESULTS_DIR, help="results folder")
    check = commands.add_parser("check", help="compare a rerun's results with the committed ones")
    check.add_argument(
        "names", nargs="*", metavar="NAME", help="experiments (default: all in --results)"
    )
    check.add_argument("--results", default=SCRATCH_DIR, help="the rerun's folder")
    check.add_argument("--against", default=RESULTS_DIR, help="the folder to compare with")
    check.add_argument(
        "--tolerance",
        type=float,
        default=0.0,
        help="largest difference allowed between numbers (absolute and relative)",
    )
    bench = commands.add_parser(
        "bench", help="time training per backend; writes DIR/bench/ (see experiments/bench.py)"
    )
    bench.add_argument("--out", default=RESULTS_DIR, help="results folder")
    bench.add_argument("--repeats", type=int, default=5, help="repeats per measurement")
    bench.add_argument(
        "--no-quick-runs", action="store_true", help="skip timing the experiments' quick runs"
    )
    parser.run_parser = run
    return parser


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever `sys.stderr` is at the time (tests and redirects replace it)."""

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, value):
        pass


def _log_to_stderr():
    """The experiments' own progress lines on stderr, as plain messages. Only this logger:
    the root logger stays at WARNING, so the INFO notices of the libraries underneath
    (JAX's "Unable to initialize backend 'tpu'", absl's) stay off the terminal."""
    if not log.handlers:
        handler = _StderrHandler()
        handler.setFormatter(logging.Formatter("%(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)
        log.propagate = False


def main(argv=None):
    """Command-line entry point; returns the exit status."""
    _log_to_stderr()
    try:
        parser = _parser()
        args = parser.parse_args(argv)
        if args.command == "list":
            for name in experiments.EXPERIMENTS:
                print(f"{name:26s} {experiments.describe(name)['CONCEPT']}")
            return 0
        if args.command == "run" and args.help and not args.names:
            parser.run_parser.print_help()
            return 0
        if args.command == "report":
            rebuild_reports(storage.check_readable(args.out))
            print(f"rebuilt the reports in {_shown(args.out)}/")
            return 0
        commands = dict(
            run=command_run, show=command_show, check=command_check, bench=bench.command_bench
        )
        return commands[args.command](args)
    except SystemExit as exit:  # --help
        return exit.code or 0
    except UsageError as error:
        print(f"experiments: error: {error}", file=sys.stderr)
        return 2
    except (ResultsError, OSError, RuntimeError) as error:
        print(f"experiments: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("experiments: interrupted; results left as they were", file=sys.stderr)
        return 130


def script_main(module_file):
    """Lets `python experiments/NAME.py [options]` act as `python -m experiments run NAME`."""
    sys.exit(main(["run", Path(module_file).stem, *sys.argv[1:]]))
