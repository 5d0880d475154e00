"""`harness sweep`: the grid, idempotence, failures recorded, concurrent sweeps."""

from __future__ import annotations

import subprocess
import sys

import pytest

from harness import sweep
from harness.errors import ConfigError
from harness.rundir import RunDir


def test_expand_wildcards_and_seeds():
    cells = sweep.expand("paper_dcgan,*norm*", "0,1")
    assert [(c.variant, c.seed) for c in cells] == [
        ("paper_dcgan", 0), ("paper_dcgan", 1), ("no_batchnorm", 0), ("no_batchnorm", 1),
        ("spectral_norm", 0), ("spectral_norm", 1)]
    with pytest.raises(ConfigError, match="unknown variant 'paper_dcgn'"):
        sweep.expand("paper_dcgn", "0")
    with pytest.raises(ConfigError, match="--seeds 'a'"):
        sweep.expand("paper_dcgan", "a")


@pytest.mark.slow
@pytest.mark.eurosat
def test_sweep_is_idempotent_and_records_failures(eurosat_path, tmp_path, monkeypatch):
    cells = sweep.expand("paper_dcgan,ttur", "0")
    first = sweep.sweep(cells, profile="smoke", overrides={"train.epochs": "1"}, out=tmp_path, data=eurosat_path)
    assert [o.status for o in first] == ["done", "done"]
    again = sweep.sweep(cells, profile="smoke", overrides={"train.epochs": "1"}, out=tmp_path, data=eurosat_path)
    assert [o.status for o in again] == ["skipped", "skipped"]
    # A cell whose training raises is recorded; the sweep carries on to the next one.
    from harness import trainer

    real_fit = trainer.Trainer.fit

    def failing_fit(self):
        if self.cfg.variant == "paper_dcgan":
            raise RuntimeError("simulated bug")
        return real_fit(self)

    monkeypatch.setattr(trainer.Trainer, "fit", failing_fit)
    cells = sweep.expand("paper_dcgan,ttur", "1")
    out = sweep.sweep(cells, profile="smoke", overrides={"train.epochs": "1"}, out=tmp_path, data=eurosat_path)
    assert out[0].status == "failed: RuntimeError: simulated bug" and out[1].status == "done"
    assert RunDir(tmp_path / "paper_dcgan-smoke-s1").status() == "failed: RuntimeError: simulated bug"


@pytest.mark.slow
@pytest.mark.eurosat
def test_two_concurrent_sweeps_run_each_cell_once(eurosat_path, tmp_path):
    cmd = [sys.executable, "-m", "harness", "sweep", "--variants", "paper_dcgan,hinge_loss", "--seeds", "0,1",
           "--profile", "smoke", "--set", "train.epochs=1", "--out", str(tmp_path), "--data", str(eurosat_path)]
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
