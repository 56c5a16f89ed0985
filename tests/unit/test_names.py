"""Each closed vocabulary is defined once (``harness.names``, the process fault kinds); the published JSON
Schemas, which cannot import Python, must repeat exactly the same words; every Python user imports them."""

from __future__ import annotations

import ast
import json
from pathlib import Path

from harness import names
from harness.cluster.docker import DockerBackend
from harness.cluster.kubernetes import KubernetesBackend
from harness.cluster.local import LocalBackend
from harness.declare.model import Declaration
from harness.faults.process import PROCESS_FAULTS

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = ROOT / "harness" / "schema"


def _schema(name: str) -> dict[str, object]:
    data = json.loads((SCHEMAS / name).read_text())
    assert isinstance(data, dict)
    return data


def test_backend_names_in_the_schemas_are_those_of_the_code() -> None:
    exp = _schema("experiment.schema.json")
    backend = exp["$defs"]["target"]["properties"]["backend"]  # type: ignore[index]
    # the bundled names for editors to complete, and any other name a plugin backend may register
    bundled, plugin = backend["anyOf"]
    assert tuple(bundled["enum"]) == names.BACKEND_CHOICES and backend["default"] == names.AUTO
    assert plugin["type"] == "string" and plugin["pattern"]
    target = _schema("target.schema.json")
    assert tuple(target["properties"]["backends"]["items"]["enum"]) == names.BACKENDS  # type: ignore[index]
    assert {"docker", "local", "kubernetes"} <= set(target["properties"])  # type: ignore[arg-type]
    assert (DockerBackend.name, LocalBackend.name, KubernetesBackend.name) == names.BACKENDS
    assert names.AUTO_ORDER == (DockerBackend.name, LocalBackend.name)
    assert Declaration.__dataclass_fields__["backends"].default == names.BACKENDS


def _enums(node: object) -> list[list[object]]:
    if isinstance(node, dict):
        return ([node["enum"]] if "enum" in node else []) + [e for v in node.values() for e in _enums(v)]
    if isinstance(node, list):
        return [e for v in node for e in _enums(v)]
    return []


def test_process_fault_kinds_in_the_schema_are_those_of_the_code() -> None:
    defs = _schema("experiment.schema.json")["$defs"]
    for k in PROCESS_FAULTS:
        fields = {"kind", "at", "duration", *(p.name for p in k.parameters)}
        assert set(defs[f"fault-{k.name}"]["properties"]) == fields >= {"nodes", "select", "among"}
        assert k.name in defs["step"]["properties"]["kind"]["examples"]


def test_no_module_spells_a_shared_vocabulary_itself() -> None:
    """Outside ``harness/names.py`` no tuple, list or set literal of harness code lists backend, toxic or
    route names, and no module assigns its own ``CLIENT``: the words come from one place."""
    shared = [set(names.BACKENDS), set(names.TOXICS), set(names.ROUTES)]
    offenders: list[str] = []
    for path in sorted((ROOT / "harness").rglob("*.py")):
        if path.name == "names.py" and path.parent.name == "harness":
            continue
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign | ast.AnnAssign):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                if any(isinstance(t, ast.Name) and t.id == "CLIENT" for t in targets):
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}: assigns CLIENT")
            if isinstance(node, ast.Tuple | ast.List | ast.Set):
                words = {e.value for e in node.elts if isinstance(e, ast.Constant)}
                if any(len(words & s) >= 2 for s in shared):
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}: lists {sorted(words)}")
    assert not offenders, "import these from harness.names instead:\n" + "\n".join(offenders)
