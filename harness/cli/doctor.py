"""``chaos doctor``: what is ready and what is missing, line by line, with the fix for each missing piece.

It also lists what is registered: targets (Python ones and declared ones, with their declaration files),
workloads, checkers, fault kinds and backends. ``--smoke BACKEND`` also brings up a 3-node echo cluster on
that backend, probes it through the mesh, partitions and heals it, and prints the timings (it is the quickest
end-to-end check of a machine).
Exit code 0 when the required pieces are there, otherwise the ``InfrastructureError`` code.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time

from harness.cluster.backends import backend_names, check_backend
from harness.cluster.rundir import chaos_home
from harness.cluster.toxiproxy_server import find_toxiproxy
from harness.errors import EXIT_OK, BadInput, InfrastructureError
from harness.paths import SETUP_HINT
from harness.target import Completion, target_traits

SETUP = SETUP_HINT  # "run scripts/setup" in a checkout, "run chaos setup" for an installed harness


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("doctor", help="report what is ready and what is missing, and how to fix it")
    p.add_argument(
        "--smoke",
        metavar="BACKEND",
        help="also run a 3-node echo cluster on a backend (local, docker, auto or a plugin's)",
    )
    p.add_argument(
        "--base-port",
        type=int,
        metavar="PORT",
        help="with --smoke local: use consecutive fixed ports from PORT instead of free ones",
    )
    p.set_defaults(func=handler)


def clock_disk_checks() -> list[tuple[bool, bool, str, str]]:
    """Whether this machine can run clock faults (libfaketime) and disk faults (the FUSE layer)."""
    from harness.cluster.disklayer import fuse_refusal
    from harness.cluster.fakeclock import libfaketime_path

    lib = libfaketime_path()
    clock = f"libfaketime {lib} (local, docker; Go and static programs refused per node)" if lib else (
        f"libfaketime not installed: clock-skew, clock-jump, clock-strobe refused; {SETUP}"
    )
    why = fuse_refusal()
    disk = "FUSE layer ready (local, docker): lose-unsynced, disk-full" if why is None else (
        f"{why}: lose-unsynced and disk-full refused (corrupt still works); {SETUP}"
    )
    return [(lib is not None, False, "clock faults", clock), (why is None, False, "disk faults", disk)]


def checks() -> list[tuple[bool, bool, str, str]]:
    """(ok, required, what, detail-or-fix) for every piece the harness uses."""
    out: list[tuple[bool, bool, str, str]] = []
    py_ok = sys.version_info >= (3, 11)
    out.append((py_ok, True, "python", sys.version.split()[0] if py_ok else "needs 3.11+; " + SETUP))
    tp = find_toxiproxy()
    out.append((tp is not None, True, "toxiproxy-server", str(tp) if tp else f"not found; {SETUP}"))
    from harness.cluster import docker as dk

    reachable = dk.docker_reachable()
    out.append((reachable, False, "docker engine", "reachable" if reachable else f"not reachable; {SETUP}"))
    if reachable:
        c = dk.client()
        try:
            base = dk.base_image(c)
            out.append((True, False, "base image", ", ".join(base.tags) or base.id[:19]))
            from harness.cluster import image

            if tp is not None:
                tag = f"{image.REPO}:{image.content_hash(base.id, tp)}"
                have = bool(c.images.list(name=tag))
                out.append((have, False, "target image", tag if have else f"{tag} not built; {SETUP}"))
            for name, spec in dk.declared_images():  # images that declared targets build from the base
                tag = f"{image.NODE_REPO}:{image.build_hash(base.id, spec)}"
                have = bool(c.images.list(name=tag))
                what = f"{tag} ({' '.join(spec.packages)})"
                out.append((have, False, f"{name} image", what if have else f"{what} not built; {SETUP}"))
        except InfrastructureError as e:
            out.append((False, False, "base image", str(e)))
        finally:
            c.close()
    from harness.cluster import kubernetes as kube

    kube_ok, kube_how = kube.cluster_summary()  # the kubernetes backend's cluster (optional)
    out.append((kube_ok, False, "kubernetes cluster", kube_how))
    from harness.net.netem import probe_host

    netem_ok, how = probe_host()  # packet-level delay/jitter/duplicate/reorder faults need sch_netem
    out.append((bool(netem_ok), False, "netem", how))
    out.extend(clock_disk_checks())
    browser = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    out.append((bool(browser), False, "chromium", browser or f"not found (report browser test); {SETUP}"))
    from harness.checkers import native

    why = native.why_unavailable()
    out.append((
        why is None, False, "checker native core",
        "built (linearizability search in Rust)" if why is None
        else f"{why}; the pure-Python search is used (same verdicts, slower)",
    ))  # fmt: skip
    home = chaos_home()
    out.append((True, False, "state dir", str(home)))
    return out


def registered() -> list[tuple[str, str]]:
    """(registry, one line listing its names) for targets (with where each declared one comes from),
    workloads, checkers and fault kinds; a target that cannot be loaded is listed with why."""
    from harness.declare.search import PATH_VAR, on_search_path
    from harness.registry import Registries

    reg = Registries()
    targets = []
    for name in reg.targets.names():
        try:
            obj = reg.target(name)
        except (BadInput, InfrastructureError) as e:
            targets.append(f"{name} (broken: {e})")
            continue
        decl = target_traits(obj).declaration
        targets.append(f"{name} (declared: {decl})" if decl else name)
    for name, path in sorted(on_search_path().items()):
        if name not in reg.targets:
            targets.append(f"{name} (declared: {path}, on {PATH_VAR})")
    return [
        ("targets", ", ".join(targets) or "(none)"),
        ("workloads", ", ".join(reg.workloads.names()) or "(none)"),
        ("checkers", ", ".join(reg.checkers.names()) or "(none)"),
        ("fault kinds", ", ".join(reg.faults.names()) or "(none)"),
        ("backends", ", ".join(backend_names()) or "(none)"),
    ]


def _reached(out: Completion) -> bool:
    return out.type == "ok" and isinstance(out.value, dict) and bool(out.value.get("reached"))


def smoke(backend: str, base_port: int | None) -> None:
    from chaos_targets.echo.target import EchoTarget
    from harness.net.grudge import isolate
    from harness.platform import open_cluster

    target = EchoTarget()
    t0 = time.monotonic()
    with open_cluster(target, nodes=3, backend=backend, base_port=base_port) as cluster:
        cluster.wait_ready(timeout=30)
        up = time.monotonic() - t0
        client = target.client(cluster.client_addrs, 0, timeout=2.0)
        ok = all(
            _reached(client.invoke("probe", [a, b])) for a in cluster.nodes for b in cluster.nodes if a != b
        )
        t1 = time.monotonic()
        cluster.net.partition(isolate(cluster.nodes, "n1"), mode="refuse")
        cut = not _reached(client.invoke("probe", ["n1", "n2"]))
        cluster.net.heal()
        fault = time.monotonic() - t1
        be = cluster.backend.name
    if not (ok and cut):
        raise InfrastructureError(
            f"smoke on {be}: mesh probes wrong (all reachable={ok}, partition cut={cut})"
        )
    print(f"ok      smoke {be}: 3 nodes up in {up:.2f} s; partition + probe + heal in {fault:.3f} s")


def handler(args: argparse.Namespace) -> int:
    if args.smoke is not None:
        check_backend(args.smoke, "--smoke")
    missing_required = False
    for ok, required, what, detail in checks():
        tag = "ok" if ok else ("MISSING" if required else "missing")
        print(f"{tag:<8}{what}: {detail}")
        missing_required |= required and not ok
    for what, names in registered():
        print(f"{'ok':<8}{what}: {names}")
    if args.smoke:
        smoke(args.smoke, args.base_port)
    if missing_required:
        raise InfrastructureError(f"required pieces are missing (see above); {SETUP}")
    return EXIT_OK
