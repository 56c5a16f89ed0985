"""Signals: the first SIGINT / SIGTERM raises once; later ones and those inside a shield never cut the
cleanup short; a signal noted inside a shield is raised when the shield ends."""

from __future__ import annotations

import os
import signal
import time

import pytest

from harness.interrupts import interrupted, shielded, trapped


def send(sig: int) -> None:
    os.kill(os.getpid(), sig)
    time.sleep(0.05)  # the handler runs between bytecodes of the main thread


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_the_first_signal_raises_and_the_second_does_not_cut_the_cleanup(sig: int) -> None:
    cleaned = []
    with pytest.raises(KeyboardInterrupt), trapped():
        try:
            send(sig)
            pytest.fail("the first signal should have raised")
        finally:
            send(signal.SIGTERM)  # during the unwinding: only noted
            send(signal.SIGINT)
            cleaned.append("all of it")
    assert cleaned == ["all of it"]
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # restored


def test_a_signal_inside_a_shield_is_raised_when_the_shield_ends() -> None:
    steps = []
    with pytest.raises(KeyboardInterrupt), trapped():
        with shielded():
            send(signal.SIGTERM)
            steps.append("after the signal")
            send(signal.SIGTERM)  # a second one while shielded: still only noted
            steps.append("after the second")
            assert interrupted()
        steps.append("never")
    assert steps == ["after the signal", "after the second"]


def test_a_shield_outside_any_trap_still_defers_the_signal() -> None:
    old = signal.getsignal(signal.SIGINT)
    done = []
    with pytest.raises(KeyboardInterrupt):
        with shielded():
            send(signal.SIGINT)
            done.append("cleanup finished")
    assert done == ["cleanup finished"]
    assert signal.getsignal(signal.SIGINT) is old


def test_an_error_unwinding_through_a_shield_is_not_replaced() -> None:
    with pytest.raises(ValueError), trapped(), shielded():
        send(signal.SIGTERM)
        raise ValueError("the original error")


def test_no_signal_no_interrupt() -> None:
    with trapped(), shielded():
        pass
    assert not interrupted()
