"""The nightly workflow: valid YAML, scheduled, runnable by hand, and its steps are the README's commands."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[3]
WORKFLOW = ROOT / ".github" / "workflows" / "nightly-chaos.yml"


def _workflow() -> dict[Any, Any]:
    data = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def _steps() -> list[dict[str, Any]]:
    jobs = _workflow()["jobs"]
    assert list(jobs) == ["chaos"]
    return list(jobs["chaos"]["steps"])


def _readme_lines() -> list[str]:
    """Lines of the README's shell code blocks (a command and its trailing comment)."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```(?:sh|bash|shell)\n(.*?)```", text, flags=re.S)
    return [
        ln.strip() for b in blocks for ln in b.splitlines() if ln.strip() and not ln.strip().startswith("#")
    ]


def _split(cmd: str) -> tuple[list[str], list[str]]:
    """Positional words and option names of a command (``--x=v`` and ``--x v`` both give ``--x``)."""
    words = shlex.split(cmd, comments=True)
    pos, opts, skip = [], [], False
    for i, w in enumerate(words):
        if skip:
            skip = False
            continue
        if w.startswith("-"):
            opts.append(w.split("=", 1)[0])
            skip = "=" not in w and i + 1 < len(words) and not words[i + 1].startswith("-")
        else:
            pos.append(w)
    return pos, opts


def test_workflow_is_scheduled_and_runnable_by_hand() -> None:
    data = _workflow()
    on: dict[str, Any] = data["on"] if "on" in data else data[True]  # YAML 1.1 reads `on` as true
    assert on["schedule"][0]["cron"] and "workflow_dispatch" in on
    env = data["jobs"]["chaos"]["env"]
    assert "github.run_id" in env["SEED"]  # a fresh seed every night


def test_every_run_step_is_a_command_the_readme_gives() -> None:
    readme = _readme_lines()
    runs = [s["run"].strip() for s in _steps() if "run" in s]
    assert runs, "the workflow has no run steps"
    for cmd in runs:
        assert "\n" not in cmd, f"one command per step: {cmd!r}"
        pos, opts = _split(cmd)
        matches = [ln for ln in readme if _split(ln.split("  #")[0])[0] == pos]
        assert matches, f"{cmd!r}: the README gives no command {' '.join(pos)!r}"
        for opt in opts:
            assert any(opt in ln for ln in matches), f"{cmd!r}: option {opt} is not in the README's command"


def test_suite_step_runs_the_experiments_with_the_seed_and_junit() -> None:
    steps = _steps()
    suite = [s for s in steps if "run" in s and "pytest experiments/" in s["run"]]
    assert len(suite) == 1 and "--chaos-seed=$SEED" in suite[0]["run"]
    assert "continue-on-error" not in suite[0] and "if" not in suite[0]  # an unexpected verdict fails the job
    junit = re.search(r"--junitxml=(\S+)", suite[0]["run"])
    assert junit is not None
    after = steps[steps.index(suite[0]) + 1 :]
    assert all(s.get("if") == "always()" for s in after)  # bundles and reports are kept on failure too
    uploads = {
        s["with"]["path"] for s in after if str(s.get("uses", "")).startswith("actions/upload-artifact")
    }
    assert uploads == {junit.group(1), "reports/"}
    assert any(s.get("run") == ".venv/bin/chaos summary reports/" for s in after)


def test_docs_list_the_same_commands() -> None:
    docs = (ROOT / "docs" / "reports.md").read_text(encoding="utf-8")
    for s in _steps():
        if "run" in s:
            assert s["run"].strip() in docs


def test_the_summary_is_carried_from_night_to_night() -> None:
    steps = _steps()
    summary = next(i for i, s in enumerate(steps) if s.get("run") == ".venv/bin/chaos summary reports/")
    restore = [i for i, s in enumerate(steps) if str(s.get("uses", "")).startswith("actions/cache/restore")]
    save = [i for i, s in enumerate(steps) if str(s.get("uses", "")).startswith("actions/cache/save")]
    assert len(restore) == len(save) == 1 and restore[0] < summary < save[0]
    r, s = steps[restore[0]]["with"], steps[save[0]]["with"]
    assert r["path"] == s["path"] == "reports/summary.json"  # the file chaos summary reads and rewrites
    assert s["key"].startswith(r["restore-keys"]) and "github.run_id" in s["key"]  # newest earlier night


def test_the_users_template_is_documented_and_keys_trends_on_the_users_commit() -> None:
    """docs/templates/nightly.yml (for a user's repository): each run step is one command that docs/reports.md
    lists, the suite writes JUnit XML, the summary is carried across nights, and the version recorded is the
    user's commit (CHAOS_SUT_VERSION = github.sha)."""
    template = yaml.safe_load((ROOT / "docs" / "templates" / "nightly.yml").read_text(encoding="utf-8"))
    job = template["jobs"]["chaos"]
    docs = (ROOT / "docs" / "reports.md").read_text(encoding="utf-8")
    runs = [s["run"].strip() for s in job["steps"] if "run" in s]
    assert runs and all("\n" not in r and r in docs for r in runs)
    suite = [r for r in runs if "pytest" in r]
    assert len(suite) == 1 and "--junitxml=" in suite[0] and "--chaos-seed=" in suite[0]
    assert "github.sha" in job["env"]["CHAOS_SUT_VERSION"] and "github.run_id" in job["env"]["SEED"]
    uses = [str(s.get("uses", "")) for s in job["steps"]]
    assert any(u.startswith("actions/cache/restore") for u in uses)
    assert any(u.startswith("actions/cache/save") for u in uses)
    assert ".venv/" not in " ".join(runs) and "scripts/" not in " ".join(runs)  # nothing of this checkout
