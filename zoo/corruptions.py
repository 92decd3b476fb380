"""Label and input corruptions from Zhang et al. 2017, "Understanding deep learning
requires rethinking generalization" (Section 2).

Each function returns a new array and never modifies its input; the same `seed` gives
the same corruption. Inputs may have any shape `(num_examples, ...)`: the corruptions
act on the flattened features of each example and keep the shape.

- `corrupt_labels`: with probability `p`, each label is replaced by a uniformly random
  class (which may, by chance, be the true one). `p = 1` gives Zhang's "random labels".
- `shuffle_pixels`: one random permutation of the features, the same for every example
  (call it with the same seed on the training and test sets). A dense network has no
  notion of which pixel is next to which, so for an MLP this is the original task in
  disguise; it only hurts models with spatial structure, such as a CNN.
- `random_pixels`: a different random permutation for every example.
- `gaussian_like`: inputs drawn from a Gaussian with the mean and standard deviation of
  the original data, so nothing but noise is left to learn from.

Example:
    >>> import numpy as np
    >>> y = np.arange(10) % 3
    >>> y_noisy = corrupt_labels(y, p=0.5, num_classes=3, seed=0)
    >>> y_noisy.shape == y.shape
    True
"""

import numpy as np


def corrupt_labels(labels, p, num_classes, seed=0, always_wrong=False):
    """Replaces each label, with probability `p`, by a uniformly random class.

    With `always_wrong=True` the new class is drawn from the other classes only, so
    exactly the chosen fraction `p` of labels (in expectation) is wrong.
    """
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"corruption probability p must be in [0, 1], got {p}")
    if num_classes < 2:
        raise ValueError(f"num_classes must be at least 2, got {num_classes}")
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    resample = rng.random(labels.shape) < p
    if always_wrong:  # shift by 1..num_classes-1: any class but the true one
        random_classes = (labels + rng.integers(1, num_classes, size=labels.shape)) % num_classes
    else:
        random_classes = rng.integers(0, num_classes, size=labels.shape)
    return np.where(resample, random_classes, labels).astype(labels.dtype)


def _flat(x):
    x = np.asarray(x)
    return x.reshape(len(x), -1)


def shuffle_pixels(x, seed=0):
    """Applies one fixed random permutation of the features to every example."""
    flat = _flat(x)
    permutation = np.random.default_rng(seed).permutation(flat.shape[1])
    return flat[:, permutation].reshape(np.shape(x))


def random_pixels(x, seed=0):
    """Applies an independent random permutation of the features to each example."""
    flat = _flat(x)
    rng = np.random.default_rng(seed)
    order = np.argsort(rng.random(flat.shape), axis=1)
    return np.take_along_axis(flat, order, axis=1).reshape(np.shape(x))


def gaussian_like(x, seed=0, mean=None, std=None):
    """Gaussian noise with the shape of `x` and the mean and std of `x` (or those given).

    Pass the training set's `mean` and `std` when generating the test set, so both come
    from the same distribution.
    """
    x = np.asarray(x)
    mean = float(x.mean()) if mean is None else mean
    std = float(x.std()) if std is None else std
    rng = np.random.default_rng(seed)
    return rng.normal(mean, std, size=x.shape).astype(x.dtype)
