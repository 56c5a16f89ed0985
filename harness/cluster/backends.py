"""The registered cluster backends: the entry-point group ``chaos_harness.backends``, ``auto``, construction.

A backend is a class registered under its name (``docker = "harness.cluster.docker:DockerBackend"``, a
plugin's own exactly alike) implementing ``harness.cluster.base.Backend``; the platform constructs it as
``cls(run)`` (plus ``base_port=`` when a caller gives one) and asks nothing by name: what it can do is read
from the protocols it implements (``harness.cluster.base``). ``auto`` picks the first name of
``harness.names.AUTO_ORDER`` that is registered and available (a backend class may say so with a static
``available()``; without one it always is). ``backend_choices()`` is what ``--backend`` accepts.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from harness.cluster.base import Backend
from harness.cluster.rundir import RunDir
from harness.errors import BadInput
from harness.names import AUTO, AUTO_ORDER
from harness.registry import Registry


@runtime_checkable
class Available(Protocol):
    """A backend class that can say, before a run, whether this machine can run it (docker: an engine
    answers)."""

    @staticmethod
    def available() -> bool: ...


def backends() -> Registry:
    return Registry("backends")


def backend_names() -> list[str]:
    """The registered backends' names, sorted."""
    return backends().names()


def backend_choices() -> tuple[str, ...]:
    """What an experiment or ``--backend`` may name: ``auto`` and every registered backend."""
    return (AUTO, *backend_names())


def check_backend(name: str, what: str = "backend") -> str:
    """``name`` if it is ``auto`` or registered, else ``BadInput`` listing the valid names."""
    choices = backend_choices()
    if name not in choices:
        raise BadInput(f"{what} {name!r}: unknown; valid backends: {', '.join(choices)}")
    return name


def backend_class(name: str) -> type:
    """The class registered as ``name`` (``BadInput`` when unknown or broken)."""
    check_backend(name)
    cls = backends().get(name)
    if not isinstance(cls, type):
        raise BadInput(f"backend {name!r} is registered as {cls!r}, which is not a class")
    return cls


def resolve_backend(name: str) -> str:
    """The backend ``name`` stands for: itself, or for ``auto`` the first available of ``AUTO_ORDER``."""
    if check_backend(name) != AUTO:
        return name
    registered = backend_names()
    candidates = [n for n in AUTO_ORDER if n in registered]
    for n in candidates:
        cls = backend_class(n)
        if not isinstance(cls, Available) or cls.available():
            return n
    raise BadInput(
        f"backend auto: none of {', '.join(AUTO_ORDER)} is available; valid: {', '.join(registered)}"
    )


def make_backend(name: str, run: RunDir, base_port: int | None = None) -> Backend:
    """Construct the backend ``name`` (``auto`` resolved) for ``run``; ``base_port``: fixed ports from there,
    for a backend that takes them (``BadInput`` for one that does not)."""
    resolved = resolve_backend(name)
    cls = backend_class(resolved)
    try:
        be = cls(run) if base_port is None else cls(run, base_port=base_port)
    except TypeError as e:
        if base_port is not None and "base_port" in str(e):
            raise BadInput(f"backend {resolved}: takes no base_port (fixed ports are for local)") from None
        raise
    if not isinstance(be, Backend):
        raise BadInput(
            f"backend {resolved!r}: {cls.__module__}.{cls.__qualname__} does not implement "
            "harness.cluster.base.Backend"
        )
    return be
