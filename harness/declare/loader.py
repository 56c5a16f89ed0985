"""Target declarations: ``target.yaml`` -> a validated ``Declaration``; errors name ``file:line: field``.

Two layers, as for experiments: the published JSON Schema (``harness/schema/target.schema.json``: shapes,
types, names), then checks the schema cannot express -- every template parses and names only fields that exist
(ports, roles, options declared in this file), readiness names a declared port and says one thing, roles do
not claim a node twice, modes' roles exist, node counts are consistent and the client class imports.
Nothing starts.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

from harness.declare.model import Declaration, Extra, ImageChoice, Mode, Override, ReadyCheck, Role
from harness.declare.templates import Join, Names, Piece, Template, TemplateError, check
from harness.errors import BadInput
from harness.names import BACKENDS
from harness.schema import TARGET_SCHEMA_FILE, FieldPath, YamlDoc, check_schema

Path_ = tuple[str | int, ...]


def load_declaration(path: str | Path) -> Declaration:
    """Read and validate a declaration file (see the module docstring)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise BadInput(f"{p}: no such target declaration") from None
    except IsADirectoryError:
        raise BadInput(
            f"{p}: is a directory; name the declaration .yaml file (e.g. {p}/target.yaml)"
        ) from None
    except (OSError, UnicodeDecodeError) as e:
        raise BadInput(f"{p}: cannot read: {e}") from None
    return loads_declaration(text, str(p))


def loads_declaration(text: str, file: str = "<target>") -> Declaration:
    doc = YamlDoc.parse(text, file)
    check_schema(doc, TARGET_SCHEMA_FILE, "a target declaration mapping with name, ports, command and client")
    return _Builder(doc).build()


class _Builder:
    def __init__(self, doc: YamlDoc) -> None:
        self.doc, self.d = doc, doc.data
        roles = self.d.get("roles") or []
        self.names = Names(
            ports=frozenset(self.d["ports"]),
            roles=frozenset(r["name"] for r in roles),
            options=frozenset(self.d.get("options") or {}),
        )

    def err(self, path: FieldPath, msg: str, key: bool = False) -> BadInput:
        return self.doc.error(path, msg, key=key)

    def piece(self, v: Any, path: Path_) -> Piece:
        try:
            if isinstance(v, Mapping):
                p: Piece = Join(str(v["join"]), str(v["over"]), Template.parse(str(v["each"])))
            else:
                p = Template.parse(str(v))
            check(p, self.names)
        except TemplateError as e:
            raise self.err(path, str(e)) from None
        return p

    def argv(self, v: list[Any] | None, path: Path_) -> tuple[Piece, ...] | None:
        if v is None:
            return None
        return tuple(self.piece(x, (*path, i)) for i, x in enumerate(v))

    def env(self, v: Mapping[str, Any] | None, path: Path_) -> Mapping[str, Piece]:
        return MappingProxyType({k: self.piece(x, (*path, k)) for k, x in (v or {}).items()})

    def ready(self, v: Mapping[str, Any] | None, path: Path_) -> ReadyCheck | None:
        if v is None:
            return None
        kinds = [k for k in ("tcp", "http", "command") if k in v]
        if len(kinds) != 1:
            raise self.err(path, "say exactly one of tcp: PORT, http: {port, path, status}, command: [argv]")
        if kinds == ["command"]:
            cmd = self.argv(v["command"], (*path, "command")) or ()
            if not cmd:
                raise self.err(
                    (*path, "command"), "an empty command; give the argv to run, e.g. [pg_isready]"
                )
            return ReadyCheck("command", command=cmd)
        spec = v[kinds[0]]
        port = spec if kinds == ["tcp"] else spec["port"]
        ppath: Path_ = (*path, "tcp") if kinds == ["tcp"] else (*path, "http", "port")
        if port not in self.names.ports:
            raise self.err(ppath, f"no port named {port!r}; ports: {', '.join(self.d['ports'])}")
        if kinds == ["tcp"]:
            return ReadyCheck("tcp", port=port)
        return ReadyCheck("http", port=port, path=spec.get("path", "/"), status=int(spec.get("status", 200)))

    def image(self, v: Any) -> ImageChoice | None:
        if v is None:
            return None
        if isinstance(v, str):
            return ImageChoice(name=v)
        return ImageChoice(packages=tuple(v["packages"]))

    def override(self, v: Mapping[str, Any] | None, path: Path_) -> Override:
        v = v or {}
        return Override(
            command=self.argv(v.get("command"), (*path, "command")),
            args=self.argv(v.get("args"), (*path, "args")) or (),
            env=self.env(v.get("env"), (*path, "env")),
            ready=self.ready(v.get("ready"), (*path, "ready")),
            image=self.image(v.get("image")),
        )

    def roles(self) -> tuple[Role, ...]:
        out: list[Role] = []
        owner: dict[str, int] = {}
        rest_at: int | None = None
        for i, r in enumerate(self.d.get("roles") or []):
            if r["name"] in (x.name for x in out):
                raise self.err(("roles", i, "name"), f"role {r['name']!r} is declared twice")
            if r["nodes"] == "rest":
                if rest_at is not None:
                    raise self.err(("roles", i, "nodes"), f"roles[{rest_at}] already takes the rest")
                rest_at, nodes = i, None
            else:
                nodes = tuple(r["nodes"])
                for n in nodes:
                    if n in owner:
                        raise self.err(("roles", i, "nodes"), f"node {n} is already in roles[{owner[n]}]")
                    if int(n[1:]) > self.nodes_max:
                        raise self.err(("roles", i, "nodes"), f"node {n}, but nodes.max is {self.nodes_max}")
                    owner[n] = i
            out.append(Role(r["name"], nodes, self.override(r, ("roles", i))))
        return tuple(out)

    def modes(self) -> dict[str, Mode]:
        out = {}
        for name, m in (self.d.get("modes") or {}).items():
            m = m or {}
            roles = {}
            for role, extra in (m.get("roles") or {}).items():
                if role not in self.names.roles:
                    valid = ", ".join(sorted(self.names.roles)) or "(no roles declared)"
                    raise self.err(("modes", name, "roles", role), f"no role {role!r}; roles: {valid}", True)
                roles[role] = self._extra(extra, ("modes", name, "roles", role))
            out[name] = Mode(
                name, m.get("description", ""), self._extra(m, ("modes", name)), MappingProxyType(roles)
            )
        return out

    def _extra(self, v: Mapping[str, Any], path: Path_) -> Extra:
        return Extra(self.argv(v.get("args"), (*path, "args")) or (), self.env(v.get("env"), (*path, "env")))

    def node_counts(self) -> tuple[int, int, int]:
        n = self.d.get("nodes", 3)
        if isinstance(n, int):
            return n, 1, 9
        lo, hi = n.get("min", 1), n.get("max", 9)
        default = n.get("default", max(lo, min(3, hi)))
        if not lo <= default <= hi:
            raise self.err(("nodes",), f"default {default} is outside min {lo} .. max {hi}")
        return default, lo, hi

    def client(self) -> tuple[str, Mapping[str, Any]]:
        c = self.d["client"]
        cls, opts = (c, {}) if isinstance(c, str) else (c["class"], c.get("options") or {})
        path: Path_ = ("client",) if isinstance(c, str) else ("client", "class")
        module, _, attr = cls.partition(":")
        try:
            obj = getattr(importlib.import_module(module), attr)
        except ImportError as e:
            raise self.err(path, f"cannot import {module}: {e}") from None
        except AttributeError:
            raise self.err(path, f"module {module} has no {attr}") from None
        if not callable(obj):
            raise self.err(path, f"{cls} is not a class")
        return cls, MappingProxyType(dict(opts))

    def build(self) -> Declaration:
        d = self.d
        self.nodes_default, self.nodes_min, self.nodes_max = self.node_counts()
        base = self.override(d, ())
        if not base.command:
            raise self.err(("command",), "an empty command; give the argv that starts one node")
        cls, opts = self.client()
        return Declaration(
            name=d["name"],
            file=self.doc.file,
            ports=MappingProxyType(dict(d["ports"])),
            base=base,
            client_class=cls,
            description=d.get("description", ""),
            nodes_default=self.nodes_default,
            nodes_min=self.nodes_min,
            nodes_max=self.nodes_max,
            backends=tuple(d.get("backends", BACKENDS)),
            overrides=MappingProxyType({b: self.override(d[b], (b,)) for b in BACKENDS if b in d}),
            roles=self.roles(),
            client_options=opts,
            workload=d.get("workload"),
            options=MappingProxyType(dict(d.get("options") or {})),
            modes=MappingProxyType(self.modes()),
        )
