"""Sequential specifications ("models") for the linearizability checker, and the registry of models by name.

A model is Porcupine's shape, adapted to our op vocabulary:

    ``init(initial)``        the initial state (hashable); ``initial`` is the user's ``--init`` value
    ``prepare(pair)``        an invocation/completion pair -> a hashable ``Call`` (or ``None`` to drop it:
                             a ``fail`` that certainly did not happen, an ``info`` read that has no effect)
    ``step(state, call)``    ``(legal, next_state)``: whether the call may take effect in ``state``; pure
    ``partition(pairs)``     independent parts {key: pairs}; a history is linearizable iff every part is
    ``describe_call``, ``describe_state``: human-readable text for counterexamples

The checker (``linsearch``) interns states and caches ``step`` per (call, state), so ``step`` may be slowish
but must be deterministic. ``Call.known`` is ``False`` for an ``info`` (or never-completed) op: ``step``
must then allow every outcome the op could have had. Users add a model by subclassing ``Model`` and either
passing an instance (``check(history, model=Counter())``) or registering the class in the
``chaos_harness.models`` entry-point group, which ``chaos check --model`` reads too (see docs/checkers.md).
The names known are fixed once read: the bundled models, then the installed ones; nothing is mutated.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from functools import cache
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, cast

from harness.errors import BadInput
from harness.history import Pair
from harness.wellformed import BadOp

if TYPE_CHECKING:
    from importlib.metadata import EntryPoint

MISMATCH = "mismatch"  # the ``error`` of a cas that completed ``fail`` because the value differed


def freeze(v: Any) -> Hashable:
    """JSON data -> hashable (lists become tuples, dicts sorted item tuples)."""
    if isinstance(v, list | tuple):
        return tuple(freeze(x) for x in v)
    if isinstance(v, dict):
        return tuple(sorted((str(k), freeze(x)) for k, x in v.items()))
    return v


@dataclass(frozen=True, slots=True)
class Call:
    """A prepared op: ``f``, its argument, its observed output (``ok`` only), whether its outcome is known."""

    f: str
    arg: Any = None  # hashable (see ``freeze``)
    out: Any = None
    known: bool = True


class Model:
    """Base model: one part, ``fail`` ops dropped, ``info`` reads dropped. Subclasses define ``step``."""

    name = "model"
    read_fs: frozenset[str] = frozenset({"read", "get"})
    #: the ``f``s this model checks; ``chaos check`` refuses a history holding none of them (a checker that
    #: checked nothing has no evidence). Empty: not declared, any client op counts.
    fs: frozenset[str] = frozenset()
    default_init: Any = None
    #: ``Call``s follow register semantics (read / write, put / cas [from, to]; ``arg`` the written value):
    #: the checker may then apply the sound shortcuts of ``prune`` before searching.
    register_like = False
    #: Knossos's reading (set by ``check(..., nil_reads="any")``, the default for imported Jepsen histories):
    #: a completed read of ``nil`` tells nothing (its value is unknown, so it matches any state), and every
    #: ``fail`` op did not happen (even a cas whose error says "mismatch").
    nil_read_matches_any = False

    def init(self, initial: Any) -> Hashable:
        return freeze(self.default_init if initial is None else initial)

    def partition(self, pairs: list[Pair]) -> dict[Hashable, list[Pair]]:
        return {None: pairs}

    def prepare(self, pair: Pair) -> Call | None:
        t = pair.type
        if t == "fail":
            return None
        if t == "info" and pair.invoke.f in self.read_fs:
            return None
        out = freeze(pair.complete.value) if t == "ok" and pair.complete is not None else None
        if out is None and t == "ok" and self.nil_read_matches_any and pair.invoke.f in self.read_fs:
            return None  # Knossos: a nil read tells nothing, and a read changes nothing
        return Call(pair.invoke.f, freeze(pair.invoke.value), out, t == "ok")

    def step(self, state: Hashable, call: Call) -> tuple[bool, Hashable]:
        raise NotImplementedError

    def describe_call(self, call: Call) -> str:
        arg = "" if call.arg is None else repr(call.arg)
        out = f" -> {call.out!r}" if call.known and call.f in self.read_fs else ""
        return f"{call.f}({arg}){out}" + ("" if call.known else " ?")

    def describe_state(self, state: Hashable) -> str:
        return repr(state)


class RegisterModel(Model):
    """A single read/write register (value in ``op.value``); reads observe the completion's value."""

    name = "register"
    register_like = True
    fs = frozenset({"read", "get", "write", "put"})

    def step(self, state: Hashable, call: Call) -> tuple[bool, Hashable]:
        if call.f in self.read_fs:
            return call.out == state, state
        if call.f in ("write", "put"):
            return True, call.arg
        raise BadInput(f"model {self.name}: unknown f {call.f!r}; valid: read, write")


class CasRegisterModel(Model):
    """Register plus ``cas`` [from, to]; a ``fail`` cas with error "mismatch" saw a value other than from."""

    name = "cas-register"
    register_like = True
    fs = frozenset({"read", "get", "write", "put", "cas"})

    def prepare(self, pair: Pair) -> Call | None:
        if pair.type == "fail" and pair.invoke.f == "cas" and pair.complete is not None:
            if pair.complete.error == MISMATCH and not self.nil_read_matches_any:
                return Call("cas", freeze(pair.invoke.value), False, True)
            return None
        call = super().prepare(pair)
        if call is not None and call.f == "cas" and call.known:
            return Call("cas", call.arg, True, True)
        return call

    def step(self, state: Hashable, call: Call) -> tuple[bool, Hashable]:
        if call.f in self.read_fs:
            return call.out == state, state
        if call.f in ("write", "put"):
            return True, call.arg
        if call.f == "cas":
            old, new = call.arg
            if not call.known:
                return True, (new if state == old else state)
            if call.out:
                return state == old, new
            return state != old, state
        raise BadInput(f"model {self.name}: unknown f {call.f!r}; valid: read, write, cas")


class KvModel(CasRegisterModel):
    """A map of independent registers, checked per key: read/get, write/put, append, cas (values as dicts)."""

    name = "kv"
    fs = frozenset({"read", "get", "write", "put", "cas", "append"})

    def partition(self, pairs: list[Pair]) -> dict[Hashable, list[Pair]]:
        parts: dict[Hashable, list[Pair]] = {}
        for p in pairs:
            parts.setdefault(_key_of(p), []).append(p)
        return parts

    def prepare(self, pair: Pair) -> Call | None:
        v = pair.invoke.value
        f = pair.invoke.f
        if f == "cas":
            arg: Hashable = (freeze(v.get("from")), freeze(v.get("to")))
        else:
            arg = None if f in self.read_fs else freeze(v.get("value"))
        t = pair.type
        c = pair.complete
        if t == "fail":
            if f == "cas" and c is not None and c.error == MISMATCH:
                return Call("cas", arg, False, True)
            return None
        if t == "info":
            return None if f in self.read_fs else Call(f, arg, None, False)
        if f in self.read_fs:
            cv = c.value if c is not None else None
            out = freeze(cv.get("value") if isinstance(cv, dict) else cv)
            return Call(f, None, out, True)
        return Call(f, arg, True if f == "cas" else None, True)

    def step(self, state: Hashable, call: Call) -> tuple[bool, Hashable]:
        if call.f == "append":
            return True, (state or "") + call.arg
        return super().step(state, call)

    def describe_call(self, call: Call) -> str:
        if call.f in self.read_fs:
            return f"{call.f}() -> {call.out!r}" if call.known else f"{call.f}() ?"
        if call.f == "cas":
            old, new = call.arg
            res = "?" if not call.known else ("ok" if call.out else "mismatch")
            return f"cas({old!r} -> {new!r}) {res}"
        return f"{call.f}({call.arg!r})" + ("" if call.known else " ?")


def _key_of(pair: Pair) -> Hashable:
    v = pair.invoke.value
    if not isinstance(v, dict) or "key" not in v:
        raise BadOp(pair.invoke.index, "field 'value' must be an object with 'key' (model kv)")
    key = v["key"]
    if not isinstance(key, str | int) or isinstance(key, bool):  # [1], {"a": 1}: not a key anyone wrote
        raise BadOp(pair.invoke.index, f"field 'value.key' is {key!r}; a key is a string or an integer")
    return key


class KvMapModel(KvModel):
    """The same map checked as one object (no partition); state is a sorted tuple of (key, value)."""

    name = "kv-map"
    register_like = False

    def partition(self, pairs: list[Pair]) -> dict[Hashable, list[Pair]]:
        return {None: pairs}

    def init(self, initial: Any) -> Hashable:
        self._initial = freeze(self.default_init if initial is None else initial)
        return ()

    def prepare(self, pair: Pair) -> Call | None:
        call = super().prepare(pair)
        if call is None:
            return None
        return Call(call.f, (_key_of(pair), call.arg), call.out, call.known)

    def step(self, state: Hashable, call: Call) -> tuple[bool, Hashable]:
        key, arg = call.arg
        m = dict(cast(tuple[tuple[Any, Any], ...], state))
        cur = m.get(key, self._initial)
        legal, nxt = super().step(cur, Call(call.f, arg, call.out, call.known))
        if not legal or nxt == cur:
            return legal, state
        m[key] = nxt
        return True, tuple(sorted(m.items(), key=repr))


class MutexModel(Model):
    """A lock: ``acquire`` is illegal while held, ``release`` illegal while free. State: held or not."""

    name = "mutex"
    read_fs = frozenset()
    fs = frozenset({"acquire", "release"})
    default_init = False

    def prepare(self, pair: Pair) -> Call | None:
        if pair.type == "fail":
            return None
        return Call(pair.invoke.f, None, None, pair.type == "ok")

    def step(self, state: Hashable, call: Call) -> tuple[bool, Hashable]:
        if call.f == "acquire":
            return not state, True
        if call.f == "release":
            return bool(state), False
        raise BadInput(f"model {self.name}: unknown f {call.f!r}; valid: acquire, release")

    def describe_state(self, state: Hashable) -> str:
        return "held" if state else "free"


MODELS_GROUP = "chaos_harness.models"  # the entry-point group of users' models, as for targets and faults

BUNDLED_MODELS: Mapping[str, Callable[[], Model]] = MappingProxyType(
    {m.name: m for m in (RegisterModel, CasRegisterModel, KvModel, KvMapModel, MutexModel)}
)


@cache
def _installed() -> Mapping[str, EntryPoint]:
    """The installed packages' models by name, read once per process (a bundled name cannot be replaced)."""
    from importlib.metadata import entry_points  # read only for a name not bundled: ``chaos check`` is light

    found = {ep.name: ep for ep in entry_points(group=MODELS_GROUP) if ep.name not in BUNDLED_MODELS}
    return MappingProxyType(found)


def model_names() -> list[str]:
    return sorted({*BUNDLED_MODELS, *_installed()})


def get_model(model: str | Model) -> Model:
    """A fresh model by name (bundled, or registered in the ``chaos_harness.models`` entry-point group), or
    the given instance; an unknown name, or a registered one that cannot be loaded, raises ``BadInput``."""
    if isinstance(model, Model):
        return model
    factory = BUNDLED_MODELS.get(model)
    if factory is None:
        ep = _installed().get(model)
        if ep is None:
            raise BadInput(f"unknown model {model!r}; valid models: {', '.join(model_names())}")
        try:
            factory = ep.load()
        except Exception as e:  # noqa: BLE001 - a broken plugin is one line, not a traceback
            raise BadInput(
                f"model {model!r} is registered ({ep.value}) but cannot be loaded: {type(e).__name__}: {e}"
            ) from None
    return factory()
