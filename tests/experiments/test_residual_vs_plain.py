"""The lesson of residual_vs_plain at quick size: directions, not exact numbers."""

import json

import pytest

from experiments import residual_vs_plain
from experiments.residual_vs_plain import Config, records


@pytest.fixture(scope="module")
def quick(quick_run):
    return quick_run("residual_vs_plain")


def test_the_residual_net_trains_where_its_plain_twin_stalls(quick):
    tables, _ = quick
    final = records(tables, "final").groupby(["arm", "depth"])["train_accuracy"].mean()
    deep, shallow = (
        final.index.get_level_values("depth").max(),
        final.index.get_level_values("depth").min(),
    )
    assert final["plain", shallow] - final["plain", deep] > 0.15  # degradation
    assert final["residual", deep] > final["plain", deep] + 0.2
    assert final["residual", deep] >= final["residual", shallow] - 0.02


def test_deleting_a_block_hurts_the_plain_net_more(quick):
    tables, _ = quick
    depth = records(tables, "lesion")["depth"].max()
    _, residual_lost = residual_vs_plain.lesioned(tables, "residual", depth)
    plain_left, _ = residual_vs_plain.lesioned(tables, "plain", depth)
    assert residual_lost.mean() < 0.08
    assert plain_left.mean() < 0.25
    blocks = records(tables, "lesion").groupby(["seed", "arm"])["block"].nunique()
    assert (blocks == (depth - 2) // 2).all()  # every block was deleted once


def test_every_weight_layer_has_a_gradient_norm_at_init(quick):
    tables, _ = quick
    gradient = records(tables, "gradient")
    layers = gradient.groupby(["seed", "arm", "depth"])["layer"].max().reset_index()
    assert (layers["layer"] == layers["depth"]).all()
    assert (gradient["gradient_norm"] > 0).all()


def test_claims_are_computed_from_the_table(quick):
    tables, folder = quick
    stored = json.loads((folder / "claims.json").read_text())
    assert [claim.evaluate(tables) for claim in residual_vs_plain.CLAIMS] == stored
    forged = {name: rows.copy() for name, rows in tables.items()}
    final = forged["final"]
    final.loc[final["arm"] == "plain", "train_accuracy"] = 0.9
    assert residual_vs_plain.CLAIMS[0].evaluate(forged)["verdict"] == "FAIL"


def test_the_resnet_twins_train_on_images():
    config = Config(
        dataset="digits",
        architecture="resnet",
        depths=(8, 14),
        width=8,
        epochs=1,
        train_size=100,
        gradient_normalizations=(),
        seeds=(0,),
    )
    tables = residual_vs_plain.run(config)
    final = records(tables, "final")
    assert sorted(final["depth"].unique()) == [8, 14] and len(final) == 4
    gradient = records(tables, "gradient")
    assert (gradient.groupby(["arm", "depth"])["layer"].max() == [8, 14, 8, 14]).all()
    assert not records(tables, "lesion").empty  # the non-strided blocks


@pytest.mark.parametrize(
    "settings, message",
    [
        ({"depths": (4, 5)}, "depths"),
        ({"depths": (8,)}, "depths"),
        ({"depths": (8, 4)}, "depths"),
        ({"architecture": "resnet"}, "images"),
        ({"architecture": "vgg"}, "architecture"),
        ({"normalization": "group"}, "normalization"),
        ({"lesion_depths": (6,)}, "lesion_depths"),
        ({"momentum": 1.0}, "momentum"),
        ({"dataset": "imagenet"}, "dataset"),
    ],
)
def test_bad_settings_are_rejected(settings, message):
    with pytest.raises(ValueError, match=message):
        Config(**settings)


def test_defaults_resolve_per_architecture():
    assert Config().depth_list == (4, 8, 16, 32) and Config().lesioned_depths == (8, 32)
    assert (
        Config(dataset="cifar10").kind == "resnet" and Config(dataset="cifar10").depth_list[0] == 8
    )
