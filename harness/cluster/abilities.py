"""What the ``local`` and ``docker`` backends share to offer clock and disk faults: ``HostAbilities``.

Both run the mechanisms on the host (``fakeclock.FakeClocks``: the offset files; ``disklayer.LayerProcess``:
one FUSE layer per node) and differ only in how a node is started with them. This mixin holds the state and
the ``ClockControl`` / ``DiskControl`` methods; a backend sets ``_clocks`` and ``_layers`` as it prepares and
starts its nodes, and records in ``_why`` why an ability it was asked for could not be set up.
"""

from __future__ import annotations

from typing import Any

from harness.cluster.disklayer import DISK, LayerProcess, fuse_refusal
from harness.cluster.fakeclock import CLOCK, FakeClocks
from harness.errors import InfrastructureError


class HostAbilities:
    _clocks: FakeClocks | None
    _layers: dict[str, LayerProcess]
    _why: dict[str, str]

    def _init_abilities(self) -> None:
        self._clocks = None
        self._layers = {}
        self._why = {}

    def running(self, node: str) -> bool:  # provided by the backend
        raise NotImplementedError

    def unprepared(self) -> dict[str, str]:
        return dict(self._why)

    def _prepare_disk(self) -> bool:
        """Whether this machine can put the disk fault layer under a node (else why is noted)."""
        why = fuse_refusal()
        if why is not None:
            self._why[DISK] = why
        return why is None

    def _clock(self) -> FakeClocks:
        if self._clocks is None:
            raise InfrastructureError(
                "clock faults: this run's nodes were not started under libfaketime "
                f"({self._why.get(CLOCK, 'the run did not ask for clock faults')})"
            )
        return self._clocks

    def set_clock(self, node: str, offset_ms: float) -> None:
        self._clock().set(node, offset_ms)

    def clock_offset(self, node: str) -> float:
        return self._clock().offset(node)

    def strobe_clock(self, node: str, offsets_ms: tuple[float, float], period_ms: float) -> None:
        self._clock().strobe(node, offsets_ms, period_ms)

    def reset_clock(self, node: str) -> None:
        self._clock().reset(node)

    def _layer(self, node: str) -> LayerProcess:
        if node not in self._layers:
            raise InfrastructureError(
                f"disk faults: node {node}'s data directory has no fault layer "
                f"({self._why.get(DISK, 'the run did not ask for disk faults')})"
            )
        return self._layers[node]

    def lose_unsynced(self, node: str, names: str = "strict") -> dict[str, Any]:
        if self.running(node):
            raise InfrastructureError(f"lose-unsynced: node {node} must be killed first")
        return self._layer(node).call(f"lose {names}")

    def power_on(self, node: str) -> None:
        self._layer(node).call("on")

    def disk_full(self, node: str, full: bool) -> None:
        self._layer(node).call("full on" if full else "full off")

    def _close_abilities(self) -> None:
        """Real time again (strobes stopped); then, once the nodes are gone, every layer unmounted."""
        if self._clocks is not None:
            self._clocks.reset_all()

    def _unmount_layers(self) -> None:
        for layer in self._layers.values():
            layer.stop()
        self._layers.clear()
