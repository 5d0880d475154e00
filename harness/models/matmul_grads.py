"""Stride-2 convolutions whose kernel gradient is one matrix product, where oneDNN's own kernel is slow.

At the paper's width the smallest feature maps carry the most channels: D's last convolution (8x8x256 ->
4x4x512) and G's first transposed one (4x4x512 -> 8x8x256) have the same kernel gradient shape. On a 2-core
Xeon with AMX (family 6, model 167), oneDNN's bfloat16 Conv2DBackpropFilter for that shape ran at 180 GFLOP/s
(75 ms at batch 128), slower than its float32 one, while the same gradient as patches^T x gradient (im2col
and one bfloat16 matrix product) took 23 ms (`docs/performance.md`). On larger maps the patch matrix costs more
than it saves (16x16x128 -> 256: 28 ms by oneDNN, 37 ms as a product), and so it does on small kernels: the
whole bfloat16 step at width 1/4 (batch 64) ran at 305 img/s with this path on D's last and G's first layer
against 381 without, at width 1/2 (batch 128) 464 against 441, at width 1 143.8 against 122.0 (float32: 54.1,
so bfloat16 went from 2.26x to 2.66x float32). So only convolutions whose output (for a transposed one:
input) has at most SMALL_MAP pixels per image and whose kernel has at least MIN_KERNEL weights, computed in
bfloat16 on a CPU, take this path; everything else runs Keras's own layer unchanged. The forward pass and
the input gradient are the same TensorFlow ops as Keras's; the kernel gradient is the same sum in another
order (equal up to rounding, tested), and it is itself differentiable, so gradient penalties work through it.
Measured on one machine (2-core Intel Xeon with AMX, family 6, model 167, other work paused).
"""

from __future__ import annotations

import math

import keras
from keras import layers

SMALL_MAP = 16  # pixels per image: 4x4
MIN_KERNEL = 500_000  # weights: width 1/2's 5x5x128x256 (819,200) and above; not width 1/4's (204,800)


def _patches(x, kernel_size: tuple[int, int], strides: tuple[int, int]):
    """im2col: [B, H, W, C] -> [B * H' * W', kh * kw * C], rows in the order a HWIO kernel flattens."""
    import tensorflow as tf

    p = tf.image.extract_patches(x, sizes=[1, *kernel_size, 1], strides=[1, *strides, 1], rates=[1, 1, 1, 1],
                                 padding="SAME")
    return tf.reshape(p, [-1, p.shape[-1]])


def _kernel_gradient(x, dy, kernel_shape, strides):
    """dL/dK of y = conv2d(x, K, strides, SAME) given dy = dL/dy: patches(x)^T @ dy, as a HWIO kernel."""
    import tensorflow as tf

    grad = tf.matmul(_patches(x, kernel_shape[:2], strides), tf.reshape(dy, [-1, dy.shape[-1]]), transpose_a=True)
    return tf.reshape(grad, kernel_shape)


def conv2d(x, kernel, strides: tuple[int, int]):
    """conv2d(x, kernel, strides, SAME) whose kernel gradient is a matrix product."""
    import tensorflow as tf

    @tf.custom_gradient
    def forward(x, kernel):
        def grad(dy):
            dx = tf.raw_ops.Conv2DBackpropInput(input_sizes=tf.shape(x), filter=kernel, out_backprop=dy,
                                                strides=[1, *strides, 1], padding="SAME")
            return dx, _kernel_gradient(x, dy, kernel.shape, strides)

        return tf.nn.conv2d(x, kernel, [1, *strides, 1], "SAME"), grad

    return forward(x, kernel)


def conv2d_transpose(x, kernel, strides: tuple[int, int]):
    """conv2d_transpose(x, kernel [kh, kw, out, in], strides, SAME), output H * stride, whose kernel gradient is
    a matrix product: the transposed convolution's kernel gradient is the forward one's with x and dy swapped."""
    import tensorflow as tf

    @tf.custom_gradient
    def forward(x, kernel):
        out_shape = tf.stack([tf.shape(x)[0], x.shape[1] * strides[0], x.shape[2] * strides[1], kernel.shape[2]])

        def grad(dy):
            dx = tf.nn.conv2d(dy, kernel, [1, *strides, 1], "SAME")
            return dx, _kernel_gradient(dy, x, kernel.shape, strides)

        return tf.nn.conv2d_transpose(x, kernel, out_shape, [1, *strides, 1], "SAME"), grad

    return forward(x, kernel)


def _applies(layer, inputs, small_pixels: int) -> bool:
    """This path only where it was measured faster: bfloat16, a small map, a large kernel, SAME padding, no
    dilation, on a CPU."""
    import tensorflow as tf

    return (inputs.dtype == tf.bfloat16 and small_pixels <= SMALL_MAP and math.prod(layer.kernel.shape) >= MIN_KERNEL
            and layer.padding == "same" and tuple(layer.dilation_rate) == (1, 1)
            and layer.data_format == "channels_last" and not tf.config.list_logical_devices("GPU"))


class MatmulGradConv2D(layers.Conv2D):
    """keras.layers.Conv2D (same weights, same forward ops) whose kernel gradient is a matrix product on small
    bfloat16 maps (module docstring)."""

    def convolution_op(self, inputs, kernel):
        out_pixels = -(-inputs.shape[1] // self.strides[0]) * -(-inputs.shape[2] // self.strides[1])
        if not _applies(self, inputs, out_pixels):
            return super().convolution_op(inputs, kernel)
        return conv2d(inputs, keras.ops.cast(kernel, inputs.dtype), tuple(self.strides))


class MatmulGradConv2DTranspose(layers.Conv2DTranspose):
    """keras.layers.Conv2DTranspose (same weights, same forward ops) whose kernel gradient is a matrix product on
    small bfloat16 maps (module docstring)."""

    def call(self, inputs):
        if self.output_padding is not None or not _applies(self, inputs, inputs.shape[1] * inputs.shape[2]):
            return super().call(inputs)
        out = conv2d_transpose(inputs, keras.ops.cast(self.kernel, inputs.dtype), tuple(self.strides))
        if self.use_bias:
            out = out + keras.ops.cast(self.bias, out.dtype)
        return self.activation(out) if self.activation is not None else out
