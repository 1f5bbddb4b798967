"""The service's knobs in one value: where keys and the audit log live, limits, timeouts, git mode."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

MIB = 1024 * 1024


def service_dir(root: Path) -> Path:
    """Git-ignored home of keys, audit log, locks and caches (`.bmad-gitops/` is in .gitignore)."""
    return root / ".bmad-gitops" / "service"


@dataclass(frozen=True)
class ServiceSettings:
    host: str = "127.0.0.1"
    port: int = 8787
    keys_file: Path | None = None  # default: service_dir(root) / "keys.json"
    audit_file: Path | None = None  # default: service_dir(root) / "audit.jsonl"
    audit_max_bytes: int = 10 * MIB
    audit_backups: int = 5
    max_body_bytes: int = 1 * MIB  # every request but uploads
    max_upload_bytes: int = 100 * MIB
    max_unzipped_bytes: int = 500 * MIB  # an xlsx whose parts expand beyond this is refused
    max_zip_ratio: int = 200  # xlsx parts compress ~5-20x; a bomb compresses ~1000x
    read_limit_default: int = 100
    read_limit_max: int = 1000
    requests_per_minute: int = 600  # per key
    workers: int = 2
    timeout_s: float = 120.0
    git_branch: bool = False
    cors_origins: tuple[str, ...] = ()
    allowed_hosts: tuple[str, ...] = ()  # more hosts a read-only key's ad-hoc requests may reach (service/reach.py)
    env: dict[str, str] = field(default_factory=dict)  # the environment connectors resolve ${VAR} from

    def keys_path(self, root: Path) -> Path:
        return self.keys_file or service_dir(root) / "keys.json"

    def audit_path(self, root: Path) -> Path:
        return self.audit_file or service_dir(root) / "audit.jsonl"
