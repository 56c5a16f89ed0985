"""The checker contract: what a checker declares about itself, once, and how the core finds it.

A checker is registered under the entry-point group ``chaos_harness.checkers`` as a ``Checker`` value, which
names every member the core reads; the bundled checkers register the same way (their modules end with one):

    CHECKER = Checker(
        name="my-invariant",        # the name its results carry (Result.checker) and experiments use
        check=check,                # check(history, **options) -> Result: pure, never renders or writes
        details=MyDetails,          # its Details subclass, read back from results.json (PlainDetails)
        required=("counts",),       # keys its stored details always hold: without them they read as plain
        explain=explain,            # explain(valid, details) -> str | None: the verdict in plain words
        named_ops=named_ops,        # named_ops(details) -> Iterable[int]: history indices the verdict names
        view="my_pkg.view:render",  # "module:function" drawing its counterexample in the report, or None
    )

``explain`` is called only with details of the checker's own type. For ``True`` / ``False`` it returns the
banner's paragraph (``None``: the generic sentence); for ``"unknown"`` what it returns is added after the
generic "could not decide" sentence. The view is a *name*, resolved only when a report is drawn
(``harness.report.page``): a checker never imports the report, and checking never renders. A view is called as
``view(details, data) -> str`` with ``data`` the report's ``harness.report.data.ReportData`` and returns HTML
built with ``harness.report.markup`` ("" when there is nothing to draw); it is drawn only for a violated
invariant.

An old-style registration, a plain function ``check(history, **options) -> Result``, keeps working: it
reads as a ``Checker`` of its entry-point name with plain details, the generic explanation, no ops named and
no view.
``Checkers`` is the lookup every reader uses (the runner, ``chaos check``, results.json's reader and the
report): by name, from one ``harness.registry.Registry``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from harness.checkers.base import UNKNOWN, Details, PlainDetails, Result, Validity
from harness.errors import BadInput
from harness.registry import Registry

CheckFn = Callable[..., Result]
ExplainFn = Callable[[Validity, Any], "str | None"]
NamedOpsFn = Callable[[Any], Iterable[int]]


@dataclass(frozen=True)
class Checker:
    """One checker as it declares itself (see the module docstring for each member)."""

    name: str
    check: CheckFn
    details: type[Details] = PlainDetails
    required: tuple[str, ...] = ()
    explain: ExplainFn | None = None
    named_ops: NamedOpsFn | None = None
    view: str | None = None

    def __post_init__(self) -> None:
        if not callable(self.check):
            raise TypeError(f"checker {self.name!r}: check must be a function check(history, **options)")
        if not (isinstance(self.details, type) and issubclass(self.details, Details)):
            raise TypeError(f"checker {self.name!r}: details must subclass harness.checkers.base.Details")
        if self.view is not None and not (isinstance(self.view, str) and ":" in self.view):
            raise TypeError(
                f"checker {self.name!r}: view must be a name 'module:function' (the report imports it when "
                f"it draws; a checker never imports the report), got {self.view!r}"
            )

    def __call__(self, history: Any, **options: Any) -> Result:
        """Run the check: code that called a registered checker function directly keeps working."""
        return self.check(history, **options)

    def owns(self, result: Result) -> bool:
        """Whether ``result``'s details are of this checker's type (a crash's traceback is not)."""
        return isinstance(result.details, self.details)

    def words(self, valid: Validity, details: Details) -> str | None:
        """The checker's own plain words for a verdict on ``details`` (None: it has none)."""
        if self.explain is None or not isinstance(details, self.details):
            return None
        return self.explain(UNKNOWN if valid not in (True, False) else valid, details)

    def ops_named(self, details: Details) -> set[int]:
        """History indices the verdict on ``details`` names (drawn even in an aggregated timeline)."""
        if self.named_ops is None or not isinstance(details, self.details):
            return set()
        return {i for i in self.named_ops(details) if isinstance(i, int)}


def as_checker(name: str, obj: Any) -> Checker:
    """A registered object as a ``Checker``: a declaration is itself, a plain function is wrapped."""
    if isinstance(obj, Checker):
        return obj
    if callable(obj) and not isinstance(obj, type):
        return Checker(name=name, check=obj)
    raise BadInput(
        f"checker {name!r} is registered as {obj!r}, which is neither a harness.checkers.contract.Checker "
        "nor a function check(history, **options) -> Result"
    )


class Checkers:
    """The registered checkers by name, each loaded once per instance (default: the installed ones)."""

    def __init__(self, registry: Registry | None = None) -> None:
        self.registry = registry if registry is not None else Registry("checkers")
        self._found: dict[str, Checker | None] = {}

    def names(self) -> list[str]:
        return self.registry.names()

    def get(self, name: str) -> Checker:
        """The checker registered as ``name``; ``BadInput`` naming the registered ones if it is unknown."""
        return as_checker(name, self.registry.get(name))

    def find(self, name: str) -> Checker | None:
        """The checker a stored result names, or None when none is registered under it (or it cannot load):
        a reader of old results or of another machine's falls back to plain details, never fails."""
        if name not in self._found:
            try:
                found: Checker | None = self.get(name)
            except BadInput:
                found = None
            self._found[name] = found
        return self._found[name]

    def of(self, result: Result) -> Checker | None:
        """The checker that wrote ``result``, when its details are of that checker's own type."""
        found = self.find(result.checker)
        return found if found is not None and found.owns(result) else None
