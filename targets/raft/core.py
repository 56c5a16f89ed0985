"""A pure Raft state machine: no I/O, no threads, no clock of its own.

It is driven from outside by three calls -- ``tick(now_ms)`` (time passes), ``receive(msg)`` (a peer's message
arrived) and ``propose(command)`` / ``request_read()`` (the application asks) -- and it answers through three
queues the driver drains: ``take_messages()`` (``(peer, msg)`` to send; loss, delay and reordering are all
fine), ``take_applied()`` (committed entries applied to the application's ``StateMachine``, with their
results) and ``take_reads()`` (linearizable reads that are now safe, or failed). Durable changes go to a
``Storage``; the driver must ``sync()`` it before sending what ``take_messages()`` returned. Unit tests run
many cores over an in-memory network with a fake clock (``sim.py``); ``server.py`` runs one core over asyncio
and TCP.

Implemented: randomized election timeouts, log replication with fast back-off, commit on majority of the
current term (a new leader appends a no-op), check-quorum (a leader that has not heard from a majority for an
election timeout steps down), and read-index reads confirmed by a heartbeat round. Not implemented: log
compaction / snapshots and membership changes. Messages are plain JSON-able dicts.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from chaos_targets.raft.storage import Entry, Storage

Role = Literal["follower", "candidate", "leader"]


class StateMachine(Protocol):
    """The replicated application: ``apply`` must be deterministic; its result goes back to the proposer."""

    def apply(self, command: Any) -> Any: ...


class NotLeader(Exception):
    """This node is not the leader; ``leader`` is the node it believes leads (or ``None``)."""

    def __init__(self, leader: str | None) -> None:
        super().__init__(f"not leader (leader: {leader})")
        self.leader = leader


@dataclass(frozen=True)
class RaftConfig:
    heartbeat_ms: int = 50
    election_min_ms: int = 300
    election_max_ms: int = 600
    max_batch: int = 64
    # Planted-bug knob (kv ``slow-election``): once a node has followed a leader, its election timeouts are
    # this many times longer, so losing a leader stalls the cluster; 1 (the default) is correct Raft.
    reelection_factor: int = 1


@dataclass(frozen=True)
class Applied:
    index: int
    term: int
    result: Any


@dataclass(frozen=True)
class ReadDone:
    read_id: int
    ok: bool  # False: leadership was lost before the read was confirmed


class RaftCore:
    def __init__(
        self,
        node_id: str,
        peers: list[str] | tuple[str, ...],
        storage: Storage,
        sm: StateMachine,
        rng: random.Random,
        now_ms: int,
        config: RaftConfig | None = None,
    ) -> None:
        self.id = node_id
        self.peers = tuple(p for p in peers if p != node_id)
        self.storage, self.sm, self.rng = storage, sm, rng
        self.cfg = config or RaftConfig()
        loaded = storage.load()
        self.term, self.vote = loaded.term, loaded.vote
        self.log: list[Entry] = loaded.entries
        self.role: Role = "follower"
        self.leader: str | None = None
        self.commit = 0
        self.applied = 0
        self.now = now_ms
        self._deadline = 0
        self._followed_leader = False
        self._reset_election_timer()
        self._votes: set[str] = set()
        self._next: dict[str, int] = {}
        self._match: dict[str, int] = {}
        self._seq = 0
        self._acked: dict[str, int] = {}
        self._heard: dict[str, int] = {}
        self._last_heartbeat = 0
        self._term_start = 0  # index of this leader's no-op
        self._reads: list[tuple[int, int, int]] = []  # (read_id, seq needed, read index)
        self._next_read = 0
        self._out: list[tuple[str, dict[str, Any]]] = []
        self._applied_out: list[Applied] = []
        self._reads_out: list[ReadDone] = []

    # ----- queries ----------
    @property
    def last_index(self) -> int:
        return len(self.log)

    def term_at(self, index: int) -> int:
        return self.log[index - 1].term if 1 <= index <= len(self.log) else 0

    @property
    def is_leader(self) -> bool:
        return self.role == "leader"

    def quorum(self) -> int:
        return (len(self.peers) + 1) // 2 + 1

    # ----- driver outputs ----------
    def take_messages(self) -> list[tuple[str, dict[str, Any]]]:
        out, self._out = self._out, []
        return out

    def take_applied(self) -> list[Applied]:
        out, self._applied_out = self._applied_out, []
        return out

    def take_reads(self) -> list[ReadDone]:
        out, self._reads_out = self._reads_out, []
        return out

    # ----- application calls ----------
    def propose(self, command: Any) -> tuple[int, int]:
        """Append ``command`` to the leader's log; returns ``(index, term)``. Raises ``NotLeader``."""
        if self.role != "leader":
            raise NotLeader(self.leader)
        self._append_local([Entry(self.term, command)])
        for p in self.peers:
            self._send_append(p)
        self._advance_commit()
        return self.last_index, self.term

    def request_read(self) -> int:
        """Start a read-index read; its ``ReadDone`` comes out of ``take_reads()``. Raises ``NotLeader``."""
        if self.role != "leader":
            raise NotLeader(self.leader)
        self._next_read += 1
        self._seq += 1
        self._reads.append((self._next_read, self._seq, max(self.commit, self._term_start)))
        self._broadcast_heartbeat()
        self._check_reads()
        return self._next_read

    # ----- time ----------
    def tick(self, now_ms: int) -> None:
        self.now = max(self.now, now_ms)
        if self.role == "leader":
            if self.now - self._last_heartbeat >= self.cfg.heartbeat_ms:
                self._seq += 1
                self._broadcast_heartbeat()
            recent = 1 + sum(
                1 for p in self.peers if self.now - self._heard.get(p, -(10**12)) < self.cfg.election_max_ms
            )
            if recent < self.quorum() and self.now - self._deadline >= 0:
                self._become_follower(self.term, None)  # check-quorum: we may be the minority side
        elif self.now >= self._deadline:
            self._campaign()

    # ----- messages ----------
    def receive(self, msg: dict[str, Any]) -> None:
        term = int(msg["term"])
        if term > self.term:
            self._become_follower(term, None)
        kind = msg["type"]
        if kind == "vote":
            self._on_vote(msg)
        elif kind == "vote_reply":
            self._on_vote_reply(msg)
        elif kind == "append":
            self._on_append(msg)
        elif kind == "append_reply":
            self._on_append_reply(msg)

    def _on_vote(self, m: dict[str, Any]) -> None:
        cand = str(m["from"])
        up_to_date = (m["last_term"], m["last_index"]) >= (self.term_at(self.last_index), self.last_index)
        granted = m["term"] == self.term and self.vote in (None, cand) and up_to_date
        if granted and self.role == "follower":
            if self.vote is None:
                self.vote = cand
                self.storage.save_state(self.term, self.vote)
            self._reset_election_timer()
        else:
            granted = False
        self._out.append(
            (cand, {"type": "vote_reply", "term": self.term, "from": self.id, "granted": granted})
        )

    def _on_vote_reply(self, m: dict[str, Any]) -> None:
        if self.role != "candidate" or m["term"] != self.term or not m["granted"]:
            return
        self._votes.add(str(m["from"]))
        if len(self._votes) >= self.quorum():
            self._become_leader()

    def _on_append(self, m: dict[str, Any]) -> None:
        src = str(m["from"])
        reply: dict[str, Any] = {"type": "append_reply", "term": self.term, "from": self.id, "seq": m["seq"]}
        if m["term"] < self.term:
            self._out.append((src, {**reply, "success": False, "match": 0, "hint": 0}))
            return
        if self.role != "follower" or self.leader != src:
            self._become_follower(self.term, src)
        self._followed_leader = True
        self._reset_election_timer()
        prev, prev_term = int(m["prev_index"]), int(m["prev_term"])
        if prev > self.last_index:
            self._out.append((src, {**reply, "success": False, "match": 0, "hint": self.last_index + 1}))
            return
        if self.term_at(prev) != prev_term:
            bad = self.term_at(prev)
            hint = prev
            while hint > 1 and self.term_at(hint - 1) == bad:
                hint -= 1
            self._out.append((src, {**reply, "success": False, "match": 0, "hint": max(1, hint)}))
            return
        entries = [Entry(int(t), c) for t, c in m["entries"]]
        for off, e in enumerate(entries):
            idx = prev + 1 + off
            if idx <= self.last_index and self.term_at(idx) == e.term:
                continue
            if idx <= self.last_index:  # a conflicting suffix (never committed, with a correct peer set)
                del self.log[idx - 1 :]
                self.storage.truncate(idx)
            self._append_local(entries[off:])
            break
        match = prev + len(entries)
        if int(m["commit"]) > self.commit:
            self.commit = min(int(m["commit"]), match)
            self._apply()
        self._out.append((src, {**reply, "success": True, "match": match, "hint": 0}))

    def _on_append_reply(self, m: dict[str, Any]) -> None:
        if self.role != "leader" or m["term"] != self.term:
            return
        p = str(m["from"])
        self._heard[p] = self.now
        self._acked[p] = max(self._acked.get(p, 0), int(m["seq"]))
        if m["success"]:
            self._match[p] = max(self._match.get(p, 0), int(m["match"]))
            self._next[p] = max(self._next.get(p, 1), self._match[p] + 1)
            self._advance_commit()
            if self._next[p] <= self.last_index:
                self._send_append(p)
        else:
            self._next[p] = max(
                1, min(self._next.get(p, 1) - 1, int(m["hint"]) or 1), self._match.get(p, 0) + 1
            )
            self._send_append(p)
        self._check_reads()

    # ----- transitions ----------
    def _reset_election_timer(self) -> None:
        k = self.cfg.reelection_factor if self._followed_leader else 1
        self._deadline = self.now + k * self.rng.randint(self.cfg.election_min_ms, self.cfg.election_max_ms)

    def _become_follower(self, term: int, leader: str | None) -> None:
        if term != self.term:
            self.term, self.vote = term, None
            self.storage.save_state(self.term, self.vote)
        was_leader = self.role == "leader"
        self.role, self.leader = "follower", leader
        if was_leader:
            self._fail_reads()
            self._reset_election_timer()

    def _campaign(self) -> None:
        self.term += 1
        self.role, self.leader, self.vote = "candidate", None, self.id
        self.storage.save_state(self.term, self.vote)
        self._votes = {self.id}
        self._reset_election_timer()
        if len(self._votes) >= self.quorum():
            self._become_leader()
            return
        req = {
            "type": "vote",
            "term": self.term,
            "from": self.id,
            "last_index": self.last_index,
            "last_term": self.term_at(self.last_index),
        }
        for p in self.peers:
            self._out.append((p, dict(req)))

    def _become_leader(self) -> None:
        self.role, self.leader = "leader", self.id
        self._next = {p: self.last_index + 1 for p in self.peers}
        self._match = {p: 0 for p in self.peers}
        self._acked = {}
        self._heard = {p: self.now for p in self.peers}
        self._deadline = self.now + self.cfg.election_max_ms  # grace before check-quorum may step down
        self._append_local([Entry(self.term, None)])
        self._term_start = self.last_index
        self._seq += 1
        self._broadcast_heartbeat()
        self._advance_commit()

    def _fail_reads(self) -> None:
        self._reads_out.extend(ReadDone(rid, False) for rid, _, _ in self._reads)
        self._reads = []

    # ----- replication ----------
    def _append_local(self, entries: list[Entry]) -> None:
        first = self.last_index + 1
        self.log.extend(entries)
        self.storage.append(first, entries)
        if self.role == "leader":
            self._match[self.id] = self.last_index

    def _broadcast_heartbeat(self) -> None:
        self._last_heartbeat = self.now
        for p in self.peers:
            self._send_append(p)

    def _send_append(self, p: str) -> None:
        nxt = min(self._next.get(p, self.last_index + 1), self.last_index + 1)
        entries = self.log[nxt - 1 : nxt - 1 + self.cfg.max_batch]
        self._out.append(
            (
                p,
                {
                    "type": "append",
                    "term": self.term,
                    "from": self.id,
                    "prev_index": nxt - 1,
                    "prev_term": self.term_at(nxt - 1),
                    "entries": [[e.term, e.command] for e in entries],
                    "commit": self.commit,
                    "seq": self._seq,
                },
            )
        )
        self._next[p] = nxt + len(entries)  # optimistic; a rejection moves it back

    def _advance_commit(self) -> None:
        matches = sorted([self.last_index] + [self._match.get(p, 0) for p in self.peers], reverse=True)
        n = matches[self.quorum() - 1]
        if n > self.commit and self.term_at(n) == self.term:
            self.commit = n
            self._apply()
            self._check_reads()

    def _apply(self) -> None:
        while self.applied < self.commit:
            self.applied += 1
            e = self.log[self.applied - 1]
            result = None if e.command is None else self.sm.apply(e.command)
            self._applied_out.append(Applied(self.applied, e.term, result))

    def _check_reads(self) -> None:
        if self.role != "leader" or not self._reads:
            return
        acks = sorted([self._seq] + [self._acked.get(p, 0) for p in self.peers], reverse=True)
        confirmed_seq = acks[self.quorum() - 1]
        keep = []
        for rid, seq, index in self._reads:
            if seq <= confirmed_seq and self.applied >= index and self.commit >= self._term_start:
                self._reads_out.append(ReadDone(rid, True))
            else:
                keep.append((rid, seq, index))
        self._reads = keep
