"""FileStorage: the durable Raft journal survives a restart, tolerates a torn tail, rejects corruption."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from chaos_targets.raft.storage import Entry, FileStorage, StorageError


def test_journal_round_trip_with_truncation(tmp_path: Path) -> None:
    s = FileStorage(str(tmp_path))
    s.save_state(1, "n1")
    s.append(1, [Entry(1, None), Entry(1, {"op": "put", "key": "a", "value": 1})])
    s.append(3, [Entry(1, "x"), Entry(1, "y")])
    s.truncate(3)
    s.append(3, [Entry(2, "z")])
    s.save_state(2, None)
    s.sync()
    s.close()
    loaded = FileStorage(str(tmp_path)).load()
    assert (loaded.term, loaded.vote) == (2, None)
    assert loaded.entries == [Entry(1, None), Entry(1, {"op": "put", "key": "a", "value": 1}), Entry(2, "z")]


def test_a_torn_last_record_is_ignored_and_sealed(tmp_path: Path) -> None:
    s = FileStorage(str(tmp_path))
    s.append(1, [Entry(1, "a")])
    s.sync()
    s.close()
    with open(tmp_path / FileStorage.FILE, "ab") as fh:
        fh.write(b'{"k":"a","i":2,"e":[[1,"b')
    s2 = FileStorage(str(tmp_path))
    assert s2.load().entries == [Entry(1, "a")]
    s2.append(2, [Entry(1, "c")])
    s2.sync()
    s2.close()
    assert FileStorage(str(tmp_path)).load().entries == [Entry(1, "a"), Entry(1, "c")]


def test_corruption_before_the_tail_names_file_and_line(tmp_path: Path) -> None:
    (tmp_path / FileStorage.FILE).write_text('{"k":"s","term":1,"vote":null}\nGARBAGE\n{"k":"t","i":1}\n')
    with pytest.raises(StorageError, match=r"raft\.log:2: corrupt"):
        FileStorage(str(tmp_path)).load()


def test_an_unusable_data_dir_is_reported(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a dir")
    with pytest.raises(StorageError, match="not usable"):
        FileStorage(os.path.join(blocker, "data"))
