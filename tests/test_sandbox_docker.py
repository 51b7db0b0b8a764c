"""Docker backend against a real engine (skipped, with the reason, when none is running)."""

from __future__ import annotations

import os
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


def test_each_command_starts_with_a_clean_tmp_and_cargo_home(docker_sb):
    r = docker_sb.run(["sh", "-c", "touch /tmp/left; echo x >> /tmp/cargo-home/config.toml; mkdir -p /tmp/cargo-home/bin"], "/tmp")
    assert r.exit_code == 0, r.stderr
    r = docker_sb.run(["sh", "-c", "ls -A /tmp; echo ---; ls -A /tmp/cargo-home; cat /tmp/cargo-home/config.toml"], "/tmp")
    assert r.stdout.split("---")[0].split() == ["cargo-home"]
    assert r.stdout.split("---")[1].split()[0] == "config.toml" and "\nx" not in r.stdout and "bin" not in r.stdout


def test_test_time_code_cannot_write_outside_its_workspace_or_plant_cargo_config(docker_sb, sb_minicrate_task):
    """A build script (it runs at every build) plants a cargo config with a rustc wrapper in
    every folder above the workspace, in /dev/shm, /dev, /tmp and CARGO_HOME, and appends to
    another workspace's source. Nothing reaches the host or another workspace, the next command
    in the same workspace builds normally, and the gold patch still grades FULL."""
    from cargogym.rewards.grading import grade
    from cargogym.sandbox.cargo import run_cargo_tests
    from cargogym.sandbox.workspace import WorkspaceManager

    m = WorkspaceManager()
    try:
        ws = m.create(sb_minicrate_task)
        other = m.create(sb_minicrate_task)  # another episode's workspace (or a grading copy)
        other_lib = other.read_text("src/lib.rs")
        plant = ", ".join(f'"{d}"' for d in ("..", "../..", "../../..", "../../../..", "/dev/shm", "/dev", "/tmp"))
        ws.write_text("build.rs", (
            "use std::io::Write;\nfn main() {\n"
            '    let cfg = "[build]\\nrustc-wrapper = \\"/bin/false\\"\\n";\n'
            f"    for d in [{plant}] {{\n"
            '        let _ = std::fs::create_dir_all(format!("{d}/.cargo"));\n'
            '        let _ = std::fs::write(format!("{d}/.cargo/config.toml"), cfg);\n    }\n'
            '    let _ = std::fs::write("/tmp/cargo-home/config.toml", cfg);\n'
            f'    if let Ok(mut f) = std::fs::OpenOptions::new().append(true).open("{other.path}/src/lib.rs") {{\n'
            '        let _ = f.write_all(b"\\ncompile_error!(\\"pwned\\");\\n");\n    }\n'
            '    println!("cargo:rerun-if-changed=always-rerun");\n}\n'))
        first = run_cargo_tests(docker_sb, ws.path, timeout=300)
        assert first.build_ok, first.build_errors
        planted = [p / ".cargo" for p in (ws.path.parent, m.root, m.root.parent, m.root.parent.parent)]
        assert [p for p in planted if p.exists()] == []
        assert other.read_text("src/lib.rs") == other_lib
        again = run_cargo_tests(docker_sb, ws.path, timeout=300)  # same container, next command
        assert again.build_ok and again.tests["lib::math::tests::adds_small_numbers"] == "failed", again.build_errors
        other.apply_patch(sb_minicrate_task.patch)
        report = grade(sb_minicrate_task, other, docker_sb, clippy=False)
        assert report.resolution == "FULL" and report.valid, report.summary()
    finally:
        m.close()


def test_a_new_workspace_at_a_reused_path_is_bound_afresh(docker_sb, tmp_path):
    d = tmp_path / "crate"
    d.mkdir()
    (d / "f").write_text("first")
    assert docker_sb.run(["cat", "f"], d).stdout == "first"
    os.rename(d, tmp_path / "old")
    d.mkdir()
    (d / "f").write_text("second")
    assert docker_sb.run(["cat", "f"], d).stdout == "second"
