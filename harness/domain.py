"""EuroSAT domain metrics: what a land-cover classifier makes of a generator's images.

All judged by the cached reference classifier (harness.classifier), on the
same fixed latents and the same real images as the Inception metrics:
- fidelity: the share of generated class-c images it calls c, and where the
  rest go ('predicted_as:<class>' rows form the confusion matrix; the 2022
  study saw Highway and River contaminate each other);
- domain_fid: Frechet and kernel distances on its penultimate features, per
  class; cheap enough to track every epoch (eval.domain_every);
- memorisation: each generated image's distance to its nearest training
  image, against real held-out images' nearest-training-image distance; a
  ratio well below 1 flags a generator that copies its training set, and the
  closest pairs are saved as a grid;
- cas: the classification accuracy score (Ravuri & Vinyals 2019), a classifier
  trained only on generated images, tested on the real test split;
- augmentation: test accuracy with k real images per class, alone and with
  generated images added, mean over several seeds, and the gain's standard
  deviation over those seeds (each seed pairs the two settings).
Rows are tidy, like the FID rows: epoch, class, metric, value, n_real, n_fake.
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

import numpy as np

from harness import classifier, config, dataset, eurosat, images, streams
from harness.fid import distances

log = logging.getLogger("harness")
MEMORISATION_FLAG = 0.5  # generated images this much closer to the training set than real held-out ones


class DomainMetrics:
    """Domain metrics of one run's generator; `inception` is the run's Evaluator (latents, real sample)."""

    def __init__(self, inception, reference: classifier.Reference, *, train_idx: np.ndarray,
                 out_dir: Path | None = None):
        self.ev, self.ref = inception, reference
        self.cfg, self.ds = inception.cfg, inception.ds
        self.train_idx = train_idx  # the images the GAN trained on (memorisation is judged against them)
        self.out_dir = out_dir
        self._real_features: dict[tuple[str, int], np.ndarray] = {}  # fixed images: extracted once per run

    def real_features(self, role: str, cls: int, idx: np.ndarray) -> np.ndarray:
        """Features of real images `idx` playing `role` for class `cls`; the same at every epoch, so kept."""
        if (role, cls) not in self._real_features:
            self._real_features[role, cls] = self.ref.features(self.ds.images[idx])
        return self._real_features[role, cls]

    def evaluate(self, generator, epoch: int, metrics: list[str]) -> list[dict]:
        rows: list[dict] = []
        wanted = [m for m in metrics if m in config.DOMAIN_METRICS]
        if not wanted:
            return rows
        fakes = {c: self.ev.fake_images(generator, c) for c in range(eurosat.NUM_CLASSES)}
        if "fidelity" in wanted:
            rows += self.fidelity(epoch, fakes)
        if {"domain_fid", "memorisation"} & set(wanted):
            fake_features = {c: self.ref.features(images) for c, images in fakes.items()}
            if "domain_fid" in wanted:
                rows += self.domain_distances(epoch, fake_features)
            if "memorisation" in wanted:
                rows += self.memorisation(epoch, fakes, fake_features)
        if "cas" in wanted:
            rows += self.cas(generator, epoch)
        if "augmentation" in wanted:
            rows += self.augmentation(generator, epoch)
        return rows

    # Cheap metrics -------------------------------------------------------
    def fidelity(self, epoch: int, fakes: dict[int, np.ndarray]) -> list[dict]:
        rows, shares = [], []
        for cls, name in enumerate(eurosat.CLASSES):
            predicted = self.ref.predict(fakes[cls])
            counts = np.bincount(predicted, minlength=eurosat.NUM_CLASSES) / len(predicted)
            shares.append(counts[cls])
            rows.append(_row(epoch, name, "label_fidelity", float(counts[cls]), None, len(predicted)))
            rows += [_row(epoch, name, f"predicted_as:{other}", float(share), None, len(predicted))
                     for other, share in zip(eurosat.CLASSES, counts)]
        rows.append(_row(epoch, "mean", "label_fidelity", float(np.mean(shares)), None, len(fakes[0])))
        log.info("epoch %d  label fidelity mean %.3f  worst %s %.3f", epoch, np.mean(shares),
                 eurosat.CLASSES[int(np.argmin(shares))], min(shares))
        return rows

    def domain_distances(self, epoch: int, fake_features: dict[int, np.ndarray]) -> list[dict]:
        rows = []
        for cls, name in enumerate(eurosat.CLASSES):
            real = self.real_features("reference", cls, self.ev.real_indices(cls))
            fake = fake_features[cls]
            rows.append(_row(epoch, name, "domain_fid", distances.fid(real, fake), len(real), len(fake)))
            mean, std = distances.kid(real, fake, subset_size=min(1000, len(real), len(fake)), seed=self.cfg.seed)
            rows += [_row(epoch, name, "domain_kid", mean, len(real), len(fake)),
                     _row(epoch, name, "domain_kid_std", std, len(real), len(fake))]
        for metric in ("domain_fid", "domain_kid"):
            values = [r["value"] for r in rows if r["metric"] == metric]
            rows.append(_row(epoch, "mean", metric, float(np.mean(values)), None, len(fake_features[0])))
        return rows

    def memorisation(self, epoch: int, fakes: dict[int, np.ndarray],
                     fake_features: dict[int, np.ndarray]) -> list[dict]:
        held_out = np.setdiff1d(dataset.split_indices(self.ds.labels, "test", seed=self.cfg.data.split_seed),
                                self.train_idx)
        rows, closest = [], []
        for cls, name in enumerate(eurosat.CLASSES):
            train = self.train_idx[self.ds.labels[self.train_idx] == cls]
            train_f = self.real_features("trained on", cls, train)
            fake_d, fake_j = nearest(fake_features[cls], train_f)
            real = held_out[self.ds.labels[held_out] == cls]
            if len(real):
                real_d, _ = nearest(self.real_features("held out", cls, real), train_f)
            else:  # the GAN trained on every image: leave-one-out distances within its training set
                real_d, _ = nearest(train_f, train_f, exclude_self=True)
            ratio = float(np.median(fake_d) / max(np.median(real_d), 1e-12))
            rows += [_row(epoch, name, "nn_distance_fake", float(np.median(fake_d)), len(train), len(fake_d)),
                     _row(epoch, name, "nn_distance_real", float(np.median(real_d)), len(train), len(real_d)),
                     _row(epoch, name, "nn_ratio", ratio, len(train), len(fake_d))]
            if ratio < MEMORISATION_FLAG:
                log.warning("%s: generated images are %.2fx as far from the training set as real held-out images"
                            " (flag below %.2f): possible memorisation", name, ratio, MEMORISATION_FLAG)
            order = np.argsort(fake_d)[:2]
            closest += [(fake_d[i], fakes[cls][i], self.ds.images[train[fake_j[i]]]) for i in order]
        if self.out_dir is not None:
            self._save_pairs(epoch, sorted(closest, key=lambda t: t[0])[:10])
        ratios = [r["value"] for r in rows if r["metric"] == "nn_ratio"]
        rows.append(_row(epoch, "mean", "nn_ratio", float(np.mean(ratios)), None, len(fakes[0])))
        return rows

    def _save_pairs(self, epoch: int, pairs) -> None:
        """Top row: the generated images closest to a training image; bottom row: that training image."""
        top = np.stack([p[1] for p in pairs])
        bottom = np.stack([p[2] for p in pairs])
        images.save_png(self.out_dir / f"closest-pairs-epoch-{epoch:04d}.png",
                        images.grid(np.concatenate([top, bottom]), 2, row_labels=["generated", "nearest real"]))

    # Classifier-training metrics -----------------------------------------
    def synthetic_set(self, generator, per_class: dict[int, int]) -> tuple[np.ndarray, np.ndarray]:
        """Generated images, per_class[c] of class c, from the run's fixed latents (a prefix of a larger set)."""
        xs = [self.ev.fake_images(generator, c, n) for c, n in per_class.items() if n]
        ys = [np.full(n, c, np.int32) for c, n in per_class.items() if n]
        return np.concatenate(xs), np.concatenate(ys)

    def _test_split(self):
        idx = dataset.split_indices(self.ds.labels, "test", seed=self.cfg.data.split_seed)
        return self.ds.images[idx], self.ds.labels[idx]

    def cas(self, generator, epoch: int) -> list[dict]:
        """Train on generated only (the real train split's per-class counts), test on real test images."""
        train = dataset.split_indices(self.ds.labels, "train", seed=self.cfg.data.split_seed)
        counts = np.bincount(self.ds.labels[train], minlength=eurosat.NUM_CLASSES)
        x, y = self.synthetic_set(generator, {c: int(n) for c, n in enumerate(counts)})
        recipe = self._recipe(self.cfg.eval.cas_steps)
        model, _ = classifier.train(x, y, recipe, seed=self.cfg.seed)
        result = classifier.report(model, *self._test_split())
        log.info("epoch %d  CAS %.4f (the reference classifier, trained on real images: %.4f)", epoch,
                 result["accuracy"], self.ref.info["test"]["accuracy"])
        rows = [_row(epoch, "all", "cas", result["accuracy"], result["n"], len(y)),
                _row(epoch, "all", "real_accuracy", self.ref.info["test"]["accuracy"], result["n"], None)]
        rows += [_row(epoch, name, "cas", acc, None, int(counts[c]))
                 for c, (name, acc) in enumerate(result["per_class"].items())]
        return rows

    def augmentation(self, generator, epoch: int) -> list[dict]:
        """k real per class alone vs plus generated, same recipe and steps, mean over seeds."""
        e = self.cfg.eval
        train = dataset.split_indices(self.ds.labels, "train", seed=self.cfg.data.split_seed)
        test_x, test_y = self._test_split()
        recipe = self._recipe(e.augment_steps)
        extra = self.synthetic_set(generator, {c: e.augment_synthetic for c in range(eurosat.NUM_CLASSES)}) \
            if e.augment_synthetic else None
        rows = []
        for k in config.int_list(e.augment_k):
            results = {"real_only": [], "with_generated": []}
            for seed in config.int_list(e.augment_seeds):
                rng = np.random.default_rng([seed, k, streams.AUGMENT_SUBSET])
                picked = np.concatenate([rng.choice(train[self.ds.labels[train] == c], k, replace=False)
                                         for c in range(eurosat.NUM_CLASSES)])
                x, y = self.ds.images[picked], self.ds.labels[picked]
                for setting in results:
                    if setting == "with_generated":
                        if extra is None:
                            continue
                        x, y = np.concatenate([x, extra[0]]), np.concatenate([y, extra[1]])
                    model, _ = classifier.train(x, y, recipe, seed=seed)
                    results[setting].append(classifier.accuracy(classifier.predict(model, test_x), test_y))
            for setting, accs in results.items():
                if accs:
                    rows.append(_row(epoch, f"k={k}", f"accuracy_{setting}", float(np.mean(accs)), 10 * k,
                                     0 if setting == "real_only" else 10 * e.augment_synthetic))
            if results["with_generated"]:
                # Paired by seed: both settings share the seed's k real images and its initial weights.
                gains = np.subtract(results["with_generated"], results["real_only"])
                gain, sd = float(gains.mean()), float(gains.std(ddof=1)) if len(gains) > 1 else float("nan")
                n = (10 * k, 10 * e.augment_synthetic)
                rows += [_row(epoch, f"k={k}", "augmentation_gain", gain, *n),
                         _row(epoch, f"k={k}", "augmentation_gain_sd", sd, *n)]
                log.info("epoch %d  k=%d real/class: accuracy %.4f alone, %.4f with generated (gain %+.4f, "
                         "sd %.4f over %d seeds)", epoch, k, np.mean(results["real_only"]),
                         np.mean(results["with_generated"]), gain, sd, len(gains))
        return rows

    def _recipe(self, steps: int) -> classifier.Recipe:
        """The reference recipe, with a fixed step budget if one is set (so every training set gets the same)."""
        base = classifier.Recipe(**self.ref.info["key"]["recipe"])
        return dataclasses.replace(base, epochs=0, min_steps=steps) if steps else base


def nearest(queries: np.ndarray, pool: np.ndarray, *, exclude_self: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Euclidean distance from each query to its nearest pool row, and that row's index."""
    q2 = np.sum(queries ** 2, axis=1)[:, None]
    best_d, best_j = np.full(len(queries), np.inf), np.zeros(len(queries), np.int64)
    for start in range(0, len(pool), 4096):
        block = pool[start:start + 4096]
        d2 = np.maximum(q2 + np.sum(block ** 2, axis=1)[None, :] - 2 * queries @ block.T, 0)
        if exclude_self:
            rows = np.arange(len(queries))
            inside = (rows >= start) & (rows < start + len(block))
            d2[rows[inside], rows[inside] - start] = np.inf
        j = np.argmin(d2, axis=1)
        d = d2[np.arange(len(queries)), j]
        better = d < best_d
        best_d[better], best_j[better] = d[better], j[better] + start
    return np.sqrt(best_d), best_j


def _row(epoch, cls, metric, value, n_real, n_fake) -> dict:
    return {"epoch": epoch, "class": cls, "metric": metric, "value": value, "n_real": n_real, "n_fake": n_fake}
