"""Classification accuracy score (Ravuri & Vinyals 2019): train a classifier on generated images only, test it on
the real test split. Far below the reference classifier's accuracy means the generated classes are not the real
ones, whatever their FID."""

from __future__ import annotations

import logging

import numpy as np

from harness.data import dataset, eurosat
from harness.evaluate import classifier
from harness.evaluate.metrics import Output, register, synthetic
from harness.rows import row

log = logging.getLogger("harness")


@register("cas", space="images", per_class=False, groups=("domain",), settings=("eval.cas_steps",),
          outputs=[Output("cas", "higher", 4, "accuracy on real test images of a classifier trained only on "
                          "generated ones (higher is better)", compare=False, summary=True),
                   Output("real_accuracy", "", 4, "the reference classifier's own test accuracy", compare=False,
                          summary=True)])
def cas(bank, epoch):
    """Train on generated only (the real train split's per-class counts), test on real test images."""
    cfg, ds, ref = bank.cfg, bank.ds, bank.ev.reference_classifier
    settings = bank.ev.settings_of("cas")
    train = dataset.split_indices(ds.labels, "train", seed=cfg.data.split_seed)
    counts = np.bincount(ds.labels[train], minlength=eurosat.NUM_CLASSES)
    x, y = synthetic.synthetic_set(bank, {c: int(n) for c, n in enumerate(counts)})
    model, _ = classifier.train(x, y, synthetic.recipe(bank, cfg.eval.cas_steps), seed=cfg.seed)
    result = classifier.report(model, *synthetic.test_split(bank))
    log.info("epoch %d  CAS %.4f (the reference classifier, trained on real images: %.4f)", epoch,
             result["accuracy"], ref.info["test"]["accuracy"])
    rows = [row(epoch, "all", "cas", result["accuracy"], result["n"], len(y), settings),
            row(epoch, "all", "real_accuracy", ref.info["test"]["accuracy"], result["n"], None)]
    rows += [row(epoch, name, "cas", acc, None, int(counts[c]), settings)
             for c, (name, acc) in enumerate(result["per_class"].items())]
    return rows
