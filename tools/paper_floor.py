"""Dev tool: the real-vs-real FID floor under the paper's protocol (500 real vs 500 real per class), beside the
2022 study's published per-class FID.

    python tools/paper_floor.py --data EuroSAT_RGB.zip --draws 20 --out docs/evidence/paper/floor.csv

For each class, Inception (the standard FID network, tf1-bilinear resize) features of every real image of the
class are extracted once (cached), then `--draws` disjoint pairs of 500-image samples give the FID two real
samples get at the paper's N: what a perfect generator would score. A published value below that range is one
that standard FID cannot produce at N = 500. Prints a Markdown table; name the machine beside its timing.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from harness import atomicio
from harness.data import dataset, eurosat
from harness.evaluate.fid import distances, real_cache
from harness.evaluate.fid.extractor import InceptionFeatures
from harness.evaluate.fid.floor import disjoint_pairs
from harness.evaluate.metrics.inception_distances import PAPER_FID
from harness.train.devices import cpu_model


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", help="the EuroSAT archive (default: $HARNESS_EUROSAT)")
    parser.add_argument("--n", type=int, default=500, help="images per sample (the paper: 500)")
    parser.add_argument("--draws", type=int, default=20, help="disjoint pairs of samples per class")
    parser.add_argument("--out", type=Path, help="also write the table as CSV here")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    ds = dataset.load(args.data)
    extractor = InceptionFeatures(resize="tf1-bilinear")
    rows = []
    for cls, name in enumerate(eurosat.CLASSES):
        idx = np.flatnonzero(ds.labels == cls)
        key = real_cache.real_key(ds, split="all", split_seed=0, cls=name, n=len(idx), resize="tf1-bilinear",
                                  purpose="every real image of the class")
        feats = real_cache.cached(key, lambda: extractor(ds.images[idx]))
        pairs = disjoint_pairs(cls, args.n, len(feats))
        values = [distances.fid(feats[a], feats[b]) for a, b in (next(pairs) for _ in range(args.draws))]
        rows.append({"class": name, "images": len(idx), "paper FID": PAPER_FID.get(name, np.nan),
                     "floor mean": float(np.mean(values)), "floor min": float(np.min(values)),
                     "floor max": float(np.max(values)), "draws": args.draws})
        print(f"{name}: floor {np.mean(values):.2f} ({np.min(values):.2f}-{np.max(values):.2f})", file=sys.stderr)
    table = pd.DataFrame(rows)
    table.loc[len(table)] = {"class": "mean", "images": int(table["images"].sum()),
                             "paper FID": PAPER_FID.get("mean", np.nan), "floor mean": table["floor mean"].mean(),
                             "floor min": np.nan, "floor max": np.nan, "draws": args.draws}
    print(table.to_markdown(index=False, floatfmt=".2f"))
    print(f"\n{args.draws} draws of {args.n} vs {args.n} real images per class; {time.perf_counter() - started:.0f} s "
          f"on {cpu_model()}")
    if args.out:
        atomicio.write_text(args.out, table.to_csv(index=False))
    return 0


if __name__ == "__main__":
    from harness.errors import script_exit_code

    raise SystemExit(script_exit_code(main))
