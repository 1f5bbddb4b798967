"""The interactive API docs work offline, in a real headless browser (Debian's chromium): Swagger UI renders
every operation from assets the service itself serves (the machine reaches no CDN). This test caught Swagger UI 4
refusing FastAPI's OpenAPI 3.1 document ("Unable to render this definition")."""

from __future__ import annotations

import shutil
import subprocess
import tempfile

import pytest

from .conftest import Running

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (.ci/run installs it)")
def test_docs_page_renders_every_operation_in_a_headless_browser(service: Running) -> None:
    assert CHROMIUM is not None
    with tempfile.TemporaryDirectory() as profile:
        done = subprocess.run(
            [
                CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                f"--user-data-dir={profile}", "--virtual-time-budget=20000", "--dump-dom", f"{service.url}/docs",
            ],
            capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
    dom = done.stdout
    assert "swagger-ui" in dom, done.stderr[-2000:]
    assert "Unable to render this definition" not in dom
    assert "opblock" in dom, "Swagger UI did not render the operations"
    for path in ("/api/v1/data-sources/connectors", "/api/v1/data-sources/config", "/api/v1/data-sources/upload"):
        assert path in dom, path
