import numpy as np
import pytest

from zoo import corruptions


def frozen(array):
    array = np.array(array)
    array.flags.writeable = False  # any attempt to modify the input raises
    return array


def test_corrupt_labels_rate_uniformity_and_determinism():
    labels = frozen(np.arange(50_000) % 10)
    noisy = corruptions.corrupt_labels(labels, p=0.5, num_classes=10, seed=0)
    # A resampled label keeps its class with probability 1/10.
    assert np.mean(noisy != labels) == pytest.approx(0.5 * 0.9, abs=0.01)
    assert np.bincount(noisy[noisy != labels], minlength=10).min() > 2000
    np.testing.assert_array_equal(noisy, corruptions.corrupt_labels(labels, 0.5, 10, seed=0))
    assert not np.array_equal(noisy, corruptions.corrupt_labels(labels, 0.5, 10, seed=1))
    np.testing.assert_array_equal(corruptions.corrupt_labels(labels, 0.0, 10), labels)
    assert np.mean(corruptions.corrupt_labels(labels, 1.0, 10) != labels) == pytest.approx(
        0.9, abs=0.01
    )
    assert noisy.dtype == labels.dtype


def test_always_wrong_changes_exactly_the_chosen_fraction_to_other_classes():
    labels = frozen(np.arange(50_000) % 10)
    noisy = corruptions.corrupt_labels(labels, p=0.4, num_classes=10, seed=0, always_wrong=True)
    changed = noisy != labels
    assert changed.mean() == pytest.approx(0.4, abs=0.01)
    assert np.bincount(noisy[changed], minlength=10).min() > 1500  # spread over the classes


@pytest.mark.parametrize("p", [-0.1, 1.5])
def test_corrupt_labels_rejects_probabilities_outside_0_1(p):
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        corruptions.corrupt_labels(np.zeros(3, int), p, num_classes=10)


def test_shuffle_pixels_applies_one_permutation_to_every_example():
    x = frozen(np.random.default_rng(0).random((5, 4, 4, 1)))
    other = frozen(np.random.default_rng(1).random((3, 4, 4, 1)))
    shuffled = corruptions.shuffle_pixels(x, seed=7)
    assert shuffled.shape == x.shape
    # Recover the permutation from the identity: it must be the same for any input.
    eye = np.eye(16).reshape(16, 4, 4, 1)
    permutation = corruptions.shuffle_pixels(eye, seed=7).reshape(16, 16).argmax(axis=0)
    np.testing.assert_array_equal(shuffled.reshape(5, 16), x.reshape(5, 16)[:, permutation])
    np.testing.assert_array_equal(
        corruptions.shuffle_pixels(other, seed=7).reshape(3, 16),
        other.reshape(3, 16)[:, permutation],
    )
    assert not np.array_equal(permutation, np.arange(16))


def test_random_pixels_permutes_each_example_differently():
    x = frozen(np.tile(np.arange(16.0), (50, 1)))
    shuffled = corruptions.random_pixels(x, seed=0)
    np.testing.assert_array_equal(np.sort(shuffled, axis=1), x)  # same values per example
    assert len({tuple(row) for row in shuffled}) == 50  # a different order for each
    np.testing.assert_array_equal(shuffled, corruptions.random_pixels(x, seed=0))


def test_gaussian_like_matches_mean_and_std():
    x = frozen(np.random.default_rng(0).uniform(0, 1, (2000, 8, 8)).astype("float32"))
    noise = corruptions.gaussian_like(x, seed=0)
    assert noise.shape == x.shape and noise.dtype == x.dtype
    assert noise.mean() == pytest.approx(x.mean(), abs=0.01)
    assert noise.std() == pytest.approx(x.std(), rel=0.02)
    given = corruptions.gaussian_like(x, seed=0, mean=5.0, std=0.1)
    assert given.mean() == pytest.approx(5.0, abs=0.01)
