"""Workspaces: broken state materialised on a pre-built pristine copy, independent, cleaned up."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from cargogym.sandbox.cargo import run_cargo_tests
from cargogym.sandbox.workspace import WorkspaceManager, default_parent, mounts_under

pytestmark = pytest.mark.skipif(__import__("shutil").which("cargo") is None, reason="cargo not on PATH")


def test_create_materialises_broken_state_without_git_and_prebuilt(sb_workspaces, sb_minicrate_task, sb_local):
    ws = sb_workspaces.create(sb_minicrate_task)
    try:
        assert "a - b" in ws.read_text("src/math.rs")
        assert not (ws.path / ".git").exists()
        assert (ws.path / "target" / "debug").is_dir()  # pre-built
        assert "target/debug" not in " ".join(ws.list_files())
        assert set(ws.list_files("src")) >= {"src/lib.rs", "src/math.rs", "src/text.rs"}
        assert ws.snapshot() == {}
        run = run_cargo_tests(sb_local, ws.path)
        assert run.valid and run.tests["lib::math::tests::adds_small_numbers"] == "failed"
        # only the crate itself is rebuilt: no dependency, nothing cold
        assert "Compiling" not in run.build.stderr or "minicrate" in run.build.stderr
    finally:
        ws.close()


def test_workspaces_are_independent_and_pristine_is_untouched(sb_workspaces, sb_minicrate_task):
    a = sb_workspaces.create(sb_minicrate_task)
    b = sb_workspaces.create(sb_minicrate_task)
    try:
        a.write_text("src/math.rs", a.read_text("src/math.rs").replace("a - b", "a + b"))
        (a.path / "target" / "debug" / "scribble").write_text("x")
        assert "a - b" in b.read_text("src/math.rs")
        assert not (b.path / "target" / "debug" / "scribble").exists()
        assert "a + b" in (a.pristine / "src" / "math.rs").read_text()  # pristine = unbroken crate
        assert not (a.pristine / "target" / "debug" / "scribble").exists()
        assert list(a.snapshot()) == ["src/math.rs"]
    finally:
        a.close()
        b.close()


def test_snapshot_fork_restore(sb_workspaces, sb_minicrate_task):
    ws = sb_workspaces.create(sb_minicrate_task)
    try:
        ws.write_text("src/new.rs", "pub fn n() {}\n")
        ws.delete("tests/api.rs")
        snap = ws.snapshot()
        assert snap == {"src/new.rs": "pub fn n() {}\n", "tests/api.rs": None}
        child = ws.fork()
        try:
            assert child.path != ws.path and child.snapshot() == snap
            child.write_text("src/lib.rs", "// child only\n")
            assert "child only" not in ws.read_text("src/lib.rs")
            child.restore({})
            assert child.snapshot() == {} and (child.path / "tests/api.rs").exists()
            child.restore(snap)
            assert child.snapshot() == snap
        finally:
            child.close()
    finally:
        ws.close()


def test_write_text_is_confined(sb_workspaces, sb_minicrate_task):
    from cargogym.sandbox.patch import PatchError

    ws = sb_workspaces.create(sb_minicrate_task)
    try:
        with pytest.raises(PatchError):
            ws.write_text("../escape.rs", "x")
        with pytest.raises(PatchError):
            ws.write_text("target/debug/x", "x")
    finally:
        ws.close()


@pytest.fixture
def ws_parent():
    """A private parent folder on the same filesystem as the default one (tmpfs when available)."""
    import shutil
    import uuid

    p = default_parent() / f"test-{uuid.uuid4().hex[:8]}"
    p.mkdir(parents=True)
    yield p
    shutil.rmtree(p, ignore_errors=True)


def test_thousand_episodes_leave_no_temp_dirs_or_mounts(sb_local, sb_minicrate_task, ws_parent):
    tmp_path = ws_parent
    m = WorkspaceManager(root=tmp_path, sandbox=sb_local)
    for _ in range(1000):
        ws = m.create(sb_minicrate_task)
        ws.write_text("src/math.rs", "// edit\n")
        ws.close()
    assert list(m.root.iterdir()) == []
    m.close()
    assert list(tmp_path.iterdir()) == [] and mounts_under(tmp_path) == []


def test_copy_mode_works_and_cleans_up(sb_local, sb_minicrate_task, tmp_path):
    m = WorkspaceManager(root=tmp_path, mode="copy", sandbox=sb_local)
    ws = m.create(sb_minicrate_task)
    assert not ws.mounted and "a - b" in ws.read_text("src/math.rs")
    m.close()
    assert list(tmp_path.iterdir()) == []


def test_crashed_process_is_cleaned_by_the_next_manager(sb_minicrate_task, tmp_path):
    script = textwrap.dedent(f"""
        import os
        from cargogym.tasks.record import Task
        from cargogym.sandbox.workspace import WorkspaceManager
        t = Task.from_dict({sb_minicrate_task.to_dict()!r})
        m = WorkspaceManager(root={str(tmp_path)!r})
        for _ in range(3):
            m.create(t)
        print(m.root, flush=True)
        os._exit(1)   # crash: no close(), no atexit
    """)
    res = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    left = Path(res.stdout.strip())
    assert left.is_dir(), res.stderr
    m = WorkspaceManager(root=tmp_path)
    try:
        assert not left.exists() and mounts_under(left) == []
    finally:
        m.close()
    assert list(tmp_path.iterdir()) == []


def test_unknown_mode_is_a_clear_error():
    from cargogym.sandbox.workspace import WorkspaceError

    with pytest.raises(WorkspaceError, match="unknown workspace mode"):
        WorkspaceManager(mode="zfs")


def test_a_task_that_cannot_be_set_up_is_a_task_error_not_infrastructure(sb_workspaces, sb_minicrate_task):
    from dataclasses import replace

    from cargogym.sandbox.workspace import TaskSetupError

    bad = replace(sb_minicrate_task, instance_id="bad-setup",
                  setup_patch="--- a/src/nowhere.rs\n+++ b/src/nowhere.rs\n@@ -1 +1 @@\n-old\n+new\n")
    with pytest.raises(TaskSetupError, match="setup_patch does not apply"):
        sb_workspaces.create(bad)
    assert sb_workspaces.open_workspaces() == []
