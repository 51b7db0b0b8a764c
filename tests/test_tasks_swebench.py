"""SWE-bench-format instances with a local crate repo: loading, checks, and a graded round trip."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

from cargogym.tasks.cargo_runner import build_tests, cargo_env, run_tests
from cargogym.tasks.diffs import make_diff
from cargogym.tasks.minicrate import MINI_CRATE, write_mini_crate
from cargogym.tasks.record import TaskFormatError, read_tasks
from cargogym.tasks.swebench import load_swebench, to_swebench, write_swebench

BUG = ("    if value < lo {\n        lo\n", "    if value <= lo {\n        hi\n")
NEW_TEST = "\n#[test]\nfn clamp_pipeline() {\n    assert_eq!(minicalc::stats::clamp(-1, 0, 5), 0);\n}\n"


def _git(cwd: Path, *args: str) -> str:
    res = subprocess.run(["git", "-c", "user.email=t@t", "-c", "user.name=t", *args], cwd=cwd,
                         capture_output=True, text=True, check=True)
    return res.stdout.strip()


@pytest.fixture()
def instance(tmp_path):
    fixed = dict(MINI_CRATE)
    broken = dict(fixed)
    broken["src/stats.rs"] = fixed["src/stats.rs"].replace(*BUG)
    repo = write_mini_crate(tmp_path / "minicalc-repo", broken)
    _git(repo, "init", "-q")
    _git(repo, "add", ".")
    _git(repo, "commit", "-qm", "broken state")
    commit = _git(repo, "rev-parse", "HEAD")
    (repo / "NOTES.md").write_text("a later commit the workspace must not see\n")
    _git(repo, "add", ".")
    _git(repo, "commit", "-qm", "later")
    tests_after = {"tests/api.rs": fixed["tests/api.rs"] + NEW_TEST}
    raw = {
        "instance_id": "local__minicalc-1",
        "repo": "minicalc-repo",
        "base_commit": commit,
        "patch": make_diff({"src/stats.rs": broken["src/stats.rs"]}, {"src/stats.rs": fixed["src/stats.rs"]}),
        "test_patch": make_diff({"tests/api.rs": fixed["tests/api.rs"]}, tests_after),
        "problem_statement": "clamp returns the wrong bound for values below the range",
        "FAIL_TO_PASS": json.dumps(["lib::stats::tests::clamps_both_ends", "test:api::clamp_pipeline"]),
        "PASS_TO_PASS": json.dumps(["lib::stats::tests::mean_of_values", "test:api::grid_pipeline"]),
        "version": "0.1",
        "created_at": "2024-01-01T00:00:00Z",
    }
    path = tmp_path / "instances.jsonl"
    path.write_text(json.dumps(raw) + "\n")
    return path, raw, repo, commit


def test_load_resolves_repo_and_parses_fields(instance):
    path, raw, repo, commit = instance
    (task,) = load_swebench(path)
    assert task.repo == str(repo.resolve()) and not task.is_builtin and task.crate == "minicalc-repo"
    assert task.base_commit == commit and task.family == "single_bug" and task.setup_patch == ""
    assert task.FAIL_TO_PASS == ["lib::stats::tests::clamps_both_ends", "test:api::clamp_pipeline"]
    assert task.files == ["src/stats.rs"]
    assert task.extra["version"] == "0.1" and "unqualified_tests" not in task.extra
    # export and re-import
    out = path.parent / "export.jsonl"
    write_swebench(out, [task])
    assert isinstance(json.loads(out.read_text())["FAIL_TO_PASS"], str)
    (again,) = load_swebench(out)
    assert again.to_dict() == task.to_dict()
    assert to_swebench(task)["instance_id"] == "local__minicalc-1"


@pytest.mark.parametrize("bad, message", [
    ({"base_commit": "0" * 40}, "is not a commit of"),
    ({"repo": "nowhere"}, "is not a crate folder"),
    ({"patch": "this is not a diff"}, "patch is not a unified diff"),
    ({"FAIL_TO_PASS": "[not json"}, "is not JSON"),
    ({"family": "weird"}, "unknown family"),
])
def test_bad_instances_are_rejected_by_name(instance, bad, message):
    path, raw, repo, commit = instance
    path.write_text(json.dumps({**raw, **bad}) + "\n")
    with pytest.raises(TaskFormatError) as e:
        load_swebench(path)
    assert message in str(e.value) and ("local__minicalc-1" in str(e.value) or "#1" in str(e.value))


def test_missing_fields_and_duplicates(instance):
    path, raw, repo, commit = instance
    with pytest.raises(TaskFormatError, match="missing field"):
        load_swebench([{k: v for k, v in raw.items() if k != "patch"}], base_dir=path.parent)
    with pytest.raises(TaskFormatError, match="duplicate instance_id"):
        load_swebench([raw, raw], base_dir=path.parent)
    (t,) = load_swebench([{**raw, "FAIL_TO_PASS": ["tests::clamps_both_ends"]}], base_dir=path.parent)
    assert t.extra["unqualified_tests"] == ["tests::clamps_both_ends"]


def test_cli_import(instance, tmp_path):
    from typer.testing import CliRunner

    from cargogym.cli import app

    path, raw, repo, commit = instance
    out = tmp_path / "tasks.jsonl"
    res = CliRunner().invoke(app, ["tasks", "import-swebench", str(path), str(out)])
    assert res.exit_code == 0, res.output
    assert read_tasks(out)[0].repo == str(repo.resolve())


@pytest.mark.skipif(shutil.which("cargo") is None, reason="cargo not on PATH")
def test_instance_grades_like_swebench(instance, tmp_path):
    """The repo at base_commit (+ test_patch) fails exactly F2P; with the gold patch all pass."""
    from cargogym.sandbox.patch import apply_patch

    path, raw, repo, commit = instance
    (task,) = load_swebench(path)
    ws = tmp_path / "ws"
    ws.mkdir()
    archive = subprocess.run(["git", "-C", task.repo, "archive", "--format=tar", task.base_commit],
                             capture_output=True, check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(ws, filter="data")
    assert not (ws / "NOTES.md").exists() and not (ws / ".git").exists()
    apply_patch(ws, task.test_patch)
    env = cargo_env(ws / "target", tmp_path / "cargo-home", jobs=2)

    def statuses() -> dict[str, str]:
        b = build_tests(ws, env)
        assert b.ok, b.errors
        return run_tests(b.binaries, ws, env, timeout=60).tests

    before = statuses()
    assert all(before[t] == "failed" for t in task.FAIL_TO_PASS)
    assert all(before[t] == "passed" for t in task.PASS_TO_PASS)
    apply_patch(ws, task.patch)
    after = statuses()
    assert all(after[t] == "passed" for t in task.FAIL_TO_PASS + task.PASS_TO_PASS)
