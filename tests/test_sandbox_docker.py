"""Docker backend against a real engine (skipped, with the reason, when none is running)."""

from __future__ import annotations

import shutil

import pytest

from cargogym.sandbox.exec import SandboxError, make_sandbox


def _engine_reason() -> str | None:
    try:
        from cargogym.sandbox.docker_backend import docker_client

        docker_client(timeout=3).close()
        return None
    except SandboxError as e:
        return str(e)


_REASON = _engine_reason()
pytestmark = [pytest.mark.docker,
              pytest.mark.skipif(_REASON is not None, reason=f"no Docker engine: {_REASON}"),
              pytest.mark.skipif(shutil.which("cargo") is None, reason="cargo not on PATH")]


@pytest.fixture(scope="module")
def docker_sb():
    sb = make_sandbox("docker")
    yield sb
    sb.close()


def test_container_is_locked_down(docker_sb, tmp_path):
    info = docker_sb.info()
    assert info["network_isolated"] and info["read_only_root"]
    r = docker_sb.run(["sh", "-c", "cat /proc/net/dev | tail -n +3 | cut -d: -f1; touch /etc/pwned; echo rc=$?"], "/tmp")
    assert r.stdout.split()[0] == "lo" and "rc=1" in r.stdout and "Read-only" in r.stderr
    r = docker_sb.run(["sh", "-c", "exit 7"], "/tmp")
    assert r.exit_code == 7 and not r.timed_out


def test_timeout_and_leftovers_are_killed(docker_sb):
    r = docker_sb.run(["sh", "-c", "sleep 63.5 & sleep 64.5"], "/tmp", timeout=1.0)
    assert r.timed_out and r.exit_code is None and "timed out" in r.stderr
    ps = docker_sb.container.top()["Processes"]
    assert not any("63.5" in " ".join(p) for p in ps), ps


def test_output_cap(docker_sb):
    from cargogym.sandbox.exec import Limits

    r = docker_sb.run(["sh", "-c", "head -c 6000000 /dev/zero | tr '\\0' y"], "/tmp")
    assert r.truncated and len(r.stdout) <= docker_sb.limits.output_limit + 200


def test_cargo_tests_and_grading_in_an_overlay_workspace(docker_sb, sb_minicrate_task):
    from cargogym.rewards.grading import grade
    from cargogym.sandbox.cargo import run_cargo_tests
    from cargogym.sandbox.workspace import WorkspaceManager

    m = WorkspaceManager()
    try:
        ws = m.create(sb_minicrate_task)
        run = run_cargo_tests(docker_sb, ws.path, timeout=300)
        assert run.valid and run.tests["lib::math::tests::adds_small_numbers"] == "failed", run.problems
        ws.apply_patch(sb_minicrate_task.patch)
        report = grade(sb_minicrate_task, ws, docker_sb, clippy=False)
        assert report.resolution == "FULL", report.summary()
    finally:
        m.close()
