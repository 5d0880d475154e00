"""The command reference page (docs/cli.md), made from the argparse parser itself so it cannot drift from --help.

`python -m harness.cli.reference > docs/cli.md` writes it; a test fails when the committed page differs.
"""

from __future__ import annotations

import argparse
import os
import sys
from contextlib import contextmanager

WIDTH = "100"  # columns the help is wrapped to, whatever the terminal


@contextmanager
def _columns(width: str):
    before = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = width
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("COLUMNS", None)
        else:
            os.environ["COLUMNS"] = before


def _subcommands(parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()):
    """(path of names, parser) of every subcommand, depth first (`data fetch` after `data`)."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield prefix + (name,), sub
                yield from _subcommands(sub, prefix + (name,))


def markdown() -> str:
    from harness.cli import build_parser

    with _columns(WIDTH):
        parser = build_parser()
        parts = ["# Command reference\n",
                 "Every command's `--help`, as the installed `harness` prints it (this page is generated from the "
                 "parser: `python -m harness.cli.reference > docs/cli.md`).\n",
                 "## harness\n", "```text\n" + parser.format_help().rstrip() + "\n```\n"]
        for path, sub in _subcommands(parser):
            parts += [f"## harness {' '.join(path)}\n", "```text\n" + sub.format_help().rstrip() + "\n```\n"]
    return "\n".join(parts)


if __name__ == "__main__":
    sys.stdout.write(markdown())
