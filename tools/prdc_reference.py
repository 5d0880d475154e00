"""Dev-only: check harness.evaluate.fid.prdc against Naeem et al.'s own `prdc` package on the same features.

`prdc` is not a dependency of the harness. Install it somewhere aside and put it on the path, e.g.
    pip install --target /tmp/prdcpkg --no-deps prdc scikit-learn joblib threadpoolctl
    PYTHONPATH=/tmp/prdcpkg python tools/prdc_reference.py
It compares, for several k and set sizes, random Gaussian features and (if --features NPZ is given, with
arrays `real` and `fake`) real feature sets, and prints the largest difference.
"""

from __future__ import annotations

import argparse

import numpy as np
from prdc import compute_prdc

from harness.evaluate.fid import prdc as ours


def cases(path: str | None):
    rng = np.random.default_rng(0)
    # Shifted and rescaled Gaussians, so that no metric sits at 0 or 1 (in high dimension it would).
    for n_real, n_fake, dim, scale, shift in ((500, 500, 8, 1.2, 0.3), (800, 300, 16, 0.8, 0.2),
                                              (1000, 1000, 64, 1.05, 0.05), (2000, 1500, 2048, 1.0, 0.01)):
        real = rng.standard_normal((n_real, dim)).astype(np.float32)
        fake = (scale * rng.standard_normal((n_fake, dim)) + shift).astype(np.float32)
        yield f"gaussian {n_real}x{n_fake}x{dim}", real, fake
    if path:
        with np.load(path) as z:
            yield path, z["real"], z["fake"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--features", help="an .npz with arrays real and fake")
    args = parser.parse_args()
    worst = 0.0
    for name, real, fake in cases(args.features):
        for k in (3, 5):
            theirs = compute_prdc(real_features=real, fake_features=fake, nearest_k=k)
            mine = ours.prdc(real, fake, k=k)
            diff = max(abs(theirs[m] - mine[m]) for m in ours.METRICS)
            worst = max(worst, diff)
            print(f"{name} k={k}: " + "  ".join(f"{m} {mine[m]:.6f}/{theirs[m]:.6f}" for m in ours.METRICS)
                  + f"  max |diff| {diff:.2e}")
    print(f"largest difference over all cases: {worst:.2e}")


if __name__ == "__main__":
    from harness.errors import script_exit_code

    raise SystemExit(script_exit_code(main))
