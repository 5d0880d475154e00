"""Keras generator and discriminator built from a validated ModelConfig.

Both models take the class as an integer. The exported generator is built from
Keras's own layers only (`plain_copy`), so it loads with plain
`keras.models.load_model` and no harness code; the layers here that compute the
same functions faster in training (fused batch norm, D's label-free first
convolution, kernel gradients as matrix products on small bfloat16 maps) never
leave the harness.
"""

from __future__ import annotations

import keras
from keras import layers

from harness.config import ModelConfig, scaled
from harness.data.eurosat import IMAGE_SHAPE, NUM_CLASSES
from harness.models.matmul_grads import MatmulGradConv2D, MatmulGradConv2DTranspose


def _init(seed_gen: keras.random.SeedGenerator):
    # DCGAN's initialisation: N(0, 0.02) for weights.
    return keras.initializers.RandomNormal(0.0, 0.02, seed=seed_gen)


def _gamma_init(seed_gen: keras.random.SeedGenerator):
    return keras.initializers.RandomNormal(1.0, 0.02, seed=seed_gen)


def _norm(x, norm: str, seeds, name: str, sync: bool = False, fused: bool = True):
    # sync: statistics over the global batch when data-parallel, so R replicas normalise as one device does.
    if norm == "batch":
        kind = FusedBatchNormalization if fused else layers.BatchNormalization
        return kind(momentum=0.9, epsilon=1e-5, gamma_initializer=_gamma_init(seeds), synchronized=sync,
                    name=name)(x)
    return x


class FusedBatchNormalization(layers.BatchNormalization):
    """Keras's BatchNormalization whose training-mode pass is TensorFlow's fused kernel: one op forward and one
    backward (oneDNN on CPUs) instead of Keras's moments and normalisation as a dozen elementwise ops over the
    whole activation. The same batch statistics, the same moving-average update (biased variance, as Keras) and
    the same output, up to float rounding (tested); about 4x faster on G's last layer at width 1/4
    (tools/profile_step.py). Its weights are Keras's, in Keras's order, so checkpoints do not change; the
    exported generator uses plain Keras layers (`plain_copy`). Under mixed_bfloat16 the kernel reads and writes
    bfloat16 and keeps its statistics in float32, as Keras does after casting (Keras's own pass is a dozen
    elementwise ops and casts over the whole activation: 40% of a full-width bf16 step on an AMX Xeon). Where the
    fused kernel does not apply (statistics synchronised across replicas, float16, a mask, inference) Keras's own
    computation runs."""

    def call(self, inputs, training=None, mask=None):
        import tensorflow as tf

        if not (training and self.trainable and mask is None and not self.synchronized and not self.renorm
                and self.scale and self.center and inputs.dtype in (tf.float32, tf.bfloat16) and len(inputs.shape) == 4
                and self.axis in (-1, 3)):
            return super().call(inputs, training=training, mask=mask)
        empty = tf.constant([], tf.float32)
        y, mean, unbiased, _, _, _ = tf.raw_ops.FusedBatchNormV3(
            x=inputs, scale=self.gamma, offset=self.beta, mean=empty, variance=empty, epsilon=self.epsilon,
            exponential_avg_factor=1.0, data_format="NHWC", is_training=True)
        # The kernel returns the Bessel-corrected variance (for TF's own running average) and normalises with the
        # biased one, which is what Keras averages: undo the correction, n = values per channel.
        n = tf.cast(tf.reduce_prod(tf.shape(inputs)[:3]), tf.float32)
        variance = tf.stop_gradient(unbiased) * ((n - 1.0) / n)
        self.moving_mean.assign(self.moving_mean * self.momentum + tf.stop_gradient(mean) * (1.0 - self.momentum))
        self.moving_variance.assign(self.moving_variance * self.momentum + variance * (1.0 - self.momentum))
        return y


def build_generator(cfg: ModelConfig, *, seed: int = 0, sync_bn: bool = False, fused_bn: bool = True) -> keras.Model:
    """(noise [B, noise_dim], label int [B]) -> image [B, 64, 64, 3] in [-1, 1]. fused_bn=False: plain Keras
    layers only (no fused batch norm, no matmul kernel gradients), for a file that loads without the harness
    (`plain_copy`) and as the reference the tests compare with."""
    g = cfg.g
    seeds = keras.random.SeedGenerator(seed)
    filters = scaled(g.filters, cfg.width)
    use_bias = g.norm == "none"
    noise = keras.Input((g.noise_dim,), name="noise")
    label = keras.Input((), dtype="int32", name="label")
    if g.label == "onehot":
        code = layers.CategoryEncoding(NUM_CLASSES, output_mode="one_hot", name="label_onehot")(label)
    else:
        code = layers.Embedding(NUM_CLASSES, g.embed_dim, embeddings_initializer=_init(seeds),
                                name="label_embedding")(label)
    x = layers.Concatenate(name="noise_label")([noise, code])
    x = layers.Dense(4 * 4 * filters[0], use_bias=use_bias, kernel_initializer=_init(seeds), name="project")(x)
    x = layers.Reshape((4, 4, filters[0]), name="to_4x4")(x)
    x = _norm(x, g.norm, seeds, "project_bn", sync_bn, fused_bn)
    x = layers.ReLU(name="project_relu")(x)
    for i, f in enumerate(filters[1:], start=1):
        if g.upsample == "transposed":
            up = MatmulGradConv2DTranspose if fused_bn else layers.Conv2DTranspose
            x = up(f, g.kernel_size, strides=2, padding="same", use_bias=use_bias, kernel_initializer=_init(seeds),
                   name=f"up{i}")(x)
        else:  # resize, then a stride-1 convolution: every output pixel sees the same number of input pixels
            x = layers.UpSampling2D(2, interpolation=g.upsample, name=f"up{i}_resize")(x)
            x = layers.Conv2D(f, g.kernel_size, padding="same", use_bias=use_bias, kernel_initializer=_init(seeds),
                              name=f"up{i}")(x)
        x = _norm(x, g.norm, seeds, f"up{i}_bn", sync_bn, fused_bn)
        x = layers.ReLU(name=f"up{i}_relu")(x)
    x = layers.Conv2D(IMAGE_SHAPE[-1], g.kernel_size, padding="same", kernel_initializer=_init(seeds),
                      name="to_rgb")(x)
    image = layers.Activation("tanh", dtype="float32", name="tanh")(x)
    return keras.Model([noise, label], image, name="generator")


def plain_copy(generator: keras.Model, cfg: ModelConfig) -> keras.Model:
    """The generator with plain Keras layers and the same weights: what is exported, so that
    `keras.models.load_model` reads it without the harness. Build it under the generator's dtype policy."""
    plain = build_generator(cfg, fused_bn=False)
    plain.set_weights(generator.get_weights())
    return plain


def build_discriminator(cfg: ModelConfig, *, seed: int = 0, sync_bn: bool = False,
                        label_maps: bool = False, matmul_grads: bool = True) -> keras.Model:
    """(image [B, 64, 64, 3], label int [B]) -> real/fake logit [B, 1].

    Label conditioning: "onehot" broadcasts the one-hot vector to 10 extra
    input channels (the paper); "embedding" projects a learned embedding to one
    extra 64x64 channel; "projection" adds <embed(y), h> to the logit, h being
    the flattened last feature map (Miyato & Koyama 2018).
    Normalisation: "batch" (the paper), "none", or "spectral" (Miyato et al.
    2018: every conv and the output layer spectrally normalised, no batch norm).
    "onehot" without spectral norm computes its first convolution with OneHotLabelConv2D, the same function as
    convolving the 13 concatenated channels, without them; `label_maps=True` builds the concatenation instead (the
    reference the tests compare with). Both have the same variables in the same order. `matmul_grads=False`:
    Keras's own Conv2D everywhere (the reference for harness.models.matmul_grads).
    """
    d = cfg.d
    seeds = keras.random.SeedGenerator(seed + 1)
    filters = scaled(d.filters, cfg.width)
    spectral = d.norm == "spectral"
    use_bias = d.norm != "batch"

    def wrap(layer):
        return layers.SpectralNormalization(layer, name=f"sn_{layer.name}") if spectral else layer

    image = keras.Input(IMAGE_SHAPE, name="image")
    label = keras.Input((), dtype="int32", name="label")
    fast_onehot = d.label == "onehot" and not spectral and not label_maps
    if fast_onehot:
        x = image
    elif d.label == "onehot":
        # The one-hot vector broadcast to every pixel: 3 + 10 = 13 input channels.
        code = layers.CategoryEncoding(NUM_CLASSES, output_mode="one_hot", name="label_onehot")(label)
        code = layers.Reshape((1, 1, NUM_CLASSES), name="label_1x1")(code)
        code = layers.UpSampling2D(IMAGE_SHAPE[0], name="label_map")(code)
        x = layers.Concatenate(name="image_label")([image, code])
    elif d.label == "embedding":
        code = layers.Embedding(NUM_CLASSES, d.embed_dim, embeddings_initializer=_init(seeds),
                                name="label_embedding")(label)
        code = layers.Dense(IMAGE_SHAPE[0] * IMAGE_SHAPE[1], kernel_initializer=_init(seeds),
                            name="label_projection")(code)
        code = layers.Reshape((IMAGE_SHAPE[0], IMAGE_SHAPE[1], 1), name="label_map")(code)
        x = layers.Concatenate(name="image_label")([image, code])
    else:
        x = image
    for i, f in enumerate(filters, start=1):
        conv = dict(filters=f, kernel_size=d.kernel_size, strides=2, padding="same", use_bias=use_bias,
                    kernel_initializer=_init(seeds), name=f"down{i}")
        if i == 1 and fast_onehot:
            x = OneHotLabelConv2D(**conv)([x, label])
        else:
            x = wrap((MatmulGradConv2D if matmul_grads else layers.Conv2D)(**conv))(x)
        if d.norm == "batch":
            x = _norm(x, d.norm, seeds, f"down{i}_bn", sync_bn)
        x = layers.LeakyReLU(d.leaky_slope, name=f"down{i}_lrelu")(x)
    if d.mbstd_group:
        x = MinibatchStddev(d.mbstd_group, name="minibatch_stddev")(x)
    h = layers.Flatten(name="flatten")(x)
    logit = wrap(layers.Dense(1, kernel_initializer=_init(seeds), dtype="float32", name="logit"))(h)
    if d.label == "projection":
        embed = layers.Embedding(NUM_CLASSES, h.shape[-1], embeddings_initializer=_init(seeds),
                                 name="label_embedding")(label)
        # Miyato & Koyama also normalise this embedding spectrally; Keras has no
        # spectral norm for Embedding, so it stays plain here.
        projection = layers.Dot(axes=1, name="projection")([embed, h])
        logit = layers.Add(name="logit_plus_projection")([logit, projection])
    return keras.Model([image, label], logit, name="discriminator")


class OneHotLabelConv2D(layers.Conv2D):
    """D's first convolution over the image and the one-hot label broadcast to 10 constant channels, computed
    without those channels.

    A convolution is linear in its input channels, so conv([x, onehot_map(y)], K) = conv(x, K_image) +
    conv(onehot_map(y), K_label), and the second term depends on y alone: it is the convolution of class y's
    constant map, zero padding included at the borders. Those 10 maps are convolved once per call (10 images, not
    the batch) and each image gathers its class's result. Same kernel (k, k, 3 + 10, F), same function up to float
    rounding; the label channels were 10 of the 13 channels this layer read, about 14% of a width-1/4 step's
    convolution FLOPs at the paper's kernel size."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.input_spec = None  # called on [image, label]

    def build(self, input_shape):
        image_shape, _ = input_shape
        super().build(tuple(image_shape[:-1]) + (image_shape[-1] + NUM_CLASSES,))  # the concatenation's kernel
        self.input_spec = None

    def call(self, inputs):
        image, label = inputs
        kernel = keras.ops.cast(self.kernel, self.compute_dtype)
        channels = image.shape[-1]
        out = self.convolution_op(image, kernel[:, :, :channels, :])
        onehot_maps = keras.ops.broadcast_to(keras.ops.eye(NUM_CLASSES, dtype=self.compute_dtype)[:, None, None, :],
                                             (NUM_CLASSES,) + tuple(image.shape[1:3]) + (NUM_CLASSES,))
        per_class = self.convolution_op(onehot_maps, kernel[:, :, channels:, :])
        out = out + keras.ops.take(per_class, keras.ops.cast(label, "int32"), axis=0)
        if self.use_bias:
            out = out + keras.ops.cast(self.bias, self.compute_dtype)
        return out

    def compute_output_shape(self, input_shape):
        paired = isinstance(input_shape[0], (tuple, list))  # [image, label] from Keras; the image's from build
        return super().compute_output_shape(input_shape[0] if paired else input_shape)


class MinibatchStddev(layers.Layer):
    """One more feature map: the standard deviation of each feature over a group of images, averaged over features
    and positions, broadcast to every position (Karras et al. 2018, ProGAN). D sees how varied a group of samples
    is, so a generator that draws one image per class is easier to tell from the data."""

    def __init__(self, group: int, **kwargs):
        super().__init__(**kwargs)
        self.group = group

    def call(self, x):
        from keras import ops

        shape = ops.shape(x)
        g = self.group
        if x.shape[0] is not None:  # a batch the group does not divide (D called on 10 images): the largest that does
            g = max(k for k in range(1, g + 1) if x.shape[0] % k == 0)
        y = ops.reshape(x, (g, -1, shape[1], shape[2], shape[3]))  # (g, B/g, H, W, C): image b in group b % (B/g)
        y = ops.cast(y, "float32")
        std = ops.sqrt(ops.var(y, axis=0) + 1e-8)  # (B/g, H, W, C)
        s = ops.mean(std, axis=(1, 2, 3))  # (B/g,)
        s = ops.tile(s, (g,))  # image b belongs to group b % (B/g), as the reshape grouped them
        s = ops.cast(ops.reshape(s, (-1, 1, 1, 1)), x.dtype) * ops.ones_like(x[..., :1])
        return ops.concatenate([x, s], axis=-1)

    def get_config(self):
        return {**super().get_config(), "group": self.group}
