"""Pool3 features of uint8 images with the Keras port of the FID Inception.

Two resize protocols take EuroSAT's 64x64 patches to Inception's 299x299 (a
4.7x upsampling, so the choice matters more than for 256-pixel images):
- tf1-bilinear (default): TF1's ResizeBilinear without half-pixel centres,
  inside the graph, as the original TF FID code and pytorch-fid do;
- clean: clean-fid's (Parmar et al. 2022): PIL bicubic on each float32
  channel, with PIL's antialiasing, before the network.
"""

from __future__ import annotations

import numpy as np

from harness.config import RESIZES
from harness.evaluate.fid import weights as weights_mod

# The cache-key name of each protocol in harness.config.RESIZES (tf1-bilinear's is the one cached features have
# always carried).
RESIZE_KEYS = {"tf1-bilinear": "tf1-bilinear-299", "clean": "clean-pil-bicubic-float32-299"}
assert set(RESIZE_KEYS) == set(RESIZES)


def clean_resize(images: np.ndarray, size: int = 299) -> np.ndarray:
    """clean-fid's resize: each channel as a float32 PIL image, bicubic to size x size; float32 NHWC in 0..255."""
    from PIL import Image

    out = np.empty((len(images), size, size, 3), np.float32)
    for i, image in enumerate(images):
        for c in range(3):
            channel = Image.fromarray(image[:, :, c].astype(np.float32), mode="F")
            out[i, :, :, c] = np.asarray(channel.resize((size, size), resample=Image.BICUBIC), np.float32)
    return out


class InceptionFeatures:
    """Callable: uint8 (N, H, W, 3) -> float32 (N, 2048). Builds the network once."""

    def __init__(self, batch_size: int = 50, resize: str = "tf1-bilinear"):
        import tensorflow as tf

        if resize not in RESIZES:
            raise ValueError(f"resize {resize!r}: choose {' or '.join(RESIZES)}")
        self.resize = resize

        from harness.evaluate.fid import inception

        folded, root = weights_mod.converted()
        self.model = inception.build(root, folded)
        self.batch_size = batch_size
        self.weights_sha256 = weights_mod.PT_SHA256
        model = self.model

        @tf.function(jit_compile=False, reduce_retracing=True)
        def forward(x):
            return model(inception.preprocess(x), training=False)

        self._forward = forward

    def __call__(self, images: np.ndarray, progress=None) -> np.ndarray:
        images = np.asarray(images)
        if images.dtype != np.uint8 or images.ndim != 4 or images.shape[-1] != 3:
            raise ValueError(f"expected uint8 (N, H, W, 3) images, got {images.dtype} {images.shape}")
        out = np.empty((len(images), 2048), np.float32)
        for start in range(0, len(images), self.batch_size):
            batch = images[start:start + self.batch_size]
            if self.resize == "clean":  # resized to 299 here, so the graph's own resize is skipped
                batch = clean_resize(batch)
            out[start:start + len(batch)] = self._forward(batch).numpy()
            if progress is not None:
                progress(len(batch))
        return out
