"""Owner records: any checkout can tell whether a run's owner is alive, dead, or unknown (another host)."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

from harness.cluster.owner import Owner


def test_this_process_is_alive_and_round_trips_through_labels_and_files(tmp_path: Path) -> None:
    me = Owner.current(tmp_path, tmp_path / "bundle")
    assert me.alive() is True
    labels = me.labels()
    assert all(k.startswith("chaos-harness.owner.") and isinstance(v, str) for k, v in labels.items())
    assert Owner.from_labels({"chaos-harness.run": "x", **labels}) == me
    me.write(tmp_path)
    assert Owner.read(tmp_path) == me
    assert (tmp_path / "owner").read_text().split() == [str(os.getpid()), str(me.start)]


def test_a_gone_process_is_dead_and_a_reused_pid_is_not_the_owner(tmp_path: Path) -> None:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    gone = dataclasses.replace(Owner.current(tmp_path), pid=p.pid)
    assert gone.alive() is False
    reused = dataclasses.replace(Owner.current(tmp_path), start=1)  # our pid, another start time
    assert reused.alive() is False


def test_another_host_or_boot_cannot_be_judged() -> None:
    me = Owner.current(Path("/x"))
    assert dataclasses.replace(me, host="elsewhere", pid=999999).alive() is None
    assert dataclasses.replace(me, boot="another-boot", pid=999999).alive() is None


def test_labels_without_an_owner_are_an_older_run() -> None:
    assert Owner.from_labels({"chaos-harness.run": "r1"}) is None
    assert Owner.from_labels({"chaos-harness.owner.host": "h", "chaos-harness.owner.pid": "x"}) is None


def test_an_older_checkouts_owner_file_is_read(tmp_path: Path) -> None:
    (tmp_path / "owner").write_text(f"{os.getpid()} {Owner.current(tmp_path).start}\n")
    owner = Owner.read(tmp_path)
    assert owner is not None and owner.alive() is True
    (tmp_path / "owner").write_text("garbage\n")
    assert Owner.read(tmp_path) is None
