"""The bad-input corpus: every way a user can hand the harness something wrong, one row each.

Each case sets up its input in a fresh folder, runs the real command line in
a subprocess, and checks: the exit code, one `harness: error:` line (or, for
`data verify`, the listed problems) containing the given words, no
traceback, and that nothing that existed before was changed and nothing new
was written. A new bad input is one row in CASES (plus a setup function if
it needs files).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import make_files, write_zip
from fake_runs import cut_mid_line, write_run


# Setups: each writes its input under `tmp` ------------------------------------
def _file(tmp: Path) -> None:
    (tmp / "afile").write_text("precious")


def _junk_zip(tmp: Path) -> None:
    (tmp / "junk.zip").write_text("not a zip")


def _eleven_classes(tmp: Path) -> None:
    files = make_files(1)
    files["Glacier/Glacier_1.jpg"] = files["Forest/Forest_1.jpg"]
    write_zip(tmp / "eleven.zip", files)


def _missing_class(tmp: Path) -> None:
    files = make_files(1)
    del files["River/River_1.jpg"]
    write_zip(tmp / "missing.zip", files)


def _not_a_run(tmp: Path) -> None:
    (tmp / "notarun").mkdir()
    (tmp / "notarun" / "notes.txt").write_text("mine")


def _images(tmp: Path) -> None:
    rng = np.random.default_rng(0)
    np.savez(tmp / "a.npz", images=rng.integers(0, 256, (4, 64, 64, 3), dtype=np.uint8))


def _run_with_cut_metrics(tmp: Path) -> None:
    cut_mid_line(write_run(tmp, "paper_dcgan", 0).metrics_path)


def _run_with_cut_evaluations(tmp: Path) -> None:
    rd = write_run(tmp, "paper_dcgan", 0)
    rd.append_evaluation({"epoch": 2, "metrics": ["fid"]})
    cut_mid_line(rd.evaluations_path)


def _run_with_cut_record(tmp: Path) -> None:
    cut_mid_line(write_run(tmp, "paper_dcgan", 0).config_path)


def _run_with_a_word_for_a_value(tmp: Path) -> None:
    rd = write_run(tmp, "paper_dcgan", 0)
    rd.metrics_path.write_text(rd.metrics_path.read_text().replace(",Forest,fid,160.0,", ",Forest,fid,abc,", 1))


def _run_with_a_missing_class_value(tmp: Path) -> None:
    rd = write_run(tmp, "paper_dcgan", 0)
    rd.metrics_path.write_text(rd.metrics_path.read_text().replace(",Forest,fid,160.0,", ",Forest,fid,nan,", 1))


def _sixteen_bit(tmp: Path) -> None:
    from PIL import Image

    (tmp / "deep").mkdir()
    for i in range(3):
        Image.fromarray((np.arange(64 * 64).reshape(64, 64) * 16).astype(np.uint16)).save(tmp / "deep" / f"{i}.png")
    (tmp / "junk.npz").write_text("not an archive")
    _images(tmp)


def _bad_statistics(tmp: Path) -> None:
    """Inception statistics (pytorch-fid's mu, sigma) a user could hand over: good, with a NaN, not symmetric."""
    d = 8
    np.savez(tmp / "good.npz", mu=np.zeros(d), sigma=np.eye(d))
    nan = np.eye(d)
    nan[2, 3] = nan[3, 2] = np.nan
    np.savez(tmp / "nan.npz", mu=np.zeros(d), sigma=nan)
    lower = np.tril(np.ones((d, d)))  # a Cholesky factor saved as sigma
    np.savez(tmp / "factor.npz", mu=np.zeros(d), sigma=lower)
    np.savez(tmp / "infmu.npz", mu=np.full(d, np.inf), sigma=np.eye(d))


def _two_classes(tmp: Path) -> None:
    from conftest import write_folder

    files = {k: v for k, v in make_files(2).items() if k.split("/")[0] in ("Forest", "River")}
    write_folder(tmp / "two", files)


SETUPS = {"file": _file, "junk_zip": _junk_zip, "eleven": _eleven_classes, "missing": _missing_class,
          "notarun": _not_a_run, "images": _images, "cut_metrics": _run_with_cut_metrics,
          "cut_evaluations": _run_with_cut_evaluations, "cut_record": _run_with_cut_record,
          "bad_statistics": _bad_statistics, "word_value": _run_with_a_word_for_a_value,
          "nan_value": _run_with_a_missing_class_value,
          "sixteen_bit": _sixteen_bit, "two_classes": _two_classes}

# id, setup, arguments ({tmp} is the case's folder), exit code, words the error must contain
CASES = [
    ("unknown-variant", None, "run --variant paper_dcgn --out {tmp}/r", 2,
     ["unknown variant 'paper_dcgn'", "did you mean paper_dcgan"]),
    ("unknown-key", None, "config --variant paper_dcgan --set train.lr=1", 2,
     ["unknown configuration key 'train.lr'"]),
    ("set-without-equals", None, "config --variant paper_dcgan --set train.lr_g", 2, ["expected KEY=VALUE"]),
    ("batch-size-zero", None, "run --variant paper_dcgan --set train.batch_size=0 --out {tmp}/r", 2,
     ["train.batch_size=0 must be >= 1"]),
    ("negative-epochs", None, "run --variant paper_dcgan --epochs -2 --out {tmp}/r", 2, ["train.epochs=-2"]),
    ("bad-split", None, "config --variant paper_dcgan --split dev", 2, ["argument --split: invalid choice: 'dev'"]),
    ("ema-decay-one", None, "config --variant paper_dcgan --set train.g_ema=1", 2,
     ["train.g_ema=1.0 must be in [0, 1)"]),
    ("r1-negative", None, "config --variant paper_dcgan --set train.r1_gamma=-1", 2, ["train.r1_gamma=-1.0"]),
    ("unknown-metric", None, "config --variant paper_dcgan --set eval.metrics=fid,fad", 2, ["eval.metrics='fid,fad'"]),
    ("argument-of-no-command", None, "data verify {tmp}/x.zip", 2,
     ["harness: error: data verify: unrecognized arguments: {tmp}/x.zip (see `harness data verify --help`)"]),
    ("no-command", None, "", 2,
     ["harness: error: the following arguments are required: COMMAND (see `harness --help`)"]),
    ("unknown-profile", None, "run --variant paper_dcgan --profile huge --out {tmp}/r", 2,
     ["argument --profile: invalid choice: 'huge'"]),
    ("no-variant-matches", None, "variants *zzz*", 2, ["no variant matches '*zzz*'"]),
    ("devices-zero", None, "run --variant paper_dcgan --profile smoke --devices 0 --out {tmp}/r", 2,
     ["--devices '0': expected all or a positive integer"]),
    ("out-is-a-file", "file", "run --variant paper_dcgan --profile smoke --out {tmp}/afile", 2,
     ["--out {tmp}/afile: exists and is a file, not a folder"]),
    ("out-under-a-file", "file", "sweep --variants paper_dcgan --profile smoke --out {tmp}/afile/sub", 2,
     ["{tmp}/afile is a file, so the folder cannot be created"]),
    ("data-missing", None, "run --variant paper_dcgan --profile smoke --data {tmp}/nope.zip --out {tmp}/r", 2,
     ["{tmp}/nope.zip: no such file or folder"]),
    ("data-not-a-zip", "junk_zip", "data verify --data {tmp}/junk.zip", 2, ["{tmp}/junk.zip: not a zip archive"]),
    ("data-eleventh-class", "eleven", "data verify --data {tmp}/eleven.zip", 1,
     ["folder EuroSAT_RGB/Glacier/ is not one of the ten EuroSAT classes"]),
    ("data-class-missing", "missing", "data verify --data {tmp}/missing.zip", 1, ["class folder River/ is missing"]),
    ("generate-not-a-run", "notarun", "generate {tmp}/notarun --out {tmp}/o", 2, ["not a run folder (no config.json)"]),
    ("eval-not-a-run", "notarun", "eval {tmp}/notarun", 2, ["not a run folder (no config.json)"]),
    ("fid-missing-set", "images", "fid {tmp}/a.npz {tmp}/b.npz", 2, ["{tmp}/b.npz"]),
    ("fid-unknown-metric", "images", "fid {tmp}/a.npz {tmp}/a.npz --metrics fid,recal", 2,
     ["--metrics 'fid,recal': choose from fid, kid, fid_terms, precision, recall, density, coverage"]),
    ("fid-k-too-large", "images", "fid {tmp}/a.npz {tmp}/a.npz --metrics precision --k 4", 2,
     ["--k 4: needs more than 4 images in each set"]),
    ("report-nothing", "notarun", "report {tmp}/notarun --no-floor", 2, ["no runs to report"]),
    ("report-only-damaged", "cut_metrics", "report {tmp} --no-floor", 2,
     ["no runs to report", "{tmp}/paper_dcgan-smoke-s0/metrics.csv: damaged table: line"]),
    ("eval-cut-metrics", "cut_metrics", "eval {tmp}/paper_dcgan-smoke-s0", 2,
     ["{tmp}/paper_dcgan-smoke-s0/metrics.csv: damaged table: line", "is cut off"]),
    ("eval-cut-evaluations", "cut_evaluations", "eval {tmp}/paper_dcgan-smoke-s0", 2,
     ["{tmp}/paper_dcgan-smoke-s0/evaluations.jsonl: damaged record: line 1 is cut off"]),
    ("eval-cut-record", "cut_record", "eval {tmp}/paper_dcgan-smoke-s0", 2,
     ["{tmp}/paper_dcgan-smoke-s0/config.json: not valid JSON"]),
    ("seed-beyond-32-bits", None, "run --variant paper_dcgan --profile smoke --seed 4294967296 --out {tmp}/r", 2,
     ["seed=4294967296 must be in 0 to 4294967295"]),
    ("set-names-the-seed", None, "run --variant paper_dcgan --profile smoke --set seed=5 --out {tmp}/r", 2,
     ["--set seed=5: seed names the run; use --seed"]),
    ("set-names-the-variant", None, "run --variant paper_dcgan --profile smoke --set variant=no_batchnorm "
     "--out {tmp}/r", 2, ["--set variant=no_batchnorm: variant names the run; use --variant"]),
    ("lr-infinite", None, "config --variant paper_dcgan --set train.lr_g=inf", 2,
     ["train.lr_g=inf must be a finite number > 0"]),
    ("sweep-jobs-zero", None, "sweep --variants paper_dcgan --profile smoke --jobs 0 --out {tmp}/r", 2,
     ["--jobs 0: must be at least 1"]),
    ("fid-batch-negative", "images", "fid {tmp}/a.npz {tmp}/a.npz --batch -1", 2, ["--batch -1: must be at least 1"]),
    ("fid-batch-zero", "images", "fid {tmp}/a.npz {tmp}/a.npz --batch 0", 2, ["--batch 0: must be at least 1"]),
    ("fid-class-unlabelled-npz", "images", "fid {tmp}/a.npz {tmp}/a.npz --class Forest", 2,
     ["{tmp}/a.npz: --class Forest: the .npz has no 'labels' and 'class_names'"]),
    ("fid-class-not-in-zip", "eleven", "fid {tmp}/eleven.zip {tmp}/eleven.zip --class Lake", 2,
     ["{tmp}/eleven.zip: no image of class Lake"]),
    ("fid-16-bit-images", "sixteen_bit", "fid {tmp}/deep {tmp}/a.npz", 2,
     ["{tmp}/deep/0.png: a I;16 image (16-bit or float); the harness compares 8-bit RGB images"]),
    ("fid-garbage-npz", "sixteen_bit", "fid {tmp}/junk.npz {tmp}/a.npz", 2,
     ["{tmp}/junk.npz: not an image-set .npz"]),
    ("fid-statistics-with-nan", "bad_statistics", "fid {tmp}/good.npz {tmp}/nan.npz", 2,
     ["{tmp}/nan.npz: sigma has 2 values that are not finite"]),
    ("fid-statistics-mean-infinite", "bad_statistics", "fid {tmp}/infmu.npz {tmp}/good.npz", 2,
     ["{tmp}/infmu.npz: mu has 8 values that are not finite"]),
    ("fid-statistics-not-symmetric", "bad_statistics", "fid {tmp}/good.npz {tmp}/factor.npz", 2,
     ["{tmp}/factor.npz: sigma is not symmetric", "so not a covariance matrix"]),
    ("run-out-unwritable", None, "run --variant paper_dcgan --profile smoke --out /proc/harness-x", 2,
     ["--out /proc/harness-x: /proc is not writable"]),
    ("report-out-unwritable", "word_value", "report {tmp} --out /proc/harness-x --no-floor", 2,
     ["--out /proc/harness-x: /proc is not writable"]),
    ("transfer-out-is-a-file", "file", "transfer {tmp} {tmp} --out {tmp}/afile", 2,
     ["--out {tmp}/afile: exists and is a file, not a folder"]),
    ("generate-out-unwritable", "notarun", "generate {tmp}/notarun --out /proc/harness-x", 2,
     ["--out /proc/harness-x: /proc is not writable"]),
    ("data-with-two-classes", "two_classes", "run --variant paper_dcgan --profile smoke --data {tmp}/two "
     "--out {tmp}/r", 2, ["no training images of AnnualCrop, HerbaceousVegetation", "(8 of 10 classes)"]),
    ("report-value-not-a-number", "word_value", "report {tmp} --no-floor", 2,
     ["no runs to report", "metrics.csv: damaged table: line", "has value 'abc', not a number"]),
    ("report-class-value-missing", "nan_value", "report {tmp} --no-floor", 2,
     ["no runs to report", "metrics.csv: damaged table: line", "has no value for fid"]),
    ("generate-cut-record", "cut_record", "generate {tmp}/paper_dcgan-smoke-s0 --out {tmp}/o", 2,
     ["{tmp}/paper_dcgan-smoke-s0/config.json: not valid JSON"]),
]


def _tree(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir"
            for p in sorted(root.rglob("*"))}


@pytest.mark.parametrize("name,setup,args,code,words", CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_one_clear_line_and_changes_nothing(name, setup, args, code, words, tmp_path):
    case = tmp_path / "case"
    case.mkdir()
    if setup:
        SETUPS[setup](case)
    before = _tree(case)
    env = {**os.environ, "HARNESS_EUROSAT": ""}  # no data unless the case names it
    argv = [part.format(tmp=case) for part in args.split()]
    result = subprocess.run([sys.executable, "-m", "harness", *argv], capture_output=True, text=True, env=env,
                            timeout=300)
    assert result.returncode == code, result.stderr[-2000:]
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr, result.stderr
    if code == 2:
        errors = [line for line in result.stderr.splitlines() if line.startswith("harness: error:")]
        assert len(errors) == 1, result.stderr
        text = errors[0]
    else:
        text = result.stderr
    for word in words:
        assert word.format(tmp=case) in text, text
    assert _tree(case) == before, "a bad input changed or wrote files"
