"""Stronger variants from the GAN literature, to show what fixes the study's non-convergence."""

from harness.config import RunConfig
from harness.registry import register_variant
from variants.dcgan import paper_dcgan


@register_variant
def spectral_norm() -> RunConfig:
    """Spectral normalisation of every discriminator layer instead of batch norm (Miyato et al. 2018)."""
    cfg = paper_dcgan()
    cfg.model.d.norm = "spectral"
    return cfg


@register_variant
def hinge_loss() -> RunConfig:
    """The hinge loss for D and -D(G(z)) for G (Lim & Ye 2017; Miyato et al. 2018)."""
    cfg = paper_dcgan()
    cfg.train.loss = "hinge"
    return cfg


@register_variant
def projection_discriminator() -> RunConfig:
    """Label conditioning by projection in D: logit + <embed(y), features> (Miyato & Koyama 2018)."""
    cfg = paper_dcgan()
    cfg.model.d.label = "projection"
    return cfg


@register_variant
def ttur() -> RunConfig:
    """The two time-scale update rule: D learns at 4e-4, G at 1e-4 (Heusel et al. 2017)."""
    cfg = paper_dcgan()
    cfg.train.lr_d, cfg.train.lr_g = 4e-4, 1e-4
    return cfg


@register_variant
def diffaugment() -> RunConfig:
    """Differentiable augmentation (colour, translation, cutout) of real and fake for D (Zhao et al. 2020).

    Meant for small data: EuroSAT has 2,000-3,000 images per class.
    """
    cfg = paper_dcgan()
    cfg.train.augment = "diffaugment"
    return cfg


@register_variant
def sn_hinge_projection_diffaug_ema() -> RunConfig:
    """The modern recipe at this scale: spectral norm + hinge + projection D + DiffAugment + generator EMA.

    Each part over `paper_dcgan` is a variant of its own above; together they
    are the SNGAN/BigGAN-style conditional GAN that StudioGAN's baselines use:
    - spectral normalisation of every D layer, no batch norm in D (Miyato et al. 2018);
    - the hinge loss (Lim & Ye 2017; Miyato et al. 2018);
    - the label by projection in D (Miyato & Koyama 2018);
    - DiffAugment's colour, translation and cutout on everything D sees (Zhao et al. 2020);
    - an exponential moving average of G's weights, decay 0.999 with warm-up, for sampling and evaluation
      (Yazici et al. 2019; BigGAN, StyleGAN, StudioGAN).
    The generator, the optimizer and its learning rates are the paper's.
    """
    cfg = paper_dcgan()
    cfg.model.d.norm = "spectral"
    cfg.model.d.label = "projection"
    cfg.train.loss = "hinge"
    cfg.train.augment = "diffaugment"
    cfg.train.g_ema = 0.999
    return cfg
