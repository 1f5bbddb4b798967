"""The hottest GETs (the connector list, the config listing) answered before routing, when their answer is already
rendered and the caller may have it at once.

It is a cache in front of the routes, not a second way to serve them: it decides nothing itself. The caller is
identified, checked for the scope and charged a token by the same functions the routes' `caller` dependency
uses; whenever any of them would refuse, or nothing is kept, the request goes on to the routes, which then give
the full answer or the refusal (a refused request is never charged, so nothing is counted twice). Skipped work:
routing, dependency resolution and the Response object, about a third of such a request's time.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from starlette.datastructures import Headers

from .errors_http import ApiError

if TYPE_CHECKING:
    from .app import Service

Scope = dict[str, Any]


class HotAnswers:
    def __init__(self, app: Any, service: Service, answers: Mapping[str, Callable[[], bytes | None]]) -> None:
        self.app = app
        self.service = service
        self.answers = dict(answers)

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        kept = self._kept(scope)
        if kept is not None and await self._may_have(scope):
            headers = [(b"content-type", b"application/json"), (b"content-length", str(len(kept)).encode())]
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send({"type": "http.response.body", "body": kept})
            return
        await self.app(scope, receive, send)

    def _kept(self, scope: Scope) -> bytes | None:
        if scope["type"] != "http" or scope["method"] != "GET" or scope.get("query_string"):
            return None
        find = self.answers.get(scope["path"])
        return find() if find is not None else None

    async def _may_have(self, scope: Scope) -> bool:
        from .app import identify

        try:
            who = identify(self.service, Headers(scope=scope))
        except ApiError:
            return False
        if not who.allows("data_read") or await self.service.limiter.retry_after_async(who.name) is not None:
            return False
        scope.setdefault("state", {})["audit"] = {"key": who.name}  # what the audit line says, as a route would
        return True
