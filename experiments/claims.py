"""Claims as data: a statement, its source, and a check over an experiment's table; and the
helpers that summarize a table over seeds ("mean ± std") for the claims and the report."""

import dataclasses
import math
from typing import Callable

import numpy as np
import pandas as pd


@dataclasses.dataclass(frozen=True)
class Claim:
    """One finding an experiment tests, or one check that its machinery is right.

    A finding can fail: it is the paper's or the course's statement, measured on a run
    whose outcome was not known in advance. A check is an identity that holds by
    construction when the code is right (a forward pass by hand equals Keras's, autodiff
    equals finite differences): worth verifying on every run, but not evidence for the
    lesson, so the report shows checks apart from findings.

    Principles for a finding:
    - It can fail.
    - It does not depend on which seeds ran: a share of seeds or a mean with its spread,
      not "every seed", so that any `--seeds N` gives a sensible verdict.
    - It is stated relative to the run's own course (say, "by the epoch at which the clean
      examples are 90% fit"), not a fixed epoch or a count that only fits one dataset.
    - Model selection never touches the test set; a comparison with the best test result
      over epochs is an oracle, and is called one.

    Args:
        id: short identifier, unique within the experiment.
        statement: the lesson in plain words.
        source: the course sentence and/or the paper with its number.
        criterion: the threshold, in words.
        check: function of the experiment's table returning `(measured, passed)`;
            `measured` is a number or a small dict of numbers (see `mean_std`).
        headline: the keys of `measured` that sum it up in the index and at the end of a
            run (default: its first entry).
        kind: "finding" (the default) or "check".
    """

    id: str
    statement: str
    source: str
    criterion: str
    check: Callable
    headline: tuple = ()
    kind: str = "finding"

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"claim {self.id!r}: kind must be one of {KINDS}, got {self.kind!r}")

    def evaluate(self, table, defaults=False):
        """Runs the check and returns the JSON-ready record for `claims.json`.

        The verdict is "pass", "FAIL", or "not measured" when the run left out what the
        claim needs: the check raises `NotMeasured` or returns `None` for `passed`. For a
        table from a run at other than the default settings (`--quick`, `--set`,
        `--seeds`), a `KeyError`, `ValueError` or `IndexError` from the check counts as
        not measured too, since a condition the claim compares may have been left out.
        The report passes `defaults=True` for a run at the defaults, where every claim
        must be measurable: there such an error is a bug, and it stops the report.
        """
        expected = (NotMeasured,) if defaults else (NotMeasured, KeyError, ValueError, IndexError)
        try:
            measured, passed = self.check(table)
        except expected as error:
            reason = (
                str(error) if isinstance(error, NotMeasured) else f"{type(error).__name__}: {error}"
            )
            measured, passed = f"not measured: {reason}", None
        return {
            "id": self.id,
            "kind": self.kind,
            "statement": self.statement,
            "source": self.source,
            "measured": _rounded(measured),
            "criterion": self.criterion,
            "verdict": NOT_MEASURED if passed is None else PASS if passed else FAIL,
            "headline": headline(_rounded(measured), self.headline),
        }


PASS, FAIL, NOT_MEASURED = "pass", "FAIL", "not measured"
KINDS = ("finding", "check")


class NotMeasured(Exception):
    """Raised by a claim's check when the run did not measure what the claim needs."""


def measured_rows(rows, what):
    """`rows` of a table, or `NotMeasured` when there are none (or no table, None): the run
    left out `what`."""
    if rows is None or len(rows) == 0:
        raise NotMeasured(f"the run has no {what}")
    return rows


def mean_std(values):
    """`{"mean", "std", "n"}` of per-seed values (sample std; NaNs count as missing)."""
    values = np.asarray(values, dtype=float)
    values = values[~np.isnan(values)]
    n = len(values)
    return {
        "mean": float(values.mean()) if n else math.nan,
        "std": float(values.std(ddof=1)) if n > 1 else math.nan,
        "n": n,
    }


def _rounded(value):
    if isinstance(value, dict):
        return {key: _rounded(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_rounded(item) for item in value]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return None if math.isnan(value) else float(f"{value:.4g}")  # four significant digits
    return value


def run_outcomes(runs, loss="train_loss"):
    """How each training run went, from its measurements in time order.

    Args:
        runs: a pandas `GroupBy` of a tidy table, one group per run, with `loss` measured
            from the start (the first row) and `classes_predicted` on the last row.

    Returns:
        A `DataFrame`, one row per run: `start` and `final` loss, and `unstable`: the loss
        became NaN or rose above where it started, or the run ended collapsed, predicting
        one class for every input. A collapse is the mark of a blow-up that killed the
        ReLUs; its loss then sits near that of guessing, which can be below the start.
    """
    losses = runs[loss]
    outcomes = pd.DataFrame(
        {
            "start": losses.first(),
            "final": losses.apply(lambda values: values.iloc[-1]),
            "highest": losses.max(),
            "classes": runs["classes_predicted"].max(),
        }
    )
    finite = losses.apply(lambda values: bool(np.isfinite(values).all()))
    outcomes["unstable"] = (
        ~finite | (outcomes["highest"] > outcomes["start"]) | (outcomes["classes"] <= 1)
    )
    return outcomes


# --- summaries over seeds ------------------------------------------------------------


def mean_std_table(table, by, metrics):
    """Groups `table` by the columns `by` and shows each metric as "mean ± std" over seeds.

    `metrics` maps a display name to a column of `table`. Groups keep the order in
    which they first appear.
    """
    grouped = table.groupby(list(by), sort=False)
    out = grouped.size().rename("seeds").reset_index()
    for label, column in metrics.items():
        stats = grouped[column].agg(["mean", "std"]).reset_index(drop=True)
        out[label] = [format_mean_std(m, s) for m, s in zip(stats["mean"], stats["std"])]
    return out


def format_mean_std(mean, std):
    """The mean to three significant digits, the std to the same decimals: "0.953 ± 0.012";
    below 0.001, in scientific notation: "3.56e-16 ± 4.4e-17"."""
    if pd.isna(mean):
        return "n/a"
    if mean != 0 and abs(mean) < 1e-3:
        return f"{mean:.2e}" if pd.isna(std) else f"{mean:.2e} ± {std:.1e}"
    decimals = 3 if mean == 0 else max(0, 2 - int(np.floor(np.log10(abs(mean)))))
    if pd.isna(std):
        return f"{mean:.{decimals}f}"
    return f"{mean:.{decimals}f} ± {std:.{decimals}f}"


def format_measured(measured):
    """One line for a claim's measured value: numbers, "mean ± std", or a small dict."""
    if isinstance(measured, dict):
        if "mean" in measured:
            return format_mean_std(_nan(measured["mean"]), _nan(measured.get("std")))
        return "; ".join(f"{key}: {format_measured(value)}" for key, value in measured.items())
    if isinstance(measured, list):
        return "[" + ", ".join(format_measured(value) for value in measured) + "]"
    if isinstance(measured, bool):
        return str(measured).lower()
    if isinstance(measured, (int, float)):
        return f"{measured:.4g}"
    return "n/a" if measured is None else str(measured)


def _nan(value):
    return np.nan if value is None else value


def headline(measured, keys=(), width=120):
    """A claim's measured value in one short line, for the index and the summary printed
    at the end of a run: the entries `keys` of a dict (those it has), or its first entry."""
    if isinstance(measured, dict) and "mean" not in measured and measured:
        keys = [key for key in keys if key in measured] or [next(iter(measured))]
        text = "; ".join(f"{key}: {format_measured(measured[key])}" for key in keys)
    else:
        text = format_measured(measured)
    return text if len(text) <= width else text[: width - 1] + "…"


def by_record(rows):
    """Row dicts with a `record` key (what kind of measurement each is) as one table per
    kind, `{record: DataFrame}` in order of first appearance: each table has only the
    columns its own rows have, not every kind's."""
    kinds = {}
    for row in rows:
        fields = dict(row)
        kinds.setdefault(fields.pop("record"), []).append(fields)
    return {kind: pd.DataFrame(members) for kind, members in kinds.items()}
