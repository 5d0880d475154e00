"""Dev-only: reference pool3 features from the TorchScript file, run in torch.

Needs torch (`pip install torch==2.13.0` into a separate venv); the harness
itself never imports torch. Writes tests/data/inception_golden.npz, which the
test suite uses to check the Keras port without torch.

    python tools/inception_reference.py --pt default_1.pt --data EuroSAT_RGB.zip [--out FILE]

The torch path resizes exactly as the original TF graph (TF1 bilinear,
align_corners=False, half_pixel_centers=False: source = dest * in / out,
clamped at the border) with grid_sample, independently of TF's own op.
"""

from __future__ import annotations

import argparse
import io
import sys
import zipfile
from pathlib import Path

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from harness.evaluate.fid import golden  # noqa: E402  (numpy only, no TF)


def tf1_bilinear(x: torch.Tensor, size: int = 299) -> torch.Tensor:
    n, c, h, w = x.shape
    theta = torch.zeros(n, 2, 3, dtype=x.dtype)
    theta[:, 0, 0] = 1
    theta[:, 1, 1] = 1
    # Shift so that grid_sample's (align_corners=False) source = dest * in / out.
    theta[:, 0, 2] = 1 / w - 1 / size
    theta[:, 1, 2] = 1 / h - 1 / size
    grid = torch.nn.functional.affine_grid(theta, [n, c, size, size], align_corners=False)
    return torch.nn.functional.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)


def load_real(archive: Path) -> dict[str, np.ndarray]:
    out = {}
    with zipfile.ZipFile(archive) as zf:
        names = {n.split("/", 1)[1]: n for n in zf.namelist() if n.endswith(".jpg")}
        for canonical in golden.REAL:
            raw = zf.read(names[canonical.split("/", 1)[1]])
            out[canonical] = np.asarray(Image.open(io.BytesIO(raw)).convert("RGB"), dtype=np.uint8)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pt", required=True)
    parser.add_argument("--data", required=True)
    parser.add_argument("--out", default=str(Path(__file__).resolve().parents[1] / "tests/data/inception_golden.npz"))
    args = parser.parse_args()
    images = golden.inputs(load_real(Path(args.data)))
    net = torch.jit.load(args.pt, map_location="cpu").eval()
    x = torch.from_numpy(images).permute(0, 3, 1, 2).to(torch.float64)
    resized = tf1_bilinear(x)
    with torch.no_grad():
        feats = net(((resized - 128) / 128).to(torch.float32)).numpy()
        feats64 = net.double()(((resized - 128) / 128)).numpy() if hasattr(net, "double") else None
    np.savez_compressed(args.out, names=np.array(golden.REAL + golden.SYNTHETIC), features=feats.astype(np.float32),
                        features_float64=feats64 if feats64 is not None else feats,
                        torch_version=np.array(torch.__version__))
    print(f"wrote {args.out}: features {feats.shape}, mean {feats.mean():.6f}, "
          f"float32 vs float64 max diff {np.abs(feats - feats64).max() if feats64 is not None else 'n/a'}")


if __name__ == "__main__":
    from harness.errors import script_exit_code

    raise SystemExit(script_exit_code(main))
