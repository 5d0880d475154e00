"""Does an epoch over a fresh tf.data iterator wait for the autotuner's next wake-up?

Feeds a small pipeline (the trainer's shape: batch, map, prefetch) into a compiled function and times whole
epochs with tf.data's autotuning on and off, alternating. The autotune thread sleeps 10 ms, 20 ms, 40 ms, ...
between wake-ups, so with it on, epoch times stick to 10 ms x (2^k - 1) (e.g. 2.55 s). Pin it to one core
(`taskset -c 0`) as a sweep's cell is, and name the machine beside the figures.

    python tools/tfdata_autotune_wait.py [--layers 20] [--rounds 2]
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layers", type=int, default=20, help="matrix products per element (the work per step)")
    parser.add_argument("--elements", type=int, default=60, help="batches per epoch")
    parser.add_argument("--rounds", type=int, default=2, help="alternations of on and off, 3 epochs each")
    args = parser.parse_args()

    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    w = tf.Variable(tf.random.normal([384, 384], seed=0))

    @tf.function
    def step(x):
        y = tf.cast(tf.reduce_sum(x), tf.float32) * w
        for _ in range(args.layers):
            y = tf.tanh(y @ w)
        return tf.reduce_sum(y)

    def epoch(autotune: bool) -> float:
        options = tf.data.Options()
        options.autotune.enabled = autotune
        ds = (tf.data.Dataset.from_tensor_slices(np.arange(args.elements * 4)).batch(4, drop_remainder=True)
              .map(lambda x: x * 2, num_parallel_calls=1, deterministic=True).prefetch(2).with_options(options))
        start = time.perf_counter()
        for x in ds:
            float(step(x))
        return time.perf_counter() - start

    step(tf.constant([1, 2, 3, 4], tf.int64))  # trace outside the timing
    for _ in range(args.rounds):
        for autotune in (True, False):
            times = ", ".join(f"{epoch(autotune):.2f}" for _ in range(3))
            print(f"autotune {'on ' if autotune else 'off'}: epochs of {times} s", flush=True)


if __name__ == "__main__":
    from harness.errors import script_exit_code

    raise SystemExit(script_exit_code(main))
