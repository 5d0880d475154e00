"""Matplotlib on a machine with no display, and figures written atomically.

The report and the evidence tools draw on headless machines (CI, a training box over ssh), and a figure that a
killed process left half-written would be committed as if whole: every figure goes through `save_figure`.
"""

from __future__ import annotations

from pathlib import Path

from harness import atomicio


def pyplot():
    """matplotlib.pyplot on the Agg backend (no display needed), imported only when a figure is drawn."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig, path: Path, *, close: bool = True, **savefig) -> Path:
    """Write `fig` to `path` atomically, in the format its suffix names (PNG without one), at 110 dpi unless
    `savefig` says otherwise; close the figure after, unless told to keep it for another format."""
    options = {"format": path.suffix.lstrip(".") or "png", "dpi": 110, **savefig}
    atomicio.write_with(path, lambda tmp: fig.savefig(tmp, **options))
    if close:
        pyplot().close(fig)
    return path
