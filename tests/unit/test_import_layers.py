"""The package's floors, as the README's Architecture section writes them down, hold in the code.

The README's floor table (``| floor | modules | what they hold |``, lowest first) is parsed here; every module
under ``harness/`` is read with ``ast`` (imports inside functions and under ``TYPE_CHECKING`` included;
``from harness.x import y`` counts as importing the submodule ``harness.x.y`` when there is one; relative
imports are resolved) and three rules are checked: every module is placed on exactly one floor (a folder in
the table places every module inside it, a file entry wins over its folder), no module imports from a floor
above its own, and no import circle exists among harness modules. The checker itself is tested on synthetic
graphs below, so the real test cannot pass by finding nothing.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = "harness"


@dataclass(frozen=True)
class Floors:
    """Floor names lowest first, and each path entry of the table (``harness/x.py`` or ``harness/x/``)."""

    names: tuple[str, ...]
    entries: tuple[tuple[str, str], ...]  # (path, floor)


def parse_floors(readme: str) -> Floors:
    """The floor table of the README's Architecture section: the table whose header starts ``| floor |``."""
    section = readme.split("\n## Architecture", 1)
    if len(section) != 2:
        raise AssertionError("README.md has no '## Architecture' section")
    body = section[1].split("\n## ", 1)[0]
    lines = body.splitlines()
    try:
        head = next(i for i, line in enumerate(lines) if re.match(r"\|\s*floor\s*\|", line))
    except StopIteration:
        raise AssertionError(
            "README.md's Architecture section has no '| floor | modules | ...' table"
        ) from None
    names: list[str] = []
    entries: list[tuple[str, str]] = []
    for line in lines[head + 2 :]:
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        floor, modules = cells[0], cells[1]
        if floor in names:
            raise AssertionError(f"README.md: floor {floor!r} appears twice in the floor table")
        names.append(floor)
        entries += [(path, floor) for path in re.findall(r"`([^`]+)`", modules)]
    if not names:
        raise AssertionError("README.md's floor table has no rows")
    return Floors(tuple(names), tuple(entries))


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def module_graph(root: Path, package: str = PACKAGE) -> tuple[dict[str, str], dict[str, set[str]]]:
    """``({module: its file relative to root}, {module: the package modules it imports})``."""
    files = {module_name(p, root): p for p in sorted((root / package).rglob("*.py"))}
    edges: dict[str, set[str]] = {}
    for mod, path in files.items():
        here = mod if path.name == "__init__.py" else mod.rpartition(".")[0]
        deps: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Import):
                deps.update(_existing(a.name, files) for a in node.names)
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = here.split(".")[: len(here.split(".")) - node.level + 1]
                    target = ".".join([*base, *([node.module] if node.module else [])])
                else:
                    target = node.module or ""
                for alias in node.names:
                    sub = f"{target}.{alias.name}"
                    deps.add(sub if sub in files else _existing(target, files))
        edges[mod] = {d for d in deps if d in files and d != mod}
    return {m: p.relative_to(root).as_posix() for m, p in files.items()}, edges


def _existing(name: str, files: Mapping[str, Path]) -> str:
    """The longest prefix of a dotted name that is a module of ours (``harness.x.Thing`` -> ``harness.x``)."""
    parts = name.split(".")
    for n in range(len(parts), 0, -1):
        if ".".join(parts[:n]) in files:
            return ".".join(parts[:n])
    return name


def placement(floors: Floors, files: Mapping[str, str]) -> tuple[dict[str, str], list[str]]:
    """Each module's floor, and the problems: unplaced modules, modules placed twice, stale entries."""
    problems: list[str] = []
    seen: dict[str, str] = {}
    for path, floor in floors.entries:
        if path in seen and seen[path] != floor:
            problems.append(f"{path} is listed on two floors ({seen[path]}, {floor}) in README.md")
        seen[path] = floor
    out: dict[str, str] = {}
    for mod, path in sorted(files.items()):
        matches = [(entry, floor) for entry, floor in seen.items() if _covers(entry, path)]
        if not matches:
            problems.append(
                f"{path} is on no floor: add it (or its folder) to the floor table of README.md's "
                "Architecture section"
            )
            continue
        best = max(len(entry) for entry, _ in matches)
        out[mod] = next(floor for entry, floor in matches if len(entry) == best)
    for entry in seen:
        if not any(_covers(entry, path) for path in files.values()):
            problems.append(
                f"README.md's floor table lists {entry}, which is no module or folder of the package"
            )
    return out, problems


def _covers(entry: str, path: str) -> bool:
    return path.startswith(entry) if entry.endswith("/") else path == entry


def upward_imports(
    names: Iterable[str], floor_of: Mapping[str, str], edges: Mapping[str, set[str]]
) -> list[str]:
    rank = {name: i for i, name in enumerate(names)}
    out = []
    for mod, deps in sorted(edges.items()):
        for dep in sorted(deps):
            if mod in floor_of and dep in floor_of and rank[floor_of[dep]] > rank[floor_of[mod]]:
                out.append(
                    f"{mod} (floor {floor_of[mod]}) imports {dep} from the higher floor {floor_of[dep]}"
                )
    return out


def cycles(edges: Mapping[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []
    for start in sorted(edges):
        if start in index:
            continue
        work = [(start, iter(sorted(edges[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next((c for c in children if c in edges), None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                comp = []
                while True:
                    top = stack.pop()
                    on_stack.discard(top)
                    comp.append(top)
                    if top == node:
                        break
                if len(comp) > 1:
                    out.append(sorted(comp))
    return out


def problems(floors: Floors, files: Mapping[str, str], edges: Mapping[str, set[str]]) -> list[str]:
    floor_of, out = placement(floors, files)
    out += upward_imports(floors.names, floor_of, edges)
    out += [f"import circle: {' <-> '.join(c)}" for c in cycles(edges)]
    return out


# The package itself.


def test_every_harness_module_sits_on_one_floor_and_imports_only_downwards_without_circles() -> None:
    floors = parse_floors((ROOT / "README.md").read_text(encoding="utf-8"))
    files, edges = module_graph(ROOT)
    assert len(files) > 50 and sum(len(d) for d in edges.values()) > 100  # the graph was really read
    found = problems(floors, files, edges)
    assert not found, "\n".join(found)


def test_the_lines_never_crossed() -> None:
    """The README's paragraph: checkers and the history import nothing from cluster, net, faults, run or
    report; the report imports neither the runner, the cluster nor the network."""
    _, edges = module_graph(ROOT)
    pure = ("harness.checkers", "harness.history", "harness.wellformed")
    never_from_pure = (
        "harness.cluster",
        "harness.platform",
        "harness.net",
        "harness.faults",
        "harness.run",
        "harness.report",
    )
    never_from_report = (
        "harness.run",
        "harness.runtime",
        "harness.cluster",
        "harness.platform",
        "harness.net",
    )
    bad = [
        f"{m} imports {d}"
        for m, deps in edges.items()
        for d in deps
        if (m.startswith(pure) and d.startswith(never_from_pure))
        or (m.startswith("harness.report") and d.startswith(never_from_report))
    ]
    assert not bad, bad


def private_imports(root: Path, package: str = PACKAGE) -> list[str]:
    """``from <package module> import _name``: a private name used across modules."""
    out = []
    for path in sorted((root / package).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.ImportFrom) and (node.level or (node.module or "").startswith(package)):
                out += [
                    f"{path.relative_to(root).as_posix()}:{node.lineno}: imports the private {a.name}"
                    for a in node.names
                    if a.name.startswith("_") and not a.name.startswith("__")
                ]
    return out


def test_no_private_name_is_imported_across_modules(tmp_path: Path) -> None:
    assert private_imports(ROOT) == []
    _write(tmp_path, {"pkg/__init__.py": "", "pkg/a.py": "_x = 1\n", "pkg/b.py": "from .a import _x\n"})
    assert private_imports(tmp_path, "pkg") == ["pkg/b.py:1: imports the private _x"]


# The checker itself, on synthetic packages and graphs: each kind of problem must be reported.

README = """# x

## Architecture

| floor | modules | what they hold |
|---|---|---|
| low | `pkg/__init__.py`, `pkg/base.py` | the base |
| mid | `pkg/sub/`, `pkg/sub/special.py` | a folder, and a file of it |
| high | `pkg/top.py` | the top |

## Next
"""


def _write(root: Path, files: Mapping[str, str]) -> None:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)


def test_parse_floors_reads_the_table_lowest_first() -> None:
    floors = parse_floors(README)
    assert floors.names == ("low", "mid", "high")
    assert ("pkg/sub/", "mid") in floors.entries and ("pkg/top.py", "high") in floors.entries
    with pytest.raises(AssertionError, match="no '## Architecture'"):
        parse_floors("# nothing here\n")
    with pytest.raises(AssertionError, match="no '| floor | modules"):
        parse_floors("## Architecture\n\n| module | holds |\n|---|---|\n")


def test_module_graph_sees_function_level_relative_and_submodule_imports(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/base.py": "def f():\n    from pkg import top  # a late import is still an import\n",
            "pkg/top.py": "from .sub import special\nimport pkg.base\n",
            "pkg/sub/__init__.py": "from . import leaf\n",
            "pkg/sub/leaf.py": "from ..base import f\nfrom pkg.sub.special import Thing\n",
            "pkg/sub/special.py": (
                "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg.top import x\n"
            ),
        },
    )
    files, edges = module_graph(tmp_path, "pkg")
    assert files["pkg.sub"] == "pkg/sub/__init__.py"
    assert edges == {
        "pkg": set(),
        "pkg.base": {"pkg.top"},
        "pkg.top": {"pkg.sub.special", "pkg.base"},
        "pkg.sub": {"pkg.sub.leaf"},
        "pkg.sub.leaf": {"pkg.base", "pkg.sub.special"},
        "pkg.sub.special": {"pkg.top"},
    }


def test_an_upward_import_a_circle_and_an_unplaced_module_are_each_reported(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/base.py": "def f():\n    from pkg import top\n",  # low imports high: upward
            "pkg/top.py": "from pkg.sub import special\n",
            "pkg/sub/__init__.py": "",
            "pkg/sub/special.py": "import pkg.top\n",  # top <-> special: a circle
            "pkg/stray.py": "",  # on no floor
        },
    )
    files, edges = module_graph(tmp_path, "pkg")
    found = problems(parse_floors(README), files, edges)
    assert any("pkg.base (floor low) imports pkg.top from the higher floor high" in p for p in found), found
    assert any("pkg.sub.special (floor mid) imports pkg.top from the higher floor high" in p for p in found)
    assert "import circle: pkg.sub.special <-> pkg.top" in found
    assert any(p.startswith("pkg/stray.py is on no floor: add it") and "README.md" in p for p in found)
    assert len(found) == 4, found


def test_a_file_entry_wins_over_its_folder_and_stale_or_doubled_entries_are_reported() -> None:
    files = {"pkg": "pkg/__init__.py", "pkg.sub.special": "pkg/sub/special.py", "pkg.sub.x": "pkg/sub/x.py"}
    floors = Floors(
        ("low", "mid", "high"),
        (
            ("pkg/__init__.py", "low"),
            ("pkg/sub/", "high"),
            ("pkg/sub/special.py", "mid"),
            ("pkg/gone.py", "low"),
        ),
    )
    floor_of, found = placement(floors, files)
    assert floor_of == {"pkg": "low", "pkg.sub.special": "mid", "pkg.sub.x": "high"}
    assert found == ["README.md's floor table lists pkg/gone.py, which is no module or folder of the package"]
    doubled = Floors(("low", "high"), (("pkg/__init__.py", "low"), ("pkg/__init__.py", "high")))
    assert placement(doubled, {"pkg": "pkg/__init__.py"})[1] == [
        "pkg/__init__.py is listed on two floors (low, high) in README.md"
    ]


def test_cycles_finds_every_circle_and_nothing_in_a_dag() -> None:
    dag = {"a": {"b", "c"}, "b": {"c"}, "c": set()}
    assert cycles(dag) == []
    looped = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"e"}, "e": {"d"}, "f": {"a"}}
    assert sorted(cycles(looped)) == [["a", "b", "c"], ["d", "e"]]
    deep = {str(i): {str(i + 1)} for i in range(5000)} | {"5000": {"0"}}  # no recursion limit to hit
    assert [len(c) for c in cycles(deep)] == [5001]
