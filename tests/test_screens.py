"""Seeds that screened (chose a budget or a variant) are recorded, and then never confirm what they chose."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from fake_runs import write_run

from harness.cli import main
from harness.report import build
from harness.runs import screens, sequential

OFFSETS = {"paper_dcgan": [0.0, 10.0, 4.0, 6.0], "spectral_norm": [-60.0, -22.0, -27.0, -20.0]}


@pytest.fixture
def results(tmp_path):
    root = tmp_path / "results"
    for variant, offsets in OFFSETS.items():
        for seed, offset in enumerate(offsets):
            write_run(root, variant, seed, offset=offset)
    return root


def test_a_recorded_screen_is_appended_and_read_back(tmp_path):
    first = screens.record(tmp_path, [0], "the budget, from seed-0 curves", profile="bench")
    screens.record(tmp_path, [1, 0, 1], "  nearest_upsampling,\n out of six ", variants=("a", "b"))
    got = screens.read(tmp_path)
    assert got[0] == first and got[1].seeds == (0, 1) and got[1].why == "nearest_upsampling, out of six"
    assert got[1].variants == ("a", "b") and got[0].recorded.endswith("+00:00")
    assert screens.screened_seeds(got) == {0, 1} and screens.confirmatory([3, 0, 2, 1], got) == [3, 2]
    assert screens.read(tmp_path / "elsewhere") == []
    with pytest.raises(Exception, match="say what the screened seeds chose"):
        screens.record(tmp_path, [2], "  ")
    assert len(screens.read(tmp_path)) == 2  # a refused record leaves the file as it was


def test_the_report_tests_on_the_seeds_no_screen_used_by_default(results, capsys):
    assert main(["screened", str(results), "--seeds", "0", "--why", "spectral_norm, out of a seed-0 screen"]) == 0
    assert "spectral_norm, out of a seed-0 screen" in capsys.readouterr().out
    report = build(results, floor=False, formats=("md",))
    cmp = pd.read_csv(report.out / "fid-vs-baseline.csv").set_index("variant")
    by_hand = np.mean([OFFSETS["spectral_norm"][s] - OFFSETS["paper_dcgan"][s] for s in (1, 2, 3)])
    assert cmp.loc["spectral_norm", "pairs"] == 3 and cmp.loc["spectral_norm", "fid difference"] == pytest.approx(
        by_hand)
    note = next(n for n in report.notes if "Declared family" in n)
    assert "confirmatory seeds 1, 2, 3 only; seed 0 screened" in note
    assert "Recorded screens (screens.json): seed 0 screened (spectral_norm, out of a seed-0 screen)" in note
    # --confirm-seeds all: every seed testifies, and the note says it was asked for.
    every = build(results, floor=False, formats=("md",), use_screens=False, out=results / "every")
    assert pd.read_csv(every.out / "fid-vs-baseline.csv").set_index("variant").loc["spectral_norm", "pairs"] == 4
    assert any("as asked (--confirm-seeds all)" in n for n in every.notes)
    assert main(["report", str(results), "--confirm-seeds", "all", "--no-floor", "--format", "md",
                 "--out", str(results / "every2")]) == 0
    # Naming a screened seed confirmatory is allowed, and said.
    named = build(results, floor=False, formats=("md",), confirm_seeds=[0, 1, 2], out=results / "named")
    assert any("seed 0 recorded as screening yet named confirmatory" in n for n in named.notes)


def test_a_folder_whose_every_seed_screened_is_refused_in_one_line(results, capsys):
    assert main(["screened", str(results), "--seeds", "0-3", "--why", "everything"]) == 0
    capsys.readouterr()
    assert main(["report", str(results), "--no-floor", "--format", "md"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "screens.json: every seed present (0, 1, 2, 3) screened" in err[0]
    assert not (results / "report").exists()


def test_screened_refuses_half_a_record_and_a_damaged_file_in_one_line(results, capsys):
    assert main(["screened", str(results), "--seeds", "0"]) == 2
    assert "give --seeds and --why together" in capsys.readouterr().err
    assert main(["screened", str(results)]) == 0 and "no screen recorded" in capsys.readouterr().out
    (results / screens.FILE).write_text('{"screens": [{"seeds": "x"}]}')
    assert main(["report", str(results), "--no-floor"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "screens.json: not a screens record" in err[0]
    assert main(["screened", str(results), "--seeds", "1", "--why", "more"]) == 2  # never overwrites it
    assert (results / screens.FILE).read_text() == '{"screens": [{"seeds": "x"}]}'


def test_a_sweep_screen_is_recorded_before_it_trains(tmp_path, monkeypatch):
    from harness.runs import sweep as sweep_mod

    seen = []

    def fake_sweep(cells, **options):  # what the record says when training starts
        seen.append(screens.read(tmp_path))
        return []

    monkeypatch.setattr(sweep_mod, "sweep", fake_sweep)
    assert main(["sweep", "--variants", "paper_dcgan,ttur", "--seeds", "0,1", "--profile", "smoke",
                 "--screen", "the learning rate", "--out", str(tmp_path)]) == 0
    (screen,) = seen[0]
    assert screen.seeds == (0, 1) and screen.variants == ("paper_dcgan", "ttur") and screen.profile == "smoke"
    assert main(["sweep", "--variants", "paper_dcgan", "--seeds", "0", "--profile", "smoke", "--dry-run",
                 "--screen", "x", "--out", str(tmp_path)]) == 0
    assert len(screens.read(tmp_path)) == 1  # a dry run records nothing
    assert main(["sweep", "--variants", "paper_dcgan,ttur", "--seeds", "0,1", "--profile", "smoke",
                 "--screen", "the learning rate", "--out", str(tmp_path)]) == 0
    assert screens.read(tmp_path) == [screen]  # resumed: on record once, with the time it began
    assert main(["sweep", "--variants", "paper_dcgan,ttur", "--seeds", "2,3", "--profile", "bench",
                 "--until-decided", "--screen", "x", "--out", str(tmp_path)]) == 2


def test_seeds_on_demand_neither_start_from_nor_add_a_screened_seed(tmp_path, capsys):
    assert sequential.seed_order([5, 6], 6, skip={0, 2}) == [5, 6, 1, 3, 4, 7]
    screens.record(tmp_path, [0, 2], "the budget")
    assert main(["sweep", "--variants", "paper_dcgan,ttur", "--seeds", "0-2", "--profile", "bench",
                 "--until-decided", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "seed 0 screened" in err[0]


def test_transfer_leaves_out_a_seed_either_budget_screened(tmp_path):
    from harness.report import transfer

    bench, long = tmp_path / "bench", tmp_path / "long"
    offsets = {"paper_dcgan": [0, 10, 4, 3], "spectral_norm": [-60, -22, -27, -25], "ttur": [1, 12, 3, 2]}
    for variant, values in offsets.items():
        for seed, offset in enumerate(values):
            write_run(bench, variant, seed, offset=offset)
            write_run(long, variant, seed, offset=offset + 5 - (seed == 1))
    screens.record(bench, [0], "spectral_norm")
    table, ranks = transfer.transfer(bench, long)
    sn = table.set_index(["variant", "metric"]).loc[("spectral_norm", "Inception FID")]
    assert sn["matched seeds"] == "1,2,3" and sn["dropped"] == "s0 (screened)"
    by_hand = np.mean([offsets["spectral_norm"][s] - offsets["paper_dcgan"][s] for s in (1, 2, 3)])
    assert sn["effect bench"] == pytest.approx(by_hand)
    assert set(ranks["seeds"]) == {"1,2,3"}
    kept, _ = transfer.transfer(bench, long, use_screens=False)
    assert kept.set_index(["variant", "metric"]).loc[("spectral_norm", "Inception FID"), "n"] == 4
    assert json.loads((bench / screens.FILE).read_text())["screens"][0]["seeds"] == [0]
