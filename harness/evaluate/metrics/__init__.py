"""The metric registry: every evaluation metric is a registered object.

A metric family lives in one module of this package and registers itself
with `@register(...)` on its compute function (as NVIDIA stylegan3's
metric_main does). The registration declares everything the rest of the
harness needs to know, so nothing else names a metric:

- `name`: what `eval.metrics` and `harness fid --metrics` accept;
- `space`: the feature space it reads (registered in harness.evaluate.metrics.spaces); the
  features of each image set are extracted once per evaluation and shared by
  every metric that reads that space (torch-fidelity's design);
- `per_class`: the compute function takes (real, fake) features of one class
  and returns {output: value}; the evaluator calls it per class, averages the
  outputs over classes ("mean") and, if `pooled`, calls it once on all
  classes pooled ("all"). Otherwise compute(ctx, epoch) returns its own rows
  (metrics that train classifiers or need the training set);
- `cheap`: cheap enough to run every `eval.domain_every` epochs for curves;
- `outputs`: the row metrics it writes, each with its direction, digits and
  caption, which the report iterates for its tables, tests and curves;
- `settings`: the eval.* keys its value depends on, recorded in each row's
  `settings` column (e.g. "k=5"), so rows with different settings never mix.

Registering is importing: every module of this package is imported on first
use of the registry (FAMILIES sets the built-in families' order), so a new
family is one new module and nothing else.
"""

from __future__ import annotations

import dataclasses
import importlib
from typing import Callable

from harness.evaluate.metrics import spaces

FAMILIES = ("inception_distances", "sample_size_curve", "prdc", "fidelity", "domain_distances", "memorisation", "cas",
            "augmentation")


@dataclasses.dataclass(frozen=True)
class Output:
    """One row metric a registered metric writes."""

    name: str
    better: str = "lower"  # "lower", "higher", or "" (a spread or a by-product, never ranked or tested)
    digits: int = 2
    caption: str = ""
    compare: bool = True  # the report's per-class table, paired test against the baseline and curve
    floor: bool = False  # the report adds the real-vs-real value at the same N, in the metric's feature space
    published: dict | None = None  # values the 2022 study published, shown beside ours
    label: str = ""  # how logs and report titles name it (default: the name)
    summary: bool = False  # a column of the report's one-row-per-variant domain summary (class mean, or "all")
    plotted_against: str = ""  # another output the report draws this one against (precision against recall)

    @property
    def title(self) -> str:
        return self.label or self.name.replace("_", " ")

    @property
    def higher_is_better(self) -> bool:
        return self.better == "higher"


@dataclasses.dataclass(frozen=True)
class Metric:
    name: str
    space: str
    compute: Callable
    outputs: tuple[Output, ...]
    per_class: bool = True
    pooled: bool = True
    needs_real: bool = True
    cheap: bool = False
    settings: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    implied: Callable | None = None  # (cfg, requested names) -> bool: added without being asked for
    caveat: Callable | None = None  # cfg -> a warning to log once per evaluation, or None
    doc: str = ""

    def settings_text(self, cfg) -> str:
        """"k=5": the values of this metric's settings under `cfg`, as recorded in its rows (a QUIET setting
        only when it is not at its default, so rows written before it existed stay comparable)."""
        values = ((key, _get(cfg, key)) for key in self.settings)
        return ";".join(f"{key.split('.')[-1]}={value}" for key, value in values if QUIET.get(key) != value)


# Settings recorded in rows only when changed from these defaults.
QUIET = {"eval.resize": "tf1-bilinear"}
_REGISTRY: dict[str, Metric] = {}
_loaded = False


def register(name: str, *, space: str, outputs, **fields) -> Callable:
    """Decorator: register `fn` as the compute function of metric `name`."""
    outputs = tuple(o if isinstance(o, Output) else Output(o) for o in outputs)

    def wrap(fn: Callable) -> Callable:
        if name in _REGISTRY:
            raise ValueError(f"metric {name!r} is registered twice")
        spaces.get(space)  # an unknown feature space fails at registration, not in the middle of an evaluation
        _REGISTRY[name] = Metric(name=name, space=space, compute=fn, outputs=outputs,
                                 doc=(fn.__doc__ or "").strip().splitlines()[0] if fn.__doc__ else "", **fields)
        return fn

    return wrap


def check_config(cfg):
    """The eval.* rules that depend on the registered metrics (harness.config.validate checks the rest): every name
    in eval.metrics is registered, N exceeds k for the metrics that use k, sample-size curves come with FID."""
    from harness.config import check

    e = cfg.eval
    requested = expand(e.metrics)
    check(not unknown(requested), "eval.metrics", e.metrics,
          f"may only list {', '.join(registered())} (or the groups {', '.join(groups())})")
    check(e.n > e.k or not any("eval.k" in get(m).settings for m in requested), "eval.n", e.n,
          f"must be larger than eval.k = {e.k} for precision, recall, density and coverage")
    check(not (e.sample_sizes and "fid" not in requested), "eval.sample_sizes", e.sample_sizes,
          "needs fid in eval.metrics")
    return cfg


def _load() -> None:
    """Import every module of this package: a new metric family registers by being here, named nowhere else.
    FAMILIES only orders the built-in ones (the report's order); the others follow by name."""
    global _loaded
    if not _loaded:
        _loaded = True
        import pkgutil

        found = sorted(m.name for m in pkgutil.iter_modules(__path__))
        for module in list(FAMILIES) + [m for m in found if m not in FAMILIES]:
            importlib.import_module(f"harness.evaluate.metrics.{module}")


def registered() -> dict[str, Metric]:
    """Every metric by name: families in FAMILIES order (whatever was imported first), then any registered
    elsewhere (plugins), each in registration order."""
    _load()

    families = [f"{__name__}.{family}" for family in FAMILIES]

    def family_rank(item):  # a plugin's module, even one named like a family, or code without a module: last
        module = item[1].compute.__module__
        return families.index(module) if module in families else len(families)

    return dict(sorted(_REGISTRY.items(), key=family_rank))  # sorted() is stable: registration order within


def pairs() -> list[tuple[str, str]]:
    """(x, y) output pairs the report draws against each other, as the outputs declare them (plotted_against)."""
    return [(o.plotted_against, o.name) for m in registered().values() for o in m.outputs if o.plotted_against]


def get(name: str) -> Metric:
    metrics = registered()
    if name not in metrics:
        raise KeyError(name)
    return metrics[name]


def groups() -> dict[str, list[str]]:
    """Group name -> the metrics in it ("inception", "domain", "prdc", ...), for eval.metrics shorthands."""
    out: dict[str, list[str]] = {}
    for m in registered().values():
        for group in m.groups:
            out.setdefault(group, []).append(m.name)
    return out


def expand(text: str) -> list[str]:
    """"fid,domain" -> ['fid', 'fidelity', 'domain_fid', ...]: groups expanded, order kept, no repeats.
    Unknown names are kept (validation reports them)."""
    out: list[str] = []
    named = groups()
    for name in (m.strip() for m in text.split(",") if m.strip()):
        out += [m for m in named.get(name, [name]) if m not in out]
    return out


def unknown(names) -> list[str]:
    """Names that are not registered, or that are only ever added by implication (the FID-vs-N curve)."""
    metrics = registered()
    return [n for n in names if n not in metrics or metrics[n].implied]


def outputs() -> dict[str, tuple[Metric, Output]]:
    """Row metric name -> (its metric, its declaration), for the report."""
    return {o.name: (m, o) for m in registered().values() for o in m.outputs}


def cheap() -> list[str]:
    """The metrics recorded every eval.domain_every epochs (for learning curves)."""
    return [m.name for m in registered().values() if m.cheap]


def describe() -> str:
    """One line per metric, for --help."""
    return ", ".join(m.name for m in registered().values() if not m.implied)


def for_image_sets() -> list[Metric]:
    """The metrics `harness fid` can compute between two image sets: per-class ones on Inception features."""
    return [m for m in registered().values() if m.per_class and m.space == "inception"]


def _get(cfg, dotted: str):
    obj = cfg
    for part in dotted.split("."):
        obj = getattr(obj, part)
    return obj
