"""One typed configuration, validated in one place; profiles and the registry."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from harness import config
from harness.config import RunConfig
from harness.errors import ConfigError
from harness.models import registry
from harness.runs import profiles, runner

ROOT = Path(__file__).resolve().parents[1]


def test_unknown_key_suggests_close_matches():
    with pytest.raises(ConfigError, match=r"unknown configuration key 'train.lr_gen'; did you mean train.lr_g"):
        config.apply(RunConfig(), {"train.lr_gen": "1e-4"})


@pytest.mark.parametrize(
    "key,value,message",
    [
        ("train.batch_size", "0", "train.batch_size=0 must be >= 1"),
        ("train.epochs", "-3", "train.epochs=-3 must be >= 1"),
        ("model.width", "0.001", "model.width=0.001 makes a layer of model.g empty"),
        ("model.width", "-1", "model.width=-1.0 must be > 0"),
        ("model.g.norm", "group", "model.g.norm='group' must be one of batch, none"),
        ("train.beta_1", "1.5", "train.beta_1=1.5 must be in [0, 1)"),
        ("data.fraction", "0", "data.fraction=0.0 must be in (0, 1]"),
        ("model.d.filters", "64,128", "model.d.filters=[64, 128] needs 4 entries"),
    ],
)
def test_impossible_values_are_rejected_with_the_key(key, value, message):
    cfg = config.apply(RunConfig(), {key: value})
    with pytest.raises(ConfigError) as info:
        config.validate(cfg)
    assert message in str(info.value)


def test_incompatible_combination_is_rejected():
    cfg = config.apply(RunConfig(), {"data.per_class": "8", "data.fraction": "0.5"})
    with pytest.raises(ConfigError, match="cannot be combined with data.fraction"):
        config.validate(cfg)


@pytest.mark.parametrize("key,value", [("train.batch_size", "1.5"), ("train.lr_g", "fast"),
                                       ("log.tensorboard", "maybe"), ("model.g.filters", "a,b")])
def test_values_are_typed(key, value):
    with pytest.raises(ConfigError, match=f"{key}='{value}': expected"):
        config.apply(RunConfig(), {key: value})


def test_coercion_and_round_trip():
    cfg = config.apply(RunConfig(), {"train.batch_size": "64", "train.lr_g": "1e-4", "log.tensorboard": "false",
                                     "model.g.filters": "8,8,8,8,8", "train.epochs": "1e1"})
    assert cfg.train.batch_size == 64 and cfg.train.lr_g == 1e-4 and cfg.log.tensorboard is False
    assert cfg.model.g.filters == (8, 8, 8, 8, 8) and cfg.train.epochs == 10
    assert config.from_flat(config.flatten(cfg)) == cfg


def test_parse_assignments():
    assert config.parse_assignments(["train.lr_g=1e-4", " seed = 3 "]) == {"train.lr_g": "1e-4", "seed": "3"}
    with pytest.raises(ConfigError, match="expected KEY=VALUE"):
        config.parse_assignments(["train.lr_g"])


def test_diff_lists_changes():
    a = config.flatten(RunConfig())
    b = config.flatten(config.apply(RunConfig(), {"train.lr_d": "4e-4", "train.epochs": "5"}))
    assert config.diff(a, b, ignore=("train.epochs",)) == ["train.lr_d: 0.0002 -> 0.0004"]


def test_profiles_scale_but_do_not_change_the_model_family():
    for name in profiles.PROFILES:
        cfg = runner.resolve("paper_dcgan", profile=name)
        assert cfg.profile == name
        assert cfg.model.g.norm == "batch" and cfg.train.loss == "bce" and cfg.train.lr_g == 2e-4
    assert runner.resolve("paper_dcgan", profile="paper").data.split == "all"
    with pytest.raises(ConfigError, match="unknown profile 'gpu'"):
        runner.resolve("paper_dcgan", profile="gpu")


def test_profile_table_in_the_docs_is_generated_from_the_profiles():
    """docs/variants.md's profile table is python -m harness.runs.profiles: costs are kept in one place."""
    page = (ROOT / "docs" / "variants.md").read_text()
    assert profiles.markdown_table() in page, "docs/variants.md is stale: python -m harness.runs.profiles"


def test_readme_profile_costs_are_the_measured_ones():
    """Every duration the README's profile table gives (e.g. '19 min 25 s') is one that PROFILES records."""
    duration = re.compile(r"\d+ h \d+ min|\d+ min \d+ s|\d+ min|\d+ s")
    rows = {m.group(1): m.group(0) for m in re.finditer(r"^\| `(\w+)` \|.*$", (ROOT / "README.md").read_text(), re.M)}
    for name, profile in profiles.PROFILES.items():
        assert name in rows, f"README has no row for profile {name}"
        for figure in duration.findall(rows[name].split("|")[3]):
            assert figure in profile.cost, f"README says {figure!r} for {name}; PROFILES does not"


def test_cli_values_override_the_profile():
    cfg = runner.resolve("paper_dcgan", profile="smoke", seed=4, epochs=7, overrides={"train.lr_d": "4e-4"})
    assert (cfg.seed, cfg.train.epochs, cfg.train.lr_d, cfg.model.width) == (4, 7, 4e-4, 0.125)


def test_registry_lists_with_wildcards_and_rejects_unknown_names():
    assert "paper_dcgan" in registry.list_variants()
    assert registry.list_variants("paper_*") == ["paper_dcgan"]
    assert registry.list_variants("*nothing*") == []
    with pytest.raises(ConfigError, match="unknown variant 'paper_dcgn'; did you mean paper_dcgan"):
        registry.build_config("paper_dcgn")
    assert registry.description("paper_dcgan").startswith("The 2022 study's conditional DCGAN")


def test_registering_a_second_function_under_a_taken_name_fails():
    def paper_dcgan():  # noqa: F811 - deliberately the same name
        return RunConfig()

    with pytest.raises(ConfigError, match="registered twice"):
        registry.register_variant(paper_dcgan)


def test_importing_the_registry_does_not_import_tensorflow():
    import subprocess
    import sys

    code = ("import sys, harness.models.registry as r, harness.runs.runner; r.list_variants(); "
            "print('tensorflow' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
