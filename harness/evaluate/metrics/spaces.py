"""Feature spaces: where metrics compare image sets, each one a registered extractor.

As torch-fidelity registers its feature extractors, a space is registered
here with `@register_space` on a function that maps (evaluator, uint8 images
[N, 64, 64, 3]) to features [N, ...]. A metric names the space it reads in
its own registration (`space=`), and the FeatureBank extracts each space's
features of the generated images once per evaluation.

The evaluator owns the networks (built on first use) and keeps each space's
real features across epochs. A space whose real features come from somewhere
other than extracting them from the real images says so with `real=`:
Inception's are cached on disk, keyed by every protocol factor.

A new space is one registered function here; nothing else names spaces.
"""

from __future__ import annotations

import dataclasses
from typing import Callable


@dataclasses.dataclass(frozen=True)
class Space:
    name: str
    extract: Callable  # (evaluator, uint8 images) -> features
    real: Callable | None = None  # (evaluator, class index) -> real features; default: extract(real images)
    doc: str = ""


_SPACES: dict[str, Space] = {}


def register_space(name: str, *, real: Callable | None = None) -> Callable:
    """Decorator: register `fn(evaluator, pixels) -> features` as feature space `name`."""

    def wrap(fn: Callable) -> Callable:
        if name in _SPACES:
            raise ValueError(f"feature space {name!r} is registered twice")
        doc = (fn.__doc__ or "").strip().splitlines()
        _SPACES[name] = Space(name, fn, real, doc[0] if doc else "")
        return fn

    return wrap


def get(name: str) -> Space:
    if name not in _SPACES:
        raise ValueError(f"unknown feature space {name!r}; registered: {', '.join(_SPACES)}")
    return _SPACES[name]


def names() -> tuple[str, ...]:
    return tuple(_SPACES)


@register_space("inception", real=lambda ev, cls: ev.real_features(cls))
def _inception(ev, pixels):
    """The standard TF-FID InceptionV3 pool3 features (2048-d); the real ones cached on disk."""
    return ev.extractor(pixels)


@register_space("domain")
def _domain(ev, pixels):
    """The reference EuroSAT classifier's penultimate features."""
    return ev.reference_classifier.features(pixels)


@register_space("domain_labels")
def _domain_labels(ev, pixels):
    """The reference EuroSAT classifier's predicted class of each image."""
    return ev.reference_classifier.predict(pixels)


@register_space("images")
def _images(ev, pixels):
    """The uint8 images themselves (no extraction)."""
    return pixels
