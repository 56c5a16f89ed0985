"""pytest plugin (entry point ``pytest11: chaos``): experiment YAML files as test items, and fixtures.

``pytest experiments/`` collects every ``*.yaml`` in a directory named ``experiments`` (or any experiment file
named on the command line) as one item per seed (``--chaos-seed`` may be repeated; else the file's ``seeds``,
else its ``seed``). An item passes when the run's outcome matches ``expect``; a failing item shows the verdict
(the violated invariant, too little evidence, or the crash of a worker or the nemesis), the seed, the bundle,
the report and the replay command, and the same go into ``--junitxml`` as properties (with the outcome and
any note such as "no fault was injected"). Fixtures for experiments written in Python: ``chaos_cluster`` (a
factory of scoped clusters), ``chaos_recorder`` (a ``HistoryWriter``), ``chaos_play`` (the run interpreter on
a cluster you hold: workload, faults, heal, final ops) and ``chaos_faults`` (faults by hand, recorded as
nemesis ops; ``chaos_mesh`` is its deprecated older form). Heavy imports happen lazily, so loading the
plugin costs nothing in unrelated test runs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from harness.names import AUTO

if TYPE_CHECKING:  # imported when used, so loading the plugin stays cheap
    from harness.cluster.base import Cluster
    from harness.history import History
    from harness.target import Target, Workload


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("chaos", "chaos-harness experiments")
    group.addoption(
        "--chaos-seed",
        action="append",
        type=int,
        default=None,
        metavar="N",
        help="run each experiment with seed N (repeat for one item per seed)",
    )
    group.addoption(
        "--chaos-backend",
        default=None,
        metavar="NAME",
        help="override target.backend of every experiment (auto or a registered backend)",
    )
    group.addoption(
        "--chaos-duration",
        type=float,
        default=None,
        metavar="S",
        help="override workload.duration (seconds) of every experiment",
    )
    group.addoption("--chaos-out", default="reports", metavar="DIR", help="where run bundles go (reports)")


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if file_path.suffix not in (".yaml", ".yml"):
        return None
    if file_path.parent.name == "experiments" or parent.session.isinitpath(file_path):
        return ExperimentFile.from_parent(parent, path=file_path)
    return None


class ExperimentFailed(Exception):
    """The run's outcome did not match ``expect`` (or a checker ran out of budget, or the run crashed)."""


class ExperimentFile(pytest.File):
    def collect(self) -> Iterator[pytest.Item]:
        from harness.errors import HarnessError
        from harness.loader import load

        try:
            exp = load(self.path)
        except HarnessError as e:
            yield ExperimentItem.from_parent(self, name=self.path.stem, seed=None, error=str(e))
            return
        seeds: list[int | None] = list(self.config.getoption("chaos_seed") or exp.seeds or [exp.seed])
        for seed in seeds:
            name = exp.name if len(seeds) == 1 else f"{exp.name}[seed={seed}]"
            yield ExperimentItem.from_parent(self, name=name, seed=seed, error=None)


class ExperimentItem(pytest.Item):
    def __init__(self, *, seed: int | None, error: str | None, **kw: Any) -> None:
        super().__init__(**kw)
        self.seed = seed
        self.error = error

    def runtest(self) -> None:
        from harness.errors import HarnessError
        from harness.loader import load, with_overrides
        from harness.run import run_experiment

        if self.error is not None:
            raise ExperimentFailed(f"bad experiment: {self.error}")
        opt = self.config.getoption
        try:
            exp = with_overrides(
                load(self.path), seed=self.seed, backend=opt("chaos_backend"), duration=opt("chaos_duration")
            )
            overrides = {
                k: v
                for k, v in (("backend", opt("chaos_backend")), ("duration", opt("chaos_duration")))
                if v is not None
            }
            o = run_experiment(exp, out=opt("chaos_out"), overrides=overrides)  # the seed is in exp
        except HarnessError as e:
            raise ExperimentFailed(f"could not run: {e}") from None
        for key, value in (
            ("seed", o.seed),
            ("bundle", o.bundle.path),
            ("report", o.report),
            ("verdict", o.summary),
            ("outcome", o.outcome),
            ("replay", f"chaos replay {o.bundle.path}"),
            *(("note", n) for n in o.notes),
        ):
            self.user_properties.append((key, str(value)))
        if o.exit_code != 0:
            head = "run crashed (exit 3): " if o.outcome == "crashed" else ""
            raise ExperimentFailed(
                f"{head}{o.summary}\nseed: {o.seed}\nbundle: {o.bundle.path}\nreport: {o.report}\n"
                f"replay: chaos replay {o.bundle.path}"
            )

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, ExperimentFailed):
            return str(excinfo.value)
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, 0, f"experiment {self.name}"


@pytest.fixture
def chaos_recorder(tmp_path: Path) -> Iterator[Any]:
    """A ``HistoryWriter`` streaming to ``tmp_path/history.jsonl``; closed after the test."""
    from harness.history import HistoryWriter

    with HistoryWriter(tmp_path / "history.jsonl") as writer:
        yield writer


@pytest.fixture
def chaos_cluster(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[..., Cluster]]:
    """``chaos_cluster("kv", nodes=3, flags=..., backend=...)`` -> a ready cluster, removed after the test."""
    from contextlib import ExitStack

    from harness.platform import open_cluster

    backend = request.config.getoption("chaos_backend") or AUTO
    with ExitStack() as stack:

        def make(target: Target | str, nodes: int = 3, **kw: Any) -> Cluster:
            kw.setdefault("backend", backend)
            kw.setdefault("log_dir", tmp_path / "logs")
            cluster = stack.enter_context(open_cluster(target, nodes=nodes, **kw))
            cluster.wait_ready(timeout=30)
            return cluster

        yield make


@pytest.fixture
def chaos_faults(chaos_recorder: Any) -> Iterator[Callable[[Any], Any]]:
    """``chaos_faults(cluster)`` -> a nemesis for faults by hand, recording into ``chaos_recorder``:
    ``f = faults.inject("partition", shape="isolate", nodes=["n1"])``, ``faults.end(f)``, ``faults.heal()``
    (every active fault ended and the network healed, as also happens after the test)."""
    from harness.runtime.nemesis import Nemesis
    from harness.schedule import Schedule

    made: list[Any] = []

    def make(cluster: Cluster) -> Any:
        made.append(Nemesis(Schedule(), cluster, chaos_recorder))
        return made[-1]

    yield make
    for nemesis in made:
        nemesis.stop()


class _ByKind:
    """What the deprecated ``chaos_mesh`` fixture returns: ``start(kind, **params)`` and ``heal()``."""

    def __init__(self, nemesis: Any) -> None:
        self.nemesis = nemesis

    def start(self, kind: str, **params: Any) -> None:
        self.nemesis.inject(kind, **params)

    def heal(self) -> None:
        self.nemesis.stop()


@pytest.fixture
def chaos_mesh(chaos_faults: Callable[[Any], Any]) -> Callable[[Any], _ByKind]:
    """Deprecated (it never was a mesh): ``chaos_faults``. ``chaos_mesh(cluster).start(kind, **params)``."""
    return lambda cluster: _ByKind(chaos_faults(cluster))


@pytest.fixture
def chaos_play(chaos_recorder: Any) -> Callable[..., Any]:
    """``chaos_play(cluster, target, workload, duration=10, seed=1, faults=FaultLoop(...) or Schedule)`` ->
    the history: the runner's interpreter (workers, nemesis, heal, recovery, final ops) on a cluster you hold,
    recorded into ``chaos_recorder`` (see ``harness.runtime.interpreter.play`` for every option)."""
    from harness.runtime.interpreter import play

    def run(cluster: Cluster, target: Target, workload: Workload, **kw: Any) -> History:
        return play(cluster, target, workload, writer=chaos_recorder, **kw)

    return run
