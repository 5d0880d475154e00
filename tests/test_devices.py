"""One run on several devices (MirroredStrategy), and the precision setting."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from harness import devices, runner
from harness.errors import ConfigError

# Runs in a fresh interpreter: logical devices must be configured before TensorFlow starts.
_TWO_LOGICAL_CPUS = textwrap.dedent("""
    import json, sys
    import numpy as np
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    from harness import runner
    out, data, variant = sys.argv[1:4]
    result = {}
    for count in (1, 2):
        cfg = runner.resolve(variant, profile="smoke", overrides={"train.epochs": "1"})
        rd = runner.run(cfg, data=data, out=out, run_id=f"{variant}-devices-{count}", devices=count)
        result[count] = {"steps": rd.steps()[["d_loss", "g_loss", "d_acc_real", "d_acc_fake"]].values.tolist(),
                         "checkpoint": str(rd.last_checkpoint), "replicas": rd.read_record()["replicas"]}
    print(json.dumps(result))
""")


@pytest.mark.slow
@pytest.mark.eurosat
@pytest.mark.parametrize("variant", ["paper_dcgan", "diffaugment"])
def test_two_devices_match_one_device_with_the_same_global_batch(variant, eurosat_path, tmp_path):
    proc = subprocess.run([sys.executable, "-c", _TWO_LOGICAL_CPUS, str(tmp_path), str(eurosat_path), variant],
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    one, two = result["1"], result["2"]
    assert (one["replicas"], two["replicas"]) == ("1", "2")
    a, b = np.array(one["steps"]), np.array(two["steps"])
    if variant == "paper_dcgan":
        # Same noise, same batch-norm statistics (synchronised), same gradient: equal up to float rounding.
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-5)
        za, zb = np.load(one["checkpoint"]), np.load(two["checkpoint"])
        assert za.files == zb.files
        for key in za.files:
            np.testing.assert_allclose(za[key], zb[key], rtol=0, atol=1e-4, err_msg=key)
    else:
        # DiffAugment draws per replica, so only the first D loss (before any augmentation differs) is shared
        # in distribution; check that training ran and stayed finite on both.
        assert np.isfinite(a).all() and np.isfinite(b).all() and a.shape == b.shape


def test_bad_device_requests_are_one_line_errors():
    assert devices.parse_devices(None) == 1 and devices.parse_devices("all") == "all"
    assert devices.parse_devices("2") == 2
    for bad in ("0", "two", "-1"):
        with pytest.raises(ConfigError, match=f"--devices '{bad}': expected all or a positive integer"):
            devices.parse_devices(bad)
    with pytest.raises(ConfigError, match=r"--devices 8: only 1 logical CPU device\(s\) here"):
        devices.strategy(8, batch_size=64)


def test_mixed_precision_stays_float32_on_cpu_and_says_so(caplog):
    import tensorflow as tf

    if tf.config.list_logical_devices("GPU"):
        pytest.skip("a GPU is present: mixed precision is used there")
    with caplog.at_level("WARNING", logger="harness"):
        assert devices.effective_precision("mixed_float16") == "float32"
    assert "no GPU here, so this run trains in float32" in caplog.text
    assert devices.effective_precision("float32") == "float32"


def test_mixed_precision_step_computes_in_float16_with_float32_weights():
    """The GPU code path, forced on the CPU: float16 activations, float32 variables, loss scaling, finite losses."""
    import tensorflow as tf

    from harness.trainer import GAN, configure_determinism

    cfg = runner.resolve("paper_dcgan", profile="smoke")
    configure_determinism(0)
    gan = GAN(cfg, precision="mixed_float16")
    try:
        assert gan.generator.get_layer("up1").compute_dtype == "float16"
        assert gan.generator.get_layer("tanh").compute_dtype == "float32"  # outputs stay float32
        assert all(v.dtype == "float32" for v in gan.generator.trainable_variables)
        rng = np.random.default_rng(0)
        x = tf.constant(rng.uniform(-1, 1, (16, 64, 64, 3)).astype(np.float32))
        y = tf.constant(rng.integers(0, 10, 16).astype(np.int32))
        for step in range(2):
            values = [float(v) for v in gan.train_step(x, y, tf.constant(step, tf.int64))]
            assert all(np.isfinite(values))
        assert any("scale" in v.path for v in gan.g_opt.variables)
    finally:
        import keras

        assert keras.config.dtype_policy().name == "float32"  # the global policy was restored


def test_invalid_precision_is_rejected():
    with pytest.raises(ConfigError, match="train.precision"):
        runner.resolve("paper_dcgan", profile="smoke", overrides={"train.precision": "bfloat8"})


def test_cli_refuses_more_devices_than_exist_before_writing(tmp_path, capsys):
    from harness.cli import main

    code = main(["run", "--variant", "paper_dcgan", "--profile", "smoke", "--devices", "8", "--out",
                 str(tmp_path), "--data", str(tmp_path / "unused.zip")])
    err = capsys.readouterr().err
    assert code == 2 and "--devices 8: only 1 logical CPU device(s) here" in err and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []
