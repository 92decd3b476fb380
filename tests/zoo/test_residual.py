import keras
import numpy as np
import pytest

from zoo import residual
from zoo.residual import (
    ConvResidualBlock,
    ResidualBlock,
    blocks,
    build_residual_mlp,
    build_resnet,
    predictions_without_each_block,
    without_block,
)


def _numpy(tensor):
    return keras.ops.convert_to_numpy(tensor)


@pytest.mark.parametrize(
    "block_class, shape", [(ResidualBlock, (4, 8)), (ConvResidualBlock, (2, 6, 6, 8))]
)
def test_a_residual_block_is_its_plain_twin_plus_the_input(block_class, shape):
    x = np.random.default_rng(0).normal(size=shape).astype("float32")
    residual, plain = block_class(8), block_class(8, residual=False)
    residual(x), plain(x)
    plain.set_weights(residual.get_weights())
    np.testing.assert_allclose(_numpy(residual(x)), _numpy(plain(x)) + x, rtol=1e-5, atol=1e-5)
    assert residual.count_params() == plain.count_params()


def test_config_round_trip_gives_the_same_block():
    for block in (
        ResidualBlock(16, residual=False, normalization="layer", branch_scale=0.5, name="b"),
        ConvResidualBlock(8, strides=2, normalization=None),
    ):
        clone = block.__class__.from_config(block.get_config())
        assert clone.get_config() == block.get_config()
    assert ConvResidualBlock(8, strides=2).get_config()["strides"] == 2


@pytest.mark.parametrize("normalization", ["batch", "layer", None])
def test_models_save_and_load_with_identical_predictions(assert_saves_and_loads, normalization):
    x = np.random.default_rng(0).normal(size=(5, 40)).astype("float32")
    for model in (
        build_residual_mlp(num_blocks=2, width=16, normalization=normalization),
        build_residual_mlp(num_blocks=2, width=16, residual=False, normalization=normalization),
    ):
        assert_saves_and_loads(model, x)


def test_the_resnet_has_cifar_depths_a_plain_twin_and_saves(assert_saves_and_loads):
    resnet20 = build_resnet(blocks_per_stage=3)
    assert resnet20.name == "resnet_20" and resnet20.output_shape == (None, 10)
    assert [b.strides for b in blocks(resnet20)] == [1, 1, 1, 2, 1, 1, 2, 1, 1]
    plain = build_resnet(blocks_per_stage=3, residual=False)
    projections = (16 * 32) + (32 * 64)  # the 1x1 skips where a stage widens
    assert resnet20.count_params() - plain.count_params() == projections
    small = build_resnet(input_shape=(8, 8, 1), blocks_per_stage=1, filters=(4, 8))
    x = np.random.default_rng(0).random((3, 8, 8, 1)).astype("float32")
    assert_saves_and_loads(small, x)


def test_a_naive_residual_sum_blows_up_and_branch_scaling_tames_it():
    """Without normalization each block doubles the variance; scaling its last layer by 1/L stops that."""
    x = np.random.default_rng(0).normal(size=(512, 64)).astype("float32")
    growth = {}
    for scale in (1.0, 1 / 20):
        keras.utils.set_random_seed(0)
        h = x
        for _ in range(20):
            h = ResidualBlock(64, normalization=None, branch_scale=scale)(h)
        growth[scale] = float(np.var(_numpy(h)) / np.var(x))
    assert growth[1.0] > 1e4  # about 2^20
    assert growth[1 / 20] < 10  # at most about e


def test_deleting_a_block_matches_the_fast_lesion_and_keeps_other_weights(assert_saves_and_loads):
    keras.utils.set_random_seed(0)
    model = build_residual_mlp(num_blocks=3, width=16)
    x = np.random.default_rng(1).normal(size=(20, 40)).astype("float32")
    lesions = predictions_without_each_block(model, x)
    assert sorted(lesions) == [0, 1, 2]
    lesioned = without_block(model, 1)
    assert [b.name for b in blocks(lesioned)] == ["block_0", "block_2"]
    np.testing.assert_allclose(_numpy(lesioned(x)), lesions[1], rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(
        lesioned.get_layer("block_2").get_weights()[0], model.get_layer("block_2").get_weights()[0]
    )
    assert_saves_and_loads(lesioned, x)


def test_blocks_that_change_shape_cannot_be_deleted():
    model = build_resnet(input_shape=(8, 8, 1), blocks_per_stage=1, filters=(4, 8))
    with pytest.raises(ValueError, match="changes the shape"):
        without_block(model, 1)
    assert sorted(predictions_without_each_block(model, np.zeros((1, 8, 8, 1), "float32"))) == [0]
    with pytest.raises(ValueError, match="block index"):
        without_block(model, 5)


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: ResidualBlock(0), "width"),
        (lambda: ResidualBlock(8, normalization="group"), "normalization"),
        (lambda: ResidualBlock(8, branch_scale=0), "branch_scale"),
        (lambda: ConvResidualBlock(8, strides=0), "strides"),
        (lambda: build_residual_mlp(num_classes=1), "num_classes"),
        (lambda: build_resnet(input_shape=(32, 32)), "input_shape"),
        (lambda: residual.normalization_layer("instance", "n"), "normalization"),
    ],
)
def test_bad_arguments_raise_value_error(call, message):
    with pytest.raises(ValueError, match=message):
        call()
