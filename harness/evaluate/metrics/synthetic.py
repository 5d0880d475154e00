"""What the classifier-training metrics (CAS, augmentation gain) share: generated training sets, the real test
split, and the reference recipe at a fixed step budget."""

from __future__ import annotations

import dataclasses

import numpy as np

from harness.data import dataset
from harness.evaluate import classifier


def synthetic_set(bank, per_class: dict[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Generated images, per_class[c] of class c, from the run's fixed latents (a prefix of a larger set)."""
    xs = [bank.ev.fake_images(bank.generator, c, n) for c, n in per_class.items() if n]
    ys = [np.full(n, c, np.int32) for c, n in per_class.items() if n]
    return np.concatenate(xs), np.concatenate(ys)


def test_split(bank) -> tuple[np.ndarray, np.ndarray]:
    idx = dataset.split_indices(bank.ds.labels, "test", seed=bank.cfg.data.split_seed)
    return bank.ds.images[idx], bank.ds.labels[idx]


def recipe(bank, steps: int) -> classifier.Recipe:
    """The reference recipe, with a fixed step budget if one is set (so every training set gets the same)."""
    base = classifier.Recipe(**bank.ev.reference_classifier.info["key"]["recipe"])
    return dataclasses.replace(base, epochs=0, min_steps=steps) if steps else base
