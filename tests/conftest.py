import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import pytest  # noqa: E402


def pytest_report_header(config):
    """Which backend this run tests: CI runs the suite once per backend."""
    import keras

    return f"keras backend: {keras.backend.backend()}"


@pytest.fixture(scope="session", autouse=True)
def _cache_dir(tmp_path_factory):
    """Generated datasets go to a temporary cache, not the user's."""
    os.environ["ZOO_CACHE_DIR"] = str(tmp_path_factory.mktemp("zoo-cache"))


@pytest.fixture
def assert_saves_and_loads(tmp_path):
    """`assert_saves_and_loads(model, x)`: the model saves to `.keras`, loads back with
    `safe_mode=True` (no Lambda layers, every custom layer registered), and predicts `x`
    exactly as before. Returns the loaded model."""
    import keras
    import numpy as np

    def check(model, x):
        expected = keras.ops.convert_to_numpy(model.predict_on_batch(x))
        path = tmp_path / f"{model.name}.keras"
        model.save(path)
        loaded = keras.saving.load_model(path, safe_mode=True)
        np.testing.assert_array_equal(
            keras.ops.convert_to_numpy(loaded.predict_on_batch(x)), expected
        )
        return loaded

    return check


@pytest.fixture(scope="session")
def quick_results(tmp_path_factory):
    """One quick run of random_labels, shared by the tests that read its results."""
    from experiments.runner import main

    out = tmp_path_factory.mktemp("results")
    assert main(["run", "random_labels", "--quick", "--out", str(out)]) == 0
    return out


@pytest.fixture(scope="session")
def quick_run(tmp_path_factory):
    """`quick_run(name)` runs an experiment's quick configuration through the runner, once
    per session, and returns its stored table (timings joined) and results folder."""
    from experiments import storage
    from experiments.runner import main

    done = {}

    def run(name):
        if name not in done:
            out = tmp_path_factory.mktemp("results")
            assert main(["run", name, "--quick", "--out", str(out)]) == 0
            done[name] = storage.load(out / name)[0], out / name
        return done[name]

    return run
