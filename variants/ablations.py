"""The 2022 study's ablations of its conditional DCGAN, each a few lines over `paper_dcgan`."""

from harness.config import RunConfig
from harness.registry import register_variant
from variants.dcgan import paper_dcgan


@register_variant
def no_batchnorm() -> RunConfig:
    """The paper's model with batch norm removed from both networks (layers get biases instead).

    The study's ablation. Removing batch norm must not remove conditioning:
    compare_gan once made its generator silently unconditional this way, so
    the contract test checks that the output still depends on the label.
    """
    cfg = paper_dcgan()
    cfg.model.g.norm = cfg.model.d.norm = "none"
    return cfg


@register_variant
def label_embedding() -> RunConfig:
    """A learned 50-d label embedding instead of the one-hot vector, in G and in D.

    The study's ablation: in G the embedding is concatenated with the noise; in D
    it is projected by a Dense layer to one extra 64x64 input channel.
    """
    cfg = paper_dcgan()
    cfg.model.g.label = cfg.model.d.label = "embedding"
    return cfg


@register_variant
def fid_sample_size() -> RunConfig:
    """The paper's training, evaluated at N = 100, 250, 500, 1000 and all images per class, with FID-infinity.

    The study's FID-sample-size ablation. Every real image of the class is the
    reference (the "full" protocol), and as many images are generated as the
    class has real ones. FID is bootstrapped at each N, FID-infinity is
    extrapolated in 1/N (Chong & Forsyth 2020), and the real-vs-real floor
    is measured at each N. On a CPU the final evaluation alone passes about
    48,000 images through Inception (~90 minutes at 9 images/s).
    """
    cfg = paper_dcgan()
    cfg.eval.protocol = "full"
    cfg.eval.sample_sizes = "100,250,500,1000,full"
    return cfg
