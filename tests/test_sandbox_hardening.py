"""Sandbox holes a reward hacker would use, closed (real cargo, real files, real jail):

- the pristine pre-built copy is the *fixed* crate: none of its compiled units may reach an
  episode's workspace (a build script could read the fix from them);
- the pristine cache is writable by test code outside the jail: a tampered copy is detected and
  rebuilt, never handed to a later workspace;
- outside the jail, cargo settings planted above the workspace or in CARGO_HOME are removed (in
  cargogym's own tree) or refused (elsewhere) before a command runs;
- an imported task's source repository and a tasks file's folder are hidden from jailed code.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest

from cargogym.sandbox.cargo import run_cargo_tests
from cargogym.sandbox.exec import LocalSandbox, SandboxError, hide_plan, isolated_cargo_home
from cargogym.sandbox.patch import make_diff
from cargogym.sandbox.workspace import PrebuiltCache, WorkspaceManager, default_parent
from cargogym.tasks.record import Task, read_tasks, write_tasks

pytestmark = pytest.mark.skipif(shutil.which("cargo") is None, reason="cargo not on PATH")


def _marker_crate(root: Path, marker: str) -> tuple[Path, str, str]:
    """A crate whose fixed ``tag()`` returns ``marker``; the tests only check its length, so the
    marker's bytes exist only in the fixed source and whatever is compiled from it."""
    (root / "src").mkdir(parents=True)
    (root / "tests").mkdir()
    (root / "Cargo.toml").write_text('[package]\nname = "markcrate"\nversion = "0.1.0"\nedition = "2021"\n\n'
                                     "[lib]\ndoctest = false\n\n[workspace]\n")
    fixed = f'pub fn tag() -> &\'static str {{\n    "{marker}"\n}}\n\n' \
            "#[cfg(test)]\nmod tests {\n    #[test]\n    fn tag_len() {\n" \
            f"        assert_eq!(super::tag().len(), {len(marker)});\n    }}\n}}\n"
    (root / "src" / "lib.rs").write_text(fixed)
    (root / "tests" / "it.rs").write_text(f"#[test]\nfn tag_is_set() {{\n    assert_eq!(markcrate::tag().len(), {len(marker)});\n}}\n")
    broken = fixed.replace(f'"{marker}"', '""')
    return root, fixed, broken


@pytest.fixture
def marker_task(tmp_path):
    marker = f"cargogym-fixed-{uuid.uuid4().hex}"
    root, fixed, broken = _marker_crate(tmp_path / "markcrate", marker)
    task = Task(instance_id="markcrate-tag", repo=str(root), base_commit="", problem_statement="tag is empty",
                patch=make_diff({"src/lib.rs": broken}, {"src/lib.rs": fixed}), test_patch="",
                setup_patch=make_diff({"src/lib.rs": fixed}, {"src/lib.rs": broken}),
                FAIL_TO_PASS=["lib::tests::tag_len", "test:it::tag_is_set"], PASS_TO_PASS=[], files=["src/lib.rs"])
    return task, marker


@pytest.fixture
def manager(tmp_path, sb_local):
    m = WorkspaceManager(cache=PrebuiltCache(tmp_path / "prebuilt", sandbox=sb_local), sandbox=sb_local)
    yield m
    m.close()


def _files_with(root: Path, needle: bytes) -> list[str]:
    hits = []
    for p in root.rglob("*"):
        if p.is_file() and not p.is_symlink() and needle in p.read_bytes():
            hits.append(p.relative_to(root).as_posix())
    return hits


# -- the fixed crate's compiled units -------------------------------------------------------------
def test_no_artifact_of_the_fixed_crate_is_visible_in_an_episode_workspace(manager, marker_task, sb_local):
    task, marker = marker_task
    ws = manager.create(task)
    try:
        pristine = manager.pristine(task)
        assert marker in (pristine / "src" / "lib.rs").read_text()   # the pristine copy is the fix...
        assert _files_with(pristine / "target", marker.encode()) == []  # ...but nothing compiled from it
        assert _files_with(ws.path, marker.encode()) == []
        names = [p.name for p in (ws.path / "target").rglob("*") if p.is_file()]
        assert not [n for n in names if "markcrate" in n or n.startswith(("it-", "libit"))], names
        # the first run_tests after reset works and compiles the crate itself only
        run = run_cargo_tests(sb_local, ws.path, timeout=300)
        assert run.valid and run.tests == {"lib::tests::tag_len": "failed", "test:it::tag_is_set": "failed"}
        compiled = [ln.split()[1] for ln in run.build.stderr.splitlines() if ln.strip().startswith("Compiling")]
        assert compiled == ["markcrate"], run.build.stderr
        ws.apply_patch(task.patch)
        fixed = run_cargo_tests(sb_local, ws.path, timeout=300)
        assert set(fixed.tests.values()) == {"passed"}
    finally:
        ws.close()


# -- pristine cache integrity ---------------------------------------------------------------------
def test_a_tampered_pristine_copy_is_rebuilt_not_handed_out(manager, marker_task):
    task, _ = marker_task
    pristine = manager.pristine(task)
    it = pristine / "tests" / "it.rs"
    good = it.read_text()
    st = it.stat()
    # as test code outside the jail could: weaken a test, keep size and mtime, plant a file
    it.write_text(good.replace("assert_eq!", "assert_ne!")[: len(good)].ljust(len(good)))
    os.utime(it, ns=(st.st_atime_ns, st.st_mtime_ns))
    (pristine / "tests" / "planted.rs").write_text("#[test]\nfn planted() {}\n")
    ws = manager.create(task)
    try:
        assert ws.read_text("tests/it.rs") == good and "tests/planted.rs" not in ws.list_files()
        assert it.read_text() == good and not (pristine / "tests" / "planted.rs").exists()
        assert manager.cache.discarded and manager.cache.discarded[-1][0] == pristine.name
    finally:
        ws.close()


def test_a_new_process_rehashes_the_copy_before_use(manager, marker_task):
    """The cheap stat check is per process; a fresh process hashes the copy against its manifest
    and the task's sources, so a mtime-preserving edit made earlier is caught too."""
    task, _ = marker_task
    pristine = manager.pristine(task)
    planted = pristine / "target" / "debug" / "deps" / "libplanted.rlib"
    planted.write_bytes(b"not from the build")
    PrebuiltCache._memo.clear()  # what a new process starts with
    PrebuiltCache._verified.clear()
    again = manager.pristine(task)
    assert again == pristine and not planted.exists()
    assert "target/debug/deps/libplanted.rlib" in manager.cache.discarded[-1][1]


# -- planted cargo settings outside the jail ------------------------------------------------------
@pytest.fixture
def unjailed(tmp_path, monkeypatch):
    """A sandbox without the jail (as for a non-root user) with a private cache dir."""
    monkeypatch.setenv("CARGOGYM_CACHE", str(tmp_path / "cache"))
    sb = LocalSandbox(jail=False)
    yield sb
    sb.close()


def test_cargo_config_planted_above_the_workspace_is_removed_outside_the_jail(unjailed, sb_minicrate_task):
    m = WorkspaceManager(sandbox=unjailed)
    try:
        ws = m.create(sb_minicrate_task)
        # test-time code plants a config over the manager's folder, shared by later grading copies
        res = unjailed.run(["sh", "-c", "mkdir -p ../../.cargo && printf '[build]\\nrustc-wrapper = \"/bin/false\"\\n'"
                                        " > ../../.cargo/config.toml"], cwd=ws.path)
        planted = m.root / ".cargo" / "config.toml"
        assert res.exit_code == 0 and planted.is_file()
        grading = m.create(sb_minicrate_task)
        # without the guard, cargo runs `/bin/false rustc -vV` and nothing builds
        run = run_cargo_tests(unjailed, grading.path, timeout=300)
        assert run.build_ok and run.tests["lib::math::tests::adds_small_numbers"] == "failed", run.build.stderr
        assert not planted.exists() and str(planted) in " ".join(unjailed.neutralised)
    finally:
        m.close()


def test_cargo_config_in_the_workspace_tree_is_removed_before_jailed_commands_too(sb_local, sb_minicrate_task):
    """Jailed code cannot write above its workspace, but something else could have (another
    backend, an unjailed process): cargo would still read it, so it is removed there as well."""
    m = WorkspaceManager(sandbox=sb_local)
    try:
        ws = m.create(sb_minicrate_task)
        planted = [d / ".cargo" / "config.toml" for d in (m.root, default_parent())]
        for f in planted:
            f.parent.mkdir()
            f.write_text('[build]\nrustc-wrapper = "/bin/false"\n')
        run = run_cargo_tests(sb_local, ws.path, timeout=300)
        assert run.build_ok, run.build.stderr
        assert [f for f in planted if f.exists()] == []
    finally:
        for f in planted:
            shutil.rmtree(f.parent, ignore_errors=True)
        m.close()


def test_cargo_config_above_the_workspace_outside_cargogyms_tree_is_refused(unjailed, sb_minicrate_task, tmp_path):
    m = WorkspaceManager(root=tmp_path / "ws", mode="copy", sandbox=unjailed)
    try:
        ws = m.create(sb_minicrate_task)
        assert unjailed.run(["true"], cwd=ws.path).exit_code == 0
        (tmp_path / ".cargo").mkdir()  # as test code of that command could have
        (tmp_path / ".cargo" / "config.toml").write_text('[build]\nrustc-wrapper = "/bin/false"\n')
        with pytest.raises(SandboxError, match=r"refusing to run .*\.cargo/config\.toml"):
            unjailed.run(["true"], cwd=ws.path)
        assert (tmp_path / ".cargo" / "config.toml").is_file()  # not ours: never deleted
    finally:
        m.close()


def test_cargo_home_is_reset_before_each_command_outside_the_jail(unjailed, tmp_path):
    home = Path(unjailed.env()["CARGO_HOME"])
    assert home == isolated_cargo_home() and home.is_relative_to(tmp_path)
    crate = tmp_path / "crate"
    shutil.copytree(Path(__file__).parent / "fixtures" / "minicrate", crate)
    # planted by test code: a wrapper in the config and a fake clippy (cargo looks in $CARGO_HOME/bin first)
    (home / "config.toml").write_text('[build]\nrustc-wrapper = "/bin/false"\n')
    (home / "bin").mkdir()
    (home / "bin" / "cargo-clippy").write_text("#!/bin/sh\necho HIJACKED\n")
    (home / "bin" / "cargo-clippy").chmod(0o755)
    res = unjailed.run(["cargo", "build", "--offline"], cwd=crate, timeout=300)
    assert res.exit_code == 0, res.stderr
    assert "[net]\noffline = true" in (home / "config.toml").read_text() and not (home / "bin").exists()
    assert "removed planted cargo settings" in res.stderr


# -- hidden task sources --------------------------------------------------------------------------
def test_hide_plan_never_hides_what_the_command_needs():
    here = str(Path(__file__).resolve().parent)
    folders, files = hide_plan([here, __file__, "/usr", "/nonexistent-cargogym"], keep=[here + "/x"])
    assert folders == [] and files == [str(Path(__file__))]
    folders, files = hide_plan([here, str(Path(here).parent)], keep=["/dev/shm/ws"])
    assert folders == [str(Path(here).parent)] and files == []  # nested folders: the outer one


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t", *args],
                   check=True, capture_output=True)


@pytest.fixture
def outside_tmp():
    """A folder outside /tmp (jailed commands get a private /tmp, which would hide anything there)."""
    import tempfile

    base = Path("/dev/shm") if os.access("/dev/shm", os.W_OK) else Path("/var/tmp")
    d = Path(tempfile.mkdtemp(prefix="cargogym-hide-test-", dir=base))
    yield d
    shutil.rmtree(d, ignore_errors=True)


def test_imported_task_repo_and_tasks_file_are_hidden_from_test_code(sb_local, tmp_path, outside_tmp):
    if not sb_local.info()["jailed"]:
        pytest.skip(f"no jail here: {sb_local.info()['filesystem']}")
    repo = outside_tmp / "import" / "minicrate"
    shutil.copytree(Path(__file__).parent / "fixtures" / "minicrate", repo)
    math = (repo / "src" / "math.rs").read_text()
    broken = math.replace("    a + b\n", "    a - b\n")
    _git(repo, "init", "-q")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "the fix")  # the fix lives in the history
    tasks_file = outside_tmp / "import" / "tasks.jsonl"
    write_tasks(tasks_file, [Task(
        instance_id="imported", repo=str(repo), base_commit="", problem_statement="add is wrong",
        patch=make_diff({"src/math.rs": broken}, {"src/math.rs": math}), test_patch="",
        setup_patch=make_diff({"src/math.rs": math}, {"src/math.rs": broken}),
        FAIL_TO_PASS=["lib::math::tests::adds_small_numbers"], PASS_TO_PASS=[], files=["src/math.rs"])])
    control = outside_tmp / "control.txt"  # same place, never registered: must stay readable
    control.write_text("visible")
    m = WorkspaceManager(sandbox=sb_local, cache=PrebuiltCache(tmp_path / "prebuilt", sandbox=sb_local))
    try:
        probe = (f"cat {control}; echo; [ -s {tasks_file} ] && echo TASKS || echo no-tasks; "
                 f"[ -d {repo}/.git ] && echo GIT || echo no-git")
        ws = m.create(Task.from_dict(read_tasks(tasks_file)[0].to_dict()))
        res = sb_local.run(["sh", "-c", probe], cwd=ws.path)
        assert res.stdout.split() == ["visible", "no-tasks", "no-git"], res.stdout + res.stderr
        # a tasks file in a folder the command needs (here: its cwd) is hidden on its own
        inner = ws.path / "tasks.jsonl"
        shutil.copy(tasks_file, inner)
        read_tasks(inner)
        res = sb_local.run(["sh", "-c", "wc -c < tasks.jsonl; ls src | wc -l"], cwd=ws.path)
        assert res.stdout.split() == ["0", "3"], res.stdout + res.stderr
        assert inner.stat().st_size > 0  # untouched outside the jail
    finally:
        m.close()


def test_caches_with_different_roots_never_share_a_copy(tmp_path, sb_local, marker_task):
    task, _ = marker_task
    a = PrebuiltCache(tmp_path / "a", sandbox=sb_local).get(task.repo, task=task)
    b = PrebuiltCache(tmp_path / "b", sandbox=sb_local).get(task.repo, task=task)
    assert a.parent == tmp_path / "a" and b.parent == tmp_path / "b"
    assert a.is_dir() and b.is_dir()


def test_rollout_workers_hide_what_the_driver_hid(tmp_path):
    from cargogym.rollouts.worker import EnvWorkerImpl
    from cargogym.sandbox.exec import registered_hidden

    secret = tmp_path / "gold-patches"
    secret.mkdir()
    EnvWorkerImpl("cargogym/RustRepo-v0", {}, 0, None, None, [str(secret)])
    assert os.path.realpath(secret) in registered_hidden()
