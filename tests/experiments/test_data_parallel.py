"""data_parallel at quick size. Its measurements run in a JAX process with simulated devices
whichever backend runs the tests, so they run once, in the JAX pass of CI."""

import json
import subprocess
import sys

import keras
import pytest

from experiments import data_parallel
from experiments.claims import PASS
from experiments.runner import main
from zoo import parallel

jax_only = pytest.mark.skipif(
    keras.backend.backend() != "jax", reason="measured in a JAX process: once, in the JAX pass"
)


@pytest.fixture(scope="module")
def quick(quick_run):
    return quick_run("data_parallel")


@jax_only
def test_k_devices_follow_one_device_and_the_gradients_agree(quick):
    tables, _ = quick
    assert sorted(tables["trajectories"]["devices"]) == [2, 4]
    assert (tables["trajectories"]["largest_difference"] <= 1e-5).all()
    checks = tables["gradient_check"]
    assert (checks[["shards_averaged", "data_parallel"]] <= 1e-6).all().all()
    assert (checks["gradient_size"] > 1e-3).all()  # a real step, not a zero one


@jax_only
def test_the_throughput_is_timed_for_every_device_count(quick):
    tables, _ = quick
    assert list(tables["throughput"]["devices"]) == [1, 2, 4]
    assert (tables["throughput"]["step_seconds"] > 0).all()
    model = data_parallel.cost_model(tables).set_index("devices")
    assert (model.loc[2] > 1).all() and (model.loc[128] < 128).all()


@jax_only
def test_claims_are_computed_from_the_table(quick):
    tables, folder = quick
    stored = json.loads((folder / "claims.json").read_text())
    assert [claim.evaluate(tables) for claim in data_parallel.CLAIMS] == stored
    claims = {claim.id: claim for claim in data_parallel.CLAIMS}
    forged = {name: rows.copy() for name, rows in tables.items()}
    forged["trajectories"]["largest_difference"] = 0.1
    assert claims["trajectories_agree"].evaluate(forged)["verdict"] == "FAIL"


@jax_only
def test_any_experiment_trains_data_parallel_with_distribute(tmp_path):
    out = tmp_path / "results"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "experiments",
            "run",
            "inductive_bias",
            "--quick",
            "--set",
            "epochs=3",  # what is tested is the distribution, not the lesson
            "--distribute",
            "--out",
            str(out),
        ],
        env=parallel.simulated_devices_env(2),
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "data-parallel across 2 devices" in done.stderr
    record = json.loads((out / "inductive_bias" / "config.json").read_text())
    assert record["devices"] == 2 and "--distribute" in record["command"]
    verdicts = {
        c["id"]: c["verdict"]
        for c in json.loads((out / "inductive_bias" / "claims.json").read_text())
    }
    assert verdicts["mlp_has_no_order"] == PASS  # the sharded predictions are exact too


@pytest.mark.skipif(keras.backend.backend() == "jax", reason="the refusal is of other backends")
def test_distribute_refuses_other_backends_before_training(tmp_path, capsys):
    assert main(["run", "inductive_bias", "--quick", "--distribute", "--out", str(tmp_path)]) != 0
    assert "--distribute needs the JAX backend" in capsys.readouterr().err
    assert not (tmp_path / "inductive_bias").exists()


def test_bad_settings_are_rejected():
    with pytest.raises(ValueError, match="steps"):
        data_parallel.Config(steps=0)
    with pytest.raises(ValueError, match="power of two"):
        data_parallel.Config(devices=6)
    assert data_parallel.Config(devices=8).device_counts == [1, 2, 4, 8]
