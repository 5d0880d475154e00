"""Evaluating a generator: Inception FID and KID per class, with fixed latents.

For class c, n generated images of class c (from latents fixed by the run
seed, identical for every variant and every epoch) are compared with real
images of class c from the reference split. Under the "paper" protocol
(the 2022 study's), that is n random real images; under "full", every real
image of the class. The mean over classes and a pooled all-class value are
reported too. Generated images are quantised to uint8 like the real ones,
and can be re-encoded as JPEG first: EuroSAT patches are JPEGs, and
clean-fid showed that compression alone shifts FID.

Rows are tidy: epoch, class, metric, value, n_real, n_fake.
"""

from __future__ import annotations

import io
import logging

import numpy as np

from harness import config as config_mod
from harness import dataset, eurosat, images, streams
from harness.config import RunConfig
from harness.fid import distances, reference

log = logging.getLogger("harness")
# EuroSAT's JPEGs use quantisation tables of all ones (Pillow's quality 100) and 4:2:0 chroma subsampling.
EUROSAT_JPEG_QUALITY = 100


def fixed_latents(seed: int, cls: int, n: int, noise_dim: int) -> np.ndarray:
    """The evaluation latents of one class: the same for every variant and epoch under one seed."""
    rng = np.random.default_rng([seed, cls, streams.EVAL_FAKE_LATENTS])
    return rng.standard_normal((n, noise_dim)).astype(np.float32)


def jpeg_roundtrip(pixels: np.ndarray, quality: int) -> np.ndarray:
    from PIL import Image

    out = np.empty_like(pixels)
    for i, image in enumerate(pixels):
        buffer = io.BytesIO()
        Image.fromarray(image).save(buffer, format="JPEG", quality=quality, subsampling="4:2:0")
        buffer.seek(0)
        with Image.open(buffer) as decoded:
            out[i] = np.asarray(decoded.convert("RGB"))
    return out


class Evaluator:
    """Holds the extractor and the reference images of one run's protocol."""

    def __init__(self, cfg: RunConfig, ds: dataset.EuroSAT, *, extractor=None, out_dir=None, reference=None):
        self.cfg, self.ds = cfg, ds
        self.out_dir = out_dir  # where domain metrics save their figures (the run folder's domain/)
        self._reference, self._domain = reference, None
        e = cfg.eval
        self.metrics = config_mod.metric_list(e.metrics)
        self.reference_split = e.reference or cfg.data.split
        self.reference_idx = dataset.split_indices(ds.labels, self.reference_split, seed=cfg.data.split_seed)
        self._extractor = extractor

    @property
    def extractor(self):
        if self._extractor is None:
            from harness.fid.extractor import InceptionFeatures

            self._extractor = InceptionFeatures(batch_size=self.cfg.eval.batch)
        return self._extractor

    @property
    def domain(self):
        """The domain metrics, with the reference classifier (trained once and cached, if it is not yet)."""
        if self._domain is None:
            from harness import classifier, domain, runner

            ref = self._reference or classifier.reference(self.ds, split_seed=self.cfg.data.split_seed)
            self._domain = domain.DomainMetrics(self, ref, train_idx=runner.training_indices(self.ds, self.cfg),
                                                out_dir=self.out_dir)
        return self._domain

    @property
    def has_domain(self) -> bool:
        """Whether the domain metrics (and so the reference classifier) were used."""
        return self._domain is not None

    # Real side ---------------------------------------------------------
    def real_indices(self, cls: int) -> np.ndarray:
        members = self.reference_idx[self.ds.labels[self.reference_idx] == cls]
        e = self.cfg.eval
        if e.protocol == "full" or e.n >= len(members):
            return members
        rng = np.random.default_rng([self.cfg.seed, cls, streams.EVAL_REAL_SAMPLE])
        return np.sort(rng.choice(members, e.n, replace=False))

    def real_key(self, cls: int) -> dict:
        from harness.fid import extractor as ex
        from harness.fid import weights

        e = self.cfg.eval
        return {"digest": self.ds.digest, "decoder": dataset._decoder_id(), "split": self.reference_split,
                "split_seed": self.cfg.data.split_seed, "class": eurosat.CLASSES[cls],
                "n": "full" if e.protocol == "full" else e.n,
                "sampling_seed": None if e.protocol == "full" else self.cfg.seed,
                "weights": weights.PT_SHA256, "resize": ex.RESIZE_MODE, "metric_version": reference.METRIC_VERSION}

    def real_features(self, cls: int) -> np.ndarray:
        idx = self.real_indices(cls)
        return reference.cached(self.real_key(cls), lambda: self.extractor(self.ds.images[idx]))

    # Generated side ----------------------------------------------------
    def fake_count(self, n_real: int) -> int:
        """eval.n, or more when the sample-size curve asks for a larger N ("full": as many as the reals)."""
        sizes = config_mod.sample_sizes(self.cfg.eval.sample_sizes)
        return max([self.cfg.eval.n] + [n or n_real for n in sizes])

    def fake_images(self, generator, cls: int, count: int | None = None) -> np.ndarray:
        """`count` images of class `cls` (default eval.n); a smaller count is a prefix of a larger one."""
        e = self.cfg.eval
        count = count or e.n
        noise = fixed_latents(self.cfg.seed, cls, count, self.cfg.model.g.noise_dim)
        labels = np.full(count, cls, np.int32)
        out = images.sample_uint8(generator, noise, labels)
        return jpeg_roundtrip(out, e.jpeg_quality) if e.jpeg_quality else out

    # Metrics -----------------------------------------------------------
    def evaluate_epoch(self, generator, epoch: int, *, final: bool) -> list[dict]:
        """What training records after `epoch`: every requested metric after the last epoch and every
        eval.every epochs, and the per-epoch curve metrics every eval.domain_every epochs; none twice."""
        e = self.cfg.eval
        names = list(self.metrics) if self.metrics and (final or (e.every and epoch % e.every == 0)) else []
        if e.domain_every and epoch % e.domain_every == 0:
            names += [m for m in config_mod.CURVE_METRICS if m not in names]
        return self.evaluate(generator, epoch, names) if names else []

    def evaluate(self, generator, epoch: int, metrics: list[str] | None = None) -> list[dict]:
        """The metrics asked for (default: eval.metrics): Inception ones (per class, mean, pooled), then domain
        ones."""
        metrics = self.metrics if metrics is None else metrics
        rows = self.evaluate_inception(generator, epoch, metrics) if set(metrics) & set(
            config_mod.INCEPTION_METRICS) else []
        domain = [m for m in metrics if m in config_mod.DOMAIN_METRICS]
        if domain:
            rows += self.domain.evaluate(generator, epoch, domain)
        return rows

    def evaluate_inception(self, generator, epoch: int, metrics: list[str] | None = None) -> list[dict]:
        """Rows for every class, their mean, and all classes pooled."""
        e = self.cfg.eval
        metrics = self.metrics if metrics is None else metrics
        if "fid" in metrics and e.n < distances.FEATURE_DIM:
            log.warning("FID with %d generated images per class (< %d features): the covariance is rank-deficient,"
                        " FID is biased upward and comparable only at equal N; KID is unbiased", e.n,
                        distances.FEATURE_DIM)
        rows: list[dict] = []
        pooled_real, pooled_fake = [], []
        for cls, name in enumerate(eurosat.CLASSES):
            real = self.real_features(cls)
            fake_all = self.extractor(self.fake_images(generator, cls, self.fake_count(len(real))))
            fake = fake_all[:e.n]
            pooled_real.append(real)
            pooled_fake.append(fake)
            rows += self._distances(epoch, name, real, fake, metrics)
            if e.sample_sizes and "fid" in metrics:
                rows += self._curve(epoch, name, real, fake_all)
        for metric in ("fid", "kid", "kid_std"):  # one row per class each; the curve's rows have several N
            values = [r["value"] for r in rows if r["metric"] == metric and r["class"] in eurosat.CLASSES]
            if values:
                rows.append(_row(epoch, "mean", metric, float(np.mean(values)), None, e.n))
        rows += self._distances(epoch, "all", np.concatenate(pooled_real), np.concatenate(pooled_fake), metrics)
        fids = {r["class"]: r["value"] for r in rows if r["metric"] == "fid"}
        if fids:
            log.info("epoch %d  FID mean %.2f  all %.2f  best %s %.2f  worst %s %.2f", epoch, fids["mean"],
                     fids["all"], *min(((c, v) for c, v in fids.items() if c in eurosat.CLASSES),
                                       key=lambda cv: cv[1]),
                     *max(((c, v) for c, v in fids.items() if c in eurosat.CLASSES), key=lambda cv: cv[1]))
        return rows

    def _distances(self, epoch: int, name: str, real: np.ndarray, fake: np.ndarray, metrics: list[str]) -> list[dict]:
        rows = []
        if "fid" in metrics:
            value = distances.fid(real, fake, method=self.cfg.eval.sqrt)
            rows.append(_row(epoch, name, "fid", value, len(real), len(fake)))
        if "kid" in metrics:
            mean, std = distances.kid(real, fake, subset_size=min(1000, len(real), len(fake)), seed=self.cfg.seed)
            rows.append(_row(epoch, name, "kid", mean, len(real), len(fake)))
            rows.append(_row(epoch, name, "kid_std", std, len(real), len(fake)))
        return rows

    def _curve(self, epoch: int, name: str, real: np.ndarray, fake: np.ndarray) -> list[dict]:
        e = self.cfg.eval
        sizes = [n or min(len(real), len(fake)) for n in config_mod.sample_sizes(e.sample_sizes)]
        curve = distances.fid_sample_size_curve(real, fake, sizes, bootstraps=e.bootstraps, seed=self.cfg.seed,
                                                method=e.sqrt)
        rows = []
        for n, mean, std in curve["points"]:
            rows.append(_row(epoch, name, "fid_at_n", mean, n, n))
            rows.append(_row(epoch, name, "fid_at_n_std", std, n, n))
        for n, value in curve["floor"]:
            rows.append(_row(epoch, name, "fid_real_floor", value, n, n))
        if curve["fid_inf"] is not None:
            rows.append(_row(epoch, name, "fid_inf", curve["fid_inf"], len(real), len(fake)))
        return rows


def evaluate_run(run_dir, *, data=None, epoch: int | None = None, overrides: dict | None = None) -> list[dict]:
    """`harness eval`: evaluate a run's checkpoint and merge the rows into its metrics table."""
    import pandas as pd

    from harness.errors import RunError
    from harness.generate import load_generator
    from harness.rundir import METRIC_COLUMNS, RunDir

    rd = RunDir(run_dir)
    record = rd.read_record()
    source = data or _recorded_source(record)
    with rd.lock():
        cfg, generator, at_epoch = load_generator(rd, epoch)
        config_mod.apply(cfg, dict(overrides or {}))
        config_mod.validate(cfg)
        if not config_mod.metric_list(cfg.eval.metrics):
            raise RunError("nothing to evaluate: --metrics is empty")
        ds = dataset.load(source)
        if ds.digest != record["data"]["digest"]:
            raise RunError(f"{ds.source}: content digest {ds.digest[:12]}... is not the run's "
                           f"{record['data']['digest'][:12]}...; pass --data with the archive the run used")
        evaluator = Evaluator(cfg, ds, out_dir=rd.path / "domain")
        rows = evaluator.evaluate(generator, at_epoch)
        rows = [{"run": rd.run_id, "variant": cfg.variant, "seed": cfg.seed, **r} for r in rows]
        new = pd.DataFrame(rows, columns=METRIC_COLUMNS)
        old = rd.metrics()
        if len(old):
            # Re-evaluating the same protocol replaces its rows; other N or metrics stay beside them.
            old = old[~_row_keys(old).isin(set(_row_keys(new)))]
        rd.write_table(rd.metrics_path, pd.concat([old, new], ignore_index=True)[METRIC_COLUMNS])
        rd.append_evaluation(_evaluation_record(cfg, at_epoch, overrides, evaluator))
    return rows


def _evaluation_record(cfg, epoch: int, overrides: dict | None, evaluator: Evaluator) -> dict:
    """What one `harness eval` computed and with which settings: the metric rows alone do not say (e.g. a CAS
    row from a shortened eval.cas_steps looks like a full-budget one)."""
    import datetime

    record = {"time": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
              "epoch": epoch, "metrics": config_mod.metric_list(cfg.eval.metrics),
              "overrides": {k: str(v) for k, v in (overrides or {}).items()},
              "eval": {k: v for k, v in config_mod.flatten(cfg).items() if k.startswith("eval.")}}
    if evaluator.has_domain:
        ref = evaluator.domain.ref
        record["reference_classifier"] = {"key": ref.info["key"], "test_accuracy": ref.info["test"]["accuracy"]}
    return record


def _row_keys(frame):
    """One string per row identifying (epoch, class, metric, n_real, n_fake), whatever the dtypes."""
    import pandas as pd

    parts = [pd.to_numeric(frame["epoch"]).astype("int64").astype(str),
             frame["class"].fillna("").astype(str), frame["metric"].astype(str)]
    for col in ("n_real", "n_fake"):
        parts.append(pd.to_numeric(frame[col], errors="coerce").map(lambda v: "" if pd.isna(v) else f"{v:g}"))
    return parts[0].str.cat(parts[1:], sep="|")


def _recorded_source(record: dict):
    """The archive the run was trained on, if it is still there; else the usual lookup."""
    from pathlib import Path

    source = record.get("data", {}).get("source")
    return source if source and Path(source).exists() else None


def _row(epoch, cls, metric, value, n_real, n_fake) -> dict:
    return {"epoch": epoch, "class": cls, "metric": metric, "value": value, "n_real": n_real, "n_fake": n_fake}
