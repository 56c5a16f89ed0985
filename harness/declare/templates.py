"""Templates in a target declaration: strings with ``{name}`` fields, and ``join`` lists expanded over nodes.

A template is parsed once, when the declaration is loaded, into literal text and field references; an unknown
field is a load-time error (the loader adds ``file:line`` and the field path). Rendering takes a ``NodeVars``
(what one node knows about itself and how it reaches its peers) and never fails for a template that passed
``check``, except for a ``peer.NODE`` naming a node the cluster does not have (checked once the node count is
known, by ``check_nodes``).

Fields (``{{`` and ``}}`` are literal braces):

| field | value |
|---|---|
| ``node``, ``index`` | this node's name and its 1-based position |
| ``host``, ``port.P``, ``data_dir`` | this node's address as peers reach it, its port ``P``, its data dir |
| ``bind`` | the address to listen on (docker: ``0.0.0.0``; local: ``127.0.0.1``) |
| ``peer.N.host``, ``peer.N.port.P`` | how this node reaches node ``N`` on port ``P`` (itself: its own) |
| ``role.R``, ``role.R.host``, ``role.R.port.P`` | the same for role ``R``'s first node (and its name) |
| ``option.O`` | the target option ``O`` (the experiment's value, else the declaration's default) |
| ``nodes`` | how many nodes the cluster has |
| ``join.J`` | the named join ``J`` (declared under ``joins:``), usable inside any string |

A ``join`` (``{join: ",", over: nodes, each: "{member}=http://{member.host}:{member.port.peer}"}``) renders
``each`` once per node of ``over`` (``nodes``: all of them, ``peers``: all but this one, ``role.R``: the nodes
of role R), with ``member``, ``member.index``, ``member.host`` and ``member.port.P`` bound, joined by
``join``. A join may stand as a whole argv element, or be declared once by name under ``joins:`` and used
inside any string (an argv element, an env value, a declared file's content) as ``{join.NAME}``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from harness.target import Addr

_FIELD = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")
_NAME = r"[A-Za-z0-9_][A-Za-z0-9_.-]*"


class TemplateError(ValueError):
    """A template that cannot be parsed or names an unknown field; the message says what would be valid."""


@dataclass(frozen=True)
class Template:
    """Parsed text: literal strings and field paths (tuples of names) in order."""

    source: str
    parts: tuple[str | tuple[str, ...], ...]

    @classmethod
    def parse(cls, text: str) -> Template:
        parts: list[str | tuple[str, ...]] = []
        pos = 0
        for m in _FIELD.finditer(text):
            if m.start() > pos:
                parts.append(text[pos : m.start()])
            tok = m.group(0)
            if tok in ("{{", "}}"):
                parts.append(tok[0])
            elif m.group(1) is None:
                raise TemplateError(
                    f"unmatched {tok!r} at character {m.start() + 1} of {text!r}; write {tok * 2} for a "
                    "literal brace"
                )
            else:
                name = m.group(1).strip()
                if not re.fullmatch(_NAME, name):
                    raise TemplateError(
                        f"{{{m.group(1)}}} is not a field name (e.g. {{node}}, {{port.client}})"
                    )
                parts.append(tuple(name.split(".")))
            pos = m.end()
        if pos < len(text):
            parts.append(text[pos:])
        return cls(text, tuple(parts))

    @property
    def fields(self) -> tuple[tuple[str, ...], ...]:
        return tuple(p for p in self.parts if isinstance(p, tuple))


@dataclass(frozen=True)
class Join:
    """``each`` rendered per node of ``over`` and joined by ``sep``."""

    sep: str
    over: str
    each: Template


Piece = Template | Join


@dataclass(frozen=True)
class Names:
    """What a declaration defines, for checking field references before anything runs."""

    ports: frozenset[str]
    roles: frozenset[str]
    options: frozenset[str]
    joins: frozenset[str] = frozenset()


def _valid_fields(names: Names, member: bool) -> str:
    out = ["node", "index", "host", "bind", "data_dir", "nodes", "port.P", "peer.N.host", "peer.N.port.P"]
    out += ["role.R", "role.R.host", "role.R.port.P", "option.O"]
    if names.joins and not member:
        out += ["join.J"]
    if member:
        out += ["member", "member.index", "member.host", "member.port.P"]
    return ", ".join(out)


def _check_port(name: str, names: Names, ref: str) -> None:
    if name not in names.ports:
        raise TemplateError(f"{{{ref}}}: no port named {name!r}; ports: {', '.join(sorted(names.ports))}")


def _check_addr(rest: tuple[str, ...], names: Names, ref: str) -> None:
    """``rest`` follows a node reference: (), ("host",), ("index",) or ("port", P)."""
    if rest in ((), ("host",), ("index",)):
        return
    if len(rest) == 2 and rest[0] == "port":
        _check_port(rest[1], names, ref)
        return
    raise TemplateError(f"{{{ref}}}: after a node, write .host, .index or .port.P")


def check_field(path: tuple[str, ...], names: Names, *, member: bool = False) -> None:
    """Raise ``TemplateError`` unless ``path`` is a field listed in the module docstring."""
    ref = ".".join(path)
    head, rest = path[0], path[1:]
    if head in ("node", "index", "host", "bind", "data_dir", "nodes") and not rest:
        return
    if head == "port" and len(rest) == 1:
        _check_port(rest[0], names, ref)
        return
    if head == "option" and len(rest) == 1:
        if rest[0] not in names.options:
            valid = ", ".join(sorted(names.options)) or "(none declared; add them under options:)"
            raise TemplateError(f"{{{ref}}}: no option {rest[0]!r}; declared options: {valid}")
        return
    if head == "peer" and len(rest) >= 1:
        _check_addr(rest[1:], names, ref)
        return
    if head == "join" and len(rest) == 1 and not member:
        if rest[0] not in names.joins:
            valid = ", ".join(sorted(names.joins)) or "(none declared; add them under joins:)"
            raise TemplateError(f"{{{ref}}}: no join {rest[0]!r}; declared joins: {valid}")
        return
    if head == "role" and len(rest) >= 1:
        if rest[0] not in names.roles:
            valid = ", ".join(sorted(names.roles)) or "(none declared)"
            raise TemplateError(f"{{{ref}}}: no role {rest[0]!r}; roles: {valid}")
        _check_addr(rest[1:], names, ref)
        return
    if head == "member" and member:
        _check_addr(rest, names, ref)
        return
    where = "" if member or head != "member" else " ({member} exists only inside a join's each)"
    raise TemplateError(f"{{{ref}}}: unknown field{where}; valid: {_valid_fields(names, member)}")


def check(piece: Piece, names: Names) -> None:
    if isinstance(piece, Join):
        if piece.over not in ("nodes", "peers") and not (
            piece.over.startswith("role.") and piece.over[5:] in names.roles
        ):
            roles = ", ".join(f"role.{r}" for r in sorted(names.roles))
            raise TemplateError(
                f"over: {piece.over!r}; valid: nodes, peers" + (f", {roles}" if roles else "")
            )
        for f in piece.each.fields:
            check_field(f, names, member=True)
        return
    for f in piece.fields:
        check_field(f, names)


def peer_nodes(piece: Piece) -> set[str]:
    """The node names this piece names with ``peer.N`` (checked against the cluster's nodes)."""
    t = piece.each if isinstance(piece, Join) else piece
    return {f[1] for f in t.fields if f[0] == "peer" and len(f) > 1}


@dataclass(frozen=True)
class NodeVars:
    """Everything a template may read for one node. ``addrs[n][p]`` is how this node reaches node n's port p
    (for itself: its own host and port)."""

    node: str
    nodes: tuple[str, ...]
    host: str
    ports: Mapping[str, int]
    data_dir: str
    addrs: Mapping[str, Mapping[str, Addr]]
    roles: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    bind: str = "127.0.0.1"
    options: Mapping[str, Any] = field(default_factory=dict)
    joins: Mapping[str, Join] = field(default_factory=dict)


def _node_value(v: NodeVars, n: str, rest: tuple[str, ...], ref: str) -> str:
    if n not in v.addrs:
        raise TemplateError(f"{{{ref}}}: no node {n!r} in this cluster; nodes: {', '.join(v.nodes)}")
    if not rest:
        return n
    if rest == ("index",):
        return str(v.nodes.index(n) + 1)
    addrs = v.addrs[n]
    if rest == ("host",):
        return next(iter(addrs.values())).host
    return str(addrs[rest[1]].port)


def _value(path: tuple[str, ...], v: NodeVars, member: str | None) -> str:
    ref = ".".join(path)
    head, rest = path[0], path[1:]
    if head == "node":
        return v.node
    if head == "index":
        return str(v.nodes.index(v.node) + 1)
    if head == "host":
        return v.host
    if head == "data_dir":
        return v.data_dir
    if head == "bind":
        return v.bind
    if head == "nodes":
        return str(len(v.nodes))
    if head == "port":
        return str(v.ports[rest[0]])
    if head == "option":
        value = v.options.get(rest[0])
        return "" if value is None else str(value)
    if head == "peer":
        return _node_value(v, rest[0], rest[1:], ref)
    if head == "role":
        members = v.roles.get(rest[0], ())
        if not members:
            raise TemplateError(f"{{{ref}}}: role {rest[0]!r} has no node in this cluster")
        return _node_value(v, members[0], rest[1:], ref)
    if head == "member" and member is not None:
        return _node_value(v, member, rest, ref)
    if head == "join" and rest and rest[0] in v.joins:
        return render(v.joins[rest[0]], v)
    raise TemplateError(f"{{{ref}}}: unknown field")


def _render_template(t: Template, v: NodeVars, member: str | None = None) -> str:
    return "".join(p if isinstance(p, str) else _value(p, v, member) for p in t.parts)


def render(piece: Piece, v: NodeVars) -> str:
    """One string: a template's text, or a join's members joined."""
    if isinstance(piece, Template):
        return _render_template(piece, v)
    if piece.over == "nodes":
        members: Sequence[str] = v.nodes
    elif piece.over == "peers":
        members = [n for n in v.nodes if n != v.node]
    else:
        members = v.roles.get(piece.over[5:], ())
    return piece.sep.join(_render_template(piece.each, v, m) for m in members)
