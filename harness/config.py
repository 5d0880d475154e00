"""The resolved configuration of a run: one typed object, validated in one place.

A run's configuration is built in three layers, each a set of dotted keys:
the variant's factory (what is trained), the profile (at what scale), then the
user's `--set key=value` and flags. `validate` is the only place that decides
whether a configuration is possible; everything downstream trusts it.

Unknown keys fail loudly and suggest close matches (StudioGAN does the same):
a typo in an override must never silently train the default.
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
import math
from dataclasses import dataclass, field
from typing import Any

from harness.errors import ConfigError

G_NORMS = ("batch", "none")
G_UPSAMPLES = ("transposed", "nearest", "bilinear")  # stride-2 transposed conv, or resize x2 then a stride-1 conv
D_NORMS = ("batch", "none", "spectral")
G_LABEL_MODES = ("onehot", "embedding")
D_LABEL_MODES = ("onehot", "embedding", "projection")
AUGMENTS = ("none", "diffaugment")
PRECISIONS = ("float32", "mixed_float16", "mixed_bfloat16")
EMA_BN = ("average", "recompute")  # harness.train.ema: the generator average's batch-norm statistics
SPLITS = ("train", "all")
EVAL_PROTOCOLS = ("paper", "full")
REFERENCE_SPLITS = ("", "train", "val", "test", "all")
SQRT_METHODS = ("eigh", "sqrtm")
RESIZES = ("tf1-bilinear", "clean")  # 64 -> 299 for Inception (harness.evaluate.fid.extractor)


@dataclass
class GeneratorConfig:
    """Noise + label -> Dense -> 4x4 map -> stride-2 Conv2DTranspose stack -> Conv2D tanh."""

    noise_dim: int = 128
    # filters[0] is the depth of the 4x4 map the Dense layer makes; each later
    # entry is one stride-2 Conv2DTranspose (4 -> 8 -> 16 -> 32 -> 64).
    filters: tuple[int, ...] = (512, 256, 128, 64, 32)
    kernel_size: int = 5
    norm: str = "batch"
    label: str = "onehot"
    embed_dim: int = 50
    # How each layer doubles the resolution: "transposed" (the paper: stride-2 Conv2DTranspose), or "nearest" /
    # "bilinear" resize then a stride-1 Conv2D of the same kernel (Odena et al. 2016: no checkerboard artifacts).
    upsample: str = "transposed"


@dataclass
class DiscriminatorConfig:
    """Image + label map -> stride-2 Conv2D stack (64 -> 32 -> 16 -> 8 -> 4) -> one logit."""

    filters: tuple[int, ...] = (64, 128, 256, 512)
    kernel_size: int = 5
    norm: str = "batch"
    label: str = "onehot"
    embed_dim: int = 50
    leaky_slope: float = 0.2
    mbstd_group: int = 0  # minibatch standard deviation before the logit, over groups of this size (0: off)


@dataclass
class ModelConfig:
    g: GeneratorConfig = field(default_factory=GeneratorConfig)
    d: DiscriminatorConfig = field(default_factory=DiscriminatorConfig)
    # Multiplies every layer's filter count (rounded); the cpu and smoke
    # profiles use it to scale the paper's networks down honestly.
    width: float = 1.0


@dataclass
class TrainConfig:
    batch_size: int = 128
    epochs: int = 300
    lr_g: float = 2e-4
    lr_d: float = 2e-4
    beta_1: float = 0.5
    beta_2: float = 0.999
    loss: str = "bce"
    augment: str = "none"  # diffaugment: color, translation, cutout on real and fake before D
    steps_per_execution: int = 1  # training steps per compiled call (losses fetched once per call)
    precision: str = "float32"  # mixed_float16 (GPUs; loss scaling) or mixed_bfloat16 (native bf16 CPUs/GPUs):
    # half-precision compute, float32 weights, float32 generator output and discriminator logits
    g_ema: float = 0.0  # decay of the generator's weight average used for sampling (0: off); harness.train.ema
    g_ema_rampup: bool = True  # decay min(g_ema, (1 + t) / (10 + t)) after t updates
    g_ema_bn: str = "average"  # the average's batch-norm statistics: averaged, or recomputed for its weights
    r1_gamma: float = 0.0  # weight of the R1 penalty on real images (0: off); harness.train.penalty
    r2_gamma: float = 0.0  # weight of the same penalty on generated images (0: off); R3GAN pairs it with R1
    r1_every: int = 1  # lazy R1 (and R2): every k-th D step, weighted by k


@dataclass
class DataConfig:
    split: str = "all"  # the paper trained on every image
    split_seed: int = 0  # fixed apart from the run seed: all runs share one split
    fraction: float = 1.0  # stratified share of the split's images used
    per_class: int = 0  # if > 0, exactly this many images per class instead


@dataclass
class LogConfig:
    sample_every: int = 1  # epochs between sample grids
    grid_columns: int = 8  # fixed latents per class in a grid
    keep_every: int = 0  # also keep the generator of every k-th epoch (0: final only)
    tensorboard: bool = True


@dataclass
class EvalConfig:
    """Inception FID/KID of the generator, per class, with fixed latents."""

    metrics: str = "fid,kid"  # comma-separated registered metrics or groups (harness.evaluate.metrics); "" = off
    every: int = 0  # also evaluate every k epochs (0: only after the last epoch)
    n: int = 500  # generated images per class (and real ones under the "paper" protocol)
    protocol: str = "paper"  # paper: n random reals vs n fakes per class; full: every real of the class
    reference: str = ""  # real images' split: train, val, test or all ("" = the split trained on)
    sample_sizes: str = ""  # e.g. "100,250,500,1000,full": FID against N, FID-infinity, real-vs-real floor
    bootstraps: int = 5
    sqrt: str = "eigh"  # matrix square root: eigh or sqrtm (see harness.evaluate.fid.distances)
    jpeg_quality: int = 0  # re-encode generated images as JPEG at this quality first (0: off)
    batch: int = 50
    resize: str = "tf1-bilinear"  # 64 -> 299 for Inception: tf1-bilinear (standard FID) or clean (clean-fid)
    draw: int = 0  # evaluation latents: 0 = the run's fixed draw; k > 0 = another draw (the sampling spread)
    k: int = 5  # nearest neighbours of precision, recall, density, coverage (Naeem et al.: 5; NVIDIA: 3)
    # EuroSAT domain metrics (harness.evaluate.metrics: fidelity, domain_distances, ...), judged by the reference
    # classifier:
    domain_every: int = 0  # label fidelity + domain FID/KID every k epochs during training (0: off)
    cas_steps: int = 0  # training steps of the train-on-generated classifier (0: the reference recipe's)
    augment_k: str = "10,50,250"  # real images per class in the augmentation-gain experiment
    augment_synthetic: int = 500  # generated images per class added to them
    augment_steps: int = 1000  # training steps of each augmentation classifier (the same for every k)
    augment_seeds: str = "0,1,2"


@dataclass
class RunConfig:
    variant: str = "paper_dcgan"
    description: str = ""
    profile: str = "paper"
    seed: int = 0
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    data: DataConfig = field(default_factory=DataConfig)
    log: LogConfig = field(default_factory=LogConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)

    def copy(self) -> "RunConfig":
        return copy.deepcopy(self)


# ---------------------------------------------------------------------------
# Dotted keys


def flatten(obj: Any, prefix: str = "") -> dict[str, Any]:
    """{"model.g.kernel_size": 5, ...}: the form results rows and diffs use."""
    out: dict[str, Any] = {}
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        key = f"{prefix}{f.name}"
        if dataclasses.is_dataclass(value):
            out.update(flatten(value, key + "."))
        else:
            out[key] = list(value) if isinstance(value, tuple) else value
    return out


def from_flat(flat: dict[str, Any]) -> RunConfig:
    """Rebuild a RunConfig from `flatten` output (e.g. a run's config.json)."""
    cfg = RunConfig()
    apply(cfg, flat)
    return cfg


def keys() -> list[str]:
    return list(flatten(RunConfig()))


def apply(cfg: RunConfig, overrides: dict[str, Any]) -> RunConfig:
    """Set dotted keys in place, coercing each value to the field's type."""
    known = flatten(cfg)
    for key, raw in overrides.items():
        if key not in known:
            close = difflib.get_close_matches(key, known, n=3, cutoff=0.6)
            hint = f"; did you mean {', '.join(close)}?" if close else "; `harness config` lists them"
            raise ConfigError(f"unknown configuration key {key!r}{hint}")
        *path, leaf = key.split(".")
        target = cfg
        for part in path:
            target = getattr(target, part)
        setattr(target, leaf, _coerce(key, raw, known[key]))
    return cfg


def parse_assignments(items: list[str]) -> dict[str, Any]:
    """["train.lr_g=1e-4", ...] -> {"train.lr_g": "1e-4"} (typed later by apply)."""
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--set {item!r}: expected KEY=VALUE, e.g. train.lr_g=1e-4")
        out[key.strip()] = value.strip()
    return out


def _coerce(key: str, raw: Any, current: Any) -> Any:
    kind = type(current)
    try:
        if isinstance(current, bool):
            if isinstance(raw, bool):
                return raw
            text = str(raw).lower()
            if text in ("1", "true", "yes", "on"):
                return True
            if text in ("0", "false", "no", "off"):
                return False
            raise ValueError
        if isinstance(current, list):
            items = raw if isinstance(raw, (list, tuple)) else [p for p in str(raw).split(",") if p.strip()]
            return tuple(int(p) for p in items)
        if kind is int:
            if isinstance(raw, float) and not raw.is_integer():
                raise ValueError
            value = float(raw) if isinstance(raw, str) and any(c in raw for c in ".eE") else raw
            if isinstance(value, float) and not value.is_integer():
                raise ValueError
            return int(value)
        if kind is float:
            return float(raw)
        return str(raw)
    except (TypeError, ValueError):
        want = "a comma-separated list of integers" if isinstance(current, list) else kind.__name__
        raise ConfigError(f"{key}={raw!r}: expected {want}") from None


# ---------------------------------------------------------------------------
# Validation: every rule about what is possible lives here, except the names that registries in later stages
# own (train.loss: harness.train.objectives.check_config; eval.metrics: harness.evaluate.metrics.check_config);
# harness.runs.runner.validate applies all three.


def scaled(filters: tuple[int, ...], width: float) -> tuple[int, ...]:
    """Filter counts after the width multiplier (validated to be >= 1)."""
    return tuple(int(round(f * width)) for f in filters)


def validate(cfg: RunConfig) -> RunConfig:
    m, t, d, log = cfg.model, cfg.train, cfg.data, cfg.log
    check(m.width > 0, "model.width", m.width, "must be > 0")
    for name, net, norms, labels in (("g", m.g, G_NORMS, G_LABEL_MODES), ("d", m.d, D_NORMS, D_LABEL_MODES)):
        check(net.kernel_size >= 1, f"model.{name}.kernel_size", net.kernel_size, "must be >= 1")
        check(net.norm in norms, f"model.{name}.norm", net.norm, f"must be one of {', '.join(norms)}")
        check(net.label in labels, f"model.{name}.label", net.label, f"must be one of {', '.join(labels)}")
        check(net.embed_dim >= 1, f"model.{name}.embed_dim", net.embed_dim, "must be >= 1")
        check(all(f >= 1 for f in net.filters), f"model.{name}.filters", list(net.filters),
               "must all be >= 1")
        empty = [f for f, s in zip(net.filters, scaled(net.filters, m.width)) if s < 1]
        check(not empty, "model.width", m.width,
               f"makes a layer of model.{name} empty ({empty[0] if empty else 0} filters x {m.width} rounds to 0)")
    check(len(m.g.filters) == 5, "model.g.filters", list(m.g.filters),
           "needs 5 entries: the 4x4 map, then four stride-2 layers up to 64x64")
    check(len(m.d.filters) == 4, "model.d.filters", list(m.d.filters),
           "needs 4 entries: four stride-2 layers from 64x64 down to 4x4")
    check(m.g.noise_dim >= 1, "model.g.noise_dim", m.g.noise_dim, "must be >= 1")
    check(m.g.upsample in G_UPSAMPLES, "model.g.upsample", m.g.upsample, f"must be one of {', '.join(G_UPSAMPLES)}")
    check(m.d.mbstd_group >= 0 and m.d.mbstd_group != 1, "model.d.mbstd_group", m.d.mbstd_group,
           "must be 0 (off) or >= 2 (a standard deviation needs two images)")
    check(m.d.mbstd_group == 0 or t.batch_size % m.d.mbstd_group == 0, "model.d.mbstd_group", m.d.mbstd_group,
           f"must divide train.batch_size={t.batch_size}")
    check(0 <= m.d.leaky_slope < 1, "model.d.leaky_slope", m.d.leaky_slope, "must be in [0, 1)")
    check(0 <= cfg.seed <= MAX_SEED, "seed", cfg.seed, f"must be in 0 to {MAX_SEED}")
    check(t.batch_size >= 1, "train.batch_size", t.batch_size, "must be >= 1")
    check(t.epochs >= 1, "train.epochs", t.epochs, "must be >= 1")
    for key in ("lr_g", "lr_d"):
        check(math.isfinite(getattr(t, key)) and getattr(t, key) > 0, f"train.{key}", getattr(t, key),
              "must be a finite number > 0")
    for key in ("beta_1", "beta_2"):
        check(0 <= getattr(t, key) < 1, f"train.{key}", getattr(t, key), "must be in [0, 1)")
    check(t.augment in AUGMENTS, "train.augment", t.augment, f"must be one of {', '.join(AUGMENTS)}")
    check(0 <= t.g_ema < 1, "train.g_ema", t.g_ema, "must be in [0, 1) (0 turns the average off)")
    check(t.g_ema_bn in EMA_BN, "train.g_ema_bn", t.g_ema_bn, f"must be one of {', '.join(EMA_BN)}")
    check(t.g_ema_bn == "average" or t.g_ema > 0, "train.g_ema_bn", t.g_ema_bn,
           "needs train.g_ema > 0 (there is no generator average to recompute statistics for)")
    check(t.r1_gamma >= 0, "train.r1_gamma", t.r1_gamma, "must be >= 0 (0 turns R1 off)")
    check(t.r2_gamma >= 0, "train.r2_gamma", t.r2_gamma, "must be >= 0 (0 turns R2 off)")
    check(t.r1_every >= 1, "train.r1_every", t.r1_every, "must be >= 1")
    check(t.steps_per_execution >= 1, "train.steps_per_execution", t.steps_per_execution, "must be >= 1")
    check(t.precision in PRECISIONS, "train.precision", t.precision, f"must be one of {', '.join(PRECISIONS)}")
    check(d.split in SPLITS, "data.split", d.split, f"must be one of {', '.join(SPLITS)}")
    check(0 < d.fraction <= 1, "data.fraction", d.fraction, "must be in (0, 1]")
    check(d.per_class >= 0, "data.per_class", d.per_class, "must be >= 0")
    check(not (d.per_class and d.fraction != 1.0), "data.per_class", d.per_class,
           "cannot be combined with data.fraction < 1; set one of them")
    check(log.sample_every >= 1, "log.sample_every", log.sample_every, "must be >= 1")
    check(log.grid_columns >= 1, "log.grid_columns", log.grid_columns, "must be >= 1")
    check(log.keep_every >= 0, "log.keep_every", log.keep_every, "must be >= 0")
    e = cfg.eval
    check(e.k >= 1, "eval.k", e.k, "must be >= 1")
    check(e.resize in RESIZES, "eval.resize", e.resize, f"must be one of {', '.join(RESIZES)}")
    check(e.draw >= 0, "eval.draw", e.draw, "must be >= 0 (0: the run's fixed evaluation latents)")
    check(e.every >= 0, "eval.every", e.every, "must be >= 0")
    check(e.n >= 2, "eval.n", e.n, "must be >= 2")
    check(e.protocol in EVAL_PROTOCOLS, "eval.protocol", e.protocol, f"must be one of {', '.join(EVAL_PROTOCOLS)}")
    check(e.reference in REFERENCE_SPLITS, "eval.reference", e.reference,
           "must be one of train, val, test, all (or empty for the split trained on)")
    check(e.sqrt in SQRT_METHODS, "eval.sqrt", e.sqrt, f"must be one of {', '.join(SQRT_METHODS)}")
    check(e.jpeg_quality == 0 or 1 <= e.jpeg_quality <= 100, "eval.jpeg_quality", e.jpeg_quality,
           "must be 0 (off) or 1..100")
    check(e.bootstraps >= 1, "eval.bootstraps", e.bootstraps, "must be >= 1")
    check(e.batch >= 1, "eval.batch", e.batch, "must be >= 1")
    check(e.domain_every >= 0, "eval.domain_every", e.domain_every, "must be >= 0")
    for key in ("cas_steps", "augment_synthetic"):
        check(getattr(e, key) >= 0, f"eval.{key}", getattr(e, key), "must be >= 0")
    check(e.augment_steps >= 1, "eval.augment_steps", e.augment_steps, "must be >= 1")
    for key in ("augment_k", "augment_seeds"):
        try:
            values = int_list(getattr(e, key))
        except ValueError:
            values = []
        check(bool(values) and min(values) >= (1 if key == "augment_k" else 0), f"eval.{key}",
               getattr(e, key), "must be comma-separated integers" + (" >= 1" if key == "augment_k" else ""))
    try:
        sizes = sample_sizes(e.sample_sizes)
    except ValueError:
        sizes = [-1]
    check(all(n == 0 or n >= 2 for n in sizes), "eval.sample_sizes", e.sample_sizes,
           "must be comma-separated integers >= 2 or 'full', e.g. 100,250,500,full")
    return cfg


MAX_SEED = 2**32 - 1  # numpy and TensorFlow take seeds below 2**32


def seed_list(text: str, option: str = "--seeds") -> list[int]:
    """'0,1,2' or '1-4' or '0,3-5' -> distinct seeds in order; a ConfigError naming `option` otherwise."""
    seeds: list[int] = []
    try:
        for part in (p.strip() for p in str(text).split(",") if p.strip()):
            low, _, high = part.partition("-") if not part.startswith("-") else (part, "", "")
            span = range(int(low), int(high) + 1) if high else [int(low)]
            if high and int(high) < int(low):
                raise ValueError
            seeds += [s for s in span if s not in seeds]
    except ValueError:
        raise ConfigError(f"{option} {text!r}: expected seeds like 0,1,2 or 1-4") from None
    bad = [s for s in seeds if not 0 <= s <= MAX_SEED]
    if bad:
        raise ConfigError(f"{option} {text!r}: seed {bad[0]} is out of range (0 to {MAX_SEED})")
    if not seeds:
        raise ConfigError(f"{option} {text!r}: no seed given")
    return seeds


def int_list(text: str) -> list[int]:
    return [int(p) for p in text.split(",") if p.strip()]


def sample_sizes(text: str) -> list[int]:
    """"100,250,full" -> [100, 250, 0]; 0 stands for every real image of the class."""
    return [0 if p.strip() == "full" else int(p) for p in text.split(",") if p.strip()]


def check(ok: bool, key: str, value: Any, why: str) -> None:
    """Raise the one-line ConfigError 'KEY=VALUE why' unless `ok`."""
    if not ok:
        raise ConfigError(f"{key}={value!r} {why}")


def diff(old: dict[str, Any], new: dict[str, Any], *, ignore: tuple[str, ...] = ()) -> list[str]:
    """Human-readable differences between two flattened configurations."""
    lines = []
    for key in sorted(set(old) | set(new)):
        if key in ignore:
            continue
        a, b = old.get(key, "<absent>"), new.get(key, "<absent>")
        if a != b:
            lines.append(f"{key}: {a!r} -> {b!r}")
    return lines
