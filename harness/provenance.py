"""Which code trained a run: the git commit of the tree `harness` was imported from, and whether it was changed.

Two cells can be compared only if the same code trained them, and a version string cannot say that: sweeps run
from frozen copies of older commits, and an edited checkout keeps its version. So every sitting of a run
records where the package it imported lives, the commit of that git tree, whether the code in it (the `harness`
and `variants` packages and pyproject.toml) differed from the commit, and a digest of that difference (the
diff against the commit and every untracked, not ignored, file under the code paths). A tree that is not a git
checkout (an installed release) records why there is no commit; nothing is ever guessed.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

# What counts as code: what a run imports or installs. Documentation and evidence written beside a running sweep
# must not make its own record "dirty".
CODE_PATHS = ("harness", "variants", "pyproject.toml")


def package_root() -> Path:
    """The folder holding the imported `harness` package (a checkout's root, or site-packages)."""
    import harness

    return Path(harness.__file__).resolve().parent.parent


def _git(root: Path, *args: str) -> bytes:
    return subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True, timeout=60).stdout


def code(root: Path | None = None) -> dict:
    """{version, source, commit, dirty, diff_digest} of the code imported now (or of the tree at `root`);
    `unrecorded` says why commit and dirty are null."""
    from harness import __version__

    root = Path(root) if root is not None else package_root()
    out = {"version": __version__, "source": str(root), "commit": None, "dirty": None, "diff_digest": None}
    if shutil.which("git") is None:
        return {**out, "unrecorded": "git is not installed"}
    try:
        top = Path(_git(root, "rev-parse", "--show-toplevel").decode().strip()).resolve()
        if top != root.resolve():
            return {**out, "unrecorded": f"the package is not at the root of a git checkout ({top})"}
        out["commit"] = _git(root, "rev-parse", "HEAD").decode().strip()
        diff = _git(root, "diff", "HEAD", "--binary", "--", *CODE_PATHS)
        untracked = sorted(p for p in _git(root, "ls-files", "--others", "--exclude-standard", "-z", "--",
                                          *CODE_PATHS).decode().split("\0") if p)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError):
        return {**out, "commit": None, "unrecorded": "not a git checkout (an installed release: its version names it)"}
    digest = hashlib.sha256(diff)
    for name in untracked:
        digest.update(b"\0" + name.encode() + b"\0")
        try:
            digest.update((root / name).read_bytes())
        except OSError:
            digest.update(b"<unreadable>")
    dirty = bool(diff or untracked)
    return {**out, "dirty": dirty, "diff_digest": digest.hexdigest()[:16] if dirty else None}


def label(code_record: dict | None) -> str:
    """A sitting's code in a few characters: "0.5.0 @ 1a2b3c4d", "+ changes 9f8e..." when dirty, "not recorded"
    for runs made before harness 0.5.0."""
    if not code_record:
        return "not recorded"
    version = code_record.get("version") or "?"
    commit = code_record.get("commit")
    if not commit:
        return f"{version} (no commit)"
    text = f"{version} @ {commit[:8]}"
    if code_record.get("dirty"):
        text += f" + changes {code_record.get('diff_digest') or '?'}"
    return text
