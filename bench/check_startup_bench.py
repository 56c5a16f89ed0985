"""How long a small ``chaos check`` takes beyond the interpreter's own start-up (best of 3 each).

Was a test (``test_a_small_check_answers_in_under_0_3_s``); timings belong here, not in the test suite, which
must hold on a busy machine (issue 22). The reference printed beside it: ``python -c pass`` measured in the
same run. On an idle 2-core machine the difference is under 0.3 s.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

HISTORY = """[{:process 0, :type :invoke, :f :write, :value 1}
 {:process 0, :type :ok, :f :write, :value 1}
 {:process 1, :type :invoke, :f :read, :value nil}
 {:process 1, :type :ok, :f :read, :value 1}]
"""


def timed(cmd: list[str]) -> float:
    t = time.perf_counter()
    subprocess.run(cmd, capture_output=True, check=False)
    return time.perf_counter() - t


def main() -> None:
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "small.edn"
        path.write_text(HISTORY, encoding="utf-8")
        check = min(timed([sys.executable, "-m", "harness.cli", "check", str(path)]) for _ in range(3))
        base = min(timed([sys.executable, "-c", "pass"]) for _ in range(3))
    print(
        f"chaos check (small EDN history): {check:.3f} s; python -c pass: {base:.3f} s; "
        f"difference {check - base:.3f} s (idle target: < 0.3 s)"
    )


if __name__ == "__main__":
    main()
