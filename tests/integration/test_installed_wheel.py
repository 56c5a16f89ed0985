"""chaos-harness adopted from another repository: the wheel, installed into a fresh venv outside this
checkout, set up with `chaos setup`, running a user's YAML experiment and the documented fixture test --
through the very commands of the nightly template (docs/templates/nightly.yml) a user copies.

The test builds the sdist and the wheel (`python -m build`: the wheel is built from the sdist, so both must
be complete), lays out a user repository in a temporary folder (its own git commit, `chaos/experiments/`,
`chaos/tests/`), and runs the template's `run:` steps in order with the job's `env` (the wheel as the
harness to install). Cost is kept low: pip's download cache, the images this checkout's set-up already
built (the target image's content hash is the same for a checkout and a wheel), this checkout's
toxiproxy-server and base image (named through CHAOS_TOXIPROXY / CHAOS_BASE_IMAGE, as a runner's cache would
restore them), the local backend.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
import yaml
from integration_env import require_docker, require_toxiproxy

from harness.bundle import Bundle
from harness.cluster.docker import base_image, client
from harness.cluster.toxiproxy_server import find_toxiproxy

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "docs" / "templates" / "nightly.yml"
EXAMPLE = ROOT / "docs" / "examples" / "test_redis_chaos.py"
USER_EXPERIMENT = """\
# the user's own experiment: their system's correct mode under a partition (here the bundled kv target)
name: kv-partition
seed: 3
expect: valid
target: {name: kv, nodes: 3}
workload: {duration: 6, concurrency: 3, rate: 60, timeout: 1.0, keys: 2}
faults:
  steps:
    - {kind: partition, at: 1, duration: 2, shape: isolate, nodes: [n1]}
phases: {recovery: 1, final: true}
checkers:
  linearizable: {model: kv, budget: 30}
"""


def _git(repo: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "u", "GIT_AUTHOR_EMAIL": "u@example.invalid"}
    env |= {"GIT_COMMITTER_NAME": "u", "GIT_COMMITTER_EMAIL": "u@example.invalid"}
    out = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, env=env, check=True)
    return out.stdout.strip()


def _user_repo(root: Path) -> tuple[Path, str]:
    repo = root / "user-repo"
    (repo / "chaos" / "experiments").mkdir(parents=True)
    (repo / "chaos" / "tests").mkdir(parents=True)
    (repo / "chaos" / "experiments" / "kv-partition.yaml").write_text(USER_EXPERIMENT)
    shutil.copy(EXAMPLE, repo / "chaos" / "tests" / EXAMPLE.name)
    (repo / ".gitignore").write_text("/reports/\n/.chaos-venv/\n")
    _git(repo, "init", "-q")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "the user's system")
    return repo, _git(repo, "rev-parse", "HEAD")


def _expand(value: str, ctx: dict[str, str]) -> str:
    """The few GitHub expressions the template's env uses: ``${{ a || b }}`` and ``${{ a }}``."""

    def one(m: re.Match[str]) -> str:
        for alt in m.group(1).split("||"):
            got = ctx.get(alt.strip(), "")
            if got:
                return got
        return ""

    return re.sub(r"\$\{\{\s*(.*?)\s*\}\}", one, value)


def _template() -> tuple[dict[str, str], list[dict[str, Any]]]:
    job = yaml.safe_load(TEMPLATE.read_text())["jobs"]["chaos"]
    return {k: str(v) for k, v in job["env"].items()}, list(job["steps"])


def test_template_runs_from_a_users_repository_with_the_installed_wheel(tmp_path: Path) -> None:
    require_docker()
    require_toxiproxy()
    toxiproxy = find_toxiproxy()
    assert ROOT not in tmp_path.parents
    dist = tmp_path / "dist"
    build = subprocess.run(
        [sys.executable, "-m", "build", "--outdir", str(dist), str(ROOT)],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert build.returncode == 0, build.stdout[-2000:] + build.stderr[-2000:]
    wheels, sdists = list(dist.glob("*.whl")), list(dist.glob("*.tar.gz"))
    assert len(wheels) == 1 and len(sdists) == 1

    repo, commit = _user_repo(tmp_path)
    bindir = tmp_path / "bin"  # `python` as actions/setup-python provides it
    bindir.mkdir()
    (bindir / "python").symlink_to(sys.executable)
    c = client()
    try:
        base = base_image(c).tags[0]
    finally:
        c.close()
    job_env, steps = _template()
    ctx = {"github.sha": commit, "github.run_id": "4242", "inputs.seed": ""}
    env = {k: _expand(v, ctx) for k, v in job_env.items()}
    env |= {"CHAOS_HARNESS_SPEC": str(wheels[0]), "CHAOS_BACKEND": "local"}
    env |= {"CHAOS_HOME": str(tmp_path / "home"), "CHAOS_TOXIPROXY": str(toxiproxy), "CHAOS_BASE_IMAGE": base}
    full = {**{k: v for k, v in os.environ.items() if not k.startswith(("CHAOS_", "VIRTUAL_ENV"))}, **env}
    full["PATH"] = f"{bindir}{os.pathsep}{os.environ['PATH']}"
    outputs = []
    for step in (s for s in steps if "run" in s):
        proc = subprocess.run(
            ["bash", "-eo", "pipefail", "-c", step["run"]],
            cwd=repo, env=full, capture_output=True, text=True, timeout=1200,
        )  # fmt: skip
        outputs.append(proc.stdout + proc.stderr)
        assert proc.returncode == 0, f"{step['name']}: exit {proc.returncode}\n" + outputs[-1][-4000:]
    setup_out, doctor_out = outputs[1], outputs[2]
    assert "setup: ready" in setup_out and "target image" in setup_out
    assert "checker native core: built" in doctor_out, doctor_out
    venv_python = repo / ".chaos-venv" / "bin" / "python"
    where = subprocess.run(
        [str(venv_python), "-c", "import harness, chaos_targets as t; print(harness.__file__, t.__file__)"],
        capture_output=True, text=True, check=True, cwd=repo,
    ).stdout  # fmt: skip
    assert str(ROOT) not in where and ".chaos-venv" in where  # the wheel's copy ran, not this checkout

    cases = list(ET.parse(repo / "reports" / "junit.xml").getroot().iter("testcase"))
    names = {str(c.get("name")) for c in cases}
    assert names == {"kv-partition", "test_redis_primary_only_survives_a_partition_and_a_kill"}
    assert all(c.find("failure") is None and c.find("error") is None for c in cases)
    summary = json.loads((repo / "reports" / "summary.json").read_text())
    indexed = {e["experiment"] for e in summary["experiments"]}
    assert indexed == {"kv-partition", "test_redis_primary_only_survives_a_partition_and_a_kill"}
    bundle = Bundle.open(repo / "reports" / "kv-partition" / "latest")
    run = bundle.read_run()
    assert run.sut_version == commit and run.seed == 4242
    assert run.harness_version and run.harness_version != "unknown"
    assert run.code_version == f"v{run.harness_version}"  # the harness's own version, never the user's commit
    assert (repo / "reports" / "index.html").is_file() and bundle.report_file.is_file()
