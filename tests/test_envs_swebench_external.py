"""An external SWE-bench instance (a local git repo of a crate, with a test_patch) in RustRepoEnv:
the gold patch applied through the apply_patch tool resolves it FULL, a no-op submit does not.

The instance file is raw SWE-bench JSONL (test lists as JSON strings, ``repo`` relative to the
file's folder) handed to the env as a path.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import gymnasium
import pytest

import cargogym.envs  # noqa: F401  (registers the ids)
from cargogym.tasks.corpus import builtin_crates, read_crate
from cargogym.tasks.diffs import make_diff
from cargogym.tasks.record import read_tasks
from cargogym.tasks.swebench import load_swebench

pytestmark = pytest.mark.skipif(shutil.which("cargo") is None or shutil.which("git") is None,
                                reason="cargo and git needed")

BUG = ("        Version::new(self.major, self.minor + 1, 0)\n",
       "        Version::new(self.major, self.minor + 1, self.patch)\n")
NEW_TEST = """use semver::Version;

#[test]
fn minor_bump_resets_patch() {
    let v = Version::parse("4.7.9").unwrap();
    assert_eq!(v.bump_minor().to_string(), "4.8.0");
}
"""
F2P = ["lib::version::tests::bumps_follow_release_rules", "test:bumps::minor_bump_resets_patch"]
P2P = ["lib::version::tests::parses_core_pre_and_build", "test:semver::resolve_dependency_set"]


def _git(cwd: Path, *args: str) -> str:
    res = subprocess.run(["git", "-c", "user.email=t@t", "-c", "user.name=t", *args], cwd=cwd,
                         capture_output=True, text=True, check=True)
    return res.stdout.strip()


@pytest.fixture(scope="module")
def instance_file(tmp_path_factory) -> Path:
    """A copy of the built-in ``semver`` crate with a bug in ``bump_minor``, committed with git;
    the instance's test_patch adds ``tests/bumps.rs``."""
    root = tmp_path_factory.mktemp("swebench")
    fixed = read_crate(builtin_crates()["semver"])
    assert BUG[0] in fixed["src/version.rs"]
    broken = {**fixed, "src/version.rs": fixed["src/version.rs"].replace(*BUG)}
    repo = root / "repos" / "semver-local"
    for rel, text in broken.items():
        (repo / rel).parent.mkdir(parents=True, exist_ok=True)
        (repo / rel).write_text(text)
    _git(repo, "init", "-q")
    _git(repo, "add", ".")
    _git(repo, "commit", "-qm", "bump_minor keeps the patch number")
    raw = {
        "instance_id": "local__semver-1",
        "repo": "repos/semver-local",  # relative to the instance file's folder
        "base_commit": _git(repo, "rev-parse", "HEAD"),
        "patch": make_diff({"src/version.rs": broken["src/version.rs"]}, {"src/version.rs": fixed["src/version.rs"]}),
        "test_patch": make_diff({}, {"tests/bumps.rs": NEW_TEST}),
        "problem_statement": "Version::bump_minor keeps the patch number: 4.7.9 bumps to 4.8.9, not 4.8.0.",
        "FAIL_TO_PASS": json.dumps(F2P),
        "PASS_TO_PASS": json.dumps(P2P),
    }
    path = root / "instances.jsonl"
    path.write_text(json.dumps(raw) + "\n")
    return path


def call(tool: str, **args) -> dict:
    return {"tool": tool, "arguments": args}


def test_raw_jsonl_resolves_repo_like_load_swebench(instance_file):
    (via_env_reader,) = read_tasks(instance_file)
    (via_loader,) = load_swebench(instance_file)
    assert via_env_reader.repo == via_loader.repo == str((instance_file.parent / "repos" / "semver-local").resolve())
    assert via_env_reader.FAIL_TO_PASS == F2P and via_env_reader.test_patch == via_loader.test_patch


def test_gold_patch_resolves_full_and_noop_does_not(instance_file):
    env = gymnasium.make("cargogym/RustRepo-v0", task=str(instance_file), max_steps=4, reward="resolved")
    try:
        obs, info = env.reset(seed=0)
        assert "bump_minor keeps the patch number" in obs
        u = env.unwrapped
        patch = read_tasks(instance_file)[0].patch
        obs, reward, terminated, truncated, info = env.step(call("apply_patch", diff=patch))
        assert not terminated and not obs.startswith("error"), obs
        obs, reward, terminated, truncated, info = env.step(call("submit", summary="bump_minor resets patch"))
        assert terminated, obs
        g = info["grading"]
        assert g["resolution"] == "FULL" and g["resolved"] and g["compile_ok"], g
        assert g["f2p_passed"] == g["f2p_total"] == 2 and g["p2p_passed"] == g["p2p_total"] == 2
        assert reward == 1.0 and u.trajectory()["instance_id"] == "local__semver-1"

        obs, info = env.reset(seed=0)
        obs, reward, terminated, truncated, info = env.step(call("submit", summary="nothing changed"))
        assert terminated
        g = info["grading"]
        assert g["resolution"] == "NO" and not g["resolved"] and reward == 0.0
        # the test_patch was applied before grading: its new test exists and fails on the broken code
        assert g["tests"]["test:bumps::minor_bump_resets_patch"] == "failed"
        assert g["tests"]["test:semver::resolve_dependency_set"] == "passed"
    finally:
        env.close()
