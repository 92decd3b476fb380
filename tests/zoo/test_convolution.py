import keras
import numpy as np
import pytest

from zoo.convolution import build_cnn1d, permute_inputs
from zoo.mlp import build_mlp


def test_the_cnn1d_is_the_mnist1d_papers_conv_base(assert_saves_and_loads):
    model = build_cnn1d()
    assert model.input_shape == (None, 40) and model.output_shape == (None, 10)
    assert model.get_layer("flatten").input.shape == (None, 5, 25)  # ConvBase's linear_in=125
    kernels = [model.get_layer(f"conv_{i}").kernel.shape for i in range(3)]
    assert kernels == [(5, 1, 25), (3, 25, 25), (3, 25, 25)]
    assert model.count_params() == (5 * 25 + 25) + 2 * (3 * 25 * 25 + 25) + (125 * 10 + 10)
    signals = np.random.default_rng(1).normal(size=(16, 40)).astype("float32")
    assert_saves_and_loads(model, signals)
    with pytest.raises(ValueError, match="kernel_sizes"):
        build_cnn1d(kernel_sizes=(5, 0))


def test_a_dense_network_with_its_rows_permuted_predicts_permuted_inputs_exactly():
    keras.utils.set_random_seed(0)
    mlp = build_mlp((40,), 10, (32, 32))
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 40)).astype("float32")
    permutation = rng.permutation(40)
    expected = mlp.predict_on_batch(x)
    copy = permute_inputs(mlp, permutation)
    np.testing.assert_allclose(copy.predict_on_batch(x[:, permutation]), expected, atol=1e-6)
    assert not np.allclose(mlp.predict_on_batch(x[:, permutation]), expected, atol=1e-3)
    np.testing.assert_array_equal(mlp.predict_on_batch(x), expected)  # the original is untouched
    with pytest.raises(ValueError, match="permutation"):
        permute_inputs(mlp, np.arange(39))
