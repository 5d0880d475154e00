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
import math

import numpy as np

from harness import config as config_mod
from harness import images, streams
from harness.config import RunConfig
from harness.data import dataset, eurosat
from harness.evaluate import metrics
from harness.evaluate.fid import real_cache
from harness.evaluate.metrics import features, spaces
from harness.rows import row

log = logging.getLogger("harness")
# EuroSAT's JPEGs use quantisation tables of all ones (Pillow's quality 100) and 4:2:0 chroma subsampling.
EUROSAT_JPEG_QUALITY = 100


def fixed_latents(seed: int, cls: int, n: int, noise_dim: int, draw: int = 0) -> np.ndarray:
    """The evaluation latents of one class: the same for every variant and epoch under one seed. Draw k > 0 is
    an independent set (eval.draw), to measure how much a metric moves when only the samples change."""
    rng = np.random.default_rng([seed, cls, streams.EVAL_FAKE_LATENTS] + ([draw] if draw else []))
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
    """Evaluates one run's generator: owns the feature extractors, the real images each class is compared with
    (and their features, kept across epochs), and runs the registered metrics (harness.evaluate.metrics) over one
    FeatureBank per evaluation."""

    def __init__(self, cfg: RunConfig, ds: dataset.EuroSAT, *, extractor=None, out_dir=None, reference=None):
        self.cfg, self.ds = cfg, ds
        self.out_dir = out_dir  # where metrics save their figures (the run folder's domain/)
        self._classifier = reference
        e = cfg.eval
        self.metrics = metrics.expand(e.metrics)
        self.reference_split = e.reference or cfg.data.split
        self.real_pool = dataset.split_indices(ds.labels, self.reference_split, seed=cfg.data.split_seed)
        self.train_idx = dataset.training_indices(ds, cfg.data)  # what the GAN trained on (for memorisation)
        self._extractor = extractor
        self._domain_features: dict[tuple[str, int], np.ndarray] = {}
        self._real: dict[tuple[str, int], np.ndarray] = {}

    # Feature spaces ------------------------------------------------------
    @property
    def extractor(self):
        if self._extractor is None:
            from harness.evaluate.fid.extractor import InceptionFeatures

            self._extractor = InceptionFeatures(batch_size=self.cfg.eval.batch, resize=self.cfg.eval.resize)
        return self._extractor

    @property
    def reference_classifier(self):
        """The reference EuroSAT classifier (trained once and cached, if it is not yet)."""
        if self._classifier is None:
            from harness.evaluate import classifier

            self._classifier = classifier.reference(self.ds, split_seed=self.cfg.data.split_seed)
        return self._classifier

    @property
    def has_domain(self) -> bool:
        """Whether the reference classifier was used."""
        return self._classifier is not None

    def extract(self, space: str, pixels: np.ndarray) -> np.ndarray:
        """Features of uint8 images in a registered feature space (harness.evaluate.metrics.spaces)."""
        return spaces.get(space).extract(self, pixels)

    def domain_features(self, role: str, cls: int, idx: np.ndarray) -> np.ndarray:
        """The reference classifier's features of real images `idx` playing `role` for class `cls` (e.g. the
        training images memorisation compares with); the same at every epoch, so kept."""
        if (role, cls) not in self._domain_features:
            self._domain_features[role, cls] = self.reference_classifier.features(self.ds.images[idx])
        return self._domain_features[role, cls]

    def real_in(self, space: str, cls: int) -> np.ndarray:
        """The features, in `space`, of the real images class `cls` is compared with; the same at every epoch,
        so kept."""
        if (space, cls) not in self._real:
            kind = spaces.get(space)
            self._real[space, cls] = (kind.real(self, cls) if kind.real
                                      else kind.extract(self, self.ds.images[self.real_indices(cls)]))
        return self._real[space, cls]

    # Real side ---------------------------------------------------------
    def real_indices(self, cls: int) -> np.ndarray:
        members = self.real_pool[self.ds.labels[self.real_pool] == cls]
        e = self.cfg.eval
        if e.protocol == "full" or e.n >= len(members):
            return members
        rng = np.random.default_rng([self.cfg.seed, cls, streams.EVAL_REAL_SAMPLE])
        return np.sort(rng.choice(members, e.n, replace=False))

    def real_key(self, cls: int) -> dict:
        e = self.cfg.eval
        return real_cache.real_key(self.ds, split=self.reference_split, split_seed=self.cfg.data.split_seed,
                                  cls=eurosat.CLASSES[cls], n="full" if e.protocol == "full" else e.n,
                                  resize=e.resize, sampling_seed=None if e.protocol == "full" else self.cfg.seed)

    def real_features(self, cls: int) -> np.ndarray:
        idx = self.real_indices(cls)
        return real_cache.cached(self.real_key(cls), lambda: self.extractor(self.ds.images[idx]))

    # Generated side ----------------------------------------------------
    def fake_count(self, n_real: int) -> int:
        """eval.n, or more when the sample-size curve asks for a larger N ("full": as many as the reals)."""
        sizes = config_mod.sample_sizes(self.cfg.eval.sample_sizes)
        return max([self.cfg.eval.n] + [n or n_real for n in sizes])

    def fake_images(self, generator, cls: int, count: int | None = None) -> np.ndarray:
        """`count` images of class `cls` (default eval.n); a smaller count is a prefix of a larger one."""
        e = self.cfg.eval
        count = count or e.n
        noise = fixed_latents(self.cfg.seed, cls, count, self.cfg.model.g.noise_dim, e.draw)
        labels = np.full(count, cls, np.int32)
        out = images.sample_uint8(generator, noise, labels)
        return jpeg_roundtrip(out, e.jpeg_quality) if e.jpeg_quality else out

    # Metrics -----------------------------------------------------------
    def due(self, epoch: int, *, final: bool) -> list[str]:
        """What training records after `epoch`: every requested metric after the last epoch and every
        eval.every epochs, and the cheap (curve) metrics every eval.domain_every epochs; none twice."""
        e = self.cfg.eval
        names = list(self.metrics) if self.metrics and (final or (e.every and epoch % e.every == 0)) else []
        if e.domain_every and epoch % e.domain_every == 0:
            names += [m for m in metrics.cheap() if m not in names]
        return names

    def evaluate_epoch(self, generator, epoch: int, *, final: bool) -> list[dict]:
        names = self.due(epoch, final=final)
        return self.evaluate(generator, epoch, names) if names else []

    @staticmethod
    def compared(rows: list[dict]) -> list[dict]:
        """The rows worth a curve: finite values of outputs the report compares (no confusion rows, no spreads)."""
        declared = metrics.outputs()
        return [r for r in rows if math.isfinite(r["value"]) and r["metric"] in declared
                and declared[r["metric"]][1].compare]

    def settings_of(self, name: str) -> str:
        return metrics.get(name).settings_text(self.cfg)

    def evaluate(self, generator, epoch: int, names: list[str] | None = None) -> list[dict]:
        """Rows of the metrics asked for (default: eval.metrics), plus those they imply; every metric reads one
        shared FeatureBank, so each image set is sampled and each feature space extracted once."""
        names = list(self.metrics if names is None else names)
        names += [m.name for m in metrics.registered().values()
                  if m.implied and m.name not in names and m.implied(self.cfg, names)]
        bank = features.FeatureBank(self, generator)
        rows: list[dict] = []
        for name in names:
            metric = metrics.get(name)
            caveat = metric.caveat(self.cfg) if metric.caveat else None
            if caveat:
                log.warning(caveat)
            if metric.per_class:
                rows += per_class_rows(metric, bank, self.cfg, epoch)
            else:
                rows += metric.compute(bank, epoch)
        if self.cfg.eval.draw:  # another draw of the same generator's samples: kept apart from draw 0's rows
            rows = [{**r, "settings": _join(r["settings"], f"draw={self.cfg.eval.draw}")} for r in rows]
        return rows


def per_class_rows(metric, bank, cfg: RunConfig, epoch: int) -> list[dict]:
    """A per-class metric's rows: one per class and output, the class mean of each scalar output, and (if the
    metric pools) one on every class pooled. `bank` serves features (harness.evaluate.metrics.features.FeatureBank)."""
    settings = metric.settings_text(cfg)
    rows: list[dict] = []

    def add(cls_name, real, fake, values):
        n_real = None if real is None else len(real)
        for output, value in values.items():
            if isinstance(value, dict):  # a family of rows told apart by their settings (e.g. predicted_as)
                rows.extend(row(epoch, cls_name, output, v, n_real, len(fake), _join(settings, key))
                            for key, v in value.items())
            else:
                rows.append(row(epoch, cls_name, output, value, n_real, len(fake), settings))

    for cls, name in enumerate(eurosat.CLASSES):
        real = bank.real(metric.space, cls) if metric.needs_real else None
        fake = bank.fake(metric.space, cls)
        add(name, real, fake, metric.compute(real, fake, cfg=cfg, cls=name, bank=bank))
    for output in metric.outputs:
        values = [r["value"] for r in rows if r["metric"] == output.name and r["settings"] == settings]
        if values:
            rows.append(row(epoch, "mean", output.name, float(np.mean(values)), None, cfg.eval.n, settings))
    if metric.pooled:
        real, fake = bank.pooled(metric.space, real=metric.needs_real)
        add("all", real, fake, metric.compute(real, fake, cfg=cfg, cls=None, bank=bank))
    _log_summary(epoch, metric, rows)
    return rows


def _join(*settings: str) -> str:
    return ";".join(s for s in settings if s)


def _log_summary(epoch: int, metric, rows: list[dict]) -> None:
    """One line per ranked output of a per-class metric: class mean, pooled value, best and worst class."""
    for head in (o for o in metric.outputs if o.better):
        values = {r["class"]: r["value"] for r in rows if r["metric"] == head.name}
        per_class = [(c, v) for c, v in values.items() if c in eurosat.CLASSES]
        if not per_class or "mean" not in values:
            continue
        order = sorted(per_class, key=lambda cv: cv[1], reverse=head.higher_is_better)
        pooled = f"  all {values['all']:.{head.digits}f}" if "all" in values else ""
        log.info("epoch %d  %s mean %.*f%s  best %s %.*f  worst %s %.*f", epoch, head.title, head.digits,
                 values["mean"], pooled, order[0][0], head.digits, order[0][1], order[-1][0], head.digits, order[-1][1])
