"""Disk faults on nodes' data directories: a power loss dropping unsynced writes, a full disk, corrupt files.

- ``lose-unsynced`` (capability ``disk``): the nodes are killed (SIGKILL) and their disks lose power: every
  write since the last fsync / fdatasync of its file, and every create / rename / unlink since the last fsync
  of its directory, is taken back (``harness.cluster.fuselayer``: LazyFS's idea). At the end of the window the
  disks serve again and the nodes start. Listing several nodes is a correlated power loss (one rack).
- ``disk-full`` (capability ``disk``): writes to the nodes' data directories fail with ENOSPC for the window.
- ``corrupt`` (capability ``corrupt``): the nodes are stopped (gracefully: their files are complete), then one
  file of each -- ``file`` (a path inside the data directory, or a glob such as ``"*.log"``) chosen by
  ``seed`` among those matching -- gets ``bits`` bits flipped (``mode: flip``) or is cut short (``mode:
  truncate``) at seeded positions in the part ``within: [from, to]`` (fractions of its size); at the end of
  the window the nodes are started again. A node that then refuses to start stays down: the availability
  checker reports it (an availability finding, not a safety one).

Each records what it did (bytes and names lost, the file and the positions changed) in the nemesis op, so the
fault timeline and the report show it. Like ``kill``, ``lose-unsynced`` and ``corrupt`` take nodes down
(``takes_nodes_down``).
"""

from __future__ import annotations

import math
import random
import zlib
from collections.abc import Iterator, Mapping
from typing import Any

from harness.cluster.disklayer import CORRUPT, CORRUPT_MODES, DISK, DiskControl, FileCorruption, corrupt_file
from harness.errors import BadInput
from harness.faults.base import FaultContext, ParamError, check_nodes, drop_one, one_node_unless_named
from harness.faults.params import Param

NAME_MODES = ("strict", "journaled")
NODES_SCHEMA = {"type": "array", "items": {"type": "string"}, "minItems": 1, "maxItems": 32}
# the declarations the experiment schema is generated from (harness.faults.params); ``validate`` checks more
NODES = Param("nodes", "nodes", "The nodes whose disk fails (default: one node, picked by the seed).")
AMONG = Param("among", "any", "random: the nodes (or a role with fixed nodes) the seed picks from.")


def _ability(cluster: Any, protocol: type, capability: str) -> Any:
    backend = cluster.backend
    if not isinstance(backend, protocol):
        why = (getattr(cluster, "refusals", None) or {}).get(capability, "this backend cannot do it")
        raise BadInput(f"{capability}: {why}")
    return backend


class _NodeFault:
    name = ""
    capability = DISK
    network = False
    takes_nodes_down = False
    random_keys: tuple[str, ...] = ("among",)
    params_schema: dict[str, Any] = {"nodes": NODES_SCHEMA}
    parameters: tuple[Param, ...] = (NODES,)
    random_parameters: tuple[Param, ...] = (AMONG,)
    effect: str | None = None

    def validate(self, params: Mapping[str, Any], ctx: FaultContext) -> None:
        check_nodes(params, "nodes", ctx)
        check_nodes(params, "among", ctx)

    def random_params(self, rng: random.Random, ctx: FaultContext, spec: Mapping[str, Any]) -> dict[str, Any]:
        return one_node_unless_named(rng, ctx, spec)

    def nodes(self, params: Mapping[str, Any], ctx: FaultContext) -> frozenset[str]:
        return frozenset(params.get("nodes") or [])

    def smaller(self, params: Mapping[str, Any], ctx: FaultContext) -> Iterator[dict[str, Any]]:
        for fewer in drop_one(params.get("nodes") or []):
            yield {**params, "nodes": fewer}


class LoseUnsynced(_NodeFault):
    """``kind: lose-unsynced``: kill the nodes and drop what they had not synced; start them at the end.
    ``names: strict`` (default: a create, rename or unlink is durable once its directory is fsync'd, as POSIX
    promises) or ``journaled`` (any fsync also makes earlier name changes durable, as ext4 and XFS do)."""

    name = "lose-unsynced"
    description = "power loss: kill the nodes and drop every write they did not fsync (FUSE layer)"
    takes_nodes_down = True
    effect = "down"
    random_keys = ("among", "names")
    params_schema = {"nodes": NODES_SCHEMA, "names": {"enum": list(NAME_MODES)}}
    _NAMES = Param("names", "choice", "How directory changes are made durable.", choices=tuple(NAME_MODES))
    parameters = (NODES, _NAMES)
    random_parameters = (AMONG, _NAMES)

    def validate(self, params: Mapping[str, Any], ctx: FaultContext) -> None:
        super().validate(params, ctx)
        if params.get("names", "strict") not in NAME_MODES:
            raise ParamError(("names",), f"names: strict or journaled, got {params.get('names')!r}")

    def start(self, cluster: Any, params: Mapping[str, Any]) -> dict[str, Any]:
        disks = _ability(cluster, DiskControl, DISK)
        lost: dict[str, Any] = {}
        for n in params["nodes"]:
            cluster.kill(n)
        for n in params["nodes"]:  # every node is down before any disk loses power (one power cut)
            got = disks.lose_unsynced(n, params.get("names", "strict"))
            lost[n] = {k: v for k, v in got.items() if k in ("files", "names", "bytes")}
        return {"lost": lost}

    def stop(self, cluster: Any, params: Mapping[str, Any]) -> None:
        disks = _ability(cluster, DiskControl, DISK)
        for n in params["nodes"]:
            disks.power_on(n)
            cluster.start(n)


class DiskFull(_NodeFault):
    """``kind: disk-full``: writes to the nodes' data directories fail with ENOSPC for the window."""

    name = "disk-full"
    description = "writes to the nodes' data directories fail with ENOSPC for the window (FUSE layer)"

    def start(self, cluster: Any, params: Mapping[str, Any]) -> dict[str, Any]:
        disks = _ability(cluster, DiskControl, DISK)
        for n in params["nodes"]:
            disks.disk_full(n, True)
        return {}

    def stop(self, cluster: Any, params: Mapping[str, Any]) -> None:
        disks = _ability(cluster, DiskControl, DISK)
        for n in params["nodes"]:
            disks.disk_full(n, False)


class Corrupt(_NodeFault):
    """``kind: corrupt``: stop the nodes, corrupt one seeded file of each, start them at the end."""

    name = "corrupt"
    description = "stop the nodes, flip bits in or truncate one seeded file of each, start them at the end"
    capability = CORRUPT
    takes_nodes_down = True
    effect = "down"
    random_keys = ("among", "file", "mode", "bits", "within")
    _OWN = (
        Param("file", "string", "A path or glob inside the node's data directory.", True),
        Param("mode", "choice", "Flip bits or truncate.", choices=tuple(CORRUPT_MODES)),
        Param("bits", "integer", "How many bits to flip.", minimum=1, maximum=4096),
        Param("within", "any", "The part [from, to] (fractions of the file) to corrupt."),
    )
    parameters = (
        NODES,
        *_OWN,
        Param("seed", "integer", "The corruption's own seed.", minimum=0, maximum=2**31 - 1),
    )
    random_parameters = (AMONG, *_OWN)
    params_schema = {
        "nodes": NODES_SCHEMA,
        "file": {"type": "string", "minLength": 1, "maxLength": 512},
        "mode": {"enum": list(CORRUPT_MODES)},
        "bits": {"type": "integer", "minimum": 1, "maximum": 4096},
        "within": {"type": "array", "items": {"type": "number", "minimum": 0, "maximum": 1}, "minItems": 2},
        "seed": {"type": "integer", "minimum": 0, "maximum": 2**31 - 1},
    }

    def validate(self, params: Mapping[str, Any], ctx: FaultContext) -> None:
        super().validate(params, ctx)
        f = params.get("file")
        if not isinstance(f, str) or not f or len(f) > 512 or f.startswith("/") or ".." in f.split("/"):
            raise ParamError(("file",), f"file: a path or glob inside the node's data directory, got {f!r}")
        if params.get("mode", "flip") not in CORRUPT_MODES:
            modes = ", ".join(CORRUPT_MODES)
            raise ParamError(("mode",), f"mode: one of {modes}, got {params.get('mode')!r}")
        bits = params.get("bits", 1)
        if isinstance(bits, bool) or not isinstance(bits, int) or not 1 <= bits <= 4096:
            raise ParamError(("bits",), f"bits: a whole number 1 to 4096, got {bits!r}")
        within = params.get("within", [0, 1])
        ok = isinstance(within, list) and len(within) == 2
        ok = ok and all(
            isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x) for x in within
        )
        if not ok or not 0 <= within[0] < within[1] <= 1:
            raise ParamError(("within",), f"within: [from, to] with 0 <= from < to <= 1, got {within!r}")
        seed = params.get("seed", 0)
        if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**31:
            raise ParamError(("seed",), f"seed: a whole number 0 to 2147483647, got {seed!r}")

    def random_params(self, rng: random.Random, ctx: FaultContext, spec: Mapping[str, Any]) -> dict[str, Any]:
        out = super().random_params(rng, ctx, spec)
        out.setdefault("seed", rng.randrange(2**31))
        return out

    def _seed(self, params: Mapping[str, Any], node: str) -> int:
        """The step's seed, else one derived from the step itself (the same step corrupts the same bytes)."""
        base = params.get("seed")
        if base is None:
            base = zlib.crc32(repr(sorted((k, repr(v)) for k, v in params.items())).encode())
        return (int(base) + zlib.crc32(node.encode())) % 2**31

    def start(self, cluster: Any, params: Mapping[str, Any]) -> dict[str, Any]:
        files = _ability(cluster, FileCorruption, CORRUPT)
        done = {}
        for n in params["nodes"]:
            cluster.stop(n)
            within = params.get("within", [0, 1])
            done[n] = corrupt_file(
                files.data_files(n),
                params["file"],
                params.get("mode", "flip"),
                self._seed(params, n),
                int(params.get("bits", 1)),
                (float(within[0]), float(within[1])),
            )
        return {"corrupted": done}

    def stop(self, cluster: Any, params: Mapping[str, Any]) -> None:
        for n in params["nodes"]:
            cluster.start(n)  # it may not come up: that is what the run shows


DISK_FAULTS: tuple[type[_NodeFault], ...] = (LoseUnsynced, DiskFull, Corrupt)
DOWN_KINDS = frozenset(k.name for k in DISK_FAULTS if k.takes_nodes_down)  # the report draws them as down
