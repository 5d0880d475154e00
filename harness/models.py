"""Keras generator and discriminator built from a validated ModelConfig.

Both models take the class as an integer and encode it with built-in Keras
layers only, so an exported generator loads with plain `keras.models.load_model`
and no harness code.
"""

from __future__ import annotations

import keras
from keras import layers

from harness.config import ModelConfig, scaled
from harness.eurosat import IMAGE_SHAPE, NUM_CLASSES


def _init(seed_gen: keras.random.SeedGenerator):
    # DCGAN's initialisation: N(0, 0.02) for weights.
    return keras.initializers.RandomNormal(0.0, 0.02, seed=seed_gen)


def _gamma_init(seed_gen: keras.random.SeedGenerator):
    return keras.initializers.RandomNormal(1.0, 0.02, seed=seed_gen)


def _norm(x, norm: str, seeds, name: str):
    if norm == "batch":
        return layers.BatchNormalization(momentum=0.9, epsilon=1e-5, gamma_initializer=_gamma_init(seeds),
                                         name=name)(x)
    return x


def build_generator(cfg: ModelConfig, *, seed: int = 0) -> keras.Model:
    """(noise [B, noise_dim], label int [B]) -> image [B, 64, 64, 3] in [-1, 1]."""
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
    x = _norm(x, g.norm, seeds, "project_bn")
    x = layers.ReLU(name="project_relu")(x)
    for i, f in enumerate(filters[1:], start=1):
        x = layers.Conv2DTranspose(f, g.kernel_size, strides=2, padding="same", use_bias=use_bias,
                                   kernel_initializer=_init(seeds), name=f"up{i}")(x)
        x = _norm(x, g.norm, seeds, f"up{i}_bn")
        x = layers.ReLU(name=f"up{i}_relu")(x)
    x = layers.Conv2D(IMAGE_SHAPE[-1], g.kernel_size, padding="same", kernel_initializer=_init(seeds),
                      name="to_rgb")(x)
    image = layers.Activation("tanh", dtype="float32", name="tanh")(x)
    return keras.Model([noise, label], image, name="generator")


def build_discriminator(cfg: ModelConfig, *, seed: int = 0) -> keras.Model:
    """(image [B, 64, 64, 3], label int [B]) -> real/fake logit [B, 1]."""
    d = cfg.d
    seeds = keras.random.SeedGenerator(seed + 1)
    filters = scaled(d.filters, cfg.width)
    use_bias = d.norm == "none"
    image = keras.Input(IMAGE_SHAPE, name="image")
    label = keras.Input((), dtype="int32", name="label")
    if d.label == "onehot":
        # The one-hot vector broadcast to every pixel: 3 + 10 = 13 input channels.
        code = layers.CategoryEncoding(NUM_CLASSES, output_mode="one_hot", name="label_onehot")(label)
        code = layers.Reshape((1, 1, NUM_CLASSES), name="label_1x1")(code)
        code = layers.UpSampling2D(IMAGE_SHAPE[0], name="label_map")(code)
    else:
        # A learned embedding projected to one extra 64x64 channel.
        code = layers.Embedding(NUM_CLASSES, d.embed_dim, embeddings_initializer=_init(seeds),
                                name="label_embedding")(label)
        code = layers.Dense(IMAGE_SHAPE[0] * IMAGE_SHAPE[1], kernel_initializer=_init(seeds),
                            name="label_projection")(code)
        code = layers.Reshape((IMAGE_SHAPE[0], IMAGE_SHAPE[1], 1), name="label_map")(code)
    x = layers.Concatenate(name="image_label")([image, code])
    for i, f in enumerate(filters, start=1):
        x = layers.Conv2D(f, d.kernel_size, strides=2, padding="same", use_bias=use_bias,
                          kernel_initializer=_init(seeds), name=f"down{i}")(x)
        x = _norm(x, d.norm, seeds, f"down{i}_bn")
        x = layers.LeakyReLU(d.leaky_slope, name=f"down{i}_lrelu")(x)
    x = layers.Flatten(name="flatten")(x)
    logit = layers.Dense(1, kernel_initializer=_init(seeds), dtype="float32", name="logit")(x)
    return keras.Model([image, label], logit, name="discriminator")
