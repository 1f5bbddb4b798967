"""What PyAirbyte changes for the whole process, done once and undone safely: environment, import, stderr.

PyAirbyte reads settings from the environment at import time and prints to stderr, and connectors inherit our
stderr; so the first connector call sets the environment and every call shares one stderr redirect to a log.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import IO, TextIO

from ...cachedir import cache_dir

_STDERR_LOG_MAX_BYTES = 5_000_000


def connector_log() -> Path:
    """Where connector stderr (and the full text of their errors) goes; never the terminal."""
    return cache_dir() / "logs" / "connector-stderr.log"


@contextlib.contextmanager
def environ(**values: str) -> Iterator[None]:
    """Set environment variables for the duration, unless the user already set them."""
    added = [key for key in values if key not in os.environ]
    for key in added:
        os.environ[key] = values[key]
    try:
        yield
    finally:
        for key in added:
            os.environ.pop(key, None)


def _prepare_environment() -> None:
    """Settings PyAirbyte reads at import time; a user's own values win."""
    os.environ.setdefault("AIRBYTE_OFFLINE_MODE", "1")  # the connector registry is unreachable; also no telemetry
    os.environ.setdefault("DO_NOT_TRACK", "1")
    # `uv` ships in our venv's bin/, which is not on PATH when `.venv/bin/bmad-gitops` runs without activation.
    bin_dir = str(Path(sys.executable).parent)
    path = os.environ.get("PATH", "")
    if bin_dir not in path.split(os.pathsep):
        os.environ["PATH"] = bin_dir + os.pathsep + path if path else bin_dir
    if shutil.which("uv") is None:
        os.environ.setdefault("AIRBYTE_NO_UV", "1")
    logs = cache_dir() / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("AIRBYTE_LOGGING_ROOT", str(logs))


_IMPORT_LOCK = threading.Lock()
_IMPORTED = threading.Event()


def load_airbyte() -> None:
    """Import PyAirbyte once, after the environment it reads at import time is set.

    Threads wait for the one import to finish: `"airbyte" in sys.modules` is already true while another thread
    is half-way through the import, and using it then fails with "partially initialized module" errors.
    """
    if _IMPORTED.is_set():
        return
    with _IMPORT_LOCK:
        if _IMPORTED.is_set():
            return
        _prepare_environment()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # google-cloud packages warn about Python 3.11 on import
            import airbyte  # noqa: F401
        _cdk_logs_to_file()
        _IMPORTED.set()


def _cdk_logs_to_file() -> None:
    """The CDK's `init_logger` (run for every in-process source) points the root logger at stdout as JSON `LOG`
    records; point that handler at the connector log instead, so no library line reaches the terminal raw."""
    try:
        from airbyte_cdk import logger as cdk_logger
    except ImportError:
        return
    target = connector_log()
    target.parent.mkdir(parents=True, exist_ok=True)
    handlers: dict[str, object] = cdk_logger.LOGGING_CONFIG["handlers"]  # type: ignore[assignment]
    handlers["console"] = {
        "class": "logging.FileHandler",
        "filename": str(target),
        "formatter": "airbyte",
        "encoding": "utf-8",
    }
    # Modules imported with airbyte may have run init_logger already: apply the corrected config now too.
    import logging.config

    logging.config.dictConfig(cdk_logger.LOGGING_CONFIG)


class _StderrRedirect:
    """One process-wide redirect of fd 2, shared by every thread that runs a connector.

    `plan --parallelism N` discovers sources in threads; if each thread swapped fd 2 on its own, one thread
    would restore (and close) what another was still writing to. So the first thread in redirects and the
    last one out restores.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._users = 0
        self._sink: IO[str] | None = None
        self._saved_fd: int | None = None
        self._saved_stderr: TextIO | None = None

    def enter(self) -> None:
        with self._lock:
            self._users += 1
            if self._users > 1:
                return
            target = connector_log()
            target.parent.mkdir(parents=True, exist_ok=True)
            mode = "w" if target.exists() and target.stat().st_size > _STDERR_LOG_MAX_BYTES else "a"
            sink = self._sink = open(target, mode, encoding="utf-8")  # noqa: SIM115 - closed in leave()
            sys.stderr.flush()
            try:
                self._saved_fd = os.dup(2)
            except OSError:  # no file descriptor 2 (e.g. pythonw): the Python-level redirect is all we can do
                self._saved_fd = None
            if self._saved_fd is not None:
                os.dup2(sink.fileno(), 2)
            self._saved_stderr = sys.stderr
            sys.stderr = sink

    def leave(self) -> None:
        with self._lock:
            self._users -= 1
            if self._users > 0 or self._sink is None:
                return
            self._sink.flush()
            if self._saved_stderr is not None:
                sys.stderr = self._saved_stderr
            if self._saved_fd is not None:
                os.dup2(self._saved_fd, 2)
                os.close(self._saved_fd)
            self._sink.close()
            self._sink = self._saved_fd = self._saved_stderr = None


_STDERR = _StderrRedirect()


@contextlib.contextmanager
def quiet_stderr() -> Iterator[None]:
    """Send stderr, ours and the connector subprocesses', to a log file while PyAirbyte runs.

    PyAirbyte prints install progress and connector errors with rich, and connectors inherit our stderr for
    noise such as nltk's `[nltk_data] Error loading …`. Users get our one-line ConnectorError instead.
    """
    _STDERR.enter()
    try:
        yield
    finally:
        _STDERR.leave()
