"""A fault kind's parameters as typed declarations, from which its JSON-schema fragment and checks follow.

A kind declares ``parameters`` (the fields of its step) and ``random_parameters`` (the keys it reads from an
experiment's ``random:`` block), each a ``Param``: name, type, bounds, required or optional, default and a
description. ``Param.schema()`` is the JSON-schema fragment of one field (``harness.schema.faults`` assembles
the experiment schema from them, so editors complete a plugin's fields like the bundled ones), and
``check_params`` checks a step against the declarations with the same rules, raising ``ParamError`` with the
field's path (for steps that never went through the schema: a random draw, ``Nemesis.inject``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

# The types a parameter may have: scalars, one of ``choices``, a list of them, node names, directed links
# ([src, dst] pairs), node groups (lists of node lists), or anything (an old-protocol kind's random keys).
PARAM_TYPES = (
    "integer",
    "number",
    "string",
    "boolean",
    "choice",
    "choices",
    "nodes",
    "links",
    "groups",
    "any",
)
MAX_INT32 = 2**31 - 1


class ParamError(Exception):
    """A fault parameter is wrong; ``field`` is its path inside the step, e.g. ``("nodes", 1)``."""

    def __init__(self, field: tuple[str | int, ...], message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True)
class Param:
    """One parameter of a fault kind. Bounds apply to ``integer`` / ``number``; ``choices`` to ``choice`` /
    ``choices``; ``exclusive_minimum`` makes ``minimum`` itself invalid."""

    name: str
    type: str
    description: str = ""
    required: bool = False
    default: Any = None
    minimum: float | None = None
    maximum: float | None = None
    exclusive_minimum: bool = False
    choices: tuple[Any, ...] = ()

    def __post_init__(self) -> None:
        if self.type not in PARAM_TYPES:
            raise ValueError(f"parameter {self.name}: type {self.type!r}; valid: {', '.join(PARAM_TYPES)}")
        if self.type in ("choice", "choices") and not self.choices:
            raise ValueError(f"parameter {self.name}: type {self.type} needs choices")

    def schema(self) -> dict[str, Any]:
        """The JSON-schema fragment of this field (``#/$defs/node(s)`` are the experiment schema's)."""
        out: dict[str, Any] = {}
        if self.type in ("integer", "number"):
            out["type"] = self.type
            if self.minimum is not None:
                out["exclusiveMinimum" if self.exclusive_minimum else "minimum"] = self.minimum
            if self.maximum is not None:
                out["maximum"] = self.maximum
        elif self.type == "string":
            out = {"type": "string", "minLength": 1}
        elif self.type == "boolean":
            out = {"type": "boolean"}
        elif self.type == "choice":
            out = {"enum": list(self.choices)}
        elif self.type == "choices":
            out = {"type": "array", "items": {"enum": list(self.choices)}, "minItems": 1, "uniqueItems": True}
        elif self.type == "nodes":
            out = {"$ref": "#/$defs/nodes"}
        elif self.type == "links":
            pair = {"type": "array", "items": {"$ref": "#/$defs/node"}, "minItems": 2, "maxItems": 2}
            out = {"type": "array", "items": pair}
        elif self.type == "groups":
            out = {"type": "array", "items": {"$ref": "#/$defs/nodes"}, "minItems": 2}
        if self.default is not None:
            out["default"] = self.default
        if self.description:
            out["description"] = self.description
        return out

    def problem(self, value: Any) -> tuple[tuple[str | int, ...], str] | None:
        """(path inside the field, what is wrong) when ``value`` breaks this declaration, else None."""
        t = self.type
        if t in ("integer", "number"):
            ok = not isinstance(value, bool) and isinstance(value, int if t == "integer" else (int, float))
            if not ok:
                return (), f"expected {'an integer' if t == 'integer' else 'a number'}, got {value!r}"
            low = self.minimum
            if low is not None and (value <= low if self.exclusive_minimum else value < low):
                return (), f"expected {'>' if self.exclusive_minimum else '>='} {low:g}, got {value!r}"
            if self.maximum is not None and value > self.maximum:
                return (), f"expected <= {self.maximum:g}, got {value!r}"
        elif t == "string" and not (isinstance(value, str) and value):
            return (), f"expected a non-empty string, got {value!r}"
        elif t == "boolean" and not isinstance(value, bool):
            return (), f"expected true or false, got {value!r}"
        elif t == "choice" and value not in self.choices:
            return (), f"{value!r} is not one of {', '.join(map(str, self.choices))}"
        elif t == "choices":
            return _list_problem(
                value, lambda x: x in self.choices, f"one of {', '.join(map(str, self.choices))}"
            )
        elif t == "nodes":
            return _list_problem(value, lambda x: isinstance(x, str) and bool(x), "a node name")
        elif t == "links":
            return _list_problem(value, _is_link, "a [src, dst] pair of node names")
        elif t == "groups":
            return _list_problem(
                value, lambda x: _list_problem(x, _is_name, "") is None, "a list of node names"
            )
        return None


def _is_name(x: Any) -> bool:
    return isinstance(x, str) and bool(x)


def _is_link(x: Any) -> bool:
    return isinstance(x, (list, tuple)) and len(x) == 2 and all(map(_is_name, x))


def _list_problem(value: Any, good: Any, what: str) -> tuple[tuple[str | int, ...], str] | None:
    if not isinstance(value, (list, tuple)) or not value:
        return (), f"expected a non-empty list, got {value!r}"
    for i, x in enumerate(value):
        if not good(x):
            return (i,), f"expected {what}, got {x!r}"
    return None


def check_params(declared: Sequence[Param], params: Mapping[str, Any], kind: str) -> None:
    """Raise ``ParamError`` for the first field of ``params`` that is unknown, missing or breaks its
    declaration (the same rules as the schema fragment, for a step that did not go through the schema)."""
    by_name = {p.name: p for p in declared}
    for key in params:
        if key not in by_name:
            names = ", ".join(by_name) or "none"
            raise ParamError((key,), f"not a field of {kind}; its fields: {names}")
    for p in declared:
        if p.name not in params:
            if p.required:
                raise ParamError((p.name,), f"{kind} needs {p.name}: {p.description or p.type}")
            continue
        found = p.problem(params[p.name])
        if found is not None:
            raise ParamError((p.name, *found[0]), found[1])


def with_defaults(declared: Sequence[Param], params: Mapping[str, Any]) -> dict[str, Any]:
    """``params`` with each declared default filled in where the field is absent."""
    return {**{p.name: p.default for p in declared if p.default is not None}, **params}
