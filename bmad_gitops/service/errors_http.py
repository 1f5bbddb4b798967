"""BmadGitopsError families -> HTTP status codes and one JSON error shape: {"error", "hint", ...}."""

from __future__ import annotations

from typing import Any

# The first class name in an error's MRO found here decides the status.
STATUS_BY_ERROR = {
    "DefinitionInvalid": 422,
    "HostNotAllowed": 403,
    "ConfigNotFound": 404,
    "StreamNotFound": 404,
    "ConfigConflict": 409,
    "WorkerTimeout": 504,
    "WorkerCrashed": 502,
    "WorkersBusy": 503,
    "GitCommitError": 500,
    "KeyFileError": 500,
    "StateLockedError": 409,
    "ConnectorError": 502,
    "ProjectError": 500,
    "BmadGitopsError": 422,  # config, env, usage, write errors: the request asked for something unusable
    "internal": 500,
}


class ApiError(Exception):
    def __init__(
        self, status: int, message: str, hint: str = "", *, extra: dict[str, Any] | None = None, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.hint = hint
        self.extra = extra or {}
        self.headers = headers

    def body(self) -> dict[str, Any]:
        return {"error": self.message, "hint": self.hint, **self.extra}


def status_for(names: list[str]) -> int:
    return next((STATUS_BY_ERROR[n] for n in names if n in STATUS_BY_ERROR), 500)


def from_exception(exc: BaseException) -> ApiError:
    from ..errors import BmadGitopsError

    if isinstance(exc, BmadGitopsError):
        status = getattr(exc, "status", None) or status_for([k.__name__ for k in type(exc).__mro__])
        diagnostics = getattr(exc, "diagnostics", None)
        extra: dict[str, Any] = {"type": type(exc).__name__}
        if diagnostics is not None:
            from .adhoc import diagnostic_json

            extra["diagnostics"] = [diagnostic_json(d) for d in diagnostics]
        return ApiError(int(status), exc.message, exc.hint, extra=extra)
    return ApiError(500, f"internal error ({type(exc).__name__})", "see the server log")


def from_job_error(error: dict[str, Any]) -> ApiError:
    """A worker's {"type", "message", "hint", "diagnostics"} -> ApiError (the type name picks the status)."""
    from .. import errors as families
    from .. import gitinfo
    from . import adhoc, configs, jobs, uploads, workers

    name = str(error.get("type"))
    names = [name]
    for module in (adhoc, jobs, configs, workers, gitinfo, uploads, families):
        cls = getattr(module, name, None)
        if isinstance(cls, type):
            names = [k.__name__ for k in cls.__mro__]
            break
    extra: dict[str, Any] = {"type": name}
    if error.get("diagnostics") is not None:
        extra["diagnostics"] = error["diagnostics"]
    return ApiError(status_for(names), str(error.get("message")), str(error.get("hint") or ""), extra=extra)
