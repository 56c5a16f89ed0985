"""pytest plugin (entry point ``pytest11: chaos``): experiment YAML files as test items, and fixtures.

``pytest experiments/`` collects every ``*.yaml`` in a directory named ``experiments`` (or any experiment file
named on the command line) as one item per seed (``--chaos-seed`` may be repeated; else the file's ``seeds``,
else its ``seed``). An item passes when the run's outcome matches ``expect``; a failing item shows the verdict
(the violated invariant, too little evidence, or the crash of a worker or the nemesis), the seed, the bundle,
the report and the replay command, and the same go into ``--junitxml`` as properties (with the outcome and
any note such as "no fault was injected"). Fixtures for experiments written in Python (docs/pytest.md), held
to what ``chaos run`` holds a YAML experiment to (``harness.fixture_run``): ``chaos_cluster`` (a factory of
scoped clusters; target settings checked as the loader checks them), ``chaos_recorder`` (a
``HistoryWriter``), ``chaos_play`` (the run interpreter on that cluster: clients and workload made with the
run's ``ClientContext``, faults, heal, final ops), ``chaos_check`` (the verdict weighed by the evidence, a
bundle and report attached to the test) and ``chaos_faults`` (faults by hand, recorded as nemesis ops;
``chaos_mesh`` is its deprecated older form). Heavy imports happen lazily, so loading the plugin costs
nothing in unrelated test runs.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from harness.names import AUTO

if TYPE_CHECKING:  # imported when used, so loading the plugin stays cheap
    from harness.cluster.base import Cluster


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
    group.addoption(
        "--chaos-sut-version",
        default=None,
        metavar="V",
        help="the version of the system under test recorded in run.json (default: $CHAOS_SUT_VERSION, "
        "else the git commit of the current directory's repository)",
    )


def pytest_configure(config: pytest.Config) -> None:
    given = config.getoption("chaos_sut_version", None)
    if given:
        from harness.provenance import SUT_VERSION_ENV

        os.environ[SUT_VERSION_ENV] = given  # read where run.json is written (as chaos run --sut-version)


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
        from harness.outcome import validity_word
        from harness.run import replay_command, run_experiment

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
        replay = replay_command(o.bundle.path)
        for key, value in (
            ("seed", o.seed),
            ("bundle", o.bundle.path),
            ("report", o.report),
            ("verdict", o.summary),
            ("outcome", o.outcome),
            ("replay", replay),
            *(("note", n) for n in o.notes),
        ):
            self.user_properties.append((key, str(value)))
        if o.exit_code != 0:
            crashed = o.outcome == "crashed"
            head = (
                "run crashed (exit 3): "
                if crashed
                else f"expected {exp.expect}, got {validity_word(o.valid)}: "
            )
            raise ExperimentFailed(
                f"{head}{o.summary}\nseed: {o.seed}\n"
                f"bundle: {o.bundle.path}\nreport: {o.report}\nreplay: {replay}"
            )

    def setup(self) -> None:
        """JUnit's classname: the experiment file's path without ``.yaml`` (``experiments.kv-stale-read``)."""
        from _pytest.junitxml import xml_key

        xml = self.config.stash.get(xml_key, None)
        if xml is not None:
            relative = Path(self.nodeid.split("::")[0])
            xml.node_reporter(self.nodeid).add_attribute(
                "classname", ".".join(relative.with_suffix("").parts)
            )

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, ExperimentFailed):
            return str(excinfo.value)
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, 0, f"experiment {self.name}"


@dataclass
class _Played:
    """What ``chaos_check`` needs to know about a history ``chaos_play`` recorded."""

    history: Any
    final_from: int | None
    faults_planned: int | None
    checkers: dict[str, Any]
    about: dict[str, Any]


@dataclass
class _TestRuns:
    """Per test: the settings of each cluster ``chaos_cluster`` made (by run id) and each played history."""

    clusters: dict[str, Any] = field(default_factory=dict)
    played: dict[int, _Played] = field(default_factory=dict)


_RUNS = pytest.StashKey[_TestRuns]()


def _runs(request: pytest.FixtureRequest) -> _TestRuns:
    return request.node.stash.setdefault(_RUNS, _TestRuns())


@pytest.fixture
def chaos_recorder(tmp_path: Path) -> Iterator[Any]:
    """A ``HistoryWriter`` streaming to ``tmp_path/history.jsonl``; closed after the test."""
    from harness.history import HistoryWriter

    with HistoryWriter(tmp_path / "history.jsonl") as writer:
        yield writer


@pytest.fixture
def chaos_cluster(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[..., Any]]:
    """``chaos_cluster(target, nodes=None, mode="correct", flags=(), options=None, backend=None)`` -> a
    ready cluster, removed after the test. ``target``: a registered or declared target's name, a
    ``target.yaml`` path, or a target object. Mode, flags, options and the node count are checked as an
    experiment file's ``target:`` block is (a misspelled mode is refused, naming the valid ones).
    ``backend``: default ``--chaos-backend``, else ``auto``; ``ready_timeout`` (30 s) and ``open_cluster``'s
    other keywords pass on."""
    from contextlib import ExitStack

    from harness.fixture_run import cluster_settings
    from harness.platform import open_cluster

    default_backend = request.config.getoption("chaos_backend") or AUTO
    runs = _runs(request)
    with ExitStack() as stack:

        def make(
            target: Any,
            nodes: int | None = None,
            *,
            mode: str = "correct",
            flags: Iterable[str] = (),
            options: Mapping[str, Any] | None = None,
            backend: str | None = None,
            ready_timeout: float = 30,
            **kw: Any,
        ) -> Any:
            settings = cluster_settings(target, nodes, mode, flags, options)
            kw.setdefault("log_dir", tmp_path / "logs")
            cluster = stack.enter_context(
                open_cluster(
                    settings.target,
                    nodes=settings.nodes,
                    backend=backend or default_backend,
                    flags=settings.flags,
                    options=dict(settings.options),
                    **kw,
                )
            )
            cluster.wait_ready(timeout=ready_timeout)
            runs.clusters[cluster.run_id] = settings
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
def chaos_play(request: pytest.FixtureRequest, chaos_recorder: Any) -> Callable[..., Any]:
    """``chaos_play(cluster, workload=None, *, duration, seed, options=None, faults=None, ...)`` -> the
    history: the runner's interpreter (workers, nemesis, heal, recovery, final ops) on a cluster
    ``chaos_cluster`` made, recorded into ``chaos_recorder``. ``workload``: a registered workload's name
    (default: the target's), made with ``options`` and the run's ``ClientContext`` exactly as ``chaos run``
    makes it, or a workload object. ``faults``: a ``Schedule`` or a ``FaultLoop``. Every other keyword is
    ``harness.runtime.interpreter.play_run``'s (concurrency, rate, timeout, recovery, final, ...). The older
    form ``chaos_play(cluster, target, workload, ...)`` still works."""
    from harness.fixture_run import check_schedule
    from harness.loader import workload_of
    from harness.registry import Registries
    from harness.runtime.interpreter import play_run
    from harness.schedule import Schedule

    runs = _runs(request)

    def run(cluster: Any, *args: Any, **kw: Any) -> Any:
        settings = runs.clusters.get(getattr(cluster, "run_id", ""))
        target = kw.pop("target", None)
        workload = kw.pop("workload", None)
        if len(args) == 2:  # the older form: (cluster, target, workload)
            target, workload = args
        elif len(args) == 1:
            workload = args[0]
        elif args:
            raise TypeError("chaos_play(cluster, workload=None, **options)")
        if target is None:
            if settings is None:
                raise TypeError("chaos_play: pass target= for a cluster that chaos_cluster did not make")
            target = settings.target
        if workload is None:
            from harness.target import target_traits

            workload = target_traits(target).default_workload or target.name
        check_schedule(kw.get("faults"), cluster, float(kw.get("duration", 0)))
        history, played = play_run(cluster, target, workload, writer=chaos_recorder, **kw)
        if isinstance(workload, str):
            workload = workload_of(Registries(), workload, kw.get("options") or {})
        faults = kw.get("faults")
        defaults = getattr(workload, "checkers", None)  # a workload object may name no default checkers
        runs.played[id(history)] = _Played(
            history,
            played.final_from,
            len(faults.events) if isinstance(faults, Schedule) else None,
            {k: dict(v or {}) for k, v in defaults().items()} if callable(defaults) else {},
            {
                "seed": kw.get("seed"),
                "target": getattr(target, "name", None),
                "flags": sorted(settings.flags) if settings else [],
                "backend": cluster.backend.name if hasattr(cluster, "backend") else None,
                "nodes": list(cluster.nodes),
            },
        )
        return history

    return run


@pytest.fixture
def chaos_check(request: pytest.FixtureRequest) -> Callable[..., Any]:
    """``chaos_check(history, checkers=None, *, expect="valid", evidence=None)`` -> a ``Verdict``: the
    checkers (as an experiment's ``checkers:`` block; default: the played workload's) run on the history,
    weighed by the evidence and decided against ``expect`` as ``chaos run`` decides. A bundle with
    ``report.html`` is written under ``--chaos-out`` (reports/<test name>/), and the verdict, bundle and
    report are attached to the test's report (its output, and JUnit properties)."""
    from harness.evidence import Rules
    from harness.fixture_run import judge, write_bundle
    from harness.limits import NAME

    runs = _runs(request)

    def check(
        history: Any,
        checkers: Mapping[str, Any] | None = None,
        *,
        expect: str = "valid",
        evidence: Mapping[str, Any] | None = None,
    ) -> Any:
        played = runs.played.get(id(history))
        if checkers is None:
            if played is None:
                raise TypeError("chaos_check: name the checkers for a history chaos_play did not record")
            checkers = played.checkers
        rules = Rules.from_dict(evidence) if evidence is not None else Rules()
        verdict = judge(
            history,
            checkers,
            expect=expect,
            rules=rules,
            final_from=played.final_from if played else None,
            faults_planned=played.faults_planned if played else None,
        )
        name = "".join(c if c.isalnum() or c in "._-" else "-" for c in request.node.name).strip("-")
        name = name if NAME.fullmatch(name) else "pytest-run"
        verdict = write_bundle(
            Path(request.config.getoption("chaos_out")),
            name,
            history,
            verdict,
            played.about if played else {},
        )
        for key, value in (
            ("verdict", verdict.summary),
            ("bundle", verdict.bundle),
            ("report", verdict.report),
        ):
            request.node.user_properties.append((key, str(value)))
        request.node.add_report_section("call", "chaos verdict", str(verdict))
        return verdict

    return check
