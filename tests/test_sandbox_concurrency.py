"""Workspaces of concurrent processes (Ray actors, pytest sessions, the Docker backend) share one
parent folder. Nothing one process does to that parent may hide another process's live workspace.

Regression: making the parent a shared mount (a bind onto itself) while workspaces were mounted
below it hid every one of them at once — their crate folders turned empty. In a learning run
(2 Ray actors) gold patches were then graded NO yet "valid" (the graded snapshot said every file
was deleted: a compile failure) and two reports were invalid ("exited with status 127 before its
test summary": the freshly built test binaries had vanished). The bind came from the Docker
backend started by another process; it still happened on every new manager when the configured
parent path was not spelled as /proc/self/mountinfo spells it (a symlink, spaces).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from cargogym.rewards.grading import grade
from cargogym.sandbox.workspace import WorkspaceError, WorkspaceManager, mounts_under, umount

pytestmark = [
    pytest.mark.skipif(shutil.which("cargo") is None, reason="cargo not on PATH"),
    pytest.mark.skipif(os.geteuid() != 0, reason="overlay workspaces and binds need root"),
]


def _python(code: str, env: dict[str, str] | None = None, timeout: float = 120) -> str:
    res = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                         timeout=timeout, env={**os.environ, **(env or {})})
    assert res.returncode == 0, res.stderr[-3000:]
    return res.stdout


@pytest.fixture
def parent(tmp_path):
    """A private workspace parent; whatever is left mounted below it is detached afterwards."""
    p = tmp_path / "ws parent"  # a space: mountinfo spells it "ws\040parent"
    p.mkdir()
    yield p
    for _ in range(5):  # a mount hidden under another one is reachable only once that one is gone
        for mp in mounts_under(tmp_path):
            try:
                umount(mp)
            except OSError:
                pass


def _alive(ws) -> bool:
    return os.path.ismount(ws.path) and "a - b" in ws.read_text("src/math.rs")


def test_making_the_parent_shared_never_hides_live_workspaces(parent, sb_local, sb_minicrate_task):
    """What the Docker backend does at start (ensure_shared_parent), from another process, while
    this process has a workspace mounted: the workspace stays, and grading the gold patch is FULL."""
    m = WorkspaceManager(root=parent, sandbox=sb_local)  # a custom root: this manager binds nothing
    try:
        ws = m.create(sb_minicrate_task)
        assert _alive(ws)
        out = _python(f"""
            from pathlib import Path
            from cargogym.sandbox.workspace import ensure_shared_parent
            print(ensure_shared_parent(Path({str(parent)!r}))[1])
        """)
        assert _alive(ws), f"the workspace was hidden; ensure_shared_parent said: {out.strip()}"
        ws.apply_patch(sb_minicrate_task.patch)
        report = grade(sb_minicrate_task, ws, sb_local, clippy=False)
        assert report.resolution == "FULL" and report.valid, report.summary()
    finally:
        m.close()


def test_new_managers_in_other_processes_keep_this_ones_workspaces(parent, tmp_path, monkeypatch, sb_local,
                                                                     sb_minicrate_task):
    """CARGOGYM_WORKSPACES through a symlink: every manager used to bind the parent again (its
    spelling never matched mountinfo), hiding all other processes' workspaces."""
    link = tmp_path / "link"
    link.symlink_to(parent, target_is_directory=True)
    monkeypatch.setenv("CARGOGYM_WORKSPACES", str(link))
    m = WorkspaceManager(sandbox=sb_local)
    try:
        ws = m.create(sb_minicrate_task)
        _python(f"""
            from cargogym.tasks.record import Task
            from cargogym.sandbox.workspace import WorkspaceManager
            t = Task.from_dict({sb_minicrate_task.to_dict()!r})
            for _ in range(3):      # three episodes' managers, as a Ray actor makes them
                with WorkspaceManager() as other:
                    other.create(t).write_text("src/math.rs", "// another episode\\n")
        """, env={"CARGOGYM_WORKSPACES": str(link)})
        assert _alive(ws)
        ws.apply_patch(sb_minicrate_task.patch)
        report = grade(sb_minicrate_task, ws, sb_local, clippy=False)
        assert report.resolution == "FULL" and report.valid, report.summary()
        binds = [mp for mp in mounts_under(parent) if mp == Path(os.path.realpath(parent))]
        assert len(binds) <= 1, binds   # bound at most once
    finally:
        m.close()


def test_parallel_gold_episodes_in_worker_processes_stay_full(parent, tmp_path, sb_minicrate_task):
    """Two worker processes grade gold patches (episode workspace + fresh grading workspace each)
    while a third keeps making managers and re-asserting the shared parent, like the Docker backend
    and new envs do. Every report must be FULL and valid."""
    link = tmp_path / "link"
    link.symlink_to(parent, target_is_directory=True)
    env = {"CARGOGYM_WORKSPACES": str(link)}
    task = sb_minicrate_task.to_dict()
    worker = f"""
        import json
        from cargogym.tasks.record import Task
        from cargogym.sandbox.exec import make_sandbox
        from cargogym.sandbox.workspace import WorkspaceManager
        from cargogym.rewards.grading import grade
        t = Task.from_dict({task!r})
        sb = make_sandbox("local")
        out = []
        for _ in range(3):
            with WorkspaceManager(sandbox=sb) as m:
                ws = m.create(t)
                ws.apply_patch(t.patch)
                r = grade(t, ws, sb, clippy=False)
                out.append([r.resolution, r.valid, r.problems[:2], r.build_errors[:1]])
        sb.close()
        print(json.dumps(out))
    """
    churn = f"""
        from pathlib import Path
        from cargogym.tasks.record import Task
        from cargogym.sandbox.workspace import WorkspaceManager, ensure_shared_parent
        t = Task.from_dict({task!r})
        for _ in range(25):
            ensure_shared_parent(Path({str(link)!r}))
            with WorkspaceManager() as m:
                m.create(t).close()
    """
    procs = [subprocess.Popen([sys.executable, "-c", textwrap.dedent(code)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env={**os.environ, **env})
             for code in (worker, worker, churn)]
    outs = [p.communicate(timeout=240) for p in procs]
    for p, (_, err) in zip(procs, outs):
        assert p.returncode == 0, err[-3000:]
    reports = [r for out, _ in outs[:2] for r in json.loads(out)]
    assert len(reports) == 6
    assert all(r[0] == "FULL" and r[1] for r in reports), reports


def test_a_workspace_that_lost_its_mount_is_an_infrastructure_error(parent, sb_local, sb_minicrate_task):
    """Should a workspace disappear anyway, grading must not score the empty folder (a "valid"
    NO, cached by the grade cache): snapshot and grade raise WorkspaceError, which the env
    records as an infra error."""
    m = WorkspaceManager(root=parent, sandbox=sb_local)
    try:
        ws = m.create(sb_minicrate_task)
        ws.apply_patch(sb_minicrate_task.patch)
        umount(ws.path)  # the kernel detaches it: its folder is empty now
        with pytest.raises(WorkspaceError, match="lost its mount"):
            ws.snapshot()
        with pytest.raises(WorkspaceError, match="lost its mount"):
            grade(sb_minicrate_task, ws, sb_local, clippy=False)
    finally:
        m.close()
