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


def script_exit_code(main, prog: str | None = None) -> int:
    """Run a script's `main()` as the `harness` command runs its own: a HarnessError is printed as its one line,
    prefixed with the script's name (`prog`, by default the file run), and becomes the exit code; so is a file
    that cannot be read or written (OSError, whose message names the file; exit code 2). Anything else is a bug
    and keeps its traceback. For the dev tools, whose commands the evidence pages give for rerunning a figure."""
    import os
    import sys

    prog = prog or os.path.basename(sys.argv[0])
    try:
        return main()
    except HarnessError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except OSError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return HarnessError.exit_code
