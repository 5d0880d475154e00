"""Every run names the code that trained it: commit, uncommitted changes and their digest, the version imported."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from harness import provenance
from harness.runs.rundir import codes

REPO = Path(__file__).resolve().parents[1]  # the code under test
needs_git = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def git(root: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture
def tree(tmp_path) -> Path:
    """A small git checkout shaped like the harness's: code paths and a docs folder."""
    root = tmp_path / "tree"
    (root / "harness").mkdir(parents=True)
    (root / "docs").mkdir()
    (root / "harness" / "a.py").write_text("x = 1\n")
    (root / "docs" / "page.md").write_text("text\n")
    git(root.parent, "init", "-q", str(root))
    git(root, "-c", "user.name=t", "-c", "user.email=t@t", "add", ".")
    git(root, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "first")
    return root


@needs_git
def test_a_clean_tree_records_its_commit(tree):
    code = provenance.code(tree)
    assert code["commit"] == git(tree, "rev-parse", "HEAD") and len(code["commit"]) == 40
    assert code["dirty"] is False and code["diff_digest"] is None and code["source"] == str(tree)
    assert provenance.label(code) == f"{code['version']} @ {code['commit'][:8]}"


@needs_git
def test_changed_code_is_dirty_with_a_digest_of_the_change(tree):
    (tree / "docs" / "page.md").write_text("evidence written beside a sweep\n")
    assert provenance.code(tree)["dirty"] is False  # documentation is not code
    (tree / "harness" / "a.py").write_text("x = 2\n")
    edited = provenance.code(tree)
    assert edited["dirty"] is True and len(edited["diff_digest"]) == 16
    assert provenance.label(edited).endswith(f"+ changes {edited['diff_digest']}")
    (tree / "harness" / "a.py").write_text("x = 3\n")
    assert provenance.code(tree)["diff_digest"] != edited["diff_digest"]  # another change, another digest
    (tree / "harness" / "a.py").write_text("x = 1\n")
    (tree / "harness" / "new.py").write_text("y = 1\n")  # an untracked module is imported code too
    assert provenance.code(tree)["dirty"] is True


def test_outside_a_checkout_nothing_is_guessed(tmp_path):
    code = provenance.code(tmp_path)
    assert code["commit"] is None and code["dirty"] is None and code["unrecorded"]
    assert provenance.label(None) == "not recorded"
    assert codes({"sittings": [{"code": None}, {"code": code}]}) == f"not recorded + {code['version']} (no commit)"


@needs_git
@pytest.mark.slow
@pytest.mark.eurosat
def test_a_run_from_a_frozen_copy_records_that_copy_clean_then_dirty(tmp_path, eurosat_path):
    """A sweep run from a frozen copy of the code (a checkout at a known commit) records that commit, not the
    installed checkout's; an edit there makes the next run's record dirty."""
    frozen = tmp_path / "frozen"
    for name in provenance.CODE_PATHS:
        copy = shutil.copytree if (REPO / name).is_dir() else shutil.copy
        copy(REPO / name, frozen / name, **({"ignore": shutil.ignore_patterns("__pycache__")}
                                           if (REPO / name).is_dir() else {}))
    git(tmp_path, "init", "-q", str(frozen))
    git(frozen, "-c", "user.name=t", "-c", "user.email=t@t", "add", ".")
    git(frozen, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "frozen")
    commit = git(frozen, "rev-parse", "HEAD")
    env = {**os.environ, "PYTHONPATH": str(frozen), "HARNESS_RESULTS": str(tmp_path / "results")}

    def train(run_id: str) -> dict:
        subprocess.run([sys.executable, "-m", "harness", "run", "--variant", "paper_dcgan", "--profile", "smoke",
                        "--epochs", "1", "--data", str(eurosat_path), "--run-id", run_id], env=env, check=True,
                       capture_output=True, cwd=tmp_path)
        return json.loads((tmp_path / "results" / run_id / "config.json").read_text())

    clean = train("clean")
    code = clean["sittings"][0]["code"]
    assert code == clean["code"]
    assert code["commit"] == commit and code["dirty"] is False and code["source"] == str(frozen.resolve())
    with open(frozen / "harness" / "errors.py", "a") as f:
        f.write("# an uncommitted edit\n")
    dirty = train("dirty")["sittings"][0]["code"]
    assert dirty["commit"] == commit and dirty["dirty"] is True and dirty["diff_digest"]
