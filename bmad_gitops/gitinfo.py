"""Every git call the tool makes: where a definition lives in git, and which definitions a ref changed."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from .errors import ConfigError

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
