"""The reference EuroSAT classifier: a compact CNN that judges generated images as a land-cover model would.

ImageNet Inception is the literature's yardstick, but it has never seen a
satellite patch. This network is trained on EuroSAT's train split at the
native 64x64, so it can say whether a generated "Forest" is a Forest (label
fidelity), give features for a domain FID, and serve as the fixed recipe for
train-on-synthetic (CAS) and augmentation experiments.

Training is deterministic: the epoch order and the dihedral augmentation
(EuroSAT patches are top-down views, so the 8 rotations/flips keep the label)
come from (seed, epoch). A trained reference classifier is cached keyed by
everything that decides its weights (data digest, decoder, split, seeds,
recipe, Keras version), with its test report beside it.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from harness import atomicio, paths, streams
from harness.data import dataset, eurosat

log = logging.getLogger("harness")
RECIPE_VERSION = 2  # 2: one conv in the first block


@dataclass(frozen=True)
class Recipe:
    """How a classifier is trained. Every experiment here (reference, CAS, augmentation) uses one recipe."""

    width: int = 32  # filters of the stem and first block; doubled per block (32, 64, 128, 256)
    epochs: int = 10
    batch_size: int = 64
    lr: float = 2e-3  # AdamW, cosine-decayed to 0 over the run
    weight_decay: float = 1e-4
    dropout: float = 0.3
    min_steps: int = 0  # small training sets: repeat epochs until this many steps (same budget for all k)

    def steps(self, count: int) -> int:
        per_epoch = max(1, count // self.batch_size)
        return max(self.epochs * per_epoch, self.min_steps)


def build(recipe: Recipe, *, seed: int = 0):
    """uint8 (B, 64, 64, 3) -> class logits (B, 10); the 'features' layer is the penultimate embedding."""
    import keras
    from keras import layers

    keras.utils.set_random_seed(seed)
    x = inputs = keras.Input(eurosat.IMAGE_SHAPE, dtype="uint8", name="image")
    x = layers.Rescaling(1 / 127.5, offset=-1.0, name="to_unit_range")(x)  # casts the uint8 to float
    # A stride-2 stem: 64x64 -> 32x32 at once keeps the network ~60x cheaper than Inception at 299x299.
    x = layers.Conv2D(recipe.width, 3, strides=2, padding="same", use_bias=False, name="stem")(x)
    x = layers.BatchNormalization(momentum=0.9, name="stem_bn")(x)  # 0.9: short trainings (CAS) settle too
    x = layers.ReLU(name="stem_relu")(x)
    for block, mult in enumerate((1, 2, 4, 8), start=1):
        # One conv at 32x32, two below: a second one there halved training speed on the 2-core CPU (78 against
        # 155-182 img/s) for 15% of the FLOPs and 0.3 points of test accuracy (README, "reference classifier").
        for conv in ((1,) if block == 1 else (1, 2)):
            x = layers.Conv2D(recipe.width * mult, 3, padding="same", use_bias=False, name=f"b{block}c{conv}")(x)
            x = layers.BatchNormalization(momentum=0.9, name=f"b{block}c{conv}_bn")(x)
            x = layers.ReLU(name=f"b{block}c{conv}_relu")(x)
        if block < 4:
            x = layers.MaxPooling2D(2, name=f"b{block}_pool")(x)
    x = layers.GlobalAveragePooling2D(name="features")(x)
    x = layers.Dropout(recipe.dropout, name="dropout")(x)
    logits = layers.Dense(eurosat.NUM_CLASSES, name="logits")(x)
    return keras.Model(inputs, logits, name="eurosat_classifier")


def dihedral(images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Each image rotated by a random multiple of 90 degrees and maybe mirrored (label-preserving here)."""
    out = images.copy()
    k = rng.integers(0, 4, len(images))
    flip = rng.random(len(images)) < 0.5
    for turns in (1, 2, 3):
        sel = k == turns
        out[sel] = np.rot90(out[sel], turns, axes=(1, 2))
    out[flip] = out[flip][:, :, ::-1]
    return out


def train(images: np.ndarray, labels: np.ndarray, recipe: Recipe, *, seed: int = 0, val=None,
          progress: bool = False):
    """Fit a fresh classifier; returns (model, history rows). XLA stays off (slower here, see README)."""
    import keras

    model = build(recipe, seed=seed)
    total = recipe.steps(len(labels))
    schedule = keras.optimizers.schedules.CosineDecay(recipe.lr, decay_steps=total)
    model.compile(optimizer=keras.optimizers.AdamW(schedule, weight_decay=recipe.weight_decay),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"],
                  jit_compile=False)
    per_epoch = max(1, len(labels) // recipe.batch_size)
    chunk = max(per_epoch, 100)  # small sets: many passes per fit call (fit has a fixed cost per call)
    history, done, rnd = [], 0, 0
    while done < total:
        rnd += 1
        rng = np.random.default_rng([seed, rnd, streams.CLASSIFIER_ORDER])
        steps = min(chunk, total - done)
        passes = -(-steps * recipe.batch_size // len(labels))
        order = np.concatenate([rng.permutation(len(labels)) for _ in range(passes)])[:steps * recipe.batch_size]
        started = time.perf_counter()
        fit = model.fit(dihedral(images[order], rng), labels[order], batch_size=recipe.batch_size, epochs=1,
                        shuffle=False, verbose=1 if progress else 0)
        done += steps
        row = {"round": rnd, "steps": done, "loss": float(fit.history["loss"][-1]),
               "train_accuracy": float(fit.history["accuracy"][-1]), "seconds": time.perf_counter() - started}
        if val is not None:
            row["val_accuracy"] = accuracy(predict(model, val[0]), val[1])
        history.append(row)
        log.info("classifier step %d/%d  loss %.4f  train acc %.4f%s  %.0f s", done, total,
                 row["loss"], row["train_accuracy"],
                 f"  val acc {row['val_accuracy']:.4f}" if "val_accuracy" in row else "", row["seconds"])
    return model, history


def predict(model, images: np.ndarray, batch: int = 500) -> np.ndarray:
    """Predicted class indices."""
    return np.concatenate([np.argmax(model(images[i:i + batch], training=False), axis=1)
                           for i in range(0, len(images), batch)]).astype(np.int32)


def feature_head(model):
    """The classifier cut at its penultimate (global-average-pooled) layer; build once, call many times."""
    import keras

    return keras.Model(model.input, model.get_layer("features").output)


def features(head, images: np.ndarray, batch: int = 500) -> np.ndarray:
    """Features from a `feature_head`, float64, for domain FID/KID and nearest neighbours."""
    return np.concatenate([np.asarray(head(images[i:i + batch], training=False), np.float64)
                           for i in range(0, len(images), batch)])


def accuracy(predicted: np.ndarray, labels: np.ndarray) -> float:
    return float(np.mean(predicted == labels))


def confusion(predicted: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Counts, rows = true class, columns = predicted class."""
    out = np.zeros((eurosat.NUM_CLASSES, eurosat.NUM_CLASSES), np.int64)
    np.add.at(out, (labels, predicted), 1)
    return out


def report(model, images: np.ndarray, labels: np.ndarray) -> dict:
    predicted = predict(model, images)
    matrix = confusion(predicted, labels)
    per_class = matrix.diagonal() / np.maximum(matrix.sum(axis=1), 1)
    return {"accuracy": accuracy(predicted, labels), "n": int(len(labels)),
            "per_class": {c: float(a) for c, a in zip(eurosat.CLASSES, per_class)},
            "confusion": matrix.tolist()}


# The cached reference classifier ------------------------------------------------


@dataclass
class Reference:
    model: object
    info: dict  # key, test report, training time, history
    _head: object = None  # the feature head, built on first use

    def predict(self, images):
        return predict(self.model, images)

    def features(self, images):
        if self._head is None:
            self._head = feature_head(self.model)
        return features(self._head, images)


def weights_digest(model) -> str:
    """The trained weights' identity: the same recipe trained on two CPU families gives two classifiers (float
    rounding), and a run's domain rows are comparable with another's only if one classifier judged both."""
    import hashlib

    digest = hashlib.sha256()
    for array in model.get_weights():
        digest.update(str(array.shape).encode())
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()[:16]


def reference_key(ds: dataset.EuroSAT, recipe: Recipe, *, seed: int, split_seed: int) -> dict:
    import keras

    return {"digest": ds.digest, "decoder": dataset._decoder_id(), "train": "train", "val": "val", "test": "test",
            "split_seed": split_seed, "seed": seed, "recipe": dataclasses.asdict(recipe),
            "recipe_version": RECIPE_VERSION, "keras": keras.__version__}


def _paths(key: dict) -> tuple[Path, Path]:
    from harness.cachefile import key_digest

    digest = key_digest(key)
    folder = paths.cache_dir() / "classifier"
    return folder / f"reference-{digest}.keras", folder / f"reference-{digest}.json"


def cached_reference(ds: dataset.EuroSAT, recipe: Recipe | None = None, *, seed: int = 0,
                     split_seed: int = 0) -> Reference | None:
    import keras

    from harness.cachefile import Stale, remove

    key = reference_key(ds, recipe or Recipe(), seed=seed, split_seed=split_seed)
    model_path, info_path = _paths(key)
    if not (model_path.is_file() and info_path.is_file()):
        return None
    try:
        info = json.loads(info_path.read_text())
        if info.get("key") != key:  # a hash collision or a hand-edited file: never serve it
            raise Stale("its key is another recipe's or archive's")
        model = keras.models.load_model(model_path)
        info.setdefault("weights_digest", weights_digest(model))  # entries cached before it was recorded
        return Reference(model, info)
    except Exception as exc:  # noqa: BLE001 - an unreadable cache entry is retrained, never fatal
        reason = str(exc) if isinstance(exc, Stale) else f"{type(exc).__name__}: {exc}"
        log.warning("reference classifier cache %s is unusable (%s); deleting it and training again", model_path,
                    reason)
        remove(model_path)
        remove(info_path)
        return None


def reference(ds: dataset.EuroSAT, recipe: Recipe | None = None, *, seed: int = 0, split_seed: int = 0,
              retrain: bool = False, progress: bool = False) -> Reference:
    """The cached reference classifier for this archive, training it (once) if needed."""
    recipe = recipe or Recipe()
    if not retrain:
        found = cached_reference(ds, recipe, seed=seed, split_seed=split_seed)
        if found is not None:
            return found
    key = reference_key(ds, recipe, seed=seed, split_seed=split_seed)
    train_idx, val_idx, test_idx = (dataset.split_indices(ds.labels, s, seed=split_seed)
                                    for s in ("train", "val", "test"))
    log.info("training the reference classifier on %d images (recipe %s)", len(train_idx), recipe)
    started = time.perf_counter()
    model, history = train(ds.images[train_idx], ds.labels[train_idx], recipe, seed=seed,
                           val=(ds.images[val_idx], ds.labels[val_idx]), progress=progress)
    seconds = time.perf_counter() - started
    info = {"key": key, "weights_digest": weights_digest(model), "train_seconds": seconds, "history": history,
            "val": report(model, ds.images[val_idx], ds.labels[val_idx]),
            "test": report(model, ds.images[test_idx], ds.labels[test_idx])}
    model_path, info_path = _paths(key)
    atomicio.write_with(model_path, model.save)
    atomicio.write_json(info_path, info)
    log.info("reference classifier: test accuracy %.4f, trained in %.0f s; cached at %s", info["test"]["accuracy"],
             seconds, model_path)
    return Reference(model, info)
