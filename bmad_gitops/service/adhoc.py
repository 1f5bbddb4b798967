"""Ad-hoc sources: a definition built in memory from a request, checked exactly as validate checks a file,
resolved and ready for the registry's backend. Nothing is written.

A plaintext secret in a request (a password for a one-off discover) is lifted into a private environment
variable before the definition is rendered, so the checks see a `${VAR}` reference, resolve wraps the value as a
`Secret`, and `secrets_hidden` scrubs it from any connector error. References to the server's own environment
are refused: a caller must not be able to send the server's secrets to a host of their choosing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from ..checks.secrets import is_secret_key
from ..diagnostics import Diagnostic
from ..errors import ConfigError
from ..project import Project
from ..resolve import ResolvedSource
from .reach import Reach

# request `connector_type` -> (definition `type`, connector); connector names are accepted as they are.
KINDS: dict[str, tuple[str, str]] = {
    "file": ("file", "source-file"),
    "postgres": ("database", "source-postgres"),
    "postgresql": ("database", "source-postgres"),
    "mysql": ("database", "source-mysql"),
    "mariadb": ("database", "source-mysql"),
    "s3": ("s3", "source-s3"),
    "api": ("api", "source-declarative-manifest"),
}
KINDS.update({connector: (kind, connector) for kind, connector in list(KINDS.values())})
_FILE_TOP_FORMAT = {"csv": "csv", "json": "json", "jsonl": "json", "excel": "excel"}
_LIFTED = "BG_ADHOC_SECRET_"


class DefinitionInvalid(ConfigError):
    """The definition a request describes fails validate's checks; `diagnostics` says where and why."""

    def __init__(self, message: str, hint: str, diagnostics: list[Diagnostic]) -> None:
        super().__init__(message, hint)
        self.diagnostics = diagnostics


def adhoc_definition(connector_type: str, config: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """The definition-shaped dict for a request, and the private environment holding its lifted secrets."""
    known = KINDS.get(connector_type)
    if known is None:
        raise ConfigError(f"unknown connector_type '{connector_type}'", f"use one of {', '.join(sorted(KINDS))}")
    kind, connector = known
    env: dict[str, str] = {}
    data: dict[str, Any] = {"type": kind, "connector": connector, "config": _lift(dict(config), env, secret=False)}
    if kind == "file":
        fmt = config.get("format", "csv")
        data["format"] = _FILE_TOP_FORMAT.get(fmt, fmt) if isinstance(fmt, str) else fmt
    return data, env


def _lift(value: Any, env: dict[str, str], *, secret: bool, key: str = "") -> Any:
    if isinstance(value, dict):
        return {k: _lift(v, env, secret=secret or (isinstance(k, str) and is_secret_key(k)), key=str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [_lift(v, env, secret=secret, key=key) for v in value]
    if isinstance(value, str) and "${" in value:
        raise ConfigError(
            f"'{key}': ad-hoc configs take values, not ${{VAR}} references",
            "send the value itself for a one-off call, or save a definition and name it with {\"source\": ...}",
        )
    if isinstance(value, str) and secret and value:
        name = f"{_LIFTED}{len(env)}"
        env[name] = value
        return "${" + name + "}"
    if isinstance(value, str):
        return value.replace("$", "$$")  # a literal `$` stays literal through resolve's `$$`
    return value


def refuse_private_paths(project: Project, data: Mapping[str, Any]) -> None:
    """Files a service caller may name live under data/: validate alone would allow `.env`, the keys file or
    anything else in the project. A `file` source read ad hoc must be local (no server-side fetches of URLs)."""
    from ..atomic import inside
    from ..connectors.registry import entry
    from ..localpaths import local_file_path

    known = entry(str(data["connector"]))
    config = data.get("config") or {}
    mapped = known.map_config(config) if isinstance(config, Mapping) else {}
    if known.family == "file":
        provider = config.get("provider") if isinstance(config, Mapping) else None
        storage = provider.get("storage", "local") if isinstance(provider, Mapping) else "local"
        if not isinstance(storage, str) or storage.lower() != "local":
            raise ConfigError("ad-hoc file sources read local files only", "put the file under data/ (or upload it) and use storage: local")
    data_dir = project.root / "data"
    for raw in known.local_paths(mapped):
        target = local_file_path(raw, project.root)
        hidden = target is not None and any(part.startswith(".") for part in target.relative_to(project.root).parts)
        if target is None or hidden or not inside(target, data_dir):
            raise ConfigError(f"'{raw[:120]}' is not a file under data/", "the service reads files under the project's data/ folder only")


def check_definition(project: Project, data: Mapping[str, Any], display: str, name: str = "adhoc") -> list[Diagnostic]:
    """Every per-file check validate runs, on a definition held in memory (as if it were sources/NAME.yaml)."""
    from ..writer import render_yaml

    return check_text(project, render_yaml(data), display, name)


def check_text(project: Project, text: str, display: str, name: str) -> list[Diagnostic]:
    from ..lineage.stories import find_stories
    from ..load import Document, locate, parse_document
    from ..validate import definition_findings

    loaded = parse_document(text.encode("utf-8"), display)
    if not isinstance(loaded, Document):
        return loaded
    stories = find_stories(project.root, project.stories_dir)
    path = project.sources_dir / f"{name}.yaml"
    return [*loaded.warnings, *(locate(loaded, f) for f in definition_findings(loaded, path, project.root, stories))]


def resolve_adhoc(
    project: Project, connector_type: str, config: Mapping[str, Any], reach: Reach | None = None
) -> ResolvedSource:
    """`reach`: for a key that may only read, the saved sources' addresses and the operator's allowed hosts; an
    address outside them is refused before any connection (None: a key that may reach new hosts)."""
    from ..definitions import Definition
    from ..load import Document, parse_document
    from ..resolve import resolve
    from ..writer import render_yaml

    data, env = adhoc_definition(connector_type, config)
    refuse_private_paths(project, data)
    if reach is not None:
        from ..connectors.registry import entry
        from .reach import require_known_address

        connector = str(data["connector"])
        require_known_address(connector, entry(connector).family, config, reach.known, reach.allowed)
    text = render_yaml(data)
    errors = [d for d in check_text(project, text, "request", "adhoc") if d.severity == "error"]
    if errors:
        first = errors[0]
        raise DefinitionInvalid(f"request: {first.message}", first.hint, errors)
    doc = parse_document(text.encode("utf-8"), "request")
    assert isinstance(doc, Document)  # checked just above
    definition = Definition("adhoc", "request", doc, hashlib.sha256(text.encode()).hexdigest())
    return resolve(definition, env)




def diagnostic_json(diagnostic: Diagnostic) -> dict[str, Any]:
    return {
        "code": diagnostic.code,
        "path": diagnostic.path,
        "line": diagnostic.line,
        "column": diagnostic.col,
        "message": diagnostic.message,
        "hint": diagnostic.hint,
        "severity": diagnostic.severity,
    }
