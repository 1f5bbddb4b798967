"""Views of a discovered catalog for `bmad-gitops discover`."""

from __future__ import annotations

import json
from collections.abc import Callable

from ..catalog import as_json_data
from ..engine import Discovery


def render_catalog_text(found: Discovery) -> str:
    catalog = found.catalog
    count = len(catalog.streams)
    lines = [f"{found.source} ({found.connector} {found.version}): {count} stream{'s' if count != 1 else ''}"]
    for stream in catalog.streams:
        keys = f"primary key: {', '.join(stream.primary_key) or 'none'}; cursor: {', '.join(stream.cursor) or 'none'}"
        title = f"{stream.namespace}.{stream.name}" if stream.namespace else stream.name
        stats = found.statistics.get(stream.name)
        size = ""
        if stats is not None and stats.estimated_rows is not None:
            size = f"; ~{stats.estimated_rows} rows"
            if stats.estimated_bytes is not None:
                size += f", ~{stats.estimated_bytes // 1024} KiB"
        lines.append(f"  {title}  ({keys}; sync modes: {', '.join(stream.sync_modes)}{size})")
        width = max((len(c.name) for c in stream.columns), default=0)
        for column in stream.columns:
            lines.append(f"    {column.name:<{width}}  {column.type}{'' if column.nullable else '  not null'}")
        for fk in stream.foreign_keys:
            lines.append(f"    foreign key {fk.describe()}")
        for record in found.samples.get(stream.name, []):
            lines.append(f"    sample: {json.dumps(record, sort_keys=True, default=str)}")
    if found.objects:
        lines.append(f"  objects ({len(found.objects)}):")
        for item in found.objects:
            streams = ", ".join(str(s) for s in item["streams"]) or "no stream"  # type: ignore[attr-defined]
            lines.append(f"    {item['key']}  {item['size']} bytes  {item['last_modified']}  -> {streams}")
    if found.more_objects:
        lines.append(f"    ... and {found.more_objects} more")
    return "\n".join(lines) + "\n"


def render_catalog_json(found: Discovery) -> str:
    payload = {
        "source": found.source,
        "connector": found.connector,
        "connector_version": found.version,
        **as_json_data(found.catalog),
        "statistics": {name: as_json_data(stats) for name, stats in sorted(found.statistics.items())},
        "samples": found.samples,
        "objects": list(found.objects),
        "more_objects": found.more_objects,
    }
    return json.dumps(payload, indent=2, sort_keys=True) + "\n"


CATALOG_RENDERERS: dict[str, Callable[[Discovery], str]] = {"text": render_catalog_text, "json": render_catalog_json}
