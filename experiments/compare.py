"""Compares two results folders of one experiment: settings, verdicts, measurements.

Wall-clock times are not compared: they live in `config.json` and `timings.csv`, which
no two runs share.
"""

import numpy as np
import pandas as pd

from experiments import storage
from experiments.storage import ResultsError

MAX_LINES = 8  # differences listed per kind; the rest are counted


def folders(ours, theirs, tolerance=0.0):
    """The differences between the experiment folders `ours` and `theirs`, one line each;
    an empty list when they agree. Numbers agree within `tolerance`, absolute or relative
    (0: exactly)."""
    loaded = []
    for folder in (ours, theirs):
        if not folder.is_dir():
            return [f"no results in {folder}"]
        try:
            loaded.append(storage.load(folder))
        except ResultsError as error:
            return [str(error)]
    (table, record, _), (other_table, other_record, _) = loaded
    try:
        lines = _verdicts(_claims(ours), _claims(theirs))
    except ResultsError as error:
        return [str(error)]
    lines = _settings(record, other_record) + lines
    lines += _all_tables(table, other_table, tolerance)
    backends = [r.get("backend", "tensorflow") for r in (record, other_record)]
    if lines and backends[0] != backends[1]:
        lines.append(f"(the runs used different backends: {backends[0]} vs {backends[1]})")
    return lines


def _claims(folder):
    return {claim["id"]: claim["verdict"] for claim in storage.read_claims(folder)}


def _settings(record, other):
    ours, theirs = record["config"], other["config"]
    return [
        f"setting {key}: {ours.get(key)!r} vs {theirs.get(key)!r}"
        for key in sorted(set(ours) | set(theirs))
        if ours.get(key) != theirs.get(key)
    ]


def _verdicts(ours, theirs):
    return [
        f"claim {key}: {ours.get(key, 'absent')} vs {theirs.get(key, 'absent')}"
        for key in list(dict.fromkeys([*ours, *theirs]))
        if ours.get(key) != theirs.get(key)
    ]


def _all_tables(tables, others, tolerance):
    """The differences between two runs' tables: a DataFrame each, or `{name: DataFrame}`."""
    if isinstance(tables, pd.DataFrame) and isinstance(others, pd.DataFrame):
        return _tables(_untimed(tables), _untimed(others), tolerance)
    tables, others = (storage.check_tables(t) for t in (tables, others))
    if list(tables) != list(others):
        return [f"tables differ: {', '.join(tables)} vs {', '.join(others)}"]
    return [
        f"{name}: {line}"
        for name in tables
        for line in _tables(_untimed(tables[name]), _untimed(others[name]), tolerance)
    ]


def _untimed(table):
    return table[[column for column in table.columns if not storage.is_wall_clock(column)]]


def _tables(ours, theirs, tolerance):
    if list(ours.columns) != list(theirs.columns):
        return [f"metrics columns differ: {', '.join(ours.columns)} vs {', '.join(theirs.columns)}"]
    if len(ours) != len(theirs):
        return [f"metrics rows differ: {len(ours)} vs {len(theirs)}"]
    lines = []
    for column in ours.columns:
        a, b = ours[column].to_numpy(), theirs[column].to_numpy()
        if a.dtype.kind in "fiub" and b.dtype.kind in "fiub":
            a, b = a.astype(float), b.astype(float)
            same = np.isclose(a, b, rtol=tolerance, atol=tolerance, equal_nan=True) | (a == b)
            if not same.all():
                worst = (
                    np.nanmax(np.abs(a - b)[~same])
                    if np.isfinite(a[~same] - b[~same]).any()
                    else np.nan
                )
                lines.append(
                    f"column {column}: {(~same).sum()} of {len(a)} values differ (largest by {worst:.3g})"
                )
        else:
            differ = (a.astype(str) != b.astype(str)).sum()
            if differ:
                lines.append(f"column {column}: {differ} of {len(a)} values differ")
    if len(lines) > MAX_LINES:
        lines = lines[:MAX_LINES] + [f"... and {len(lines) - MAX_LINES} more columns"]
    return lines
