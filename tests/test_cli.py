"""The command line: bad input gets one clear line, a non-zero exit and no traceback."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from conftest import make_files, write_zip


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


def test_unknown_variant(tmp_path):
    assert_one_line_error(harness("run", "--variant", "paper_dcgn", "--out", str(tmp_path)),
                          "unknown variant 'paper_dcgn'", "did you mean paper_dcgan")


def test_bad_override_and_impossible_value(tmp_path):
    assert_one_line_error(harness("run", "--variant", "paper_dcgan", "--set", "train.batch_size=0"),
                          "train.batch_size=0 must be >= 1")
    assert_one_line_error(harness("config", "--variant", "paper_dcgan", "--set", "train.lr=1"),
                          "unknown configuration key 'train.lr'")
    assert_one_line_error(harness("run", "--variant", "paper_dcgan", "--epochs", "-2"), "train.epochs=-2")


def test_missing_and_malformed_data(tmp_path):
    missing = tmp_path / "nope.zip"
    assert_one_line_error(harness("run", "--variant", "paper_dcgan", "--data", str(missing), "--out",
                                  str(tmp_path / "r")), f"{missing}: no such file or folder")
    assert not (tmp_path / "r").exists()
    junk = tmp_path / "junk.zip"
    junk.write_text("not a zip")
    assert_one_line_error(harness("data", "verify", "--data", str(junk)), f"{junk}: not a zip archive")
    assert_one_line_error(harness("data", "verify", env={"HARNESS_EUROSAT": ""}), "no EuroSAT data")


def test_data_verify_reports_problems_and_exits_1(tmp_path):
    files = make_files(1)
    del files["River/River_1.jpg"]
    result = harness("data", "verify", "--data", str(write_zip(tmp_path / "a.zip", files)))
    assert result.returncode == 1
    assert "class folder River/ is missing" in result.stderr
    assert "Traceback" not in result.stderr


def test_variants_lists_and_filters():
    result = harness("variants", "*dcgan*")
    assert result.returncode == 0 and "paper_dcgan" in result.stdout and "G 512-256-128-64-32" in result.stdout
    assert_one_line_error(harness("variants", "*zzz*"), "no variant matches '*zzz*'")


def test_config_prints_resolved_keys():
    result = harness("config", "--variant", "paper_dcgan", "--profile", "smoke", "--set", "train.lr_d=4e-4",
                     "--split", "all")
    assert result.returncode == 0
    assert "train.lr_d = 0.0004" in result.stdout and "model.width = 0.125" in result.stdout
    assert "data.split = all" in result.stdout
    assert_one_line_error(harness("config", "--variant", "paper_dcgan", "--split", "dev"), "data.split='dev'")


def test_generate_errors(tmp_path):
    assert_one_line_error(harness("generate", str(tmp_path / "norun"), "--out", str(tmp_path / "o")),
                          "not a run folder (no config.json)")


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
