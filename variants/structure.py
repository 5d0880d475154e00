"""Variants against the failures the bench grids show: checkerboards, colour blobs without structure, collapse.

Each is a few lines over `paper_dcgan` (or, for the combination, over the
modern recipe), so its effect is measured against the model it changes.
"""

from harness.config import RunConfig
from harness.registry import register_variant
from variants.dcgan import paper_dcgan
from variants.modern import sn_hinge_projection_diffaug_ema


@register_variant
def nearest_upsampling() -> RunConfig:
    """G doubles the resolution by nearest-neighbour resize, then a stride-1 5x5 conv (Odena et al. 2016).

    "Deconvolution and Checkerboard Artifacts" (Distill, 2016): a stride-2
    transposed convolution whose kernel (5) is not divisible by its stride
    overlaps unevenly, so some output pixels get more of the input than
    their neighbours: the checkerboard the paper's grids carry. Resizing first
    and convolving at stride 1 gives every pixel the same share.
    """
    cfg = paper_dcgan()
    cfg.model.g.upsample = "nearest"
    return cfg


@register_variant
def bilinear_upsampling() -> RunConfig:
    """G doubles the resolution by bilinear resize, then a stride-1 5x5 conv (Odena et al. 2016)."""
    cfg = paper_dcgan()
    cfg.model.g.upsample = "bilinear"
    return cfg


@register_variant
def transposed_kernel4() -> RunConfig:
    """G's transposed convolutions (and its last conv) with 4x4 kernels: divisible by the stride of 2.

    The other remedy in Odena et al. 2016: with the kernel a multiple of the
    stride the transposed convolution overlaps evenly (DCGAN's PyTorch code and
    StudioGAN's DCGAN use 4x4). Fewer parameters than 5x5.
    """
    cfg = paper_dcgan()
    cfg.model.g.kernel_size = 4
    return cfg


@register_variant
def relativistic_r1_r2() -> RunConfig:
    """The relativistic pairing loss with R1 and R2 penalties, gamma 0.1 (Huang et al. 2024, R3GAN).

    R3GAN's objective: D judges each real image against a generated one of
    its class (softplus(D(G(z)) - D(x))), regularised by the gradient penalty
    on reals (R1, Mescheder et al. 2018) and on fakes (R2). Huang et al. show
    that this pair converges locally and does not drop modes the way the
    classic loss can. Networks and optimizer are the paper's; gamma 0.1 is
    between StyleGAN2's heuristic for 64x64 at batch 64 (0.0002 * 64^2 / 64 =
    0.013) and R3GAN's small-image settings, not tuned here.
    """
    cfg = paper_dcgan()
    cfg.train.loss = "relativistic"
    cfg.train.r1_gamma = cfg.train.r2_gamma = 0.1
    return cfg


@register_variant
def minibatch_stddev() -> RunConfig:
    """D sees the standard deviation of its features over groups of 4 images (Karras et al. 2018, ProGAN).

    A generator that draws near-copies within a class gives D a group
    standard deviation far below the data's, so D can reject the collapse
    that the modern variant's grids show.
    """
    cfg = paper_dcgan()
    cfg.model.d.mbstd_group = 4
    return cfg


@register_variant
def modern_nearest_upsampling() -> RunConfig:
    """The modern recipe (`sn_hinge_projection_diffaug_ema`) with G's nearest-neighbour resize-convolutions.

    The bench's best variant draws class colours with checkerboards; this
    removes the one G-side cause the literature names (Odena et al. 2016),
    with everything else of the modern recipe unchanged.
    """
    cfg = sn_hinge_projection_diffaug_ema()
    cfg.model.g.upsample = "nearest"
    return cfg


@register_variant
def modern_minibatch_stddev() -> RunConfig:
    """The modern recipe (`sn_hinge_projection_diffaug_ema`) with minibatch standard deviation in D (Karras et al.
    2018).

    The modern variant's grids show near-copies within a class (Industrial at
    bench and at long), and its label fidelity peaks and then falls: mode
    collapse. The group standard deviation is the remedy aimed at that, on the
    model that collapses rather than on `paper_dcgan` (`minibatch_stddev`).
    """
    cfg = sn_hinge_projection_diffaug_ema()
    cfg.model.d.mbstd_group = 4
    return cfg


@register_variant
def modern_ttur() -> RunConfig:
    """The modern recipe with the two time-scale update rule: G learns at 1e-4, D at 4e-4 (Heusel et al. 2017).

    A lower learning rate for G is the other standard answer to a generator
    that collapses onto what D currently rewards; BigGAN and StudioGAN's
    baselines train G at a quarter of D's rate.
    """
    cfg = sn_hinge_projection_diffaug_ema()
    cfg.train.lr_d, cfg.train.lr_g = 4e-4, 1e-4
    return cfg
