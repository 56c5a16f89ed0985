"""The fault parts of the experiment JSON Schema, generated from the fault kinds' declared parameters.

``experiment_schema(kinds)`` is the published schema (``experiment.schema.json``) with its fault parts made
from ``kinds`` (name -> kind): ``$defs/step`` (the step's own fields, the kind's description listing every
kind, and one ``if kind == K then #/$defs/fault-K`` rule per kind that declares its ``parameters``), one
``$defs/fault-<kind>`` per such kind, and ``$defs/random`` (its fixed keys plus every kind's declared
``random_parameters``; a key two kinds share is one property). A kind of the older protocol, with no
declarations, gets no step rule (its steps stay open, as before) and its ``random_keys`` accept any value.

The published file is this function applied to the bundled kinds (those of ``harness``'s own entry points);
``python -m harness.schema.faults`` (``scripts/schema``) rewrites it, and a test checks it is up to date;
``--installed FILE`` writes the schema with the installed plugins' kinds too, for editors.
The loader validates each experiment against ``live_schema(registry)``: the same, with every registered
kind, plugins included.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from harness.faults.base import description_of, parameters_of, random_parameters_of
from harness.registry import GROUPS, Registry
from harness.schema import SCHEMA_FILE, load_schema

DEF_PREFIX = "fault-"
MAX_RANDOM = 10000
BUNDLED_PACKAGE = "harness"
RANDOM_OWN = (
    "kinds",
    "interval",
    "duration",
    "max_faults",
)  # the random block's own keys; others: the kinds'


def step_schema(kinds: Mapping[str, Any]) -> dict[str, Any]:
    """``$defs/step``: kind, at, duration, and one rule per kind that declares its parameters."""
    names = sorted(kinds)
    rules = [
        {
            "if": {"properties": {"kind": {"const": name}}, "required": ["kind"]},
            "then": {"$ref": f"#/$defs/{DEF_PREFIX}{name}"},
        }
        for name in names
        if parameters_of(kinds[name]) is not None
    ]
    return {
        "type": "object",
        "required": ["kind", "at", "duration"],
        "properties": {
            "kind": {
                "type": "string",
                "minLength": 1,
                "description": f"A fault kind: {', '.join(names)}, or one a plugin registers "
                "(entry-point group chaos_harness.faults).",
                "examples": names,
            },
            "at": {"$ref": "#/$defs/time", "description": "Seconds after the workload starts."},
            "duration": {
                "$ref": "#/$defs/time",
                "description": "Seconds until the fault is ended (healed / node started / resumed).",
            },
        },
        "allOf": rules,
    }


def kind_schema(kind: Any) -> dict[str, Any]:
    """``$defs/fault-<kind>``: the step's fields as the kind declares them, no others."""
    declared = parameters_of(kind) or ()
    out: dict[str, Any] = {"additionalProperties": False}
    description = description_of(kind)
    if description:
        out["description"] = description
    required = [p.name for p in declared if p.required]
    if required:
        out["required"] = required
    out["properties"] = {"kind": True, "at": True, "duration": True, **{p.name: p.schema() for p in declared}}
    return out


def random_schema(kinds: Mapping[str, Any]) -> dict[str, Any]:
    """``$defs/random``: kinds, interval, duration, max_faults, then each kind's random keys (a key kinds
    share is one property naming them all; differing declarations of one key: any of them)."""
    props: dict[str, Any] = {
        "kinds": {
            "type": "array",
            "items": {"type": "string", "minLength": 1, "examples": sorted(kinds)},
            "minItems": 1,
            "uniqueItems": True,
            "description": "The fault kinds drawn from.",
        },
        "interval": {
            "$ref": "#/$defs/range",
            "description": "Quiet seconds before each fault (default [1, 3]).",
        },
        "duration": {"$ref": "#/$defs/range", "description": "Seconds each fault lasts (default [2, 5])."},
        "max_faults": {"type": "integer", "minimum": 1, "maximum": MAX_RANDOM},
    }
    bodies: dict[str, list[dict[str, Any]]] = {}
    texts: dict[str, str] = {}
    readers: dict[str, list[str]] = {}
    for name in sorted(kinds):
        for p in random_parameters_of(kinds[name]):
            if p.name in props:
                continue  # a kind cannot redefine the block's own keys
            body = {k: v for k, v in p.schema().items() if k != "description"}
            if body not in bodies.setdefault(p.name, []):
                bodies[p.name].append(body)
            texts.setdefault(p.name, p.description)
            readers.setdefault(p.name, []).append(name)
    for key, found in bodies.items():
        merged = found[0] if len(found) == 1 else {"anyOf": found}
        read_by = f"(read by {', '.join(readers[key])})"
        props[key] = {**merged, "description": f"{texts[key]} {read_by}".strip()}
    return {"type": "object", "additionalProperties": False, "required": ["kinds"], "properties": props}


def experiment_schema(kinds: Mapping[str, Any], base: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """``base`` (default: the published schema) with its fault parts generated from ``kinds``."""
    schema = json.loads(json.dumps(base if base is not None else load_schema(SCHEMA_FILE)))
    defs = {k: v for k, v in schema["$defs"].items() if not k.startswith(DEF_PREFIX)}
    defs["step"] = step_schema(kinds)
    defs["random"] = random_schema(kinds)
    for name in sorted(kinds):
        if parameters_of(kinds[name]) is not None:
            defs[f"{DEF_PREFIX}{name}"] = kind_schema(kinds[name])
    schema["$defs"] = defs
    return dict(schema)


def bundled_kinds() -> dict[str, Any]:
    """The fault kinds ``harness`` itself registers (not plugins installed beside it), constructed."""
    return {
        ep.name: ep.load()()
        for ep in entry_points(group=GROUPS["faults"])
        if ep.value.split(".")[0] == BUNDLED_PACKAGE
    }


def registered_kinds(registry: Registry) -> dict[str, Any]:
    """Every kind ``registry`` can load, constructed; one that cannot load is left to the loader, which
    names it where an experiment uses it."""
    out: dict[str, Any] = {}
    for name in registry.names():
        try:
            out[name] = registry.get(name)()
        except Exception:  # noqa: BLE001 - a broken plugin must not break every experiment (BadInput included)
            continue
    return out


def live_schema(registry: Registry) -> dict[str, Any]:
    """The schema an experiment is validated against: the published one with every registered kind."""
    kinds = registered_kinds(registry)
    return _cached(tuple(sorted((name, type(kind)) for name, kind in kinds.items())), kinds)


_SCHEMAS: dict[tuple[tuple[str, type], ...], dict[str, Any]] = {}


def _cached(key: tuple[tuple[str, type], ...], kinds: Mapping[str, Any]) -> dict[str, Any]:
    if key not in _SCHEMAS:
        _SCHEMAS[key] = experiment_schema(kinds)
    return _SCHEMAS[key]


def render(schema: Mapping[str, Any]) -> str:
    """The file form of a schema (as the published file is written)."""
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Rewrite the published schema from the bundled kinds; ``--check``: only say whether it is current;
    ``--installed FILE``: write the schema with every installed kind, plugins included, to FILE (for an
    editor in a project that uses plugin kinds)."""
    args = sys.argv[1:] if argv is None else argv
    if "--installed" in args:
        i = args.index("--installed")
        if i + 1 >= len(args):
            print(
                "--installed needs the file to write, e.g. --installed experiment.schema.json",
                file=sys.stderr,
            )
            return 2
        Path(args[i + 1]).write_text(render(live_schema(Registry("faults"))), encoding="utf-8")
        return 0
    text = render(experiment_schema(bundled_kinds()))
    current = SCHEMA_FILE.read_text(encoding="utf-8")
    if "--check" in args:
        if text != current:
            print(f"{SCHEMA_FILE} is out of date; run scripts/schema", file=sys.stderr)
            return 1
        return 0
    if text != current:
        SCHEMA_FILE.write_text(text, encoding="utf-8")
        print(f"rewrote {SCHEMA_FILE}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
