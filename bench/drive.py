"""What the load benchmarks share: run ``workers`` threads of ``worker(w)`` for ``seconds``, then stop them.

Used by the benchmark scripts beside it (run as ``python bench/X.py``, so this folder is on ``sys.path``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


def run_for(worker: Callable[[int], None], workers: int, seconds: float, stop: threading.Event) -> float:
    """Start ``workers`` threads, let them run ``seconds``, set ``stop``, join them; the seconds elapsed."""
    threads = [threading.Thread(target=worker, args=(w,)) for w in range(workers)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    time.sleep(seconds)
    stop.set()
    for t in threads:
        t.join(10)
    return time.perf_counter() - start
