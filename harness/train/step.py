"""The compiled training step of a conditional GAN, built from its parts.

`build_train_step` takes the networks and optimizers, the objective (which
losses), the regulariser of D (R1 and/or R2, or none), the augmentation of what D sees,
the generator average and the distribution strategy, and returns one
`tf.function` that does the paper's lock step: one D update, then one G
update on fresh fakes of the same classes as the real batch. The loop that
calls it (`harness.train.trainer`) knows none of these parts.

With a MirroredStrategy of R replicas, each replica takes its 1/R slice of
the global batch and of the step's noise (drawn for the whole global batch, so
it does not depend on R); batch-norm statistics are synchronised. Each
replica's loss is its slice's mean divided by R, and the optimizer sums the
replicas' gradients: the gradient of the global mean. So R replicas compute
the step a single device computes, up to float rounding (tested with 2
logical CPUs).

The step returns (d_loss, g_loss, d_acc_real, d_acc_fake) averaged over the
replicas; d_loss is the objective's loss without the regulariser, so it reads
the same for every variant.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable


@dataclass
class StepParts:
    generator: Any
    discriminator: Any
    g_opt: Any
    d_opt: Any
    objective: Any  # harness.train.objectives.Objective
    regulariser: Any = None  # harness.train.penalty.GradientPenalty (R1 and R2), or None
    augment: str = "none"  # train.augment
    ema: Any = None  # harness.train.ema.GeneratorEMA, or None
    mixed: bool = False  # float16 compute: the optimizers are LossScaleOptimizers


def build_train_step(parts: StepParts, *, strategy, batch: int, noise_dim: int, seed: int) -> Callable:
    import tensorflow as tf

    from harness.train.objectives import accuracy_fake, accuracy_real

    G, D, objective, r1 = parts.generator, parts.discriminator, parts.objective, parts.regulariser
    replicas = strategy.num_replicas_in_sync
    local = batch // replicas

    def replica_id():
        return tf.distribute.get_replica_context().replica_id_in_sync_group

    def shard(tensor):
        """This replica's slice of a global-batch tensor."""
        if replicas == 1:
            return tensor
        rid = replica_id()
        return tensor[rid * local:(rid + 1) * local]

    def noise(step, which):
        pair = tf.stack([tf.constant(seed, tf.int64), 2 * step + which])
        return shard(tf.random.stateless_normal([batch, noise_dim], seed=pair))

    seen_by_d = _augmentation(parts.augment, seed, replicas, replica_id)

    def logits(model, inputs):
        return tf.cast(model(inputs, training=True), tf.float32)

    def judged(images, labels, gamma):
        """(D's logits on images as it sees them, gamma's gradient penalty on them: R1 on reals, R2 on fakes)."""
        if gamma:
            return r1.logits_and_penalty(D, images, labels, gamma)
        return logits(D, [images, labels]), 0.0

    def for_gradient(opt, loss):
        """What to differentiate, computed under the tape: the replica's share, loss-scaled if mixed."""
        share = loss / replicas  # the optimizer sums the replicas' gradients
        return opt.scale_loss(share) if parts.mixed else share

    def update(opt, objective_value, variables, tape):
        opt.apply_gradients(zip(tape.gradient(objective_value, variables), variables))

    def replica_step(x, y, step, regularise: bool):
        x, y = shard(x), shard(y)
        with tf.GradientTape() as tape:
            fake = G([noise(step, 0), y], training=True)
            real_seen, fake_seen = seen_by_d(x, step, 0), seen_by_d(fake, step, 1)
            real_logits, penalty = judged(real_seen, y, r1.gamma if regularise else 0.0)
            fake_logits, fake_penalty = judged(fake_seen, y, r1.r2_gamma if regularise else 0.0)
            d_loss = objective.d_loss(real_logits, fake_logits)
            d_objective = for_gradient(parts.d_opt, d_loss + penalty + fake_penalty)
        update(parts.d_opt, d_objective, D.trainable_variables, tape)
        with tf.GradientTape() as tape:
            fake = G([noise(step, 1), y], training=True)
            # A relativistic objective pairs each fake with a real image: D's logits of the batch, seen afresh.
            paired = logits(D, [seen_by_d(x, step, 3), y]) if objective.pairs_real_in_g else None
            g_loss = objective.g_loss(logits(D, [seen_by_d(fake, step, 2), y]), paired)
            g_objective = for_gradient(parts.g_opt, g_loss)
        update(parts.g_opt, g_objective, G.trainable_variables, tape)
        return d_loss, g_loss, accuracy_real(real_logits), accuracy_fake(fake_logits)

    def compiled(regularise: bool):
        @tf.function(jit_compile=False, reduce_retracing=True)
        def train_step(x, y, step):
            if replicas == 1:
                values = replica_step(x, y, step, regularise)
            else:
                per_replica = strategy.run(replica_step, args=(x, y, step, regularise))
                mean = tf.distribute.ReduceOp.MEAN  # equal slices: the mean of means is the global mean
                values = tuple(strategy.reduce(mean, value, axis=None) for value in per_replica)
            if parts.ema is not None:  # cross-replica context: every replica's copy gets the same average
                parts.ema.update(step + 1)
            return values

        return train_step

    if r1 is None:
        return compiled(False)
    plain, regularised = compiled(False), compiled(True)
    if r1.every == 1:
        return regularised

    def lazy_step(x, y, step):
        """The regularised graph on R1's steps, the plain one between (step: an eager int64 scalar)."""
        return (regularised if r1.due(int(step)) else plain)(x, y, step)

    return lazy_step


def _augmentation(kind: str, seed: int, replicas: int, replica_id) -> Callable:
    """seen_by_d(images, step, which): what D sees of a batch (DiffAugment draws from (seed, step, which))."""
    import tensorflow as tf

    if kind != "diffaugment":
        return lambda images, step, which: images
    from harness.train.augment import diff_augment

    def seen_by_d(images, step, which):
        pair = tf.stack([tf.constant(seed, tf.int64), 4 * step + which])
        if replicas > 1:  # each replica augments its own images with its own draw
            pair = pair + tf.cast(tf.stack([0, replica_id() * 0x10000]), tf.int64)
        return diff_augment(images, pair)

    return seen_by_d
