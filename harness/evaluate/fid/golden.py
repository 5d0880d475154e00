"""The fixed inputs of the Inception exactness check (shared by the dev-only
torch reference script and the test that checks the Keras port against it)."""

from __future__ import annotations

import numpy as np

# Three real images of every class, by canonical name, plus two synthetic patterns.
REAL = [f"EuroSAT_RGB/{c}/{c}_{i}.jpg" for c in (
    "AnnualCrop", "Forest", "HerbaceousVegetation", "Highway", "Industrial", "Pasture", "PermanentCrop",
    "Residential", "River", "SeaLake") for i in (1, 2, 3)]
SYNTHETIC = ["ramp", "checker"]


def synthetic(name: str) -> np.ndarray:
    """Deterministic 64x64x3 uint8 patterns: extremes and sharp edges stress the resize."""
    y, x = np.mgrid[0:64, 0:64]
    if name == "ramp":
        return np.stack([x * 4, y * 4, 255 - (x + y) * 2], axis=-1).clip(0, 255).astype(np.uint8)
    if name == "checker":
        board = (((x // 4) + (y // 4)) % 2 * 255).astype(np.uint8)
        return np.stack([board, 255 - board, np.full_like(board, 128)], axis=-1)
    raise KeyError(name)


def inputs(images_by_name: dict[str, np.ndarray]) -> np.ndarray:
    """The 32 inputs, uint8 (32, 64, 64, 3), real ones looked up by name."""
    return np.stack([images_by_name[n] for n in REAL] + [synthetic(n) for n in SYNTHETIC])
