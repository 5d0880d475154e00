"""Dev tool: milliseconds per training step of one variant at the bench width (1/4), batch 64, float32, one thread,
from whichever harness is on PYTHONPATH, so two checkouts can be timed in one sitting:

    PYTHONPATH=/path/to/checkout-a python tools/time_step.py --label a
    PYTHONPATH=/path/to/checkout-b python tools/time_step.py --label b

Prints the median of 5 blocks of 10 steps on a fixed batch, after 3 warm-up steps (tracing included there).
Alternate the checkouts over rounds, on an otherwise idle machine, and name the machine (lscpu) beside the figures.
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variant", default="paper_dcgan")
    parser.add_argument("--label", default="")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    try:
        from harness.runs import runner
        from harness.train.gan import GAN, configure_determinism
    except ImportError:  # a checkout from before the package was grouped by stage
        from harness.trainer import GAN, configure_determinism

        from harness import runner
    cfg = runner.resolve(args.variant, profile="bench", overrides={"train.batch_size": 64})
    configure_determinism(0)
    gan = GAN(cfg)
    rng = np.random.default_rng(0)
    x = tf.constant(rng.uniform(-1, 1, (64, 64, 64, 3)).astype(np.float32))
    y = tf.constant(rng.integers(0, 10, 64).astype(np.int32))
    step = tf.Variable(0, dtype=tf.int64)
    for _ in range(3):
        step.assign_add(1)
        float(gan.train_step(x, y, step)[0])
    blocks = []
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(10):
            step.assign_add(1)
            float(gan.train_step(x, y, step)[0])
        blocks.append((time.perf_counter() - start) / 10 * 1000)
    median = float(np.median(blocks))
    print(f"{args.label} {args.variant}: {median:.1f} ms/step median ({64000 / median:.0f} img/s); "
          f"blocks {' '.join(f'{b:.0f}' for b in blocks)}")
    return 0


if __name__ == "__main__":
    from harness.errors import script_exit_code

    raise SystemExit(script_exit_code(main))
