"""A real browser opens reports from disk: headless Debian Chromium, driven over the DevTools protocol on a
pipe (``--remote-debugging-pipe``: no port is opened, so no network is needed even for the test itself).

Checks: no console errors or uncaught exceptions, no network requests (anything but file: / data: / about:),
the script ran (the virtualised operations table has rows and scrolls), and a screenshot is written next to
the report (``report.png``). A large (100k-operation) report must load and scroll to its end with only the
visible rows built (its timings are bench/report_bench.py's business: no wall-clock assertion here).
"""

from __future__ import annotations

import base64
import fcntl
import importlib.util
import json
import os
import select
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from harness.report import render_report

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "unit" / "report"))
import report_bundles as bundles  # noqa: E402

pytestmark = pytest.mark.integration

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--remote-debugging-pipe",
    "--window-size=1280,1800",
]


def _chromium() -> str:
    path = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
    if path is None:
        msg = "chromium not found: `apt-get install -y chromium` (scripts/setup installs it)"
        if os.environ.get("CHAOS_REQUIRE_INTEGRATION") == "1":
            pytest.fail(msg, pytrace=False)
        pytest.skip(msg)
    return path


class Browser:
    """Chromium with the DevTools protocol on fds 3 (commands in) and 4 (replies and events out)."""

    def __init__(self, exe: str, profile: Path) -> None:
        to_child_r, self._to_child = os.pipe()
        self._from_child, from_child_w = os.pipe()
        hi_r = fcntl.fcntl(to_child_r, fcntl.F_DUPFD, 100)
        hi_w = fcntl.fcntl(from_child_w, fcntl.F_DUPFD, 100)

        def wire() -> None:  # in the child: the protocol's fixed descriptors
            os.dup2(hi_r, 3)
            os.dup2(hi_w, 4)

        self.proc = subprocess.Popen(
            [exe, *FLAGS, f"--user-data-dir={profile}", "about:blank"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=wire,
            pass_fds=(3, 4),
        )
        for fd in (to_child_r, from_child_w, hi_r, hi_w):
            os.close(fd)
        self._buf = b""
        self._id = 0
        self.events: list[dict[str, Any]] = []

    def send(
        self,
        method: str,
        params: dict[str, Any] | None = None,
        session: str | None = None,
        timeout: float = 30.0,
    ) -> dict[str, Any]:
        self._id += 1
        msg: dict[str, Any] = {"id": self._id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self._to_child, json.dumps(msg).encode() + b"\0")
        while True:
            reply = self._next(timeout)
            if reply.get("id") == self._id:
                if "error" in reply:
                    raise AssertionError(f"{method}: {reply['error']}")
                return dict(reply.get("result", {}))
            self.events.append(reply)

    def wait_event(self, method: str, timeout: float = 30.0) -> dict[str, Any]:
        for e in self.events:
            if e.get("method") == method:
                return e
        while True:
            e = self._next(timeout)
            self.events.append(e)
            if e.get("method") == method:
                return e

    def _next(self, timeout: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while b"\0" not in self._buf:
            left = deadline - time.monotonic()
            ready, _, _ = select.select([self._from_child], [], [], max(left, 0))
            if not ready:
                raise AssertionError(f"no DevTools message within {timeout} s")
            chunk = os.read(self._from_child, 1 << 20)
            if not chunk:
                raise AssertionError("chromium closed the DevTools pipe")
            self._buf += chunk
        raw, self._buf = self._buf.split(b"\0", 1)
        return dict(json.loads(raw))

    def close(self) -> None:
        try:
            self.send("Browser.close", timeout=5)
        except (AssertionError, OSError):
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
        os.close(self._to_child)
        os.close(self._from_child)


def _open(browser: Browser, report: Path) -> tuple[str, float]:
    target = browser.send("Target.createTarget", {"url": "about:blank"})["targetId"]
    session = browser.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
    for domain in ("Runtime", "Log", "Network", "Page"):
        browser.send(f"{domain}.enable", session=session)
    browser.events.clear()
    t0 = time.monotonic()
    browser.send("Page.navigate", {"url": report.resolve().as_uri()}, session=session)
    browser.wait_event("Page.loadEventFired", timeout=60)
    return session, time.monotonic() - t0


def _eval(browser: Browser, session: str, expr: str) -> Any:
    r = browser.send(
        "Runtime.evaluate", {"expression": expr, "returnByValue": True, "awaitPromise": True}, session=session
    )
    assert "exceptionDetails" not in r, r["exceptionDetails"]
    return r["result"].get("value")


def _problems(events: list[dict[str, Any]]) -> tuple[list[str], list[str]]:
    errors, requests = [], []
    for e in events:
        m, p = e.get("method"), e.get("params", {})
        if m == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert", "warning"):
            errors.append(json.dumps(p.get("args"))[:300])
        elif m == "Runtime.exceptionThrown":
            errors.append(json.dumps(p.get("exceptionDetails"))[:300])
        elif m == "Log.entryAdded" and p.get("entry", {}).get("level") in ("error", "warning"):
            errors.append(p["entry"].get("text", "")[:300])
        elif m == "Network.requestWillBeSent":
            url = p.get("request", {}).get("url", "")
            if not url.startswith(("file:", "data:", "about:")):
                requests.append(url)
    return errors, requests


SCROLL_JS = """
new Promise(resolve => {
  const s = document.getElementById('optable-scroll');
  const frames = [];
  let last = performance.now(), n = 0;
  function step(now) {
    frames.push(now - last); last = now;
    s.scrollTop = (s.scrollHeight - s.clientHeight) * (++n / 60);
    if (n < 60) { requestAnimationFrame(step); return; }
    requestAnimationFrame(() => {
      const rows = s.querySelectorAll('.optable-row');
      resolve({rows: rows.length, last: rows[rows.length - 1].firstChild.textContent,
               worst: Math.max(...frames.slice(1))});
    });
  }
  requestAnimationFrame(step);
})
"""


def test_report_opens_from_disk_without_errors_or_network(tmp_path: Path) -> None:
    exe = _chromium()
    b, ids = bundles.kv_stale(tmp_path / "reports")
    report = render_report(b)
    browser = Browser(exe, tmp_path / "profile")
    try:
        session, _ = _open(browser, report)
        rows = _eval(browser, session, "document.querySelectorAll('.optable-row').length")
        assert rows == 5  # 3 client ops + 2 fault events, drawn by the page's script
        title = _eval(browser, session, "document.querySelector('.failing-key').textContent")
        assert title == bundles.XSS  # shown as text, never run
        # clicking the unexplained read in the drawing highlights it in the table
        _eval(
            browser,
            session,
            f"document.querySelector('.lin-drawing g[data-index=\"{ids['r']}\"]')"
            ".dispatchEvent(new MouseEvent('click', {bubbles: true}))",
        )
        hl = _eval(browser, session, "document.querySelector('.optable-row.hl').firstChild.textContent")
        assert hl == str(ids["r"])
        shot = browser.send(
            "Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True}, session=session
        )
        png = report.with_name("report.png")
        png.write_bytes(base64.b64decode(shot["data"]))
        errors, requests = _problems(browser.events)
    finally:
        browser.close()
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000
    assert errors == [] and requests == []


def test_100k_operation_report_loads_and_scrolls(tmp_path: Path) -> None:
    exe = _chromium()
    spec = importlib.util.spec_from_file_location("report_bench", ROOT / "bench" / "report_bench.py")
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    b = bench.make_bundle(tmp_path / "reports", 100_000)
    report = render_report(b)  # how long it takes is bench/report_bench.py's business, not a test's
    assert report.stat().st_size < 15e6
    browser = Browser(exe, tmp_path / "profile")
    try:
        session, _load_s = _open(browser, report)
        result = _eval(browser, session, SCROLL_JS)
        errors, requests = _problems(browser.events)
    finally:
        browser.close()
    assert 10 < result["rows"] < 100  # virtualised: only the visible rows exist
    n_rows = len(json.loads(report.read_text().split('id="op-data">')[1].split("</script>")[0])["rows"])
    assert n_rows > 100_000  # every client op and fault event is in the table
    assert int(result["last"]) >= 199_000  # scrolled to the end of the history
    assert errors == [] and requests == []


def test_night_over_night_summary_of_20_bundles_renders_and_flags_the_flaky_one(tmp_path: Path) -> None:
    exe = _chromium()
    import trend_bundles

    from harness.report import write_summary

    root = tmp_path / "reports"
    trend_bundles.suite(root)
    index, entries = write_summary(root)
    assert len(entries) == 20
    browser = Browser(exe, tmp_path / "profile")
    try:
        session, _ = _open(browser, index)
        seen = _eval(
            browser,
            session,
            "({sections: document.querySelectorAll('section.trend').length,"
            " flaky: [...document.querySelectorAll('section.flaky-experiment')]"
            ".map(s => s.dataset.experiment),"
            " badge: getComputedStyle(document.querySelector('.flaky')).backgroundColor,"
            " sparks: [...document.querySelectorAll('svg.spark polyline')].map(p => p.getBBox().width),"
            " captions: [...document.querySelectorAll('.spark-figure figcaption')]"
            ".map(c => parseFloat(getComputedStyle(c).fontSize)),"
            " rows: document.querySelectorAll('.trend-table tbody tr').length,"
            " links: [...document.querySelectorAll('.trend-table a')].length})",
        )
        shot = browser.send(
            "Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True}, session=session
        )
        png = index.with_name("index.png")
        png.write_bytes(base64.b64decode(shot["data"]))
        errors, requests = _problems(browser.events)
    finally:
        browser.close()
    assert seen["sections"] == 3 and seen["flaky"] == ["kv-flaky"]
    assert seen["badge"] == "rgb(198, 40, 40)"  # the flaky badge is styled, i.e. the inline CSS applied
    assert len(seen["sparks"]) == 9 and all(w > 100 for w in seen["sparks"])  # 3 charts x 3 experiments
    assert len(seen["captions"]) == 9 and min(seen["captions"]) >= 12  # chart labels readable (were ~6 px)
    assert seen["rows"] == 20 and seen["links"] == 20
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert errors == [] and requests == []
