"""Where a run's wall time goes: seconds per named phase, logged when the run ends.

The training step is what the benchmarks optimise; everything around it
(start-up, data, building the networks, evaluation, grids, tables,
checkpoints, the export) is what a user waits for too. One clock per run
adds up each phase as it happens, and `summary` writes the line that
log.txt ends with, so a slow phase is visible in every run rather than only
in a profiler session.
"""

from __future__ import annotations

import contextlib
import os
import time


class PhaseClock:
    def __init__(self):
        self.started = time.perf_counter()
        self.seconds: dict[str, float] = {}  # in the order the phases first ran

    @classmethod
    def since_process_start(cls) -> "PhaseClock":
        """A clock whose first phase, "start-up", is the process's age: Python, the CLI and its imports, for a
        `harness run` (a sweep worker's process is older than its run, so sweeps use a plain clock)."""
        clock = cls()
        age = process_age()
        if age is not None:
            clock.started -= age
            clock.add("start-up", age)
        return clock

    @contextlib.contextmanager
    def __call__(self, phase: str):
        """Add the wall time of the block to `phase` (exceptions included: a failed phase still took its time)."""
        began = time.perf_counter()
        try:
            yield
        finally:
            self.add(phase, time.perf_counter() - began)

    def add(self, phase: str, seconds: float) -> None:
        self.seconds[phase] = self.seconds.get(phase, 0.0) + seconds

    def summary(self) -> str:
        """'wall time 412.3 s: training 371.0 s (90.0%), evaluate 30.2 s (7.3%), ..., other 0.4 s (0.1%)', phases
        by decreasing time, those under 0.05 s left out; "other" is what no phase covered."""
        total = time.perf_counter() - self.started
        parts = sorted(((k, s) for k, s in self.seconds.items() if s >= 0.05), key=lambda kv: -kv[1])
        parts.append(("other", max(0.0, total - sum(self.seconds.values()))))
        share = (lambda s: 100 * s / total) if total > 0 else (lambda s: 0.0)
        return f"wall time {total:.1f} s: " + ", ".join(f"{name} {s:.1f} s ({share(s):.1f}%)" for name, s in parts)


def process_age() -> float | None:
    """Seconds since this process started (Linux /proc), or None where that cannot be read."""
    try:
        with open("/proc/self/stat") as f:
            start_ticks = int(f.read().rsplit(")", 1)[1].split()[19])  # field 22, after the command name
        with open("/proc/uptime") as f:
            uptime = float(f.read().split()[0])
        return max(0.0, uptime - start_ticks / os.sysconf("SC_CLK_TCK"))
    except (OSError, ValueError, IndexError):
        return None
