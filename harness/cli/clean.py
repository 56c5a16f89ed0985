"""``chaos clean``: remove what runs killed outright left behind (subprocesses by pid file, containers and
networks by label). Runs whose runner is still alive are left alone unless ``--run`` names them."""

from __future__ import annotations

import argparse

from harness.cluster.rundir import RunDir, all_runs, chaos_home, check_run_id
from harness.errors import EXIT_OK, InfrastructureError


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("clean", help="remove leftovers (processes, containers, networks) of killed runs")
    p.add_argument("--run", help="only this run id (also when its runner still looks alive)")
    p.add_argument("--no-docker", action="store_true", help="do not look for containers and networks")
    p.add_argument("--images", action="store_true", help="also remove unused, outdated target images")
    p.set_defaults(func=handler)


def clean(run_id: str | None = None, docker: bool = True, images: bool = False) -> list[str]:
    """Remove leftovers; returns one line per thing removed."""
    done: list[str] = []
    runs = [RunDir(run_id, chaos_home() / "runs" / run_id)] if run_id else all_runs()
    stale = set()
    for run in runs:
        if run_id is None and run.owner_alive():
            continue
        stale.add(run.run_id)
        for pid in run.kill_recorded():
            done.append(f"process {pid} of run {run.run_id}")
        if run.path.exists():
            run.remove()
            done.append(f"run directory {run.path}")
    if docker:
        from harness.cluster import docker as dk

        if dk.docker_reachable():
            labelled = dk.labelled_runs()
            live = {r.run_id for r in all_runs() if r.owner_alive()}
            targets = {run_id} & labelled if run_id else labelled - (live - stale)
            for rid in sorted(targets):
                done.extend(f"{what} of run {rid}" for what in dk.remove_labelled(rid))
            if images:
                done.extend(dk.prune_images())
    return done


def handler(args: argparse.Namespace) -> int:
    run_id = check_run_id(args.run) if args.run else None
    try:
        removed = clean(run_id, docker=not args.no_docker, images=args.images)
    except OSError as e:
        raise InfrastructureError(f"clean: {e}") from None
    for line in removed:
        print(f"removed {line}")
    if not removed:
        print("nothing to clean")
    return EXIT_OK
