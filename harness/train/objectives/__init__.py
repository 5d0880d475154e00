"""GAN objectives: what D and G minimise, registered by name (`train.loss`).

An objective is an object with the discriminator's loss and the generator's
loss, both on raw logits. A new objective is one small module (in this
package, or a plugin's) that subclasses `Objective` and registers itself with
`@register_objective`; the registry is the one list of the names `train.loss`
accepts (`check_config`). Regularisers of D (R1, R2) live in
`harness.train.penalty` and are added by the step builder, so every
objective can take them.
"""

from __future__ import annotations

import importlib
import pkgutil


class Objective:
    """The two losses of one GAN objective; subclasses override both."""

    name: str = ""
    pairs_real_in_g: bool = False  # relativistic objectives: G's loss also takes D's logits of the real batch

    def d_loss(self, real_logits, fake_logits):
        raise NotImplementedError

    def g_loss(self, fake_logits, real_logits=None):
        raise NotImplementedError


_OBJECTIVES: dict[str, type[Objective]] = {}


def register_objective(cls: type[Objective]) -> type[Objective]:
    if not cls.name or cls.name in _OBJECTIVES:
        raise ValueError(f"objective {cls.__name__}: needs a unique name, got {cls.name!r}")
    _OBJECTIVES[cls.name] = cls
    return cls


def _load_all() -> None:
    for info in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{info.name}")


def names() -> list[str]:
    _load_all()
    return sorted(_OBJECTIVES)


def check_config(cfg):
    """train.loss names a registered objective (harness.runs.runner.validate applies this with the rest)."""
    from harness.config import check

    check(cfg.train.loss in names(), "train.loss", cfg.train.loss, f"must be one of {', '.join(names())}")
    return cfg


def get(name: str) -> Objective:
    _load_all()
    return _OBJECTIVES[name]()


def accuracy_real(real_logits):
    """Share of real images the discriminator calls real (the paper's Figure 11)."""
    import tensorflow as tf

    return tf.reduce_mean(tf.cast(real_logits > 0, tf.float32))


def accuracy_fake(fake_logits):
    """Share of generated images the discriminator calls fake."""
    import tensorflow as tf

    return tf.reduce_mean(tf.cast(fake_logits < 0, tf.float32))
