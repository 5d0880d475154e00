"""Every derived random stream of the harness, in one place.

Nothing random is drawn from a stateful generator: each stream is
`numpy.random.default_rng([..., STREAM_ID])`, keyed by what it depends on
(seed, epoch, class, ...) and by its own id, so two purposes never share
numbers by accident and a run resumed anywhere draws the same values. A test
checks that the ids are distinct. The values are the ones the harness has
always used: changing one changes results.
"""

from __future__ import annotations

TRAIN_ORDER = 0xDA7A  # the data order of a training epoch: (seed, epoch)
GRID_LATENTS = 0xE7A1  # the fixed latents of the sample grids: (seed)
EVAL_FAKE_LATENTS = 0xFEA7  # the evaluation latents per class: (seed, class)
EVAL_REAL_SAMPLE = 0x5EA1  # the real images drawn per class under the paper protocol: (seed, class)
GENERATE_LATENTS = 0x6E4  # `harness generate`: (seed)
CLASSIFIER_ORDER = 0xC1A5  # the reference classifier's data order and augmentation: (seed, epoch)
AUGMENT_SUBSET = 0xA06  # the k real images per class of the augmentation-gain experiment: (seed, k)
FLOOR_HALVES = 0xF100  # the two disjoint real samples of the real-vs-real floor: (class, n)
FLOOR_DRAWS = 2022  # the repeated disjoint real pairs of the floor's spread (tools/paper_floor.py): (class, n)
EMA_STANDING = 0xB57A  # the noise and labels that recompute the generator average's batch-norm statistics: (seed)

ALL = {name: value for name, value in globals().items() if name.isupper() and isinstance(value, int)}
