"""Finding the ``toxiproxy-server`` binary and running it as a local subprocess bound to 127.0.0.1.

The binary is looked up in ``$CHAOS_TOXIPROXY`` (an explicit path), then on ``PATH``, then in ``.chaos/bin``
where ``scripts/setup`` builds it. The API never listens on anything but loopback.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from harness.cluster.rundir import RUN_ENV, RunDir, chaos_home
from harness.errors import InfrastructureError
from harness.interrupts import shielded
from harness.net.toxiproxy import ToxiproxyApi
from harness.paths import SETUP_HINT
from harness.target import Addr

BINARY = "toxiproxy-server"
FIX = f"{SETUP_HINT} (it builds toxiproxy-server v2.12.0 into the state directory's bin/) or put it on PATH"


def find_toxiproxy() -> Path | None:
    explicit = os.environ.get("CHAOS_TOXIPROXY")
    if explicit:
        p = Path(explicit)
        return p if p.is_file() and os.access(p, os.X_OK) else None
    on_path = shutil.which(BINARY)
    if on_path:
        return Path(on_path)
    local = chaos_home() / "bin" / BINARY
    return local if local.is_file() and os.access(local, os.X_OK) else None


def require_toxiproxy() -> Path:
    path = find_toxiproxy()
    if path is None:
        where = os.environ.get("CHAOS_TOXIPROXY")
        what = f"CHAOS_TOXIPROXY={where} is not an executable file" if where else f"{BINARY} not found"
        raise InfrastructureError(f"{what} (looked in $CHAOS_TOXIPROXY, PATH, {chaos_home() / 'bin'}); {FIX}")
    return path


class LocalToxiproxy:
    """A ``toxiproxy-server`` subprocess of one run, API on 127.0.0.1:``port``; ``stop()`` ends it."""

    def __init__(self, run: RunDir, port: int) -> None:
        self.run = run
        self.addr = Addr("127.0.0.1", port)
        binary = require_toxiproxy()
        log = open(run.log_file("toxiproxy"), "ab")  # noqa: SIM115 - owned by the child for its lifetime
        try:
            with shielded():  # started means recorded: an interrupt here is raised after the pid file exists
                self.proc = subprocess.Popen(
                    [str(binary), "-host", "127.0.0.1", "-port", str(port)],
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    start_new_session=True,  # a terminal's Ctrl-C reaches the runner, which cleans up
                    env={**os.environ, RUN_ENV: run.run_id},
                )
                run.record_pid("toxiproxy", self.proc.pid)
        finally:
            log.close()
        self.api = ToxiproxyApi(self.addr)
        try:
            self.api.wait_ready(timeout=10)
        except InfrastructureError:
            code = self.proc.poll()
            self.stop()
            if code is not None:
                tail = run.log_file("toxiproxy").read_text(errors="replace").strip().splitlines()[-1:]
                raise InfrastructureError(
                    f"toxiproxy-server exited ({code}) on 127.0.0.1:{port}: {' '.join(tail) or 'no output'}"
                ) from None
            raise

    def stop(self) -> None:
        self.api.close()
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=10)
        self.run.forget_pid("toxiproxy")
