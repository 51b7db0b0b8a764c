"""LocalSandbox: limits, timeouts, output cap, network isolation, clean environment (real processes)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from cargogym.sandbox.exec import ExecResult, Limits, LocalSandbox, SandboxError, make_sandbox


def _running(marker: str) -> list[int]:
    """Host pids of live (non-zombie) processes whose command line contains ``marker``."""
    out = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            if marker in (d / "cmdline").read_bytes().decode(errors="replace").replace("\0", " "):
                if (d / "stat").read_text().rsplit(")", 1)[1].split()[0] not in ("Z", "X"):
                    out.append(int(d.name))
        except OSError:
            continue
    return out


def _gone(marker: str) -> bool:
    for _ in range(50):
        if not _running(marker):
            return True
        time.sleep(0.02)
    return False


def test_runs_command_and_captures_both_streams(sb_local, tmp_path):
    r = sb_local.run(["sh", "-c", "echo out; echo err >&2; exit 3"], cwd=tmp_path)
    assert isinstance(r, ExecResult)
    assert (r.exit_code, r.stdout, r.stderr.strip(), r.timed_out, r.truncated) == (3, "out\n", "err", False, False)
    assert r.duration > 0


def test_environment_is_clean_and_cargo_home_isolated(sb_local, tmp_path, monkeypatch):
    monkeypatch.setenv("CARGOGYM_SECRET_TOKEN", "s3cret")
    r = sb_local.run(["env"], cwd=tmp_path, env={"EXTRA": "1"})
    env = dict(line.split("=", 1) for line in r.stdout.splitlines() if "=" in line)
    assert "CARGOGYM_SECRET_TOKEN" not in env
    assert env["EXTRA"] == "1"
    assert env["CARGO_NET_OFFLINE"] == "true"
    assert env["CARGO_HOME"] != str(Path.home() / ".cargo")
    assert sb_local.run(["cargo", "--version"], cwd=tmp_path).exit_code == 0  # toolchain still found


def test_timeout_kills_the_whole_process_group(sb_local, tmp_path):
    r = sb_local.run(["sh", "-c", "sleep 61.25 & sleep 61.5"], cwd=tmp_path, timeout=1.0)
    assert r.timed_out and r.exit_code is None
    assert "timed out" in r.stderr
    assert _gone("sleep 61.25") and _gone("sleep 61.5")


def test_processes_left_behind_are_killed_after_exit(sb_local, tmp_path):
    r = sb_local.run(["sh", "-c", "(setsid sleep 62.5 >/dev/null 2>&1 &) ; echo started"], cwd=tmp_path)
    assert r.exit_code == 0
    info = sb_local.info()
    if info["process_limit"].startswith("pids cgroup") or info["jailed"]:
        assert _gone("sleep 62.5")  # escaped its process group, not the cgroup / PID namespace


def test_output_is_capped_keeping_head_and_tail(tmp_path):
    with LocalSandbox(limits=Limits(output_limit=1000)) as sb:
        r = sb.run(["sh", "-c", "echo FIRST; head -c 5000000 /dev/zero | tr '\\0' x; echo; echo LAST"], cwd=tmp_path)
    assert r.truncated and r.exit_code == 0
    assert r.stdout.startswith("FIRST") and r.stdout.rstrip().endswith("LAST")
    assert "truncated by the sandbox" in r.stdout and len(r.stdout) < 2000


def test_rlimits_are_applied(sb_local, tmp_path):
    r = sb_local.run(["sh", "-c", "ulimit -v; ulimit -n; ulimit -t; ulimit -f"], cwd=tmp_path)
    lim = sb_local.limits
    v, n, t, f = r.stdout.split()
    assert int(v) == lim.address_space // 1024 and int(n) == lim.open_files and int(t) == lim.cpu_seconds
    assert int(f) * 512 == lim.file_size


def test_process_limit_stops_a_fork_storm(tmp_path):
    with LocalSandbox(limits=Limits(processes=20)) as sb:
        if not sb.info()["process_capped"]:
            pytest.skip(f"no process cap here: {sb.info()['process_limit']}")
        r = sb.run(["sh", "-c", "for i in $(seq 60); do sleep 5 & done 2>&1; echo spawned"], cwd=tmp_path, timeout=20)
    assert "fork" in (r.stdout + r.stderr).lower() or r.exit_code != 0


def test_network_namespace_is_reported_and_effective(sb_local, tmp_path):
    info = sb_local.info()
    assert isinstance(info["network_isolated"], bool) and info["network"]
    if not info["network_isolated"]:
        pytest.skip(f"kernel refused a network namespace: {info['network']}")
    r = sb_local.run(["cat", "/proc/net/dev"], cwd=tmp_path)
    ifaces = [ln.split(":")[0].strip() for ln in r.stdout.splitlines()[2:]]
    assert ifaces == ["lo"]
    r = sb_local.run(["readlink", "/proc/self/ns/net"], cwd=tmp_path)
    assert r.stdout.strip() != os.readlink("/proc/self/ns/net")  # not the host's namespace


@pytest.mark.parametrize("probe", ["no unshare", "unshare fails"])
def test_a_refused_network_namespace_is_reported_plainly(tmp_path, monkeypatch, probe):
    """Where util-linux is missing or the kernel refuses namespaces the sandbox still runs
    commands, on the host network, and says so (it must never claim an isolation it lacks)."""
    import shutil as real_shutil

    import cargogym.sandbox.exec as ex

    which = real_shutil.which
    fake = None if probe == "no unshare" else which("false")  # a real program that always fails
    monkeypatch.setattr(ex.shutil, "which", lambda name, *a, **k: fake if name == "unshare" else which(name, *a, **k))
    with LocalSandbox() as sb:
        info = sb.info()
        assert sb.network_isolated is False and info["network_isolated"] is False
        assert "NOT isolated" in info["network"], info["network"]
        r = sb.run(["readlink", "/proc/self/ns/net"], cwd=tmp_path)
    assert r.exit_code == 0 and r.stdout.strip() == os.readlink("/proc/self/ns/net")  # the host's own


def test_unknown_kind_and_closed_sandbox_are_clear_errors(tmp_path):
    with pytest.raises(SandboxError, match="unknown sandbox kind"):
        make_sandbox("vm")
    sb = make_sandbox("local")
    sb.close()
    with pytest.raises(SandboxError, match="closed"):
        sb.run(["true"], cwd=tmp_path)
