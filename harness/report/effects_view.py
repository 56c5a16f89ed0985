"""Counterexamples of the queue and lock checkers: message tables with delivery trails, and overlapping
critical sections on a time axis with their fencing tokens.

Exactly-once details name lost, duplicated, unexpected and recovered messages; each row shows the message's
delivery trail, taken from the details (``trail``) or else from the history's final ``read-deliveries`` op.
Lock-safety details name overlapping pairs of critical sections (first to last accepted write of each holder
at the resource), token regressions and duplicate grants. ``exactly_once_view`` and ``lock_view`` are the two
checkers' report views (named by their declarations).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from harness.checkers.exactly_once import ExactlyOnceDetails
from harness.checkers.lock_safety import LockSafetyDetails
from harness.history import History, Pair
from harness.report.data import ReportData
from harness.report.markup import esc, show, table, tag


def delivery_trails(history: History) -> dict[str, list[Mapping[str, Any]]]:
    """Broker delivery events per logical message, from the last ok ``read-deliveries`` op."""
    trails: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    last = None
    for op in history:
        if op.f == "read-deliveries" and op.type == "ok" and isinstance(op.value, list):
            last = op.value
    for ev in last or []:
        if isinstance(ev, Mapping) and "msg" in ev:
            trails[str(ev["msg"])].append(ev)
    return trails


def _trail_text(events: Any) -> str:
    if not isinstance(events, list) or not events:
        return "no delivery recorded"
    steps = []
    for ev in events:
        if isinstance(ev, Mapping):
            steps.append(f"{ev.get('event', '?')} {ev.get('consumer', '')} (id {ev.get('id', '?')})".strip())
        else:
            steps.append(show(ev, 40))
    return " -> ".join(steps)


def _effects_text(effects: Any) -> str:
    if not isinstance(effects, list):
        return show(effects, 200)
    return "; ".join(
        f"{e.get('consumer', '?')} applied id {e.get('id', '?')} "
        f"({e.get('account', '?')} {e.get('amount', '?')})"
        if isinstance(e, Mapping)
        else show(e, 60)
        for e in effects
    )


def _send(by_index: Mapping[int, Pair], i: Any) -> str:
    p = by_index.get(i) if isinstance(i, int) else None
    if p is None:
        return f"#{i}" if i is not None else ""
    return f"#{i} p{p.invoke.process} {p.type}"


def exactly_once_view(d: ExactlyOnceDetails, data: ReportData) -> str:
    """The message tables of a decided exactly-once result (nothing when undecided)."""
    return render_exactly_once(d, data.pairs, data.history) if d.decided else ""


def render_exactly_once(d: ExactlyOnceDetails, pairs: list[Pair], history: History) -> str:
    by_index = {p.invoke.index: p for p in pairs}
    trails = delivery_trails(history)

    def trail(entry: Mapping[str, Any]) -> str:
        return esc(_trail_text(entry.get("trail", trails.get(str(entry.get("msg")), []))))

    out = []
    specs: list[tuple[str, str, list[str]]] = [
        ("lost", "Lost: acknowledged to the producer, never applied", ["message", "send", "delivery trail"]),
        (
            "duplicated",
            "Duplicated: applied more than once",
            ["message", "times applied", "effects", "delivery trail"],
        ),
        (
            "unexpected",
            "Unexpected: applied, though no send of it could have succeeded",
            ["message", "effects", "delivery trail"],
        ),
        ("recovered", "Recovered: send outcome unknown, applied once (allowed)", ["message", "send"]),
    ]
    lists = {"lost": d.lost, "duplicated": d.duplicated, "unexpected": d.unexpected, "recovered": d.recovered}
    for key, title, headers in specs:
        entries = list(lists[key])
        rows = []
        for e in entries:
            msg = tag("code", esc(show(e.get("msg"))))
            if key in ("lost", "recovered"):
                row = [msg, esc(_send(by_index, e.get("send_index")))]
            elif key == "duplicated":
                row = [msg, esc(e.get("count", "?")), esc(_effects_text(e.get("effects")))]
            else:
                row = [msg, esc(_effects_text(e.get("effects")))]
            rows.append(row + ([trail(e)] if "delivery trail" in headers else []))
        body = table(headers, rows, class_=f"eo-{key}") if rows else tag("p", "none", class_="note")
        out.append(tag("h3", esc(f"{title} ({len(entries)})")) + body)
    out.append(table(["count", "value"], [[esc(k), esc(v)] for k, v in d.counts.items()], class_="eo-counts"))
    return tag("section", "".join(out), class_="counterexample exactly-once")


def _num(v: Any) -> float | None:
    if isinstance(v, Mapping):
        v = v.get("time")
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def lock_view(d: LockSafetyDetails, data: ReportData) -> str:
    """The overlapping critical sections, regressions and early grants of a lock-safety result."""
    return render_lock(d)


def render_lock(d: LockSafetyDetails) -> str:
    overlaps = list(d.overlaps)
    out = [tag("h3", esc(f"Overlapping critical sections ({len(overlaps)})"))]
    sections = [(k, side, o.get(side)) for k, o in enumerate(overlaps) for side in ("a", "b")]
    times = [
        t
        for _, _, s in sections
        if isinstance(s, Mapping)
        for t in (_num(s.get("first_write")), _num(s.get("last_write")))
        if t is not None
    ]
    if times:
        lo, hi = min(times), max(times)
        hi = hi if hi > lo else lo + 1
        left, width, row = 150, 1200, 18

        def x(t: float) -> float:
            return left + (t - lo) / (hi - lo) * (width - left - 20)

        parts = []
        for n, (k, side, s) in enumerate(sections):
            if not isinstance(s, Mapping):
                continue
            a, b = _num(s.get("first_write")), _num(s.get("last_write"))
            y = 6 + n * row + k * 8
            who = f"p{s.get('process', '?')} token {s.get('token', '?')}"
            parts.append(
                f'<text class="lane-label" x="4" y="{y + 12}">{esc(f"#{k + 1}{side}: {who}")}</text>'
            )
            if a is not None and b is not None:
                parts.append(
                    tag(
                        "g",
                        f'<rect x="{x(a):.1f}" y="{y + 2}" width="{max(x(b) - x(a), 2):.1f}" '
                        f'height="{row - 4}"/><text class="op-text" x="{x(a) + 3:.1f}" y="{y + 13}">'
                        f"{esc('token ' + show(s.get('token')))}</text>"
                        f"<title>{esc(f'{who}: writes from {a:g} to {b:g} (resource write log)')}</title>",
                        class_=f"critical-section side-{side}",
                        data_token=show(s.get("token")),
                    )
                )
        height = 12 + len(sections) * row + len(overlaps) * 8
        out.append(
            tag(
                "svg",
                "".join(parts),
                class_="chart lock-overlaps",
                viewBox=f"0 0 {width} {height}",
                role="img",
            )
        )
        out.append(
            tag(
                "p",
                esc(
                    f"Axis: the resource's accepted-write log, {lo:g} to {hi:g}: each bar spans a holder's "
                    "first to last accepted write; bars of one pair that overlap mean two holders wrote "
                    "inside the same window."
                ),
                class_="note",
            )
        )
    regressions, dups, early = list(d.token_regressions), list(d.duplicate_grants), list(d.lease_overlaps)
    out.append(
        _listed(
            "Token regressions",
            len(regressions),
            ["write seq", "token", "previous token"],
            [[esc(r.get("seq")), esc(r.get("token")), esc(r.get("previous_token"))] for r in regressions],
            "lock-regressions",
        )
    )
    out.append(
        _listed(
            "Tokens granted more than once",
            len(dups),
            ["token", "grant ops"],
            [[esc(g.get("token")), esc(", ".join(f"#{i}" for i in g.get("grants") or []))] for g in dups],
            "lock-dups",
        )
    )
    out.append(
        _listed(
            "Grants inside a running lease",
            len(early),
            ["lock", "first holder", "first lease (granted, expires)", "second holder", "second granted at"],
            [
                [
                    esc(g.get("lock")),
                    esc(_grant_text(g["first"])),
                    esc(f"{g['first'].get('granted_at')} .. {g['first'].get('expires_at')}"),
                    esc(_grant_text(g["second"])),
                    esc(g["second"].get("granted_at")),
                ]
                for g in early
                if isinstance(g.get("first"), Mapping) and isinstance(g.get("second"), Mapping)
            ],
            "lock-early-grants",
        )
    )
    return tag("section", "".join(out), class_="counterexample lock-safety")


def _listed(title: str, count: int, headers: list[str], rows: list[list[str]], class_: str) -> str:
    """A heading with the count, then the rows as a table (or "none" when there are none)."""
    body = table(headers, rows, class_=class_) if count else tag("p", "none", class_="note")
    return tag("h3", esc(f"{title} ({count})")) + body


def _grant_text(g: Mapping[str, Any]) -> str:
    return f"p{g.get('process')} token {g.get('token')} (op #{g.get('op')})"
