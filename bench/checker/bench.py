"""Benchmark: our linearizability checker against the newest Porcupine (Go), measured side by side in one run.

    .venv/bin/python bench/checker/bench.py [--corpus DIR] [--files GLOB] [--repeat 5]
        [--porcupine-git GITDIR] [--engine auto|native|python] [--big-ops 100000] [--skip-big]

Porcupine's newest source is looked for in ``$CHAOS_PORCUPINE_SRC`` or in the cache
``~/.cache/chaos-harness/bench/porcupine-<commit>/`` (outside the project tree; ``--porcupine-git GITDIR``
fills the cache from a clone of github.com/anishathalye/porcupine, at its HEAD). The driver in
bench/checker/porcupine is built against it through a go.mod ``replace`` written next to the cache (build
tag ``newest``: the models also give Porcupine its state hash). When no fetched source is there the bench
says so and falls back to v1.3.1, the newest version the Go module proxy serves. No figure is recorded:
every number printed is measured in this run.

Per corpus file, the two checkers alternate ``--repeat`` times (Porcupine's driver stays running and answers
one file per request; ours runs in this process) and the best check time of each counts; parsing is
measured and printed apart. Printed: per file both verdicts, check times and the ratio ours/Porcupine, then
per group (c50-ok, c50-bad, c10-ok, c10-bad, c01, the etcd logs) the summed check times, the ratio of the
sums and the worst single-file ratio, and the machine's load average before and after. Then a seeded
history of ``--big-ops`` operations over ``--big-keys`` keys from a simulated linearizable map is checked
in a child process: time and peak memory.
"""

from __future__ import annotations

import argparse
import csv
import fnmatch
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from harness.checkers.linearizable import check  # noqa: E402
from harness.history import History  # noqa: E402
from harness.importers import load  # noqa: E402
from harness.op import Op  # noqa: E402

DRIVER = Path(__file__).parent / "porcupine"
CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "chaos-harness" / "bench"
MODULE = "github.com/anishathalye/porcupine"


@dataclass(frozen=True)
class Porcupine:
    """A built driver: its binary and which Porcupine it was built against, in words."""

    binary: Path
    version: str


def cache_from_git(git_dir: Path) -> Path:
    """Extract the HEAD commit of a Porcupine clone (a work tree or a bare git directory) into the cache."""
    git = ["git", "--git-dir", str(git_dir / ".git" if (git_dir / ".git").exists() else git_dir)]
    commit = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout
    dest = CACHE / f"porcupine-{commit.strip()}"
    if not (dest / "go.mod").is_file():
        dest.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile() as tar:
            subprocess.run([*git, "archive", "HEAD"], stdout=tar, check=True)
            tar.seek(0)
            with tarfile.open(fileobj=tar) as tf:
                tf.extractall(dest, filter="data")
    return dest


def newest_source() -> Path | None:
    """The fetched newest Porcupine source: ``$CHAOS_PORCUPINE_SRC``, else the newest cache entry."""
    env = os.environ.get("CHAOS_PORCUPINE_SRC")
    found = [Path(env)] if env else sorted(CACHE.glob("porcupine-*/"), key=lambda p: p.stat().st_mtime)
    good = [p for p in found if (p / "go.mod").is_file() and MODULE in (p / "go.mod").read_text()]
    return good[-1] if good else None


def build_porcupine(out_dir: Path) -> Porcupine | None:
    """Build the driver against the newest fetched source, or against v1.3.1 when none is there."""
    go = shutil.which("go")
    if go is None:
        print("go not found: Porcupine is not measured")
        return None
    env = {**os.environ, "GOTOOLCHAIN": "local"}
    out_dir.mkdir(parents=True, exist_ok=True)
    src = newest_source()
    if src is None:
        print(
            f"newest Porcupine source ABSENT (looked in $CHAOS_PORCUPINE_SRC and {CACHE}/porcupine-*; "
            "fill it with --porcupine-git): falling back to v1.3.1 from the Go module proxy"
        )
        out = out_dir / "porcupine-v1.3.1"
        subprocess.run([go, "build", "-o", str(out), "."], cwd=DRIVER, env=env, check=True)
        return Porcupine(out, "v1.3.1 (Go module proxy)")
    commit = src.name.removeprefix("porcupine-")
    modfile = src.parent / f"{src.name}.bench.mod"
    modfile.write_text(
        "module chaosharness/bench/porcupine\n\ngo 1.21\n\n"
        f"require {MODULE} v0.0.0\n\nreplace {MODULE} => {src}\n"
    )
    out = out_dir / f"porcupine-{commit[:12]}"
    subprocess.run(
        [go, "build", "-modfile", str(modfile), "-tags", "newest", "-o", str(out), "."],
        cwd=DRIVER,
        env={**env, "GOFLAGS": "-mod=mod"},
        check=True,
    )
    return Porcupine(out, f"newest commit {commit[:12]} (fetched source in {src})")


class Driver:
    """Porcupine's driver as a co-process: one file path in, one JSON result out."""

    def __init__(self, binary: Path, cwd: Path) -> None:
        self.proc = subprocess.Popen(
            [str(binary)], cwd=cwd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1
        )

    def check(self, rel: str) -> tuple[str, float, float]:
        """(verdict, check seconds, parse seconds)."""
        stdin: IO[str] = self.proc.stdin  # type: ignore[assignment]
        stdout: IO[str] = self.proc.stdout  # type: ignore[assignment]
        stdin.write(rel + "\n")
        line = stdout.readline()
        if not line:
            raise RuntimeError(f"porcupine driver stopped on {rel} (exit {self.proc.wait()})")
        d = json.loads(line)
        return d["verdict"], d["check_s"], d["parse_s"]

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        self.proc.wait(timeout=30)


def run_ours(corpus: Path, rel: str, engine: str) -> tuple[str, float, float]:
    """(verdict, check seconds, parse seconds)."""
    start = time.perf_counter()
    history = load(corpus / "porcupine" / rel)
    options: dict[str, Any] = (
        {"model": "kv", "init": ""} if rel.startswith("kv/") else {"model": "cas-register"}
    )
    parsed = time.perf_counter()
    result = check(history, engine=engine, **options)
    done = time.perf_counter()
    return str(result.valid).lower(), done - parsed, parsed - start


def generate(n_ops: int, n_keys: int, procs: int = 20, seed: int = 1, info_rate: float = 0.01) -> History:
    """A linearizable kv history: overlapping ops, random linearization points, some unknown outcomes."""
    rng = random.Random(seed)
    free = [0.0] * procs
    spec = []
    for i in range(n_ops):
        p = i % procs
        start = free[p] + rng.random()
        dur = rng.expovariate(1.0) + 0.01
        free[p] = start + dur
        spec.append((start, start + rng.random() * dur, start + dur, p, rng.randrange(n_keys), rng.random()))
    state: dict[int, Any] = {}
    events: list[tuple[float, int, str, str, Any]] = []
    for start, _, end, p, key, r in sorted(spec, key=lambda s: s[1]):
        info = r < info_rate
        if r < 0.5:
            f, inv, out = "read", {"key": key, "value": None}, {"key": key, "value": state.get(key)}
        else:
            v = rng.randrange(1000)
            f, inv = "write", {"key": key, "value": v}
            out = inv
            if not info or rng.random() < 0.5:
                state[key] = v
        events.append((start, p, "invoke", f, inv))
        events.append((end, p, "info" if info else "ok", f, inv if info else out))
    events.sort(key=lambda e: e[0])
    return History(Op(n, int(t * 1e6), p, typ, f, v) for n, (t, p, typ, f, v) in enumerate(events))  # type: ignore[arg-type]


def big(n_ops: int, n_keys: int, engine: str) -> None:
    history = generate(n_ops, n_keys)
    start = time.perf_counter()
    result = check(history, model="kv", engine=engine)
    elapsed = time.perf_counter() - start
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        json.dumps(
            {"ops": n_ops, "keys": n_keys, "valid": result.valid, "check_s": elapsed, "peak_rss_mb": rss_mb}
        )
    )


GROUPS = (
    ("c50-ok", "kv/c50-ok*"),
    ("c50-bad", "kv/c50-bad*"),
    ("c10-ok", "kv/c10-ok*"),
    ("c10-bad", "kv/c10-bad*"),
    ("c01", "kv/c01-*"),
    ("etcd", "jepsen/*"),
)


def default_corpus() -> str:
    """The first ``shared/corpus`` beside the repository or one of its parents (worktrees sit deeper)."""
    for parent in REPO.parents:
        if (parent / "shared" / "corpus").is_dir():
            return str(parent / "shared" / "corpus")
    return str(REPO.parent / "shared" / "corpus")


def load_line() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.2f} (1 min) {five:.2f} (5 min) on {os.cpu_count()} cores"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", default=os.environ.get("CHAOS_CORPUS") or default_corpus())
    ap.add_argument("--files", default="*", help="only the corpus files matching this glob (e.g. 'kv/c50-*')")
    ap.add_argument("--porcupine-git", type=Path, help="fill the cache from this Porcupine clone's HEAD")
    ap.add_argument("--big-ops", type=int, default=100_000)
    ap.add_argument("--big-keys", type=int, default=100)
    ap.add_argument("--skip-go", action="store_true")
    ap.add_argument("--skip-big", action="store_true")
    ap.add_argument("--engine", default="auto", choices=("auto", "native", "python"), help="our search")
    ap.add_argument("--repeat", type=int, default=5, help="alternating runs per file and side (5)")
    ap.add_argument("--big-only", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.big_only:
        big(args.big_ops, args.big_keys, args.engine)
        return 0
    from harness.checkers import native

    if args.porcupine_git:
        print(f"porcupine source cached at {cache_from_git(args.porcupine_git)}")
    core = "native core" if args.engine != "python" and native.available() else "pure Python"
    print(f"ours: {core} (engine {args.engine}); before: {load_line()}", flush=True)
    corpus = Path(args.corpus)
    rows = list(csv.DictReader((corpus / "porcupine" / "MANIFEST.tsv").open(), delimiter="\t"))
    files = [r["file"] for r in rows if fnmatch.fnmatch(r["file"], args.files)]
    expected = {r["file"]: r["expected_linearizable"] for r in rows}
    built = None if args.skip_go else build_porcupine(REPO / ".chaos" / "bench")
    driver = None if built is None else Driver(built.binary, corpus / "porcupine")
    if built is not None:
        print(f"porcupine: {built.version}")
    print(
        f"{'file':26} {'expect':>6} {'ours':>6} {'porc':>6} {'ours_s':>8} {'porc_s':>8} {'ratio':>6}"
        f" {'ours_parse':>10} {'porc_parse':>10}"
    )
    ours_s: dict[str, float] = {}
    porc_s: dict[str, float] = {}
    wrong = 0
    try:
        for rel in files:
            mine: list[tuple[str, float, float]] = []
            theirs: list[tuple[str, float, float]] = []
            for _ in range(args.repeat):  # alternate, so both sides see the same machine
                if driver is not None:
                    theirs.append(driver.check(rel))
                mine.append(run_ours(corpus, rel, args.engine))
            verdict = mine[0][0]
            wrong += any(m[0] != expected[rel] for m in mine) or any(t[0] != expected[rel] for t in theirs)
            ours_s[rel] = min(m[1] for m in mine)
            ours_parse = min(m[2] for m in mine)
            pv, ps, pp = ("-", float("nan"), float("nan"))
            if theirs:
                pv, ps, pp = theirs[0][0], min(t[1] for t in theirs), min(t[2] for t in theirs)
                porc_s[rel] = ps
            ratio = ours_s[rel] / ps if theirs else float("nan")
            print(
                f"{rel:26} {expected[rel]:>6} {verdict:>6} {pv:>6} {ours_s[rel]:8.4f} {ps:8.4f}"
                f" {ratio:6.2f} {ours_parse:10.4f} {pp:10.4f}",
                flush=True,
            )
    finally:
        if driver is not None:
            driver.close()
    print(f"after: {load_line()}")
    for name, pattern in GROUPS:
        members = [f for f in files if fnmatch.fnmatch(f, pattern)]
        if not members:
            continue
        o = sum(ours_s[f] for f in members)
        if porc_s:
            p = sum(porc_s[f] for f in members)
            worst = max(members, key=lambda f: ours_s[f] / porc_s[f])
            over = sum(1 for f in members if ours_s[f] > 0.5 * porc_s[f])
            print(
                f"GROUP {name:8} {len(members):3} files  ours {o:8.4f} s  porcupine {p:8.4f} s  "
                f"ours/porcupine {o / p:5.2f}  worst file {worst} {ours_s[worst] / porc_s[worst]:5.2f}  "
                f"files above 0.5x: {over}"
            )
        else:
            print(f"GROUP {name:8} {len(members):3} files  ours {o:8.4f} s")
    print(f"wrong verdicts (either side vs MANIFEST): {wrong}")
    if not args.skip_big:
        child = subprocess.run(
            [
                sys.executable,
                __file__,
                "--big-only",
                "--big-ops",
                str(args.big_ops),
                "--big-keys",
                str(args.big_keys),
                "--engine",
                args.engine,
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        d = json.loads(child.stdout)
        print(
            f"BIG {d['ops']} ops / {d['keys']} keys: valid={d['valid']} check {d['check_s']:.2f} s, "
            f"peak RSS {d['peak_rss_mb']:.0f} MB"
        )
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
