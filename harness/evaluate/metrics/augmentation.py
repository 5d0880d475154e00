"""Augmentation gain: does adding generated images help a classifier that has only k real images per class?

Test accuracy of the reference recipe trained on k real images per class
alone, and with eval.augment_synthetic generated images per class added,
paired by classifier seed (both settings share the seed's real images and
initial weights); the mean over eval.augment_seeds and the gain's sd. Each
row's settings name its k ("k=10").

The real-only accuracy does not depend on the generator, so it is cached,
keyed by everything it does depend on (archive, split, k, seed, recipe,
Keras): every run of a sweep, and every generator compared, shares one
baseline instead of retraining it, which halves the metric's cost.
"""

from __future__ import annotations

import logging

import numpy as np

from harness import atomicio, config, paths, streams
from harness.cachefile import Stale, key_digest, load_or_build
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
            key = _baseline_key(ds, cfg.data.split_seed, k, seed, recipe)
            results["real_only"].append(load_or_build(
                _baseline_path(key), read=lambda path: _read_baseline(path, key),
                build=lambda: _test_accuracy(x, y, recipe, seed, test_x, test_y),
                write=lambda path, acc: atomicio.write_json(path, {"key": key, "accuracy": acc}),
                what="augmentation baseline"))
            if extra is not None:
                results["with_generated"].append(_test_accuracy(np.concatenate([x, extra[0]]),
                                                                np.concatenate([y, extra[1]]), recipe, seed,
                                                                test_x, test_y))
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


def _test_accuracy(x, y, recipe, seed, test_x, test_y) -> float:
    model, _ = classifier.train(x, y, recipe, seed=seed)
    return classifier.accuracy(classifier.predict(model, test_x), test_y)


def _baseline_key(ds, split_seed: int, k: int, seed: int, recipe) -> dict:
    """Everything the real-only accuracy depends on: the images picked (archive, decoder, split, k, seed), the
    classifier trained on them (recipe and its version, seed, Keras) and the test split."""
    import dataclasses

    import keras

    return {"what": "augmentation real-only accuracy", "digest": ds.digest, "decoder": dataset._decoder_id(),
            "split_seed": split_seed, "train": "train", "test": "test", "k": k, "seed": seed,
            "subset_stream": streams.AUGMENT_SUBSET, "recipe": dataclasses.asdict(recipe),
            "recipe_version": classifier.RECIPE_VERSION, "keras": keras.__version__}


def _baseline_path(key: dict):
    return paths.cache_dir() / "augmentation" / f"real-only-{key_digest(key)}.json"


def _read_baseline(path, key: dict) -> float:
    import json

    stored = json.loads(path.read_text())
    if stored.get("key") != key:
        raise Stale("its key is another baseline's")
    return float(stored["accuracy"])
