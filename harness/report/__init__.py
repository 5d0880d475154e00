"""`harness report`: per-class tables, convergence curves, sample grids and significance across seeds."""

from harness.report.build import FORMATS, Report, build

__all__ = ["FORMATS", "Report", "build"]
