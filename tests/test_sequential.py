"""Seeds on demand: the group-sequential plan holds its error rate, saves seeds, and drives a resumable sweep."""

from __future__ import annotations

import math

import numpy as np
import pytest
from fake_runs import write_run
from scipy import stats as sps

from harness.cli import main
from harness.runs import runner, sequential
from harness.runs.rundir import RunDir

LOOKS = [3, 4, 5, 6, 7, 8]


def test_obrien_fleming_spending_and_levels():
    assert sequential.spent(1.0, 0.05) == pytest.approx(0.05)
    # Lan-DeMets by hand at half the information: 2 (1 - Phi(z_0.975 / sqrt(0.5))).
    assert sequential.spent(0.5, 0.05) == pytest.approx(2 * (1 - sps.norm.cdf(1.959964 / math.sqrt(0.5))), rel=1e-5)
    levels = sequential.nominal_levels(LOOKS, 0.05)
    assert all(a < b for a, b in zip(levels, levels[1:]))  # strict early, lenient late
    assert levels[0] < 0.005 and 0.02 < levels[-1] < 0.05  # the last look keeps most of alpha
    assert sequential.nominal_levels(LOOKS, 0.05) == levels  # seeded: the same plan every time
    with pytest.raises(ValueError):
        sequential.nominal_levels([1, 2], 0.05)  # a t-test needs two seeds


@pytest.mark.parametrize("comparisons", [1, 4])
def test_the_family_wise_error_stays_at_alpha_under_no_difference(comparisons):
    """2,000 simulated sequential sweeps with no true difference anywhere: the share that declares any difference
    stays within alpha plus Monte Carlo error (one-sided 99.5%), despite six looks."""
    result = sequential.simulate(LOOKS, 0.05, effect=0.0, sweeps=2000, comparisons=comparisons, seed=7)
    assert result["decided share"] <= 0.05 + 2.58 * math.sqrt(0.05 * 0.95 / 2000)


def test_looking_at_a_plain_t_test_every_round_would_not():
    """The reason for the boundaries: the same six looks at p < 0.05 each reject far more often than 5%."""
    rng = np.random.default_rng(3)
    draws = rng.standard_normal((2000, LOOKS[-1]))
    rejected = np.zeros(2000, dtype=bool)
    for n in LOOKS:
        rejected |= sps.ttest_1samp(draws[:, :n], 0.0, axis=1).pvalue < 0.05
    assert rejected.mean() > 0.1


def test_it_saves_seeds_against_a_fixed_design_of_the_same_power():
    result = sequential.simulate(LOOKS, 0.05, effect=2.0, sweeps=2000, seed=11)
    fixed = sequential.fixed_design_seeds(2.0, 1.0, 0.05, result["decided share"])
    assert result["decided share"] > 0.95 and result["mean seeds"] < fixed - 1.5


def test_decide_walks_the_looks_in_seed_order():
    levels = [0.005, 0.01, 0.04]
    order = [0, 1, 2, 3, 4]
    assert sequential.decide({0: 1.0}, order, [2, 3, 4], levels)[0] == "waiting"
    big = {s: 10.0 + 0.1 * s for s in order}
    state, n, diff, p, level = sequential.decide(big, order, [2, 3, 4], levels)
    assert state == "decided: higher" and n == 2 and p <= 0.005 and level == 0.005
    null = {0: 1.0, 1: -1.0, 2: 0.5, 3: -0.4, 4: 0.2}
    assert sequential.decide({s: null[s] for s in range(3)}, order, [2, 3, 4], levels)[0] == "continue"
    assert sequential.decide(null, order, [2, 3, 4], levels)[0] == "undetermined at the last look"


def test_a_sweep_until_decided_adds_seeds_only_where_undecided_and_resumes_to_the_same_decisions(tmp_path):
    """A clear variant is decided at the first look and gets no more seeds; a null one runs to the last look."""
    root = tmp_path / "results"
    offsets = {"paper_dcgan": lambda s: 3.0 * np.sin(s), "spectral_norm": lambda s: 3.0 * np.sin(s) - 40 - 0.3 * s,
               "ttur": lambda s: 3.0 * np.sin(s) + (1.5 if s % 2 else -1.5) + 0.1 * s}
    trained = []

    def run_dir(variant, seed):
        cfg = runner.resolve(variant, profile="smoke", seed=seed, overrides={"train.epochs": "2"})
        return RunDir(root / runner.default_run_id(cfg))

    def train(cells):
        for variant, seed in cells:
            if not run_dir(variant, seed).exists():
                write_run(root, variant, seed, offset=float(offsets[variant](seed)))
                trained.append((variant, seed))

    found = sequential.until_decided(["paper_dcgan", "spectral_norm", "ttur"], "paper_dcgan", [0, 1, 2], 6,
                                     ("fid", "kid"), train, run_dir)
    by = {(d.variant, d.metric): d for d in found}
    assert by["spectral_norm", "fid"].state == "decided: lower" and by["spectral_norm", "fid"].seeds == 3
    assert by["ttur", "fid"].state == "undetermined at the last look" and by["ttur", "fid"].seeds == 6
    assert sorted(s for v, s in trained if v == "spectral_norm") == [0, 1, 2]
    assert sorted(s for v, s in trained if v == "ttur") == [0, 1, 2, 3, 4, 5]
    assert sorted(s for v, s in trained if v == "paper_dcgan") == [0, 1, 2, 3, 4, 5]
    # By hand at the deciding look: the paired t-test over seeds 0-2.
    d = [offsets["spectral_norm"](s) - offsets["paper_dcgan"](s) for s in range(3)]
    assert by["spectral_norm", "fid"].p == pytest.approx(sps.ttest_1samp(d, 0).pvalue)
    # Resumed: nothing is trained again, and the decisions are the same.
    trained.clear()
    again = sequential.until_decided(["paper_dcgan", "spectral_norm", "ttur"], "paper_dcgan", [0, 1, 2], 6,
                                     ("fid", "kid"), train, run_dir)
    assert trained == [] and [d.__dict__ for d in again] == [d.__dict__ for d in found]


def test_the_command_refuses_a_family_its_profile_does_not_evaluate(tmp_path, capsys):
    assert main(["sweep", "--variants", "paper_dcgan,ttur", "--seeds", "0,1", "--profile", "smoke",
                 "--until-decided", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "profile smoke does not evaluate" in err[0]
    assert main(["sweep", "--variants", "paper_dcgan", "--seeds", "0", "--profile", "smoke", "--jobs", "0",
                 "--out", str(tmp_path)]) == 2
    assert list(tmp_path.iterdir()) == []


def test_the_command_runs_rounds_of_ordinary_sweeps_and_writes_its_decisions(tmp_path, monkeypatch, capsys):
    """The CLI's wiring: each round is a `sweep` of the cells still needed (here a stand-in that writes finished
    run folders instead of training), the decisions land in sequential.csv."""
    import pandas as pd

    from harness.runs import sweep as sweep_mod
    from harness.runs.executors import Outcome

    rounds = []

    def fake_sweep(cells, *, profile, overrides, out, **options):
        rounds.append(sorted((c.variant, c.seed) for c in cells))
        outs = []
        for c in cells:
            folder = out / f"{c.variant}-{profile}-s{c.seed}"
            if not folder.exists():
                write_run(out, c.variant, c.seed, epochs=24, profile=profile,
                          offset=(-50.0 - c.seed if c.variant == "spectral_norm" else 2.0 * (-1) ** c.seed))
            outs.append(Outcome(c, "done", str(folder), 0.0))
        return outs

    monkeypatch.setattr(sweep_mod, "sweep", fake_sweep)
    code = main(["sweep", "--variants", "paper_dcgan,spectral_norm", "--seeds", "0-2", "--profile", "bench",
                 "--until-decided", "--max-seeds", "4", "--family", "fid,kid", "--out", str(tmp_path)])
    assert code == 0 and "decided: lower" in capsys.readouterr().out
    assert rounds[0] == [("paper_dcgan", s) for s in range(3)] + [("spectral_norm", s) for s in range(3)]
    assert len(rounds) == 1  # decided at the first look: no more seeds
    table = pd.read_csv(tmp_path / "sequential.csv")
    assert set(table["state"]) == {"decided: lower"} and set(table["seeds"]) == {3}
