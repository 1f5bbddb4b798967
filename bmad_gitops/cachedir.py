"""Where bmad-gitops keeps what it can rebuild: connector installs, compiled validators, logs."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    """`$BMAD_GITOPS_CACHE`, else `$XDG_CACHE_HOME/bmad-gitops`, else `~/.cache/bmad-gitops`."""
    own = os.environ.get("BMAD_GITOPS_CACHE")
    if own:
        return Path(own).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg).expanduser() if xdg else Path.home() / ".cache") / "bmad-gitops"
