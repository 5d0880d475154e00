"""Augmentation gain: does adding generated images help a classifier that has only k real images per class?

Test accuracy of the reference recipe trained on k real images per class
alone, and with eval.augment_synthetic generated images per class added,
paired by classifier seed (both settings share the seed's real images and
initial weights); the mean over eval.augment_seeds and the gain's sd. Each
row's settings name its k ("k=10").
"""

from __future__ import annotations

import logging

import numpy as np

from harness import config, streams
from harness.data import dataset, eurosat
from harness.evaluate import classifier
from harness.evaluate.metrics import Output, register, synthetic
from harness.rows import row

log = logging.getLogger("harness")


@register("augmentation", space="images", per_class=False, groups=("domain",),
          outputs=[Output("accuracy_real_only", "higher", 4, "test accuracy with k real images per class",
                          compare=False),
                   Output("accuracy_with_generated", "higher", 4, "the same with generated images added",
                          compare=False),
                   Output("augmentation_gain", "higher", 4, "with generated − real only, paired by seed",
                          compare=False),
                   Output("augmentation_gain_sd", "", 4, "the gain's sd over classifier seeds", compare=False)])
def augmentation(bank, epoch):
    """k real per class alone vs plus generated, same recipe and steps, mean over seeds."""
    cfg, ds, e = bank.cfg, bank.ds, bank.cfg.eval
    train = dataset.split_indices(ds.labels, "train", seed=cfg.data.split_seed)
    test_x, test_y = synthetic.test_split(bank)
    recipe = synthetic.recipe(bank, e.augment_steps)
    extra = synthetic.synthetic_set(bank, {c: e.augment_synthetic for c in range(eurosat.NUM_CLASSES)}) \
        if e.augment_synthetic else None
    rows = []
    for k in config.int_list(e.augment_k):
        settings = f"k={k}"  # augment_steps and augment_seeds are in the run's evaluations.jsonl record
        results = {"real_only": [], "with_generated": []}
        for seed in config.int_list(e.augment_seeds):
            rng = np.random.default_rng([seed, k, streams.AUGMENT_SUBSET])
            picked = np.concatenate([rng.choice(train[ds.labels[train] == c], k, replace=False)
                                     for c in range(eurosat.NUM_CLASSES)])
            x, y = ds.images[picked], ds.labels[picked]
            for setting in results:
                if setting == "with_generated":
                    if extra is None:
                        continue
                    x, y = np.concatenate([x, extra[0]]), np.concatenate([y, extra[1]])
                model, _ = classifier.train(x, y, recipe, seed=seed)
                results[setting].append(classifier.accuracy(classifier.predict(model, test_x), test_y))
        for setting, accs in results.items():
            if accs:
                rows.append(row(epoch, "all", f"accuracy_{setting}", float(np.mean(accs)), 10 * k,
                                0 if setting == "real_only" else 10 * e.augment_synthetic, settings))
        if results["with_generated"]:
            gains = np.subtract(results["with_generated"], results["real_only"])
            gain, sd = float(gains.mean()), float(gains.std(ddof=1)) if len(gains) > 1 else float("nan")
            n = (10 * k, 10 * e.augment_synthetic)
            rows += [row(epoch, "all", "augmentation_gain", gain, *n, settings),
                     row(epoch, "all", "augmentation_gain_sd", sd, *n, settings)]
            log.info("epoch %d  k=%d real/class: accuracy %.4f alone, %.4f with generated (gain %+.4f, "
                     "sd %.4f over %d seeds)", epoch, k, np.mean(results["real_only"]),
                     np.mean(results["with_generated"]), gain, sd, len(gains))
    return rows
