"""A run folder: the complete, resumable record of one training run.

    results/<run-id>/
      config.json      resolved config (flattened), data digest, library versions, machine, each sitting
                       (start or resume: when, from which epoch, machine, versions, code: commit and
                       uncommitted changes), and the reference classifier (recipe key, weights digest) the
                       training-time domain rows came from
      status           running | done | failed: why | diverged at epoch k
      metrics.csv      tidy long table: run, variant, seed, epoch, class, metric, value, n_real, n_fake,
                       settings (harness.rows)
      steps.csv        per-step losses and discriminator accuracies
      log.txt          the run's log
      samples/         epoch-NNNN.png: fixed latents, one row per class
      checkpoints/     last.npz and previous.npz (full training state), generator-epoch-NNNN.npz
      tensorboard/     scalars and sample images
      generator.keras  the final generator, loadable without the harness
      evaluations.jsonl one line per `harness eval`: epoch, metrics, eval settings, reference classifier
      domain/          figures of the domain metrics (memorisation's closest pairs)
      .lock            held (flock) while a process trains the run
      .tables.lock     held (flock, waited for) while a process rewrites metrics.csv or evaluations.jsonl

Every file is replaced atomically, so a run killed at any point leaves each
file either as it was or as it was meant to be. A table that is not whole
anyway (cut by a full disk or an interrupted copy, or stopping short of the
epoch the run recorded as finished) is refused with `DamagedTable`, never read
as a result. Writers of metrics.csv read, change and rewrite it under the
tables lock, so an evaluation beside the training, or two evaluations, never
lose each other's rows.
"""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd

from harness import atomicio, provenance
from harness import rows as metric_rows
from harness.errors import DamagedTable, RunError, RunLocked
from harness.rows import METRIC_COLUMNS, STEP_COLUMNS

# What a table must have to be read: metrics tables written before the settings column are still read.
_REQUIRED = {"metrics.csv": [c for c in METRIC_COLUMNS if c != "settings"], "steps.csv": STEP_COLUMNS}
_INTEGER_COLUMNS = ("epoch", "step")
_RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def check_run_id(run_id: str) -> str:
    if not _RUN_ID.match(run_id):
        raise RunError(f"run id {run_id!r} may hold only ASCII letters (a-z, A-Z), digits, '.', '_' and '-', and "
                       "must start with a letter or digit")
    return run_id


class RunDir:
    def __init__(self, path: Path | str):
        self.path = Path(path)
        self.trained = True  # set False by the runner when a resumed run was already finished

    # Paths -------------------------------------------------------------
    @property
    def run_id(self) -> str:
        return self.path.name

    config_path = property(lambda self: self.path / "config.json")
    status_path = property(lambda self: self.path / "status")
    metrics_path = property(lambda self: self.path / "metrics.csv")
    evaluations_path = property(lambda self: self.path / "evaluations.jsonl")
    steps_path = property(lambda self: self.path / "steps.csv")
    log_path = property(lambda self: self.path / "log.txt")
    samples_dir = property(lambda self: self.path / "samples")
    checkpoints_dir = property(lambda self: self.path / "checkpoints")
    tensorboard_dir = property(lambda self: self.path / "tensorboard")
    generator_path = property(lambda self: self.path / "generator.keras")
    lock_path = property(lambda self: self.path / ".lock")
    tables_lock_path = property(lambda self: self.path / ".tables.lock")
    last_checkpoint = property(lambda self: self.checkpoints_dir / "last.npz")
    previous_checkpoint = property(lambda self: self.checkpoints_dir / "previous.npz")

    @property
    def checkpoints(self) -> list[Path]:
        """The training-state checkpoints, newest first."""
        return [self.last_checkpoint, self.previous_checkpoint]

    def generator_snapshot(self, epoch: int) -> Path:
        return self.checkpoints_dir / f"generator-epoch-{epoch:04d}.npz"

    def sample_path(self, epoch: int) -> Path:
        return self.samples_dir / f"epoch-{epoch:04d}.png"

    # Records -----------------------------------------------------------
    def exists(self) -> bool:
        return self.config_path.is_file()

    def foreign_names(self) -> list[str]:
        """What makes an existing folder someone else's: its entries, unless they are a run's (it has a
        config.json) or only what a run being started leaves before its record lands (the locks, a write in
        progress). Read from one listing, so a run that another process starts at this moment is never taken
        for a foreign folder (the sweeps that race for a cell: the loser then meets the run lock)."""
        if not self.path.is_dir():
            return []
        names = [p.name for p in self.path.iterdir()]
        if self.config_path.name in names:
            return []
        starting = {self.lock_path.name, self.tables_lock_path.name}
        return sorted(n for n in names if n not in starting and not atomicio.is_temporary(n))

    def read_record(self) -> dict:
        """config.json, checked to be a run record this harness wrote (a dict with run_id, config and data)."""
        try:
            record = json.loads(self.config_path.read_text())
        except FileNotFoundError:
            raise RunError(f"{self.path}: not a run folder (no config.json)") from None
        except UnicodeDecodeError:
            raise DamagedTable(f"{self.config_path}: damaged record (not UTF-8 text)") from None
        except json.JSONDecodeError as exc:
            raise DamagedTable(f"{self.config_path}: not valid JSON ({exc.msg}: line {exc.lineno}, column "
                               f"{exc.colno}); a cut or edited record is never read") from None
        if not (isinstance(record, dict) and {"run_id", "config", "data"} <= set(record)
                and isinstance(record["config"], dict) and isinstance(record["data"], dict)):
            raise RunError(f"{self.config_path}: not a harness run record (needs run_id, config and data)")
        return record

    def write_record(self, record: dict) -> None:
        atomicio.write_json(self.config_path, record)

    def status(self) -> str:
        try:
            return self.status_path.read_text().strip()
        except FileNotFoundError:
            return "absent"

    def set_status(self, status: str) -> None:
        atomicio.write_text(self.status_path, status + "\n")

    # Tables ------------------------------------------------------------
    def read_table(self, path: Path, columns: list[str]) -> pd.DataFrame:
        """A table the harness wrote, read whole or not at all (DamagedTable names the file and the line): the
        text must end with an end of line, every line must have the header's number of fields, the header its
        columns, and every epoch and step must be an integer. An absent table is an empty one."""
        if not path.is_file():
            return pd.DataFrame(columns=columns)
        try:
            text = path.read_text()
        except UnicodeDecodeError:
            raise DamagedTable(f"{path}: damaged table (not UTF-8 text)") from None
        _check_whole_csv(path, text, _REQUIRED.get(path.name, columns))
        frame = pd.read_csv(io.StringIO(text), keep_default_na=False, na_values=[""])
        if "value" in frame.columns:  # a value that does not parse is damage, as a short row is
            raw = frame["value"]
            bad = pd.to_numeric(raw, errors="coerce").isna() & raw.notna() & ~raw.astype(str).str.lower().isin(
                ["nan", "inf", "-inf"])
            if bad.any():
                raise DamagedTable(f"{path}: damaged table: line {int(bad.to_numpy().argmax()) + 2} has value "
                                   f"{raw[bad].iloc[0]!r}, not a number")
        for column in _INTEGER_COLUMNS:
            if column in frame.columns:
                bad = pd.to_numeric(frame[column], errors="coerce").isna()
                if bad.any():
                    raise DamagedTable(f"{path}: damaged table: line {int(bad.to_numpy().argmax()) + 2} has "
                                       f"{column} {frame[column][bad].iloc[0]!r}, not an integer")
        return frame

    def write_table(self, path: Path, frame: pd.DataFrame) -> None:
        atomicio.write_text(path, frame.to_csv(index=False))

    def metrics(self) -> pd.DataFrame:
        """The run's metric rows (tables written before the settings column are read in today's form)."""
        return metric_rows.upgrade(self.read_table(self.metrics_path, METRIC_COLUMNS))

    def steps(self) -> pd.DataFrame:
        return self.read_table(self.steps_path, STEP_COLUMNS)

    def finished_epoch(self) -> int | None:
        """The last epoch this run recorded as finished: train.epochs once its status is done, else the newest
        readable checkpoint's epoch; None if it recorded neither (nothing to hold its tables to)."""
        if self.status() == "done":
            return int(self.read_record()["config"]["train.epochs"])
        for path in self.checkpoints:
            try:
                with np.load(path, allow_pickle=False) as saved:
                    return int(saved["counter/epoch"])
            except Exception:  # noqa: BLE001 - absent or unreadable: the next one, as a resume would
                continue
        return None

    def tables(self, through: int | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
        """(metrics, steps), each read whole and reaching epoch `through` (default: `finished_epoch`): a table
        cut at a line boundary parses, but stops short of what the run recorded, and is refused as well."""
        metrics, steps = self.metrics(), self.steps()
        through = self.finished_epoch() if through is None else through
        if through:
            for path, frame in ((self.metrics_path, metrics), (self.steps_path, steps)):
                last = int(pd.to_numeric(frame["epoch"]).max()) if len(frame) else 0
                if last < through:
                    raise DamagedTable(f"{path}: damaged table: it ends at epoch {last}, but the run recorded epoch "
                                       f"{through} as finished")
        return metrics, steps

    def tables_lock(self):
        """Held while a process reads, changes and rewrites metrics.csv or evaluations.jsonl; waited for."""
        return atomicio.waiting_lock(self.tables_lock_path)

    def merge_metrics(self, rows: list[dict], *, variant: str, seed: int) -> None:
        """Add evaluation rows to metrics.csv. Rows of the same (epoch, class, metric, N, settings) replace the
        old ones; other N, metrics or settings stay beside them."""
        new = pd.DataFrame([{"run": self.run_id, "variant": variant, "seed": seed, **r} for r in rows],
                           columns=METRIC_COLUMNS)
        with self.tables_lock():
            old = self.metrics()
            if len(old):
                old = old[~metric_rows.keys(old).isin(set(metric_rows.keys(new)))]
            self.write_table(self.metrics_path, pd.concat([old, new], ignore_index=True)[METRIC_COLUMNS])

    def write_training_metrics(self, mine: list[dict]) -> None:
        """Rewrite metrics.csv as the training's rows `mine` (all of them so far), keeping the rows that another
        process (`harness eval` beside the training) merged in since: they join `mine`, in place, so the
        training writes them again at every later epoch."""
        with self.tables_lock():
            on_disk = self.metrics()
            if len(on_disk):
                known = set(metric_rows.keys(pd.DataFrame(mine, columns=METRIC_COLUMNS))) if mine else set()
                mine += on_disk[~metric_rows.keys(on_disk).isin(known)][METRIC_COLUMNS].to_dict("records")
            self.write_table(self.metrics_path, pd.DataFrame(mine, columns=METRIC_COLUMNS))

    def evaluations(self) -> list[dict]:
        """evaluations.jsonl's records, read whole or not at all (DamagedTable names the line)."""
        if not self.evaluations_path.is_file():
            return []
        text = self.evaluations_path.read_text()
        if text and not text.endswith("\n"):
            raise DamagedTable(f"{self.evaluations_path}: damaged record: line {text.count(chr(10)) + 1} is cut "
                               "off (no end of line)")
        records = []
        for number, line in enumerate(text.splitlines(), start=1):
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                raise DamagedTable(f"{self.evaluations_path}: damaged record: line {number} is not JSON") from None
        return records

    def append_evaluation(self, record: dict) -> None:
        """Add one `harness eval` record to evaluations.jsonl (rewritten atomically, so no line is ever torn; a
        damaged file is refused, not extended)."""
        with self.tables_lock():
            old = "".join(json.dumps(r, sort_keys=True) + "\n" for r in self.evaluations())
            atomicio.write_text(self.evaluations_path, old + json.dumps(record, sort_keys=True) + "\n")

    def truncate_to_epoch(self, epoch: int) -> None:
        """Drop table rows past `epoch`: what a killed run wrote after its last checkpoint."""
        with self.tables_lock():
            for path, frame in zip((self.metrics_path, self.steps_path), self.tables(through=epoch)):
                if len(frame) and (frame["epoch"] > epoch).any():
                    self.write_table(path, frame[frame["epoch"] <= epoch])

    def holder(self) -> str | None:
        """The pid of the process training this run now, or None (a killed run's lock is free: the kernel drops
        it). A read-only probe of the run lock (atomicio.lock_holder)."""
        return atomicio.lock_holder(self.lock_path)

    def lock(self):
        """Hold the run's lock; a second process on the same run gets a RunError."""
        import contextlib

        @contextlib.contextmanager
        def held():
            try:
                with atomicio.exclusive_lock(self.lock_path):
                    yield
            except atomicio.LockHeld as exc:
                raise RunLocked(f"{self.path}: another process (pid {exc}) is working on this run") from None

        return held()


def numeric_values(metrics: pd.DataFrame) -> pd.DataFrame:
    """A run's metric rows with `value` and `epoch` as numbers (a cell that holds none becomes NaN): what every
    reader that computes with them needs, as read they may be text."""
    return metrics.assign(value=pd.to_numeric(metrics["value"], errors="coerce"),
                          epoch=pd.to_numeric(metrics["epoch"], errors="coerce"))


def recorded_sittings(record: dict) -> list[dict]:
    """The sittings (each start or resume) a run record lists. A run made before harness 0.4.1 recorded only its
    latest sitting's machine and versions (top level): that one is returned, marked `earlier_unrecorded` if
    it was a resume, since the machines of the sittings before it are then unknown."""
    if "sittings" in record:
        return list(record["sittings"])
    latest = {"started": record.get("resumed") or record.get("created"),
              "from_epoch": None if "resumed" in record else 0, "machine": record.get("machine"),
              "devices": record.get("devices"), "versions": record.get("versions"), "code": record.get("code")}
    return [{**latest, "earlier_unrecorded": True} if "resumed" in record else latest]


def machines(record: dict) -> str:
    """The CPU of every machine that trained part of the run, in order, joined by " + " (a cell a sweep resumed
    elsewhere names both); "earlier not recorded" where a run from before harness 0.4.1 had been resumed."""
    names = []
    for s in recorded_sittings(record):
        if s.get("earlier_unrecorded"):
            names.append("earlier not recorded")
        names.append(str((s.get("machine") or {}).get("cpu") or "not recorded"))
    return " + ".join(dict.fromkeys(names))


def codes(record: dict) -> str:
    """The code of every sitting of the run (harness.provenance.label), in order, joined by " + "; "not recorded"
    for sittings of runs made before harness recorded it (before 0.5.0: their version string cannot tell a
    frozen older checkout from the release)."""
    return " + ".join(dict.fromkeys(provenance.label(s.get("code")) for s in recorded_sittings(record)))


def _check_whole_csv(path: Path, text: str, required: list[str]) -> None:
    """DamagedTable unless `text` is a whole CSV table with `required` among its header's columns."""
    if not text:
        raise DamagedTable(f"{path}: damaged table: the file is empty")
    if not text.endswith("\n"):
        raise DamagedTable(f"{path}: damaged table: line {text.count(chr(10)) + 1} is cut off (no end of line), as "
                           "a full disk or an interrupted copy leaves a file")
    reader = csv.reader(io.StringIO(text))
    header = next(reader)
    missing = [c for c in required if c not in header]
    if missing:
        raise DamagedTable(f"{path}: damaged table: the header lacks {', '.join(missing)}")
    for number, fields in enumerate(reader, start=2):
        if len(fields) != len(header):
            raise DamagedTable(f"{path}: damaged table: line {number} has {len(fields)} fields, the header "
                               f"{len(header)}")
