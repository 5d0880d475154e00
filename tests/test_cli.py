"""The command line end to end (the bad-input cases are in test_bad_input.py)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest


def harness(*args, env=None):
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "harness", *args], capture_output=True, text=True, env=full_env,
                          timeout=300)


def assert_one_line_error(result, *fragments, code=2):
    assert result.returncode == code, (result.returncode, result.stderr)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert "Traceback" not in result.stderr
    errors = [line for line in lines if line.startswith("harness: error:")]
    assert len(errors) == 1, result.stderr
    for fragment in fragments:
        assert fragment in errors[0], errors[0]


def test_variants_lists_and_filters():
    result = harness("variants", "*dcgan*")
    assert result.returncode == 0 and "paper_dcgan" in result.stdout and "G 512-256-128-64-32" in result.stdout


def test_config_prints_resolved_keys():
    result = harness("config", "--variant", "paper_dcgan", "--profile", "smoke", "--set", "train.lr_d=4e-4",
                     "--split", "all")
    assert result.returncode == 0
    assert "train.lr_d = 0.0004" in result.stdout and "model.width = 0.125" in result.stdout
    assert "data.split = all" in result.stdout


@pytest.mark.slow
@pytest.mark.eurosat
def test_run_then_generate_end_to_end(eurosat_path, tmp_path):
    env = {"HARNESS_EUROSAT": str(eurosat_path)}
    result = harness("run", "--variant", "paper_dcgan", "--profile", "smoke", "--epochs", "1", "--out",
                     str(tmp_path), "--no-progress", env=env)
    assert result.returncode == 0, result.stderr[-2000:]
    run_dir = tmp_path / "paper_dcgan-smoke-s0"
    assert result.stdout.strip() == f"{run_dir}: done"
    again = harness("run", "--variant", "paper_dcgan", "--profile", "smoke", "--epochs", "1", "--out",
                    str(tmp_path), env=env)
    assert_one_line_error(again, "run exists (status: done); pass --resume")
    changed = harness("run", "--variant", "paper_dcgan", "--profile", "smoke", "--epochs", "1", "--out",
                      str(tmp_path), "--resume", "--set", "train.lr_g=1e-3", env=env)
    assert_one_line_error(changed, "cannot resume with a different configuration", "train.lr_g: 0.0002 -> 0.001")
    gen = harness("generate", str(run_dir), "--class", "SeaLake", "--n", "2", "--out", str(tmp_path / "g"),
                  "--format", "npz")
    assert gen.returncode == 0, gen.stderr
    assert (tmp_path / "g" / "generated.npz").is_file()


def test_first_line_is_the_harness_own_without_tensorflow_banner(tmp_path):
    """TensorFlow's absl/oneDNN start-up notices are held back unless the user asks for them."""
    env = {k: v for k, v in os.environ.items() if k not in ("TF_CPP_MIN_LOG_LEVEL", "HARNESS_DEBUG")}
    afile = tmp_path / "file"
    afile.write_text("")
    result = subprocess.run([sys.executable, "-m", "harness", "run", "--variant", "paper_dcgan", "--profile",
                             "smoke", "--out", str(afile)], capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [f"harness: error: --out {afile}: exists and is a file, not a folder"]
    listed = subprocess.run([sys.executable, "-m", "harness", "variants"], capture_output=True, text=True, env=env,
                            timeout=300)
    assert listed.returncode == 0 and listed.stderr == "" and listed.stdout.startswith("variant ")
