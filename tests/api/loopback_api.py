"""A real HTTP API on 127.0.0.1 for the declarative backend's tests and benchmark: threads, stdlib only.

Each route is a function of the request returning a `Reply`; the server records every request so tests can
assert how many pages were fetched and what was sent (headers, query parameters).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass(frozen=True)
class Request:
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names


@dataclass(frozen=True)
class Reply:
    body: Any = None
    status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before the response starts, to provoke client timeouts
    raw: bytes | None = None  # sent as it is instead of `body` as JSON (an HTML error page, say)
    content_type: str = "application/json"


Route = Callable[[Request], Reply]


class LoopbackApi:
    """Routes by path; `requests` lists what arrived, in order."""

    def __init__(self, routes: Mapping[str, Route], port: int = 0) -> None:
        self.routes = dict(routes)
        self.requests: list[Request] = []
        self._lock = threading.Lock()
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as real APIs do; clients reuse connections
            # Headers and body in one segment, sent at once: otherwise Nagle and delayed ACKs add ~40 ms a request.
            wbufsize = 1 << 16
            disable_nagle_algorithm = True

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
                request = Request(parts.path, query, {k.lower(): v for k, v in self.headers.items()})
                with api._lock:
                    api.requests.append(request)
                route = api.routes.get(parts.path)
                reply = route(request) if route else Reply({"error": "not found"}, 404)
                if reply.delay:
                    time.sleep(reply.delay)
                payload = reply.raw if reply.raw is not None else json.dumps(reply.body).encode()
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", reply.content_type)
                    self.send_header("Content-Length", str(len(payload)))
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):  # the client gave up (a timeout test)
                    pass

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self._server.daemon_threads = True
        self.port = int(self._server.server_address[1])
        self.base_url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> LoopbackApi:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def hits(self, path: str) -> list[Request]:
        with self._lock:
            return [r for r in self.requests if r.path == path]


@contextmanager
def serve(routes: Mapping[str, Route]) -> Iterator[LoopbackApi]:
    api = LoopbackApi(routes).start()
    try:
        yield api
    finally:
        api.stop()


def people(count: int) -> list[dict[str, Any]]:
    """Deterministic records: ids 1..count."""
    return [{"id": i, "name": f"person {i}", "active": i % 2 == 0} for i in range(1, count + 1)]


def page_route(records: list[dict[str, Any]], *, key: str = "data", start: int = 1) -> Route:
    """?page=N&per_page=S, pages numbered from `start`; past the end, an empty page."""

    def route(request: Request) -> Reply:
        size = int(request.query.get("per_page", "10"))
        offset = (int(request.query.get("page", str(start))) - start) * size
        return Reply({key: records[offset : offset + size]})

    return route


def offset_route(records: list[dict[str, Any]]) -> Route:
    """?offset=N&limit=S; the response is the bare list."""

    def route(request: Request) -> Reply:
        offset, limit = int(request.query.get("offset", "0")), int(request.query.get("limit", "10"))
        return Reply(records[offset : offset + limit])

    return route


def cursor_route(records: list[dict[str, Any]], size: int) -> Route:
    """?cursor=TOKEN; the token sits at meta.next_cursor and is null on the last page."""

    def route(request: Request) -> Reply:
        start = int(request.query.get("cursor", "c0")[1:])
        page = records[start : start + size]
        more = start + size < len(records)
        return Reply({"items": page, "meta": {"next_cursor": f"c{start + size}" if more else None}})

    return route


def link_route(base_url: str, path: str, records: list[dict[str, Any]], size: int) -> Route:
    """GitHub style: a Link header with rel="next" on every page but the last."""

    def route(request: Request) -> Reply:
        page = int(request.query.get("page", "1"))
        chunk = records[(page - 1) * size : page * size]
        headers = {}
        if page * size < len(records):
            headers["Link"] = f'<{base_url}{path}?page={page + 1}>; rel="next", <{base_url}{path}?page=1>; rel="first"'
        return Reply(chunk, headers=headers)

    return route


def next_body_route(path: str, records: list[dict[str, Any]], size: int) -> Route:
    """The next page's URL (relative) in the body at links.next; absent on the last page."""

    def route(request: Request) -> Reply:
        page = int(request.query.get("p", "1"))
        links = {"next": f"{path}?p={page + 1}"} if page * size < len(records) else {}
        return Reply({"results": records[(page - 1) * size : page * size], "links": links})

    return route


def flaky_route(failures: list[Reply], then: Reply) -> Route:
    """Answers each reply in `failures` once, in order, then `then` for ever."""
    pending = list(failures)
    lock = threading.Lock()

    def route(request: Request) -> Reply:
        with lock:
            return pending.pop(0) if pending else then

    return route


def main(argv: list[str] | None = None) -> int:
    """Serve a demo API until interrupted: GET /v1/users (page, per_page; 25 people) behind a bearer token."""
    import argparse
    import os

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args(argv)
    token = os.environ.get("DEMO_API_TOKEN", "demo-token")
    users = page_route(people(25))

    def guarded(request: Request) -> Reply:
        if request.headers.get("authorization") != f"Bearer {token}":
            return Reply({"error": "unauthorized"}, 401)
        return users(request)

    api = LoopbackApi({"/v1/users": guarded}, port=args.port)
    print(f"serving {api.base_url}/v1/users (Ctrl-C to stop)", flush=True)
    try:
        api._server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        api._server.server_close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
