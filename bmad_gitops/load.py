"""Read one YAML definition into plain values plus the node tree that knows every line and column.

libyaml composes the nodes (fast); one iterative pass over them refuses what would hurt later (duplicate keys,
deep nesting, alias bombs) before PyYAML's constructor turns them into values. Nodes are kept, so placing a
problem at its line costs nothing extra.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .diagnostics import Diagnostic, Finding

try:
    _BaseLoader: type[yaml.SafeLoader] = yaml.CSafeLoader  # type: ignore[assignment]
except AttributeError:  # PyYAML built without libyaml: slower, same results
    _BaseLoader = yaml.SafeLoader

MAX_BYTES = 1024 * 1024
MAX_DEPTH = 64
MAX_NODES = 100_000
_TAB_INDENT = re.compile(r"^[ ]*\t", re.MULTILINE)


@dataclass(frozen=True)
class Document:
    path: str
    text: str
    node: yaml.Node
    data: Any
    warnings: tuple[Diagnostic, ...] = ()


def read_document(path: Path, display: str) -> Document | list[Diagnostic]:
    """Load `path`; on failure return the diagnostics that explain why (never raises)."""
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_BYTES + 1)  # never more: /dev/zero or a huge file is refused, not read
    except OSError as exc:
        return [
            Diagnostic(
                display, 1, 1, "BG011", f"cannot read file: {exc.strerror or exc}", "check the path and permissions"
            )
        ]
    return parse_document(raw, display)


def parse_document(raw: bytes, display: str) -> Document | list[Diagnostic]:
    def fail(code: str, message: str, hint: str, line: int = 1, col: int = 1) -> list[Diagnostic]:
        return [Diagnostic(display, line, col, code, message, hint)]

    if len(raw) > MAX_BYTES:
        return fail(
            "BG007",
            f"file is over {MAX_BYTES:,} bytes, the limit for a definition",
            "a source definition is a few kB; is this the right file?",
        )
    if b"\0" in raw:
        at = raw.index(b"\0")
        line = raw.count(b"\n", 0, at) + 1
        col = at - (raw.rfind(b"\n", 0, at) + 1) + 1
        return fail(
            "BG006", "file contains NUL bytes: it looks binary", "source definitions are UTF-8 YAML text", line, col
        )
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        col = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        return fail("BG006", f"invalid UTF-8 byte 0x{raw[exc.start]:02x}", "save the file as UTF-8", line, col)
    if not text.strip() or all(not ln.strip() or ln.lstrip().startswith("#") for ln in text.splitlines()):
        return fail("BG004", "file is empty", "add at least `type:`, `connector:` and `config:`, or delete the file")
    too_deep = _flow_depth_exceeds(text)
    if too_deep is not None:
        line = text.count("\n", 0, too_deep) + 1
        col = too_deep - (text.rfind("\n", 0, too_deep) + 1) + 1
        return fail("BG008", f"nesting is deeper than {MAX_DEPTH} levels", "flatten the structure", line, col)
    parsed = _parse(text, display, fail)
    if isinstance(parsed, list) and parsed[0].code == "BG001":
        # Tabs inside block scalars are content; only when the file does not parse are they the likely cause.
        tabs = [
            Diagnostic(
                display,
                text.count("\n", 0, m.start()) + 1,
                m.end() - m.start(),
                "BG002",
                "tab character in indentation",
                "indent with spaces; YAML forbids tabs there",
            )
            for m in _TAB_INDENT.finditer(text)
        ]
        return tabs or parsed
    return parsed


def _parse(text: str, display: str, fail: Callable[..., list[Diagnostic]]) -> Document | list[Diagnostic]:
    loader = _BaseLoader(text)
    try:
        node = loader.get_node() if loader.check_node() else None
        if node is not None and loader.check_node():
            extra = loader.get_node()
            return fail(
                "BG005",
                "file holds more than one YAML document",
                "keep one source per file; remove the `---` separator",
                extra.start_mark.line + 1,
                1,
            )
        if node is None:
            return fail(
                "BG004", "file is empty", "add at least `type:`, `connector:` and `config:`, or delete the file"
            )
        built = _values(node, text, display, loader)
        if isinstance(built, Diagnostic):
            return [built]
        data = built
    except yaml.MarkedYAMLError as exc:
        # libyaml refuses some valid YAML 1.2 (empty flow keys, `[b:]`): what editors and check-jsonschema read
        # must not be a syntax error here, so the YAML 1.2 parser gets the last word.
        node12 = None if isinstance(exc, yaml.constructor.ConstructorError) else _compose_yaml12(text)
        if node12 is not None:
            return _from_nodes(node12, text, display, fail)
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        message = " ".join(str(part) for part in (exc.context, exc.problem) if part) or "invalid YAML"
        return fail("BG001", message, "fix the YAML syntax at this position", line, col)
    except yaml.YAMLError as exc:
        return fail("BG001", str(exc).splitlines()[0], "fix the YAML syntax")
    except RecursionError:
        return fail("BG008", f"nesting is deeper than {MAX_DEPTH} levels", "flatten the structure")
    except _CONSTRUCT_ERRORS as exc:
        # PyYAML's constructors on odd explicit tags (`!!int` with no value, `!!bool x`), impossible dates or
        # 5,000-digit numbers: find the scalar that fails, so the error stands at its value.
        line, col = _unreadable_scalar(text, node) or (1, 1)
        reason = str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__
        return fail(
            "BG001", f"a value cannot be read: {reason}", "quote the value to keep it as text, or fix it", line, col
        )
    finally:
        loader.dispose()
    if not isinstance(data, dict):
        kind = type(data).__name__ if data is not None else "null"
        return fail(
            "BG010",
            f"top level is a {kind}, not a mapping",
            "a definition starts with keys such as `type: file`",
            node.start_mark.line + 1,
            node.start_mark.column + 1,
        )
    return Document(display, text, node, data, _yaml_version_differences(node, text, display))


# Plain scalars that YAML 1.1 (PyYAML, so this tool) and YAML 1.2 (editors, check-jsonschema) read differently.
# Only where a plain scalar starts (after `key: `, `- `, `[` or `,`, or as a key): prose in descriptions that
# says "on" or "no" must not send every file through the walk below.
# It starts with a character class (a line start is the newline before it; the text is searched with one in
# front), so the regex engine skips ahead to candidate characters in C instead of trying every position.
_MAYBE_DIFFERENT = re.compile(
    r"(?im)[\n:\[,-][ \t]*(?:(?:yes|no|on|off)[ \t]*(?:$|[,\]#:])|[-+]?(?:0[0-7_]+|\d[\d_]*:[0-5]?\d|0b[01]|\d+_\d))"
)
_YAML11_BOOL = frozenset({"yes", "no", "on", "off"})
_YAML11_ONLY_NUMBER = re.compile(r"[-+]?(0[0-7_]+|0b[01_]+|[0-9][0-9_]*(:[0-5]?[0-9])+(\.[0-9_]*)?|[0-9.]*_[0-9_.]*)\Z")


def _yaml_version_differences(root: yaml.Node, text: str, display: str) -> tuple[Diagnostic, ...]:
    """A warning at each plain value whose meaning depends on the YAML version (`yes`, `017`, `1:20`)."""
    if not _MAYBE_DIFFERENT.search("\n" + text):
        return ()  # the common case: one regex, no walk
    found = []
    stack = [root]
    while stack:
        node = stack.pop()
        if isinstance(node, yaml.ScalarNode):
            if node.style:  # quoted or block: text in both versions
                continue
            value = node.value
            if node.tag.endswith(":bool") and value.lower() in _YAML11_BOOL:
                meaning = f"as {value.lower() in ('yes', 'on')} by YAML 1.1 and as text by YAML 1.2"
                hint = "write true or false, or quote it to mean the text"
            elif node.tag.endswith((":int", ":float")) and _YAML11_ONLY_NUMBER.match(value):
                meaning = "as a YAML 1.1 number (octal, base 60 or with _) and differently by YAML 1.2"
                hint = "quote it to mean the text, or write the plain decimal number"
            else:
                continue
            found.append(_at(display, node, "BG012", f"this value is read {meaning}", hint))
        else:
            stack.extend(_children(node))
    return tuple(sorted(found))


_CONSTRUCT_ERRORS = (ValueError, TypeError, IndexError, KeyError, AttributeError, OverflowError)


def _values(node: yaml.Node, text: str, display: str, loader: yaml.SafeLoader) -> Any:
    """The document's values, or the Diagnostic that refuses it: the lean tree builder for anchor-free text, else
    PyYAML's general constructor after the graph checks (duplicates, depth, alias expansion)."""
    built = _build_tree(node, display, loader) if "&" not in text else _NOT_A_TREE
    if built is _NOT_A_TREE:
        problem = _inspect(node, display, "&" in text)
        return problem if problem else loader.construct_document(node)
    return built


def _compose_yaml12(text: str) -> yaml.Node | None:
    """The node tree by ruamel.yaml's YAML 1.2 parser, as PyYAML nodes (so positions work the same); None when
    YAML 1.2 refuses the text too. Only reached for files libyaml rejects, so validate rarely imports it."""
    try:
        from ruamel.yaml import YAML
        from ruamel.yaml import nodes as ruamel_nodes
    except ImportError:  # pragma: no cover - ruamel.yaml is a core dependency
        return None
    try:
        root = YAML(typ="safe", pure=True).compose(text)
    except Exception:  # ruamel raises many types for what it cannot parse: then the libyaml error stands
        return None
    if root is None:
        return None

    def mark(m: Any) -> yaml.Mark:
        return yaml.Mark("<text>", m.index, m.line, m.column, None, None)

    def convert(node: Any, depth: int = 0) -> yaml.Node:
        if depth > MAX_DEPTH * 2:
            raise RecursionError
        start, end = mark(node.start_mark), mark(node.end_mark)
        if isinstance(node, ruamel_nodes.MappingNode):
            pairs = [(convert(k, depth + 1), convert(v, depth + 1)) for k, v in node.value]
            return yaml.MappingNode(node.tag, pairs, start, end, flow_style=node.flow_style)
        if isinstance(node, ruamel_nodes.SequenceNode):
            items = [convert(item, depth + 1) for item in node.value]
            return yaml.SequenceNode(node.tag, items, start, end, flow_style=node.flow_style)
        return yaml.ScalarNode(node.tag, node.value if node.value is not None else "", start, end, style=node.style)

    try:
        return convert(root)
    except RecursionError:
        return None


def _from_nodes(
    node: yaml.Node, text: str, display: str, fail: Callable[..., list[Diagnostic]]
) -> Document | list[Diagnostic]:
    """Values from a YAML 1.2 node tree, checked like libyaml's (duplicates, depth, a mapping at the top)."""
    loader = _BaseLoader("")
    try:
        built = _values(node, text, display, loader)
        if isinstance(built, Diagnostic):
            return [built]
    except (yaml.YAMLError, *_CONSTRUCT_ERRORS) as exc:
        reason = str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__
        return fail("BG001", f"a value cannot be read: {reason}", "quote the value to keep it as text, or fix it")
    finally:
        loader.dispose()
    if not isinstance(built, dict):
        return fail("BG010", "top level is not a mapping", "a definition starts with keys such as `type: file`")
    return Document(display, text, node, built)


def _unreadable_scalar(text: str, root: yaml.Node | None) -> tuple[int, int] | None:
    """The position of the first scalar PyYAML cannot construct on its own (only runs on the error path)."""
    if root is None:
        return None
    loader = _BaseLoader(text)
    try:
        stack = [root]
        while stack:
            node = stack.pop(0)
            if isinstance(node, yaml.ScalarNode):
                try:
                    loader.construct_object(node, deep=True)
                except (yaml.YAMLError, *_CONSTRUCT_ERRORS):
                    return node.start_mark.line + 1, node.start_mark.column + 1
            else:
                stack.extend(_children(node))
    finally:
        loader.dispose()
    return None


def _flow_depth_exceeds(text: str) -> int | None:
    """Where `[[[[…` gets too deep, found before libyaml's recursive composer sees it (cheap for normal files)."""
    if text.count("[") + text.count("{") <= MAX_DEPTH:
        return None
    depth = 0
    for bracket in _FLOW_BRACKET.finditer(text):  # the brackets only, not every character
        if bracket.group() in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                return bracket.start()
        else:
            depth = max(0, depth - 1)
    return None


_FLOW_BRACKET = re.compile(r"[\[\]{}]")


_NOT_A_TREE = object()  # what _build_tree returns when PyYAML's general constructor must do the work
_STR = "tag:yaml.org,2002:str"
_MERGE = "tag:yaml.org,2002:merge"
_SEQ = "tag:yaml.org,2002:seq"
_MAP = "tag:yaml.org,2002:map"


class _Refused(Exception):
    def __init__(self, diagnostic: Diagnostic) -> None:
        self.diagnostic = diagnostic


class _General(Exception):
    """Merge keys or non-scalar keys: leave them to PyYAML's constructor."""


def _build_tree(root: yaml.Node, display: str, loader: yaml.SafeLoader) -> Any:
    """Values from an anchor-free node tree in one pass that also refuses duplicate keys and deep nesting.

    Most definitions are plain mappings of strings; building them here instead of through PyYAML's general
    constructor halves the cost of reading a file, which is what a pre-commit run over many files pays.
    Scalars other than strings still go through PyYAML's own constructors, so values are exactly PyYAML's.
    """
    constructors = loader.yaml_constructors
    mapping, sequence, scalar = yaml.MappingNode, yaml.SequenceNode, yaml.ScalarNode

    def build(node: yaml.Node, depth: int) -> Any:
        if depth > MAX_DEPTH:
            raise _Refused(
                _at(display, node, "BG008", f"nesting is deeper than {MAX_DEPTH} levels", "flatten the structure")
            )
        kind = type(node)
        if kind is scalar:
            if node.tag == _STR:
                return node.value
            make = constructors.get(node.tag)
            if make is None:
                raise _General
            return make(loader, node)
        if kind is sequence and node.tag == _SEQ:
            return [build(child, depth + 1) for child in node.value]
        if kind is not mapping or node.tag != _MAP:
            raise _General  # explicit tags (`!!set`, `!!python/...`) get PyYAML's verdict
        out: dict[Any, Any] = {}
        seen: dict[Any, yaml.Node] = {}
        for k, v in node.value:
            if type(k) is not scalar or k.tag == _MERGE:
                raise _General
            key = build(k, depth)  # a scalar key sits at its mapping's depth
            if key in seen:  # as loaded: `on:` and `yes:` are both True, `1:` and `"1":` differ
                raise _Refused(_duplicate(display, k, seen[key]))
            seen[key] = k
            out[key] = build(v, depth + 1)
        return out

    try:
        return build(root, 1)
    except _Refused as refused:
        return refused.diagnostic
    except _General:
        return _NOT_A_TREE


def _inspect(root: yaml.Node, display: str, has_anchors: bool) -> Diagnostic | None:
    """Duplicate keys and depth, plus alias expansion when the text has anchors at all."""
    if not has_anchors:
        return _inspect_tree(root, display)
    return _inspect_graph(root, display)


def _inspect_tree(root: yaml.Node, display: str) -> Diagnostic | None:
    """Without anchors the nodes form a tree: one lean pass for duplicate keys and depth."""
    stack: list[tuple[yaml.Node, int]] = [(root, 1)]
    mapping, sequence, scalar = yaml.MappingNode, yaml.SequenceNode, yaml.ScalarNode
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            return _at(display, node, "BG008", f"nesting is deeper than {MAX_DEPTH} levels", "flatten the structure")
        if isinstance(node, mapping):
            seen: dict[str, yaml.Node] = {}
            for k, v in node.value:
                if type(k) is scalar:
                    if k.value in seen and k.tag != "tag:yaml.org,2002:merge":
                        return _duplicate(display, k, seen[k.value])
                    seen[k.value] = k
                else:
                    stack.append((k, depth + 1))
                if type(v) is not scalar:
                    stack.append((v, depth + 1))
        elif isinstance(node, sequence):
            stack.extend((c, depth + 1) for c in node.value if type(c) is not scalar)
    return None


def _duplicate(display: str, key: yaml.Node, first: yaml.Node) -> Diagnostic:
    line = first.start_mark.line + 1
    return _at(
        display,
        key,
        "BG003",
        f"duplicate key '{key.value}' (first defined on line {line})",
        "remove one of the two keys",
    )


def _inspect_graph(root: yaml.Node, display: str) -> Diagnostic | None:
    """With anchors, shared nodes make a graph: also count what the aliases expand to, and refuse cycles."""
    expanded: dict[int, int] = {}
    stack: list[tuple[yaml.Node, int, bool]] = [(root, 1, False)]
    on_path: set[int] = set()
    while stack:
        node, depth, done = stack.pop()
        key = id(node)
        if done:
            on_path.discard(key)
            children = _children(node)
            expanded[key] = 1 + sum(expanded[id(c)] for c in children)
            if expanded[key] > MAX_NODES:
                return _at(
                    display,
                    node,
                    "BG009",
                    f"aliases expand to more than {MAX_NODES:,} values",
                    "remove the nested anchors and aliases",
                )
            continue
        if key in expanded:
            continue
        if key in on_path:
            return _at(display, node, "BG009", "an alias refers to itself", "remove the recursive anchor")
        if depth > MAX_DEPTH:
            return _at(display, node, "BG008", f"nesting is deeper than {MAX_DEPTH} levels", "flatten the structure")
        if isinstance(node, yaml.MappingNode):
            seen: dict[str, yaml.Node] = {}
            for k, _ in node.value:
                if isinstance(k, yaml.ScalarNode) and k.tag != "tag:yaml.org,2002:merge":
                    if k.value in seen:
                        return _duplicate(display, k, seen[k.value])
                    seen[k.value] = k
        on_path.add(key)
        stack.append((node, depth, True))
        stack.extend((c, depth + 1, False) for c in _children(node) if id(c) not in expanded)
    return None


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _at(display: str, node: yaml.Node, code: str, message: str, hint: str) -> Diagnostic:
    return Diagnostic(display, node.start_mark.line + 1, node.start_mark.column + 1, code, message, hint)


_TRUTHY = {"true", "yes", "on", "y"}


def _key_matches(key: yaml.Node, part: str | int | None) -> bool:
    """Does this key node hold `part`? YAML 1.1 reads `on:` as True and `~:` as None, so compare as PyYAML does."""
    if not isinstance(key, yaml.ScalarNode):
        return False
    if isinstance(part, bool):
        return bool(key.tag == "tag:yaml.org,2002:bool" and (key.value.lower() in _TRUTHY) == part)
    if part is None:
        return bool(key.tag == "tag:yaml.org,2002:null")
    return key.tag not in ("tag:yaml.org,2002:bool", "tag:yaml.org,2002:null") and bool(key.value == str(part))


def position(doc: Document, where: tuple[str | int, ...], at: str = "value") -> tuple[int, int]:
    """1-based line and column of the deepest node the key path reaches (its key when `at` is "key")."""
    node: yaml.Node = doc.node
    key_node: yaml.Node | None = None
    for part in where:
        child: tuple[yaml.Node, yaml.Node] | None = None
        if isinstance(node, yaml.MappingNode):
            child = next(((k, v) for k, v in node.value if _key_matches(k, part)), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
            child = (node.value[part], node.value[part])
        if child is None:
            break
        key_node, node = child
    target = key_node if at == "key" and key_node is not None else node
    return target.start_mark.line + 1, target.start_mark.column + 1


def locate(doc: Document, finding: Finding) -> Diagnostic:
    """Place a finding at its line and column."""
    line, col = position(doc, finding.where, finding.at)
    return Diagnostic(doc.path, line, col, finding.code, finding.message, finding.hint)
