"""Property-based: schemathesis generates requests from the service's own OpenAPI document and sends them, with a
valid admin key, to a real server. No answer may be an internal error (500) or break its documented schema.

502/503/504 are allowed: they are the service's documented answers for an unreachable upstream, busy workers and
a connector timeout, which random connection settings produce. Bounded: a few examples per operation.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.specs.openapi.checks import response_schema_conformance

from .conftest import Running, default_settings, make_project, serve

EXAMPLES = 12


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory, service: Running) -> Iterator[Running]:
    root = make_project(tmp_path_factory.mktemp("fuzz"), warm_from=service.root)
    with serve(root, default_settings(timeout_s=60, workers=2)) as running, running.client(running.keys.admin) as client:
        # Warm the discovery cache once, so a refreshed plan is a cache hit rather than a connector start per example.
        assert client.post("/api/v1/data-sources/discover", json={"source": "customers"}).status_code == 200
        yield running


def test_no_server_errors_and_no_schema_violations(fuzzed: Running) -> None:
    schema = schemathesis.openapi.from_url(f"{fuzzed.url}/openapi.json")
    headers = {"X-API-Key": fuzzed.keys.admin}
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]  # type: ignore[union-attr]
    assert len(operations) >= 11

    for operation in operations:

        @settings(max_examples=3 if operation.label.endswith("/plan") else EXAMPLES, deadline=None, database=None, phases=[Phase.generate], suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy())
        def exercise(case: schemathesis.Case) -> None:
            response = case.call(base_url=fuzzed.url, headers=headers, timeout=30)
            if response.status_code == 500 or "internal error" in response.text:
                failures.append(f"{case.method} {case.formatted_path}: {response.status_code} {response.text[:200]}")
            try:
                case.validate_response(response, checks=[response_schema_conformance], headers=headers)
            except Exception as exc:
                failures.append(f"{case.method} {case.formatted_path}: schema: {str(exc)[:300]}")

        started = time.monotonic()
        exercise()
        print(f"{operation.label}: {time.monotonic() - started:.1f} s")
    assert failures == []
    assert (fuzzed.root / "sources" / "customers.yaml").is_file()
