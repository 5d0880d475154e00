"""`harness sweep`: the grid, idempotence, failures recorded, concurrent sweeps."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from harness.errors import ConfigError
from harness.runs import sweep
from harness.runs.rundir import RunDir


def test_expand_wildcards_and_seeds():
    cells = sweep.expand("paper_dcgan,*norm*", "0,1")
    assert [(c.variant, c.seed) for c in cells] == [
        ("paper_dcgan", 0), ("no_batchnorm", 0), ("spectral_norm", 0),
        ("paper_dcgan", 1), ("no_batchnorm", 1), ("spectral_norm", 1)]
    with pytest.raises(ConfigError, match="unknown variant 'paper_dcgn'"):
        sweep.expand("paper_dcgn", "0")
    with pytest.raises(ConfigError, match="--seeds 'a'"):
        sweep.expand("paper_dcgan", "a")


def test_a_seed_or_variant_listed_twice_is_one_cell():
    """One run folder is one run: `--seeds 0,0` is one cell, not two that race for the same folder."""
    cells = sweep.expand("paper_dcgan,paper_*,paper_dcgan", "0,1,0,1")
    assert [(c.variant, c.seed) for c in cells] == [("paper_dcgan", 0), ("paper_dcgan", 1)]


@pytest.mark.slow
@pytest.mark.eurosat
def test_sweep_is_idempotent_and_records_failures(eurosat_path, tmp_path, monkeypatch):
    cells = sweep.expand("paper_dcgan,ttur", "0")
    first = sweep.sweep(cells, profile="smoke", overrides={"train.epochs": "1"}, out=tmp_path, data=eurosat_path)
    assert [o.status for o in first] == ["done", "done"]
    again = sweep.sweep(cells, profile="smoke", overrides={"train.epochs": "1"}, out=tmp_path, data=eurosat_path)
    assert [o.status for o in again] == ["skipped", "skipped"]
    # A cell whose training raises is recorded; the sweep carries on to the next one.
    from harness.train import trainer

    real_fit = trainer.Trainer.fit

    def failing_fit(self):
        if self.cfg.variant == "paper_dcgan":
            raise RuntimeError("simulated bug")
        return real_fit(self)

    monkeypatch.setattr(trainer.Trainer, "fit", failing_fit)
    cells = sweep.expand("paper_dcgan,ttur", "1")
    out = sweep.sweep(cells, profile="smoke", overrides={"train.epochs": "1"}, out=tmp_path, data=eurosat_path,
                      jobs=1)  # in-process, so the patched fit applies
    assert out[0].status == "failed: RuntimeError: simulated bug" and out[1].status == "done"
    assert RunDir(tmp_path / "paper_dcgan-smoke-s1").status() == "failed: RuntimeError: simulated bug"


@pytest.mark.eurosat
def test_dry_run_says_where_each_cell_stands_and_trains_nothing(eurosat_path, tmp_path, capsys):
    from harness.cli import main
    from harness.runs import runner

    one = {"train.epochs": "1"}
    for seed in (0, 1, 2, 3):
        runner.run(runner.resolve("paper_dcgan", profile="smoke", seed=seed, overrides=one), data=eurosat_path,
                   out=tmp_path)
    runner.run(runner.resolve("paper_dcgan", profile="smoke", seed=4, overrides={"train.epochs": "2"}),
               data=eurosat_path, out=tmp_path)
    RunDir(tmp_path / "paper_dcgan-smoke-s1").set_status("running")  # killed: nothing holds its lock
    RunDir(tmp_path / "paper_dcgan-smoke-s2").set_status("failed: interrupted")
    cells = sweep.expand("paper_dcgan", "0,1,2,3,4,5")
    held = RunDir(tmp_path / "paper_dcgan-smoke-s3")
    free = RunDir(tmp_path / "paper_dcgan-smoke-s1")
    free.lock_path.write_text("12345")  # the pid of the process that last held it
    with held.lock():  # a process training it now
        states = {c.cell.seed: c for c in sweep.cell_states(cells, profile="smoke", overrides=one, out=tmp_path)}
    assert free.lock_path.read_text() == "12345"  # probing a lock never writes it
    assert {seed: c.state for seed, c in states.items()} == {
        0: "done", 1: "interrupted", 2: "failed", 3: "running", 4: "done", 5: "to do"}
    assert states[1].detail.startswith("resumes at epoch 2") and states[3].detail.startswith(f"pid {os.getpid()}")
    assert "left as it is" in states[4].detail and states[4].epochs == "2/1"  # never shortened
    assert states[0].machines and states[5].epochs == "0/1"
    longer = sweep.cell_states(cells[:1], profile="smoke", overrides={"train.epochs": "3"}, out=tmp_path)[0]
    assert (longer.state, longer.epochs, longer.detail) == ("to extend", "1/3", "resumes at epoch 2")
    other = sweep.cell_states(cells[:1], profile="smoke", overrides={**one, "train.lr_d": "4e-4"}, out=tmp_path)[0]
    assert other.state == "refused" and "train.lr_d: 0.0002 -> 0.0004" in other.detail
    # The command: a table and a count; the cell to do is still not there.
    assert main(["sweep", "--variants", "paper_dcgan", "--seeds", "0,1,2,3,4,5", "--profile", "smoke",
                 "--set", "train.epochs=1", "--out", str(tmp_path), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert out.strip().splitlines()[-1] == "1 to do, 1 interrupted, 1 failed, 3 done"
    assert not (tmp_path / "paper_dcgan-smoke-s5").exists()


@pytest.mark.slow
@pytest.mark.eurosat
def test_two_concurrent_sweeps_run_each_cell_once(eurosat_path, tmp_path):
    cmd = [sys.executable, "-m", "harness", "sweep", "--variants", "paper_dcgan,hinge_loss", "--seeds", "0,1",
           "--profile", "smoke", "--jobs", "1", "--set", "train.epochs=1", "--out", str(tmp_path),
           "--data", str(eurosat_path)]
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [p.communicate(timeout=600) for p in procs]
    assert all(p.returncode == 0 for p in procs), [o[1][-1500:] for o in outputs]
    for variant in ("paper_dcgan", "hinge_loss"):
        for seed in (0, 1):
            rd = RunDir(tmp_path / f"{variant}-smoke-s{seed}")
            assert rd.status() == "done"
            # Trained exactly once: one epoch of steps, no duplicate rows from a second trainer.
            steps = rd.steps()
            assert len(steps) == 5 and steps["step"].is_unique
    done = sum(o[0].count(" done ") for o in outputs)
    assert done == 4, [o[0] for o in outputs]


@pytest.fixture
def local_ray(isolated_env):
    """A Ray instance on loopback with 2 CPUs, started by the test (the CI stand-in for a cluster)."""
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, address="local", include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


@pytest.mark.slow
@pytest.mark.eurosat
def test_ray_executor_runs_cells_as_tasks_into_the_same_layout(local_ray, eurosat_path, tmp_path):
    cells = sweep.expand("paper_dcgan,ttur", "0")
    overrides = {"train.epochs": "1"}
    out = sweep.sweep(cells, profile="smoke", overrides=overrides, out=tmp_path, data=eurosat_path,
                      executor="ray")
    assert [o.status for o in out] == ["done", "done"]
    for cell in cells:
        rd = RunDir(tmp_path / f"{cell.variant}-smoke-s{cell.seed}")
        assert rd.status() == "done" and len(rd.steps()) == 5 and rd.last_checkpoint.is_file()
    again = sweep.sweep(cells, profile="smoke", overrides=overrides, out=tmp_path, data=eurosat_path,
                        executor="ray")
    assert [o.status for o in again] == ["skipped", "skipped"]
    # Same grid, local executor: the cells are recognised as done, so the layouts are the same.
    assert [o.status for o in sweep.sweep(cells, profile="smoke", overrides=overrides, out=tmp_path,
                                          data=eurosat_path)] == ["skipped", "skipped"]

    # Copy-back (in the same Ray instance, whose workers are warm): a worker that cannot write to the
    # driver's folder trains into its own, and the driver unpacks the folder.
    from harness.runs.executors import Plan, ray_cluster

    worker_disk, driver_disk = tmp_path / "worker", tmp_path / "driver"
    cells = sweep.expand("paper_dcgan", "3")

    def run_cell_elsewhere(cell, profile, overrides, out, data, threads):
        return sweep.run_cell(cell, profile, overrides, str(worker_disk), data, threads)

    plan = Plan(profile="smoke", overrides={"train.epochs": "1"}, out=str(driver_disk), data=eurosat_path)
    out = ray_cluster.run(cells, run_cell_elsewhere, plan, copy_back="always")
    assert out[0].status == "done"
    copied = RunDir(driver_disk / "paper_dcgan-smoke-s3")
    assert copied.status() == "done" and not copied.lock_path.exists()
    original = RunDir(worker_disk / "paper_dcgan-smoke-s3")
    assert copied.steps().equals(original.steps())
    assert copied.last_checkpoint.read_bytes() == original.last_checkpoint.read_bytes()
    assert not [p for p in driver_disk.iterdir() if p.name.startswith(".")]  # no staging left behind


def test_ray_executor_errors_are_one_line(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_ray(name, *args, **kwargs):
        if name == "ray":
            raise ImportError("no ray")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_ray)
    with pytest.raises(ConfigError, match=r"pip install 'harness\[ray\]'"):
        sweep.sweep(sweep.expand("paper_dcgan", "0"), profile="smoke", executor="ray")
    with pytest.raises(ConfigError, match="--executor 'slurm'"):
        sweep.sweep(sweep.expand("paper_dcgan", "0"), profile="smoke", executor="slurm")
    with pytest.raises(ConfigError, match="--cpus-per-cell 0"):  # refused before Ray is even imported
        sweep.sweep(sweep.expand("paper_dcgan", "0"), profile="smoke", executor="ray", cpus_per_cell=0)
    with pytest.raises(ConfigError, match="--jobs 0"):
        sweep.sweep(sweep.expand("paper_dcgan", "0"), profile="smoke", jobs=0)
    with pytest.raises(ConfigError, match="--address is for --executor ray"):
        sweep.sweep(sweep.expand("paper_dcgan", "0"), profile="smoke", address="auto")


def test_jobs_and_threads_follow_the_cores_this_process_may_use(monkeypatch):
    """Pinned to one core (taskset, a cpuset), the default is one job, not one per core of the machine."""
    from harness.runs.executors import local

    if not hasattr(local.os, "sched_getaffinity"):
        pytest.skip("no CPU affinity on this platform")
    monkeypatch.setattr(local.os, "sched_getaffinity", lambda pid: {3})
    monkeypatch.setattr(local.os, "cpu_count", lambda: 64)
    assert local.usable_cores() == 1
    assert local.default_jobs(10) == 1
    monkeypatch.setattr(local.os, "sched_getaffinity", lambda pid: {0, 1, 2, 3})
    assert local.default_jobs(10) == 4 and local.default_jobs(2) == 2
