"""Dev tool: the real-vs-real floor of domain FID: FID on the reference classifier's features between two
disjoint real samples of N per class (what a perfect generator would score at that N).

    python tools/domain_floor.py [--n 250] [--split train] [--data PATH]

Prints one line per class and the class mean. The reference classifier is the evaluator's (trained once and
cached); the features are cached keyed by the classifier as well as the sample. `harness report` shows the same
floor beside domain FID for runs that recorded their classifier; this tool gives it for any N and split.
"""

from __future__ import annotations

import argparse

from harness.data import dataset, eurosat
from harness.evaluate import classifier
from harness.evaluate.fid.floor import domain_floor


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=250, help="real images per class in each half")
    parser.add_argument("--split", default="train", choices=("train", "val", "test", "all"))
    parser.add_argument("--split-seed", type=int, default=0)
    parser.add_argument("--data", help="EuroSAT zip or folder (default: $HARNESS_EUROSAT)")
    args = parser.parse_args()
    ds = dataset.load(args.data)
    ref = classifier.reference(ds, split_seed=args.split_seed)
    floor = domain_floor(ds, args.split, args.split_seed, args.n, ref)
    for name in list(eurosat.CLASSES) + ["mean"]:
        if name in floor:
            print(f"{name:22s} {floor[name]:8.2f}")
    return 0


if __name__ == "__main__":
    from harness.errors import script_exit_code

    raise SystemExit(script_exit_code(main))
