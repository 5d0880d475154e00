"""Memorisation: is a generated image closer to its nearest training image than real held-out images are?

Each generated image's distance to its nearest training image (on the
reference classifier's features), against real held-out images' distance to
theirs; the ratio of medians per class. Well below 1 flags a generator that
copies its training set; the closest pairs are saved as a grid.
"""

from __future__ import annotations

import logging

import numpy as np

from harness import images
from harness.data import dataset, eurosat
from harness.evaluate.metrics import Output, register
from harness.rows import row

log = logging.getLogger("harness")
FLAG = 0.5  # generated images this much closer to the training set than real held-out ones


@register("memorisation", space="domain", per_class=False, groups=("domain",),
          outputs=[Output("nn_ratio", "", 3, "median nearest-training-image distance, generated over real "
                          "held-out (< 0.5 flags copying)", compare=False, summary=True),
                   Output("nn_distance_fake", "", 3, compare=False),
                   Output("nn_distance_real", "", 3, compare=False)])
def memorisation(bank, epoch):
    """Nearest-training-image distances of generated vs real held-out images, per class."""
    ev, ds, cfg = bank.ev, bank.ds, bank.cfg
    train_idx = ev.train_idx
    held_out = np.setdiff1d(dataset.split_indices(ds.labels, "test", seed=cfg.data.split_seed), train_idx)
    rows, closest = [], []
    for cls, name in enumerate(eurosat.CLASSES):
        train = train_idx[ds.labels[train_idx] == cls]
        train_f = ev.domain_features("trained on", cls, train)
        fake_d, fake_j = nearest(bank.fake("domain", cls), train_f)
        real = held_out[ds.labels[held_out] == cls]
        if len(real):
            real_d, _ = nearest(ev.domain_features("held out", cls, real), train_f)
        else:  # the GAN trained on every image: leave-one-out distances within its training set
            real_d, _ = nearest(train_f, train_f, exclude_self=True)
        ratio = float(np.median(fake_d) / max(np.median(real_d), 1e-12))
        rows += [row(epoch, name, "nn_distance_fake", float(np.median(fake_d)), len(train), len(fake_d)),
                 row(epoch, name, "nn_distance_real", float(np.median(real_d)), len(train), len(real_d)),
                 row(epoch, name, "nn_ratio", ratio, len(train), len(fake_d))]
        if ratio < FLAG:
            log.warning("%s: generated images are %.2fx as far from the training set as real held-out images"
                        " (flag below %.2f): possible memorisation", name, ratio, FLAG)
        fakes = bank.fake_images(cls)
        closest += [(fake_d[i], fakes[i], ds.images[train[fake_j[i]]]) for i in np.argsort(fake_d)[:2]]
    if ev.out_dir is not None:
        _save_pairs(ev.out_dir, epoch, sorted(closest, key=lambda t: t[0])[:10])
    ratios = [r["value"] for r in rows if r["metric"] == "nn_ratio"]
    rows.append(row(epoch, "mean", "nn_ratio", float(np.mean(ratios)), None, cfg.eval.n))
    return rows


def _save_pairs(out_dir, epoch: int, pairs) -> None:
    """Top row: the generated images closest to a training image; bottom row: that training image."""
    top = np.stack([p[1] for p in pairs])
    bottom = np.stack([p[2] for p in pairs])
    images.save_png(out_dir / f"closest-pairs-epoch-{epoch:04d}.png",
                    images.grid(np.concatenate([top, bottom]), 2, row_labels=["generated", "nearest real"]))


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
