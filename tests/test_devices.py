"""One run on several devices (MirroredStrategy), and the precision setting."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from conftest import load_tool

from harness.errors import ConfigError
from harness.runs import runner
from harness.train import devices

# Runs in a fresh interpreter: logical devices must be configured before TensorFlow starts.
_TWO_LOGICAL_CPUS = textwrap.dedent("""
    import json, sys
    import numpy as np
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    from harness.runs import runner
    out, data, variant, overrides = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
    result = {}
    for count in (1, 2):
        cfg = runner.resolve(variant, profile="smoke", overrides={"train.epochs": "1", **overrides})
        rd = runner.run(cfg, data=data, out=out, run_id=f"{variant}-devices-{count}", devices=count)
        result[count] = {"steps": rd.steps()[["d_loss", "g_loss", "d_acc_real", "d_acc_fake"]].values.tolist(),
                         "checkpoint": str(rd.last_checkpoint), "replicas": rd.read_record()["replicas"]}
    print(json.dumps(result))
""")


# R1 (double backprop per replica) and the generator average (updated in the cross-replica context).
_R1_EMA = {"train.r1_gamma": "1", "train.r1_every": "2", "train.g_ema": "0.9"}


@pytest.mark.slow
@pytest.mark.eurosat
@pytest.mark.parametrize("variant,overrides", [("paper_dcgan", {}), ("diffaugment", {}), ("paper_dcgan", _R1_EMA)],
                         ids=["paper_dcgan", "diffaugment", "r1_ema"])
def test_two_devices_match_one_device_with_the_same_global_batch(variant, overrides, eurosat_path, tmp_path):
    proc = subprocess.run([sys.executable, "-c", _TWO_LOGICAL_CPUS, str(tmp_path), str(eurosat_path), variant,
                           json.dumps(overrides)], capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    one, two = result["1"], result["2"]
    assert (one["replicas"], two["replicas"]) == ("1", "2")
    a, b = np.array(one["steps"]), np.array(two["steps"])
    if variant == "paper_dcgan" and not overrides:
        _assert_same_computation_up_to_rounding(a, b, np.load(one["checkpoint"]), np.load(two["checkpoint"]))
    elif overrides:
        # R1's penalty is taken per replica on its slice (with batch norm synchronised across replicas, the
        # input gradient of one replica's logits leaves out the other replica's images), so only the first
        # D loss, computed before any update, is shared (measured: G's first loss already differs by 9e-5
        # relative); check that both train, stay finite and keep the average in the checkpoint.
        np.testing.assert_allclose(a[0, 0], b[0, 0], rtol=1e-5, err_msg="step 1 d_loss")
        assert np.isfinite(a).all() and np.isfinite(b).all() and a.shape == b.shape
        for path in (one["checkpoint"], two["checkpoint"]):
            with np.load(path) as z:
                average = [z[k] for k in z.files if k.startswith("g_ema/")]
                assert average and all(np.isfinite(v).all() for v in average)
    else:
        # DiffAugment draws per replica, so only the first D loss (before any augmentation differs) is shared
        # in distribution; check that training ran and stayed finite on both.
        assert np.isfinite(a).all() and np.isfinite(b).all() and a.shape == b.shape


def _assert_same_computation_up_to_rounding(a, b, za, zb, *, lr=2e-4, batch=16):
    """What "the same step on 1 or 2 devices" means, with bounds that hold on any CPU.

    The two runs differ only in the order in which sums are reduced (the
    synchronised batch-norm statistics, the replicas' gradients), so they
    agree up to float32 rounding. How far rounding travels depends on the step:
    - Step 1 starts from identical weights: its losses differ only by the
      reduction order, ~1e-6 relative (measured 8.5e-7 on an AMD EPYC).
      Wrong noise slices, unsynchronised batch norm or a wrong batch split
      compute on other numbers, like another batch does: consecutive batches'
      losses differ by ~5% here. So rtol 1e-5 at step 1 is the sharp check.
    - Later steps start from weights that already differ: Adam's first updates
      are about lr * sign(g), so a parameter whose gradient is zero up to
      rounding moves by up to lr in either direction on the two runs, and
      GAN training amplifies that. Measured on an AMD EPYC (AVX-512), the
      largest relative loss difference per step was 8.5e-7, 6.8e-7, 6.1e-7,
      1.8e-6, 1.6e-4 for steps 1-5, and kept growing about 10x per step after
      (8.9e-4 at step 6, 2.6e-2 at step 20); an Intel Ice Lake stayed within
      1e-5 over the same 5 steps. So the test stops at 5 steps, where rtol 2e-3
      is 12x the largest value measured and still 25x below the difference
      between two batches.
    - Accuracies count images: a logit that rounding pushes across 0 changes
      one of them by 1/batch (the global batch). They must be equal at step 1.
    - Weights: each Adam update moves a weight by about lr at most, so after
      t steps the two runs' weights differ by at most 2 * lr * t (measured:
      2.0e-4, one flipped update, in the generator's first layer). Optimizer
      moments are not compared: they follow from the weights' trajectory.
    - Batch norm's moving statistics are no Adam update: each step adds 0.1 of
      the batch's statistics, which follow the activations, so they drift
      apart with the trajectory. On one device batch norm runs through the
      fused kernel, on two through Keras's synchronised moments (the fused one
      cannot synchronise): the same statistics up to rounding, but another
      rounding. Measured after 5 steps on an AMD EPYC (family 25): about
      5e-3 of the array's largest value, both between the fused and Keras's
      layer on one device and between one and two devices. They are held to
      2e-2 of it;
      unsynchronised statistics are caught sharper by the step-1 losses above.
    """
    losses, accuracies = slice(0, 2), slice(2, 4)
    np.testing.assert_allclose(a[0, losses], b[0, losses], rtol=1e-5, err_msg="step 1 losses")
    np.testing.assert_array_equal(a[0, accuracies], b[0, accuracies], err_msg="step 1 accuracies")
    np.testing.assert_allclose(a[:, losses], b[:, losses], rtol=2e-3, err_msg="losses of steps 1-5")
    assert np.abs(a[:, accuracies] - b[:, accuracies]).max() <= 1 / batch + 1e-9
    assert za.files == zb.files
    steps = len(a)
    moving = _moving_statistics()
    for key in (k for k in za.files if k.split("/")[0] in ("g", "d")):
        if key in moving:
            scale = np.abs(zb[key]).max()  # means near 0 make a per-element relative bound meaningless
            np.testing.assert_allclose(za[key], zb[key], rtol=0, atol=2e-2 * scale, err_msg=key)
        else:
            np.testing.assert_allclose(za[key], zb[key], rtol=0, atol=2 * lr * steps, err_msg=key)


def _moving_statistics() -> set[str]:
    """Checkpoint keys ("g/0012", ...) of the smoke paper_dcgan's batch-norm moving means and variances."""
    from harness.models.networks import build_discriminator, build_generator

    cfg = runner.resolve("paper_dcgan", profile="smoke")
    out = set()
    for group, model in (("g", build_generator(cfg.model)), ("d", build_discriminator(cfg.model))):
        out |= {f"{group}/{i:04d}" for i, w in enumerate(model.weights) if "moving_" in w.path}
    return out


def test_machine_names_the_cores_and_kernels_this_process_may_use():
    """A run pinned to one core (taskset) records 1 usable core of 2; an ISA cap is recorded as set."""
    code = ("import json; from harness.train import devices; m = devices.machine(); "
            "print(json.dumps([m['cores'], m['usable_cores'], m['onednn_max_cpu_isa']]))")
    env = {k: v for k, v in os.environ.items() if k not in ("ONEDNN_MAX_CPU_ISA", "DNNL_MAX_CPU_ISA")}
    pinned = subprocess.run(["taskset", "-c", "0", sys.executable, "-c", code], capture_output=True, text=True,
                            env={**env, "ONEDNN_MAX_CPU_ISA": "AVX512_CORE_BF16"}, check=True)
    cores, usable, isa = json.loads(pinned.stdout)
    assert (usable, isa) == (1, "AVX512_CORE_BF16") and cores >= 1
    free = json.loads(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                                     check=True).stdout)
    assert free[1] == len(os.sched_getaffinity(0)) and free[2] is None


def test_harness_asks_for_onednn_kernels_unless_the_user_chose_or_tensorflow_came_first():
    """TensorFlow turns its oneDNN kernels on by itself only on some CPUs (AVX-512 VNNI/BF16, AMX): importing the
    harness first turns them on everywhere, a value the user set stays, and the record says what TensorFlow does."""
    code = ("import json, os, sys; {first}; from harness.train import devices; import tensorflow; "
            "print(json.dumps([os.environ.get('TF_ENABLE_ONEDNN_OPTS'), devices.machine()['onednn_ops']]))")
    env = {k: v for k, v in os.environ.items() if k != "TF_ENABLE_ONEDNN_OPTS"}

    def ask(first: str, **extra) -> list:
        done = subprocess.run([sys.executable, "-c", code.format(first=first)], capture_output=True, text=True,
                              env={**env, "TF_CPP_MIN_LOG_LEVEL": "2", **extra}, check=True)
        return json.loads(done.stdout.splitlines()[-1])

    assert ask("import harness") == ["1", True]
    assert ask("import harness", TF_ENABLE_ONEDNN_OPTS="0") == ["0", False]
    setting, _ = ask("import tensorflow")  # too late to choose: left to TensorFlow, whatever this CPU makes it
    assert setting is None


def test_onednn_kernel_summary_counts_only_the_timed_step():
    """tools/onednn_kernels.py sums the verbose lines between its markers, by kind, implementation and direction."""
    tool = load_tool("onednn_kernels")
    line = "onednn_verbose,v1,primitive,exec,cpu,{},{},{},src:bf16::blocked:acdb::f0,,,16x64,{}"
    verbose = "\n".join([
        line.format("convolution", "brg_conv_fwd:avx512_core_bf16", "forward_training", 9.0),  # tracing: left out
        tool.MARK,
        line.format("convolution", "brg_conv_fwd:avx512_core_bf16", "forward_training", 1.5),
        "onednn_verbose,v1,primitive,info,template:operation,engine,primitive",
        line.format("reorder", "jit:uni", "undef", 0.25),
        line.format("convolution", "brg_conv_fwd:avx512_core_bf16", "forward_training", 2.0),
        tool.END,
        line.format("reorder", "jit:uni", "undef", 7.0)])
    assert tool.summarise(verbose) == [("convolution", "brg_conv_fwd:avx512_core_bf16", "forward_training", 2, 3.5),
                                       ("reorder", "jit:uni", "undef", 1, 0.25)]


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

    from harness.train.gan import GAN, configure_determinism

    cfg = runner.resolve("paper_dcgan", profile="smoke", overrides=_R1_EMA)  # R1 and the average take float16 too
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
        assert all(v.dtype == "float32" and np.isfinite(v.numpy()).all() for v in gan.ema.model.weights)
    finally:
        import keras

        assert keras.config.dtype_policy().name == "float32"  # the global policy was restored


def test_bf16_is_used_only_where_it_is_native(caplog, monkeypatch):
    monkeypatch.setattr(devices, "native_bf16", lambda: None)
    with caplog.at_level("WARNING", logger="harness"):
        assert devices.effective_precision("mixed_bfloat16") == "float32"
    assert "no native bf16" in caplog.text and "trains in float32" in caplog.text
    monkeypatch.setattr(devices, "native_bf16", lambda: "CPU flag avx512_bf16")
    assert devices.effective_precision("mixed_bfloat16") == "mixed_bfloat16"


def test_bf16_step_computes_in_bfloat16_without_loss_scaling_and_is_deterministic():
    """bf16 has float32's exponent range: no loss scaling. Same seed, same machine: the same losses."""
    import tensorflow as tf

    from harness.train.gan import GAN, configure_determinism

    cfg = runner.resolve("paper_dcgan", profile="smoke", overrides=_R1_EMA)
    rng = np.random.default_rng(0)
    x = tf.constant(rng.uniform(-1, 1, (16, 64, 64, 3)).astype(np.float32))
    y = tf.constant(rng.integers(0, 10, 16).astype(np.int32))
    runs = []
    for _ in range(2):
        configure_determinism(0)
        gan = GAN(cfg, precision="mixed_bfloat16")
        assert gan.generator.get_layer("up1").compute_dtype == "bfloat16"
        assert gan.discriminator.get_layer("logit").compute_dtype == "float32"
        assert all(v.dtype == "float32" for v in gan.discriminator.trainable_variables)
        assert not any("scale" in v.path for v in gan.g_opt.variables)
        runs.append([[float(v) for v in gan.train_step(x, y, tf.constant(step, tf.int64))] for step in range(3)])
        assert np.isfinite(runs[-1]).all()
    assert runs[0] == runs[1]


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


def test_a_run_sets_one_inter_op_thread_before_tensorflow_starts_and_says_when_it_is_too_late():
    """harness.train.devices.one_inter_op_thread: in a fresh process it sets one inter-op thread (ops one at a
    time, so a repeat in a new process gives the same bits); once TensorFlow has run an op it changes nothing."""
    code = ("import json, tensorflow as tf; from harness.train import devices; {before}"
            "ok = devices.one_inter_op_thread(); print(json.dumps([ok, devices.thread_settings()]))")
    fresh = json.loads(subprocess.run([sys.executable, "-c", code.format(before="")], capture_output=True,
                                      text=True, check=True).stdout.splitlines()[-1])
    assert fresh == [True, {"intra_op": 0, "inter_op": 1}]
    late = json.loads(subprocess.run([sys.executable, "-c", code.format(before="tf.constant(1.0) + 1; ")],
                                     capture_output=True, text=True, check=True).stdout.splitlines()[-1])
    assert late == [False, {"intra_op": 0, "inter_op": 0}]


def test_every_command_runs_tensorflow_on_one_inter_op_thread(tmp_path):
    """harness.cli.main: after any command (here `harness eval` of a missing run, which fails at once), the
    TensorFlow of that process runs one inter-op thread (its pool's threads are named tf_Compute), as a run
    does."""
    code = ("import os, sys; {call}import tensorflow as tf; tf.matmul(tf.ones((64, 64)), tf.ones((64, 64))); "
            "print(sum(open(f'/proc/self/task/{{t}}/comm').read().strip() == 'tf_Compute' "
            "for t in os.listdir('/proc/self/task')))")
    env = {k: v for k, v in os.environ.items() if k != "TF_NUM_INTEROP_THREADS"}

    def pool(call: str) -> int:
        return int(subprocess.run([sys.executable, "-c", code.format(call=call)], capture_output=True, text=True,
                                  env=env, check=True).stdout.splitlines()[-1])

    default = pool("")
    if default == 1:
        pytest.skip("TensorFlow's default here is one inter-op thread already (one usable core)")
    missing = str(tmp_path / "no-such-run")
    assert pool(f"from harness.cli import main; assert main(['eval', {missing!r}]) == 2; ") == 1
