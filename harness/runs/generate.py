"""`harness generate`: labelled synthetic images from a run's generator.

This is what the paper trained its GAN for: extra labelled EuroSAT-like
patches to augment a land-cover classifier's training data.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from harness import atomicio, config, images, streams
from harness.data import eurosat
from harness.errors import HarnessError, RunError
from harness.runs.rundir import RunDir
from harness.train import checkpoint

FORMATS = ("png", "npz")


def load_generator(rd: RunDir, epoch: int | None = None):
    """(config, generator, epoch) with the sampling weights of `epoch` (default: the latest checkpoint): the
    generator average when `train.g_ema` > 0 (its batch-norm statistics recomputed as the run did under
    `train.g_ema_bn=recompute`), else the trained generator."""
    from harness.models.networks import build_generator

    record = rd.read_record()
    cfg = config.validate(config.from_flat(record["config"]))
    generator = build_generator(cfg.model, seed=cfg.seed)
    # The training-state checkpoints hold the trained generator as "g" and its average as "g_ema"; evaluation
    # and sampling use the average when the run kept one. Snapshots hold only the sampling generator, as "g",
    # exactly as it sampled (recomputed statistics included).
    if epoch is None:
        group = "g_ema" if cfg.train.g_ema > 0 else "g"
        found = checkpoint.load_first_good(rd.checkpoints, {group: generator.weights},
                                           remedy="the run's config.json does not describe the generator its "
                                                  "checkpoints hold (was it edited?); nothing was changed")
        if found is None:
            raise RunError(f"{rd.path}: no checkpoint yet (the run has not finished an epoch)")
        counters = found[1]
        from harness.train import ema

        if ema.recomputes_statistics(cfg):
            ema.recompute_for_run(generator, cfg)
    else:
        source = rd.generator_snapshot(epoch)
        if not source.is_file():
            kept = sorted(p.stem.rsplit("-", 1)[-1] for p in rd.checkpoints_dir.glob("generator-epoch-*.npz"))
            raise RunError(f"{rd.path}: no generator kept for epoch {epoch}; kept: {', '.join(kept) or 'none'}")
        counters = checkpoint.load(source, {"g": generator.weights})
    return cfg, generator, counters.get("epoch", epoch)


def generate(run_dir: Path | str, *, classes: list[str], n: int, out: Path | str, fmt: str = "png",
             epoch: int | None = None, seed: int = 0, batch: int = 250, on_batch=None) -> list[Path]:
    """Write n images per class; returns the paths written. Never overwrites. A class's images depend on (seed,
    class, index) only: `--class Forest` and `--class all` give the same Forest images. Both formats are written
    batch by batch (`on_batch(done, total)` after each), so a large n never sits in memory."""
    if fmt not in FORMATS:
        raise HarnessError(f"--format {fmt!r}: choose one of {', '.join(FORMATS)}")
    if n < 1:
        raise HarnessError(f"--n {n}: must be >= 1")
    if not 0 <= seed <= config.MAX_SEED:
        raise HarnessError(f"--seed {seed}: must be in 0 to {config.MAX_SEED}")
    for cls in classes:
        if cls not in eurosat.CLASSES:
            raise HarnessError(f"--class {cls!r}: not a EuroSAT class ({', '.join(eurosat.CLASSES)})")
    classes = list(dict.fromkeys(classes))  # a class named twice is one class
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise HarnessError(f"--out {out}: exists and is a file, not a folder")
    targets = [out / "generated.npz"] if fmt == "npz" else [out / cls for cls in classes]
    clash = [str(p) for p in targets if p.exists()]
    if clash:
        raise HarnessError(f"{clash[0]}: already exists; choose another --out (nothing was overwritten)")
    cfg, generator, _ = load_generator(RunDir(run_dir), epoch)
    batches = _batches(cfg, generator, classes, n, seed, batch, on_batch)
    if fmt == "npz":
        labels = np.repeat([eurosat.CLASSES.index(cls) for cls in classes], n).astype(np.int32)
        atomicio.write_npz_streamed(targets[0], "images", (len(labels), *eurosat.IMAGE_SHAPE), np.uint8,
                                    (pixels for _, _, pixels in batches),
                                    labels=labels, class_names=np.array(eurosat.CLASSES))
        return targets
    written = []
    for cls, start, pixels in batches:
        for i, image in enumerate(pixels, start=start + 1):
            path = out / cls / f"{cls}_{i:05d}.png"
            images.save_png(path, image)
            written.append(path)
    return written


def _batches(cfg, generator, classes: list[str], n: int, seed: int, batch: int, on_batch):
    """(class, index of the batch's first image, uint8 pixels) per batch, class by class; `on_batch(done, total)`
    once each batch has been used."""
    total, done = n * len(classes), 0
    for cls in classes:
        label = eurosat.CLASSES.index(cls)
        rng = np.random.default_rng([seed, streams.GENERATE_LATENTS, label])
        for start in range(0, n, batch):
            count = min(batch, n - start)
            noise = rng.standard_normal((count, cfg.model.g.noise_dim)).astype(np.float32)
            yield cls, start, images.sample_uint8(generator, noise, np.full(count, label, np.int32), batch=batch)
            done += count
            if on_batch is not None:
                on_batch(done, total)
