"""Model shapes, documented parameter counts, and the conditioning contract."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from harness import registry, runner
from harness.models import build_discriminator, build_generator

# Documented in variants/dcgan.py and the README; recomputed by hand:
# G: Dense 138*8192 + ConvT 25*(512*256 + 256*128 + 128*64 + 64*32) + to_rgb 25*32*3+3 + BN 4*(512+256+128+64+32)
# D: Conv 25*(13*64 + 64*128 + 128*256 + 256*512) + Dense 8192+1 + BN 4*(64+128+256+512)
PAPER_G_PARAMS = 5_488_867
PAPER_D_PARAMS = 4_333_633


def test_paper_width_shapes_and_parameter_counts():
    cfg = registry.build_config("paper_dcgan")
    g, d = build_generator(cfg.model), build_discriminator(cfg.model)
    assert g.count_params() == PAPER_G_PARAMS
    assert d.count_params() == PAPER_D_PARAMS
    assert g.output_shape == (None, 64, 64, 3)
    assert d.output_shape == (None, 1)
    # The discriminator sees 3 image channels + the 10-channel one-hot label map.
    assert d.get_layer("image_label").output.shape[-1] == 13
    assert [layer.output.shape[1] for layer in g.layers if layer.name.startswith("up") and "_" not in layer.name] \
        == [8, 16, 32, 64]


def test_width_multiplier_scales_every_layer():
    cfg = runner.resolve("paper_dcgan", profile="cpu")
    g = build_generator(cfg.model)
    assert g.get_layer("up1").filters == 64 and g.get_layer("up4").filters == 8
    d = build_discriminator(cfg.model)
    assert [d.get_layer(f"down{i}").filters for i in range(1, 5)] == [16, 32, 64, 128]


def test_exported_generator_loads_without_harness(tmp_path):
    cfg = runner.resolve("paper_dcgan", profile="smoke")
    g = build_generator(cfg.model)
    g.save(tmp_path / "g.keras")
    code = (
        "import sys, numpy as np, keras\n"
        "m = keras.models.load_model(sys.argv[1])\n"
        "out = m([np.zeros((2, 128), 'float32'), np.array([0, 9], 'int32')], training=False)\n"
        "assert tuple(out.shape) == (2, 64, 64, 3)\n"
        "assert not any(k.startswith('harness') for k in sys.modules), 'harness was imported'\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path / "g.keras")], capture_output=True, text=True,
                         cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().endswith("ok")
