"""Where state and shipped files are: a checkout's .chaos and scripts, an installed harness's per-user cache
and harness/shipped; and which versions a run records (harness.paths, harness.provenance)."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness import paths, provenance


def test_a_checkout_keeps_its_state_in_dot_chaos(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CHAOS_HOME", raising=False)
    assert paths.is_checkout()  # these tests run from the checkout
    assert paths.chaos_home() == paths.project_root() / ".chaos"
    assert paths.setup_script() == paths.project_root() / "scripts" / "setup"
    assert (paths.native_crate() / "Cargo.toml").is_file()


def test_an_installed_harness_uses_the_per_user_cache(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("CHAOS_HOME", raising=False)
    monkeypatch.setattr(paths, "is_checkout", lambda: False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert paths.chaos_home() == tmp_path / "cache" / "chaos-harness"
    assert paths.setup_script() == paths.SHIPPED / "setup"
    assert paths.native_library("libx.so") == tmp_path / "cache" / "chaos-harness" / "native" / "libx.so"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert paths.chaos_home() == tmp_path / ".cache" / "chaos-harness"
    monkeypatch.setenv("CHAOS_HOME", str(tmp_path / "elsewhere"))
    assert paths.chaos_home() == tmp_path / "elsewhere"


def test_the_sut_version_is_given_or_the_current_repositorys_commit(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(provenance.SUT_VERSION_ENV, "app-1.4.2")
    assert provenance.sut_version() == "app-1.4.2"
    monkeypatch.delenv(provenance.SUT_VERSION_ENV)
    monkeypatch.chdir(tmp_path)  # not a git work tree: nothing to record
    assert provenance.sut_version() is None


def test_chaos_setup_tells_the_script_what_is_installed(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import sys

    from harness.cli import setup

    monkeypatch.setenv("CHAOS_HOME", str(tmp_path))
    env = setup.environment()
    assert env["CHAOS_SETUP_PYTHON"] == sys.executable and env["CHAOS_HOME"] == str(tmp_path)
    assert "CHAOS_NATIVE_OUT" not in env  # a checkout builds into native/linsearch/target
    monkeypatch.setattr(setup, "is_checkout", lambda: False)
    monkeypatch.setattr(paths, "is_checkout", lambda: False)
    env = setup.environment(no_docker=True)
    assert env["CHAOS_NATIVE_OUT"] == str(tmp_path / "native") and env["CHAOS_NO_DOCKER"] == "1"
