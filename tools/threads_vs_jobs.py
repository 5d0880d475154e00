"""Dev tool: 1 process x 2 threads against 2 processes x 1 thread for GAN training (the sweep's --jobs default).

    python tools/threads_vs_jobs.py [--profile cpu] [--steps 30]

Each worker times `steps` calls of GAN.train_step on a fixed batch after 3 warm-up steps.
Run it on an otherwise idle machine.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time


def worker(profile: str, threads: int, steps: int) -> None:
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(threads)
    from harness.runs import runner
    from harness.train import step_timing
    from harness.train.gan import GAN, configure_determinism

    cfg = runner.resolve("paper_dcgan", profile=profile)
    configure_determinism(0)
    gan = GAN(cfg)
    batch = cfg.train.batch_size
    x, y = step_timing.fixed_batch(batch)
    for step in range(3):
        gan.train_step(x, y, tf.constant(step, tf.int64))
    started = time.perf_counter()
    for step in range(3, 3 + steps):
        float(gan.train_step(x, y, tf.constant(step, tf.int64))[0])
    seconds = time.perf_counter() - started
    print(f"{batch * steps / seconds:.1f}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--profile", default="cpu")
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.profile, args.worker, args.steps)
        return
    base = [sys.executable, __file__, "--profile", args.profile, "--steps", str(args.steps), "--worker"]

    def launch(threads: int, count: int) -> list[float]:
        procs = [subprocess.Popen(base + [str(threads)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
                 for _ in range(count)]
        return [float(p.communicate()[0].strip().splitlines()[-1]) for p in procs]

    one = launch(2, 1)
    two = launch(1, 2)
    print(f"1 job x 2 threads: {one[0]:.1f} img/s")
    print(f"2 jobs x 1 thread: {' + '.join(f'{v:.1f}' for v in two)} = {sum(two):.1f} img/s")


if __name__ == "__main__":
    from harness.errors import script_exit_code

    raise SystemExit(script_exit_code(main))
