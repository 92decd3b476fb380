"""The lesson of residual_vs_plain at quick size: directions, not exact numbers."""

import json

import keras
import numpy as np
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


def test_training_fit_is_measured_with_batch_statistics_and_leaves_the_model_as_it_was():
    keras.utils.set_random_seed(0)
    model = residual_vs_plain.build_residual_mlp((6,), 3, 2, 8, False, "batch")
    x = np.random.default_rng(0).normal(3.0, 2.0, size=(64, 6)).astype("float32")
    y = np.arange(64) % 3
    before = [np.array(variable.numpy()) for variable in model.non_trainable_variables]
    accuracy, loss = residual_vs_plain.training_mode_fit(model, x, y, batch_size=32)
    for old, variable in zip(before, model.non_trainable_variables):
        np.testing.assert_array_equal(old, variable.numpy())
    # Untrained moving statistics (mean 0, variance 1) do not match inputs of mean 3.
    inference = keras.ops.convert_to_numpy(model(x, training=False))
    expected = np.concatenate(
        [keras.ops.convert_to_numpy(model(x[i : i + 32], training=True)) for i in (0, 32)]
    )
    assert loss == pytest.approx(-np.mean(np.log(expected[np.arange(64), y])), rel=1e-5)
    assert not np.allclose(inference, expected, atol=1e-3)


def test_the_gradient_ratio_compares_hidden_layers_of_one_shape(quick):
    tables, _ = quick
    ratios = residual_vs_plain.gradient_ratio(tables).set_index(["seed", "arm", "depth"])["ratio"]
    gradient = records(tables, "gradient").set_index(["seed", "arm", "depth", "layer"])
    for (seed, arm, depth), ratio in ratios.items():
        norms = gradient.sort_index().loc[(seed, arm, depth), "gradient_norm"]
        assert ratio == pytest.approx(norms.loc[2] / norms.loc[depth - 1])


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
    assert Config().depth_list == (4, 8, 16, 32) and Config().lesioned_depths == (8, 16)
    assert (
        Config(dataset="cifar10").kind == "resnet" and Config(dataset="cifar10").depth_list[0] == 8
    )
