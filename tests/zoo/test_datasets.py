import numpy as np
import pytest

from zoo import datasets


def test_digits_split_is_stratified_scaled_and_seeded():
    (x_train, y_train), (x_test, y_test) = datasets.load("digits", seed=0)
    assert x_train.shape == (1437, 8, 8, 1) and x_test.shape == (360, 8, 8, 1)
    assert x_train.dtype == np.float32 and y_train.dtype == np.int64
    assert 0.0 <= x_train.min() and x_train.max() <= 1.0
    # Stratified: every class has the same share in both splits, within one example.
    train_share = np.bincount(y_train) / len(y_train)
    test_share = np.bincount(y_test) / len(y_test)
    np.testing.assert_allclose(train_share, test_share, atol=1 / len(y_test))

    (again, _), _ = datasets.load("digits", seed=0)
    (other, _), _ = datasets.load("digits", seed=1)
    np.testing.assert_array_equal(x_train, again)
    assert not np.array_equal(x_train, other)


def test_subsets_are_balanced_and_deterministic():
    (x, y), (x_test, y_test) = datasets.load("digits", seed=3, train_size=200, test_size=50)
    assert x.shape == (200, 8, 8, 1) and len(y_test) == 50
    assert np.bincount(y, minlength=10).min() >= 18
    (x_again, _), _ = datasets.load("digits", seed=3, train_size=200)
    np.testing.assert_array_equal(x, x_again)
    with pytest.raises(ValueError, match="subset size"):
        datasets.load("digits", train_size=10_000)


def test_validation_split_is_stratified_and_disjoint():
    x = np.arange(1000, dtype="float32")[:, None]
    y = np.arange(1000) % 10
    (x_train, y_train), (x_val, y_val) = datasets.split_validation(x, y, fraction=0.2, seed=0)
    assert len(y_val) == 200 and len(y_train) == 800
    assert np.bincount(y_val).tolist() == [20] * 10
    assert not set(x_train[:, 0]) & set(x_val[:, 0])
    with pytest.raises(ValueError, match="fraction"):
        datasets.split_validation(x, y, fraction=1.0)


def test_mnist1d_is_generated_offline_and_cached():
    (x_train, y_train), (x_test, y_test) = datasets.load("mnist1d")
    assert x_train.shape == (4000, 40) and x_test.shape == (1000, 40)
    assert x_train.dtype == np.float32 and set(np.unique(y_train)) == set(range(10))
    cached = list(datasets.cache_dir().glob("mnist1d-*.npz"))
    assert len(cached) == 1
    (x_again, _), _ = datasets.load("mnist1d")
    np.testing.assert_array_equal(x_train, x_again)


def test_unknown_dataset_names_the_choices():
    with pytest.raises(ValueError, match="digits, mnist1d"):
        datasets.load("imagenet")


def test_tfds_dataset_not_prepared_offline_gives_a_clear_error(tmp_path):
    with pytest.raises(datasets.DatasetUnavailableError) as error:
        datasets.load("mnist", data_dir=str(tmp_path), download=False)
    message = str(error.value)
    assert "not prepared" in message and "digits, mnist1d" in message


def test_tfds_path_with_mock_data(tmp_path):
    tfds = pytest.importorskip("tensorflow_datasets")
    with tfds.testing.mock_data(num_examples=40):
        (x_train, y_train), (x_test, y_test) = datasets.load(
            "cifar10", data_dir=str(tmp_path), train_size=20
        )
    assert x_train.shape == (20, 32, 32, 3) and x_test.shape == (40, 32, 32, 3)
    assert x_train.dtype == np.float32 and 0.0 <= x_train.min() <= x_train.max() <= 1.0
    assert y_train.dtype == np.int64 and y_train.max() < 10


def test_train_sizes_are_the_offline_datasets_own_and_bound_train_size():
    for name in datasets.OFFLINE:
        (x, _), _ = datasets.load(name)
        assert len(x) == datasets.TRAIN_SIZES[name]
    datasets.check_train_size("digits", None)
    datasets.check_train_size("digits", 1437)
    with pytest.raises(ValueError, match="between 10 and 1437"):
        datasets.check_train_size("digits", 4000)
