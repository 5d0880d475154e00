"""Run folders in the harness's own format with known values, for the tests of what reads them (no training), and
the damage a full disk does to a file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from harness import config, images
from harness.data import eurosat
from harness.runs import runner
from harness.runs.rundir import METRIC_COLUMNS, RunDir

LEGACY_COLUMNS = [c for c in METRIC_COLUMNS if c != "settings"]


def write_run(root: Path, variant: str, seed: int, *, status="done", epochs=2, offset=0.0,
              machine: dict | None = None, won: tuple[int, ...] = (), code: dict | None = None,
              profile: str = "smoke") -> RunDir:
    """A run folder in the harness's own format, with known FID/KID values, losses and a sample grid; in the
    epochs `won` its discriminator is right on every real and generated image (a failed run)."""
    cfg = runner.resolve(variant, profile=profile, seed=seed, overrides={"train.epochs": str(epochs)})
    rd = RunDir(root / runner.default_run_id(cfg))
    rd.path.mkdir(parents=True)
    record = {"run_id": rd.run_id, "config": config.flatten(cfg),
              "data": {"digest": "d" * 64, "source": "/nowhere/EuroSAT.zip"}}
    if machine is not None:  # runs written before runs recorded their machine have no such key
        record["machine"] = machine
    if code is not None:  # runs made before harness 0.5.0 did not record their code
        record["code"] = code
    rd.write_record(record)
    rows, steps = [], []
    for epoch in range(1, epochs + 1):
        acc = (1.0, 1.0) if epoch in won else (0.8, 0.7)
        for name, value in (("d_loss", 1.0 + 0.1 * seed), ("g_loss", 2.0 - 0.1 * epoch), ("d_acc_real", acc[0]),
                            ("d_acc_fake", acc[1])):
            rows.append((epoch, "", name, value, None, None))
        steps += [(epoch, epoch * 2 - 1 + k, 1.0, 2.0, 0.8, 0.7) for k in range(2)]
        for cls_i, cls in enumerate(eurosat.CLASSES):
            fid = 100 + 10 * cls_i + offset + 50 * (epochs - epoch)
            rows += [(epoch, cls, "fid", fid, 20, 20), (epoch, cls, "kid", fid / 1000, 20, 20)]
        rows += [(epoch, "mean", "fid", 145 + offset + 50 * (epochs - epoch), None, 20),
                 (epoch, "mean", "kid", (145 + offset + 50 * (epochs - epoch)) / 1000, None, 20),
                 (epoch, "all", "fid", 130 + offset, 200, 200)]
    # Written without the settings column, as harness versions before it did: the report must read both.
    frame = pd.DataFrame([(rd.run_id, variant, seed, *r) for r in rows], columns=LEGACY_COLUMNS)
    rd.write_table(rd.metrics_path, frame)
    rd.write_table(rd.steps_path, pd.DataFrame(steps, columns=["epoch", "step", "d_loss", "g_loss", "d_acc_real",
                                                                "d_acc_fake"]))
    grid = images.grid(np.full((40, 64, 64, 3), (90 + 40 * seed) % 256, np.uint8), 10, row_labels=list(eurosat.CLASSES))
    images.save_png(rd.sample_path(epochs), grid)
    rd.set_status(status)
    return rd


def cut_mid_line(path, share=0.5):
    """Keep the first `share` of the file's bytes, ending inside a line (as a full disk leaves a file)."""
    data = path.read_bytes()
    keep = int(len(data) * share)
    while data[keep - 1:keep] == b"\n":
        keep -= 1
    path.write_bytes(data[:keep])
