"""Data-parallel training with Keras's distribution API, on real or simulated devices.

Synchronous data parallelism: every device holds the whole model, takes its shard of the
global batch, computes the gradient of its shard's mean loss, and the devices average
those gradients (an all-reduce) before every one of them applies the same update. With
shards of equal size the average is the gradient of the whole batch, so training on K
devices follows training on one, step for step; only the time per step changes.

Keras 3 does this with `keras.distribution.DataParallel` over a device mesh (JAX backend
only in Keras 3.15): `keras.distribution.set_distribution(DataParallel(devices))`, and
`compile` / `fit` as ever. On a machine with one CPU, JAX can pretend to have several:
`XLA_FLAGS=--xla_force_host_platform_device_count=N`, set before JAX is imported, which
is why `measure` runs in a fresh process (`in_subprocess`).

- `simulated_devices_env(n)`: the environment for a process with `n` CPU devices.
- `in_subprocess(n, function, **arguments)`: runs one of this module's measurements in
  such a process and returns its JSON result.
- Measurements: `one_step_deltas` (the gradient check), `trajectories` (K devices against
  one, step for step) and `throughput` (examples per second per device count).
- `step_time_model`: the plain cost model of a synchronous step.
"""

import contextlib
import json
import os
import subprocess
import sys
import time

import numpy as np


def simulated_devices_env(devices, environ=None):
    """A copy of `environ` (default `os.environ`) for a JAX process with `devices` CPU
    devices."""
    env = dict(os.environ if environ is None else environ)
    flags = [f for f in env.get("XLA_FLAGS", "").split() if "host_platform_device_count" not in f]
    env["XLA_FLAGS"] = " ".join([*flags, f"--xla_force_host_platform_device_count={devices}"])
    env["KERAS_BACKEND"] = "jax"
    return env


def in_subprocess(simulated, function, timeout=600, **arguments):
    """Runs `function(**arguments)` of this module in a new Python process with
    `simulated` CPU devices, and returns what it returns (JSON-serializable)."""
    request = json.dumps({"function": function, "arguments": arguments})
    done = subprocess.run(
        [sys.executable, "-m", "zoo.parallel", request],
        env=simulated_devices_env(simulated),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"zoo.parallel.{function} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# --- what runs inside the process -----------------------------------------------------


@contextlib.contextmanager
def on_devices(devices):
    """Within the block, Keras trains data-parallel on the first `devices` devices
    (`keras.distribution.DataParallel`; 1: no distribution), and not after it."""
    import keras

    distribution = None
    if devices > 1:
        distribution = keras.distribution.DataParallel(
            devices=keras.distribution.list_devices()[:devices]
        )
    keras.distribution.set_distribution(distribution)
    try:
        yield
    finally:
        keras.distribution.set_distribution(None)


def _problem(examples, features, seed):
    """A fixed regression-free classification task: random inputs, a random linear
    teacher's labels."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(examples, features)).astype("float32")
    labels = np.argmax(x @ rng.normal(size=(features, 10)), axis=1)
    return x, labels


def _model(features, width, seed):
    import keras

    keras.utils.set_random_seed(seed)
    return keras.Sequential(
        [
            keras.Input((features,)),
            keras.layers.Dense(width, activation="relu"),
            keras.layers.Dense(width, activation="relu"),
            keras.layers.Dense(10),
        ]
    )


def _train(devices, x, y, *, width, batch_size, steps, learning_rate, seed):
    """Trains the model from `seed` for `steps` steps of `batch_size`, in order, on
    `devices` devices (`keras.distribution.DataParallel`; 1: no distribution). Returns the
    weights."""
    import keras

    with on_devices(devices):
        model = _model(x.shape[1], width, seed)
        model.compile(
            keras.optimizers.SGD(learning_rate),
            keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        )
        used = steps * batch_size
        model.fit(x[:used], y[:used], batch_size=batch_size, epochs=1, shuffle=False, verbose=0)
        return [np.asarray(w, "float64") for w in model.get_weights()]


def one_step_deltas(devices, batch_size=64, width=64, features=40, seed=0):
    """The gradient check: one SGD step (rate 1, so the step is minus the gradient) on a
    batch, three ways: on one device; on each of `devices` equal shards alone, the steps
    averaged; and on `devices` devices with `DataParallel`. Returns the largest
    differences from the one-device step, and its size."""
    x, y = _problem(batch_size, features, seed)
    start = [w.astype("float64") for w in _model(features, width, seed).get_weights()]
    kwargs = dict(width=width, steps=1, learning_rate=1.0, seed=seed)

    def delta(weights):
        return np.concatenate([(w - s).ravel() for w, s in zip(weights, start)])

    whole = delta(_train(1, x, y, batch_size=batch_size, **kwargs))
    shard = batch_size // devices
    shards = [
        delta(
            _train(
                1,
                x[i * shard : (i + 1) * shard],
                y[i * shard : (i + 1) * shard],
                batch_size=shard,
                **kwargs,
            )
        )
        for i in range(devices)
    ]
    parallel = delta(_train(devices, x, y, batch_size=batch_size, **kwargs))
    return dict(
        devices=devices,
        gradient_size=float(np.abs(whole).max()),
        shards_averaged=float(np.abs(np.mean(shards, axis=0) - whole).max()),
        data_parallel=float(np.abs(parallel - whole).max()),
    )


def trajectories(
    devices, steps=100, batch_size=64, width=64, features=40, seed=0, learning_rate=0.05
):
    """`steps` steps of synchronous training on `devices` devices against the same steps on
    one: the largest difference between their weights at the end, and the largest
    weight, for scale."""
    x, y = _problem(steps * batch_size, features, seed)
    kwargs = dict(
        width=width, batch_size=batch_size, steps=steps, learning_rate=learning_rate, seed=seed
    )
    one = _train(1, x, y, **kwargs)
    many = _train(devices, x, y, **kwargs)
    return dict(
        devices=devices,
        steps=steps,
        largest_difference=float(max(np.abs(a - b).max() for a, b in zip(one, many))),
        largest_weight=float(max(np.abs(a).max() for a in one)),
    )


def throughput(devices, batch_size=512, width=512, features=40, steps=30, repeats=3, seed=0):
    """The seconds per step of synchronous training at a global batch of `batch_size` on
    `devices` devices: the best of `repeats` timed calls of `steps` steps each, after one
    untimed call that compiles. Also the model's parameter count."""
    import keras

    x, y = _problem(steps * batch_size, features, seed)
    with on_devices(devices):
        model = _model(features, width, seed)
        model.compile(
            keras.optimizers.SGD(0.01),
            keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            steps_per_execution=steps,
        )
        fit = lambda: model.fit(x, y, batch_size=batch_size, epochs=1, shuffle=False, verbose=0)  # noqa: E731
        fit()
        best = float("inf")
        for _ in range(repeats):
            start = time.perf_counter()
            fit()
            best = min(best, time.perf_counter() - start)
        return dict(
            devices=devices, parameters=int(model.count_params()), step_seconds=best / steps
        )


def measure(
    devices=(1, 2, 4, 8), seeds=(0, 1, 2), steps=100, batch_size=512, throughput_steps=30, repeats=3
):
    """Every measurement of the lesson in this one process (which must have
    `max(devices)` devices): for each seed, the gradient check on the most devices and
    the trajectories on each count above one; then the throughput at each count."""
    largest = max(devices)
    checks = [dict(seed=seed, **one_step_deltas(largest, seed=seed)) for seed in seeds]
    paths = [
        dict(seed=seed, **trajectories(k, steps=steps, seed=seed))
        for seed in seeds
        for k in devices
        if k > 1
    ]
    speeds = [
        throughput(k, batch_size=batch_size, steps=throughput_steps, repeats=repeats)
        for k in devices
    ]
    return dict(gradient_check=checks, trajectories=paths, throughput=speeds)


def step_time_model(
    compute_seconds, devices, parameters, bandwidth_bytes_per_second, bytes_per_parameter=4
):
    """The time of one synchronous data-parallel step on `devices` real devices: the
    one-device compute split `devices` ways, plus a ring all-reduce of the gradients,
    `2 (devices - 1) / devices` times their bytes over the link's bandwidth."""
    devices = np.asarray(devices, "float64")
    all_reduce = 2 * (devices - 1) / devices * parameters * bytes_per_parameter
    return compute_seconds / devices + all_reduce / bandwidth_bytes_per_second


if __name__ == "__main__":
    request = json.loads(sys.argv[1])
    result = globals()[request["function"]](**request["arguments"])
    print(json.dumps(result))
