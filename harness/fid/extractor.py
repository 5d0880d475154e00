"""Pool3 features of uint8 images with the Keras port of the FID Inception."""

from __future__ import annotations

import numpy as np

from harness.fid import weights as weights_mod

RESIZE_MODE = "tf1-bilinear-299"


class InceptionFeatures:
    """Callable: uint8 (N, H, W, 3) -> float32 (N, 2048). Builds the network once."""

    def __init__(self, batch_size: int = 50):
        import tensorflow as tf

        from harness.fid import inception

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
            out[start:start + len(batch)] = self._forward(batch).numpy()
            if progress is not None:
                progress(len(batch))
        return out
