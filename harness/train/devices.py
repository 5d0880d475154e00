"""Where one run trains: a device strategy and the numeric precision.

`--devices` picks the replicas of a data-parallel run (tf.distribute's
MirroredStrategy): "1" (default) trains on TensorFlow's default device, "all"
on every GPU, N on the first N GPUs. Without GPUs, N > 1 uses N logical CPU
devices if the process configured them (that is how the equivalence with a
single device is tested on a CPU-only machine); otherwise it is refused.
The global batch stays train.batch_size whatever the device count, so a run
is the same experiment on 1 or 8 GPUs.
"""

from __future__ import annotations

import logging
import os
import platform
import sys

from harness.errors import ConfigError

log = logging.getLogger("harness")


def parse_devices(value: str | int | None) -> str | int:
    if value in (None, "", 1, "1"):
        return 1
    if value == "all":
        return "all"
    try:
        count = int(value)
    except (TypeError, ValueError):
        raise ConfigError(f"--devices {value!r}: expected all or a positive integer") from None
    if count < 1:
        raise ConfigError(f"--devices {value!r}: expected all or a positive integer")
    return count


def strategy(devices: str | int | None, batch_size: int):
    """A tf.distribute strategy for `devices`; the default strategy for one device."""
    import tensorflow as tf

    wanted = parse_devices(devices)
    if wanted == 1:
        return tf.distribute.get_strategy()
    gpus = [d.name for d in tf.config.list_logical_devices("GPU")]
    cpus = [d.name for d in tf.config.list_logical_devices("CPU")]
    pool = gpus or cpus
    if wanted == "all":
        wanted = len(pool)
    if wanted > len(pool):
        kind = "GPU" if gpus else "logical CPU"
        raise ConfigError(f"--devices {devices}: only {len(pool)} {kind} device(s) here "
                          f"({', '.join(pool) or 'none'})")
    if batch_size % wanted:
        raise ConfigError(f"train.batch_size={batch_size} does not split evenly over {wanted} devices")
    if wanted == 1:
        return tf.distribute.OneDeviceStrategy(pool[0])
    log.info("data-parallel over %d devices: %s (per-replica batch %d)", wanted, ", ".join(pool[:wanted]),
             batch_size // wanted)
    return tf.distribute.MirroredStrategy(pool[:wanted])


def native_bf16() -> str | None:
    """Why this machine computes bfloat16 natively ("CPU flag avx512_bf16", "GPU compute capability 9.0"), or
    None: without it TensorFlow emulates bf16 and a mixed_bfloat16 run is slower than float32, not faster."""
    import tensorflow as tf

    for gpu in tf.config.list_physical_devices("GPU"):
        capability = tf.config.experimental.get_device_details(gpu).get("compute_capability")
        if capability and capability >= (8, 0):  # Ampere and later
            return f"GPU compute capability {capability[0]}.{capability[1]}"
    flags = cpu_flags()
    for flag in ("amx_bf16", "avx512_bf16"):
        if flag in flags:
            return f"CPU flag {flag}"
    return None


def _cpuinfo() -> dict[str, str]:
    """The first processor's fields in /proc/cpuinfo (empty where there is none, e.g. macOS)."""
    fields: dict[str, str] = {}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if not line.strip():
                    break
                key, _, value = line.partition(":")
                fields[key.strip()] = value.strip()
    except OSError:
        pass
    return fields


def cpu_flags() -> set[str]:
    return set(_cpuinfo().get("flags", "").split())


def cpu_model() -> str:
    """The CPU named well enough to tell two machines apart: "AMD EPYC (family 26, model 2)". Machines of this
    project share a model name across generations, and a timing or a rounding difference needs the family."""
    info = _cpuinfo()
    name = info.get("model name") or platform.processor() or platform.machine()
    if "cpu family" in info:
        name += f" (family {info['cpu family']}, model {info.get('model', '?')})"
    return name


def usable_cores() -> int:
    """The cores this process may run on: `taskset`, a container's cpuset or a batch scheduler can give it fewer
    than the machine has, and dividing the machine's count among jobs would oversubscribe them."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


def machine() -> dict:
    """What a figure or a run needs to name its machine: CPU model, core count, native bf16, and what this process
    may use of it: the cores it is allowed to run on (taskset; TensorFlow's thread pools default to them, so a
    run's speed and, through the reduction order, its rounding follow them) and a oneDNN ISA cap when one is set
    (ONEDNN_MAX_CPU_ISA picks other kernels, e.g. AVX512-BF16 instead of AMX, with other speeds and rounding)."""
    return {"cpu": cpu_model(), "cores": os.cpu_count(), "usable_cores": usable_cores(),
            "native_bf16": native_bf16() or "no",
            "onednn_max_cpu_isa": os.environ.get("ONEDNN_MAX_CPU_ISA") or os.environ.get("DNNL_MAX_CPU_ISA"),
            "onednn_ops": onednn_ops()}


def onednn_ops() -> bool | None:
    """Whether TensorFlow runs its oneDNN kernels in this process (the harness asks for them on every CPU:
    harness/__init__.py); None where TensorFlow is not imported yet or cannot say. Eigen's kernels instead run at
    another speed and sum in other orders."""
    if "tensorflow" not in sys.modules:
        return None
    try:
        from tensorflow.python.util import _pywrap_util_port
    except ImportError:
        return None
    return bool(_pywrap_util_port.IsMklEnabled())


def one_inter_op_thread() -> bool:
    """Run TensorFlow's ops one at a time (each still on every intra-op thread), so that a run repeats to the bit
    in a new process. With more inter-op threads, a oneDNN kernel that TensorFlow happens to start from one of its
    intra-op worker threads likely runs on that one thread (TensorFlow's oneDNN thread pool reports "in parallel"
    there) and sums in another order; which kernel that is depends on timing. At the paper's width on two threads,
    processes of the same step parted by the third step (`tools/determinism_check.py`, docs/design.md); with
    one inter-op thread they did not, at the same speed. Must be called before TensorFlow runs its first op;
    returns False (and changes nothing) where it is too late and another value is set."""
    import tensorflow as tf

    if tf.config.threading.get_inter_op_parallelism_threads() == 1:
        return True
    try:
        tf.config.threading.set_inter_op_parallelism_threads(1)
    except RuntimeError:  # TensorFlow's runtime already started with other thread pools
        return False
    return True


def thread_settings() -> dict:
    """TensorFlow's thread pools as this process set them (0: TensorFlow's default, from the usable cores)."""
    import tensorflow as tf

    return {"intra_op": tf.config.threading.get_intra_op_parallelism_threads(),
            "inter_op": tf.config.threading.get_inter_op_parallelism_threads()}


def effective_precision(requested: str) -> str:
    """The precision a run actually trains in (recorded in its config.json), with one log line when it differs:
    mixed_float16 only where a GPU runs it; mixed_bfloat16 only where bf16 is native (emulated, it is slower)."""
    import tensorflow as tf

    if requested == "mixed_float16" and not tf.config.list_logical_devices("GPU"):
        log.warning("train.precision=mixed_float16 needs a GPU; no GPU here, so this run trains in float32")
        return "float32"
    if requested == "mixed_bfloat16":
        why = native_bf16()
        if why is None:
            log.warning("train.precision=mixed_bfloat16: this machine has no native bf16 (no AVX512-BF16 or AMX "
                        "CPU flag, no Ampere+ GPU), so bf16 would be emulated and slower; this run trains in float32")
            return "float32"
        log.info("train.precision=mixed_bfloat16: native bf16 (%s)", why)
    return requested


def import_tensorflow_quietly() -> None:
    """Import TensorFlow with its start-up banner (absl and oneDNN notices, printed from C++ before any log
    level applies) held back, so that the first line a command prints is the harness's own. The banner comes
    back with HARNESS_DEBUG=1 or a TF_CPP_MIN_LOG_LEVEL of the user's own (the command decides; a sweep's
    spawned workers do the same); if the import fails, what it printed is shown."""
    import tempfile

    with tempfile.TemporaryFile() as held:
        sys.stderr.flush()
        saved = os.dup(2)
        os.dup2(held.fileno(), 2)
        try:
            import tensorflow  # noqa: F401
        except KeyboardInterrupt:  # the user stopped it: the held banner is not news
            raise
        except BaseException:
            os.dup2(saved, 2)
            held.seek(0)
            sys.stderr.write(held.read().decode(errors="replace"))
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)
