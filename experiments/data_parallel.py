"""Data-parallel training: K devices, one model, the same steps; where the time goes.

The course: "a gradient over the whole dataset is very expensive ... mini-batch ... this
is parallelizable because you can split up a bunch of batches"; "computationally
expensive".

Synchronous data parallelism with Keras's own engine, `keras.distribution.DataParallel`
over a device mesh (the JAX backend: Keras 3.15's distribution API is JAX-only), on CPU
devices that JAX simulates (`XLA_FLAGS=--xla_force_host_platform_device_count=8`, set in
a fresh process before JAX is imported: `zoo.parallel.in_subprocess`). So this
experiment measures in a JAX process whichever backend runs the runner.

- The gradient check: one SGD step at rate 1 (the step is minus the gradient) on a
  batch of 64, on one device, on each of 8 shards of 8 alone (the steps averaged), and on
  8 devices at once; an MLP 64x64 on 40 random features, labels from a random linear
  teacher.
- The trajectories: 100 steps of batches of 64 on 2, 4 and 8 devices against the same
  steps on one.
- The throughput: examples per second at a global batch of 512 (an MLP 512x512, 289k
  weights) on 1, 2, 4 and 8 devices, the best of three timed calls of 30 steps. The
  simulated devices share this machine's two cores, and one device already uses both
  (XLA's CPU kernels are multithreaded), so no speed-up is to be expected here: the
  numbers show the cost of splitting and all-reducing, not the gain of real devices.
  Beside them, the plain cost model of a synchronous step (`zoo.parallel.step_time_model`):
  the measured one-device compute split K ways, plus a ring all-reduce of the gradients,
  2 (K - 1) / K x 4 bytes x weights over a link of 16 GB/s (PCIe 4 x16, roughly) or
  300 GB/s (NVLink 3), tells where real devices would stop scaling. (It takes this CPU's
  step as the compute; a GPU computes faster, so there the all-reduce weighs more.)

Any experiment's training runs data-parallel across every visible device with the
runner's `--distribute` (JAX only; say `XLA_FLAGS=--xla_force_host_platform_device_count=2`
to try it on a CPU).

    python -m experiments run data_parallel          # 40 s (a JAX process, either backend)
    python experiments/data_parallel.py --quick      # 17 s; 1 seed, up to 4 devices
"""

# `python experiments/NAME.py ...` is `python -m experiments run NAME ...` (runner.script_main).
if __name__ == "__main__":
    import sys
    from pathlib import Path

    sys.path[0] = str(Path(__file__).resolve().parents[1])  # the project, not experiments/
    from experiments.runner import script_main

    script_main(__file__)

import dataclasses

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from experiments.claims import Claim
from experiments.settings import at_most, positive, seeds_setting, setting, validate
from zoo import parallel

TITLE = "Data-parallel training with Keras's distribution API"
CONCEPT = (
    "Split every batch across devices, average their gradients, and training follows the "
    "one-device run step for step; the speed-up is the compute split, less the all-reduce."
)
CONCLUSION = (
    "Keras's DataParallel keeps the arithmetic of one device: a batch split across 8 "
    "devices gives the one-device gradient to 3e-8 (its largest entry is 0.09), and 100 "
    "steps on 2, 4 or 8 devices end within 1e-7 of the one-device weights. On this "
    "two-core machine the simulated devices only cost time: the throughput falls with "
    "every device added, to about half of one device's on eight (the table has this run's "
    "numbers), since one device's kernels already use both cores and splitting adds "
    "smaller kernels and an all-reduce. "
    "What real devices would gain, the cost model tells from this machine's step (7 ms of "
    "compute for 289k weights): over a 16 GB/s link the all-reduce costs about 0.14 ms a "
    "step, and efficiency falls under 50% from 64 devices; over 300 GB/s it stays above "
    "50% to 128. A faster device shrinks the compute and brings that limit closer: the "
    "all-reduce, not the arithmetic, sets where scaling stops."
)

LINKS = {"PCIe 4 x16, 16 GB/s": 16e9, "NVLink 3, 300 GB/s": 300e9}
MODEL_DEVICES = (1, 2, 4, 8, 16, 32, 64, 128)
BATCH = 512  # the global batch of the throughput


@dataclasses.dataclass(frozen=True)
class Config:
    devices: int = setting(
        8,
        "the most simulated devices (a power of two; also 1, 2, 4, ... up to it)",
        positive,
        at_most(64),
    )
    steps: int = setting(100, "steps of each trajectory", positive)
    throughput_steps: int = setting(30, "steps per timed call of the throughput", positive)
    repeats: int = setting(3, "timed calls per device count (the best counts)", positive)
    seeds: tuple[int, ...] = seeds_setting()

    def __post_init__(self):
        validate(self)
        if self.devices < 2 or self.devices & (self.devices - 1):
            raise ValueError(f"devices must be a power of two, at least 2, got {self.devices}")

    @property
    def device_counts(self):
        """1, 2, 4, ... up to `devices`."""
        return [2**i for i in range(self.devices.bit_length())]


# Quick: one seed, up to 4 devices, shorter trajectories and timings.
QUICK = dict(seeds=(0,), devices=4, steps=20, throughput_steps=10, repeats=1)


def run(config):
    measured = parallel.in_subprocess(
        config.devices,
        "measure",
        devices=config.device_counts,
        seeds=list(config.seeds),
        steps=config.steps,
        batch_size=BATCH,
        throughput_steps=config.throughput_steps,
        repeats=config.repeats,
    )
    return {name: pd.DataFrame(rows) for name, rows in measured.items()}


# --- summaries -------------------------------------------------------------------------


def speeds(tables):
    """The throughput table with examples per second and the speed-up over one device."""
    rows = tables["throughput"].copy()
    rows["examples_per_second"] = BATCH / rows["step_seconds"]
    rows["speedup"] = (
        rows["examples_per_second"] / rows.set_index("devices").loc[1, "examples_per_second"]
    )
    return rows


def cost_model(tables):
    """The modelled speed-up on real devices over each link, from the measured one-device
    step: one row per device count, one column per link."""
    one = tables["throughput"].set_index("devices").loc[1]
    k = np.array(MODEL_DEVICES)
    columns = {
        link: one["step_seconds"]
        / parallel.step_time_model(one["step_seconds"], k, one["parameters"], bandwidth)
        for link, bandwidth in LINKS.items()
    }
    return pd.DataFrame({"devices": k, **columns})


def summarize(tables):
    return {
        "The gradient check (largest difference from one device)": tables["gradient_check"],
        "K devices against one, after the same steps": tables["trajectories"],
        "Throughput on this machine (simulated devices share two cores)": speeds(tables),
        "Speed-up a real machine would see (the cost model)": cost_model(tables),
    }


# --- claims ----------------------------------------------------------------------------


def _gradients_agree(tables):
    rows = tables["gradient_check"]
    worst = float(rows[["shards_averaged", "data_parallel"]].to_numpy().max())
    scale = float(rows["gradient_size"].min())
    measured = {"largest difference": worst, "largest gradient entry (smallest seed)": scale}
    return measured, worst <= 1e-5 * scale


def _trajectories_agree(tables):
    rows = tables["trajectories"]
    worst = float(rows["largest_difference"].max())
    measured = {
        "largest weight difference": worst,
        "largest weight": float(rows["largest_weight"].max()),
        "devices": ", ".join(str(k) for k in sorted(rows["devices"].unique())),
    }
    return measured, worst <= 1e-5


def _throughput(tables):
    rows = speeds(tables)
    measured = {
        f"{k} devices": f"{v:,.0f} examples/s ({x:.2f}x)"
        for k, v, x in zip(rows["devices"], rows["examples_per_second"], rows["speedup"])
    }
    best = float(rows["speedup"].max())
    measured["best speed-up"] = best
    return measured, best <= 2.0


def _where_scaling_stops(tables):
    model = cost_model(tables).set_index("devices")
    measured = {}
    for link in LINKS:
        efficiency = model[link] / model.index
        below = model.index[efficiency < 0.5]
        measured[link] = (
            f"efficiency under 50% from {int(below.min())} devices"
            if len(below)
            else f"above 50% to {max(MODEL_DEVICES)} devices"
        )
    slow, fast = (model[link] for link in LINKS)
    return measured, bool((fast >= slow).all())


CLAIMS = [
    Claim(
        "gradients_agree",
        "The gradient of a batch split across devices, averaged, is the gradient of the whole batch.",
        "Data parallelism: with shards of equal size, the mean of the shards' mean-loss gradients is "
        "the whole batch's.",
        "each way (shards one at a time, averaged; DataParallel on the most devices) within float32 "
        "round-off of the one-device step: 1e-5 of its largest entry",
        _gradients_agree,
        kind="check",
    ),
    Claim(
        "trajectories_agree",
        "Synchronous training on K devices follows one-device training step for step.",
        "Keras's DataParallel: every device holds the whole model and applies the same update.",
        "weights within 1e-5 of the one-device run after every trajectory, on 2, 4, ... devices",
        _trajectories_agree,
        kind="check",
    ),
    Claim(
        "simulated_devices_share_the_cores",
        "On two cores, simulated devices cannot speed training up more than about twofold.",
        "This machine: two CPU cores, shared by every simulated device.",
        "the best measured speed-up over one device at most 2x",
        _throughput,
        headline=("best speed-up",),
    ),
    Claim(
        "bandwidth_sets_the_limit",
        "On real devices the all-reduce sets where scaling stops: a faster link scales further.",
        "The cost of a synchronous step: compute / K + 2 (K - 1) / K x gradient bytes / bandwidth.",
        "the modelled speed-up over a 300 GB/s link at least that over 16 GB/s at every K",
        _where_scaling_stops,
        kind="check",
    ),
]


# --- plots -----------------------------------------------------------------------------


def plot_scaling(tables):
    measured, model = speeds(tables), cost_model(tables)
    figure, axis = plt.subplots(figsize=(6.5, 4.5))
    axis.plot(
        measured["devices"],
        measured["speedup"],
        "o-",
        color="C3",
        label="measured here (simulated devices, 2 cores)",
    )
    for i, link in enumerate(LINKS):
        axis.plot(model["devices"], model[link], "--", color=f"C{i}", label=f"cost model, {link}")
    axis.plot(MODEL_DEVICES, MODEL_DEVICES, ":", color="gray", label="perfect scaling")
    axis.set_xscale("log", base=2)
    axis.set_yscale("log", base=2)
    axis.set(
        xlabel="devices K",
        ylabel="speed-up over one device",
        title="Data parallelism: measured and modelled",
    )
    axis.legend(fontsize=8)
    axis.grid(alpha=0.3)
    return figure


PLOTS = {"scaling.png": plot_scaling}
