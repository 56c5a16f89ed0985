"""``chaos clean``: remove what runs killed outright left behind (subprocesses by pid file, containers and
networks by label, Kubernetes namespaces by label), from whichever checkout they came, and mark their bundles
``killed``.

A run is removed by an unscoped ``chaos clean`` only when its owner is positively gone
(``harness.cluster.owner``): the owner record in its run directory (this ``CHAOS_HOME``) or in its engine
labels says so, on this host and boot. A labelled run with no owner labels (made by an older checkout) counts
as live unless its run directory, in this home or in a home another run's labels name, says its owner is dead.
``--run ID`` removes that one run whatever its owner.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from harness.cluster.owner import Owner, mark_killed, stale_bundles
from harness.cluster.rundir import RunDir, all_runs, chaos_home, check_run_id
from harness.errors import EXIT_OK, InfrastructureError


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("clean", help="remove leftovers (processes, containers, networks) of killed runs")
    p.add_argument("--run", help="only this run id (also when its runner still looks alive)")
    p.add_argument(
        "--no-docker",
        action="store_true",
        help="only local leftovers (processes, run directories): do not ask a Docker engine for containers "
        "and networks (e.g. where none runs)",
    )
    p.add_argument(
        "--no-kubernetes",
        action="store_true",
        help="do not look for the runs' namespaces on a Kubernetes cluster",
    )
    p.add_argument("--images", action="store_true", help="also remove unused, outdated target images")
    p.set_defaults(func=handler)


def _remove_dir(run: RunDir, done: list[str]) -> None:
    owner = run.owner()
    for pid in run.kill_recorded():
        done.append(f"process {pid} of run {run.run_id}")
    if owner is not None and mark_killed(owner.bundle):
        done.append(f"bundle {owner.bundle} of run {run.run_id} marked killed")
    for point in run.unmount():
        done.append(f"mount {point} of run {run.run_id}")
    if run.path.exists():
        run.remove()
        done.append(f"run directory {run.path}")


def _dead_labelled(run_id: str, owner: Owner | None, homes: set[Path]) -> RunDir | None | bool:
    """Whether a labelled run's owner is certainly gone: by its labels (True / False), else by a run
    directory in one of ``homes`` that says so (that directory), else False (counts as live)."""
    if owner is not None:
        return owner.alive() is False
    for home in homes:
        run = RunDir(run_id, home / "runs" / run_id)
        if run.path.is_dir() and run.owner() is not None and not run.owner_alive():
            return run
    return False


def _clean_labelled(dk: Any, run_id: str | None, stale: set[str], home: Path, done: list[str]) -> None:
    """Containers and networks: ``run_id``'s, else those of stale runs and of runs whose owner is gone."""
    labelled = dk.labelled_runs()  # run id -> its owner from the labels (None: an older checkout's run)
    homes = {home.resolve(), *(Path(o.home) for o in labelled.values() if o is not None and o.home)}
    dead = {} if run_id else {r: _dead_labelled(r, o, homes) for r, o in labelled.items() if r not in stale}
    targets = {run_id} & set(labelled) if run_id else {r for r in labelled if r in stale or dead.get(r)}
    for rid in sorted(targets):
        done.extend(f"{what} of run {rid}" for what in dk.remove_labelled(rid))
        found = dead.get(rid)
        if isinstance(found, RunDir):  # an older checkout's run, judged dead by its run directory
            _remove_dir(found, done)
        owner = labelled.get(rid)
        if owner is not None and rid not in stale:
            if mark_killed(owner.bundle):
                done.append(f"bundle {owner.bundle} of run {rid} marked killed")
            other = RunDir(rid, Path(owner.home) / "runs" / rid) if owner.home else None
            if other is not None and other.path.is_dir() and not other.owner_alive():
                _remove_dir(other, done)


def clean(
    run_id: str | None = None, docker: bool = True, images: bool = False, kubernetes: bool = True
) -> list[str]:
    """Remove leftovers; returns one line per thing removed (see the module docstring)."""
    done: list[str] = []
    home = chaos_home()
    runs = [RunDir(run_id, home / "runs" / run_id)] if run_id else all_runs()
    stale: set[str] = set()
    for run in runs:
        if run_id is None and run.owner_alive():
            continue
        stale.add(run.run_id)
        _remove_dir(run, done)
    if run_id is None:  # runners killed after their cluster was gone (checking, rendering)
        for entry, owner in stale_bundles(home):
            if mark_killed(owner.bundle):
                done.append(f"bundle {owner.bundle} marked killed")
            entry.unlink(missing_ok=True)
    if docker:
        from harness.cluster import docker as dk

        if dk.docker_reachable():
            _clean_labelled(dk, run_id, stale, home, done)
            if images:
                done.extend(dk.prune_images())
    if kubernetes:
        from harness.cluster import kubernetes as kube

        if kube.kubeconfig_path() is not None and kube.kube_reachable():
            _clean_labelled(kube, run_id, stale, home, done)
    return done


def handler(args: argparse.Namespace) -> int:
    run_id = check_run_id(args.run) if args.run else None
    try:
        removed = clean(
            run_id, docker=not args.no_docker, images=args.images, kubernetes=not args.no_kubernetes
        )
    except OSError as e:
        raise InfrastructureError(f"clean: {e}") from None
    for line in removed:
        print(f"removed {line}")
    if not removed:
        print("nothing to clean")
    return EXIT_OK
