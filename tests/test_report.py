"""`harness report`: statistics, tables, figures, robustness to odd folders, and the HTML in a real browser."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import load_tool
from fake_runs import LEGACY_COLUMNS, write_run
from scipy import stats as sps

from harness.cli import main
from harness.data import eurosat
from harness.evaluate.metrics.inception_distances import PAPER_FID
from harness.report import build, stats
from harness.runs import runner
from harness.runs.rundir import METRIC_COLUMNS, RunDir

# A stand-in grid of known per-run values: variant -> seed -> class-mean FID offset.
OFFSETS = {"paper_dcgan": {0: 0.0, 1: 10.0, 2: 4.0}, "spectral_norm": {0: -30.0, 1: -22.0, 2: -27.0},
           "ttur": {0: 1.0, 1: 12.0, 2: 3.0}}


@pytest.fixture
def results(tmp_path) -> Path:
    root = tmp_path / "results"
    for variant, seeds in OFFSETS.items():
        for seed, offset in seeds.items():
            write_run(root, variant, seed, offset=offset)
    return root


def test_mean_ci_is_students_t():
    values = [3.0, 5.0, 10.0]
    mean, half, n = stats.mean_ci(values)
    low, high = sps.t.interval(0.95, 2, loc=np.mean(values), scale=sps.sem(values))
    assert (mean, n) == (6.0, 3) and half == pytest.approx((high - low) / 2)
    assert np.isnan(stats.mean_ci([4.0])[1])


def test_figure_bands_are_the_tables_t_interval():
    from harness.report.figures import _t_interval

    low, high = _t_interval(pd.Series([3.0, 5.0, 10.0]))
    mean, half, _ = stats.mean_ci([3.0, 5.0, 10.0])
    assert (low, high) == pytest.approx((mean - half, mean + half))
    assert _t_interval([4.0]) == (4.0, 4.0)  # one seed: no band rather than a made-up one


def test_figure_captions_say_whether_there_is_a_band():
    from harness.report.figures import _spread

    rows = pd.DataFrame({"variant": ["a", "a", "b"], "run": ["a-s0", "a-s1", "b-s0"]})
    assert _spread(rows) == "band: 95% CI over seeds (none for a variant with one seed)"
    assert _spread(rows[rows["variant"] == "a"]) == "band: 95% CI over seeds"
    assert _spread(rows[rows["variant"] == "b"]) == "one seed per variant: no band"
    assert _spread(rows.rename(columns={"variant": "group"}).iloc[2:], "whiskers", by="group") == (
        "one seed per variant: no whiskers")


def test_holm_matches_the_textbook_example():
    # Holm (1979) step-down: sorted p 0.01, 0.02, 0.04 with m = 3 -> 0.03, 0.04, 0.04.
    assert stats.holm([0.04, 0.01, 0.02]) == pytest.approx([0.04, 0.03, 0.04])
    assert stats.holm([0.5, float("nan")])[0] == 0.5 and np.isnan(stats.holm([0.5, float("nan")])[1])


def test_report_tables_numbers_and_files(results):
    report = build(results, floor=False)
    fid = pd.read_csv(report.out / "fid-per-class.csv")
    forest = fid[(fid["group"] == "spectral_norm") & (fid["class"] == "Forest")].iloc[0]
    expected = [110 + o for o in OFFSETS["spectral_norm"].values()]  # Forest is class 1: 100 + 10
    assert forest["mean"] == pytest.approx(np.mean(expected))
    assert forest["ci95"] == pytest.approx(sps.t.ppf(0.975, 2) * np.std(expected, ddof=1) / np.sqrt(3))
    assert forest["runs"] == "spectral_norm-smoke-s0 spectral_norm-smoke-s1 spectral_norm-smoke-s2"
    paper = fid[fid["group"].str.startswith("paper (2022)")].set_index("class")["mean"].to_dict()
    assert paper == PAPER_FID
    cmp = pd.read_csv(report.out / "fid-vs-baseline.csv").set_index("variant")
    diffs = {v: [OFFSETS[v][s] - OFFSETS["paper_dcgan"][s] for s in range(3)] for v in ("spectral_norm", "ttur")}
    for v, d in diffs.items():
        assert cmp.loc[v, "fid difference"] == pytest.approx(np.mean(d))
        expected_p = sps.ttest_rel([145 + OFFSETS[v][s] for s in range(3)],
                                   [145 + OFFSETS["paper_dcgan"][s] for s in range(3)]).pvalue
        assert cmp.loc[v, "p"] == pytest.approx(expected_p)
    assert cmp["p (Holm)"].tolist() == pytest.approx(stats.holm(cmp["p"].tolist()))
    md = (report.out / "report.md").read_text()
    assert "Per-class FID" in md and "paper (2022), other Inception" in md and "## Runs behind every number" in md
    for name in ("fid-vs-epoch.png", "losses.png", "d-accuracy.png", "fid-per-class-bars.png",
                 "samples-paper_dcgan.png"):
        assert (report.out / "figures" / name).stat().st_size > 1000, name
    assert (report.out / "figures" / "fid-vs-epoch.svg").is_file()
    assert "best epoch" in report.terminal and "spectral_norm" in report.terminal


def test_a_report_remade_from_the_same_runs_writes_the_same_figures(results):
    """Committed reports are remade as runs grow: a figure whose data did not change must not change a byte (SVGs
    otherwise carry a date and random element ids, and every remake rewrote all of them)."""
    first = build(results, floor=False)
    figures = {p.name: p.read_bytes() for p in (first.out / "figures").glob("*.*")}
    assert any(name.endswith(".svg") for name in figures)
    again = build(results, floor=False)
    assert {p.name: p.read_bytes() for p in (again.out / "figures").glob("*.*")} == figures


def add_domain_rows(rd: RunDir, variant: str, seed: int, *, epoch: int, alone: float, gain: float) -> None:
    """Append what `harness eval --metrics fidelity,cas,augmentation` writes, with known values."""
    rows = [(epoch, "mean", "label_fidelity", 0.3 + gain, None, 20), (epoch, "all", "cas", 0.2 + gain, 2700, 21600)]
    for k, lift in ((10, 1.0), (50, 0.5)):
        rows += [(epoch, f"k={k}", "accuracy_real_only", alone * lift, 10 * k, 0),
                 (epoch, f"k={k}", "accuracy_with_generated", alone * lift + gain, 10 * k, 5000),
                 (epoch, f"k={k}", "augmentation_gain", gain, 10 * k, 5000),
                 (epoch, f"k={k}", "augmentation_gain_sd", 0.01, 10 * k, 5000)]
    extra = pd.DataFrame([(rd.run_id, variant, seed, *r) for r in rows], columns=LEGACY_COLUMNS)  # k in "class"
    rd.write_table(rd.metrics_path, pd.concat([rd.metrics(), extra], ignore_index=True))


def test_domain_and_augmentation_tables_and_figure(tmp_path):
    root, gains = tmp_path / "results", {0: 0.02, 1: 0.05, 2: -0.01}
    for seed, gain in gains.items():
        rd = write_run(root, "paper_dcgan", seed)
        add_domain_rows(rd, "paper_dcgan", seed, epoch=2, alone=0.4, gain=gain)
    report = build(root, floor=False)
    tidy = pd.read_csv(report.out / "augmentation.csv")
    gain = tidy[(tidy["metric"] == "augmentation_gain") & (tidy["k"] == 10)].iloc[0]
    values = list(gains.values())
    assert gain["mean"] == pytest.approx(np.mean(values)) and gain["n_runs"] == 3
    assert gain["ci95"] == pytest.approx(sps.t.ppf(0.975, 2) * np.std(values, ddof=1) / np.sqrt(3))
    alone = tidy[(tidy["metric"] == "accuracy_real_only")].set_index("k")["mean"]
    assert alone.to_dict() == pytest.approx({10: 0.4, 50: 0.2})
    md = (report.out / "report.md").read_text()
    assert "## Augmentation gain" in md and "## EuroSAT domain metrics" in md
    assert f"{np.mean([0.2 + g for g in values]):.4f} ± " in md and "(n=3)" in md  # CAS, over the 3 runs
    assert (report.out / "figures" / "augmentation.png").stat().st_size > 1000


def test_partial_and_foreign_folders_do_not_stop_the_report(results, caplog):
    write_run(results, "hinge_loss", 0, status="running", epochs=3, offset=5)
    write_run(results, "diffaugment", 0, status="diverged at epoch 2", offset=5)
    (results / "holiday-photos").mkdir()
    (results / "holiday-photos" / "beach.jpg").write_bytes(b"\xff\xd8 not really")
    (results / "broken-run").mkdir()
    (results / "broken-run" / "config.json").write_text("{ truncated")
    (results / "alien").mkdir()
    (results / "alien" / "config.json").write_text('{"lr": 0.1}')
    before = {p: p.read_bytes() for p in results.rglob("*") if p.is_file()}
    with caplog.at_level("WARNING", logger="harness"):
        report = build(results, floor=False)
    assert "skipping" in caplog.text and "holiday-photos" in caplog.text
    notes = " ".join(report.notes)
    assert "hinge_loss-smoke-s0 is 'running'" in notes and "diverged" in notes
    assert "single seed (hinge_loss, diffaugment)" in notes or "single seed (diffaugment, hinge_loss)" in notes
    fid = pd.read_csv(report.out / "fid-per-class.csv")
    single = fid[(fid["group"] == "hinge_loss") & (fid["class"] == "mean")].iloc[0]
    assert single["seeds"] == 1 and np.isnan(single["ci95"])
    # The report wrote only into its own folder.
    assert all(p.read_bytes() == data for p, data in before.items())


def test_runs_table_names_each_runs_machine(tmp_path):
    """A sweep may span machines (rounding differs between CPU families): the runs table says which ran what."""
    root = tmp_path / "results"
    write_run(root, "paper_dcgan", 0, machine={"cpu": "AMD EPYC (family 26, model 2)", "cores": 2})
    write_run(root, "paper_dcgan", 1)
    runs = pd.read_csv(build(root, floor=False).out / "runs.csv").set_index("run")
    assert runs.loc["paper_dcgan-smoke-s0", "machine"] == "AMD EPYC (family 26, model 2)"
    assert runs.loc["paper_dcgan-smoke-s1", "machine"] == "not recorded"


def test_report_names_its_results_folder_as_given(tmp_path, monkeypatch):
    """A committed report says where its runs are as the user typed it, not the machine's absolute path."""
    write_run(tmp_path / "results", "paper_dcgan", 0)
    monkeypatch.chdir(tmp_path)
    md = (build(Path("results"), out=Path("rep"), formats=("md",), floor=False).out / "report.md").read_text()
    assert "Results: `results`" in md and str(tmp_path) not in md


def test_report_notes_a_run_whose_discriminator_won(tmp_path):
    """A run whose D tells every real from every generated image at its end is named as failed; one that
    recovered, or whose D wins only in its last two epochs, is not."""
    from harness.report.build import _discriminator_won
    from harness.report.collect import collect

    root = tmp_path / "results"
    write_run(root, "paper_dcgan", 0, epochs=6, won=(2, 3, 4, 5, 6))
    write_run(root, "paper_dcgan", 1, epochs=6, won=(1, 2, 3))
    write_run(root, "paper_dcgan", 2, epochs=6, won=(5, 6))
    write_run(root, "paper_dcgan", 3, epochs=6, won=(1, 3, 4, 5, 6))
    notes = _discriminator_won(collect(root))
    assert len(notes) == 2, notes
    assert notes[0].startswith("paper_dcgan-smoke-s0: ") and "from epoch 2 to its last (6)" in notes[0]
    assert notes[1].startswith("paper_dcgan-smoke-s3: ") and "from epoch 3 to its last (6)" in notes[1]


def test_cli_report_and_its_errors(results, tmp_path, capsys):
    assert main(["report", str(results), "--no-floor", "--variants", "paper_dcgan,ttur", "--format", "md",
                 "--out", str(tmp_path / "rep")]) == 0
    out = capsys.readouterr().out
    assert "spectral_norm" not in out and "report written to" in out
    assert (tmp_path / "rep" / "report.md").is_file() and not (tmp_path / "rep" / "report.html").exists()
    empty = tmp_path / "empty"
    empty.mkdir()
    for argv, message in (([str(empty)], "no runs to report"),
                          ([str(tmp_path / "missing")], "no such results folder"),
                          ([str(results), "--format", "pdf"], "argument --format: invalid choice: 'pdf'"),
                          ([str(results), "--variants", "nothing*"], "matches no run")):
        assert main(["report", *argv, "--no-floor"]) == 2
        err = capsys.readouterr().err
        assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


@pytest.mark.slow
@pytest.mark.eurosat
def test_report_of_a_real_smoke_run_with_the_floor(eurosat_path, tmp_path, inception):
    """A real (tiny) run folder from the runner, reported with the real-vs-real floor from real Inception."""
    from harness.evaluate.fid.floor import real_floor

    cfg = runner.resolve("paper_dcgan", profile="smoke", overrides={"train.epochs": "1"})
    runner.run(cfg, data=eurosat_path, out=tmp_path / "results")
    report = build(tmp_path / "results", floor=False)
    assert (report.out / "figures" / "losses.png").is_file()
    assert (report.out / "figures" / "samples-paper_dcgan.png").is_file()
    from harness.data import dataset

    ds = dataset.load(eurosat_path)
    floor = real_floor(ds, "train", 0, 8, extractor=inception)
    assert set(floor) == set(eurosat.CLASSES) | {"mean"} and all(v > 0 for v in floor.values())
    again = real_floor(ds, "train", 0, 8, extractor=lambda x: pytest.fail("recomputed cached features"))
    assert again == floor
    # Another feature space keys its own cache: the Inception features above are never served for it.
    means = real_floor(ds, "train", 0, 8, extractor=lambda x: x.reshape(len(x), -1, 3).mean(1),
                       features={"space": "channel means"})
    assert set(means) == set(floor) and means["mean"] != floor["mean"]
    assert real_floor(ds, "train", 0, 8, extractor=lambda x: pytest.fail("recomputed"),
                      features={"space": "channel means"}) == means


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


def test_html_report_renders_in_headless_chromium(results, tmp_path):
    browser = _chromium()
    if browser is None:
        if os.environ.get("HARNESS_REQUIRE_BROWSER"):
            pytest.fail("HARNESS_REQUIRE_BROWSER is set but no chromium is installed")
        pytest.skip("no chromium on this machine (Debian: apt-get install chromium)")
    report = build(results, floor=False)
    html = report.out / "report.html"
    assert "src='data:image/png;base64," in html.read_text() and "http" not in html.read_text().split("<body>")[0]
    flags = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=10000",
             f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run(flags + ["--dump-dom", html.as_uri()], capture_output=True, text=True, timeout=120).stdout
    figures = len(list((report.out / "figures").glob("*.png")))
    assert f'data-figures-loaded="{figures}/{figures}"' in dom
    for title in ("Per-class FID (final epoch)", "Per-class KID (final epoch)", "FID against the baseline",
                  "KID against the baseline", "Runs behind every number"):
        assert f"data-title=\"{title}" in dom or f"data-title='{title}" in dom or title in dom, title
    assert dom.count("<table") == len(list(report.out.glob("*.csv")))
    shot = tmp_path / "report.png"
    subprocess.run(flags + ["--hide-scrollbars", "--window-size=1400,2400", f"--screenshot={shot}", html.as_uri()],
                   capture_output=True, timeout=120, cwd=tmp_path)
    assert shot.stat().st_size > 10_000
    shutil.copy(shot, report.out / "screenshot.png")  # kept with the report for a human to look at


def test_class_ordering_ranks_each_run_then_averages(results):
    report = build(results, floor=False, formats=("md",))
    ranks = pd.read_csv(report.out / "class-ranks.csv")
    fid = ranks[(ranks["variant"] == "spectral_norm") & (ranks["metric"] == "fid")].set_index("class")
    # FID = 100 + 10 * class index + offset in every run: AnnualCrop best (1), SeaLake worst (10), no spread.
    assert fid.loc["AnnualCrop", "mean rank"] == 1 and fid.loc["SeaLake", "mean rank"] == 10
    assert fid["runs"].tolist() == [3] * 10 and (fid["ci95"] == 0).all()
    assert list(fid.index) == list(eurosat.CLASSES)  # sorted best first


def test_sampling_spread_is_kept_apart_and_marks_small_differences(tmp_path):
    """Rows from extra evaluation draws (eval.draw) never enter the main tables; they give the spread over
    draws, and a difference smaller than that spread is marked inconclusive."""
    root = tmp_path / "results"
    draws = {"paper_dcgan": (0.0, 3.0, -3.0), "spectral_norm": (0.0, 2.0, -2.0), "ttur": (0.0, 40.0, -40.0)}
    shift = {"paper_dcgan": 0.0, "spectral_norm": -30.0, "ttur": -1.0}
    for variant, moves in draws.items():
        for seed, offset in {0: 0.0, 1: 10.0, 2: 4.0}.items():
            rd = write_run(root, variant, seed, offset=offset + shift[variant])
            final = 145 + offset + shift[variant]
            extra = pd.DataFrame([(rd.run_id, variant, seed, 2, "mean", "fid", final + move, None, 20, f"draw={d}")
                                  for d, move in enumerate(moves) if d], columns=METRIC_COLUMNS)
            rd.write_table(rd.metrics_path, pd.concat([rd.metrics(), extra], ignore_index=True))
    report = build(root, floor=False)
    fid = pd.read_csv(report.out / "fid-per-class.csv")
    mean = fid[(fid["group"] == "paper_dcgan") & (fid["class"] == "mean")].iloc[0]
    assert mean["mean"] == pytest.approx(145 + np.mean([0.0, 10.0, 4.0]))  # draw rows left out
    spread = pd.read_csv(report.out / "spread-seeds-vs-draws.csv")
    spread = spread[spread["metric"] == "fid"].set_index("variant")
    assert spread.loc["paper_dcgan", "sd over draws"] == pytest.approx(3.0)  # sd of (0, 3, -3), every run alike
    assert spread.loc["paper_dcgan", "sd over seeds"] == pytest.approx(np.std([0.0, 10.0, 4.0], ddof=1))
    cmp = pd.read_csv(report.out / "fid-vs-baseline.csv").set_index("variant")
    assert cmp.loc["spectral_norm", "beyond sampling spread"] == "yes"  # -30 against hypot(3, 2)
    assert cmp.loc["ttur", "beyond sampling spread"] == "no: inconclusive"  # -1 against hypot(40, 3)
    assert cmp.loc["ttur", "sampling sd of difference"] == pytest.approx(np.hypot(40.0, 3.0))


def test_spread_over_seeds_and_draws_is_read_at_the_final_tables_n(tmp_path):
    """A later `harness eval --n 200` adds draw-0 rows at the last epoch beside the schedule's N = 20; the spread
    over seeds must then be one value per run, at the N the final table shows (the largest), and the spread over
    draws only from draws at that N: a second N's bias would pass for spread."""
    root = tmp_path / "results"
    for seed, offset in {0: 0.0, 1: 10.0, 2: 4.0}.items():
        rd = write_run(root, "paper_dcgan", seed, offset=offset)
        final = 145 + offset
        extra = [(rd.run_id, "paper_dcgan", seed, 2, "mean", "fid", final - 20.0, None, 200, ""),  # larger N
                 (rd.run_id, "paper_dcgan", seed, 2, "mean", "fid", final - 20.0 + 2.0, None, 200, "draw=1"),
                 (rd.run_id, "paper_dcgan", seed, 2, "mean", "fid", final - 20.0 - 2.0, None, 200, "draw=2"),
                 (rd.run_id, "paper_dcgan", seed, 2, "mean", "fid", final + 30.0, None, 20, "draw=1")]
        rd.write_table(rd.metrics_path, pd.concat([rd.metrics(), pd.DataFrame(extra, columns=METRIC_COLUMNS)],
                                                  ignore_index=True))
    report = build(root, floor=False)
    fid = pd.read_csv(report.out / "fid-per-class.csv")
    mean = fid[(fid["group"] == "paper_dcgan") & (fid["class"] == "mean")].iloc[0]
    assert mean["mean"] == pytest.approx(125 + np.mean([0.0, 10.0, 4.0]))  # the final table: N = 200
    spread = pd.read_csv(report.out / "spread-seeds-vs-draws.csv")
    row = spread[spread["metric"] == "fid"].set_index("variant").loc["paper_dcgan"]
    assert row["seeds"] == 3 and row["sd over seeds"] == pytest.approx(np.std([0.0, 10.0, 4.0], ddof=1))
    assert row["sd over draws"] == pytest.approx(2.0)  # sd of (0, +2, -2) at N = 200; the N = 20 draw left out
    assert row["draws per run"] == 3


def test_runs_pooled_across_a_setting_are_named():
    """Two precisions under one variant would pass for seed spread: the report says which setting differs."""
    from harness.report.build import _pooled_configurations
    from harness.report.collect import Results

    def run(name, seed, **cfg):
        return {"run": name, "variant": "paper_dcgan", "seed": seed, "profile": "cpu",
                "config": {"seed": seed, "train.precision": "float32", "eval.n": 100, **cfg}}

    same = pd.DataFrame([run("a", 0), run("b", 1)])
    assert _pooled_configurations(Results(same, pd.DataFrame(), pd.DataFrame(), [])) == []
    mixed = pd.DataFrame([run("a", 0), run("b", 1, **{"train.precision": "mixed_bfloat16"}),
                          {**run("c", 2), "config": {"seed": 2}}])  # an older run without the keys
    [note] = _pooled_configurations(Results(mixed, pd.DataFrame(), pd.DataFrame(), []))
    assert "paper_dcgan differ in train.precision (float32, mixed_bfloat16)" in note and "eval.n" not in note


def test_paired_power_matches_the_hand_computation():
    """Two-sided paired t at alpha 0.05: power 0.8031 for a standardised difference of 1 with 10 pairs, and 10,
    34 and 199 pairs for differences of 1, 0.5 and 0.2 sd (Cohen 1988; the values G*Power prints). By hand for
    n = 10, delta = sd = 1: the noncentral t with 9 df and noncentrality sqrt(10) beyond +-t_0.975,9 = 2.262."""
    crit = sps.t.ppf(0.975, 9)
    assert crit == pytest.approx(2.2622, abs=1e-4)
    by_hand = sps.nct.sf(crit, 9, np.sqrt(10)) + sps.nct.cdf(-crit, 9, np.sqrt(10))
    assert stats.paired_power(10, 1.0, 1.0, 0.05) == pytest.approx(by_hand, rel=1e-12)
    assert stats.paired_power(10, 1.0, 1.0, 0.05) == pytest.approx(0.8031, abs=1e-4)
    assert stats.paired_power(10, 2.0, 2.0, 0.05) == pytest.approx(0.8031, abs=1e-4)  # only delta / sd counts
    assert [stats.pairs_needed(d, 1.0, 0.05) for d in (1.0, 0.5, 0.2)] == [10, 34, 199]
    detectable = stats.detectable_difference(10, 1.0, 0.05)
    assert stats.paired_power(10, detectable, 1.0, 0.05) == pytest.approx(0.8, abs=1e-6)
    assert 0.99 < detectable < 1.0  # 10 pairs give a little over 80% at exactly 1 sd
    assert np.isnan(stats.detectable_difference(1, 1.0, 0.05)) and np.isnan(stats.pairs_needed(0.0, 1.0, 0.05))


def test_comparison_says_what_the_seeds_can_detect(results):
    from harness.report import collect, tables

    cmp = tables.comparison(collect.collect(results), "fid").set_index("variant")
    # paper_dcgan offsets 0, 10, 4; spectral_norm -30, -22, -27: differences -30, -32, -31 (sd 1).
    sn = cmp.loc["spectral_norm"]
    assert sn["sd of differences"] == pytest.approx(1.0)
    assert sn["power level"] == "alpha 0.05/2"
    assert sn["detectable (80% power)"] == pytest.approx(stats.detectable_difference(3, 1.0, 0.025))
    assert sn["seeds for observed difference"] == 2  # 31 sd apart: two seeds would do
    ttur = cmp.loc["ttur"]  # differences 1, 2, -1: mean 0.67, sd 1.53 -> needs many more seeds
    assert ttur["seeds for observed difference"] == stats.pairs_needed(2 / 3, np.std([1, 2, -1], ddof=1), 0.025)
    assert ttur["seeds for observed difference"] > 20 and ttur["detectable (80% power)"] > 3


def test_transfer_tests_the_change_of_each_effect_over_matched_seeds(tmp_path, capsys):
    from harness.report import transfer

    # Class-mean FID = 145 + offset (fake_runs); bench has seeds 0-4, long 0-2 and one seed (5) bench lacks.
    bench_offsets = {"paper_dcgan": [0, 10, 4, 3, 8], "spectral_norm": [-30, -22, -27, -25, -20],
                     "ttur": [1, 12, 3, 2, 9]}
    change = {"paper_dcgan": [0, 0, 0], "spectral_norm": [-10, -12, -11], "ttur": [0.5, -0.4, 0.1]}
    bench, long = tmp_path / "bench", tmp_path / "long"
    for variant, offsets in bench_offsets.items():
        for seed, offset in enumerate(offsets):
            write_run(bench, variant, seed, offset=offset)
        for seed in range(3):
            write_run(long / "runs", variant, seed, offset=offsets[seed] + 5 + change[variant][seed])
    write_run(long / "runs", "spectral_norm", 5, offset=0)
    write_run(long / "runs", "paper_dcgan", 5, offset=0)
    table, ranks = transfer.transfer(bench, long, margins={"fid": 5.0})  # long's runs are found in runs/
    table = table.set_index(["variant", "metric"])
    sn = table.loc[("spectral_norm", "Inception FID")]
    assert sn["matched seeds"] == "0,1,2" and sn["n"] == 3
    assert sn["dropped"] == "s3 (only bench), s4 (only bench), s5 (only long)"
    d_bench = np.array([bench_offsets["spectral_norm"][s] - bench_offsets["paper_dcgan"][s] for s in range(3)])
    d_long = d_bench + np.array(change["spectral_norm"])
    assert sn["effect bench"] == pytest.approx(d_bench.mean()) and sn["effect long"] == pytest.approx(d_long.mean())
    assert sn["p bench"] == pytest.approx(sps.ttest_1samp(d_bench, 0).pvalue)
    assert sn["change"] == pytest.approx(-11.0)
    assert sn["change ci95"] == pytest.approx(sps.t.ppf(0.975, 2) * 1.0 / np.sqrt(3))
    assert sn["change p"] == pytest.approx(sps.ttest_1samp([-10, -12, -11], 0).pvalue)
    assert table["change p (Holm)"].tolist() == pytest.approx(stats.holm(table["change p"].tolist()))
    assert sn["verdict"] == "changed" and sn["same sign"] and sn["seeds same sign"] == "3/3"
    # ttur: the change is small and the margin 5 is set for FID: two one-sided tests, by hand.
    tt = table.loc[("ttur", "Inception FID")]
    c = np.array(change["ttur"])
    se = c.std(ddof=1) / np.sqrt(3)
    by_hand = max(sps.t.sf((c.mean() + 5) / se, 2), sps.t.cdf((c.mean() - 5) / se, 2))
    assert tt["TOST p"] == pytest.approx(by_hand) and tt["verdict"] == "held within ±5"
    # KID has no margin: neither shown changed nor held; the verdict says what these seeds could detect.
    assert table.loc[("ttur", "KID"), "verdict"].startswith("undetermined: these seeds detect changes of ")
    # Rank agreement over the seeds every variant has at both budgets.
    fid_ranks = ranks.set_index("metric").loc["Inception FID"]
    means_a = [np.mean(bench_offsets[v][:3]) for v in sorted(bench_offsets)]
    means_b = [np.mean(np.array(bench_offsets[v][:3]) + 5 + np.array(change[v])) for v in sorted(bench_offsets)]
    assert fid_ranks["seeds"] == "0,1,2" and fid_ranks["kendall tau"] == pytest.approx(
        sps.kendalltau(means_a, means_b).statistic)
    assert fid_ranks["tau ci95 low"] <= fid_ranks["kendall tau"] <= fid_ranks["tau ci95 high"]
    # The command: Markdown printed and kept, with the figure.
    code = main(["transfer", str(bench), str(long), "--margin", "fid=5", "--out", str(tmp_path / "out")])
    out = capsys.readouterr().out
    assert code == 0 and "| spectral_norm | Inception FID | 0,1,2 |" in out and "| changed |" in out
    assert "Seeds dropped (the other budget lacks them" in out and "Kendall's tau" in out
    assert (tmp_path / "out" / "transfer.md").read_text() == out
    assert (tmp_path / "out" / "transfer.png").stat().st_size > 10_000
    assert (tmp_path / "out" / "transfer-ranks.csv").is_file()
    assert main(["transfer", str(bench), str(tmp_path / "nothing")]) == 2
    assert main(["transfer", str(bench), str(long), "--margin", "fid=-1"]) == 2
    assert main(["transfer", str(bench), str(long), "--margin", "nonsense=1"]) == 2
    # One matched seed (a study under way): shown, no test.
    early = tmp_path / "early"
    for variant in bench_offsets:
        write_run(early, variant, 0, offset=bench_offsets[variant][0])
    one, _ = transfer.transfer(bench, early)
    assert set(one["verdict"]) == {"no test: 1 matched seed"}

def test_compare_pairs_two_folders_cell_by_cell(tmp_path, capsys):
    """The same cells trained two ways: B - A per seed, its mean, CI, t-test p against scipy, and Holm p."""
    from harness.report import pairs

    a, b = tmp_path / "a", tmp_path / "b"
    for seed, shift in ((0, 5.0), (1, 7.0), (2, 9.0)):
        write_run(a, "paper_dcgan", seed)
        write_run(b, "paper_dcgan", seed, offset=shift)
    write_run(b, "paper_dcgan", 3, offset=100.0)  # no partner in A: left out
    write_run(a, "no_batchnorm", 0)  # no partner variant in B: left out
    table = pairs.compare_folders(a, b, ["fid", "kid"]).set_index(["variant", "metric"])
    fid = table.loc[("paper_dcgan", "fid")]
    assert fid["pairs"] == 3 and fid["A"] == pytest.approx(145) and fid["B"] == pytest.approx(152)
    assert fid["B - A"] == pytest.approx(7.0)
    assert fid["ci95"] == pytest.approx(sps.t.ppf(0.975, 2) * 2.0 / np.sqrt(3))
    assert fid["p"] == pytest.approx(sps.ttest_rel([150, 152, 154], [145, 145, 145]).pvalue)
    assert fid["Holm p"] == pytest.approx(min(1.0, 2 * max(table["p"])))  # two tests, equal p: both x2
    assert fid["per seed B - A"] == "s0 +5, s1 +7, s2 +9"
    assert ("no_batchnorm", "fid") not in table.index
    assert main(["compare", str(a), str(b), "--metrics", "fid", "--out", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    assert "| paper_dcgan | fid" in out and (tmp_path / "out" / "compare.md").read_text() == out
    assert main(["compare", str(a), str(b), "--metrics", "fid,fidd"]) == 2  # unknown metric: one line
    assert "fidd is not an output of a registered metric" in capsys.readouterr().err
    assert main(["compare", str(a), str(tmp_path / "none")]) == 2  # no such folder
    assert main(["compare", str(a), str(b), "--metrics", "label_fidelity"]) == 2  # evaluated in neither
    capsys.readouterr()
    # A report folder with its runs below it (as the committed evidence is) is read as its runs/ folder; the same
    # folder twice is a slip, refused in one line rather than reported as "no difference".
    report_a = tmp_path / "report-a"
    report_a.mkdir()
    a.rename(report_a / "runs")
    assert pairs.compare_folders(report_a, b, ["fid"]).set_index("variant").loc["paper_dcgan", "B - A"] == \
        pytest.approx(7.0)
    assert main(["compare", str(report_a), str(report_a / "runs"), "--metrics", "fid"]) == 2
    assert "the same results folder twice" in capsys.readouterr().err
    assert main(["transfer", str(b), str(b)]) == 2
    assert "the same results folder twice" in capsys.readouterr().err


def test_pairs_of_cells_trained_unlike_are_marked_and_strict_refuses_them(tmp_path):
    """A pair is two cells of one seed; it shares a trajectory only if one CPU family and one code trained both."""
    intel, amd = {"cpu": "Intel Xeon (family 6, model 167)"}, {"cpu": "AMD EPYC (family 25, model 17)"}
    old = {"version": "0.4.2", "commit": "a" * 40, "dirty": False, "diff_digest": None}
    new = {**old, "commit": "b" * 40}
    root = tmp_path / "results"
    for seed in range(3):
        write_run(root, "paper_dcgan", seed, machine=intel, code=old)
    write_run(root, "spectral_norm", 0, machine=intel, code=old)  # alike
    write_run(root, "spectral_norm", 1, machine=amd, code=old, offset=-5)  # another CPU family
    write_run(root, "spectral_norm", 2, machine=intel, code=new, offset=-3)  # other code
    write_run(root, "ttur", 0, machine=intel, code=old)
    write_run(root, "ttur", 1, machine=intel)  # its code not recorded
    report = build(root, floor=False, formats=("md",))
    cmp = pd.read_csv(report.out / "fid-vs-baseline.csv").set_index("variant")["unlike pairs"].fillna("")
    assert cmp["spectral_norm"] == "s1: CPU; s2: code"
    assert cmp["ttur"] == "s1: code not recorded"
    notes = " ".join(report.notes)
    assert "spectral_norm against paper_dcgan: CPUs Intel Xeon (family 6, model 167) (5 cells), AMD EPYC" in notes
    assert "0.4.2 @ aaaaaaaa (5), 0.4.2 @ bbbbbbbb (1)" in notes and "3 paired cells differ" in notes
    # --strict: one line naming them, exit 2, nothing written.
    out = tmp_path / "strict"
    assert main(["report", str(root), "--out", str(out), "--no-floor", "--strict"]) == 2
    assert not out.exists()
    for seed in (1, 2):
        shutil.rmtree(root / f"spectral_norm-smoke-s{seed}")
    shutil.rmtree(root / "ttur-smoke-s1")
    assert main(["report", str(root), "--out", str(out), "--no-floor", "--strict", "--format", "md"]) == 0


def test_the_declared_family_is_holm_over_every_primary_test_and_confirm_seeds_drop_the_screen(results):
    report = build(results, floor=False, formats=("md",), family=("fid", "kid"))
    fid = pd.read_csv(report.out / "fid-vs-baseline.csv")
    kid = pd.read_csv(report.out / "kid-vs-baseline.csv")
    family = pd.concat([fid, kid], ignore_index=True)
    # By hand: Holm over the four tests (2 variants x 2 metrics) at once, not over each metric's two.
    assert family["p (Holm, primary family)"].tolist() == pytest.approx(stats.holm(family["p"].tolist()))
    assert set(family["family"]) == {"primary"}
    assert fid["p (Holm)"].tolist() == pytest.approx(stats.holm(fid["p"].tolist()))
    assert any("Declared family: fid, kid" in n and "every seed present (0, 1, 2)" in n for n in report.notes)
    # Seed 0 screened: the paired tests use seeds 1 and 2 only, and say so.
    confirmed = build(results, floor=False, formats=("md",), confirm_seeds=[1, 2], out=results / "confirmed")
    cmp = pd.read_csv(confirmed.out / "fid-vs-baseline.csv").set_index("variant")
    d = [OFFSETS["spectral_norm"][s] - OFFSETS["paper_dcgan"][s] for s in (1, 2)]
    assert cmp.loc["spectral_norm", "pairs"] == 2 and cmp.loc["spectral_norm", "fid difference"] == pytest.approx(
        np.mean(d))
    assert any("confirmatory seeds 1, 2 only; seed 0 screened" in n for n in confirmed.notes)
    per_class = pd.read_csv(confirmed.out / "fid-per-class.csv")
    assert per_class.loc[per_class["group"] == "spectral_norm", "seeds"].max() == 3  # the table keeps every seed
    assert main(["report", str(results), "--family", "fid,nonsense", "--no-floor"]) == 2
    assert main(["report", str(results), "--confirm-seeds", "7-9", "--no-floor"]) == 2
    assert main(["report", str(results), "--confirm-seeds", "4-1", "--no-floor"]) == 2


def test_a_report_folder_with_its_runs_below_is_remade_in_place(tmp_path, caplog):
    import logging

    folder = tmp_path / "evidence"
    for seed in range(2):
        rd = write_run(folder / "runs", "paper_dcgan", seed)
        m = rd.metrics()
        rd.write_table(rd.metrics_path, m[~m["metric"].isin(["fid", "kid"])])  # as smoke writes: no FID rows
    with caplog.at_level(logging.INFO, logger="harness"):
        report = build(folder, formats=("md",), data=tmp_path / "no-archive.zip")
    assert report.out == folder and (folder / "report.md").is_file()
    assert any("the runs are in" in r.message for r in caplog.records)
    # No FID rows, so no floor to miss: the note about an absent archive or weights would mislead.
    assert not any("real-vs-real floor could not be computed" in n for n in report.notes)
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["report", str(empty), "--no-floor"]) == 2


def test_the_full_width_run_is_set_beside_a_narrow_one_at_equal_steps_and_equal_images(tmp_path):
    """tools/paper_vs_width.py: window means over the same steps, and over twice the steps at half the batch."""
    tool = load_tool("paper_vs_width")
    full = write_run(tmp_path / "full", "paper_dcgan", 0, epochs=2)  # steps 1-2, 3-4; batch set below
    narrow = write_run(tmp_path / "narrow", "paper_dcgan", 0, epochs=4)  # steps 1-8
    for rd, batch, losses in ((full, 128, [1.0, 2.0, 3.0, 4.0]), (narrow, 64, [10, 20, 30, 40, 50, 60, 70, 80])):
        record = rd.read_record()
        record["config"]["train.batch_size"] = batch
        rd.write_record(record)
        steps = rd.tables()[1]
        steps["d_loss"] = losses
        rd.write_table(rd.steps_path, steps)
    table = tool.compare(tool.Run(full.path), tool.Run(narrow.path)).set_index("epoch")
    assert table.loc[2, "images"] == 4 * 128 and table.loc[2, "d_loss full"] == pytest.approx(3.5)
    assert table.loc[2, "d_loss equal steps"] == pytest.approx(35.0)  # narrow steps 3-4
    assert table.loc[2, "d_loss equal images"] == pytest.approx(65.0)  # narrow steps 5-8: 512 images
    # FID: the narrow run's latest evaluation by the same step (4: its epoch 2) and the same images (step 8).
    narrow_fid = {e: 145 + 50 * (4 - e) for e in range(1, 5)}  # fake_runs: class mean at epoch e of 4
    assert table.loc[2, "fid equal steps"] == pytest.approx(narrow_fid[2]) and table.loc[2, "fid equal steps step"] == 4
    assert table.loc[2, "fid equal images"] == pytest.approx(narrow_fid[4])
    assert "not trained" not in tool.markdown(table.reset_index(), tool.Run(full.path), tool.Run(narrow.path))

    # A narrow run of 3 epochs (steps 1-6) that evaluated FID only at epochs 2 and 3 (steps 4 and 6): by step 2
    # it had no FID yet, and an evaluation after more training (step 4) does not stand in; step 8 it never trained.
    short = write_run(tmp_path / "short", "paper_dcgan", 0, epochs=3)
    record = short.read_record()
    record["config"]["train.batch_size"] = 64
    short.write_record(record)
    m = short.metrics()
    short.write_table(short.metrics_path, m[~((m["metric"] == "fid") & (m["epoch"].astype(int) == 1))])
    table = tool.compare(tool.Run(full.path), tool.Run(short.path))
    lines = tool.markdown(table, tool.Run(full.path), tool.Run(short.path)).splitlines()
    assert [line for line in lines if "| fid |" in line] == [  # full width: 195 at epoch 1, 145 at epoch 2
        "|  | fid | 195 | not evaluated by then | 195 (step 4) |", "|  | fid | 145 | 195 (step 4) | not trained |"]


def _convergence_run(root, epochs, fid, g_loss, acc):
    """A run of `epochs` epochs whose class-mean FID (every 10 epochs), G loss (D loss is 1) and D accuracy (on
    real and generated alike) follow the given functions of the epoch."""
    rd = write_run(root, "paper_dcgan", 0, epochs=epochs)
    rows = []
    for e in range(1, epochs + 1):
        rows += [(e, "", "d_loss", 1.0, None, None), (e, "", "g_loss", g_loss(e), None, None),
                 (e, "", "d_acc_real", acc(e), None, None), (e, "", "d_acc_fake", acc(e), None, None)]
        if e % 10 == 0:  # the classes spread +-9 around the mean
            rows += [(e, c, "fid", fid(e) + 2 * i - 9, 500, 500) for i, c in enumerate(eurosat.CLASSES)]
    rd.write_table(rd.metrics_path, pd.DataFrame([(rd.run_id, "paper_dcgan", 0, *r) for r in rows],
                                                 columns=LEGACY_COLUMNS))
    return rd


def test_the_paper_runs_convergence_claims_are_tested_and_say_when_the_run_is_too_short(tmp_path):
    """tools/paper_convergence.py: Figures 9-11's claims on series whose slopes are known exactly."""
    tool = load_tool("paper_convergence")
    wobble = {50: 140, 60: 141, 70: 139, 80: 141, 90: 139, 100: 140}
    like_the_paper = _convergence_run(
        tmp_path / "a", 100, fid=lambda e: 300 - 4 * (e - 10) if e <= 50 else wobble[e],
        g_loss=lambda e: 2.0 if e < 80 else 2.0 + 0.5 * (e - 79), acc=lambda e: 0.9 - 0.002 * e)
    run = tool.PaperRun(like_the_paper.path)
    fig9, fig10, fig11 = tool.claims(run)
    assert run.evaluated("fid")[50] == pytest.approx(140.0) and run.evaluated("fid")[10] == pytest.approx(300.0)
    assert "up to 50: -40 per 10 epochs" in fig9.shown and fig9.verdict == "holds"
    assert "from epoch 80: +0.5 per epoch (95% interval +0.5 to +0.5" in fig10.shown and fig10.verdict == "holds"
    assert "epochs 1-100: -0.002 per epoch" in fig11.shown and fig11.verdict == "holds"
    assert "D won (at least 99% right on real and generated images) in 0 of 100 epochs" in tool.discriminator_won(run)

    unlike = _convergence_run(tmp_path / "b", 100, fid=lambda e: 400 - 2 * e, g_loss=lambda e: 2.0 - 0.001 * e,
                              acc=lambda e: 0.9 - 0.02 * min(e, 50))
    fig9, fig10, fig11 = tool.claims(tool.PaperRun(unlike.path))
    assert fig9.verdict == "does not hold: FID still changes after epoch 50"
    assert fig10.verdict == "does not hold"  # the distance shrinks by 0.001 per epoch
    assert fig11.verdict == "holds over epochs 1-100; over the later half (51-100) a fall is not shown"

    short = tool.PaperRun(_convergence_run(tmp_path / "c", 40, fid=lambda e: 300 - e, g_loss=lambda e: 2.0,
                                           acc=lambda e: 0.8).path)
    assert [c.verdict for c in tool.claims(short)][:2] == ["not reached (run at epoch 40)"] * 2
    assert tool.class_churn(short) == []  # no label fidelity evaluated
    assert "| 40 | 1.000 | 2.000 | 0.800 | 0.800 | 0.800 | 260 |" in tool.markdown(short)


def test_the_paper_runs_class_churn_is_counted_between_evaluations(tmp_path):
    """A flat class mean whose classes swap places: every class moves by 0.5 or 0 between evaluations."""
    tool = load_tool("paper_convergence")
    rd = _convergence_run(tmp_path / "d", 10, fid=lambda e: 300, g_loss=lambda e: 2.0, acc=lambda e: 0.8)
    rows = [(e, c, "label_fidelity", (0.5 if (i + e // 5) % 2 else 0.0) if i < 8 else 0.2, 500, 500)
            for e in (5, 10) for i, c in enumerate(eurosat.CLASSES)]
    table = pd.concat([rd.metrics(), pd.DataFrame([(rd.run_id, "paper_dcgan", 0, *r) for r in rows],
                                                  columns=LEGACY_COLUMNS)])
    rd.write_table(rd.metrics_path, table)
    churn = tool.class_churn(tool.PaperRun(rd.path))
    assert churn[-1] == "Between consecutive evaluations: 5-10: mean |change| 0.400, 8 of 10 classes by more than 0.3."
    assert "| class mean | 0.240 | 0.240 |" in churn


def test_the_paper_runs_sittings_carry_their_measured_cost(tmp_path):
    """Each sitting's row: its epochs, CPU, usable cores (or 'not recorded', as code before 0.5.0 wrote) and the
    median and range of its epochs' training seconds and images/s."""
    tool = load_tool("paper_convergence")
    rd = _convergence_run(tmp_path / "e", 5, fid=lambda e: 300, g_loss=lambda e: 2.0, acc=lambda e: 0.8)
    seconds = {1: 1000.0, 2: 1200.0, 3: 1100.0, 4: 500.0, 5: 600.0}
    rows = [(e, "", m, v, None, None) for e, s in seconds.items()
            for m, v in (("wall_time_s", s), ("images_per_s", 27000 / s))]
    rd.write_table(rd.metrics_path, pd.concat([rd.metrics(), pd.DataFrame(
        [(rd.run_id, "paper_dcgan", 0, *r) for r in rows], columns=LEGACY_COLUMNS)]))
    cpu = "Intel(R) Xeon(R) Processor (family 6, model 167)"
    record = rd.read_record()
    record["sittings"] = [{"from_epoch": 0, "machine": {"cpu": cpu}, "code": {"commit": "a" * 40}},
                          {"from_epoch": 3, "machine": {"cpu": cpu, "usable_cores": 2}, "code": {"commit": "b" * 40}}]
    rd.write_record(record)
    rows = tool.markdown(tool.PaperRun(rd.path)).splitlines()
    assert f"| 1-3 | {cpu} | not recorded | 1100 (1000-1200) | 24.5 (22.5-27.0) | aaaaaaa |" in rows
    assert f"| 4-5 | {cpu} | 2 | 550 (500-600) | 49.5 (45.0-54.0) | bbbbbbb |" in rows


def test_the_paper_runs_class_order_is_set_against_the_paper_and_the_floors(tmp_path):
    """Figure 3's ordering per evaluation: at epoch 10 the classes rise in the dataset's order (so the paper's
    four fall out of its order), at epoch 20 they follow the paper's; floors rising with the dataset's order
    agree with epoch 10 exactly (tau +1) and the gaps above them name the classes that are hardest for G."""
    tool = load_tool("paper_convergence")
    rd = _convergence_run(tmp_path / "f", 20, fid=lambda e: 300, g_loss=lambda e: 2.0, acc=lambda e: 0.8)
    paper_like = {"Forest": 10.0, "SeaLake": 20.0, "Pasture": 30.0, "Industrial": 40.0}
    metrics = rd.metrics()
    at_20 = (metrics["epoch"].astype(int) == 20) & (metrics["metric"] == "fid")
    metrics.loc[at_20, "value"] = [paper_like.get(c, 50.0 + 2 * i) for i, c in enumerate(metrics.loc[at_20, "class"])]
    rd.write_table(rd.metrics_path, metrics)
    floor_csv = tmp_path / "floor.csv"
    pd.DataFrame({"class": [*eurosat.CLASSES, "mean"], "floor mean": [*range(10), 4.5]}).to_csv(floor_csv, index=False)
    floor = tool.read_floor(floor_csv)
    assert list(floor.index) == list(eurosat.CLASSES)  # the mean row is not a class
    order = tool.class_order(tool.PaperRun(rd.path), floor)
    assert order[0].startswith("| epoch | best | worst | Forest < SeaLake < Pasture < Industrial | Kendall tau")
    assert order[2].startswith("| 10 | AnnualCrop 291.0 | SeaLake 309.0 | no: Forest < Industrial < Pasture < SeaLake |"
                               " +1.00 (p ")
    assert order[2].endswith("| AnnualCrop 291.0 | SeaLake 300.0 |")  # FID - floor: 291 + i
    assert order[3].startswith("| 20 | Forest 10.0 | River 66.0 | yes |")
    assert order[3].endswith("| Forest 9.0 | River 58.0 |")
    text = tool.markdown(tool.PaperRun(rd.path))  # without floors: no floor columns
    assert "| 20 | Forest 10.0 | River 66.0 | yes |\n" in text
    out, png = tmp_path / "convergence.md", tmp_path / "convergence.png"
    assert tool.main([str(rd.path), "--floor", str(floor_csv), "--out", str(out), "--figure", str(png)]) == 0
    assert "| Kendall tau with the floors |" in out.read_text() and png.read_bytes()[:4] == b"\x89PNG"


def test_the_paper_runs_two_feature_spaces_are_set_against_each_other(tmp_path):
    """Inception FID falls by 10 in every class from epoch 10 to 20; domain FID falls in the first six classes
    and rises in the last four: six both better, four split, none both worse."""
    tool = load_tool("paper_convergence")
    rd = _convergence_run(tmp_path / "g", 20, fid=lambda e: 310 - e, g_loss=lambda e: 2.0, acc=lambda e: 0.8)
    rows = [(e, c, "domain_fid", 50.0 + (0 if e == 10 else (-5 if i < 6 else 5)), 500, 500)
            for e in (5, 10, 15, 20) for i, c in enumerate(eurosat.CLASSES)]
    rd.write_table(rd.metrics_path, pd.concat([rd.metrics(), pd.DataFrame(
        [(rd.run_id, "paper_dcgan", 0, *r) for r in rows], columns=LEGACY_COLUMNS)]))
    lines = tool.feature_agreement(tool.PaperRun(rd.path))
    split = ", ".join(eurosat.CLASSES[6:])
    assert lines[2] == f"| 10-20 | 300.0 -> 290.0 | 50.0 -> 49.0 | 6 | 0 | 4: {split} |"
    assert len(lines) == 3  # epochs 5 and 15 have no Inception FID: only 10-20 is a pair
    assert tool.feature_agreement(tool.PaperRun(_convergence_run(
        tmp_path / "h", 20, fid=lambda e: 300, g_loss=lambda e: 2.0, acc=lambda e: 0.8).path)) == []


def test_a_rerun_is_compared_to_the_bit_step_by_step_and_evaluation_by_evaluation(tmp_path):
    """tools/paper_rerun.py: the first step whose logged numbers differ, the per-epoch means, and each evaluated
    class mean's difference beside the first run's own move since its previous evaluation."""
    tool = load_tool("paper_rerun")
    code = {"commit": "c" * 40}
    first = write_run(tmp_path / "a", "paper_dcgan", 0, epochs=2, code=code, machine={"cpu": "Intel"})
    second = write_run(tmp_path / "b", "paper_dcgan", 0, epochs=2, offset=6.0, code=code, machine={"cpu": "AMD"})
    same = tool.markdown(tool.Run(first.path), tool.Run(first.path))[0]
    assert "**Every one of the 4 steps both runs logged is the same to the bit.**" in same
    steps = second.tables()[1]
    steps.loc[steps["step"] == 3, "d_loss"] = 1.5  # epoch 2's first step
    second.write_table(second.steps_path, steps)
    a, b = tool.Run(first.path), tool.Run(second.path)
    alike, rows = tool.first_difference(a, b)
    assert alike == 2 and list(rows["d_loss"]) == [1.0, 1.5]
    text, table = tool.markdown(a, b)
    assert "same to the bit for 2 steps and differ from step 3 on** (epoch 2)" in text
    for step, said in ((2, "same to the bit for 1 step and differ from step 2 on** (epoch 1)"),
                       (1, "differ from the first step on** (step 1, epoch 1)")):
        steps.loc[steps["step"] == step, "d_loss"] = 1.5
        second.write_table(second.steps_path, steps)
        assert said in tool.markdown(a, tool.Run(second.path))[0]
    assert "from epoch 0, 1 sitting: Intel (code ccccccc)" in text and "1 sitting: AMD (code ccccccc)" in text
    assert "Code: the same commit in every sitting of both." in text
    assert "| 2 | 1.250 / 1.000 |" not in text and "| 2 | 1.000 / 1.250 |" in text  # (1.0 + 1.5) / 2
    fid = table[table["metric"] == "fid"].set_index("epoch")
    assert fid.loc[2, "difference"] == pytest.approx(6.0) and fid.loc[2, "per-class |difference|"] == pytest.approx(6.0)
    assert fid.loc[2, "first run's move"] == pytest.approx(-50.0) and fid.loc[2, "since epoch"] == 1
    assert np.isnan(fid.loc[1, "first run's move"])
    assert "| fid | 2 | 145 | 151 | +6 | -50 (1) | 6 |" in text
    assert "Reference classifier: not shown to be the same weights (first: not recorded" in text
    for rd, digest in ((first, "a" * 64), (second, "b" * 64)):  # one recipe (key), trained on two machines
        rd.write_record({**rd.read_record(), "reference_classifier": {"key": "k", "weights_digest": digest,
                                                                      "test_accuracy": 0.95}})
    text = tool.markdown(tool.Run(first.path), tool.Run(second.path))[0]
    assert "not shown to be the same weights (first: weights aaaaaaaaaaaa, test accuracy 0.95" in text
    second.write_record({**second.read_record(), "reference_classifier": {"key": "k", "weights_digest": "a" * 64}})
    assert "the same weights in both" in tool.markdown(tool.Run(first.path), tool.Run(second.path))[0]


def test_a_rerun_is_placed_on_the_first_runs_curves_epoch_by_epoch(tmp_path):
    """tools/paper_rerun.py: the epochs at which the first run took the second run's value, interpolated between
    its evaluations, every crossing of a curve that turns listed, and 'never' outside the first run's range."""
    tool = load_tool("paper_rerun")
    assert tool.crossings([0, 10, 20], [0, 10, 0], 5) == [5.0, 15.0]  # up, then down through the level
    assert tool.crossings([0, 1, 2], [1, 1, 3], 1) == [0.0, 1.0]  # points hit exactly, each once
    assert tool.crossings([0, 1], [0, 1], 2) == []
    code = {"commit": "c" * 40}
    first = write_run(tmp_path / "a", "paper_dcgan", 0, epochs=4, code=code)  # class-mean FID 295, 245, 195, 145
    second = write_run(tmp_path / "b", "paper_dcgan", 0, epochs=2, offset=20.0, code=code)  # 215, 165
    stood = tool.where_first_stood(tool.Run(first.path), tool.Run(second.path), window=1).set_index(["epoch", "metric"])
    assert stood.loc[(1, "fid"), "first run at"] == pytest.approx([2.6])  # 2 + (245 - 215) / 50
    assert stood.loc[(1, "fid"), "leads"] == pytest.approx([1.6])
    assert stood.loc[(2, "fid"), "first run at"] == pytest.approx([3.6]) and stood.loc[(2, "kid"), "leads"] == \
        pytest.approx([1.6])
    text = tool.markdown(tool.Run(first.path), tool.Run(second.path), window=2)[0]
    assert "| 2 | fid | 165 | 3.6 (+1.6) |" in text and "means over the 2 epochs ending at each epoch" in text
    assert "| 1 | d_loss |" not in text and "| 2 | d_loss | 1 | 2.0 (+0.0), 3.0 (+1.0), 4.0 (+2.0) |" in text
    beyond = write_run(tmp_path / "c", "paper_dcgan", 0, epochs=2, offset=-100.0, code=code)  # 45 at epoch 2
    text = tool.markdown(tool.Run(first.path), tool.Run(beyond.path))[0]
    assert "| 2 | fid | 45 | never (its range 145 to 295, epochs 1-4) |" in text


def test_draws_of_one_protocol_are_spread_epoch_by_epoch_and_class_by_class(tmp_path):
    """tools/paper_draws.py: each epoch two or more draws evaluated, their class means, mean, range and (from three
    draws only) SD; the per-class FID at the last epoch every draw evaluated."""
    tool = load_tool("paper_draws")
    code = {"commit": "c" * 40}
    runs = {name: tool.Run(write_run(tmp_path / name, "paper_dcgan", 0, epochs=epochs, offset=offset, code=code,
                                     machine={"cpu": name}).path)
            for name, epochs, offset in (("a", 2, 0.0), ("b", 2, 6.0), ("c", 1, 30.0))}
    table = tool.spread(runs).set_index(["metric", "epoch"])
    one = table.loc[("fid", 1)]  # class means 195, 201 and (the one-epoch run's last) 175
    assert (one["a"], one["b"], one["c"], one["n"]) == (195, 201, 175, 3)
    assert one["mean"] == pytest.approx(190.333, abs=1e-3) and one["range"] == pytest.approx(26)
    assert one["sd"] == pytest.approx(np.std([195, 201, 175], ddof=1))
    assert one["per-class range"] == pytest.approx(26)  # each class moves with the mean here
    two = table.loc[("fid", 2)]  # the third draw never reached epoch 2: two draws, no SD
    assert two["n"] == 2 and np.isnan(two["c"]) and np.isnan(two["sd"]) and two["range"] == pytest.approx(6)
    epoch, classes = tool.per_class_fid(runs)
    assert epoch == 1 and list(classes.index) == list(eurosat.CLASSES)
    assert classes.loc["Forest"].tolist() == [160.0, 166.0, 140.0]  # 100 + 10 x 1 + 50 + offset; c: 110 + 30
    text = tool.markdown(runs)[0]
    assert "| fid | 1 | 195 | 201 | 175 | 3 | 190 | 26 | 13.6 | 26 |" in text
    assert "| fid | 2 | 145 | 151 |  | 2 | 148 | 6 |  | 6 |" in text
    assert "Inception FID per class at epoch 1" in text and "| Forest | 160.0 | 166.0 | 140.0 | 26.0 |" in text
    assert "- c: to epoch 1; from epoch 0, 1 sitting: c (code ccccccc)" in text
    tool.figure(runs, tmp_path / "draws.png")
    assert (tmp_path / "draws.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert tool.spread({"a": runs["a"]}).empty  # one draw spreads nowhere
    assert "No epoch was evaluated by two draws." in tool.markdown({"a": runs["a"]})[0]


def test_draws_class_orders_are_compared_between_draws_and_within_one(tmp_path):
    """tools/paper_draws.py: draw b orders the classes in reverse at epoch 1 and as draw a does at epoch 2, so the
    taus are -1 then +1 between the draws, +1 within a and -1 within b; the best classes follow."""
    tool = load_tool("paper_draws")
    a, b = (write_run(tmp_path / name, "paper_dcgan", 0, epochs=2) for name in "ab")
    metrics = b.metrics()
    first_fid = (metrics["metric"] == "fid") & (metrics["epoch"].astype(int) == 1) & metrics["class"].isin(
        eurosat.CLASSES)
    metrics.loc[first_fid, "value"] = metrics.loc[first_fid, "value"].astype(float).to_numpy()[::-1]
    b.write_table(b.metrics_path, metrics)
    draws = {"a": tool.Run(a.path), "b": tool.Run(b.path)}
    orders = tool.class_orders(draws).set_index(["kind", "of", "epoch"])["tau"]
    assert orders[("between", "a-b", 1)] == pytest.approx(-1) and orders[("between", "a-b", 2)] == pytest.approx(1)
    assert orders[("within", "a", 2)] == pytest.approx(1) and orders[("within", "b", 2)] == pytest.approx(-1)
    assert tool.best_classes(draws, "fid", 1) == {"a": "AnnualCrop", "b": "SeaLake"}
    text = tool.markdown(draws)[0]
    assert "| fid | 1 | -1.00 (p " in text and "| a AnnualCrop / b SeaLake |" in text
    assert "| fid | +0.00 (-1.00 to +1.00, 2) | +0.00 (-1.00 to +1.00, 2) | 1 of 2 |" in text
    assert "| label_fidelity |" not in text  # never evaluated: no row


def test_the_paper_tools_read_a_run_at_one_n_after_a_later_eval_at_another(tmp_path):
    """A run evaluated on its schedule (FID per class at N = 20, epochs 1 and 2), then again at epoch 2 with
    `harness eval --n 5` and with a second draw of latents: every paper tool's class means stay the schedule's,
    and the report's helper keeps exactly the scheduled rows (and the training rows, which have no N)."""
    from harness.report.tables import scheduled_rows

    rd = write_run(tmp_path / "runs", "paper_dcgan", 0, epochs=2)  # class-mean FID 195 at epoch 1, 145 at 2
    scheduled = rd.metrics()
    later = [(rd.run_id, "paper_dcgan", 0, 2, c, m, v, n, n, s) for c in eurosat.CLASSES
             for m, v, n, s in (("fid", 1000.0, 5, ""), ("kid", 1.0, 5, ""), ("fid", 500.0, 20, "draw=1"))]
    rd.write_table(rd.metrics_path, pd.concat([scheduled, pd.DataFrame(later, columns=METRIC_COLUMNS)]))
    kept = scheduled_rows(rd.metrics())
    assert len(kept) == len(scheduled) and set(kept["value"].astype(float)) == set(scheduled["value"].astype(float))
    assert load_tool("paper_rerun").Run(rd.path).class_means().loc["fid", 2] == pytest.approx(145.0)
    assert load_tool("paper_convergence").PaperRun(rd.path).evaluated("fid")[2] == pytest.approx(145.0)
    width = load_tool("paper_vs_width").Run(rd.path).evaluated.set_index(["metric", "epoch"])["value"]
    assert width[("fid", 2)] == pytest.approx(145.0) and width[("kid", 2)] == pytest.approx(0.145)


def test_the_reports_curves_draw_each_run_at_its_own_n(tmp_path):
    """Seed 0 evaluated again with `harness eval --n 5` (at epoch 2, classes and their mean; at epoch 1 its mean):
    the FID-against-epoch curve keeps its schedule's N = 20 rows, so epoch 2's class mean is not averaged with the
    N = 5 value, and the best epoch is the schedule's; seed 1, evaluated only on its schedule, is untouched."""
    from harness.report import tables
    from harness.report.collect import collect
    from harness.report.figures import curve_rows

    root = tmp_path / "results"
    rd = write_run(root, "paper_dcgan", 0, epochs=2)
    write_run(root, "paper_dcgan", 1, epochs=2, offset=10.0)
    later = [(rd.run_id, "paper_dcgan", 0, 2, c, "fid", 900.0, 5, 5, "") for c in [*eurosat.CLASSES, "mean"]]
    later.append((rd.run_id, "paper_dcgan", 0, 1, "mean", "fid", 50.0, 5, 5, ""))  # epoch 1 at N = 5: "best"
    rd.write_table(rd.metrics_path, pd.concat([rd.metrics(), pd.DataFrame(later, columns=METRIC_COLUMNS)]))
    rows = curve_rows(collect(root), "fid")
    assert set(pd.to_numeric(rows["n_fake"])) == {20} and len(rows) == 2 * 2 * 11  # 2 runs, 2 epochs, 10 + mean
    means = rows[rows["class"] == "mean"].set_index(["run", "epoch"])["value"].astype(float)
    assert means[(rd.run_id, 2)] == pytest.approx(145.0) and means[("paper_dcgan-smoke-s1", 2)] == pytest.approx(155.0)
    # The per-class table's best epoch is the schedule's best (145 at epoch 2), not the N = 5 row's 50 at epoch 1.
    assert tables.best_epochs(collect(root), "fid") == {rd.run_id: 2, "paper_dcgan-smoke-s1": 2}


def test_the_determinism_check_names_the_first_step_at_which_processes_part():
    """tools/determinism_check.py: trajectories are compared to the bit, step by step."""
    tool = load_tool("determinism_check")
    same = [[1.0, 2.0], [0.5, 1.5]]
    assert tool.parted_at([same, same, same]) is None
    assert tool.parted_at([same, [[1.0, 2.0], [0.5, 1.5000001]]]) == 2
    assert tool.parted_at([[[1.0, 2.0]], [[1.0 + 1e-12, 2.0]]]) == 1


def test_fid_terms_gathers_a_copy_evaluated_with_them_and_says_which_term_moved_fid(tmp_path, capsys):
    """tools/fid_terms.py: one row per (epoch, class) with FID and its two terms; the recomputed FID is checked
    against the logged one; between epochs, the class-mean moves and the classes whose mean term moved most."""
    tool = load_tool("fid_terms")
    rd = write_run(tmp_path / "copy", "paper_dcgan", 0, epochs=2)
    metrics = rd.metrics()
    with pytest.raises(SystemExit, match="no fid_cov_term, fid_mean_term, fid_spread rows"):
        tool.from_run(rd.path)
    fid = metrics[metrics["metric"] == "fid"].assign(value=lambda f: pd.to_numeric(f["value"]))
    rows = []
    for r in fid[fid["class"] != "all"].to_dict("records"):
        led = r["class"] in eurosat.CLASSES[:7] and r["epoch"] == 1  # their mean term falls 10 more by epoch 2
        mean_term = 0.5 * r["value"] + (10.0 if led else 0.0)
        for name, value in (("fid_mean_term", mean_term), ("fid_cov_term", r["value"] - mean_term),
                            ("fid_spread", 0.5)):
            rows.append({**r, "metric": name, "value": value})
    rd.write_table(rd.metrics_path, pd.concat([metrics, pd.DataFrame(rows)]))
    table = tool.from_run(rd.path)
    assert len(table) == 22 and list(table.columns) == tool.COLUMNS  # 10 classes and the mean, two epochs
    assert (table["fid_mean_term"] + table["fid_cov_term"] - table["fid"]).abs().max() < 1e-9
    assert set(table.loc[table["class"] == "mean", "n_real"]) == {20}  # the classes' N, where the log has none
    assert tool.logged_difference(table, rd.path) == 0
    move = tool.moves(table).iloc[0]
    assert (move["from"], move["to"], move["fid"]) == (1, 2, pytest.approx(-50.0))
    assert move["classes led by the mean term"] == "7 of 10"
    assert tool.main(["--run", str(rd.path), "--logged", str(rd.path), "--out", str(tmp_path / "t.csv")]) == 0
    out = capsys.readouterr().out
    assert "22 rows, epochs 1, 2; the two terms sum to FID within 0" in out and "largest difference 0" in out
    assert pd.read_csv(tmp_path / "t.csv").shape == (22, 8)
    assert tool.main(["--table", str(tmp_path / "t.csv")]) == 0 and "| 7 of 10" in capsys.readouterr().out
    # Another draw whose images sit 4 further from the real mean, at epoch 2 only: the mean term parts them.
    other = table[table["epoch"] == 2].assign(fid_mean_term=lambda t: t["fid_mean_term"] + 4.0,
                                              fid=lambda t: t["fid"] + 4.0)
    apart = tool.versus(table, other)
    assert list(apart["epoch"]) == [2]
    assert (apart.at[0, "fid"], apart.at[0, "mean term"], apart.at[0, "covariance term"]) == (
        pytest.approx(-4.0), pytest.approx(-4.0), pytest.approx(0.0))
    assert apart.at[0, "classes led by the mean term"] == "10 of 10"
    other.to_csv(tmp_path / "other.csv", index=False)
    assert tool.main(["--table", str(tmp_path / "t.csv"), "--versus", str(tmp_path / "other.csv")]) == 0
    assert "Less " in capsys.readouterr().out
    assert tool.versus(table, other.assign(epoch=9)).empty
