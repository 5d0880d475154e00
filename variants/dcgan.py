"""The paper's conditional DCGAN (the baseline every other variant derives from)."""

from harness.config import RunConfig
from harness.registry import register_variant


@register_variant
def paper_dcgan() -> RunConfig:
    """The 2022 study's conditional DCGAN: one-hot labels, batch norm, BCE, Adam 2e-4.

    What the paper states: 128-d Gaussian noise concatenated with the 10-d
    one-hot label; a generator of Dense -> reshape -> stride-2
    Conv2DTranspose layers -> Conv2D with 3 channels and tanh, batch norm and
    ReLU on hidden layers; a discriminator taking the image with the one-hot
    label broadcast to every pixel (13 channels), stride-2 Conv2D layers with
    LeakyReLU(0.2) and batch norm on every layer but the output, one logit;
    binary cross-entropy with a non-saturating generator loss; Adam with
    learning rate 2e-4 and beta_1 0.5 for both networks; one D update then
    one G update per batch; 300 epochs on all 27,000 images.

    Where the paper is silent we take DCGAN's values (Radford et al. 2015,
    and the TensorFlow DCGAN code it was released with):
    - kernels 5x5, stride 2, "same" padding;
    - generator: Dense to a 4x4x512 map, then 256, 128, 64, 32 filters
      (4 -> 8 -> 16 -> 32 -> 64), then the 5x5 Conv2D to 3 channels;
    - discriminator: 64, 128, 256, 512 filters (64 -> 32 -> 16 -> 8 -> 4),
      flatten, Dense to one logit;
    - batch size 128; Adam beta_2 0.999; weights N(0, 0.02), BN gamma N(1, 0.02).
    """
    return RunConfig()
