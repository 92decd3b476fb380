"""Claims as data: a statement, its source, and a check over an experiment's table."""

import dataclasses
import math
from typing import Callable

import numpy as np
import pandas as pd


@dataclasses.dataclass(frozen=True)
class Claim:
    """One finding an experiment tests.

    Args:
        id: short identifier, unique within the experiment.
        statement: the lesson in plain words.
        source: the course sentence and/or the paper with its number.
        criterion: the threshold, in words.
        check: function of the experiment's table returning `(measured, passed)`;
            `measured` is a number or a small dict of numbers (see `mean_std`).
    """

    id: str
    statement: str
    source: str
    criterion: str
    check: Callable

    def evaluate(self, table):
        """Runs the check and returns the JSON-ready record for `claims.json`."""
        try:
            measured, passed = self.check(table)
        except (KeyError, ValueError, IndexError) as error:
            # A run that left out a condition the claim needs (say, `--set conditions=...`).
            measured, passed = f"not measured: {type(error).__name__}: {error}", False
        return {
            "id": self.id,
            "statement": self.statement,
            "source": self.source,
            "measured": _rounded(measured),
            "criterion": self.criterion,
            "passed": bool(passed),
        }


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
    outcomes = pd.DataFrame({"start": losses.first(), "final": losses.apply(lambda values: values.iloc[-1]),
                             "highest": losses.max(), "classes": runs["classes_predicted"].max()})
    finite = losses.apply(lambda values: bool(np.isfinite(values).all()))
    outcomes["unstable"] = ~finite | (outcomes["highest"] > outcomes["start"]) | (outcomes["classes"] <= 1)
    return outcomes
