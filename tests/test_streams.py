"""The derived random streams: distinct ids, all declared in harness/streams.py, and the floor's draws."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from harness import streams
from harness.evaluate.fid.floor import disjoint_pairs

PACKAGE = Path(streams.__file__).parent
TOOLS = PACKAGE.parent / "tools"


def test_stream_ids_are_distinct():
    assert len(streams.ALL) >= 8
    assert len(set(streams.ALL.values())) == len(streams.ALL)


def test_no_module_keys_a_stream_with_its_own_literal():
    """A new stream gets a named id in harness/streams.py, not a number at the call site: in the package and in
    the tools that make its evidence (two tools once each keyed "the floor's first pair" with their own 2022)."""
    literal = re.compile(r"default_rng\(\[[^\]]*\b(0x[0-9A-Fa-f]+|\d{3,})\b")
    files = [*PACKAGE.rglob("*.py"), *TOOLS.glob("*.py")]
    assert any(path.parent == TOOLS for path in files)
    offenders = [f"{path.name}:{n}" for path in files
                 for n, line in enumerate(path.read_text().splitlines(), start=1) if literal.search(line)]
    assert offenders == []


def test_floor_draws_are_disjoint_repeatable_and_the_published_ones():
    """The floor's pairs: disjoint, the same on every call, different per class, and still the draws that made
    docs/evidence/paper/floor.csv (the permutation stream it was computed with)."""
    a, b = next(disjoint_pairs(3, 5, 40))
    assert len(a) == len(b) == 5 and not set(a) & set(b) and max(*a, *b) < 40
    pairs = disjoint_pairs(3, 5, 40)
    first, second = next(pairs), next(pairs)
    assert not np.array_equal(first[0], second[0])  # each draw is a new pair
    again = next(disjoint_pairs(3, 5, 40))
    assert np.array_equal(again[0], a) and np.array_equal(again[1], b)
    other = next(disjoint_pairs(4, 5, 40))
    assert not np.array_equal(other[0], a)
    published = np.random.default_rng([3, 5, streams.FLOOR_DRAWS]).permutation(40)[:10]
    assert np.array_equal(np.concatenate([a, b]), published)
    assert streams.FLOOR_DRAWS == 2022


def test_floor_draws_refuse_a_class_too_small_for_two_samples():
    with pytest.raises(ValueError, match="need 10 images; the class has 9"):
        next(disjoint_pairs(0, 5, 9))
