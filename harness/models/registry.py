"""The variant registry: a variant is a decorated factory returning a RunConfig.

    @register_variant
    def no_batchnorm() -> RunConfig:
        '''The paper's model without batch norm in either network.'''
        cfg = paper_dcgan()
        cfg.model.g.norm = cfg.model.d.norm = "none"
        return cfg

The function's name is the variant's name and the first line of its
docstring its description. Built-in variants live in the `variants` package;
importing this module does not import TensorFlow.
"""

from __future__ import annotations

import difflib
import fnmatch
import importlib
import pkgutil
from typing import Callable

from harness.config import RunConfig, scaled, validate
from harness.errors import ConfigError

Factory = Callable[[], RunConfig]
_REGISTRY: dict[str, Factory] = {}
_loaded = False


def register_variant(fn: Factory) -> Factory:
    name = fn.__name__
    if name in _REGISTRY and _REGISTRY[name] is not fn:
        raise ConfigError(f"variant {name!r} is registered twice ({fn.__module__} and {_REGISTRY[name].__module__})")
    _REGISTRY[name] = fn
    return fn


ENTRY_POINT_GROUP = "harness.variants"


ENV_PLUGINS = "HARNESS_PLUGINS"  # ':'-separated folders of variant modules, read wherever a variant is looked up
_plugin_folders: set[str] = set()


def _load_builtin() -> None:
    """Import the built-in variants, those of installed packages that declare an entry point in the group
    `harness.variants`, and the plugin folders $HARNESS_PLUGINS names. Every lookup calls this, so a process
    that only resolves configurations (a sweep's spawned worker, a Ray task) sees the same variants as the
    command that started it."""
    global _loaded
    if _loaded:
        load_env_plugins()
        return
    _loaded = True
    import variants

    for module in pkgutil.iter_modules(variants.__path__):
        importlib.import_module(f"variants.{module.name}")
    from importlib.metadata import entry_points

    for entry in entry_points(group=ENTRY_POINT_GROUP):
        try:
            entry.load()
        except Exception as exc:
            raise ConfigError(f"variant plugin {entry.name} ({entry.value}) failed to load: "
                              f"{type(exc).__name__}: {exc}") from None
    load_env_plugins()


def add_plugin_folder(folder) -> list[str]:
    """Load a plugin folder (`--plugins DIR`) and add it to $HARNESS_PLUGINS, so that every process this one
    starts (sweep workers, Ray tasks) loads it too. Returns the names it registered."""
    import os
    from pathlib import Path

    path = str(Path(folder).expanduser().resolve())
    known = [p for p in os.environ.get(ENV_PLUGINS, "").split(":") if p]
    if path not in known:
        os.environ[ENV_PLUGINS] = ":".join(known + [path])
    return load_plugins(path)


def load_env_plugins() -> None:
    """Load each folder $HARNESS_PLUGINS names that this process has not loaded yet."""
    import os

    for folder in (p for p in os.environ.get(ENV_PLUGINS, "").split(":") if p):
        load_plugins(folder)


def load_plugins(folder) -> list[str]:
    """Import every .py file in `folder` (a user's own variants); returns the names they registered."""
    import importlib.util
    from pathlib import Path

    folder = Path(folder).expanduser()
    if not folder.is_dir():
        raise ConfigError(f"--plugins {folder}: not a folder")
    key = str(folder.resolve())
    if key in _plugin_folders:  # loaded once per process: a second import would register its variants twice
        return []
    _plugin_folders.add(key)
    _load_builtin()
    before = set(_REGISTRY)
    for path in sorted(folder.glob("*.py")):
        spec = importlib.util.spec_from_file_location(f"harness_user_plugins.{path.stem}", path)
        module = importlib.util.module_from_spec(spec)
        try:
            spec.loader.exec_module(module)
        except ConfigError:
            raise
        except Exception as exc:
            raise ConfigError(f"{path}: failed to load as a variant plugin: {type(exc).__name__}: {exc}") from None
    return sorted(set(_REGISTRY) - before)


def list_variants(pattern: str = "*") -> list[str]:
    """Registered names matching a shell-style wildcard (or comma-separated list of them)."""
    _load_builtin()
    patterns = [p.strip() for p in pattern.split(",") if p.strip()] or ["*"]
    return sorted(n for n in _REGISTRY if any(fnmatch.fnmatchcase(n, p) for p in patterns))


def description(name: str) -> str:
    """The first paragraph of the factory's docstring, on one line (a sentence wrapped over two lines, as at
    "(Karras et al." / "2018)", stays whole)."""
    doc = (get_factory(name).__doc__ or "").strip()
    return " ".join(line.strip() for line in doc.split("\n\n")[0].splitlines()) if doc else ""


def get_factory(name: str) -> Factory:
    _load_builtin()
    if name not in _REGISTRY:
        close = difflib.get_close_matches(name, _REGISTRY, n=3, cutoff=0.5)
        hint = f"; did you mean {', '.join(close)}?" if close else "; `harness variants` lists them"
        raise ConfigError(f"unknown variant {name!r}{hint}")
    return _REGISTRY[name]


def build_config(name: str) -> RunConfig:
    """The variant's validated configuration at full (paper) scale."""
    factory = get_factory(name)
    cfg = factory()
    if not isinstance(cfg, RunConfig):
        raise ConfigError(f"variant {name!r} ({factory.__module__}.{factory.__qualname__}) returned "
                          f"{type(cfg).__name__}, not a RunConfig")
    cfg.variant = name
    cfg.description = description(name)
    return validate(cfg)


def summary(cfg: RunConfig) -> str:
    """The key settings in one line, for `harness variants`."""
    m, t = cfg.model, cfg.train
    g_f = "-".join(map(str, scaled(m.g.filters, m.width)))
    d_f = "-".join(map(str, scaled(m.d.filters, m.width)))
    return (f"G {g_f} k{m.g.kernel_size} norm={m.g.norm} label={m.g.label} | "
            f"D {d_f} k{m.d.kernel_size} norm={m.d.norm} label={m.d.label} | "
            f"loss={t.loss} lr_g={t.lr_g:g} lr_d={t.lr_d:g} batch={t.batch_size}")


BASELINE = "paper_dcgan"
_NOT_SETTINGS = ("variant", "description", "profile")


def changes(cfg: RunConfig, baseline: str = BASELINE) -> list[str]:
    """Every configuration key `cfg` sets differently from the baseline variant, as KEY=VALUE (the keys
    `--set` takes): `harness variants` shows all of them, so two variants never look alike when they differ."""
    from harness.config import flatten

    base = flatten(build_config(baseline))
    out = []
    for key, value in flatten(cfg).items():
        if key not in _NOT_SETTINGS and base.get(key) != value:
            shown = ",".join(map(str, value)) if isinstance(value, list) else f"{value:g}" \
                if isinstance(value, float) else str(value)
            out.append(f"{key}={shown}")
    return out
