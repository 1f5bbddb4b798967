"""How `bmad-gitops serve` runs the app: uvicorn with one or more server processes on one listening socket.

With `processes > 1`, uvicorn's supervisor spawns the processes (and replaces one that dies), each building its
own app from the settings handed down in one environment variable; what they must agree on is shared through
files under the service folder (keys, the audit log under a lock, the rate limiter's buckets) or lives in git.
Connector workers are split between the processes, so `workers` stays the total.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, fields, replace
from pathlib import Path
from typing import Any

from .settings import ServiceSettings

_HANDED_DOWN = "BMAD_GITOPS_SERVICE_SETTINGS"


def run(root: Path, settings: ServiceSettings, processes: int = 1) -> None:
    import uvicorn

    each = replace(settings, workers=max(1, settings.workers // processes), env={})
    os.environ[_HANDED_DOWN] = json.dumps({"root": str(root), "settings": _plain(each)})
    uvicorn.run(
        f"{__name__}:app_from_environment",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=processes if processes > 1 else None,
        log_level="info",
        access_log=False,
    )


def app_from_environment() -> Any:
    """The app for one server process, from the settings `run` handed down (the environment is the process's own,
    less the handed-down variable)."""
    from .app import create_app

    given = json.loads(os.environ[_HANDED_DOWN])
    env = {k: v for k, v in os.environ.items() if k != _HANDED_DOWN}
    return create_app(Path(given["root"]), _settings(given["settings"], env))


def _plain(settings: ServiceSettings) -> dict[str, Any]:
    values = asdict(settings)
    values.pop("env")
    return {k: (str(v) if isinstance(v, Path) else list(v) if isinstance(v, tuple) else v) for k, v in values.items()}


def _settings(values: dict[str, Any], env: dict[str, str]) -> ServiceSettings:
    paths = {"keys_file", "audit_file"}
    kinds = {f.name: f for f in fields(ServiceSettings)}
    built: dict[str, Any] = {}
    for name, value in values.items():
        if name not in kinds:
            continue
        if name in paths:
            built[name] = Path(value) if value is not None else None
        elif isinstance(value, list):
            built[name] = tuple(value)
        else:
            built[name] = value
    return ServiceSettings(**built, env=env)
