"""The command line end to end (the bad-input cases are in test_bad_input.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

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
    # A class named twice is one class; its images depend on (seed, class, index) only, not on the others asked.
    twice = harness("generate", str(run_dir), "--class", "Forest,Forest", "--n", "2", "--out", str(tmp_path / "t"))
    assert twice.returncode == 0 and "wrote 2 images x 1 class to" in twice.stdout
    assert sorted(p.name for p in (tmp_path / "t" / "Forest").iterdir()) == ["Forest_00001.png", "Forest_00002.png"]
    every = harness("generate", str(run_dir), "--class", "all", "--n", "2", "--out", str(tmp_path / "all"))
    assert every.returncode == 0 and "wrote 2 images x 10 classes" in every.stdout
    for name in ("Forest_00001.png", "Forest_00002.png"):
        assert (tmp_path / "t" / "Forest" / name).read_bytes() == (tmp_path / "all" / "Forest" / name).read_bytes()
    assert_one_line_error(harness("generate", str(run_dir), "--seed", "-1", "--out", str(tmp_path / "s")),
                          "--seed -1: must be in 0 to 4294967295")
    assert_one_line_error(harness("generate", str(run_dir), "--out", str(tmp_path / "g" / "generated.npz")),
                          "exists and is a file, not a folder")
    assert not (tmp_path / "s").exists()


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


def test_version_and_the_exit_codes_in_the_top_level_help():
    """One version: the package's, which run records carry, is pyproject's and CITATION.cff's, which --version
    prints."""
    import tomllib

    import harness as package

    project = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())["project"]
    assert package.__version__ == project["version"]
    citation = (Path(__file__).parents[1] / "CITATION.cff").read_text()
    assert f"\nversion: {package.__version__}\n" in citation  # how users cite the release they ran
    result = harness("--version")
    assert result.returncode == 0 and result.stdout.strip() == f"harness {package.__version__}"
    top = harness("--help").stdout
    codes = top[top.index("exit codes:"):]
    for code in ("0 ", "1 ", "2 ", "3 ", "70 ", "130 "):
        assert f"\n  {code}" in codes, codes
    assert "a sweep cell failed" in codes and "internal error" in codes


def test_every_subcommand_has_a_description_an_example_and_choices_for_fixed_sets():
    from harness.cli import build_parser
    from harness.cli.reference import _subcommands

    fixed = {"--profile", "--precision", "--executor", "--format", "--protocol", "--resize", "--sqrt", "--source",
             "--split"}
    seen = set()
    for path, sub in _subcommands(build_parser()):
        text = sub.format_help()
        assert sub.description and sub.description.endswith("."), path
        assert "example:\n  harness " + " ".join(path) in text, (path, text)
        for action in sub._actions:
            for option in set(action.option_strings) & fixed:
                seen.add(option)
                assert action.choices, f"harness {' '.join(path)} {option} has no choices"
                assert all(str(c) in text for c in action.choices)
        assert "(default: None)" not in text and "(default: [])" not in text, path
    assert seen == fixed


def test_an_internal_error_is_not_the_failed_cell_code(monkeypatch, capsys):
    from harness import cli

    def broken(args):
        raise ZeroDivisionError("a bug")

    monkeypatch.delenv("HARNESS_DEBUG", raising=False)
    monkeypatch.setitem(cli.COMMANDS, "profiles", broken)
    assert cli.main(["profiles"]) == cli.INTERNAL_ERROR == 70
    assert capsys.readouterr().err.strip() == ("harness: internal error: ZeroDivisionError: a bug (rerun with "
                                               "HARNESS_DEBUG=1 for a traceback)")


def test_variants_show_every_setting_they_change_within_100_columns():
    result = harness("variants")
    assert result.returncode == 0
    assert max(len(line) for line in result.stdout.splitlines()) <= 100
    blocks = result.stdout.split("\n")
    text = " ".join(line.strip() for line in blocks)
    assert "changes: train.augment=diffaugment" in text  # diffaugment no longer looks like paper_dcgan
    assert "changes: eval.protocol=full, eval.sample_sizes=100,250,500,1000,full" in text
    assert "changes: train.lr_g=0.0001, train.lr_d=0.0004" in text  # which rate is G's and which D's
    assert "the baseline: G 512-256-128-64-32" in text


def test_license_and_citation_files():
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    assert (root / "LICENSE").read_text().startswith("MIT License")
    citation = (root / "CITATION.cff").read_text()
    for words in ("cff-version: 1.2.0", "EuroSAT", "Helber", "references:", "license: MIT"):
        assert words in citation, words


def test_command_reference_page_is_the_parsers_help():
    """docs/cli.md is generated from the parser (python -m harness.cli.reference > docs/cli.md): it cannot drift."""
    from pathlib import Path

    from harness.cli import reference as clidoc

    page = Path(__file__).resolve().parents[1] / "docs" / "cli.md"
    assert page.read_text() == clidoc.markdown(), "docs/cli.md is stale: python -m harness.cli.reference > docs/cli.md"


def test_every_relative_link_in_the_readme_and_docs_resolves():
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    pages = [root / "README.md", root / "CHANGELOG.md"] + sorted((root / "docs").glob("*.md"))
    broken = []
    for page in pages:
        text = re.sub(r"```.*?```", "", page.read_text(), flags=re.S)  # code blocks hold no links
        for target in re.findall(r"\]\(([^)\s]+)\)", text):
            if re.match(r"[a-z]+:", target) or target.startswith("#"):
                continue
            path = target.split("#", 1)[0]
            if not (page.parent / path).exists():
                broken.append(f"{page.relative_to(root)}: {target}")
    assert not broken, broken
    assert len((root / "README.md").read_text().splitlines()) <= 250


def test_the_readmes_extension_examples_register_and_run():
    """README's variant, metric and objective examples, pasted into a plugin module, work as they say."""
    import re
    import types

    import numpy as np

    from harness import config
    from harness.evaluate import metrics
    from harness.models import registry
    from harness.runs import runner
    from harness.train import objectives

    text = (Path(__file__).parents[1] / "README.md").read_text()
    variant, metric, objective = re.findall(r"```python\n(.*?)```", text, re.S)
    added = []
    try:
        for source in (variant, metric, objective):
            module = types.ModuleType("readme_plugin")
            exec(compile(source, "README.md", "exec"), module.__dict__)
            added.append(module)
        assert registry.build_config("ttur_wide").train.lr_d == 8e-4
        rng = np.random.default_rng(0)
        real, fake = rng.normal(size=(40, 6)), rng.normal(size=(40, 6)) + 1.0
        assert metrics.get("my_domain_fid").compute(real, fake, cfg=None)["my_domain_fid"] > 1.0
        assert list(metrics.registered())[-1] == "my_domain_fid"  # plugins after the built-in families
        cfg = runner.validate(config.apply(config.RunConfig(), {"train.loss": "lsgan",
                                                                "eval.metrics": "fid,my_domain_fid"}))
        assert float(objectives.get(cfg.train.loss).d_loss(np.ones(4, "float32"), np.zeros(4, "float32"))) == 0.0
    finally:
        registry._REGISTRY.pop("ttur_wide", None)
        metrics._REGISTRY.pop("my_domain_fid", None)
        objectives._OBJECTIVES.pop("lsgan", None)


@pytest.mark.parametrize("delay", [0.5, 1.5])
def test_ctrl_c_at_any_moment_of_a_start_is_one_line(tmp_path, eurosat_path, delay):
    """Interrupted while importing TensorFlow or building the parser, as later: 'harness: interrupted', 130."""
    import signal
    import time

    env = {k: v for k, v in os.environ.items() if k not in ("TF_CPP_MIN_LOG_LEVEL", "HARNESS_DEBUG")}
    # A shell starts a background job (`pytest ... &`) with SIGINT ignored, and children inherit that: restore the
    # default in the child, so this tests the harness and not how pytest was launched.
    proc = subprocess.Popen([sys.executable, "-m", "harness", "run", "--variant", "paper_dcgan", "--profile", "smoke",
                             "--out", str(tmp_path), "--data", str(eurosat_path)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    time.sleep(delay)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    # 130, or death by SIGINT, which a shell also reports as 130: under `python -m`, CPython ends the process by
    # SIGINT when the interrupt landed in code it ran through PyRun_String (an import's, here), caught or not.
    assert proc.returncode in (130, -signal.SIGINT), err[-2000:]
    assert err.strip().splitlines()[-1] == "harness: interrupted" and "Traceback" not in err
    assert "oneDNN custom operations" not in err


def test_a_width_beyond_memory_is_one_line_and_the_corrected_run_resumes(tmp_path, eurosat_path):
    env = {"HARNESS_EUROSAT": str(eurosat_path)}
    huge = harness("run", "--variant", "paper_dcgan", "--profile", "smoke", "--set", "model.width=1e9", "--out",
                   str(tmp_path), env=env)
    assert_one_line_error(huge, "out of memory training paper_dcgan at model.width=1e+09", "--resume starts it again")
    fixed = harness("run", "--variant", "paper_dcgan", "--profile", "smoke", "--epochs", "1", "--out", str(tmp_path),
                    "--resume", "--no-progress", env=env)
    assert fixed.returncode == 0, fixed.stderr[-2000:]
    assert (tmp_path / "paper_dcgan-smoke-s0" / "status").read_text().strip() == "done"
