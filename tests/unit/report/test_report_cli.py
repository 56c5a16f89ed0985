"""``chaos report`` and ``chaos summary``: files written, links and verdicts, one-line errors, exit codes."""

from __future__ import annotations

from pathlib import Path

import pytest
import report_bundles as bundles
from report_dom import parse

from harness.cli import main


def test_report_command_writes_report_html(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    b = bundles.kv_valid(tmp_path)
    assert main(["report", str(b.path)]) == 0
    assert capsys.readouterr().out.strip() == str(b.report_file)
    assert parse(b.report_file.read_text()).one("div", cls="verdict").attrs["data-valid"] == "valid"
    # an experiment directory means its latest run
    b.report_file.unlink()
    out = tmp_path / "elsewhere.html"
    assert main(["report", str(b.path.parent), "--out", str(out)]) == 0
    assert out.is_file() and not b.report_file.exists()


@pytest.mark.parametrize(
    "make, needle",
    [
        (lambda p: p / "missing", "no such directory"),
        (lambda p: p, "not a run bundle"),
    ],
)
def test_report_command_bad_input_is_one_line_exit_3(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], make: object, needle: str
) -> None:
    assert main(["report", str(make(tmp_path))]) == 3  # type: ignore[operator]
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("chaos: error: ") and needle in err
    assert "Traceback" not in err


def test_report_command_names_the_bad_history_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    b = bundles.kv_valid(tmp_path)
    lines = b.history_file.read_text().splitlines()
    lines[2] = '{"index": 2, "time": "soon"}'
    b.history_file.write_text("\n".join(lines) + "\n")
    assert main(["report", str(b.path)]) == 3
    err = capsys.readouterr().err
    assert f"{b.history_file}:3:" in err and err.count("\n") == 1


def test_summary_links_every_report_with_its_verdicts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    reports = tmp_path / "reports"
    ok = bundles.kv_valid(reports)
    lock = bundles.lock_violation(reports)
    crash = bundles.crashed(reports)
    assert main(["summary", str(reports)]) == 0
    assert "3 run(s), 1 with an unexpected verdict" in capsys.readouterr().out
    index = reports / "index.html"
    root = parse(index.read_text())
    rows = root.one("table", cls="summary-table").find_all("tr")[1:]
    by_exp = {r.find_all("td")[0].text(): r for r in rows}
    assert set(by_exp) == {"kv-register", "lock-no-fencing", "kv-crash"}  # each once, despite `latest` links
    cells = {k: [c.text() for c in r.find_all("td")] for k, r in by_exp.items()}
    assert cells["kv-register"][3:5] == ["linearizable: holds", "pass"]
    assert cells["lock-no-fencing"][3:5] == ["lock-safety: violated", "fail"]
    assert cells["kv-crash"][3:6] == ["no results", "none", "crashed"]
    for exp, b in (("kv-register", ok), ("lock-no-fencing", lock), ("kv-crash", crash)):
        href = by_exp[exp].one("a").attrs["href"]
        assert not href.startswith("/") and (reports / href).resolve() == b.report_file.resolve()
        assert b.report_file.is_file()  # missing reports were rendered
    assert "1 pass, 1 fail, 1 none" == root.one("p", cls="headline").text()


def test_summary_can_fail_on_an_unexpected_verdict(tmp_path: Path) -> None:
    bundles.kv_valid(tmp_path)
    assert main(["summary", str(tmp_path), "--fail-on-unexpected"]) == 0
    bundles.lock_violation(tmp_path)
    assert main(["summary", str(tmp_path), "--fail-on-unexpected"]) == 1


def test_summary_bad_directory_is_exit_3(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["summary", str(tmp_path / "nope")]) == 3
    assert "not a directory" in capsys.readouterr().err
