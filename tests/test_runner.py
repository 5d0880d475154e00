"""Training runs on real EuroSAT (smoke profile): records, determinism, resume, refusals."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from harness.errors import RunDiverged, RunError
from harness.runs import runner
from harness.runs.rundir import RunDir
from harness.train import checkpoint, objectives, trainer

pytestmark = [pytest.mark.slow, pytest.mark.eurosat]
EPOCHS = 3


def smoke(seed=0, **overrides):
    # `epochs` would win over an override of train.epochs, so an override is passed as the epochs.
    epochs = int(overrides.pop("train.epochs", EPOCHS))
    return runner.resolve("paper_dcgan", profile="smoke", seed=seed, epochs=epochs, overrides=overrides)


def arrays(path: Path) -> dict[str, np.ndarray]:
    with np.load(path) as data:
        return {k: data[k] for k in data.files}


def assert_same_state(a: RunDir, b: RunDir) -> None:
    x, y = arrays(a.last_checkpoint), arrays(b.last_checkpoint)
    assert x.keys() == y.keys()
    for key in x:
        np.testing.assert_array_equal(x[key], y[key], err_msg=key)
    # The sampling generator too (under train.g_ema_bn=recompute it is not in the training checkpoint).
    final = a.generator_snapshot(EPOCHS)
    x, y = arrays(final), arrays(b.generator_snapshot(EPOCHS))
    for key in x:
        np.testing.assert_array_equal(x[key], y[key], err_msg=f"{final.name}: {key}")
    cols = ["epoch", "step", "d_loss", "g_loss", "d_acc_real", "d_acc_fake"]
    pd.testing.assert_frame_equal(a.steps()[cols], b.steps()[cols])
    m_a, m_b = a.metrics(), b.metrics()
    keep = ~m_a["metric"].isin(["wall_time_s", "images_per_s"])
    pd.testing.assert_frame_equal(m_a[keep].drop(columns="run").reset_index(drop=True),
                                  m_b[~m_b["metric"].isin(["wall_time_s", "images_per_s"])]
                                  .drop(columns="run").reset_index(drop=True))


@pytest.fixture(scope="module")
def reference(eurosat_path, tmp_path_factory):
    from harness.phases import PhaseClock

    out = tmp_path_factory.mktemp("reference")
    clock = PhaseClock()
    rd = runner.run(smoke(), data=eurosat_path, out=out, run_id="ref", clock=clock)
    rd.phases = clock.seconds  # every phase the run timed, whatever its duration
    return rd


# Resume cases: the paper's model, and a run with a generator average (whose weights live in the checkpoint too)
# that samples with recomputed batch-norm statistics (which do not: they are recomputed after a resume).
RESUME_CASES = {"plain": {}, "ema": {"train.g_ema": "0.9", "train.g_ema_bn": "recompute"}}


@pytest.fixture(scope="module")
def ema_reference(eurosat_path, tmp_path_factory):
    out = tmp_path_factory.mktemp("reference-ema")
    return runner.run(smoke(**RESUME_CASES["ema"]), data=eurosat_path, out=out, run_id="ref-ema")


def uninterrupted(request, case: str) -> RunDir:
    return request.getfixturevalue("reference" if case == "plain" else "ema_reference")


def test_run_folder_is_complete(reference):
    rd = reference
    assert rd.status() == "done"
    record = json.loads(rd.config_path.read_text())
    assert record["config"]["variant"] == "paper_dcgan" and record["config"]["train.epochs"] == EPOCHS
    assert record["data"]["digest"] == "212d180ac5c78350aee9a28308dfe835ff62c2877f21befe4223ccc90d01b73f"
    assert record["data"]["per_class"] == [8] * 10
    assert {"tensorflow", "keras", "numpy", "python"} <= set(record["versions"])
    # The machine is named (float rounding, hence a run's numbers, differ between CPU families).
    assert record["machine"]["cpu"] and record["machine"]["cores"] >= 1
    assert set(record["machine"]["tf_threads"]) == {"intra_op", "inter_op"}
    assert record["machine"]["onednn_ops"] is True  # on every CPU (harness/__init__.py), recorded as run
    steps = rd.steps()
    assert len(steps) == EPOCHS * 5 and steps["step"].tolist() == list(range(1, 16))
    metrics = rd.metrics()
    assert set(metrics["metric"]) == {"g_loss", "d_loss", "d_acc_real", "d_acc_fake", "wall_time_s", "images_per_s"}
    assert sorted(metrics["epoch"].unique()) == [1, 2, 3]
    assert all((rd.sample_path(e)).is_file() for e in (1, 2, 3))
    assert rd.generator_path.is_file() and rd.generator_snapshot(EPOCHS).is_file()
    assert any(rd.tensorboard_dir.iterdir())
    assert "epoch 3/3" in rd.log_path.read_text()
    # The run's wall time by phase ends the log; the line leaves out phases under 0.05 s, so which epoch-end
    # phases it names depends on the machine's speed: those are checked on the clock itself.
    last = rd.log_path.read_text().splitlines()[-1]
    assert "wall time" in last and "training" in last, last
    assert {"start-up", "data", "model build", "checkpoints", "tables", "training (first epoch: tracing included)",
            "training", "batch-norm recompute", "sample grids", "export"} <= set(rd.phases), rd.phases


def test_an_epoch_where_the_discriminator_won_is_warned(caplog):
    """An epoch whose D is right on every real and generated image warns (the generator gets no gradient);
    an ordinary epoch does not."""
    from types import SimpleNamespace

    fake = SimpleNamespace(cfg=runner.resolve("paper_dcgan", profile="smoke"))
    summary = {"d_loss": 0.0, "g_loss": 15.0, "d_acc_real": 1.0, "d_acc_fake": 0.995, "images_per_s": 1.0,
               "wall_time_s": 1.0}
    with caplog.at_level("INFO", logger="harness"):
        trainer.Trainer._log_epoch(fake, 2, summary)
        trainer.Trainer._log_epoch(fake, 3, {**summary, "d_acc_fake": 0.98})
    warned = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(warned) == 1 and warned[0].startswith("epoch 2: the discriminator is right on >= 99%"), warned


def test_phase_clock_adds_up_each_phase_and_names_the_rest():
    from harness.phases import PhaseClock

    clock = PhaseClock()
    clock.started -= 10.0  # the run began 10 s ago
    clock.add("training", 6.0)
    with clock("tables"):
        pass
    clock.add("tables", 1.0)
    clock.add("noise", 0.01)
    line = clock.summary()
    assert line.startswith("wall time 10.0 s: training 6.0 s (60.0%), tables 1.0 s (10.0%), other 3.0 s"), line
    assert "noise" not in line
    # `harness run` counts the process's own start-up (Python, imports) as the first phase.
    assert PhaseClock.since_process_start().seconds["start-up"] > 0


def test_same_command_gives_identical_losses_and_weights(reference, eurosat_path, tmp_path):
    again = runner.run(smoke(), data=eurosat_path, out=tmp_path, run_id="again")
    assert_same_state(reference, again)


def test_another_seed_differs(reference, eurosat_path, tmp_path):
    other = runner.run(smoke(seed=1, **{"train.epochs": 1}), data=eurosat_path, out=tmp_path, run_id="s1")
    assert other.steps()["d_loss"].iloc[0] != reference.steps()["d_loss"].iloc[0]


def test_variants_share_data_order_and_eval_latents():
    assert np.array_equal(trainer.epoch_order(3, 2, 100), trainer.epoch_order(3, 2, 100))
    assert not np.array_equal(trainer.epoch_order(3, 2, 100), trainer.epoch_order(3, 3, 100))
    noise, labels = trainer.eval_latents(3, 128, 4)
    assert noise.shape == (40, 128) and labels.tolist() == sorted(labels.tolist())
    assert np.array_equal(noise, trainer.eval_latents(3, 128, 4)[0])


def test_crash_between_tables_and_checkpoint_resumes_exactly(reference, eurosat_path, tmp_path, monkeypatch):
    """Tables of epoch 2 are written, its checkpoint is not: resume must redo epoch 2 exactly."""
    real_save = checkpoint.save

    def failing_save(path, groups, **counters):
        if path.name == "last.npz" and counters.get("epoch") == 2:
            raise KeyboardInterrupt("simulated crash")
        return real_save(path, groups, **counters)

    monkeypatch.setattr(checkpoint, "save", failing_save)
    with pytest.raises(KeyboardInterrupt):
        runner.run(smoke(), data=eurosat_path, out=tmp_path, run_id="crash")
    rd = RunDir(tmp_path / "crash")
    assert rd.status() == "failed: interrupted"
    assert rd.steps()["epoch"].max() == 2  # written before the crash, to be truncated
    monkeypatch.setattr(checkpoint, "save", real_save)
    runner.run(smoke(), data=eurosat_path, out=tmp_path, run_id="crash", resume=True)
    assert rd.status() == "done"
    assert_same_state(reference, rd)


@pytest.mark.parametrize("case", RESUME_CASES)
def test_crash_mid_epoch_resumes_exactly(case, request, eurosat_path, tmp_path):
    def crash(epoch, step):
        if (epoch, step) == (3, 12):
            raise KeyboardInterrupt

    cfg = smoke(**RESUME_CASES[case])
    with pytest.raises(KeyboardInterrupt):
        runner.run(cfg, data=eurosat_path, out=tmp_path, run_id="mid", on_step=crash)
    rd = runner.run(smoke(**RESUME_CASES[case]), data=eurosat_path, out=tmp_path, run_id="mid", resume=True)
    assert_same_state(uninterrupted(request, case), rd)


def _harness(*args, env=None):
    return [sys.executable, "-m", "harness", *args]


@pytest.mark.parametrize("case", RESUME_CASES)
def test_sigkill_then_resume_matches_uninterrupted(case, request, eurosat_path, tmp_path):
    env = {**os.environ, "HARNESS_EUROSAT": str(eurosat_path)}
    cmd = _harness("run", "--variant", "paper_dcgan", "--profile", "smoke", "--epochs", str(EPOCHS),
                   "--out", str(tmp_path), "--run-id", "killed", "--no-progress",
                   *[arg for key, value in RESUME_CASES[case].items() for arg in ("--set", f"{key}={value}")])
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    rd = RunDir(tmp_path / "killed")
    deadline = time.time() + 120
    while not rd.last_checkpoint.is_file() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    assert proc.poll() is None, "run finished before it could be killed: " + proc.stderr.read().decode()[-500:]
    time.sleep(0.3)  # somewhere inside epoch 2
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert rd.status() == "running"  # a SIGKILL leaves no chance to record anything
    done = subprocess.run(cmd + ["--resume"], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    assert rd.status() == "done"
    assert_same_state(uninterrupted(request, case), rd)


def test_resume_with_changed_configuration_is_refused(reference, eurosat_path, tmp_path):
    runner.run(smoke(**{"train.epochs": 1}), data=eurosat_path, out=tmp_path, run_id="r")
    with pytest.raises(RunError) as info:
        runner.run(smoke(**{"train.lr_d": "4e-4", "model.g.kernel_size": "4"}), data=eurosat_path, out=tmp_path,
                   run_id="r", resume=True)
    message = str(info.value)
    assert "cannot resume with a different configuration" in message
    assert "train.lr_d: 0.0002 -> 0.0004" in message and "model.g.kernel_size: 5 -> 4" in message


def test_resume_may_extend_epochs(eurosat_path, tmp_path, reference):
    runner.run(smoke(**{"train.epochs": 2}), data=eurosat_path, out=tmp_path, run_id="ext")
    rd = runner.run(smoke(), data=eurosat_path, out=tmp_path, run_id="ext", resume=True)
    assert rd.status() == "done" and rd.steps()["epoch"].max() == EPOCHS
    # Each start and resume is a sitting: where the run trained from which epoch on.
    first, second = rd.read_record()["sittings"]
    assert (first["from_epoch"], second["from_epoch"]) == (0, 2)
    assert first["machine"]["cpu"] and second["machine"] == first["machine"] and second["versions"]["tensorflow"]
    # Extending training is the same training: the weights match the 3-epoch run.
    np.testing.assert_array_equal(arrays(rd.last_checkpoint)["g/0000"], arrays(reference.last_checkpoint)["g/0000"])


def test_a_run_names_every_machine_that_trained_it():
    from harness.runs.rundir import machines, recorded_sittings

    ice, epyc = {"cpu": "Intel Xeon (Ice Lake)"}, {"cpu": "AMD EPYC (family 25, model 17)"}
    new = {"resumed": "t2", "machine": epyc, "versions": {}, "devices": []}
    old = {"created": "t0", "sittings": [runner.sitting({"machine": ice, "versions": {}, "devices": []}, "t0", 0)]}
    both = recorded_sittings(old) + [runner.sitting(new, "t2", 7)]
    assert machines({"machine": epyc, "sittings": both}) == "Intel Xeon (Ice Lake) + AMD EPYC (family 25, model 17)"
    # A run from before sittings were recorded: its latest machine is kept; if it had been resumed, the machines
    # of its earlier sittings are unknown, and the report says so instead of naming one machine for all.
    legacy = {"created": "t0", "resumed": "t1", "machine": ice, "versions": {}, "devices": []}
    kept = recorded_sittings(legacy)
    assert kept == [{"started": "t1", "from_epoch": None, "machine": ice, "devices": [], "versions": {},
                     "code": None, "earlier_unrecorded": True}]
    assert machines({"sittings": kept + [runner.sitting(new, "t2", 7)]}) == \
        "earlier not recorded + Intel Xeon (Ice Lake) + AMD EPYC (family 25, model 17)"
    assert machines(legacy) == "earlier not recorded + Intel Xeon (Ice Lake)"
    assert recorded_sittings({"created": "t0", "machine": ice})[0]["from_epoch"] == 0
    assert machines({"machine": ice}) == "Intel Xeon (Ice Lake)" and machines({}) == "not recorded"


def test_a_resume_never_shortens_a_run(reference, eurosat_path, tmp_path):
    """A run that has trained more epochs than asked is left as it is, not rewritten to say fewer epochs than its
    tables hold (a 30-epoch sweep over cells extended to 60)."""
    import shutil

    shutil.copytree(reference.path, tmp_path / "ref")
    rd = runner.run(smoke(**{"train.epochs": 2}), data=eurosat_path, out=tmp_path, run_id="ref", resume=True)
    assert not rd.trained and rd.read_record()["config"]["train.epochs"] == EPOCHS and rd.status() == "done"
    assert rd.read_record() == reference.read_record() and rd.steps()["epoch"].max() == EPOCHS


def test_existing_run_is_not_overwritten(reference, eurosat_path):
    before = reference.config_path.read_bytes()
    with pytest.raises(RunError, match="run exists \\(status: done\\); pass --resume"):
        runner.run(smoke(), data=eurosat_path, out=reference.path.parent, run_id="ref")
    assert reference.config_path.read_bytes() == before


@pytest.mark.parametrize("table", ["steps.csv", "metrics.csv"])
def test_resume_refuses_a_damaged_table_and_touches_nothing(table, reference, eurosat_path, tmp_path):
    """A resumed run reads its tables to go on writing them: a cut one is refused before anything is written."""
    import shutil

    from fake_runs import cut_mid_line

    from harness.errors import DamagedTable

    shutil.copytree(reference.path, tmp_path / "cut")
    rd = RunDir(tmp_path / "cut")
    cut_mid_line(rd.path / table)
    rd.set_status("running")  # as a killed run leaves it
    before = {p: p.read_bytes() for p in rd.path.rglob("*") if p.is_file()}
    with pytest.raises(DamagedTable, match=f"{rd.path / table}: damaged table: line \\d+ is cut off"):
        runner.run(smoke(), data=eurosat_path, out=tmp_path, run_id="cut", resume=True)
    assert {p: p.read_bytes() for p in rd.path.rglob("*") if p.is_file()} == before


@contextlib.contextmanager
def lock_held_elsewhere(lock_path: Path):
    """Another process holds `lock_path` (writing pid 4242 into it) until the block ends."""
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time, fcntl\n"
        "h = open(sys.argv[1], 'a+'); fcntl.flock(h, fcntl.LOCK_EX); h.write('4242'); h.flush()\n"
        "print('held', flush=True); time.sleep(60)\n"), str(lock_path)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        yield
    finally:
        holder.kill()
        holder.wait()


def test_second_process_on_a_locked_run_is_refused(eurosat_path, tmp_path):
    from harness import atomicio

    rd = RunDir(tmp_path / "locked")
    rd.path.mkdir()
    with lock_held_elsewhere(rd.lock_path):
        with pytest.raises(RunError, match="another process \\(pid 4242\\) is working on this run"):
            runner.run(smoke(), data=eurosat_path, out=tmp_path, run_id="locked")
        with pytest.raises(atomicio.LockHeld):
            with atomicio.exclusive_lock(rd.lock_path):
                pass


def test_a_run_another_process_is_starting_is_busy_not_foreign(eurosat_path, tmp_path):
    """Two sweeps racing for one cell: the first holds the run lock and has written only a temporary of its record.
    The second must meet the lock (RunLocked, which a sweep reports as "busy"), not call the folder someone
    else's; a killed starter's leftovers do not stop a later run; a folder or file of someone else's does."""
    from harness.errors import RunLocked

    rd = RunDir(tmp_path / "starting")
    rd.path.mkdir()
    (rd.path / ".config.json.k3x9a1.tmp").write_text('{"run_')  # a record being written
    with lock_held_elsewhere(rd.lock_path):
        with pytest.raises(RunLocked, match="another process \\(pid 4242\\) is working on this run"):
            runner.run(smoke(), data=eurosat_path, out=tmp_path, run_id="starting", resume=True)
    assert runner.run(smoke(**{"train.epochs": 1}), data=eurosat_path, out=tmp_path, run_id="starting").exists()

    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("mine")
    with pytest.raises(RunError, match="mine: exists and is not a run folder \\(it holds notes.txt\\)"):
        runner.run(smoke(), data=eurosat_path, out=tmp_path, run_id="mine")
    assert sorted(p.name for p in mine.iterdir()) == ["notes.txt"]
    (tmp_path / "afile").write_text("mine")
    with pytest.raises(RunError, match="afile: exists and is a file, not a run folder"):
        runner.run(smoke(), data=eurosat_path, out=tmp_path, run_id="afile")


@pytest.mark.parametrize("steps_per_call", ["1", "4"])
def test_non_finite_loss_marks_the_run_diverged(steps_per_call, eurosat_path, tmp_path, monkeypatch):
    """Also inside a multi-step call (train.steps_per_execution): the run stops at the exact step."""
    import tensorflow as tf

    bce = type(objectives.get("bce"))
    real_loss = bce.d_loss

    def exploding(self, real, fake):
        return real_loss(self, real, fake) * tf.constant(float("nan"))

    monkeypatch.setattr(bce, "d_loss", exploding)
    with pytest.raises(RunDiverged, match="non-finite loss at epoch 1, step 1"):
        runner.run(smoke(**{"train.steps_per_execution": steps_per_call}), data=eurosat_path, out=tmp_path,
                   run_id="nan")
    rd = RunDir(tmp_path / "nan")
    assert rd.status() == "diverged at epoch 1"
    assert rd.exists() and len(rd.steps()) == 1  # what was seen is kept


def _crash_in_epoch_3(tmp_path, eurosat_path, run_id: str) -> RunDir:
    def crash(epoch, step):
        if (epoch, step) == (3, 12):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        runner.run(smoke(), data=eurosat_path, out=tmp_path, run_id=run_id, on_step=crash)
    rd = RunDir(tmp_path / run_id)
    assert rd.last_checkpoint.is_file() and rd.previous_checkpoint.is_file()  # epochs 2 and 1
    return rd


def test_corrupt_newest_checkpoint_resumes_from_the_previous_one_exactly(reference, eurosat_path, tmp_path,
                                                                         caplog):
    rd = _crash_in_epoch_3(tmp_path, eurosat_path, "corrupt")
    data = rd.last_checkpoint.read_bytes()
    rd.last_checkpoint.write_bytes(data[: len(data) // 2])  # truncated, as by a full disk
    with caplog.at_level("WARNING", logger="harness"):
        runner.run(smoke(), data=eurosat_path, out=tmp_path, run_id="corrupt", resume=True)
    assert "last.npz: not a readable harness checkpoint" in caplog.text
    assert "trying the checkpoint before it" in caplog.text
    assert rd.status() == "done"
    assert_same_state(reference, rd)


def test_no_usable_checkpoint_is_one_error_and_nothing_is_lost(eurosat_path, tmp_path):
    rd = _crash_in_epoch_3(tmp_path, eurosat_path, "broken")
    for path in rd.checkpoints:
        path.write_bytes(b"not a zip")
    steps_before = rd.steps_path.read_bytes()
    with pytest.raises(RunError, match=r"no usable checkpoint: .*last.npz: not a readable harness checkpoint.*"
                                       r"previous.npz: not a readable harness checkpoint.*Move .*checkpoints away "
                                       r"to start the run over"):
        runner.run(smoke(), data=eurosat_path, out=tmp_path, run_id="broken", resume=True)
    assert rd.steps_path.read_bytes() == steps_before  # the tables were not truncated
    assert all(p.read_bytes() == b"not a zip" for p in rd.checkpoints)


def test_checkpoint_with_wrong_shapes_leaves_the_model_untouched(tmp_path):
    import tensorflow as tf

    a, b = tf.Variable(np.zeros(3, np.float32)), tf.Variable(np.zeros((2, 2), np.float32))
    checkpoint.save(tmp_path / "c.npz", {"g": [tf.Variable(np.ones(3, np.float32)), tf.Variable(np.ones(5))]},
                    epoch=1, step=1)
    with pytest.raises(RunError, match=r"c.npz: g/0001 has shape \(5,\), expected \(2, 2\)"):
        checkpoint.load(tmp_path / "c.npz", {"g": [a, b]})
    assert not a.numpy().any() and not b.numpy().any()  # nothing was assigned before the check failed


@pytest.mark.parametrize("case", RESUME_CASES)
def test_several_steps_per_call_are_deterministic_and_the_same_computation(case, request, eurosat_path, tmp_path):
    """train.steps_per_execution = K runs K steps in one compiled call (5 steps an epoch here, so K = 2 also ends
    each epoch on a shorter chunk). Inside a loop TensorFlow fuses kernels differently, so the numbers equal one
    step per call only up to float rounding (measured: 6e-7 relative at step 1), which GAN training amplifies
    like any rounding (see test_devices): K is part of the run's configuration, and the same K gives the same
    run exactly."""
    cfg = smoke(**RESUME_CASES[case], **{"train.steps_per_execution": "2"})
    first = runner.run(cfg, data=eurosat_path, out=tmp_path, run_id="chunked")
    second = runner.run(cfg, data=eurosat_path, out=tmp_path, run_id="chunked-again")
    assert_same_state(first, second)
    single, chunked = uninterrupted(request, case).steps(), first.steps()
    np.testing.assert_allclose(chunked.loc[0, ["d_loss", "g_loss"]], single.loc[0, ["d_loss", "g_loss"]], rtol=1e-5)
    assert (chunked.loc[0, ["d_acc_real", "d_acc_fake"]] == single.loc[0, ["d_acc_real", "d_acc_fake"]]).all()
    np.testing.assert_allclose(chunked.loc[:4, ["d_loss", "g_loss"]], single.loc[:4, ["d_loss", "g_loss"]],
                               rtol=2e-3)


def test_the_epoch_pipeline_does_not_autotune():
    """tf.data's autotune thread held most epochs' ends until its next wake-up (docs: Performance): now off."""
    import numpy as np
    import tensorflow as tf

    from harness.train.trainer import epoch_pipeline

    images = tf.constant(np.arange(6 * 2 * 2 * 3, dtype=np.uint8).reshape(6, 2, 2, 3))
    labels = tf.constant(np.arange(6, dtype=np.int32))
    pipeline = epoch_pipeline(np.array([5, 0, 3, 1, 4, 2]), images, labels, batch=2)
    assert pipeline.options().autotune.enabled is False
    batches = list(pipeline)
    assert [b[1].numpy().tolist() for b in batches] == [[5, 0], [3, 1], [4, 2]]
    np.testing.assert_allclose(batches[0][0].numpy()[0], images.numpy()[5] / 127.5 - 1.0, rtol=1e-6)


def test_a_run_that_failed_before_its_first_epoch_can_be_started_again_corrected(eurosat_path, tmp_path):
    """Nothing was trained with the failed settings, so the folder must not block a corrected start."""
    with pytest.raises(Exception) as first:
        runner.run(smoke(**{"train.batch_size": "1000"}), data=eurosat_path, out=tmp_path, run_id="r")
    rd = RunDir(tmp_path / "r")
    assert rd.status().startswith("failed") and rd.finished_epoch() is None, first.value
    with pytest.raises(RunError, match="failed before its first epoch .* pass --resume to start it again"):
        runner.run(smoke(), data=eurosat_path, out=tmp_path, run_id="r")
    done = runner.run(smoke(), data=eurosat_path, out=tmp_path, run_id="r", resume=True)
    record = done.read_record()
    assert done.status() == "done" and record["config"]["train.batch_size"] == 16
    assert record["failed_start"]["config_changes"] == ["train.batch_size: 1000 -> 16"]
    assert [s["from_epoch"] for s in record["sittings"]] == [0]
