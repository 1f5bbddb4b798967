"""JSON-schema validators compiled to Python once per machine, then imported like any module.

fastjsonschema needs about half a second to compile our schema; a pre-commit hook cannot pay that on every
commit. The generated module is keyed by a hash of the schema text and the fastjsonschema version, so an
edited schema or an upgrade compiles afresh; nothing generated is committed.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import marshal
import os
import re
from collections.abc import Callable
from pathlib import Path
from types import CodeType
from typing import Any

from .cachedir import cache_dir


def compiled_validator(name: str, schema_text: str) -> Callable[[Any], Any]:
    """The validator for `schema_text`, from the cache when this schema was compiled before on this machine.

    The cache holds the marshalled code object, keyed by Python's bytecode magic too, so it loads without
    compiling even where PYTHONDONTWRITEBYTECODE is set.
    """
    import fastjsonschema

    magic = importlib.util.MAGIC_NUMBER.hex()
    key = hashlib.sha256(f"{fastjsonschema.VERSION}\n{magic}\n{schema_text}".encode()).hexdigest()[:16]
    stem = "".join(c if c.isalnum() else "_" for c in name)
    path = cache_dir() / "validators" / f"{stem}_{key}.bin"
    try:
        code = marshal.loads(path.read_bytes())
    except (OSError, ValueError, EOFError, TypeError):
        code = _compile(schema_text, path)
        if code is None:
            return fastjsonschema.compile(json.loads(schema_text))  # type: ignore[no-any-return]
    namespace: dict[str, Any] = {"__name__": f"bmad_gitops_validator_{stem}"}
    exec(code, namespace)
    validate: Callable[[Any], Any] = namespace["validate"]
    return validate


def _compile(schema_text: str, path: Path) -> CodeType | None:
    import fastjsonschema

    source = fastjsonschema.compile_to_code(json.loads(schema_text))
    root = re.search(r"^def (\w+)\(", source, re.MULTILINE)  # the first function validates the root
    if root is None:
        return None
    source += f"\n\nvalidate = {root.group(1)}\n"
    code = compile(source, str(path.with_suffix(".py")), "exec")
    import tempfile  # only when compiling: most runs load the cached code

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        with os.fdopen(fd, "wb") as handle:
            handle.write(marshal.dumps(code))
        os.replace(tmp, path)
    except OSError:  # a read-only cache: use the code this once
        pass
    return code
