"""The FID Inception network (TF "2015-12-05" pool3 weights) rebuilt in Keras.

The graph follows the TorchScript file module by module (see
harness.evaluate.fid.torchscript): every `Conv2dLayer` is a bias-free convolution, then
batch norm with beta, mean and var (no gamma, eps 1e-3), then ReLU. Batch
norm is folded into the convolution (w / sqrt(var + eps), bias beta - mean /
sqrt(var + eps)). Blocks concatenate their branches in the order their
forward() does. Pools map onto TF's: a stride-1 padded max pool is TF
"same" max pooling, and an average pool with count_include_pad=False is
TF "same" average pooling, which also leaves the padding out of the count.

Input: uint8-valued images of any size, NHWC. They are resized to 299x299
with TensorFlow-1 bilinear resizing (align_corners=False,
half_pixel_centers=False, as in the original TF graph), then scaled by
(x - 128) / 128. Output: 2048 pool3 features.
"""

from __future__ import annotations

import numpy as np

from harness.errors import HarnessError
from harness.evaluate.fid.torchscript import ScriptObject

BN_EPS = 1e-3
SIZE = 299


def folded_weights(root: ScriptObject) -> dict[str, np.ndarray]:
    """{"<path>/kernel": HWIO, "<path>/bias": O} for every Conv2dLayer, BN folded in."""
    out: dict[str, np.ndarray] = {}

    def visit(obj: ScriptObject, path: str) -> None:
        if obj.class_name == "Conv2dLayer":
            scale = 1.0 / np.sqrt(obj["var"].astype(np.float64) + BN_EPS)
            kernel = obj["weight"].astype(np.float64) * scale[:, None, None, None]
            out[f"{path}/kernel"] = kernel.transpose(2, 3, 1, 0).astype(np.float32)
            out[f"{path}/bias"] = (obj["beta"] - obj["mean"] * scale).astype(np.float32)
            return
        for name, child in obj.children():
            visit(child, f"{path}.{name}" if path else name)

    visit(_layers(root), "")
    return out


def conv_settings(root: ScriptObject) -> dict[str, tuple[int, tuple[int, int]]]:
    """{"<path>": (stride, (pad_h, pad_w))} for every Conv2dLayer."""
    out = {}

    def visit(obj: ScriptObject, path: str) -> None:
        if obj.class_name == "Conv2dLayer":
            pad = obj["padding"]
            pad = (pad, pad) if isinstance(pad, int) else tuple(pad)
            out[path] = (int(obj["stride"]), pad)
            return
        for name, child in obj.children():
            visit(child, f"{path}.{name}" if path else name)

    visit(_layers(root), "")
    return out


def _layers(root: ScriptObject) -> ScriptObject:
    node = root
    while node.class_name != "Sequential":
        kids = node.children()
        if len(kids) != 1:
            raise HarnessError(f"unexpected TorchScript module {node.type_name}: expected one child")
        node = kids[0][1]
    return node


def build(root: ScriptObject, weights: dict[str, np.ndarray]):
    """The Keras model: float NHWC 299x299 in [-1, 1) -> (N, 2048)."""
    import keras
    from keras import layers

    settings = conv_settings(root)
    to_set = []

    def conv(x, path):
        stride, (ph, pw) = settings[path]
        kernel = weights[f"{path}/kernel"]
        kh, kw = kernel.shape[:2]
        if (ph, pw) == (0, 0):
            padding = "valid"
        elif stride == 1 and (2 * ph + 1, 2 * pw + 1) == (kh, kw):
            padding = "same"  # identical to symmetric zero padding here, and faster than an explicit pad
        else:
            x = layers.ZeroPadding2D(((ph, ph), (pw, pw)), name=f"{path}.pad")(x)
            padding = "valid"
        layer = layers.Conv2D(kernel.shape[-1], (kh, kw), strides=stride, padding=padding,
                              activation="relu", name=path)
        x = layer(x)
        to_set.append((layer, [kernel, weights[f"{path}/bias"]]))
        return x

    def pool(x, obj, path):
        c = obj.constants
        k, s, p = c.get("kernel_size"), c.get("stride"), c.get("padding", 0)
        if p == 0:
            padding = "valid"
        elif s == 1 and k == 2 * p + 1 and (obj.class_name == "MaxPool2d" or not c.get("count_include_pad", True)):
            padding = "same"
        else:
            raise HarnessError(f"unsupported pooling {obj.type_name} {c}")
        if obj.class_name == "MaxPool2d":
            return layers.MaxPooling2D(k, s, padding=padding, name=path)(x)
        return layers.AveragePooling2D(k, s, padding=padding, name=path)(x)

    def apply(x, obj, path):
        kind = obj.class_name
        if kind == "Conv2dLayer":
            return conv(x, path)
        if kind in ("MaxPool2d", "AvgPool2d"):
            return pool(x, obj, path)
        kids = [(f"{path}.{n}" if path else n, child) for n, child in obj.children()]
        if kind == "Sequential":
            for child_path, child in kids:
                x = apply(x, child, child_path)
            return x
        if kind in ("InceptionA", "InceptionB", "InceptionC", "InceptionD"):
            return layers.Concatenate(name=f"{path}.concat")([apply(x, c, p) for p, c in kids])
        if kind == "InceptionE":
            sub = dict(obj.children())
            a = apply(x, sub["tower_conv"], f"{path}.tower_conv")
            b = apply(apply(x, sub["tower_1_conv"], f"{path}.tower_1_conv"), sub["tower_1_conv_1"],
                      f"{path}.tower_1_conv_1")
            branches = [
                apply(x, sub["conv"], f"{path}.conv"),
                apply(a, sub["tower_mixed_conv"], f"{path}.tower_mixed_conv"),
                apply(a, sub["tower_mixed_conv_1"], f"{path}.tower_mixed_conv_1"),
                apply(b, sub["tower_1_mixed_conv"], f"{path}.tower_1_mixed_conv"),
                apply(b, sub["tower_1_mixed_conv_1"], f"{path}.tower_1_mixed_conv_1"),
                apply(apply(x, sub["tower_2_pool"], f"{path}.tower_2_pool"), sub["tower_2_conv"],
                      f"{path}.tower_2_conv"),
            ]
            return layers.Concatenate(name=f"{path}.concat")(branches)
        raise HarnessError(f"unsupported TorchScript module {obj.type_name}")

    inputs = keras.Input((SIZE, SIZE, 3), name="image")
    features = layers.Reshape((2048,), name="pool3")(apply(inputs, _layers(root), ""))
    model = keras.Model(inputs, features, name="fid_inception")
    for layer, values in to_set:
        layer.set_weights(values)
    return model


def preprocess(images):
    """uint8-valued NHWC -> float32 299x299 in [-1, 1), TF1 bilinear resize."""
    import tensorflow as tf

    x = tf.cast(images, tf.float32)
    if x.shape[1] != SIZE or x.shape[2] != SIZE:
        x = tf.raw_ops.ResizeBilinear(images=x, size=[SIZE, SIZE], align_corners=False, half_pixel_centers=False)
    return (x - 128.0) / 128.0
