"""Dev tool: which oneDNN kernels one full training step runs, and how long each kind takes.

    python tools/onednn_kernels.py [--width 1] [--batch 128] [--precision mixed_bfloat16] [--isa AVX512_CORE_BF16]

Runs the step in a child process with ONEDNN_VERBOSE=1 (and ONEDNN_MAX_CPU_ISA=--isa when given: on an AMX Xeon,
AVX512_CORE_BF16 gives the kernels a CPU with AVX512-BF16 and no AMX runs), traces it, times one more step, and
sums that step's primitives by (kind, implementation, propagation): count and summed execution time. The
implementation names say what bounds a step: `avx10_1_512_amx` / `avx512_core_bf16` / `avx512_core` kernels,
`jit_bf16` (the older non-brgemm path) or `ref` (a reference loop). Summed times exceed the step's wall time
where TensorFlow runs ops side by side. Pause other work on the cores, and name the machine beside any figure.
"""

from __future__ import annotations

import argparse
import collections
import os
import subprocess
import sys

MARK, END = "=====step=====", "=====end====="

_CHILD = f"""
import sys
from harness.runs import runner
from harness.train import devices, step_timing
from harness.train.gan import GAN
width, batch, precision = sys.argv[1], int(sys.argv[2]), sys.argv[3]
cfg = runner.resolve("paper_dcgan", profile="paper", overrides={{"train.batch_size": batch, "model.width": width}})
timing = step_timing.Alternation(*step_timing.fixed_batch(batch))
timing.add("step", GAN(cfg, precision=precision))
print({MARK!r}, flush=True)
timing.round()
print({END!r}, flush=True)
print(devices.machine())
"""


def summarise(verbose: str) -> list[tuple[str, str, str, int, float]]:
    """(kind, implementation, propagation, count, summed ms) of the executions between the markers, longest first."""
    step = verbose.split(MARK, 1)[1].split(END, 1)[0]
    totals: dict[tuple[str, str, str], list] = collections.defaultdict(lambda: [0, 0.0])
    for line in step.splitlines():
        fields = line.split(",")
        if fields[0] != "onednn_verbose" or "exec" not in fields[:4]:
            continue
        at = fields.index("exec")
        key = (fields[at + 2], fields[at + 3], fields[at + 4])
        totals[key][0] += 1
        totals[key][1] += float(fields[-1])
    return sorted(((*k, n, ms) for k, (n, ms) in totals.items()), key=lambda row: -row[4])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--width", default="1")
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--precision", default="mixed_bfloat16", choices=("float32", "mixed_bfloat16"))
    parser.add_argument("--isa", default=None, help="ONEDNN_MAX_CPU_ISA for the child, e.g. AVX512_CORE_BF16")
    args = parser.parse_args(argv)

    env = {**os.environ, "ONEDNN_VERBOSE": "1", "TF_CPP_MIN_LOG_LEVEL": "2"}
    if args.isa:
        env["ONEDNN_MAX_CPU_ISA"] = args.isa
    child = subprocess.run([sys.executable, "-c", _CHILD, args.width, str(args.batch), args.precision],
                           capture_output=True, text=True, env=env)
    if child.returncode != 0 or MARK not in child.stdout:
        print(child.stderr[-3000:], file=sys.stderr)
        return 1
    rows = summarise(child.stdout)
    isa = next((line.split("isa:", 1)[1] for line in child.stdout.splitlines() if ",isa:" in line), "?")
    print(f"paper_dcgan width {args.width}, batch {args.batch}, {args.precision}; oneDNN ISA: {isa}")
    for kind, impl, prop, count, ms in rows:
        print(f"{ms:9.1f} ms {count:5d}x  {kind:20s} {impl:44s} {prop}")
    print(f"{sum(r[4] for r in rows):9.1f} ms in all")
    print(child.stdout.split(END, 1)[1].strip().splitlines()[-1])  # the child's machine(), its ISA cap included
    return 0


if __name__ == "__main__":
    from harness.errors import script_exit_code

    raise SystemExit(script_exit_code(main))
