"""The `harness` command line: main() parses (harness.cli.parser), runs the command (harness.cli.commands) and
turns every error into one line and an exit code.

Every command's defaults come from the same functions the Python API uses
(harness.runs.runner.resolve, harness.runs.profiles, harness.paths); nothing here
decides anything a user of the API would not get too.
"""

from __future__ import annotations

import logging
import os
import sys

from harness.cli.commands import COMMANDS
from harness.cli.parser import EXIT_CODES, INTERNAL_ERROR, build_parser
from harness.errors import HarnessError
from harness.train.devices import import_tensorflow_quietly

__all__ = ["COMMANDS", "EXIT_CODES", "INTERNAL_ERROR", "build_parser", "main"]


# Commands that load TensorFlow (the others never import it).
TENSORFLOW_COMMANDS = ("run", "sweep", "eval", "fid", "generate", "classifier", "report")


def main(argv: list[str] | None = None) -> int:
    quiet = not os.environ.get("HARNESS_DEBUG") and "TF_CPP_MIN_LOG_LEVEL" not in os.environ
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TF's C++ start-up chatter hides our own messages
    # TensorFlow runs ops one at a time in every command, not only in `run` (which sets it itself, for callers
    # from Python too): a reference classifier trained by `eval` or `classifier` then repeats to the bit in a new
    # process (docs/design.md, Determinism). Through the environment, so that no command has to import
    # TensorFlow early for it, and spawned sweep workers inherit it; a value of the user's own is kept (for
    # every command but `run`, which always uses one).
    os.environ.setdefault("TF_NUM_INTEROP_THREADS", "1")
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # --help, --version, or a bad argument (its one line already printed): a return code
        return exc.code if isinstance(exc.code, int) else 0
    except KeyboardInterrupt:  # Ctrl-C in the first second: the same one line as later
        print("harness: interrupted", file=sys.stderr)
        return 130
    try:
        if quiet and args.command in TENSORFLOW_COMMANDS and "tensorflow" not in sys.modules:
            import_tensorflow_quietly()  # inside the try: Ctrl-C during the import is "interrupted", as later
        from harness.models import registry

        registry.load_env_plugins()
        for folder in args.plugins:
            registry.add_plugin_folder(folder)  # spawned sweep workers and Ray tasks inherit it
        return COMMANDS[args.command](args)
    except HarnessError as exc:
        print(f"harness: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("harness: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader went away (`harness profiles | head`): nothing more to say
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # so the final flush cannot fail too
        return 0
    except Exception as exc:  # a bug, not bad input: one line here, the traceback with HARNESS_DEBUG=1
        if os.environ.get("HARNESS_DEBUG"):
            raise
        print(f"harness: internal error: {type(exc).__name__}: {exc} (rerun with HARNESS_DEBUG=1 for a traceback)",
              file=sys.stderr)
        return INTERNAL_ERROR


if __name__ == "__main__":
    sys.exit(main())
