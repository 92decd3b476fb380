"""The lesson of emergence at quick size: directions, not exact numbers."""

import json

import numpy as np
import pytest

from experiments import emergence


@pytest.fixture(scope="module")
def quick(quick_run):
    return quick_run("emergence")


def test_wider_networks_add_better_by_every_metric(quick):
    tables, _ = quick
    table = emergence.means(tables)
    smallest, largest = table.iloc[0], table.iloc[-1]
    assert largest["exact_match"] > smallest["exact_match"] + 0.3
    assert largest["per_digit"] > smallest["per_digit"] + 0.2
    assert largest["wrong_digits"] < smallest["wrong_digits"] - 1
    assert smallest["per_digit"] > 0.2  # above chance (0.1) even at the smallest width
    # An exact match needs every place right: never more often than the places are.
    assert (table["exact_match"] <= table["per_digit"] + 1e-9).all()


def test_claims_are_computed_from_the_table(quick):
    tables, folder = quick
    stored = json.loads((folder / "claims.json").read_text())
    assert [claim.evaluate(tables) for claim in emergence.CLAIMS] == stored
    claims = {claim.id: claim for claim in emergence.CLAIMS}
    forged = {name: rows.copy() for name, rows in tables.items()}
    forged["sizes"]["wrong_digits"] = np.tile([1.0, 2.0], len(forged["sizes"]))[
        : len(forged["sizes"])
    ]
    assert claims["continuous_metric_falls"].evaluate(forged)["verdict"] == "FAIL"


def test_bad_settings_are_rejected():
    with pytest.raises(ValueError, match="twice"):
        emergence.Config(widths=(8, 16, 48))
    with pytest.raises(ValueError, match="widths"):
        emergence.Config(widths=(8, 0))
