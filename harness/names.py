"""The closed vocabularies several floors share, each defined once here and imported everywhere else.

These are words, not behaviour: the names of the cluster backends, the Toxiproxy toxic types with the
attributes each accepts, the name of the clients' end of a client link, and the classes of links. The
experiment schema (``harness/schema/experiment.schema.json``) and the target schema repeat some of them
because a published JSON Schema cannot import Python; ``tests/unit/test_names.py`` keeps those copies equal to
these.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

# Cluster backends (``harness.cluster``; registered through the entry-point group ``chaos_harness.backends``,
# so a plugin adds its own): the bundled ones, and ``auto``, which picks the first of ``AUTO_ORDER`` that is
# available (docker when an engine answers, else local).
DOCKER = "docker"
LOCAL = "local"
KUBERNETES = "kubernetes"
AUTO = "auto"
BACKENDS: tuple[str, ...] = (DOCKER, LOCAL, KUBERNETES)  # the bundled ones, as a declaration lists them
AUTO_ORDER: tuple[str, ...] = (DOCKER, LOCAL)  # what ``auto`` tries (kubernetes is asked for by name)
# A backend that gives nodes what docker gives them (an address of their own, real ports, peers dialled
# directly): a declaration written for docker runs on it unchanged, with docker's overrides.
LIKE: Mapping[str, str] = MappingProxyType({KUBERNETES: DOCKER})
BACKEND_CHOICES: tuple[str, ...] = (AUTO, *BACKENDS)  # the bundled choices (what editors complete)

# The source of the client -> node links (the harness's workers): a client link is ``(CLIENT, node)``.
CLIENT = "client"

# The classes of links a run may route through Toxiproxy proxies: node -> node, and client -> node.
PEERS = "peers"
CLIENTS = "clients"
ROUTES: tuple[str, ...] = (PEERS, CLIENTS)

# Toxiproxy toxic type -> the attributes it accepts (units as Toxiproxy's: ms, KB/s, bytes; slicer's delay in
# microseconds). ``timeout`` with ``timeout: 0`` holds all data: a blackhole.
TOXIC_ATTRIBUTES: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "latency": ("latency", "jitter"),
        "bandwidth": ("rate",),
        "slicer": ("average_size", "size_variation", "delay"),
        "reset_peer": ("timeout",),
        "limit_data": ("bytes",),
        "slow_close": ("delay",),
        "timeout": ("timeout",),
    }
)
TOXICS: tuple[str, ...] = tuple(TOXIC_ATTRIBUTES)

# The run interpreter numbers final-phase processes from concurrency * FINAL_PROCESS_BASE on (one per try), so
# a report can tell the final reads after the heal (p4000, p4001, ...) from the workers (p0, p1, ...).
FINAL_PROCESS_BASE = 1000
