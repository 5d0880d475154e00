"""Developer tool: where one training step's time goes, per TensorFlow op, from the profiler's own trace.

  python tools/profile_step.py --width 0.25 --steps 20 [--threads 1] [--variant paper_dcgan] [--set KEY=VALUE]
      [--no-determinism]

Builds the harness's GAN (harness.train.gan.GAN, the compiled step the trainer calls), traces it once, then records
`--steps` steps with tf.profiler and sums the host plane's op events: per op type and per op, the time, its share
of the step, and for convolutions and matmuls their FLOPs and the GFLOP/s they reach (the fp32 peak of one core is
the bound to compare with). Prints images/s of the same steps without the profiler too. Name the machine (lscpu)
beside any figure it prints.
"""

from __future__ import annotations

import argparse
import collections
import glob
import math
import os
import tempfile
import time


def _trace_events(logdir: str):
    """(op name, op type, duration in ns) of every TF op event on the host plane of the newest trace."""
    from tensorflow.tsl.profiler.protobuf import xplane_pb2

    path = sorted(glob.glob(os.path.join(logdir, "**", "*.xplane.pb"), recursive=True))[-1]
    space = xplane_pb2.XSpace()
    with open(path, "rb") as handle:
        space.ParseFromString(handle.read())
    for plane in space.planes:
        if not plane.name.startswith("/host:CPU"):
            continue
        names = {k: v.name for k, v in plane.event_metadata.items()}
        for line in plane.lines:
            for event in line.events:
                name = names.get(event.metadata_id, "")
                if ":" in name and "/" in name:  # "scope/op_name:OpType"
                    op, kind = name.rsplit(":", 1)
                    yield op, kind, event.duration_ps / 1000


def _flops_by_type(gan, x, y, ran: set[str]) -> dict[str, float]:
    """FLOPs of one step per op type (convolutions, their gradients, matmuls), from the traced graph's shapes,
    counting only the ops that ran (`ran`: op names in the trace; the graph also holds gradient ops that grappler
    prunes, such as G's backward in D's update). A conv fused with its bias runs under the bias op's name."""
    import tensorflow as tf

    concrete = gan.train_step.get_concrete_function(x, y, tf.constant(0, tf.int64))
    out = collections.Counter()
    for op in concrete.graph.get_operations():
        if op.name in ran or op.name.rsplit("/", 1)[0] + "/BiasAdd" in ran:
            out[op.type] += _conv_flops(op)
    return out


def _graph_type(kind: str) -> str:
    """The graph's op type behind a kernel's name in the trace: oneDNN's rewrites (_MklNativeConv2D,
    _MklNativeFusedConv2D: conv + bias, ...WithBias) count as the convolution they compute."""
    kind = kind.removeprefix("_MklNative").removeprefix("_Mkl")
    return {"FusedConv2D": "Conv2D", "Conv2DBackpropFilterWithBias": "Conv2DBackpropFilter"}.get(kind, kind)


def _conv_flops(op) -> float:
    """2 x multiply-adds of a convolution, its two gradients, or a matmul (0 for anything else)."""
    try:
        if op.type in ("Conv2D", "Conv2DBackpropInput", "Conv2DBackpropFilter"):
            # Each is the same multiply-add count: output positions x kernel taps x in x out channels.
            kernel = op.inputs[1].shape if op.type != "Conv2DBackpropFilter" else None
            if op.type == "Conv2D":
                n, h, w, c_out = op.outputs[0].shape
                kh, kw, c_in, _ = kernel
                return 2.0 * n * h * w * kh * kw * c_in * c_out
            if op.type == "Conv2DBackpropInput":  # out: the input's gradient; inputs: sizes, filter, out-grad
                kh, kw, c_in, c_out = op.inputs[1].shape
                n, h, w, _ = op.inputs[2].shape
                return 2.0 * n * h * w * kh * kw * c_in * c_out
            kh, kw, c_in, c_out = op.outputs[0].shape  # the filter's gradient has the filter's shape
            n, h, w, _ = op.inputs[2].shape
            return 2.0 * n * h * w * kh * kw * c_in * c_out
        if op.type in ("MatMul", "BatchMatMulV2"):
            a, b = op.inputs[0].shape, op.inputs[1].shape
            m = a[-1] if op.get_attr("transpose_a") else a[-2]
            k = a[-2] if op.get_attr("transpose_a") else a[-1]
            nn = b[-2] if op.get_attr("transpose_b") else b[-1]
            return 2.0 * m * k * nn
    except (TypeError, ValueError, AttributeError):
        return 0.0
    return 0.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variant", default="paper_dcgan")
    parser.add_argument("--width", type=float, default=0.25)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--threads", type=int, default=0, help="intra- and inter-op threads (0: TensorFlow's own)")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--no-determinism", action="store_true",
                        help="leave TensorFlow's op determinism off (runs turn it on), to see what it costs")
    args = parser.parse_args()

    import tensorflow as tf

    from harness import config
    from harness.runs import runner
    from harness.train import devices, step_timing
    from harness.train.gan import GAN, configure_determinism

    if args.threads:
        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
        tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    overrides = {"model.width": args.width, "train.batch_size": args.batch, **config.parse_assignments(args.set)}
    cfg = runner.resolve(args.variant, profile="cpu", overrides=overrides)
    if not args.no_determinism:
        configure_determinism(0)
    gan = GAN(cfg)
    x, y = step_timing.fixed_batch(args.batch)
    for i in range(3):  # trace and warm up
        gan.train_step(x, y, tf.constant(i, tf.int64))
    start = time.perf_counter()
    for i in range(args.steps):
        gan.train_step(x, y, tf.constant(i, tf.int64))[0].numpy()
    plain = time.perf_counter() - start
    logdir = tempfile.mkdtemp(prefix="harness-profile-")
    tf.profiler.experimental.start(logdir)
    start = time.perf_counter()
    for i in range(args.steps):
        gan.train_step(x, y, tf.constant(i, tf.int64))[0].numpy()
    profiled = time.perf_counter() - start
    tf.profiler.experimental.stop()

    by_kind, by_op, ran = collections.Counter(), collections.Counter(), set()
    for op, kind, ns in _trace_events(logdir):
        by_kind[_graph_type(kind)] += ns
        by_op[f"{op}:{kind}"] += ns
        ran.add(op)
    kind_flops = _flops_by_type(gan, x, y, ran)
    step_ms = 1000 * plain / args.steps
    total = sum(by_kind.values())
    m = devices.machine()
    print(f"machine: {m.get('cpu')} ({m.get('cores')} cores), TensorFlow {tf.__version__}, threads "
          f"{args.threads or 'default'}, op determinism {'off' if args.no_determinism else 'on'}, oneDNN kernels "
          f"{ {True: 'on', False: 'off (Eigen)'}.get(m.get('onednn_ops'), 'not known')}")
    print(f"{args.variant} width {args.width} batch {args.batch}: {step_ms:.1f} ms/step, "
          f"{args.batch / (plain / args.steps):.1f} img/s without the profiler "
          f"({1000 * profiled / args.steps:.1f} ms/step with it); op time summed {total / 1e6 / args.steps:.1f} "
          f"ms/step (ops may overlap on several threads)")
    print(f"\n{'op type':<32}{'ms/step':>9}{'share':>8}{'GFLOP/step':>12}{'GFLOP/s':>9}")
    for kind, ns in by_kind.most_common(args.top):
        gf = kind_flops.get(kind, 0.0) / 1e9
        rate = f"{gf / (ns / 1e9 / args.steps):9.1f}" if gf else " " * 9
        print(f"{kind:<32}{ns / 1e6 / args.steps:9.2f}{ns / total:8.1%}{gf if gf else math.nan:12.3f}{rate}")
    print(f"\n{'op (top ' + str(args.top) + ')':<90}{'ms/step':>9}{'share':>8}")
    for op, ns in by_op.most_common(args.top):
        print(f"{op[-89:]:<90}{ns / 1e6 / args.steps:9.2f}{ns / total:8.1%}")
    return 0


if __name__ == "__main__":
    from harness.errors import script_exit_code

    raise SystemExit(script_exit_code(main))
