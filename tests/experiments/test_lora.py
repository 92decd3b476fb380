"""The lesson of lora at quick size: directions, not exact numbers."""

import json

import pytest

from experiments import lora


@pytest.fixture(scope="module")
def quick(quick_run):
    return quick_run("lora")


def test_the_base_knows_addition_and_not_subtraction(quick):
    tables, _ = quick
    base = tables["base"]
    assert base["addition"].mean() > 0.9 and base["subtraction"].mean() < 0.1


def test_lora_learns_the_new_task_and_the_output_layer_alone_cannot(quick):
    tables, _ = quick
    test = lora.by_variant(tables, "subtraction")
    assert test[lora.FULL] > test[lora.HEAD] + 0.3
    assert test["LoRA attention r=8"] > test[lora.HEAD] + 0.1
    # Full fine-tuning forgets addition; the LoRA runs were checked to give the base back.
    assert lora.by_variant(tables, "addition_merged")[lora.FULL] < 0.5


def test_the_checks_hold_on_every_run(quick):
    tables, _ = quick
    adapted = tables["adapt"][tables["adapt"]["rank"] > 0]
    assert (adapted["trainable"] == adapted["expected_trainable"]).all()
    for check in ("frozen_untouched", "starts_as_base", "adapter_reloads", "removal_restores"):
        assert adapted[check].all(), check
    assert (adapted["adapter_file_bytes"] * 5 < adapted["model_file_bytes"]).all()


def test_claims_are_computed_from_the_table(quick):
    tables, folder = quick
    stored = json.loads((folder / "claims.json").read_text())
    assert [claim.evaluate(tables) for claim in lora.CLAIMS] == stored
    forged = {name: rows.copy() for name, rows in tables.items()}
    forged["adapt"].loc[forged["adapt"]["rank"] > 0, "removal_restores"] = False
    claims = {claim.id: claim for claim in lora.CLAIMS}
    assert claims["one_base_many_tasks"].evaluate(forged)["verdict"] == "FAIL"
    forged["adapt"]["trainable"] += 1
    assert claims["parameter_counts"].evaluate(forged)["verdict"] == "FAIL"


def test_bad_settings_are_rejected():
    with pytest.raises(ValueError, match="ranks"):
        lora.Config(ranks=(0, 4))
    with pytest.raises(ValueError, match="multiple"):
        lora.Config(max_steps=120, eval_every=50)
    with pytest.raises(ValueError, match="base_seed"):
        lora.Config(base_seed=-1)
