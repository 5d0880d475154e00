"""Dev tool: one training step's rate in float32, in bfloat16 as shipped, and in bfloat16 with every kernel
gradient left to oneDNN (harness.models.matmul_grads off), alternated in one process so the ratios are one
sitting's.

    python tools/bf16_paths.py --width 1 --batch 128 [--rounds 7]

Prints images/s (median over the rounds after the first) and each one's ratio to float32, with the machine.
Pause other work on the cores while it runs, and name the machine beside any figure.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--width", default="1")
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args(argv)

    import tensorflow as tf

    from harness.models import matmul_grads
    from harness.runs import runner
    from harness.train import devices
    from harness.train.gan import GAN

    cfg = runner.resolve("paper_dcgan", profile="paper",
                         overrides={"train.batch_size": args.batch, "model.width": args.width})
    rng = np.random.default_rng(0)
    x = tf.constant(rng.uniform(-1, 1, (args.batch, 64, 64, 3)).astype(np.float32))
    y = tf.constant(rng.integers(0, 10, args.batch).astype(np.int32))
    step = tf.Variable(0, dtype=tf.int64)
    gans, shipped = {}, matmul_grads.SMALL_MAP
    for name, precision, small_map in (("float32", "float32", shipped), ("bf16, as shipped", "mixed_bfloat16", shipped),
                                       ("bf16, oneDNN kernel gradients", "mixed_bfloat16", 0)):
        matmul_grads.SMALL_MAP = small_map  # read when the step is traced, just below
        gans[name] = GAN(cfg, precision=precision)
        gans[name].train_step(x, y, step)
    matmul_grads.SMALL_MAP = shipped
    seconds = {name: [] for name in gans}
    for _ in range(args.rounds):
        for name, gan in gans.items():
            step.assign_add(1)
            start = time.perf_counter()
            float(gan.train_step(x, y, step)[0])
            seconds[name].append(time.perf_counter() - start)
    rates = {name: args.batch / float(np.median(s[1:])) for name, s in seconds.items()}
    for name, rate in rates.items():
        print(f"{name}: {rate:.1f} img/s ({rate / rates['float32']:.2f}x float32)")
    print(devices.machine())
    return 0


if __name__ == "__main__":
    sys.exit(main())
