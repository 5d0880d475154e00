"""The rows of a run's two tables, made here and nowhere else: what every stage writes and the report reads.

metrics.csv rows are tidy: one value per (epoch, class, metric, settings), with the
sample sizes behind it. `class` is a EuroSAT class, "mean" (the class mean),
"all" (every class pooled) or an experiment's own key such as "k=10".
`settings` holds the metric's settings that change its value ("k=5"), so two
settings never overwrite or average each other. steps.csv has one row per training step.
"""

from __future__ import annotations

import dataclasses
import math

# Columns of a run's metrics.csv, in order. run/variant/seed are filled in by the run folder.
METRIC_COLUMNS = ["run", "variant", "seed", "epoch", "class", "metric", "value", "n_real", "n_fake", "settings"]
# Columns of a run's steps.csv, in order.
STEP_COLUMNS = ["epoch", "step", "d_loss", "g_loss", "d_acc_real", "d_acc_fake"]
# A discriminator right on at least this share of the real images and of the generated ones has won: the generator
# gets next to no gradient (the trainer warns at such an epoch; the report names runs that end that way).
D_WON_ACCURACY = 0.99


@dataclasses.dataclass(frozen=True)
class MetricRow:
    epoch: int
    cls: str
    metric: str
    value: float
    n_real: int | None = None
    n_fake: int | None = None
    settings: str = ""

    def as_dict(self) -> dict:
        return {"epoch": int(self.epoch), "class": self.cls, "metric": self.metric,
                "value": float(self.value) if self.value is not None else math.nan,
                "n_real": self.n_real, "n_fake": self.n_fake, "settings": self.settings}


def row(epoch, cls, metric, value, n_real=None, n_fake=None, settings: str = "") -> dict:
    """A metric row as the dict the tables are built from."""
    return MetricRow(epoch, cls, metric, value, n_real, n_fake, settings).as_dict()


# Augmentation rows once kept k in the class column ("k=10"); confusion rows kept the predicted class in the
# metric name ("predicted_as:Forest"). Both are settings now.
_AUGMENTATION = ("accuracy_real_only", "accuracy_with_generated", "augmentation_gain", "augmentation_gain_sd")


def upgrade(frame):
    """A metrics table in today's form, whatever harness version wrote it (adds `settings`, moves old settings
    out of `class` and `metric`)."""
    frame = frame.copy()
    if "settings" not in frame.columns:
        frame["settings"] = ""
    frame["settings"] = _text(frame["settings"])
    if frame.empty:
        return frame[[c for c in METRIC_COLUMNS if c in frame.columns]]
    metric = frame["metric"].astype(str)
    confusion = metric.str.startswith("predicted_as:")
    if confusion.any():
        frame.loc[confusion, "settings"] = "predicted=" + metric[confusion].str.split(":", n=1).str[1]
        frame.loc[confusion, "metric"] = "predicted_as"
    cls = frame["class"].astype(str)
    old_k = frame["metric"].isin(_AUGMENTATION) & cls.str.fullmatch(r"k=\d+")
    if old_k.any():
        frame.loc[old_k, "settings"] = cls[old_k]
        frame.loc[old_k, "class"] = "all"
    known = [c for c in METRIC_COLUMNS if c in frame.columns]
    return frame[known + [c for c in frame.columns if c not in METRIC_COLUMNS]]


def keys(frame):
    """One string per row identifying (epoch, class, metric, n_real, n_fake, settings), whatever the dtypes."""
    import pandas as pd

    parts = [pd.to_numeric(frame["epoch"]).astype("int64").astype(str),
             _text(frame["class"]), frame["metric"].astype(str), _text(frame["settings"])]
    for col in ("n_real", "n_fake"):
        parts.append(pd.to_numeric(frame[col], errors="coerce").map(lambda v: "" if pd.isna(v) else f"{v:g}"))
    return parts[0].str.cat(parts[1:], sep="|")


def _text(column):
    """A column as strings, missing values as "" (an all-missing column reads as float64, which "" cannot fill)."""
    return column.astype(object).fillna("").astype(str)
