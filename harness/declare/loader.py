"""Target declarations: ``target.yaml`` -> a validated ``Declaration``; errors name ``file:line: field``.

Two layers, as for experiments: the published JSON Schema (``harness/schema/target.schema.json``: shapes,
types, names), then checks the schema cannot express -- every template parses and names only fields that exist
(ports, roles, options declared in this file), readiness names a declared port and says one thing, roles do
not claim a node twice, modes' roles exist, node counts are consistent and the client class imports (from
the declaration's own folder first: ``client: my_client:MyClient`` finds ``my_client.py`` beside the file).
A declaration file is read bounded like an experiment (``MAX_DECLARATION_BYTES``). Nothing starts.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

from harness.declare.imports import import_object
from harness.declare.model import (
    Declaration,
    Extra,
    FirstStart,
    ImageChoice,
    ImageFile,
    Mode,
    NodeFile,
    Override,
    ReadyCheck,
    Role,
    RoleProbe,
    StartAfter,
)
from harness.declare.templates import Join, Names, Piece, Template, TemplateError, check
from harness.errors import BadInput
from harness.limits import decode_utf8, read_bounded
from harness.names import BACKENDS
from harness.schema import TARGET_SCHEMA_FILE, FieldPath, YamlDoc, check_schema

Path_ = tuple[str | int, ...]
MAX_DECLARATION_BYTES = 1 << 20  # 1 MiB, as an experiment: a declaration is a page or two of YAML


def load_declaration(path: str | Path) -> Declaration:
    """Read and validate a declaration file (see the module docstring)."""
    p = Path(path)
    if p.is_dir():
        raise BadInput(f"{p}: is a directory; name the declaration .yaml file (e.g. {p}/target.yaml)")
    if not p.exists():
        raise BadInput(f"{p}: no such target declaration")
    raw = read_bounded(p, MAX_DECLARATION_BYTES, "target declaration", "a declaration is a page of YAML")
    text = decode_utf8(raw, p, "a target declaration is a YAML file")
    return loads_declaration(text, str(p), folder=p.resolve().parent)


def loads_declaration(text: str, file: str = "<target>", folder: str | Path | None = None) -> Declaration:
    """Validate declaration ``text``; ``folder`` (default: the current directory) is where its client
    module is looked for first."""
    doc = YamlDoc.parse(text, file)
    check_schema(doc, TARGET_SCHEMA_FILE, "a target declaration mapping with name, ports, command and client")
    return _Builder(doc, Path(folder) if folder is not None else Path.cwd()).build()


def _mode(v: Any) -> int:
    return int(v, 8) if isinstance(v, str) else int(v)


class _Builder:
    def __init__(self, doc: YamlDoc, folder: Path) -> None:
        self.doc, self.d, self.folder = doc, doc.data, folder
        roles = self.d.get("roles") or []
        self.names = Names(
            ports=frozenset(self.d["ports"]),
            roles=frozenset(r["name"] for r in roles),
            options=frozenset(self.d.get("options") or {}),
            joins=frozenset(self.d.get("joins") or {}),
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

    def template(self, v: Any, path: Path_) -> Template:
        p = self.piece(str(v), path)
        assert isinstance(p, Template)
        return p

    def files(self, v: list[Any] | None, path: Path_) -> tuple[NodeFile, ...]:
        out: dict[str, NodeFile] = {}
        for i, f in enumerate(v or []):
            where: Path_ = (*path, i)
            if f.get("template", True):
                content = self.template(f["content"], (*where, "content"))
            else:
                content = Template(f["content"], (f["content"],) if f["content"] else ())
            mode = _mode(f.get("mode", 0o644))
            node_file = NodeFile(self.template(f["path"], (*where, "path")), content, mode)
            if node_file.path.source in out:
                raise self.err((*where, "path"), f"file {f['path']!r} is declared twice here")
            out[node_file.path.source] = node_file
        return tuple(out.values())

    def first_start(self, v: Mapping[str, Any] | None, path: Path_) -> FirstStart | None:
        if v is None:
            return None
        if "command" in v and "args" in v:
            raise self.err(path, "say command (replaces the command) or args (appended), not both")
        unless = v.get("unless_exists")
        return FirstStart(
            run=tuple(self.argv(c, (*path, "run", i)) or () for i, c in enumerate(v.get("run") or [])),
            command=self.argv(v.get("command"), (*path, "command")),
            args=self.argv(v.get("args"), (*path, "args")) or (),
            unless_exists=self.template(unless, (*path, "unless_exists")) if unless is not None else None,
        )

    def start_after(self, v: Mapping[str, Any] | None, path: Path_) -> StartAfter | None:
        if v is None:
            return None
        if "tcp" not in v and "command" not in v:
            raise self.err(path, "say what to wait for: tcp: 'HOST:PORT' (or a list) or command: [argv]")
        tcp = v.get("tcp")
        tcp_list = tcp if isinstance(tcp, list) else ([] if tcp is None else [tcp])
        return StartAfter(
            tcp=tuple(self.piece(x, (*path, "tcp", i)) for i, x in enumerate(tcp_list)),
            command=self.argv(v.get("command"), (*path, "command")) or (),
            timeout=float(v.get("timeout", 60)),
            first=bool(v.get("first", False)),
        )

    def ready(self, v: Mapping[str, Any] | None, path: Path_) -> ReadyCheck | None:
        if v is None:
            return None
        kinds = [k for k in ("tcp", "http", "command", "running") if k in v]
        if len(kinds) != 1:
            raise self.err(
                path,
                "say exactly one of tcp: PORT, http: {port, path, status}, command: [argv], running: true",
            )
        if kinds == ["running"]:
            return ReadyCheck("running")
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
        return ImageChoice(
            packages=tuple(v.get("packages") or ()),
            pip=tuple(v.get("pip") or ()),
            files=tuple(
                ImageFile(f["path"], f["content"], _mode(f.get("mode", 0o644))) for f in v.get("files") or []
            ),
            lines=tuple(v.get("lines") or ()),
        )

    def override(self, v: Mapping[str, Any] | None, path: Path_) -> Override:
        v = v or {}
        return Override(
            command=self.argv(v.get("command"), (*path, "command")),
            args=self.argv(v.get("args"), (*path, "args")) or (),
            env=self.env(v.get("env"), (*path, "env")),
            ready=self.ready(v.get("ready"), (*path, "ready")),
            image=self.image(v.get("image")),
            files=self.files(v.get("files"), (*path, "files")),
            first_start=self.first_start(v.get("first_start"), (*path, "first_start")),
            start_after=self.start_after(v.get("start_after"), (*path, "start_after")),
            run_as=v.get("run_as"),
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
        try:
            obj = import_object(cls, self.folder)
        except ValueError as e:
            raise self.err(path, str(e)) from None
        if not callable(obj):
            raise self.err(path, f"{cls} is not a class")
        return cls, MappingProxyType(dict(opts))

    def joins(self) -> Mapping[str, Join]:
        out = {}
        for name, j in (self.d.get("joins") or {}).items():
            piece = self.piece(j, ("joins", name))
            assert isinstance(piece, Join)
            out[name] = piece
        return MappingProxyType(out)

    def probes(self) -> Mapping[str, RoleProbe]:
        out = {}
        for name, p in (self.d.get("role_probes") or {}).items():
            cmd = self.argv(p["command"], ("role_probes", name, "command")) or ()
            if not cmd:
                raise self.err(("role_probes", name, "command"), "an empty command; give the argv to run")
            out[name] = RoleProbe(name, cmd)
        return MappingProxyType(out)

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
            joins=self.joins(),
            folder=str(self.folder),
            probes=self.probes(),
        )
