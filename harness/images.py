"""Pixel conventions shared by training, sampling and (later) evaluation.

Training sees floats in [-1, 1]; everything that leaves the generator for a
person or a metric is quantised to uint8 exactly like the real JPEG pixels.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from harness import atomicio


def to_unit_range(images_uint8):
    """uint8 [0, 255] -> float32 [-1, 1] (works on numpy arrays and tf tensors)."""
    return images_uint8 / 127.5 - 1.0


def to_uint8(images) -> np.ndarray:
    """float [-1, 1] -> uint8, rounding to nearest and clipping."""
    x = np.asarray(images, dtype=np.float32)
    return np.clip(np.rint((x + 1.0) * 127.5), 0, 255).astype(np.uint8)


def sample_uint8(generator, noise: np.ndarray, labels: np.ndarray, *, batch: int = 250) -> np.ndarray:
    """uint8 images from a generator in inference mode, in batches (the one place that samples for a person or
    a metric: grids, evaluation, `harness generate`)."""
    return np.concatenate([to_uint8(generator([noise[i:i + batch], labels[i:i + batch]], training=False))
                           for i in range(0, len(labels), batch)])


def label_width(row_labels: list[str] | None) -> int:
    """Pixels left of a grid's images for its row labels (none without labels)."""
    return 8 + 6 * max(len(label) for label in row_labels) if row_labels else 0


def grid(images: np.ndarray, rows: int, *, pad: int = 2, row_labels: list[str] | None = None) -> np.ndarray:
    """Tile uint8 images (rows * cols, H, W, 3) into one uint8 picture, one row per class."""
    count, h, w, c = images.shape
    cols = count // rows
    label_w = label_width(row_labels)
    out = np.full((rows * (h + pad) + pad, label_w + cols * (w + pad) + pad, c), 255, np.uint8)
    for i in range(rows * cols):
        r, col = divmod(i, cols)
        y, x = pad + r * (h + pad), label_w + pad + col * (w + pad)
        out[y:y + h, x:x + w] = images[i]
    if row_labels:
        from PIL import Image, ImageDraw

        picture = Image.fromarray(out)
        draw = ImageDraw.Draw(picture)
        for r, label in enumerate(row_labels):
            draw.text((4, pad + r * (h + pad) + h // 2 - 5), label, fill=(0, 0, 0))
        out = np.asarray(picture)
    return out


def save_png(path: Path, image: np.ndarray) -> None:
    from PIL import Image

    atomicio.write_with(path, lambda tmp: Image.fromarray(image).save(tmp, format="PNG"))
