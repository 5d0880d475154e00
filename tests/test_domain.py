"""The reference classifier and the EuroSAT domain metrics, on real EuroSAT.

The metrics are checked against generators whose answer is known: one that
copies training images (must be flagged as memorising, with label fidelity
equal to the classifier's accuracy on those images) and one that returns
held-out real images (must not be flagged).
"""

from __future__ import annotations

import numpy as np
import pytest

from harness.data import dataset, eurosat
from harness.evaluate import classifier, metrics
from harness.evaluate.evaluator import Evaluator
from harness.evaluate.metrics.memorisation import nearest
from harness.report import tables
from harness.runs import runner
from harness.runs.rundir import RunDir

pytestmark = [pytest.mark.eurosat]
TINY = classifier.Recipe(width=8, epochs=0, min_steps=120, batch_size=64)


@pytest.fixture(scope="module")
def ds(eurosat_path):
    return dataset.load(eurosat_path)


@pytest.fixture(scope="module")
def tiny_reference(ds, session_cache):
    """A small reference classifier (a minute of training), cached in the tests' session cache."""
    mp = pytest.MonkeyPatch()
    mp.setenv("HARNESS_CACHE", str(session_cache))
    try:
        yield classifier.reference(ds, TINY)
    finally:
        mp.undo()


class ImageBank:
    """A stand-in generator that returns given real images of the requested class, ignoring the noise."""

    def __init__(self, ds, pool: np.ndarray):
        self.by_class = {c: ds.images[pool[ds.labels[pool] == c]] for c in range(eurosat.NUM_CLASSES)}
        self.taken = {c: 0 for c in self.by_class}

    def __call__(self, inputs, training=False):
        noise, labels = inputs
        cls = int(np.asarray(labels)[0])
        bank = self.by_class[cls]
        idx = np.arange(len(labels)) % len(bank)
        return bank[idx].astype(np.float32) / 127.5 - 1.0


def _metrics(ds, reference, tmp_path, **eval_overrides):
    overrides = {"eval.n": "40", "eval.metrics": "domain", **{f"eval.{k}": str(v) for k, v in eval_overrides.items()}}
    cfg = runner.resolve("paper_dcgan", profile="smoke", overrides=overrides)
    ev = Evaluator(cfg, ds, out_dir=tmp_path, reference=reference)
    return cfg, ev


def test_tiny_classifier_learns_and_is_cached(ds, tiny_reference, monkeypatch):
    test = tiny_reference.info["test"]
    assert test["accuracy"] > 0.35, test  # chance is 0.10; 120 steps of a width-8 net
    assert np.array(test["confusion"]).sum() == test["n"] == len(dataset.split_indices(ds.labels, "test", seed=0))
    assert set(test["per_class"]) == set(eurosat.CLASSES)
    # The second request is served from the cache: no training.
    monkeypatch.setattr(classifier, "train", lambda *a, **k: pytest.fail("retrained a cached classifier"))
    again = classifier.reference(ds, TINY)
    probe = ds.images[:50]
    np.testing.assert_array_equal(again.predict(probe), tiny_reference.predict(probe))
    # Another seed or recipe is another cache entry.
    assert classifier.cached_reference(ds, TINY, seed=1) is None
    assert classifier.cached_reference(ds, classifier.Recipe(width=8, epochs=0, min_steps=121)) is None


def test_dihedral_keeps_pixels_and_is_deterministic(ds):
    x = ds.images[:64]
    a = classifier.dihedral(x, np.random.default_rng(0))
    b = classifier.dihedral(x, np.random.default_rng(0))
    np.testing.assert_array_equal(a, b)
    for before, after in zip(x, a):
        assert sorted(before.reshape(-1, 3).tolist()) == sorted(after.reshape(-1, 3).tolist())
    assert not np.array_equal(a, x)


def test_nearest_matches_brute_force():
    rng = np.random.default_rng(0)
    q, p = rng.normal(size=(30, 5)), rng.normal(size=(5000, 5))
    d, j = nearest(q, p)
    brute = np.linalg.norm(q[:, None] - p[None], axis=2)
    np.testing.assert_array_equal(j, brute.argmin(1))
    np.testing.assert_allclose(d, brute.min(1), rtol=1e-6)
    d_self, j_self = nearest(p[:20], p[:20], exclude_self=True)
    assert (j_self != np.arange(20)).all() and (d_self > 0).all()


def test_a_copying_generator_is_flagged_and_a_fresh_one_is_not(ds, tiny_reference, tmp_path, caplog):
    cfg, ev = _metrics(ds, tiny_reference, tmp_path)
    train_idx = dataset.training_indices(ds, cfg.data)
    copier = ImageBank(ds, train_idx)
    with caplog.at_level("WARNING", logger="harness"):
        rows = ev.evaluate(copier, 1, ["fidelity", "domain_fid", "memorisation"])
    value = {(r["class"], r["metric"] + (":" + r["settings"] if r["settings"] else "")): r["value"] for r in rows}
    assert value[("mean", "nn_ratio")] < 0.05  # copies sit on top of their training images
    assert "possible memorisation" in caplog.text
    assert (tmp_path / "closest-pairs-epoch-0001.png").is_file()
    # Label fidelity of copied real images is the classifier's accuracy on exactly those images.
    forest = eurosat.CLASSES.index("Forest")
    shown = copier(([None] * 40, np.full(40, forest)))
    expected = np.mean(tiny_reference.predict(((shown + 1) * 127.5).round().astype(np.uint8)) == forest)
    assert value[("Forest", "label_fidelity")] == pytest.approx(expected)
    shares = [value[("Forest", f"predicted_as:predicted={c}")] for c in eurosat.CLASSES]
    assert sum(shares) == pytest.approx(1.0)
    for name in eurosat.CLASSES:
        assert value[(name, "domain_fid")] >= 0 and np.isfinite(value[(name, "domain_kid")])

    held_out = np.setdiff1d(dataset.split_indices(ds.labels, "test", seed=0), train_idx)
    caplog.clear()
    with caplog.at_level("WARNING", logger="harness"):
        fresh = ev.evaluate(ImageBank(ds, held_out), 1, ["memorisation"])
    ratio = {r["class"]: r["value"] for r in fresh if r["metric"] == "nn_ratio"}["mean"]
    assert 0.6 < ratio < 1.6 and "possible memorisation" not in caplog.text


@pytest.mark.slow
def test_cas_and_augmentation_gain_rows(ds, tiny_reference, tmp_path, monkeypatch):
    cfg, ev = _metrics(ds, tiny_reference, tmp_path, cas_steps=60, augment_k="5", augment_steps=40,
                       augment_synthetic=20, augment_seeds="0")
    train_idx = dataset.split_indices(ds.labels, "train", seed=0)
    copier = ImageBank(ds, train_idx)  # "generated" = real train images, so CAS must beat chance
    rows = ev.evaluate(copier, 1, ["cas", "augmentation"])
    value = {(r["settings"] if r["metric"] in tables.AUGMENTATION_COLUMNS else r["class"], r["metric"]): r
             for r in rows}
    assert value[("all", "cas")]["value"] > 0.2  # chance 0.1
    assert value[("all", "cas")]["n_fake"] == len(train_idx)  # the real train split's per-class counts
    assert value[("all", "real_accuracy")]["value"] == tiny_reference.info["test"]["accuracy"]
    assert value[("all", "cas")]["settings"] == "cas_steps=60"
    gain = value[("k=5", "augmentation_gain")]["value"]
    real_only = value[("k=5", "accuracy_real_only")]["value"]
    with_generated = value[("k=5", "accuracy_with_generated")]["value"]
    assert gain == pytest.approx(with_generated - real_only) and 0 <= real_only <= 1
    assert np.isnan(value[("k=5", "augmentation_gain_sd")]["value"])  # one seed: no spread to report

    # Another generator, the same settings: the real-only baseline comes from the cache (one training, with the
    # generated images), the same value; the gain is still paired with it.
    trained = []
    real_train = classifier.train
    monkeypatch.setattr(classifier, "train", lambda x, *a, **k: trained.append(len(x)) or real_train(x, *a, **k))
    held_out = ImageBank(ds, dataset.split_indices(ds.labels, "val", seed=0))
    again = {r["metric"]: r["value"] for r in ev.evaluate(held_out, 2, ["augmentation"])}
    assert trained == [5 * 10 + 20 * 10]
    assert again["accuracy_real_only"] == real_only
    assert again["augmentation_gain"] == pytest.approx(again["accuracy_with_generated"] - real_only)
    # Another k is another baseline: trained, not served from k=5's entry.
    trained.clear()
    cfg3, ev3 = _metrics(ds, tiny_reference, tmp_path, augment_k="3", augment_steps=40, augment_synthetic=20,
                         augment_seeds="0")
    ev3.evaluate(held_out, 2, ["augmentation"])
    assert trained == [3 * 10, 3 * 10 + 20 * 10]


def test_domain_metric_names_validate():
    assert metrics.expand("fid,domain") == ["fid", "fidelity", "domain_fid", "memorisation", "cas",
                                                 "augmentation"]
    with pytest.raises(Exception, match="eval.metrics"):
        runner.resolve("paper_dcgan", profile="smoke", overrides={"eval.metrics": "fidelty"})
    with pytest.raises(Exception, match="eval.augment_k"):
        runner.resolve("paper_dcgan", profile="smoke", overrides={"eval.augment_k": "0"})


@pytest.mark.slow
def test_a_run_records_its_reference_classifier_and_the_report_shows_the_domain_floor(
        ds, tiny_reference, eurosat_path, tmp_path, monkeypatch):
    """The training's domain rows name their classifier in config.json; the report then puts the real-vs-real
    domain FID on that classifier's features beside them, and says why not when it cannot know the classifier
    or the cache does not hold it (a floor on another classifier's features would be a wrong number)."""
    import importlib
    import json

    import pandas as pd

    from harness.evaluate.fid.floor import real_floor
    report_build = importlib.import_module("harness.report.build")  # the package exports a function of that name
    from harness.runs.rundir import RunDir

    monkeypatch.setattr(classifier, "reference", lambda *a, **k: tiny_reference)  # not the 14-minute recipe
    monkeypatch.setattr(report_build, "_floor", lambda res, data: ({}, None))  # Inception's floor: tested apart
    cfg = runner.resolve("paper_dcgan", profile="smoke",
                         overrides={"train.epochs": "1", "eval.domain_every": "1", "eval.n": "20"})
    rd = runner.run(cfg, data=eurosat_path, out=tmp_path / "results")
    record = rd.read_record()
    assert record["reference_classifier"] == {"key": tiny_reference.info["key"],
                                              "weights_digest": tiny_reference.info["weights_digest"],
                                              "test_accuracy": tiny_reference.info["test"]["accuracy"]}
    assert len(record["reference_classifier"]["weights_digest"]) == 16

    report = report_build.build(tmp_path / "results", data=eurosat_path, formats=("md",))
    table = pd.read_csv(report.out / "domain-fid-per-class.csv")
    floor_rows = table[table["group"] == "real vs real"]
    expected = real_floor(ds, "train", 0, 20, extractor=tiny_reference.features,
                          features={"space": "domain", "classifier": tiny_reference.info["key"]})
    assert len(floor_rows) == len(eurosat.CLASSES) + 1
    by_class = dict(zip(floor_rows["class"], floor_rows["mean"]))
    assert by_class == pytest.approx(expected)
    assert not any("domain FID" in note for note in report.notes)

    # A run that did not record its classifier (as before harness 0.4): no floor, and the notes say why.
    del record["reference_classifier"]
    RunDir(rd.path).write_record(record)
    report = report_build.build(tmp_path / "results", data=eurosat_path, formats=("md",))
    table = pd.read_csv(report.out / "domain-fid-per-class.csv")
    assert "real vs real" not in set(table["group"])
    assert any("did not record the reference classifier" in note and rd.run_id in note for note in report.notes)

    # Recorded, but the cache no longer holds that classifier: no floor either.
    record["reference_classifier"] = {"key": {**tiny_reference.info["key"], "seed": 7}, "test_accuracy": 0.5}
    RunDir(rd.path).write_record(record)
    report = report_build.build(tmp_path / "results", data=eurosat_path, formats=("md",))
    assert any("the cache does not hold the reference classifier" in note for note in report.notes)
    assert json.loads(rd.config_path.read_text())["reference_classifier"]["test_accuracy"] == 0.5  # untouched


def test_a_run_stopped_mid_way_has_already_recorded_its_classifier_and_keeps_it_on_resume(
        tiny_reference, eurosat_path, tmp_path, monkeypatch):
    """A run that spans sittings (the paper protocol's) is stopped after epochs with domain rows: its record names
    their classifier then, not only when the run ends, so the resume does not call those rows unrecorded."""
    monkeypatch.setattr(classifier, "reference", lambda *a, **k: tiny_reference)
    cfg = runner.resolve("paper_dcgan", profile="smoke",
                         overrides={"train.epochs": "2", "eval.domain_every": "1", "eval.n": "20",
                                    "eval.metrics": "fidelity"})

    def stop_after_epoch_1(epoch, step):
        if epoch == 1 and step == -1:  # epoch 1's end: its rows and checkpoint are written
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        runner.run(cfg, data=eurosat_path, out=tmp_path, on_step=stop_after_epoch_1)
    rd = RunDir(tmp_path / runner.default_run_id(cfg))
    recorded = {"key": tiny_reference.info["key"], "weights_digest": tiny_reference.info["weights_digest"],
                "test_accuracy": tiny_reference.info["test"]["accuracy"]}
    assert rd.status() == "failed: interrupted" and rd.read_record()["reference_classifier"] == recorded
    runner.run(cfg, data=eurosat_path, out=tmp_path, resume=True)
    assert rd.status() == "done" and rd.read_record()["reference_classifier"] == recorded


def test_a_resume_across_a_classifier_change_is_recorded_as_mixed():
    first = {"key": {"seed": 0}, "weights_digest": "aaaa", "test": {"accuracy": 0.9}}
    record = runner.with_classifier({"run_id": "r"}, first)
    assert record["reference_classifier"] == {"key": {"seed": 0}, "weights_digest": "aaaa", "test_accuracy": 0.9}
    assert runner.with_classifier(record, first) == record
    # The same recipe retrained elsewhere: its key holds, its weights are not the same classifier's.
    retrained = runner.with_classifier(record, {**first, "weights_digest": "bbbb"})["reference_classifier"]
    assert retrained["key"] == {"seed": 0} and retrained["weights_digest"] is None
    assert retrained["mixed_weights"] == "aaaa"
    mixed = runner.with_classifier(record, {"key": {"seed": 1}, "test": {"accuracy": 0.8}})
    assert mixed["reference_classifier"]["key"] is None and mixed["reference_classifier"]["mixed"]
    # Begun by a harness that did not record its classifier: the rows before the resume are unknown.
    unrecorded = {"run_id": "r", "reference_classifier": {"key": None, "unrecorded": True, "test_accuracy": None}}
    assert runner.with_classifier(unrecorded, first)["reference_classifier"]["key"] is None
