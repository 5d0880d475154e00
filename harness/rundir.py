"""A run folder: the complete, resumable record of one training run.

    results/<run-id>/
      config.json      resolved config (flattened), data digest, library versions
      status           running | done | failed: why | diverged at epoch k
      metrics.csv      tidy long table: run, variant, seed, epoch, class, metric, value, n_real, n_fake,
                       settings (harness.metrics.rows)
      steps.csv        per-step losses and discriminator accuracies
      log.txt          the run's log
      samples/         epoch-NNNN.png: fixed latents, one row per class
      checkpoints/     last.npz and previous.npz (full training state), generator-epoch-NNNN.npz
      tensorboard/     scalars and sample images
      generator.keras  the final generator, loadable without the harness
      evaluations.jsonl one line per `harness eval`: epoch, metrics, eval settings, reference classifier
      domain/          figures of the domain metrics (memorisation's closest pairs)
      .lock            held (flock) while a process works on the run

Every file is replaced atomically, so a run killed at any point leaves each
file either as it was or as it was meant to be.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd

from harness import atomicio
from harness.errors import RunError, RunLocked
from harness.metrics import rows as metric_rows

METRIC_COLUMNS = metric_rows.COLUMNS
STEP_COLUMNS = ["epoch", "step", "d_loss", "g_loss", "d_acc_real", "d_acc_fake"]
_RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def check_run_id(run_id: str) -> str:
    if not _RUN_ID.match(run_id):
        raise RunError(f"run id {run_id!r} may hold only letters, digits, '.', '_' and '-'")
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

    def read_record(self) -> dict:
        try:
            return json.loads(self.config_path.read_text())
        except FileNotFoundError:
            raise RunError(f"{self.path}: not a run folder (no config.json)") from None
        except json.JSONDecodeError as exc:
            raise RunError(f"{self.config_path}: not valid JSON ({exc.msg} at line {exc.lineno})") from None

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
        if not path.is_file():
            return pd.DataFrame(columns=columns)
        try:
            return pd.read_csv(path, keep_default_na=False, na_values=[""])
        except (pd.errors.ParserError, UnicodeDecodeError) as exc:
            raise RunError(f"{path}: unreadable table ({exc})") from None

    def write_table(self, path: Path, frame: pd.DataFrame) -> None:
        atomicio.write_text(path, frame.to_csv(index=False))

    def metrics(self) -> pd.DataFrame:
        """The run's metric rows (tables written before the settings column are read in today's form)."""
        return metric_rows.upgrade(self.read_table(self.metrics_path, METRIC_COLUMNS))

    def merge_metrics(self, rows: list[dict], *, variant: str, seed: int) -> None:
        """Add evaluation rows to metrics.csv. Rows of the same (epoch, class, metric, N, settings) replace the
        old ones; other N, metrics or settings stay beside them."""
        new = pd.DataFrame([{"run": self.run_id, "variant": variant, "seed": seed, **r} for r in rows],
                           columns=METRIC_COLUMNS)
        old = self.metrics()
        if len(old):
            old = old[~metric_rows.keys(old).isin(set(metric_rows.keys(new)))]
        self.write_table(self.metrics_path, pd.concat([old, new], ignore_index=True)[METRIC_COLUMNS])

    def steps(self) -> pd.DataFrame:
        return self.read_table(self.steps_path, STEP_COLUMNS)

    def append_evaluation(self, record: dict) -> None:
        """Add one `harness eval` record to evaluations.jsonl (rewritten atomically, so no line is ever torn)."""
        old = self.evaluations_path.read_text() if self.evaluations_path.is_file() else ""
        atomicio.write_text(self.evaluations_path, old + json.dumps(record, sort_keys=True) + "\n")

    def truncate_to_epoch(self, epoch: int) -> None:
        """Drop table rows past `epoch`: what a killed run wrote after its last checkpoint."""
        for path, columns in ((self.metrics_path, METRIC_COLUMNS), (self.steps_path, STEP_COLUMNS)):
            frame = self.metrics() if path == self.metrics_path else self.read_table(path, columns)
            if len(frame) and (frame["epoch"] > epoch).any():
                self.write_table(path, frame[frame["epoch"] <= epoch])

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
