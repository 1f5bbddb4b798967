"""Every git call the tool makes: where a definition lives in git, which definitions a ref changed, and
one file committed on a branch without touching the working tree, its index or HEAD (the service's
`--git-branch`: blob, tree from the branch through a temporary index, commit-tree, update-ref)."""

from __future__ import annotations

import os
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .errors import BmadGitopsError, ConfigError

_TIMEOUT_S = 10


def git_output(root: Path, *args: str) -> str | None:
    """`git -C root ARGS` stripped output; None outside a repository, without git, or on failure."""
    try:
        done = subprocess.run(
            ["git", "-C", str(root), *args], capture_output=True, text=True, check=False, timeout=_TIMEOUT_S
        )
    except (OSError, subprocess.SubprocessError):
        return None
    out = done.stdout.strip()
    return out if done.returncode == 0 and out else None


@dataclass(frozen=True)
class Repository:
    top: str
    remote: str | None
    commit: str | None
    branch: str | None


def repository(root: Path) -> Repository | None:
    top = git_output(root, "rev-parse", "--show-toplevel")
    if top is None:
        return None
    return Repository(
        top=top,
        remote=git_output(root, "remote", "get-url", "origin"),
        commit=git_output(root, "rev-parse", "--verify", "--quiet", "HEAD^{commit}"),
        branch=git_output(root, "symbolic-ref", "--short", "--quiet", "HEAD"),
    )


def changed_files(root: Path, ref: str, folder: Path) -> list[str]:
    """Files under `folder` that differ from `ref` (committed, staged or not) plus untracked ones."""
    command = ["git", "-C", str(root), "diff", "--name-only", "--no-renames", ref, "--", str(folder)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, check=False, timeout=_TIMEOUT_S)
        untracked = subprocess.run(
            ["git", "-C", str(root), "ls-files", "--others", "--exclude-standard", "--", str(folder)],
            capture_output=True,
            text=True,
            check=False,
            timeout=_TIMEOUT_S,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        raise ConfigError(f"--changed-since {ref}: git could not run ({exc})", "install git") from None
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines()
        raise ConfigError(
            f"--changed-since {ref}: git could not compare ({lines[-1] if lines else 'unknown error'})",
            "give a branch, tag or commit that exists here (CI checkouts may need `fetch-depth: 0`)",
        )
    return [*done.stdout.splitlines(), *untracked.stdout.splitlines()]


_PLUMBING_TIMEOUT_S = 20


class GitCommitError(BmadGitopsError):
    pass


def _plumbing(root: Path, *args: str, stdin: bytes | None = None, env: dict[str, str] | None = None) -> str:
    try:
        done = subprocess.run(
            ["git", "-C", str(root), *args], input=stdin, capture_output=True, check=False, timeout=_PLUMBING_TIMEOUT_S, env=env
        )
    except (OSError, subprocess.SubprocessError) as exc:
        raise GitCommitError(f"git could not run ({type(exc).__name__})", "install git") from None
    if done.returncode != 0:
        lines = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise GitCommitError(f"git {args[0]} failed: {lines[-1] if lines else 'unknown error'}", "check the repository")
    return done.stdout.decode("utf-8").strip()


def commit_file_on_branch(root: Path, branch: str, path: Path, content: bytes | None, message: str) -> str:
    """Commit `content` at `path` (None: delete it) on `branch`, created from HEAD when new. Returns the commit."""
    top = Path(_plumbing(root, "rev-parse", "--show-toplevel"))
    relative = path.resolve().relative_to(top.resolve()).as_posix()
    ref = f"refs/heads/{branch}"
    _plumbing(root, "check-ref-format", ref)
    try:
        old = _plumbing(root, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    except GitCommitError:
        old = ""
    if not old:
        try:
            parent = _plumbing(root, "rev-parse", "--verify", "--quiet", "HEAD^{commit}")
        except GitCommitError:
            parent = ""
    else:
        parent = old
    with tempfile.TemporaryDirectory(prefix="bmad-gitops-index-") as scratch:
        env = {**os.environ, "GIT_INDEX_FILE": str(Path(scratch) / "index")}
        env.setdefault("GIT_AUTHOR_NAME", "bmad-gitops service")
        env.setdefault("GIT_AUTHOR_EMAIL", "bmad-gitops@localhost")
        env.setdefault("GIT_COMMITTER_NAME", env["GIT_AUTHOR_NAME"])
        env.setdefault("GIT_COMMITTER_EMAIL", env["GIT_AUTHOR_EMAIL"])
        if parent:
            _plumbing(top, "read-tree", parent, env=env)
        else:
            _plumbing(top, "read-tree", "--empty", env=env)
        if content is None:
            _plumbing(top, "update-index", "--force-remove", "--", relative, env=env)
        else:
            blob = _plumbing(top, "hash-object", "-w", "--stdin", stdin=content)
            _plumbing(top, "update-index", "--add", "--cacheinfo", f"100644,{blob},{relative}", env=env)
        tree = _plumbing(top, "write-tree", env=env)
        commit = _plumbing(top, "commit-tree", tree, *(["-p", parent] if parent else []), "-m", message, env=env)
        _plumbing(top, "update-ref", ref, commit, old or "0" * 40)  # refuses if someone moved the branch meanwhile
    return commit


def file_on_branch(root: Path, branch: str, path: Path) -> bytes | None:
    """The file's content on `branch`, or None when the branch or file does not exist."""
    try:
        top = Path(_plumbing(root, "rev-parse", "--show-toplevel"))
        relative = path.resolve().relative_to(top.resolve()).as_posix()
        out = subprocess.run(
            ["git", "-C", str(top), "show", f"refs/heads/{branch}:{relative}"], capture_output=True, check=False, timeout=_PLUMBING_TIMEOUT_S
        )
    except (OSError, ValueError, subprocess.SubprocessError, GitCommitError):
        return None
    return out.stdout if out.returncode == 0 else None
