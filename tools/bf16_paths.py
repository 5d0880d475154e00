"""Dev tool: one training step's rate in float32, in bfloat16 as shipped, and in bfloat16 with every kernel
gradient left to oneDNN (harness.models.matmul_grads off), alternated in one process so the ratios are one
sitting's.

    python tools/bf16_paths.py --width 1 --batch 128 [--rounds 7]

Prints images/s (median over the rounds after the first) and each one's ratio to float32, with the machine.
Pause other work on the cores while it runs, and name the machine beside any figure.
"""

from __future__ import annotations

import argparse


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--width", default="1")
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args(argv)

    from harness.models import matmul_grads
    from harness.runs import runner
    from harness.train import devices, step_timing
    from harness.train.gan import GAN

    cfg = runner.resolve("paper_dcgan", profile="paper",
                         overrides={"train.batch_size": args.batch, "model.width": args.width})
    timing, shipped = step_timing.Alternation(*step_timing.fixed_batch(args.batch)), matmul_grads.SMALL_MAP
    for name, precision, small_map in (("float32", "float32", shipped), ("bf16, as shipped", "mixed_bfloat16", shipped),
                                       ("bf16, oneDNN kernel gradients", "mixed_bfloat16", 0)):
        matmul_grads.SMALL_MAP = small_map  # read when the step is traced, in add()
        timing.add(name, GAN(cfg, precision=precision))
    matmul_grads.SMALL_MAP = shipped
    for _ in range(args.rounds):
        timing.round()
    rates = timing.rates(skip=1)
    for name, rate in rates.items():
        print(f"{name}: {rate:.1f} img/s ({rate / rates['float32']:.2f}x float32)")
    print(devices.machine())
    return 0


if __name__ == "__main__":
    from harness.errors import script_exit_code

    raise SystemExit(script_exit_code(main))
