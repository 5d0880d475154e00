"""Per-class FID/KID of a run: fixed latents, cached real statistics, tidy rows, `harness eval` and `harness fid`."""

from __future__ import annotations

import json

import numpy as np
import pytest

from harness.data import dataset, eurosat
from harness.evaluate.evaluator import EUROSAT_JPEG_QUALITY, Evaluator, fixed_latents, jpeg_roundtrip
from harness.evaluate.fid import real_cache
from harness.runs import runner

pytestmark = [pytest.mark.slow, pytest.mark.eurosat]
N = 4


def small_eval(**extra):
    overrides = {"eval.metrics": "fid,kid", "eval.n": str(N), **extra}
    return runner.resolve("paper_dcgan", profile="smoke", epochs=1, overrides=overrides)


@pytest.fixture(scope="module")
def run_with_eval(eurosat_path, inception, tmp_path_factory):
    """A smoke run whose final epoch is evaluated with the real Inception (N per class)."""
    from harness.evaluate import evaluator as evaluate

    original = evaluate.Evaluator.__init__

    def shared_extractor(self, cfg, ds, extractor=None, **kwargs):
        original(self, cfg, ds, extractor=inception, **kwargs)

    mp = pytest.MonkeyPatch()
    mp.setattr(evaluate.Evaluator, "__init__", shared_extractor)  # reuse the session's network: same weights
    try:
        yield runner.run(small_eval(), data=eurosat_path, out=tmp_path_factory.mktemp("ev"), run_id="ev")
    finally:
        mp.undo()


def test_run_writes_tidy_per_class_rows(run_with_eval):
    m = run_with_eval.metrics()
    fid = m[m["metric"] == "fid"]
    assert set(fid["class"]) == set(eurosat.CLASSES) | {"mean", "all"}
    assert (fid["epoch"] == 1).all() and (fid["value"] > 0).all()
    per_class = fid[fid["class"].isin(eurosat.CLASSES)]
    assert (per_class["n_real"] == N).all() and (per_class["n_fake"] == N).all()
    assert fid[fid["class"] == "mean"]["value"].iloc[0] == pytest.approx(per_class["value"].mean())
    assert fid[fid["class"] == "all"]["n_real"].iloc[0] == 10 * N
    assert {"kid", "kid_std"} <= set(m["metric"])


def test_real_statistics_are_cached_and_keyed(eurosat_path, inception):
    ds = dataset.load(eurosat_path)
    ev = Evaluator(small_eval(), ds, extractor=inception)
    key = ev.real_key(3)
    assert {"digest", "split", "split_seed", "class", "n", "sampling_seed", "weights", "resize",
            "metric_version"} <= set(key)
    first = ev.real_features(3)
    cached = real_cache.load(key)
    np.testing.assert_array_equal(cached, first)
    # Any factor changed is another entry, never the cached one.
    for factor, value in (("n", N + 1), ("sampling_seed", 7), ("digest", "0" * 64), ("split", "test")):
        assert real_cache.load({**key, factor: value}) is None
    # Same seed, same sample; another seed, another sample.
    assert np.array_equal(ev.real_indices(3), Evaluator(small_eval(), ds, extractor=inception).real_indices(3))
    other = Evaluator(runner.resolve("paper_dcgan", profile="smoke", seed=5, overrides={"eval.n": str(N)}), ds,
                      extractor=inception)
    assert not np.array_equal(ev.real_indices(3), other.real_indices(3))


def test_full_protocol_uses_every_real_image_of_the_class(eurosat_path):
    ds = dataset.load(eurosat_path)
    ev = Evaluator(small_eval(**{"eval.protocol": "full", "eval.reference": "test"}), ds, extractor=object())
    assert len(ev.real_indices(eurosat.CLASSES.index("Pasture"))) == 200  # 10% of 2000


def test_fixed_latents_do_not_depend_on_anything_but_seed_and_class():
    a = fixed_latents(0, 3, 10, 128)
    assert np.array_equal(a, fixed_latents(0, 3, 10, 128))
    assert np.array_equal(a[:5], fixed_latents(0, 3, 5, 128))  # a prefix: N can grow without reshuffling
    assert not np.array_equal(a, fixed_latents(0, 4, 10, 128))
    # eval.draw: 0 is the run's fixed set (unchanged by the option's existence); each k > 0 another set.
    assert np.array_equal(a, fixed_latents(0, 3, 10, 128, draw=0))
    other = [fixed_latents(0, 3, 10, 128, draw=d) for d in (1, 2)]
    assert not np.array_equal(a, other[0]) and not np.array_equal(other[0], other[1])


def test_jpeg_roundtrip_matches_eurosat_encoding(eurosat_path):
    import io
    import zipfile

    from PIL import Image

    with zipfile.ZipFile(eurosat_path) as zf:
        raw = zf.read(next(n for n in zf.namelist() if n.endswith("Forest_1.jpg")))
    original = Image.open(io.BytesIO(raw))
    pixels = np.asarray(original.convert("RGB"))[None]
    again = jpeg_roundtrip(pixels, EUROSAT_JPEG_QUALITY)
    assert np.abs(again.astype(int) - pixels).max() <= 8
    buffer = io.BytesIO()
    Image.fromarray(pixels[0]).save(buffer, format="JPEG", quality=EUROSAT_JPEG_QUALITY, subsampling="4:2:0")
    assert Image.open(buffer).quantization == original.quantization


def test_harness_eval_and_fid_commands(run_with_eval, eurosat_path, tmp_path):
    from test_cli import harness

    env = {"HARNESS_EUROSAT": str(eurosat_path)}
    result = harness("eval", str(run_with_eval.path), "--metrics", "kid", "--n", "3", env=env)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "SeaLake" in result.stdout and "kid" in result.stdout
    m = run_with_eval.metrics()
    kid3 = m[(m["metric"] == "kid") & (m["n_fake"] == 3)]
    assert len(kid3) == 11  # 10 classes and their mean; the pooled "all" row has n_fake 30
    assert m[(m["metric"] == "kid") & (m["class"] == "all")]["n_fake"].tolist() == [10 * N, 30]
    assert len(m[(m["metric"] == "fid") & (m["n_fake"] == N)]) == 11  # the N=4 rows from training are kept
    again = harness("eval", str(run_with_eval.path), "--metrics", "kid", "--n", "3", env=env)
    assert again.returncode == 0
    assert len(run_with_eval.metrics()) == len(m)  # the same protocol replaces its rows, never duplicates
    log = [json.loads(line) for line in run_with_eval.evaluations_path.read_text().splitlines()]
    assert len(log) == 2 and log[-1]["metrics"] == ["kid"] and log[-1]["eval"]["eval.n"] == 3
    assert log[-1]["overrides"] == {"eval.metrics": "kid", "eval.n": "3"} and "reference_classifier" not in log[-1]
    assert log[-1]["code"]["version"] and "commit" in log[-1]["code"]  # which code evaluated, which CPU
    assert log[-1]["machine"]["cpu"] and log[-1]["machine"]["usable_cores"] >= 1

    ds = dataset.load(eurosat_path)
    a, b = tmp_path / "a.npz", tmp_path / "b"
    np.savez(a, images=ds.images[:6])
    b.mkdir()
    from PIL import Image

    for i in range(6):
        Image.fromarray(ds.images[3000 + i]).save(b / f"{i}.png")
    out = harness("fid", str(a), str(b), "--kid")
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.startswith("fid: ") and "N = 6 vs 6" in out.stdout and "kid: " in out.stdout
    every = harness("fid", str(a), str(b), "--metrics", "fid,kid,precision,recall,density,coverage", "--k", "3",
                    "--json")
    assert every.returncode == 0, every.stderr[-2000:]
    values = json.loads(every.stdout)  # one JSON object and nothing else on stdout, strict JSON (no NaN)
    assert set(values) == {"fid", "kid", "kid_std", "precision", "recall", "density", "coverage", "undefined"}
    assert values["kid_std"] is None and "every subset is the whole of both sets" in values["undefined"]["kid_std"]
    assert "NaN" not in every.stdout
    assert all(0 <= values[m] <= 1 for m in ("precision", "recall", "coverage"))
    same = harness("fid", str(a), str(a), "--metrics", "precision,recall,coverage", "--k", "3", "--json")
    assert json.loads(same.stdout) == {"precision": 1.0, "recall": 1.0, "coverage": 1.0}
    assert f"{a} is both sets: every distance compares it with itself" in same.stderr
    assert "is both sets" not in every.stderr
    # A folder of class folders is pooled, and said to be; images of another size are named.
    pooled = tmp_path / "pooled"
    for cls in ("Forest", "River"):
        (pooled / cls).mkdir(parents=True)
        for i in range(3):
            Image.fromarray(ds.images[100 * i][:32, :32]).save(pooled / cls / f"{i}.png")
    said = harness("fid", str(pooled), str(b), "--metrics", "kid")
    assert said.returncode == 0, said.stderr[-2000:]
    assert "6 images from 2 folders, pooled as one set" in said.stderr and "images are 32x32" in said.stderr
    assert "the two sets' images differ in size (32x32 against 64x64)" in said.stderr
    river = harness("fid", str(pooled), str(pooled), "--metrics", "kid", "--class", "River")
    assert river.returncode == 0, river.stderr[-2000:]
    assert "N = 3 vs 3" in river.stdout and "pooled as one set" not in river.stderr  # the River folder's 3, each side
    # Precomputed statistics (pytorch-fid's mu, sigma) as one side: the same FID as from the images.
    from harness.evaluate.fid import distances
    from harness.evaluate.fid.extractor import InceptionFeatures

    mu, sigma = distances.mean_cov(InceptionFeatures()(ds.images[:6]))
    np.savez(tmp_path / "stats.npz", mu=mu, sigma=sigma)
    from_images = json.loads(harness("fid", str(a), str(b), "--json").stdout)["fid"]
    from_stats = harness("fid", str(tmp_path / "stats.npz"), str(b), "--json")
    assert from_stats.returncode == 0, from_stats.stderr[-2000:]
    assert json.loads(from_stats.stdout)["fid"] == pytest.approx(from_images, rel=1e-5)
    only_fid = harness("fid", str(tmp_path / "stats.npz"), str(b), "--metrics", "fid,kid")
    assert only_fid.returncode == 2 and "allows FID only" in only_fid.stderr
    bad = harness("fid", str(a), str(tmp_path / "missing"))
    assert bad.returncode == 2 and "missing: no such file or folder" in bad.stderr and "Traceback" not in bad.stderr


def real_subset(ds: dataset.EuroSAT, per_class: int, seed: int = 0) -> dataset.EuroSAT:
    """A small real EuroSAT: `per_class` images of each class, with a digest of its own (caches keyed by it never
    mistake it for the archive). "full" over it means every one of those images, not 2,000 of them."""
    rng = np.random.default_rng(seed)
    idx = np.sort(np.concatenate([rng.choice(np.flatnonzero(ds.labels == c), per_class, replace=False)
                                  for c in range(eurosat.NUM_CLASSES)]))
    return dataset.EuroSAT(ds.images[idx], ds.labels[idx], ds.names[idx], f"{ds.digest}-subset{per_class}s{seed}",
                           ds.source)


def test_sample_size_rows(eurosat_path, inception):
    """The fid_sample_size protocol through the evaluator: FID at each N, the floor, FID-infinity (on 40 real
    images per class: the protocol's rows, not the archive's size, are under test)."""
    from harness.models.networks import build_generator

    cfg = small_eval(**{"eval.sample_sizes": "2,full", "eval.metrics": "fid"})
    ev = Evaluator(cfg, real_subset(dataset.load(eurosat_path), 40), extractor=inception)
    rows = ev.evaluate(build_generator(cfg.model, seed=0), 1)
    forest = [r for r in rows if r["class"] == "Forest"]
    by_metric = {}
    for r in forest:
        by_metric.setdefault(r["metric"], []).append(r)
    assert [r["n_fake"] for r in by_metric["fid_at_n"]] == [2, N]
    assert [r["n_real"] for r in by_metric["fid_real_floor"]] == [2]
    assert len(by_metric["fid_inf"]) == 1 and len(by_metric["fid"]) == 1
    assert not any(r["class"] == "mean" and r["metric"].startswith("fid_") for r in rows)


def test_an_image_set_gives_one_class_from_a_zip_a_folder_or_a_labelled_npz(tmp_path):
    """`harness fid --class`: EuroSAT's zip as it comes, `harness generate`'s folders and its labelled .npz."""
    from conftest import make_files, write_folder, write_zip

    from harness.errors import HarnessError
    from harness.evaluate.fid import imagesets

    files = make_files(3)
    archive = write_zip(tmp_path / "eurosat.zip", files)
    forest = imagesets.load(archive, cls="Forest")
    assert forest.shape == (3, 64, 64, 3) and len(imagesets.load(archive)) == 30
    folder = write_folder(tmp_path / "generated", files)
    assert np.array_equal(imagesets.load(folder, cls="Forest"), forest)  # the same images, the same order
    assert imagesets.describe(folder, forest, cls="Forest") == []  # one class asked for: not "pooled"
    labels = np.array([0, 1, 1, 2, 1], np.int32)
    pixels = np.arange(5, dtype=np.uint8)[:, None, None, None] * np.ones((5, 64, 64, 3), np.uint8)
    np.savez(tmp_path / "gen.npz", images=pixels, labels=labels, class_names=np.array(eurosat.CLASSES))
    second = imagesets.load(tmp_path / "gen.npz", cls=eurosat.CLASSES[1])  # the images labelled 1
    assert second[:, 0, 0, 0].tolist() == [1, 2, 4]
    with pytest.raises(HarnessError, match="no image of class Glacier"):
        imagesets.load(archive, cls="Glacier")
    with pytest.raises(HarnessError, match="not one of its classes"):
        imagesets.load(tmp_path / "gen.npz", cls="Glacier")
    with pytest.raises(HarnessError, match=f"1 image of class {eurosat.CLASSES[2]} found"):
        imagesets.load(tmp_path / "gen.npz", cls=eurosat.CLASSES[2])
