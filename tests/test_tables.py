"""A run's tables are read whole or not at all, and two writers never lose each other's rows.

A table cut mid-line (a full disk, an interrupted copy), cut at a line
boundary (it parses, but stops short of the epoch the run recorded as
finished), or with a line of the wrong shape is a DamagedTable naming the
file: the report leaves that run out with a warning its notes repeat; `harness
eval` and a resumed run refuse it before writing anything.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pandas as pd
import pytest
from fake_runs import cut_mid_line, write_run

from harness.errors import DamagedTable
from harness.report import build
from harness.runs.rundir import METRIC_COLUMNS, RunDir


def cut_at_line(path, share=0.5):
    """Keep whole lines only, up to about `share` of the file: it parses, but ends early."""
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(lines[:max(2, int(len(lines) * share))]))


@pytest.fixture
def results(tmp_path):
    root = tmp_path / "results"
    for seed in (0, 1, 2):
        write_run(root, "paper_dcgan", seed, epochs=4, offset=seed)
        write_run(root, "ttur", seed, epochs=4, offset=seed - 5)
    return root


DAMAGE = {"metrics-cut-mid-line": ("metrics.csv", cut_mid_line, "is cut off"),
          "metrics-cut-at-a-line": ("metrics.csv", cut_at_line, "ends at epoch"),
          "steps-cut-mid-line": ("steps.csv", cut_mid_line, "is cut off"),
          "steps-cut-at-a-line": ("steps.csv", cut_at_line, "ends at epoch")}


@pytest.mark.parametrize("case", DAMAGE)
def test_report_leaves_a_damaged_run_out_and_says_so(case, results, caplog):
    name, damage, words = DAMAGE[case]
    damaged = results / "ttur-smoke-s1" / name
    damage(damaged)
    before = {p: p.read_bytes() for p in results.rglob("*") if p.is_file()}
    with caplog.at_level("WARNING", logger="harness"):
        report = build(results, floor=False)
    assert str(damaged) in caplog.text and words in caplog.text
    note = [n for n in report.notes if str(damaged) in n]
    assert len(note) == 1 and words in note[0] and "damaged table" in note[0]
    runs = pd.read_csv(report.out / "runs.csv")
    assert "ttur-smoke-s1" not in set(runs["run"]) and len(runs) == 5
    fid = pd.read_csv(report.out / "fid-per-class.csv")
    ttur = fid[(fid["group"] == "ttur") & (fid["class"] == "mean")].iloc[0]
    assert ttur["seeds"] == 2  # pooled over the two whole runs only, never over the damaged one's epoch 2
    assert all(p.read_bytes() == data for p, data in before.items())


def test_cut_table_half_line_is_never_read_as_data(tmp_path):
    rd = write_run(tmp_path, "paper_dcgan", 0, epochs=3)
    cut_mid_line(rd.metrics_path)
    with pytest.raises(DamagedTable, match=r"metrics\.csv: damaged table: line \d+ is cut off"):
        rd.metrics()


@pytest.mark.parametrize("text,words", [
    ("", "the file is empty"),
    ("epoch,step,d_loss,g_loss,d_acc_real,d_acc_fake\n1,1,0.5,0.5,0.5\n", "line 2 has 5 fields, the header 6"),
    ("epoch,step,d_loss,g_loss,d_acc_real,d_acc_fake\n1,1,0.5,0.5,0.5,0.5,9\n", "line 2 has 7 fields"),
    ("epoch,step,d_loss,g_loss,d_acc_real\n1,1,0.5,0.5,0.5\n", "the header lacks d_acc_fake"),
    ("epoch,step,d_loss,g_loss,d_acc_real,d_acc_fake\n1,1,0.5,0.5,0.5,0.5\nx,2,0.5,0.5,0.5,0.5\n",
     "line 3 has epoch 'x', not an integer"),
])
def test_steps_table_shapes_that_are_refused(text, words, tmp_path):
    rd = RunDir(tmp_path)
    rd.steps_path.write_text(text)
    with pytest.raises(DamagedTable, match=words):
        rd.steps()


def test_a_run_in_progress_is_held_to_its_checkpoint_epoch(tmp_path):
    """A running run's tables must reach its newest checkpoint's epoch (they may go past it: a kill between the
    tables and the checkpoint), and a done run's its last epoch."""
    import numpy as np

    rd = write_run(tmp_path, "paper_dcgan", 0, epochs=3, status="running")
    rd.tables()  # no checkpoint: nothing to hold them to
    rd.checkpoints_dir.mkdir()
    np.savez(rd.last_checkpoint, **{"counter/epoch": np.int64(3), "counter/step": np.int64(6)})
    assert rd.finished_epoch() == 3
    rd.tables()
    np.savez(rd.last_checkpoint, **{"counter/epoch": np.int64(4), "counter/step": np.int64(8)})
    with pytest.raises(DamagedTable, match="ends at epoch 3, but the run recorded epoch 4 as finished"):
        rd.tables()
    rd.last_checkpoint.write_bytes(b"junk")  # unreadable: the one before it counts, as a resume would use it
    np.savez(rd.previous_checkpoint, **{"counter/epoch": np.int64(2), "counter/step": np.int64(4)})
    assert rd.finished_epoch() == 2


def test_damaged_evaluations_record_is_refused_not_extended(tmp_path):
    rd = write_run(tmp_path, "paper_dcgan", 0)
    rd.append_evaluation({"epoch": 2, "metrics": ["fid"]})
    rd.append_evaluation({"epoch": 2, "metrics": ["kid"]})
    assert [r["metrics"] for r in rd.evaluations()] == [["fid"], ["kid"]]
    cut_mid_line(rd.evaluations_path, 0.75)
    before = rd.evaluations_path.read_bytes()
    with pytest.raises(DamagedTable, match=r"evaluations\.jsonl: damaged record: line 2 is cut off"):
        rd.append_evaluation({"epoch": 2, "metrics": ["prdc"]})
    assert rd.evaluations_path.read_bytes() == before


# Two writers: `harness eval` merging rows while the training rewrites the table each epoch (and two evals). ----
WRITER = textwrap.dedent("""
    import sys
    sys.path.insert(0, sys.argv[3])
    from harness.runs.rundir import RunDir
    from harness.rows import row

    rd, role = RunDir(sys.argv[1]), sys.argv[2]
    mine = rd.metrics().to_dict("records") if role == "training" else None
    for i in range(40):
        if role == "training":  # what the trainer does at every epoch end
            mine.append({"run": rd.run_id, "variant": "paper_dcgan", "seed": 0, **row(100 + i, "", "g_loss", i)})
            rd.write_training_metrics(mine)
        else:  # what `harness eval` does with its rows
            rd.merge_metrics([row(2, "Forest", "fid", i, 10, 10, settings=f"{role}={i}")], variant="paper_dcgan",
                             seed=0)
""")


@pytest.mark.parametrize("roles", [("training", "eval_a"), ("eval_a", "eval_b")])
def test_two_writers_lose_no_rows(roles, tmp_path):
    from pathlib import Path

    rd = write_run(tmp_path, "paper_dcgan", 0)
    before = len(rd.metrics())
    tests = str(Path(__file__).parent)
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(rd.path), role, tests]) for role in roles]
    assert [p.wait(timeout=300) for p in procs] == [0, 0]
    table = rd.metrics()
    assert len(table) == before + 80
    for role in roles:
        if role == "training":
            assert sorted(table.loc[table["metric"] == "g_loss", "epoch"].tolist())[-40:] == list(range(100, 140))
        else:
            assert (table["settings"].str.startswith(f"{role}=")).sum() == 40
    assert list(table.columns) == METRIC_COLUMNS
