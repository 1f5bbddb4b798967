"""Install a pinned connector once per machine, into one shared venv per version, behind a file lock.

The version always comes from the registry (`connectors/registry.py`); nothing here decides which one.
Looking up what is installed reads files only: no `import airbyte`.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from ...cachedir import cache_dir
from ...errors import ConnectorError
from .failures import connector_errors
from .runtime import environ, load_airbyte, quiet_stderr

_VERSION_MARKER = "installed-version"
_INSTALL_LOCK_TIMEOUT_S = 900


def pip_url(name: str, version: str) -> str:
    return f"airbyte-{name}=={version}"


def install_root(name: str, version: str) -> Path:
    """One venv per connector version, shared by every project on the machine."""
    return cache_dir() / "connectors" / f"{name}-{version}"


def _venv(name: str, version: str) -> Path:
    return install_root(name, version) / f".venv-{name}"  # PyAirbyte's own naming inside install_root


def _executable(name: str, version: str) -> Path:
    folder = _venv(name, version) / ("Scripts" if os.name == "nt" else "bin")
    return folder / (f"{name}.exe" if os.name == "nt" else name)


def installed_version(name: str, version: str) -> str | None:
    """The version installed in the shared cache for this pin, or None."""
    try:
        found = (install_root(name, version) / _VERSION_MARKER).read_text(encoding="utf-8").strip()
    except OSError:
        return None
    return found if found and _executable(name, version).exists() else None


def ensure_installed(name: str, version: str) -> str:
    """Install the pinned connector unless it is already there; return the installed version."""
    found = installed_version(name, version)
    if found is not None:
        return found
    from filelock import FileLock, Timeout

    root = install_root(name, version)
    root.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(root.parent / f"{root.name}.lock"), timeout=_INSTALL_LOCK_TIMEOUT_S)
    try:
        with lock:
            found = installed_version(name, version)  # another process may have finished while we waited
            if found is None:
                found = _install(name, version, root)
                marker = root / _VERSION_MARKER
                tmp = marker.with_suffix(".tmp")
                tmp.write_text(found + "\n", encoding="utf-8")
                tmp.replace(marker)  # the marker appears only once the venv is complete
            return found
    except Timeout:
        raise ConnectorError(
            f"another process has been installing {name} for {_INSTALL_LOCK_TIMEOUT_S // 60} minutes",
            f"if none is running, delete {lock.lock_file}",
        ) from None


def _install(name: str, version: str, root: Path) -> str:
    if _executable(name, version).exists() and _distribution_version(name, version) == version:
        return version  # a complete venv without our marker: adopt it rather than pull it from under a user
    # Anything else there is the leftover of an interrupted install, which PyAirbyte would trust as is.
    shutil.rmtree(_venv(name, version), ignore_errors=True)
    with quiet_stderr(), connector_errors(name, {}, installing=version), environ(UV_COMPILE_BYTECODE="1"):
        # Compiling at install time spares the first connector start (pandas & co.) several seconds.
        load_airbyte()
        from airbyte import get_source

        get_source(name, pip_url=pip_url(name, version), install_root=root)
    return _distribution_version(name, version) or version


def _distribution_version(name: str, version: str) -> str | None:
    """The version pip recorded in the connector venv, read from its dist-info (no subprocess)."""
    dist = f"airbyte_{name.replace('-', '_')}"
    for metadata in sorted(_venv(name, version).glob(f"lib*/python*/site-packages/{dist}-*.dist-info/METADATA")):
        for line in metadata.read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith("Version:"):
                return line.partition(":")[2].strip()
    return None
