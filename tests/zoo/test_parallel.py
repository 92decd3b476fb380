import numpy as np
import pytest

from zoo import parallel


def test_the_environment_asks_jax_for_simulated_devices():
    env = parallel.simulated_devices_env(
        4, {"XLA_FLAGS": "--xla_foo --xla_force_host_platform_device_count=2"}
    )
    assert env["XLA_FLAGS"].split() == ["--xla_foo", "--xla_force_host_platform_device_count=4"]
    assert env["KERAS_BACKEND"] == "jax"


def test_the_step_time_model_splits_compute_and_adds_a_ring_all_reduce():
    seconds = parallel.step_time_model(
        1.0, [1, 2, 4], parameters=1e6, bandwidth_bytes_per_second=4e6
    )
    # 4 MB of gradients over 4 MB/s: 2 (K - 1) / K seconds of all-reduce.
    np.testing.assert_allclose(seconds, [1.0, 0.5 + 1.0, 0.25 + 1.5])
    assert parallel.step_time_model(1.0, 1, 1e9, 1.0) == pytest.approx(
        1.0
    )  # one device: no all-reduce
