"""Dev tool: does the same training step give the same numbers in separate processes on this machine?

    python tools/determinism_check.py --width 1 --batch 128 --threads 2 [--inter-op 1] --processes 5 --steps 5

Starts `--processes` fresh Python processes; each seeds and builds paper_dcgan's GAN exactly as a run does
(TensorFlow op determinism on), trains `--steps` steps on one fixed batch with `--threads` intra-op threads and
as many inter-op threads unless `--inter-op` says otherwise (0: TensorFlow's own choice), and prints its
per-step (d_loss, g_loss) to the bit. Prints how many distinct trajectories the processes gave and the first
step at which any two part. Within one process a step from a given state repeated exactly where it was tried;
what this checks is what a resumed or repeated run meets: a new process.
Name the machine (printed) beside any result.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

_CHILD = """
import json, sys
import tensorflow as tf
width, precision = sys.argv[1], sys.argv[6]
batch, threads, inter, steps = (int(a) for a in sys.argv[2:6])
if threads:
    tf.config.threading.set_intra_op_parallelism_threads(threads)
if inter:
    tf.config.threading.set_inter_op_parallelism_threads(inter)
from harness.runs import runner
from harness.train import devices, step_timing
from harness.train.gan import GAN, configure_determinism
configure_determinism(0)
cfg = runner.resolve("paper_dcgan", profile="paper", overrides={"train.batch_size": batch, "model.width": width})
x, y = step_timing.fixed_batch(batch)
gan = GAN(cfg, precision=precision)
step = tf.Variable(0, dtype=tf.int64)
losses = []
for _ in range(steps):
    step.assign_add(1)
    losses.append([float(v) for v in gan.train_step(x, y, step)[:2]])
print(json.dumps({"losses": losses, "machine": devices.machine()}))
"""


def parted_at(trajectories: list[list[list[float]]]) -> int | None:
    """The first step (1-based) at which any two trajectories differ, or None if all are the same."""
    for step, values in enumerate(zip(*trajectories), 1):
        if any(v != values[0] for v in values[1:]):
            return step
    return None


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--width", default="1")
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--threads", type=int, default=0, help="intra-op threads (0: TensorFlow's own)")
    parser.add_argument("--inter-op", type=int, default=None, help="inter-op threads (default: --threads)")
    parser.add_argument("--processes", type=int, default=5)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--precision", default="float32", choices=("float32", "mixed_bfloat16"))
    args = parser.parse_args(argv)
    inter = args.threads if args.inter_op is None else args.inter_op
    trajectories, machine = [], None
    for i in range(args.processes):
        child = subprocess.run([sys.executable, "-c", _CHILD, args.width, str(args.batch), str(args.threads),
                                str(inter), str(args.steps), args.precision], capture_output=True, text=True)
        if child.returncode != 0:
            print(child.stderr[-3000:], file=sys.stderr)
            return 1
        result = json.loads(child.stdout.strip().splitlines()[-1])
        trajectories.append(result["losses"])
        machine = result["machine"]
        print(f"process {i + 1}: " + "; ".join(f"{d!r}, {g!r}" for d, g in result["losses"]), flush=True)
    distinct = {json.dumps(t) for t in trajectories}
    step = parted_at(trajectories)
    print(f"paper_dcgan width {args.width}, batch {args.batch}, {args.precision}, intra-op threads "
          f"{args.threads or 'default'}, inter-op {inter or 'default'}: "
          f"{len(distinct)} distinct trajectories in {args.processes} processes over {args.steps} steps"
          + (f"; they part at step {step}" if step else "; all the same to the bit"))
    print(machine)
    return 0


if __name__ == "__main__":
    from harness.errors import script_exit_code

    raise SystemExit(script_exit_code(main))
