"""Dev tool: why a run's training steps can be slower than the same step timed on one fixed batch.

    python tools/step_gap.py [--variant paper_dcgan] [--profile paper] [--rounds 8] [--checkpoint LAST.npz]
        [--pause-pid PID]

Builds the GAN a run builds (the profile's config, op determinism on) and times its step on the fixed random batch
the benchmarks use (harness.train.step_timing.fixed_batch), first alone, before any input pipeline exists, then
alternated round by round with a step on the run's own next batch of real EuroSAT images from the trainer's
tf.data pipeline (epoch 1's order), the wait for that batch timed apart. With --checkpoint a second GAN takes a
run's trained weights and optimizer state (a checkpoints/last.npz) and steps in the same rounds, so that trained
and fresh weights are compared within one sitting: one machine's rate can drift by 10% from minute to
minute. --pause-pid stops another process (SIGSTOP) for the timed rounds only and resumes it after (SIGCONT), so
a background run does not share the cores with them; the setup and the traced first steps run beside it. Name
the machine (lscpu) beside any figure it prints.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import time


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variant", default="paper_dcgan")
    parser.add_argument("--profile", default="paper")
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--checkpoint", help="a run's checkpoints/last.npz to start from")
    parser.add_argument("--pause-pid", type=int, help="a process to stop (SIGSTOP) while the rounds are timed")
    args = parser.parse_args()
    if args.rounds < 1:
        parser.error(f"--rounds {args.rounds}: must be at least 1")
    if args.checkpoint and not os.path.isfile(args.checkpoint):
        parser.error(f"--checkpoint {args.checkpoint}: no such file")
    if args.pause_pid:
        try:
            os.kill(args.pause_pid, 0)  # exists and may be signalled: checked before minutes of setup
        except OSError as exc:
            parser.error(f"--pause-pid {args.pause_pid}: {exc.strerror}")

    import tensorflow as tf

    from harness.data import dataset
    from harness.runs import runner
    from harness.train import checkpoint, devices, step_timing
    from harness.train.gan import GAN, configure_determinism
    from harness.train.trainer import epoch_order, epoch_pipeline

    cfg = runner.resolve(args.variant, profile=args.profile)
    batch = cfg.train.batch_size
    configure_determinism(cfg.seed)
    gans = {"fresh": GAN(cfg)}
    if args.checkpoint:
        gans["trained"] = GAN(cfg)
        counters = checkpoint.load(args.checkpoint, gans["trained"].state())
        print(f"trained: weights and optimizer state from {args.checkpoint}: {counters}")
    ds = dataset.load(os.environ.get("HARNESS_EUROSAT"))
    images_t, labels_t = tf.constant(ds.images), tf.constant(ds.labels)
    order = epoch_order(cfg.seed, 1, len(ds.labels))
    fx, fy = step_timing.fixed_batch(batch)
    step = 0

    def one(gan, x, y) -> float:
        nonlocal step
        step += 1
        start = time.perf_counter()
        [float(v) for v in gan.train_step(x, y, tf.constant(step, tf.int64))]
        return time.perf_counter() - start

    for gan in gans.values():
        for _ in range(3):  # traces the step and warms it up, as the benchmarks do
            one(gan, fx, fy)
    times = {"fresh, fixed batch, no pipeline": []}
    times.update({f"{name}, fixed batch": [] for name in gans} | {f"{name}, real batch": [] for name in gans})
    waits = []
    if args.pause_pid:
        os.kill(args.pause_pid, signal.SIGSTOP)
    try:
        for _ in range(args.rounds):  # before the pipeline exists
            times["fresh, fixed batch, no pipeline"].append(one(gans["fresh"], fx, fy))
        batches = iter(epoch_pipeline(order, images_t, labels_t, batch))
        one(gans["fresh"], *next(batches))  # the real batches have the fixed one's shapes and dtypes: no new trace
        for _ in range(args.rounds):
            start = time.perf_counter()
            x, y = next(batches)
            waits.append(time.perf_counter() - start)
            for name, gan in gans.items():
                times[f"{name}, fixed batch"].append(one(gan, fx, fy))
                times[f"{name}, real batch"].append(one(gan, x, y))
    finally:
        if args.pause_pid:
            os.kill(args.pause_pid, signal.SIGCONT)
    m = devices.machine()
    print(f"machine: {m.get('cpu')} ({m.get('cores')} cores), TensorFlow {tf.__version__}, oneDNN kernels "
          f"{m.get('onednn_ops')}; {args.variant} profile {args.profile}, batch {batch}, {args.rounds} rounds")
    for name, seconds in times.items():
        med = statistics.median(seconds)
        print(f"{name:<32} median {med:5.2f} s/step ({batch / med:5.1f} img/s), min {min(seconds):.2f}, "
              f"max {max(seconds):.2f}; in order: {' '.join(f'{t:.2f}' for t in seconds)}")
    print(f"waiting for a real batch: median {1000 * statistics.median(waits):.1f} ms")
    return 0


if __name__ == "__main__":
    from harness.errors import script_exit_code

    raise SystemExit(script_exit_code(main))
