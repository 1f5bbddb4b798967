"""Regenerate the vendored specs of the Python connectors we pin: `bmad_gitops/schemas/connectors/<name>.json`.

Each file is the `connectionSpecification` of the connector's `spec` message, written with sorted keys so a
re-run without a version change leaves git clean. source-postgres and source-mysql are Java images that need
Docker, so their files are copied by hand from the `connectionSpecification` in the airbytehq/airbyte repository's
`airbyte-integrations/connectors/source-{postgres,mysql}/src/test/resources/expected-spec.json`, the test
snapshot of what each connector's `spec` command prints.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bmad_gitops.connectors.pyairbyte.backend import PyAirbyteBackend
from bmad_gitops.connectors.registry import entries, entry
from bmad_gitops.errors import ConnectorError

SCHEMAS = Path(__file__).resolve().parent.parent / "bmad_gitops" / "schemas" / "connectors"


def write_spec(name: str, spec: dict[str, Any], folder: Path = SCHEMAS) -> Path:
    target = folder / f"{name}.json"
    target.write_text(json.dumps(spec, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return target


def main(argv: Sequence[str] | None = None) -> int:
    names = list(sys.argv[1:] if argv is None else argv) or [e.connector for e in entries() if e.make_backend.__name__ == "_pyairbyte"]
    for name in names:
        try:
            backend = PyAirbyteBackend(name, entry(name).pinned)
            target = write_spec(name, backend.spec())
        except ConnectorError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        print(f"wrote {target} ({name} {backend.version()})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
