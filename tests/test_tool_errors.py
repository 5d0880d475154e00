"""The dev tools report bad input as the `harness` command does: one line, a non-zero exit code, no traceback.

The evidence pages give each figure's tool command for rerunning it, so a reader who mistypes a path meets
these tools' errors as a user meets the CLI's.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from harness.errors import DamagedTable, RunDiverged, script_exit_code

TOOLS = Path(__file__).resolve().parents[1] / "tools"


def _raises(exc: BaseException):
    def main() -> int:
        raise exc

    return main


@pytest.mark.parametrize(("exc", "code"), [(DamagedTable("runs/x/metrics.csv: cut short"), 2),
                                           (RunDiverged("non-finite loss"), 3)])
def test_a_harness_error_is_its_line_and_exit_code(exc, code, capsys):
    assert script_exit_code(_raises(exc), "tool.py") == code
    assert capsys.readouterr().err == f"tool.py: error: {exc}\n"


def test_an_unreadable_file_is_one_line_naming_it(tmp_path, capsys):
    missing = tmp_path / "table.csv"
    assert script_exit_code(_raises(FileNotFoundError(2, "No such file or directory", str(missing))), "t.py") == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(missing) in err and err.startswith("t.py: error: ")


def test_a_bug_keeps_its_traceback():
    with pytest.raises(ZeroDivisionError):
        script_exit_code(_raises(ZeroDivisionError("a bug")), "t.py")


def test_a_clean_exit_passes_through():
    assert script_exit_code(lambda: 0, "t.py") == 0


def _main_block_calls(path: Path) -> set[str]:
    """The names called in the script's `if __name__ == "__main__":` block."""
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.If) and "__main__" in ast.unparse(node.test):
            return {n.func.id for n in ast.walk(node) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
    return set()


@pytest.mark.parametrize("tool", sorted(TOOLS.glob("*.py")), ids=lambda p: p.name)
def test_every_tool_runs_its_main_through_script_exit_code(tool):
    assert "script_exit_code" in _main_block_calls(tool), f"{tool.name}: main() not run through script_exit_code"


@pytest.mark.parametrize("args", [["paper_rerun.py", "nowhere-a", "nowhere-b"],
                                  ["paper_draws.py", "nowhere-a", "nowhere-b"],
                                  ["fid_terms.py", "--table", "nowhere.csv"]], ids=lambda a: a[0])
def test_a_tool_given_a_missing_path_says_so_in_one_line(args, tmp_path):
    done = subprocess.run([sys.executable, str(TOOLS / args[0]), *args[1:]], cwd=tmp_path, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 2, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.startswith(args[0])]
    assert len(lines) == 1 and "nowhere" in lines[0], done.stderr
    assert "Traceback" not in done.stderr
    assert list(tmp_path.iterdir()) == []
