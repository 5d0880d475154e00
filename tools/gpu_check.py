"""Developer check for an NVIDIA GPU machine (run by tools/gpu_check.sh): throughput by precision at the paper's
scale, op determinism on the GPU, in one process after the test subset.

  python tools/gpu_check.py --out /tmp/gpu-check      (HARNESS_EUROSAT must point at the archive)

Prints one line per precision (images/s of the second epoch of the `paper` profile: full width, batch 128, all
27,000 images; the first epoch includes tracing) and whether two float32 runs gave identical per-step losses.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def _images_per_second(rd) -> float:
    m = rd.metrics()
    rows = m[(m["metric"] == "images_per_s")]
    return float(rows.loc[rows["epoch"] == rows["epoch"].max(), "value"].iloc[0])


def main() -> int:
    import tensorflow as tf

    from harness.runs import runner
    from harness.train import devices

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="a scratch folder for the runs")
    parser.add_argument("--epochs", type=int, default=2)
    args = parser.parse_args()
    gpus = tf.config.list_physical_devices("GPU")
    if not gpus:
        print("gpu_check: TensorFlow sees no GPU; nothing to measure", file=sys.stderr)
        return 1
    name = tf.config.experimental.get_device_details(gpus[0]).get("device_name", "GPU")
    out, report = Path(args.out), {"gpu": name, "machine": devices.machine(), "images_per_s": {}}
    no_eval = {"eval.metrics": "", "eval.every": 0, "log.tensorboard": False}
    for precision in ("float32", "mixed_float16", "mixed_bfloat16"):
        cfg = runner.resolve("paper_dcgan", profile="paper", epochs=args.epochs,
                             overrides={**no_eval, "train.precision": precision})
        rd = runner.run(cfg, out=out, run_id=f"paper-{precision}")
        report["images_per_s"][precision] = _images_per_second(rd)
        print(f"{name}: paper profile, {precision}: {report['images_per_s'][precision]:.0f} images/s "
              f"(epoch {args.epochs})", flush=True)
    # Op determinism on the GPU: the same command twice gives the same per-step losses (one epoch of 200 images per
    # class keeps it short).
    losses = []
    for run_id in ("determinism-a", "determinism-b"):
        cfg = runner.resolve("paper_dcgan", profile="paper", epochs=1, overrides={**no_eval, "data.per_class": 200})
        losses.append(runner.run(cfg, out=out, run_id=run_id).steps()[["d_loss", "g_loss"]].to_numpy())
    same = losses[0].shape == losses[1].shape and bool((losses[0] == losses[1]).all())
    report["deterministic"] = same
    print(f"{name}: two float32 runs {'gave identical' if same else 'DIFFER in their'} per-step losses "
          f"({len(losses[0])} steps)")
    (out / "gpu-check.json").write_text(json.dumps(report, indent=2))
    return 0 if same else 1


if __name__ == "__main__":
    from harness.errors import script_exit_code

    raise SystemExit(script_exit_code(main))
