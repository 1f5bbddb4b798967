"""The click commands the CLI registers: `serve`, `keys ...` and `features ...`. Each finds the project from the
current folder and raises BmadGitopsError subclasses for mistakes a user can fix."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import click

from ..errors import UsageError


def _root() -> Path:
    from ..engine import open_project

    return open_project(Path.cwd()).root


def _keystore(keys_file: str | None) -> object:
    from .auth import KeyStore
    from .settings import ServiceSettings

    root = _root()
    return KeyStore(_walled(root, ServiceSettings(keys_file=Path(keys_file) if keys_file else None).keys_path(root)))


def _walled(root: Path, keys_path: Path) -> Path:
    """The keys file, refused when it (or a link on the way) lies outside the project root: keys are written
    there, and the tool writes nothing outside the root. `.bmad-gitops/` keeps it inside and out of git."""
    from ..atomic import inside

    if not inside(keys_path, root):
        raise UsageError(
            f"keys file {keys_path} lies outside the project root {root}",
            "keep it inside the project (the default .bmad-gitops/service/keys.json is git-ignored)",
        )
    return keys_path


_KEYS_FILE = click.option(
    "--keys-file", type=click.Path(dir_okay=False), help="Keys file (default .bmad-gitops/service/keys.json)."
)


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind; loopback unless you mean it.")
@click.option("--port", default=8787, show_default=True, type=click.IntRange(0, 65535), help="Port to listen on.")
@click.option(
    "--git-branch", is_flag=True, help="Commit config writes on bmad-gitops/<name> instead of the working tree."
)
@_KEYS_FILE
@click.option(
    "--processes",
    default=lambda: default_processes(),
    show_default="one per core, at most 4",
    type=click.IntRange(1, 32),
    help="HTTP server processes sharing the port (one per core serves the most requests).",
)
@click.option(
    "--workers", default=2, show_default=True, type=click.IntRange(1, 32), help="Connector worker processes in all."
)
@click.option(
    "--timeout",
    "timeout_s",
    default=120.0,
    show_default=True,
    type=click.FloatRange(1),
    help="Seconds per connector call.",
)
@click.option(
    "--max-upload-mib", default=100, show_default=True, type=click.IntRange(1), help="Largest upload accepted, in MiB."
)
@click.option("--rate", default=600, show_default=True, type=click.IntRange(1), help="Requests per minute per key.")
@click.option("--cors-origin", "cors", multiple=True, help="Allow browser calls from this origin (none by default).")
@click.option(
    "--allow-host",
    "allow_hosts",
    multiple=True,
    metavar="HOST[:PORT]",
    help="A host read-only keys may reach ad hoc, besides the saved sources' (none by default).",
)
def serve(
    host: str,
    port: int,
    git_branch: bool,
    keys_file: str | None,
    processes: int,
    workers: int,
    timeout_s: float,
    max_upload_mib: int,
    rate: int,
    cors: tuple[str, ...],
    allow_hosts: tuple[str, ...],
) -> None:
    """Run the HTTP service for BMad agents (FastAPI + uvicorn)."""
    from . import serving
    from .settings import MIB, ServiceSettings

    root = _root()
    given = _from_project(root)  # bmad-gitops.yaml `service:`; a flag given on the command line wins
    ctx = click.get_current_context()

    def pick(param: str, value: object, key: str) -> object:
        source = ctx.get_parameter_source(param)
        return given[key] if key in given and source is not None and source.name == "DEFAULT" else value

    # A --keys-file flag is relative to the current folder (like `keys create`); the setting to the project root.
    keys_path = (
        Path(keys_file).resolve() if keys_file else root / str(given["keys_file"]) if "keys_file" in given else None
    )
    if keys_path is not None:
        _walled(root, keys_path)
    settings = ServiceSettings(
        host=str(pick("host", host, "host")),
        port=int(str(pick("port", port, "port"))),
        keys_file=keys_path,
        git_branch=git_branch,
        workers=int(str(pick("workers", workers, "workers"))),
        timeout_s=float(str(pick("timeout_s", timeout_s, "timeout_seconds"))),
        max_upload_bytes=int(str(pick("max_upload_mib", max_upload_mib, "max_upload_mib"))) * MIB,
        requests_per_minute=int(str(pick("rate", rate, "requests_per_minute"))),
        read_limit_max=int(given.get("read_limit_max", 1000)),
        cors_origins=tuple(cors) or tuple(given.get("cors_origins") or ()),
        allowed_hosts=tuple(allow_hosts) or tuple(given.get("allowed_hosts") or ()),
        env=dict(os.environ),
    )
    if not settings.keys_path(root).is_file():
        raise UsageError("no API keys yet", "create one with `bmad-gitops keys create --name agent --scopes data_read`")
    click.echo(f"bmad-gitops service on http://{settings.host}:{settings.port} (docs at /docs)", err=True)
    serving.run(root, settings, int(str(pick("processes", processes, "processes"))))


def default_processes() -> int:
    """One server process per core, at most 4: on 2 cores two processes serve about twice the requests of one at
    the same latency (benchmarks/README.md); beyond 4, connector workers, not the HTTP layer, are the limit."""
    return max(1, min(os.cpu_count() or 1, 4))


def _from_project(root: Path) -> dict[str, Any]:
    from ..load import Document, read_document
    from ..project import CONFIG_FILE

    path = root / CONFIG_FILE
    loaded = read_document(path, CONFIG_FILE) if path.is_file() else None
    found = loaded.data.get("service") if isinstance(loaded, Document) and isinstance(loaded.data, dict) else None
    return dict(found) if isinstance(found, dict) else {}


@click.group()
def keys() -> None:
    """Create, list, revoke and rotate API keys for the service."""


@keys.command("create")
@click.option("--name", required=True, help="A name for the key (shown in the audit log, never the key).")
@click.option("--scopes", required=True, help="Comma separated: data_read, data_read_unmasked, data_write, admin.")
@click.option(
    "--expires-in", "expires_in", type=click.FloatRange(min=0, min_open=True), help="Days until the key expires."
)
@_KEYS_FILE
def keys_create(name: str, scopes: str, expires_in: float | None, keys_file: str | None) -> None:
    """Create a key and print it once; only its hash is kept."""
    from .auth import KeyStore, parse_scopes

    store = _keystore(keys_file)
    assert isinstance(store, KeyStore)
    key = store.create(name, parse_scopes(scopes), expires_in)
    click.echo(key)
    click.echo(f"key '{name}' created; it is shown only now", err=True)


@keys.command("list")
@_KEYS_FILE
def keys_list(keys_file: str | None) -> None:
    """Names, scopes, expiry and state; never the keys."""
    from .auth import KeyStore

    store = _keystore(keys_file)
    assert isinstance(store, KeyStore)
    for record in sorted(store.records(), key=lambda r: r["name"]):
        state = "revoked" if record.get("revoked") else "active"
        expires = record.get("expires") or "never"
        grace = f" (previous key valid until {record['previous'][-1]['until']})" if record.get("previous") else ""
        click.echo(f"{record['name']}\t{','.join(record['scopes'])}\texpires {expires}\t{state}{grace}")


@keys.command("revoke")
@click.argument("name")
@_KEYS_FILE
def keys_revoke(name: str, keys_file: str | None) -> None:
    """Revoke a key at once (the running service sees it on the next request)."""
    from .auth import KeyStore

    store = _keystore(keys_file)
    assert isinstance(store, KeyStore)
    store.revoke(name)
    click.echo(f"key '{name}' revoked", err=True)


@keys.command("rotate")
@click.argument("name")
@click.option(
    "--grace-hours",
    default=24.0,
    show_default=True,
    type=click.FloatRange(min=0),
    help="How long the old key keeps working.",
)
@_KEYS_FILE
def keys_rotate(name: str, grace_hours: float, keys_file: str | None) -> None:
    """Print a new key for NAME; the old one works for --grace-hours more."""
    from .auth import KeyStore

    store = _keystore(keys_file)
    assert isinstance(store, KeyStore)
    click.echo(store.rotate(name, grace_hours))
    click.echo(f"key '{name}' rotated; the old key works for {grace_hours:g} more hours", err=True)


@click.group()
def features() -> None:
    """Turn optional features on or off in bmad-gitops.yaml."""


@features.command("enable")
@click.argument("name")
def features_enable(name: str) -> None:
    """Turn feature NAME on (pyairbyte_integration lets the service run connectors)."""
    from .features import set_feature

    set_feature(_root(), name, True)
    click.echo(f"{name}: enabled")


@features.command("disable")
@click.argument("name")
def features_disable(name: str) -> None:
    """Turn feature NAME off."""
    from .features import set_feature

    set_feature(_root(), name, False)
    click.echo(f"{name}: disabled")


@features.command("list")
@click.argument("name", required=False)
def features_list(name: str | None) -> None:
    """List the features (or just NAME), on or off, and what each does."""
    from .features import FEATURES, feature_states

    states = feature_states(_root())
    if name is not None and name not in states:
        raise UsageError(f"unknown feature '{name}'", f"known: {', '.join(sorted(states))}")
    for flag, on in states.items():
        if name in (None, flag):
            click.echo(f"{flag}\t{'enabled' if on else 'disabled'}\t{FEATURES[flag][1]}")
