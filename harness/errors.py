"""Errors the user can act on.

Every problem caused by input (a path, a value, a run folder) is raised as a
HarnessError with a one-line message that names the thing and what is wrong.
The CLI prints exactly that line and exits non-zero, with no traceback.
"""


class HarnessError(Exception):
    """A problem with the user's input or environment, reported in one line."""

    exit_code = 2


class ConfigError(HarnessError):
    """An unknown key, an impossible value or an incompatible combination."""


class DataError(HarnessError):
    """The EuroSAT archive is missing, malformed or does not match its checksum."""


class RunError(HarnessError):
    """A run folder cannot be created, resumed or read as asked."""


class RunLocked(RunError):
    """Another process holds the run's lock."""


class DamagedTable(RunError):
    """A run's table or record does not parse whole, or stops short of the epoch the run recorded as finished:
    a half-written file is never a result."""


class RunDiverged(HarnessError):
    """Training produced a non-finite loss; the run folder keeps what was written."""

    exit_code = 3
