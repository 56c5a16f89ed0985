"""The published experiment JSON Schema, and YAML documents that remember where each field was written.

``experiment.schema.json`` (beside this file) is what editors use to complete and check experiment files; the
loader validates against the very same file with the fault parts of every registered fault kind
(``harness.schema.faults``, which also generates the file's fault parts from the bundled kinds), so the
schema and the loader cannot drift. ``YamlDoc`` parses a
file once (one composed node tree, from which the data is constructed), so every error, whether from the
schema or from later checks in ``harness.loader``, can name ``file:line`` and the field path
(``faults.steps[1].at``). The parse is bounded (``harness.limits``): nesting depth, the size of the tree once
aliases are expanded (an alias bomb is refused, not expanded), integer length; ``1e9`` reads as a number (as
in YAML 1.2), and ``.nan`` / ``.inf`` are refused wherever they appear.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from harness.errors import BadInput
from harness.limits import MAX_INT_DIGITS, MAX_YAML_DEPTH, MAX_YAML_NODES, walk

SCHEMA_FILE = Path(__file__).with_name("experiment.schema.json")
TARGET_SCHEMA_FILE = Path(__file__).with_name("target.schema.json")  # target declarations (harness.declare)
FieldPath = Sequence[str | int]


@cache
def load_schema(file: Path = SCHEMA_FILE) -> dict[str, Any]:
    return dict(json.loads(file.read_text(encoding="utf-8")))


def field_name(path: FieldPath) -> str:
    """``("faults", "steps", 1, "at")`` -> ``faults.steps[1].at``; the empty path is ``(top level)``."""
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out or "(top level)"


class _BoundedLoader(yaml.SafeLoader):
    """SafeLoader with limits: depth, expanded size (aliases counted each time used), integer length."""

    file = "<experiment>"

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0
        self._sizes: dict[int, int] = {}
        self._heights: dict[int, int] = {}

    def _refuse(self, node_or_mark: Any, message: str) -> BadInput:
        mark = getattr(node_or_mark, "start_mark", node_or_mark)
        return BadInput(f"{self.file}:{mark.line + 1 if mark is not None else 1}: {message}")

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            return super().compose_node(parent, index)  # already sized where its anchor was defined
        self._depth += 1
        if self._depth > MAX_YAML_DEPTH:
            raise self._refuse(
                self.peek_event(), f"nested more than {MAX_YAML_DEPTH} levels deep; an experiment is flatter"
            )
        try:
            node = super().compose_node(parent, index)
        finally:
            self._depth -= 1
        children: list[Any] = []
        if isinstance(node, yaml.MappingNode):
            children = [x for kv in node.value for x in kv]
        elif isinstance(node, yaml.SequenceNode):
            children = list(node.value)
        size = 1 + sum(self._sizes.get(id(c), 1) for c in children)
        height = 1 + max((self._heights.get(id(c), 1) for c in children), default=0)
        self._sizes[id(node)], self._heights[id(node)] = size, height
        if height > MAX_YAML_DEPTH:  # aliases can stack subtrees deeper than the text is indented
            raise self._refuse(node, f"nested more than {MAX_YAML_DEPTH} levels deep (aliases included)")
        if size > MAX_YAML_NODES:
            raise self._refuse(
                node,
                f"the document expands to more than {MAX_YAML_NODES} values (aliases included); "
                "write the values out or use fewer aliases",
            )
        return node

    def construct_yaml_int(self, node: Any) -> int:
        if len(str(node.value)) > MAX_INT_DIGITS:
            raise self._refuse(node, f"an integer of more than {MAX_INT_DIGITS} digits")
        return int(super().construct_yaml_int(node))


_BoundedLoader.add_constructor("tag:yaml.org,2002:int", _BoundedLoader.construct_yaml_int)
# YAML 1.2 reads 1e9 as a number; YAML 1.1 (PyYAML) would read a string and the error would say "got str"
_BoundedLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?[0-9][0-9_]*(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"),
)


def _compose_and_construct(text: str, file: str) -> tuple[yaml.Node | None, Any]:
    loader = _BoundedLoader(text)
    loader.file = file
    try:
        root = loader.get_single_node()
        data = loader.construct_document(root) if root is not None else None
    finally:
        loader.dispose()
    return root, data


@dataclass(frozen=True)
class YamlDoc:
    """A parsed YAML file: its data and the composed node tree that carries line numbers."""

    file: str
    data: Any
    root: yaml.Node | None

    @classmethod
    def parse(cls, text: str, file: str) -> YamlDoc:
        try:
            root, data = _compose_and_construct(text, file)
        except yaml.MarkedYAMLError as e:
            raise BadInput(_syntax_error(e, text, file)) from None
        except yaml.YAMLError as e:
            raise BadInput(f"{file}:1: YAML error: {' '.join(str(e).split())}") from None
        doc = cls(file, data, root)
        if root is not None:
            doc._check_duplicates(root, ())
            doc._check_finite()
        return doc

    def _check_finite(self) -> None:
        """``.nan`` and ``.inf`` pass every range check (nan compares false); refuse them by name."""
        for path, leaf in walk(self.data, MAX_YAML_DEPTH + 1):
            if isinstance(leaf, float) and not math.isfinite(leaf):
                word = "not a number" if math.isnan(leaf) else "infinite"
                raise self.error(path, f"{leaf} is {word}; write a finite number (e.g. 2.5)")

    def _check_duplicates(self, node: yaml.Node, path: tuple[str | int, ...]) -> None:
        if isinstance(node, yaml.MappingNode):
            seen: set[str] = set()
            for k, v in node.value:
                key = str(k.value)
                if key in seen:
                    raise BadInput(
                        f"{self.file}:{k.start_mark.line + 1}: {field_name((*path, key))}: duplicate key; "
                        "each field may appear once"
                    )
                seen.add(key)
                self._check_duplicates(v, (*path, key))
        elif isinstance(node, yaml.SequenceNode):
            for i, v in enumerate(node.value):
                self._check_duplicates(v, (*path, i))

    def line(self, path: FieldPath, *, key: bool = False) -> int:
        """The line of the deepest node along ``path`` (the key's line when ``key``), 1-based."""
        node = self.root
        if node is None:
            return 1
        line = node.start_mark.line + 1
        for p in path:
            nxt: yaml.Node | None = None
            if isinstance(node, yaml.MappingNode):
                for k, v in node.value:
                    if str(k.value) == str(p):
                        nxt = v
                        line = (k if key else v).start_mark.line + 1
                        break
            elif isinstance(node, yaml.SequenceNode) and isinstance(p, int) and p < len(node.value):
                nxt = node.value[p]
                line = nxt.start_mark.line + 1
            if nxt is None:
                break
            node = nxt
        return line

    def error(self, path: FieldPath, message: str, *, key: bool = False) -> BadInput:
        """A one-line ``BadInput``: ``file:line: field: message``."""
        return BadInput(f"{self.file}:{self.line(path, key=key)}: {field_name(path)}: {message}")


def _syntax_error(e: yaml.MarkedYAMLError, text: str, file: str) -> str:
    """One line; when the parser only noticed at the end of the file, point at what was left open."""
    mark = e.problem_mark or e.context_mark
    at_end = mark is not None and mark.index >= len(text.rstrip())
    if at_end and e.context_mark is not None:
        mark = e.context_mark
    line = mark.line + 1 if mark is not None else 1
    problem = " ".join(str(e.problem or "cannot parse").split())
    context = f" ({' '.join(str(e.context).split())})" if e.context else ""
    return f"{file}:{line}: YAML syntax error: {problem}{context}"


_JSON_TYPES = {
    "object": "a mapping",
    "array": "a list",
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "null": "nothing",
}


def _kind(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return f"{type(value).__name__} {value!r}"


def _describe(err: jsonschema.ValidationError) -> tuple[list[str | int], str, bool]:
    """(field path, message, point at the key) for one schema error."""
    path: list[str | int] = list(err.absolute_path)
    v, inst, sv = err.validator, err.instance, err.validator_value
    if v == "required":
        missing = [r for r in sv if isinstance(inst, dict) and r not in inst]
        return [*path, missing[0]], f"missing required field (required here: {', '.join(sv)})", True
    if v == "additionalProperties":
        allowed = sorted(err.schema.get("properties", {}))
        extra = sorted(k for k in inst if k not in allowed) if isinstance(inst, dict) else []
        if allowed:
            return [*path, extra[0]], f"unknown field; allowed here: {', '.join(allowed)}", True
        return path, "unexpected fields", False
    if v == "type":
        types = sv if isinstance(sv, list) else [sv]
        want = " or ".join(_JSON_TYPES.get(str(t), str(t)) for t in types)
        return path, f"expected {want}, got {_kind(inst)}", False
    if v == "enum":
        return path, f"{inst!r} is not allowed; valid: {', '.join(map(str, sv))}", False
    if v == "minimum":
        return path, f"{inst!r} is too small; must be >= {sv}", False
    if v == "exclusiveMinimum":
        return path, f"{inst!r} is too small; must be > {sv} (a positive number)", False
    if v == "maximum":
        return path, f"{inst!r} is too large; must be <= {sv}", False
    if v in ("minItems", "maxItems"):
        return (
            path,
            f"has {len(inst)} items; {'at least' if v == 'minItems' else 'at most'} {sv} allowed",
            False,
        )
    if v == "uniqueItems":
        return path, "lists an item twice; items must be unique", False
    if v == "minLength":
        return path, "must not be empty", False
    if v == "minProperties":
        return path, f"needs at least {sv} entry", False
    if v == "pattern" and "expected" in err.schema:
        return path, f"{inst!r} is not allowed; expected {err.schema['expected']}", False
    if v == "pattern":
        return path, f"{inst!r} is not allowed; use letters, digits, '.', '_' or '-' (pattern {sv})", False
    if v == "oneOf" and "expected" in err.schema:  # a declaration's alternatives, described by the schema
        return path, f"expected {err.schema['expected']}, got {_kind(inst)}", False
    if v == "oneOf":
        return (
            path,
            f"expected a positive number or a list [min, max] of positive numbers, got {_kind(inst)}",
            False,
        )
    return path, err.message, False


def _specific(err: jsonschema.ValidationError) -> jsonschema.ValidationError:
    """For a ``oneOf`` whose value has the shape of exactly one alternative, that alternative's own error
    (``image.packages[0]`` rather than "expected a name or {packages}")."""
    if err.validator != "oneOf" or not err.context:
        return err
    by_alt: dict[Any, list[jsonschema.ValidationError]] = {}
    for sub in err.context:
        by_alt.setdefault(sub.relative_schema_path[0], []).append(sub)
    shaped = [
        subs
        for subs in by_alt.values()
        if not any(e.validator in ("type", "enum") and not e.relative_path for e in subs)
    ]
    if len(shaped) != 1:
        return err
    return _specific(max(shaped[0], key=lambda e: len(e.absolute_path)))


def check_schema(
    doc: YamlDoc,
    schema: Path | Mapping[str, Any] = SCHEMA_FILE,
    top: str = "a mapping with target, workload and expect",
) -> None:
    """Raise the first (top-most in the file) violation of ``schema`` (a file, or the schema itself) as a
    one-line ``BadInput``."""
    if not isinstance(doc.data, dict):
        raise BadInput(f"{doc.file}:{doc.line(())}: (top level): expected {top}, got {_kind(doc.data)}")
    validator = jsonschema.Draft202012Validator(load_schema(schema) if isinstance(schema, Path) else schema)
    found = []
    for err in validator.iter_errors(doc.data):
        path, msg, key = _describe(_specific(err))
        found.append((doc.line(path, key=key), -len(path), path, msg, key))
    if found:
        line, _, path, msg, _ = min(found, key=lambda t: (t[0], t[1]))
        raise BadInput(f"{doc.file}:{line}: {field_name(path)}: {msg}")
