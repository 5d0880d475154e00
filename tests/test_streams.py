"""The derived random streams: distinct ids, all declared in harness/streams.py."""

from __future__ import annotations

import re
from pathlib import Path

from harness import streams

PACKAGE = Path(streams.__file__).parent


def test_stream_ids_are_distinct():
    assert len(streams.ALL) >= 8
    assert len(set(streams.ALL.values())) == len(streams.ALL)


def test_no_module_keys_a_stream_with_its_own_literal():
    """A new stream gets a named id in harness/streams.py, not a number at the call site."""
    literal = re.compile(r"default_rng\(\[[^\]]*\b(0x[0-9A-Fa-f]+|\d{3,})\b")
    offenders = [f"{path.relative_to(PACKAGE)}:{n}" for path in PACKAGE.rglob("*.py")
                 for n, line in enumerate(path.read_text().splitlines(), start=1) if literal.search(line)]
    assert offenders == []
