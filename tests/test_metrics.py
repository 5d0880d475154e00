"""The metric registry's contract, checked for every registered metric (like the variant contract test).

Per-class metrics run through the evaluator's own row builder on small fixed
feature sets: generated features drawn from the real class's distribution
("related") must score better than features from another distribution
("unrelated"), in the direction each output declares; the same inputs give
the same rows; and every row carries its N and its settings.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from harness import config
from harness.data import eurosat
from harness.evaluate import metrics
from harness.evaluate.evaluator import per_class_rows
from harness.evaluate.metrics import features, spaces
from harness.rows import METRIC_COLUMNS
from harness.runs import runner

N, DIM = 60, 16
REGISTERED = metrics.registered()
PER_CLASS = [m for m in REGISTERED.values() if m.per_class]


class FixedBank(features.Memo):
    """Fixed features per class in every space: real class c is a Gaussian centred at c; generated images are
    either another draw from it (related) or from a far-away, narrower Gaussian (unrelated)."""

    def __init__(self, related: bool, seed: int = 0):
        super().__init__()
        rng = np.random.default_rng(seed)
        self._real, self._fake = {}, {}
        for c in range(eurosat.NUM_CLASSES):
            centre = np.zeros(DIM)
            centre[c % DIM] = 3.0
            self._real[c] = rng.normal(centre, 1.0, (N, DIM))
            self._fake[c] = (rng.normal(centre, 1.0, (N, DIM)) if related
                             else rng.normal(centre + 6.0, 0.3, (N, DIM)))
        self.related = related

    def real(self, space, cls):
        return np.full(N, cls) if space == "domain_labels" else self._real[cls]

    def fake(self, space, cls):
        if space == "domain_labels":  # the classifier's verdict: right for related images, another class if not
            return np.full(N, cls) if self.related else np.full(N, (cls + 1) % eurosat.NUM_CLASSES)
        return self._fake[cls]

    def pooled(self, space, *, real=True):
        classes = range(eurosat.NUM_CLASSES)
        return (np.concatenate([self.real(space, c) for c in classes]) if real else None,
                np.concatenate([self.fake(space, c) for c in classes]))


def _cfg():
    cfg = config.RunConfig()
    cfg.eval.n = N
    return cfg


def _means(rows) -> dict[str, float]:
    return {r["metric"]: r["value"] for r in rows if r["class"] == "mean"}


@pytest.mark.parametrize("metric", PER_CLASS, ids=lambda m: m.name)
def test_per_class_metric_contract(metric):
    cfg = _cfg()
    related = per_class_rows(metric, FixedBank(True), cfg, epoch=1)
    again = per_class_rows(metric, FixedBank(True), cfg, epoch=1)
    assert pd.DataFrame(related).equals(pd.DataFrame(again))  # deterministic (NaN equals NaN here)
    unrelated = per_class_rows(metric, FixedBank(False), cfg, epoch=1)
    for output in metric.outputs:
        classes = {r["class"] for r in related if r["metric"] == output.name}
        assert set(eurosat.CLASSES) <= classes, output.name
        if output.better and output.name in _means(related):
            good, bad = _means(related)[output.name], _means(unrelated)[output.name]
            assert (good > bad) if output.higher_is_better else (good < bad), (output.name, good, bad)
    for r in related:
        assert set(r) == set(METRIC_COLUMNS) - {"run", "variant", "seed"}
        assert r["n_fake"] in (N, N * eurosat.NUM_CLASSES)
        if metric.needs_real and r["class"] != "mean":
            assert r["n_real"] in (N, N * eurosat.NUM_CLASSES)
        assert r["settings"].startswith(metric.settings_text(cfg))
    assert ("all" in {r["class"] for r in related}) == metric.pooled


@pytest.mark.parametrize("metric", list(REGISTERED.values()), ids=lambda m: m.name)
def test_every_metric_declares_what_the_harness_needs(metric):
    assert metric.space in spaces.names()
    assert metric.outputs and metric.doc, metric.name
    assert all(o.better in ("lower", "higher", "") and o.digits >= 0 for o in metric.outputs)
    assert all(key.startswith("eval.") for key in metric.settings)
    for key in metric.settings:
        assert hasattr(config.RunConfig().eval, key.split(".", 1)[1]), key


def test_outputs_and_groups_are_unambiguous():
    names = [o.name for m in REGISTERED.values() for o in m.outputs]
    assert len(names) == len(set(names))  # one row metric, one owner
    for group, members in metrics.groups().items():
        assert group not in REGISTERED and all(m in REGISTERED for m in members)
    assert metrics.expand("fid,prdc,fid") == ["fid", "precision", "recall", "density", "coverage"]
    assert metrics.unknown(["fid", "fid_curve", "nope"]) == ["fid_curve", "nope"]  # the curve is only implied


def test_a_new_metric_is_one_registration(monkeypatch):
    """Registering a metric is all it takes for validation, the evaluator's rows and the report's outputs."""
    from harness.evaluate.metrics import Output, register

    monkeypatch.setattr(metrics, "_REGISTRY", dict(metrics._REGISTRY))

    @register("mean_distance", space="inception", outputs=[Output("mean_distance", "lower", 3, "toy")])
    def mean_distance(real, fake, **_):
        """Distance between feature means (a toy metric)."""
        return {"mean_distance": float(np.linalg.norm(real.mean(0) - fake.mean(0)))}

    cfg = runner.validate(config.apply(config.RunConfig(), {"eval.metrics": "fid,mean_distance"}))
    assert metrics.expand(cfg.eval.metrics) == ["fid", "mean_distance"]
    rows = per_class_rows(metrics.get("mean_distance"), FixedBank(True), _cfg(), epoch=3)
    assert len(rows) == eurosat.NUM_CLASSES + 2  # per class, mean, pooled
    assert "mean_distance" in metrics.outputs()
    with pytest.raises(ValueError, match="registered twice"):
        register("mean_distance", space="inception", outputs=["x"])(mean_distance)


def test_a_new_feature_space_is_one_registration(monkeypatch):
    """A registered extractor is all a metric needs to read a new space; the evaluator extracts the generated
    images' features through it and keeps the real ones across epochs. An unknown space fails at registration."""
    from harness.evaluate.evaluator import Evaluator
    from harness.evaluate.metrics import Output, register

    monkeypatch.setattr(spaces, "_SPACES", dict(spaces._SPACES))
    monkeypatch.setattr(metrics, "_REGISTRY", dict(metrics._REGISTRY))
    calls = []

    @spaces.register_space("channel_means")
    def channel_means(ev, pixels):
        """Mean of each colour channel (a toy space)."""
        calls.append(len(pixels))
        return pixels.reshape(len(pixels), -1, 3).mean(1)

    @register("mean_colour_gap", space="channel_means", outputs=[Output("mean_colour_gap", "lower", 3, "toy")])
    def mean_colour_gap(real, fake, **_):
        """Distance between mean colours (a toy metric)."""
        return {"mean_colour_gap": float(np.linalg.norm(real.mean(0) - fake.mean(0)))}

    rng = np.random.default_rng(0)
    ds = type("DS", (), {"images": rng.integers(0, 256, (200, 64, 64, 3), dtype=np.uint8),
                         "labels": np.repeat(np.arange(10), 20)})()
    ev = Evaluator.__new__(Evaluator)  # only what these two methods read
    ev.ds, ev._real = ds, {}
    ev.real_indices = lambda cls: np.flatnonzero(ds.labels == cls)
    assert ev.extract("channel_means", ds.images[:3]).shape == (3, 3)
    first = ev.real_in("channel_means", 4)
    assert ev.real_in("channel_means", 4) is first and calls == [3, 20]  # extracted once, then kept
    np.testing.assert_allclose(first, ds.images[80:100].reshape(20, -1, 3).mean(1))
    assert spaces.get("channel_means").doc.startswith("Mean of each colour channel")
    with pytest.raises(ValueError, match="unknown feature space 'nowhere'"):
        register("lost", space="nowhere", outputs=["lost"])(mean_colour_gap)
    assert "lost" not in metrics._REGISTRY


def test_eval_k_is_validated_and_recorded():
    with pytest.raises(Exception, match="eval.k"):
        config.validate(config.apply(config.RunConfig(), {"eval.k": "0"}))
    with pytest.raises(Exception, match="eval.n"):
        runner.validate(config.apply(config.RunConfig(), {"eval.metrics": "precision", "eval.n": "5"}))
    cfg = _cfg()
    cfg.eval.k = 3
    rows = per_class_rows(metrics.get("recall"), FixedBank(True), cfg, epoch=1)
    assert {r["settings"] for r in rows} == {"k=3"}


def test_mode_collapse_through_the_registry():
    """All fakes in one tight cluster at a real point: precision high, recall and coverage near 0 (torch-fidelity
    #58 swapped precision and recall; this would catch it here too)."""

    class Collapsed(FixedBank):
        def fake(self, space, cls):
            return self._real[cls][:1] + np.random.default_rng(cls).normal(0, 1e-3, (N, DIM))

    cfg = _cfg()
    values = {name: _means(per_class_rows(metrics.get(name), Collapsed(True), cfg, 1))[name]
              for name in ("precision", "recall", "coverage")}
    assert values["precision"] > 0.9 and values["recall"] < 0.1 and values["coverage"] < 0.1, values
    terms = _means(per_class_rows(metrics.get("fid_terms"), Collapsed(True), cfg, 1))
    # variety lost: the generated features hardly vary, and the covariance term is all the real variance (tr S ~ DIM)
    assert terms["fid_spread"] < 0.01 and terms["fid_cov_term"] == pytest.approx(DIM, rel=0.2), terms
