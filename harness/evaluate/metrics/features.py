"""Images and features of one evaluation, each computed once and shared by every metric.

Metrics compare image sets in registered feature spaces (harness.evaluate.metrics.spaces:
inception, domain, domain_labels, images). A FeatureBank belongs to one
evaluation of one generator: it samples each class's generated images once
(from the run's fixed latents) and extracts each space's features of them at
most once, however many metrics read them. Real features come from the
evaluator, which keeps them across epochs (and Inception's on disk).
"""

from __future__ import annotations

import numpy as np

from harness.data import eurosat


class Memo:
    """Work shared between metrics of one evaluation (e.g. the k-NN radii behind precision and recall)."""

    def __init__(self):
        self._memo: dict = {}

    def memo(self, key, compute):
        """compute() once per key."""
        if key not in self._memo:
            self._memo[key] = compute()
        return self._memo[key]


class FeatureBank(Memo):
    def __init__(self, evaluator, generator):
        super().__init__()
        self.ev, self.generator = evaluator, generator
        self.cfg, self.ds = evaluator.cfg, evaluator.ds
        self._images: dict[int, np.ndarray] = {}
        self._fake: dict[tuple[str, int], np.ndarray] = {}

    def fake_images(self, cls: int) -> np.ndarray:
        """Every generated image of class `cls` this evaluation uses (eval.n, or more for the FID-vs-N curve)."""
        if cls not in self._images:
            count = self.ev.fake_count(len(self.ev.real_indices(cls)))
            self._images[cls] = self.ev.fake_images(self.generator, cls, count)
        return self._images[cls]

    def fake_all(self, space: str, cls: int) -> np.ndarray:
        """Features of every generated image of class `cls` (see fake_images)."""
        if (space, cls) not in self._fake:
            images = self.fake_images(cls)
            if space != "inception":  # only the FID-vs-N curve reads beyond eval.n, on Inception features
                images = images[:self.cfg.eval.n]
            self._fake[space, cls] = self.ev.extract(space, images)
        return self._fake[space, cls]

    def fake(self, space: str, cls: int) -> np.ndarray:
        """Features of the eval.n generated images of class `cls`."""
        return self.fake_all(space, cls)[:self.cfg.eval.n]

    def real(self, space: str, cls: int) -> np.ndarray:
        """Features of the real images class `cls` is compared with (the evaluator keeps them across epochs)."""
        return self.ev.real_in(space, cls)

    def pooled(self, space: str, *, real: bool = True) -> tuple[np.ndarray | None, np.ndarray]:
        """Every class's (real, fake) features stacked, for the pooled "all" row."""
        classes = range(eurosat.NUM_CLASSES)
        fake = np.concatenate([self.fake(space, c) for c in classes])
        return (np.concatenate([self.real(space, c) for c in classes]) if real else None), fake
