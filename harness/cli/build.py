"""``chaos build TARGET...``: build ahead the docker images targets declare, so a CI job or a first run does
not wait for them.

Each argument is a registered or declared target name (as an experiment's ``target.name``; ``DIST:NAME`` for
one of two distributions claiming a name) or a declaration file (``path/to/target.yaml``); ``--all`` builds
every registered target's images. Every build prints a line when it starts (with its log's path) and one per
Dockerfile step; an image already built (same content hash) is reported as such. Exit 0 when every image is
there, 3 for an unknown target or a bad declaration, 4 when Docker is unreachable or a build fails.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from harness.errors import EXIT_OK, BadInput


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("build", help="build the docker images of targets (names or target.yaml files)")
    p.add_argument("targets", nargs="*", metavar="TARGET", help="a target name or a declaration file")
    p.add_argument("--all", action="store_true", help="every registered target")
    p.set_defaults(func=handler)


def _target(ref: str, reg: Any) -> Any:
    from harness.declare.search import load_target, resolve_target

    if ref.endswith((".yaml", ".yml")) or Path(ref).is_file():
        return load_target(ref)
    return resolve_target(reg, ref)


def handler(args: argparse.Namespace) -> int:
    from harness.cluster import docker as dk
    from harness.registry import Registries
    from harness.target import ImageBuild, target_traits

    reg = Registries()
    refs = list(args.targets) + (reg.targets.names() if args.all else [])
    if not refs:
        raise BadInput("chaos build: name a target or a declaration file (or --all)")
    wanted: list[tuple[str, ImageBuild]] = []
    for ref in refs:
        obj = _target(ref, reg)
        images = list(target_traits(obj).images)
        if not images:
            print(f"{ref}: declares no image to build (it runs in the bundled target image or a named one)")
        wanted.extend((ref, i) for i in images)
    if not wanted:
        return EXIT_OK
    c = dk.client()
    try:
        print(f"target image: {dk.ensure_image(c)}")
        for ref, spec in wanted:
            print(f"{ref}: {dk.ensure_node_image(c, spec)}", flush=True)
    finally:
        c.close()
    return EXIT_OK
