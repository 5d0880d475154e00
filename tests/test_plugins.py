"""User variants from a folder (--plugins) and from installed packages' entry points."""

from __future__ import annotations

import pytest

from harness.errors import ConfigError
from harness.models import registry

PLUGIN = '''
from harness.models.registry import register_variant
from variants.dcgan import paper_dcgan


@register_variant
def my_slow_d():
    """My own variant: D learns at half the rate."""
    cfg = paper_dcgan()
    cfg.train.lr_d = 1e-4
    return cfg
'''


@pytest.fixture
def clean_registry():
    registry._load_builtin()  # else, when this is the first registry use, the built-ins are dropped on restore
    saved = dict(registry._REGISTRY)
    yield
    registry._REGISTRY.clear()
    registry._REGISTRY.update(saved)


def test_folder_plugins_register_variants(tmp_path, clean_registry):
    (tmp_path / "mine.py").write_text(PLUGIN)
    assert registry.load_plugins(tmp_path) == ["my_slow_d"]
    cfg = registry.build_config("my_slow_d")
    assert cfg.train.lr_d == 1e-4 and cfg.description == "My own variant: D learns at half the rate."


def test_broken_plugin_is_a_one_line_error(tmp_path, clean_registry):
    (tmp_path / "broken.py").write_text("import not_a_module_anywhere\n")
    with pytest.raises(ConfigError, match="broken.py: failed to load as a variant plugin: ModuleNotFoundError"):
        registry.load_plugins(tmp_path)
    with pytest.raises(ConfigError, match="not a folder"):
        registry.load_plugins(tmp_path / "nope")


def test_cli_lists_plugin_variants(tmp_path):
    from test_cli import assert_one_line_error, harness

    (tmp_path / "mine.py").write_text(PLUGIN)
    result = harness("--plugins", str(tmp_path), "variants", "my_*")
    assert result.returncode == 0 and "my_slow_d" in result.stdout and "changes: train.lr_d=0.0001" in result.stdout
    assert harness("variants", "my_*").returncode == 2  # not without the folder
    (tmp_path / "bad.py").write_text("raise RuntimeError('boom')\n")
    assert_one_line_error(harness("--plugins", str(tmp_path), "variants"), "bad.py: failed to load", "boom")


def test_entry_point_plugins_are_loaded(tmp_path, monkeypatch, clean_registry):
    import importlib.metadata as md
    import sys

    (tmp_path / "ep_variants.py").write_text(PLUGIN.replace("my_slow_d", "ep_variant"))
    monkeypatch.syspath_prepend(str(tmp_path))
    entry = md.EntryPoint(name="ep", value="ep_variants", group=registry.ENTRY_POINT_GROUP)
    monkeypatch.setattr(md, "entry_points", lambda group=None: [entry] if group == registry.ENTRY_POINT_GROUP else [])
    monkeypatch.setattr(registry, "_loaded", False)
    assert "ep_variant" in registry.list_variants()
    sys.modules.pop("ep_variants", None)


@pytest.mark.slow
@pytest.mark.eurosat
def test_a_sweep_with_two_jobs_sees_the_plugin_in_its_workers(tmp_path, eurosat_path):
    """Spawned workers resolve the cell's configuration themselves: --plugins must reach them (the README's own
    plugin example), and a cell that fails must not stop the others."""
    from test_cli import harness

    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "mine.py").write_text(PLUGIN)
    (plugins / "none.py").write_text(PLUGIN.replace("my_slow_d", "returns_none").replace("return cfg",
                                                                                         "return None"))
    result = harness("--plugins", str(plugins), "sweep", "--variants", "my_slow_d", "--seeds", "0,1",
                     "--profile", "smoke", "--set", "train.epochs=1", "--jobs", "2", "--out", str(tmp_path / "r"),
                     "--data", str(eurosat_path))
    assert result.returncode == 0, result.stderr[-2000:]
    assert (tmp_path / "r" / "my_slow_d-smoke-s0" / "status").read_text().strip() == "done"
    assert (tmp_path / "r" / "my_slow_d-smoke-s1" / "status").read_text().strip() == "done"
    assert result.stderr.count("oneDNN custom operations") == 0  # no TensorFlow banner per worker
    # A factory that returns nothing is named, in one line.
    bad = harness("--plugins", str(plugins), "config", "--variant", "returns_none")
    assert bad.returncode == 2 and "variant 'returns_none' (harness_user_plugins.none.returns_none) returned " \
        "NoneType, not a RunConfig" in bad.stderr
