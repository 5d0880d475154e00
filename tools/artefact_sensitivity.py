"""Dev tool: which image artefacts each feature space punishes, measured on real EuroSAT images.

    python tools/artefact_sensitivity.py --classes Forest,Residential,Pasture \
        --out docs/evidence/paper/artefacts.csv

Two disjoint samples of N real images of a class (the first draw of tools/paper_floor.py) give the real-vs-real
FID, the floor. Then one sample is altered and the FID taken again, in two feature spaces: the FID Inception
(64 -> 299 px, tf1-bilinear, ImageNet features) and the reference classifier's (64 px, trained on EuroSAT: domain
FID). The alterations are the two things the paper protocol's grids show changing between evaluations: a period-2
checkerboard of +-delta grey levels (what stride-2 transposed convolutions leave) and a Gaussian blur of sigma
pixels (fine texture lost). Each row also gives the alteration's size, the RMS change in grey levels, so that the
two kinds can be set side by side per unit of change.

A generator's images differ from real ones in many ways at once, so this does not say why a generator's FID moved;
it says how strongly each space responds to each artefact alone, on real images.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from harness import atomicio
from harness.data import dataset, eurosat
from harness.evaluate.fid import distances, real_cache
from harness.train.devices import cpu_model

Extractor = Callable[[np.ndarray], np.ndarray]


def checkerboard(images: np.ndarray, delta: float) -> np.ndarray:
    """uint8 images plus +delta on pixels whose row + column is even and -delta on the others, clipped."""
    h, w = images.shape[1:3]
    sign = np.where((np.arange(h)[:, None] + np.arange(w)[None, :]) % 2 == 0, 1.0, -1.0)
    return np.clip(images + delta * sign[None, :, :, None], 0, 255).round().astype(np.uint8)


def blur(images: np.ndarray, sigma: float) -> np.ndarray:
    """uint8 images blurred by a Gaussian of `sigma` pixels within each image and channel (edges reflected)."""
    from scipy.ndimage import gaussian_filter

    out = gaussian_filter(images.astype(np.float32), sigma=(0, sigma, sigma, 0), mode="reflect")
    return np.clip(out, 0, 255).round().astype(np.uint8)


ALTERATIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "none": lambda x: x,
    "checkerboard 4": lambda x: checkerboard(x, 4),
    "checkerboard 12": lambda x: checkerboard(x, 12),
    "blur 0.7 px": lambda x: blur(x, 0.7),
    "blur 1.5 px": lambda x: blur(x, 1.5),
}


def rms_change(before: np.ndarray, after: np.ndarray) -> float:
    """The root-mean-square change in grey levels (0-255) over every pixel and channel."""
    return float(np.sqrt(np.mean((after.astype(np.float64) - before.astype(np.float64)) ** 2)))


def measure(kept: np.ndarray, altered: np.ndarray, spaces: dict[str, tuple[np.ndarray, Extractor]],
            alterations: dict[str, Callable[[np.ndarray], np.ndarray]]) -> list[dict]:
    """One row per alteration: its RMS size and, per feature space, FID between `kept`'s features (given, as each
    space's first element) and the features of `altered` after the alteration (each space's extractor)."""
    rows = []
    for name, alter in alterations.items():
        changed = alter(altered)
        row = {"alteration": name, "rms change": rms_change(altered, changed)}
        for space, (kept_features, extract) in spaces.items():
            row[f"{space} FID"] = distances.fid(kept_features, extract(changed))
        rows.append(row)
    return rows


def halves(ds, cls: int, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The class's images (all of them, in archive order) and tools/paper_floor.py's first disjoint pair of
    n-image samples of them, as positions in that order."""
    idx = np.flatnonzero(ds.labels == cls)
    pick = np.random.default_rng([cls, n, 2022]).permutation(len(idx))[:2 * n]
    return idx, pick[:n], pick[n:]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", help="the EuroSAT archive (default: $HARNESS_EUROSAT)")
    parser.add_argument("--classes", default="Forest,Residential,Pasture", help="comma-separated class names")
    parser.add_argument("--n", type=int, default=500, help="images per sample (the paper: 500)")
    parser.add_argument("--out", type=Path, help="also write the table as CSV here")
    args = parser.parse_args(argv)
    names = [c.strip() for c in args.classes.split(",") if c.strip()]
    unknown = [c for c in names if c not in eurosat.CLASSES]
    if unknown:
        parser.error(f"--classes: {', '.join(unknown)} not a EuroSAT class (one of {', '.join(eurosat.CLASSES)})")
    started = time.perf_counter()
    from harness.evaluate import classifier
    from harness.evaluate.fid.extractor import InceptionFeatures

    ds = dataset.load(args.data)
    inception, reference = InceptionFeatures(resize="tf1-bilinear"), classifier.reference(ds)
    rows = []
    for name in names:
        cls = eurosat.CLASSES.index(name)
        idx, a, b = halves(ds, cls, args.n)
        key = real_cache.real_key(ds, split="all", split_seed=0, cls=name, n=len(idx), resize="tf1-bilinear",
                                  purpose="every real image of the class")  # tools/paper_floor.py's cache
        whole = real_cache.cached(key, lambda: inception(ds.images[idx]))
        spaces = {"Inception": (whole[a], inception), "domain": (reference.features(ds.images[idx[a]]),
                                                                 reference.features)}
        for row in measure(ds.images[idx[a]], ds.images[idx[b]], spaces, ALTERATIONS):
            rows.append({"class": name, **row})
            print(f"{name}, {row['alteration']}: Inception FID {row['Inception FID']:.1f}, domain FID "
                  f"{row['domain FID']:.2f}", file=sys.stderr)
    table = pd.DataFrame(rows)
    for space in ("Inception", "domain"):
        floor = table.groupby("class")[f"{space} FID"].transform("first")  # the "none" row: the floor
        table[f"{space} above the floor"] = table[f"{space} FID"] - floor
    print(table.to_markdown(index=False, floatfmt=".2f"))
    print(f"\n{args.n} vs {args.n} real images per class; {time.perf_counter() - started:.0f} s on {cpu_model()}")
    if args.out:
        atomicio.write_text(args.out, table.to_csv(index=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
