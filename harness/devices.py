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


def effective_precision(requested: str) -> str:
    """mixed_float16 only where a GPU runs it; on CPU training stays float32, and the log says so."""
    import tensorflow as tf

    if requested == "mixed_float16" and not tf.config.list_logical_devices("GPU"):
        log.warning("train.precision=mixed_float16 needs a GPU; no GPU here, so this run trains in float32")
        return "float32"
    return requested
