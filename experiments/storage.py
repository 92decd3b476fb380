"""Results folders: which folders the runner may write, how it writes them, how it reads them back.

A results folder (`results/`, the scratch folder `runs/`, or any `--out DIR`) holds one
folder per experiment and the index `README.md`, and is marked by a small manifest file,
`.zoo-results`, so that the runner never writes over files it did not write: a folder without
it is taken only while it is empty.

Writes are all or nothing, per experiment: the whole experiment folder is written into a
temporary sibling and swapped into place with one rename (on Linux, `renameat2` with
`RENAME_EXCHANGE` swaps the two folders atomically; elsewhere the old folder is moved
aside first and put back by the next run if the process dies in between). Whenever the
process is killed, the experiment folder is either the previous one or the new one,
complete; a stale temporary folder is removed by the next run into that results folder.
One run at a time writes a results folder: it holds an exclusive lock on `.lock`, which
the operating system releases however the process ends.
"""

import contextlib
import csv
import ctypes
import errno
import fcntl
import hashlib
import io
import json
import os
import re
import shutil
import tempfile
from pathlib import Path

import experiments

ROOT = experiments.FOLDER.parent
RESULTS_DIR = ROOT / "results"
SCRATCH_DIR = ROOT / "runs"
MANIFEST = ".zoo-results"
LOCK = ".lock"
_TEMPORARY = re.compile(r"^\.(?P<name>\w+)\.(new|old)-\d+$")  # replace_folder's
_TEMPORARY_FILE = re.compile(r"^\..+\.tmp$")  # atomic_write's
_MANIFEST_TEXT = json.dumps({"written_by": "python -m experiments", "format": 1}) + "\n"

# Wall-clock columns: named `seconds` or ending in `_seconds`. They are stored apart, in
# `timings.csv`, so that a deterministic rerun leaves every other file byte-identical.
_WALL_CLOCK = re.compile(r"^(seconds|.*_seconds)$")


class ResultsError(Exception):
    """A results folder that cannot be used or read: one line, exit status 1."""


class UsageError(Exception):
    """Bad input on the command line: one line, exit status 2."""


# --- which folders are ours ----------------------------------------------------------


def is_results_folder(folder):
    return (Path(folder) / MANIFEST).is_file()


def check_writable(folder):
    """Raises `UsageError` unless the runner may write results into `folder`.

    It may if the folder is a results folder (it holds `MANIFEST`), is empty, or does not
    exist yet and would be created inside an existing folder. It may never if it is the
    project's own folder or one above it, whatever it holds.
    """
    if str(folder).strip() == "":
        raise UsageError("--out must name a folder, got ''")
    folder = Path(folder)
    resolved = folder.resolve()
    if resolved == ROOT or resolved in ROOT.parents:
        raise UsageError(
            f"--out {folder} is the project's folder or one above it; name a results folder"
        )
    if not resolved.exists():
        if not resolved.parent.is_dir():
            raise UsageError(f"--out {folder}: its parent folder {resolved.parent} does not exist")
        return
    if not resolved.is_dir():
        raise UsageError(f"--out {folder} is a file, not a folder")
    if not is_results_folder(resolved) and any(resolved.iterdir()):
        raise UsageError(
            f"--out {folder} holds files the runner did not write (no {MANIFEST}); "
            "name an empty or new folder, or a results folder"
        )


def check_readable(folder, option="--out"):
    """`folder` as a `Path`; raises `UsageError` unless it is a results folder."""
    if str(folder).strip() == "":
        raise UsageError(f"{option} must name a folder, got ''")
    folder = Path(folder)
    if not folder.is_dir():
        raise UsageError(f"{option} {folder}: no such folder")
    if not is_results_folder(folder):
        raise UsageError(f"{option} {folder} is not a results folder (it has no {MANIFEST})")
    return folder


class Lock:
    """The exclusive right to write the results folder `folder`, for a `with` block.

    Creates the folder and its manifest if needed (after `check_writable`), takes the lock
    or raises `ResultsError` naming the process that holds it, then tidies what a killed
    run left behind.
    """

    def __init__(self, folder):
        self.folder = Path(folder)
        self.path = self.folder / LOCK
        self.fd = None

    def __enter__(self):
        self.folder.mkdir(exist_ok=True)
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.read(fd, 32).decode(errors="replace").strip() or "unknown"
                os.close(fd)
                raise ResultsError(
                    f"another run (pid {holder}) is writing {self.folder}; "
                    "wait for it to finish or choose another --out"
                ) from None
            # The file may have been removed by the holder that just let go: lock the one
            # that is there now.
            try:
                same = os.stat(self.path).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(fd)
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self.fd = fd
        _tidy(self.folder)
        if not is_results_folder(self.folder):
            atomic_write(self.folder / MANIFEST, _MANIFEST_TEXT)
        return self

    def __exit__(self, *exc):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)
        os.close(self.fd)
        self.fd = None


def _tidy(folder):
    """Removes the temporary files and folders of a run that was killed, restoring a folder
    it had moved aside and not yet replaced."""
    for path in sorted(folder.iterdir()):
        if _TEMPORARY_FILE.match(path.name) and path.is_file():
            path.unlink()
            continue
        match = _TEMPORARY.match(path.name)
        if not match or not path.is_dir():
            continue
        target = folder / match["name"]
        if path.name.startswith(f".{match['name']}.old-") and not target.exists():
            os.rename(path, target)
        else:
            shutil.rmtree(path)


# --- writing ---------------------------------------------------------------------------


def atomic_write(path, data):
    """Writes bytes or text to `path` through a temporary file in the same folder."""
    path = Path(path)
    if isinstance(data, str):
        data = data.encode()
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(temporary, 0o644)  # mkstemp makes it private; results are for everyone
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):  # not when os.replace moved it before the interrupt
            os.unlink(temporary)
        raise


def replace_folder(folder, files):
    """Makes `folder` hold exactly `files` (`{name: bytes}`), all at once."""
    folder = Path(folder)
    new = folder.parent / f".{folder.name}.new-{os.getpid()}"
    old = folder.parent / f".{folder.name}.old-{os.getpid()}"
    try:
        if new.exists():
            shutil.rmtree(new)
        new.mkdir(mode=0o755)
        for name, data in files.items():
            (new / name).write_bytes(data.encode() if isinstance(data, str) else data)
        if not folder.exists():
            os.rename(new, folder)
        elif _exchange(new, folder):
            shutil.rmtree(new)  # now the previous folder
        else:
            os.rename(folder, old)
            os.rename(new, folder)
            shutil.rmtree(old)
    except BaseException:  # an interrupt (SIGINT) or an error: leave no temporary folder behind
        if old.exists() and not folder.exists():
            os.rename(old, folder)
        shutil.rmtree(new, ignore_errors=True)
        shutil.rmtree(old, ignore_errors=True)
        raise


def _exchange(a, b):
    """Swaps two folders in one step with Linux's renameat2(RENAME_EXCHANGE); False where
    the system or the file system cannot."""
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (AttributeError, OSError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    if ctypes.get_errno() in (errno.EINVAL, errno.ENOSYS, errno.EPERM):
        return False
    raise OSError(
        ctypes.get_errno(), f"cannot swap {a} into {b}: {os.strerror(ctypes.get_errno())}"
    )


# --- the stored table --------------------------------------------------------------------


_TABLE_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_DATA_FILE = re.compile(r"^[a-z][a-z0-9_]*(\.timings)?\.csv$")


def is_wall_clock(column):
    return bool(_WALL_CLOCK.match(str(column)))


def split_timings(csv_text):
    """Splits a table's CSV text into `(metrics, timings)`: the wall-clock columns go to
    `timings` (None if there are none), every other column, as written, to `metrics`."""
    rows = list(csv.reader(io.StringIO(csv_text)))
    header = rows[0]
    timed = [i for i, column in enumerate(header) if is_wall_clock(column)]
    if not timed:
        return csv_text, None
    kept = [i for i in range(len(header)) if i not in timed]
    return _write_csv(rows, kept), _write_csv(rows, timed)


def _write_csv(rows, columns):
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for row in rows:
        writer.writerow([row[i] for i in columns])
    return out.getvalue()


def digest(data):
    return hashlib.sha256(data.encode() if isinstance(data, str) else data).hexdigest()


def table_files(name):
    """The stored files of the table called `name`: its measurements and its wall-clock
    columns. A run's only table is called `metrics`: `metrics.csv` and `timings.csv`."""
    if name == "metrics":
        return "metrics.csv", "timings.csv"
    return f"{name}.csv", f"{name}.timings.csv"


def check_tables(tables):
    """`run()`'s result as `{name: DataFrame}`; a single DataFrame is the table `metrics`."""
    import pandas as pd

    named = {"metrics": tables} if isinstance(tables, pd.DataFrame) else tables
    if not isinstance(named, dict) or not named:
        raise TypeError(f"run() must return a DataFrame or a dict of them, not {type(tables)}")
    for name, table in named.items():
        if not (isinstance(name, str) and _TABLE_NAME.match(name)) or name == "timings":
            raise ValueError(f"table name {name!r}: use lower-case letters, digits and _")
        if not isinstance(table, pd.DataFrame):
            raise TypeError(f"table {name!r} is a {type(table).__name__}, not a DataFrame")
    return named


def data_files(tables):
    """The stored form of a run's tables (a DataFrame, or `{name: DataFrame}`): `({file
    name: text}, checksums)`, every table's measurements in `NAME.csv` and its wall-clock
    columns, if any, in `NAME.timings.csv` (`metrics.csv` and `timings.csv` for a single
    table); `checksums` goes into `config.json` as its `files` entry, so that a later reader
    can tell a damaged file."""
    data = {}
    for name, table in check_tables(tables).items():
        measured, timed = table_files(name)
        data[measured], timings = split_timings(table.to_csv(index=False))
        if timings:
            data[timed] = timings
    return data, {
        name: {"sha256": digest(text), "rows": text.count("\n") - 1} for name, text in data.items()
    }


def stored_tables(data):
    """The tables from their stored CSV texts (`{file name: text}`), each table's timings
    joined back beside it, every float read back exactly as written: one DataFrame if the
    run had a single table, else `{name: DataFrame}` in the order they were stored."""
    import pandas as pd

    def read(text):
        return pd.read_csv(io.StringIO(text), float_precision="round_trip")

    tables = {}
    for file_name in data:
        name = _table_name(file_name)
        if name is None:
            continue
        measured, timed = table_files(name)
        parts = [read(data[measured])] + ([read(data[timed])] if timed in data else [])
        tables[name] = pd.concat(parts, axis=1)
    return tables["metrics"] if list(tables) == ["metrics"] else tables


def _measured_file(timings_file):
    """The measurements file beside the wall-clock file `timings_file`."""
    return (
        "metrics.csv"
        if timings_file == "timings.csv"
        else timings_file[: -len(".timings.csv")] + ".csv"
    )


def _table_name(file_name):
    """The table whose measurements `file_name` holds; None for a timings file."""
    if file_name == "timings.csv" or file_name.endswith(".timings.csv"):
        return None
    return file_name.removesuffix(".csv")


def _failure(folder):
    def fail(problem):
        raise ResultsError(f"cannot read the stored results in {folder}: {problem}")

    return fail


def _read(folder, file_name, fail):
    try:
        return (Path(folder) / file_name).read_bytes()
    except OSError as error:
        fail(f"{file_name}: {error.strerror or error}")


def read_record(folder):
    """`config.json` of the experiment folder `folder`, checked: `(record, its bytes)`."""
    fail = _failure(folder)
    data = _read(folder, "config.json", fail)
    try:
        record = json.loads(data)
    except (ValueError, UnicodeDecodeError) as error:
        fail(f"config.json is not valid JSON ({error})")
    if not isinstance(record, dict):
        fail("config.json does not hold a run's record")
    missing = [
        key
        for key in ("experiment", "seeds", "config", "wall_seconds", "files")
        if key not in record
    ]
    if missing:
        fail(f"config.json lacks {', '.join(missing)}")
    if record["experiment"] != Path(folder).name:
        fail(f"config.json records experiment {record['experiment']!r}, not {Path(folder).name!r}")
    files = record["files"]
    well_formed = (
        isinstance(record["seeds"], list)
        and record["seeds"]
        and isinstance(record["config"], dict)
        and isinstance(record["wall_seconds"], (int, float))
        and isinstance(files, dict)
        and files
        and all(_DATA_FILE.match(name) for name in files)
        and all(_measured_file(name) in files for name in files if _table_name(name) is None)
        and all(
            isinstance(entry, dict) and isinstance(entry.get("sha256"), str)
            for entry in files.values()
        )
    )
    if not well_formed:
        fail("config.json's seeds, config, wall_seconds or files are malformed")
    return record, data


def read_claims(folder):
    """`claims.json` of the experiment folder `folder`, checked: a list of claim records."""
    fail = _failure(folder)
    try:
        claims = json.loads(_read(folder, "claims.json", fail))
    except (ValueError, UnicodeDecodeError) as error:
        fail(f"claims.json is not valid JSON ({error})")
    keys = {"id", "statement", "verdict", "headline", "measured", "criterion"}
    if not isinstance(claims, list) or not all(
        isinstance(c, dict) and keys <= set(c) for c in claims
    ):
        fail("claims.json does not hold a list of claims")
    return claims


def load(folder):
    """Reads and checks the stored results in `folder`; returns `(table, record, files)`:
    the measurements (timings joined back), `config.json`'s record, and the stored data
    files as bytes (`config.json`, `metrics.csv`, and `timings.csv` if any).

    Raises `ResultsError` naming the file when the folder is incomplete, a file is not
    what the runner wrote (corrupt, truncated, header only, edited: its checksum, kept in
    `config.json`, differs), or the record does not describe this experiment.
    """
    fail = _failure(folder)
    record, files = read_record(folder)
    files = {"config.json": files}
    texts = {}
    for file_name, expected in record["files"].items():
        files[file_name] = _read(folder, file_name, fail)
        if digest(files[file_name]) != expected["sha256"]:
            fail(
                f"{file_name} is not the file this run wrote (its checksum differs: truncated or edited)"
            )
        texts[file_name] = files[file_name].decode()
        if texts[file_name].count("\n") < 2:
            fail(f"{file_name} has no rows")
    for timed in [file_name for file_name in texts if _table_name(file_name) is None]:
        measured = _measured_file(timed)
        if texts[timed].count("\n") != texts[measured].count("\n"):
            fail(f"{measured} and {timed} have different numbers of rows")
    return stored_tables(texts), record, files


def experiment_folders(folder):
    """The registered experiments that have a folder in the results folder `folder`."""
    return [name for name in experiments.EXPERIMENTS if (Path(folder) / name).is_dir()]


def check_all(folder):
    """Reads every experiment folder in the results folder `folder` as the index will:
    `ResultsError` now, before a run trains, rather than after."""
    for name in experiment_folders(folder):
        read_record(Path(folder) / name)
        read_claims(Path(folder) / name)
