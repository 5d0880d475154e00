"""Dev tool: which image artefacts each feature space punishes, measured on real EuroSAT images.

    python tools/artefact_sensitivity.py --classes Forest,Residential,Pasture \
        --out docs/evidence/paper/artefacts.csv
    python tools/artefact_sensitivity.py --run docs/evidence/paper/runs/paper_dcgan-paper-s0 \
        --out docs/evidence/paper/artefacts-in-samples.md

Two disjoint samples of N real images of a class (the first draw of tools/paper_floor.py) give the real-vs-real
FID, the floor. Then one sample is altered and the FID taken again, in two feature spaces: the FID Inception
(64 -> 299 px, tf1-bilinear, ImageNet features) and the reference classifier's (64 px, trained on EuroSAT: domain
FID). The alterations are two artefacts the paper protocol's sample grids show: a period-2
checkerboard of +-delta grey levels (what stride-2 transposed convolutions leave) and a Gaussian blur of sigma
pixels (fine texture lost). Each row also gives the alteration's size, the RMS change in grey levels, so that the
two kinds can be set side by side per unit of change.

A generator's images differ from real ones in many ways at once, so this does not say why a generator's FID moved;
it says how strongly each space responds to each artefact alone, on real images.

With --run, it measures how much of each artefact a run's samples carry instead (no network; the 8 fixed-latent
images per class of each sample grid the run wrote): the checkerboard amplitude, the size of the image's
period-2 component in grey levels (exactly delta for a checkerboard of +-delta on a flat image), the 8-pixel grid
pattern, the RMS of what repeats every 8 pixels (periods 2, 4 and 8: the stacked upsamplings' grid), and the fine
texture, the RMS difference between the image and its 1-pixel blur (what blurring removes), and the brightness,
the mean grey level, per class and epoch, beside the same measures of 500 real images of each class.
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
from harness.evaluate.fid.floor import disjoint_pairs
from harness.train.devices import cpu_model

Extractor = Callable[[np.ndarray], np.ndarray]


def _signs(images: np.ndarray) -> np.ndarray:
    """+1 on pixels whose row + column is even, -1 on the others, shaped to broadcast over (N, H, W, C)."""
    h, w = images.shape[1:3]
    return np.where((np.arange(h)[:, None] + np.arange(w)[None, :]) % 2 == 0, 1.0, -1.0)[None, :, :, None]


def checkerboard(images: np.ndarray, delta: float) -> np.ndarray:
    """uint8 images plus +delta on pixels whose row + column is even and -delta on the others, clipped."""
    return np.clip(images + delta * _signs(images), 0, 255).round().astype(np.uint8)


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


def reusing(extract: Extractor, images: np.ndarray, features: np.ndarray) -> Extractor:
    """`extract`, except that `images` itself (what the "none" alteration returns) gets its already-extracted
    `features` back instead of a second pass through the network."""
    return lambda x: features if x is images else extract(x)


def checkerboard_amplitude(images: np.ndarray) -> np.ndarray:
    """Per image, the amplitude of its period-2 component in grey levels: |mean of (-1)^(row+col) x pixel| per
    channel, averaged over the channels."""
    return np.abs((images.astype(np.float64) * _signs(images)).mean(axis=(1, 2))).mean(axis=1)


def grid_pattern(images: np.ndarray, period: int = 8) -> np.ndarray:
    """Per image, the RMS in grey levels of its mean period x period tile, less that tile's mean: the part of the
    image that repeats every `period` pixels in both directions (periods 2, 4 and 8 of stacked stride-2 upsampling
    included; exactly delta for a +-delta checkerboard). Natural texture averages out over the tiles, not to 0."""
    n, h, w, c = images.shape
    tile = images.astype(np.float64).reshape(n, h // period, period, w // period, period, c).mean(axis=(1, 3))
    tile -= tile.mean(axis=(1, 2), keepdims=True)
    return np.sqrt((tile ** 2).mean(axis=(1, 2, 3)))


def fine_texture(images: np.ndarray) -> np.ndarray:
    """Per image, the RMS difference in grey levels between it and its 1-pixel Gaussian blur."""
    diff = images.astype(np.float64) - blur(images, 1.0).astype(np.float64)
    return np.sqrt((diff ** 2).mean(axis=(1, 2, 3)))


def brightness(images: np.ndarray) -> np.ndarray:
    """Per image, its mean grey level over every pixel and channel (0-255): beside the real images' mean, how far
    the generated images are lighter or darker as a whole."""
    return images.astype(np.float64).mean(axis=(1, 2, 3))


MEASURES = {"checkerboard amplitude": checkerboard_amplitude, "8-pixel grid pattern": grid_pattern,
            "fine texture": fine_texture, "brightness": brightness}


def grid_tiles(grid: np.ndarray, labels: list[str], size: int = 64, pad: int = 2) -> np.ndarray:
    """The images of a sample grid that harness.images.grid wrote with these row labels, one row per label:
    (rows, cols, size, size, 3)."""
    from harness.images import label_width

    rows, left = len(labels), label_width(labels)
    cols, rest = divmod(grid.shape[1] - left - pad, size + pad)
    if grid.shape[0] != rows * (size + pad) + pad or rest or cols < 1:
        raise ValueError(f"a {grid.shape[1]}x{grid.shape[0]} picture is not a grid of {rows} labelled rows of "
                         f"{size}-pixel images")
    return np.stack([np.stack([grid[pad + r * (size + pad):pad + r * (size + pad) + size,
                                    left + pad + c * (size + pad):left + pad + c * (size + pad) + size, :3]
                               for c in range(cols)]) for r in range(rows)])


def samples_table(run: Path, real: dict[str, np.ndarray]) -> str:
    """Markdown: per measure, the class means of each of the run's sample grids (rows: epochs) beside `real`'s."""
    from PIL import Image

    grids = sorted((run / "samples").glob("epoch-*.png"))
    if not grids:
        raise FileNotFoundError(f"{run / 'samples'}: no sample grids (epoch-*.png)")
    tiles = {int(g.stem.split("-")[1]): grid_tiles(np.asarray(Image.open(g).convert("RGB")), list(eurosat.CLASSES))
             for g in grids}
    out = []
    for measure, fn in MEASURES.items():
        header = f"| {measure} | " + " | ".join(eurosat.CLASSES) + " | class mean |"
        lines = [header, "|---" * (len(eurosat.CLASSES) + 2) + "|"]
        rows = {"real (500 per class)": [float(fn(real[c]).mean()) for c in eurosat.CLASSES]}
        rows.update({f"epoch {e}": [float(fn(t[i]).mean()) for i in range(len(eurosat.CLASSES))]
                     for e, t in sorted(tiles.items())})
        lines += [f"| {label} | " + " | ".join(f"{v:.2f}" for v in values) + f" | {np.mean(values):.2f} |"
                  for label, values in rows.items()]
        out += [*lines, ""]
    return "\n".join(out)


def halves(ds, cls: int, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The class's images (all of them, in archive order) and tools/paper_floor.py's first disjoint pair of
    n-image samples of them, as positions in that order."""
    idx = np.flatnonzero(ds.labels == cls)
    a, b = next(disjoint_pairs(cls, n, len(idx)))
    return idx, a, b


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", help="the EuroSAT archive (default: $HARNESS_EUROSAT)")
    parser.add_argument("--classes", default="Forest,Residential,Pasture", help="comma-separated class names")
    parser.add_argument("--n", type=int, default=500, help="images per sample (the paper: 500)")
    parser.add_argument("--run", type=Path, help="measure the artefacts in this run's sample grids instead")
    parser.add_argument("--out", type=Path, help="also write the table here (CSV; Markdown with --run)")
    args = parser.parse_args(argv)
    names = [c.strip() for c in args.classes.split(",") if c.strip()]
    unknown = [c for c in names if c not in eurosat.CLASSES]
    if unknown:
        parser.error(f"--classes: {', '.join(unknown)} not a EuroSAT class (one of {', '.join(eurosat.CLASSES)})")
    started = time.perf_counter()
    if args.run:
        if not any((args.run / "samples").glob("epoch-*.png")):
            parser.error(f"--run: {args.run / 'samples'} holds no sample grids (epoch-*.png)")
        ds = dataset.load(args.data)
        real = {}
        for name in eurosat.CLASSES:
            idx, a, _ = halves(ds, eurosat.CLASSES.index(name), args.n)
            real[name] = ds.images[idx[a]]
        try:
            text = samples_table(args.run, real)
        except ValueError as exc:  # a picture that is not a grid of the classes
            parser.error(f"--run: {exc}")
        print(text)
        if args.out:
            atomicio.write_text(args.out, text)
        return 0
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
        altered = ds.images[idx[b]]
        spaces = {"Inception": (whole[a], reusing(inception, altered, whole[b])),
                  "domain": (reference.features(ds.images[idx[a]]), reference.features)}
        for row in measure(ds.images[idx[a]], altered, spaces, ALTERATIONS):
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
    from harness.errors import script_exit_code

    raise SystemExit(script_exit_code(main))
