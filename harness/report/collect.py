"""Reading a results folder: every run it holds, tolerating what is not a run.

A run folder is one with a config.json this harness wrote (it has run_id,
config and data). Anything else (a foreign folder, a half-copied run, a
damaged table: cut off, or stopping short of the epoch the run recorded as
finished) is left out with a warning, which the report's notes repeat, and
never stops the report; a damaged run is never pooled.
Runs still going, failed or diverged are included with their status: their
tables hold what they completed.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from harness.errors import RunError
from harness.runs.rundir import METRIC_COLUMNS, STEP_COLUMNS, RunDir, codes, machines, numeric_values

log = logging.getLogger("harness")


@dataclass
class Results:
    runs: pd.DataFrame  # one row per run: run, variant, seed, profile, status, epochs, path, ...
    metrics: pd.DataFrame  # every run's metrics.csv rows, plus profile
    steps: pd.DataFrame  # every run's steps.csv rows, plus run, variant, seed, profile
    skipped: list[str]  # "path: why" of folders that are not readable runs


def results_folder(folder: Path) -> Path:
    """A results folder, or a report folder whose runs sit in runs/ below it (as the committed evidence does)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise RunError(f"{folder}: no such results folder")
    if not any((p / "config.json").is_file() for p in folder.iterdir() if p.is_dir()) and (folder / "runs").is_dir():
        return folder / "runs"
    return folder


def two_results_folders(first: Path, second: Path) -> tuple[Path, Path]:
    """The results folders of a comparison of two (`harness compare`, `harness transfer`), each possibly a report
    folder with its runs below it. The same folder twice is refused: it would compare every cell with itself and
    find nothing, which reads as "no difference" rather than as the slip it is."""
    a, b = results_folder(first), results_folder(second)
    if a.resolve() == b.resolve():
        raise RunError(f"{first} and {second}: the same results folder twice; a comparison needs two")
    return a, b


def collect(results_dir: Path, variants: str | None = None, *, ignore: Path | None = None) -> Results:
    """Every run under `results_dir` (one level), except the folder `ignore` (the report's own output)."""
    results_dir = Path(results_dir)
    ignored = ignore.resolve() if ignore is not None else None
    if not results_dir.is_dir():
        raise RunError(f"{results_dir}: no such results folder")
    runs, metrics, steps, skipped = [], [], [], []
    for folder in sorted(p for p in results_dir.iterdir() if p.is_dir() and not p.name.startswith(".")
                         and p.resolve() != ignored):
        try:
            run, m, s = _read_run(RunDir(folder))
        except (RunError, KeyError, TypeError, ValueError, json.JSONDecodeError) as exc:
            reason = str(exc) if isinstance(exc, RunError) else f"{type(exc).__name__}: {exc}"
            skipped.append(f"{folder}: {reason}")
            log.warning("report: skipping %s (%s)", folder, reason)
            continue
        runs.append(run)
        metrics.append(m)
        steps.append(s)
    runs_df = pd.DataFrame(runs, columns=["run", "variant", "seed", "profile", "status", "epochs_done", "epochs",
                                          "machine", "code", "path", "source", "config", "classifiers"])
    metrics_df = pd.concat(metrics, ignore_index=True) if metrics else pd.DataFrame(columns=METRIC_COLUMNS +
                                                                                     ["profile"])
    steps_df = pd.concat(steps, ignore_index=True) if steps else pd.DataFrame(
        columns=STEP_COLUMNS + ["run", "variant", "seed", "profile"])
    if variants:
        keep = _matching(runs_df["variant"].tolist(), variants)
        runs_df = runs_df[runs_df["variant"].isin(keep)]
        metrics_df = metrics_df[metrics_df["variant"].isin(keep)]
        steps_df = steps_df[steps_df["variant"].isin(keep)]
    return Results(runs_df.reset_index(drop=True), metrics_df.reset_index(drop=True),
                   steps_df.reset_index(drop=True), skipped)


def with_seeds(results: Results, seeds: list[int]) -> Results:
    """The same results restricted to `seeds` (a report's confirmatory seeds: those that did not screen)."""
    keep = set(results.runs.loc[results.runs["seed"].isin(seeds), "run"])
    return Results(results.runs[results.runs["run"].isin(keep)].reset_index(drop=True),
                   results.metrics[results.metrics["run"].isin(keep)].reset_index(drop=True),
                   results.steps[results.steps["run"].isin(keep)].reset_index(drop=True), results.skipped)


def _read_run(rd: RunDir) -> tuple[dict, pd.DataFrame, pd.DataFrame]:
    record = rd.read_record()  # RunError if absent, not JSON or not a run record
    cfg, data = record["config"], record["data"]
    variant, seed, profile = str(cfg["variant"]), int(cfg["seed"]), str(cfg.get("profile", ""))
    m, s = rd.tables()  # DamagedTable if either is cut or stops short of the epoch the run recorded
    missing = set(METRIC_COLUMNS) - set(m.columns)
    if len(m) and missing:
        raise RunError(f"metrics.csv lacks columns {sorted(missing)}")
    m = numeric_values(m.assign(run=rd.run_id, variant=variant, seed=seed, profile=profile))
    _check_compared_values(rd, m)
    m["class"] = m["class"].astype(object).fillna("")  # an all-empty column reads as float NaN
    s = s.assign(run=rd.run_id, variant=variant, seed=seed, profile=profile)
    epochs_done = int(m["epoch"].max()) if len(m) and m["epoch"].notna().any() else 0
    run = {"run": rd.run_id, "variant": variant, "seed": seed, "profile": profile, "status": rd.status(),
           "epochs_done": epochs_done, "epochs": int(cfg.get("train.epochs", 0)),
           "machine": machines(record), "code": codes(record), "path": str(rd.path),
           "source": str(data.get("source") or ""), "config": cfg, "classifiers": classifiers(rd, record, m)}
    return run, m, s


def _check_compared_values(rd: RunDir, m: pd.DataFrame) -> None:
    """A compared output (FID, label fidelity, ...) is never missing from one class of an evaluation the harness
    wrote: it would silently make that cell a mean over fewer seeds than its row says. Such a run is damaged."""
    from harness.evaluate import metrics

    compared = {name for name, (_, output) in metrics.outputs().items() if output.compare}
    missing = m["metric"].isin(compared) & m["value"].isna()
    if missing.any():
        row = m[missing].iloc[0]
        raise RunError(f"{rd.metrics_path}: damaged table: line {int(missing.to_numpy().argmax()) + 2} has no value "
                       f"for {row['metric']} ({row['class'] or 'no class'}, epoch {int(row['epoch'])})")


UNKNOWN = "unknown"  # a run has domain rows whose reference classifier it did not record


def classifiers(rd: RunDir, record: dict, m: pd.DataFrame) -> frozenset[str]:
    """The reference classifiers (their cache keys, as canonical JSON) this run's domain rows came from: the
    training's (config.json) and each `harness eval`'s (evaluations.jsonl). UNKNOWN when some domain rows have
    no record: runs made before harness 0.4 recorded none for training, a resume across a cache change mixed
    two, or evaluations.jsonl is damaged. Empty when the run has no domain rows."""
    domain_epochs = set(m.loc[m["metric"] == "domain_fid", "epoch"].dropna().astype(int))
    if not domain_epochs:
        return frozenset()
    keys, covered = set(), set()
    try:
        evaluations = rd.evaluations()
    except RunError:
        return frozenset({UNKNOWN})
    for e in evaluations:
        key = (e.get("reference_classifier") or {}).get("key")
        if key is not None and "domain_fid" in e.get("metrics", []):
            keys.add(json.dumps(key, sort_keys=True))
            covered.add(int(e.get("epoch", -1)))
    training = (record.get("reference_classifier") or {}).get("key")
    if training is not None:
        keys.add(json.dumps(training, sort_keys=True))
    elif domain_epochs - covered:
        keys.add(UNKNOWN)
    return frozenset(keys)


def _matching(names: list[str], patterns: str) -> list[str]:
    import fnmatch

    out = []
    for pattern in (p.strip() for p in patterns.split(",") if p.strip()):
        out += [n for n in names if fnmatch.fnmatchcase(n, pattern) and n not in out]
    if not out:
        known = sorted(set(names))
        raise RunError(f"--variants {patterns!r} matches no run in the results folder "
                       f"(it holds: {', '.join(known) or 'no runs'})")
    return out


def label(variant: str, profile: str, several_profiles: bool) -> str:
    """How a group of runs is named in tables: the variant, with its profile when profiles are mixed."""
    return f"{variant} [{profile}]" if several_profiles else variant

