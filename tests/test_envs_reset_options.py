"""Public reset options of the envs (role, context, snapshot) and ``root_messages()``, on real
workspaces of the hand-made ledger suite; plus the rollouts worker passing them through."""

from __future__ import annotations

import gymnasium
import pytest

import cargogym.envs  # noqa: F401
from cargogym.envs.rust_repo import RESET_OPTIONS, EnvUsageError
from cargogym.errors import CargogymError
from cargogym.tasks.corpus import crate_path, read_crate

FIXED_LINE = "+    if remainder.abs() * 2 >= 10_000 {"
CONTEXT = "### Proposed change (generator)\nCONTEXT-MARKER 7f3a: the helper already fixed money.rs."


@pytest.fixture()
def single(envs_ledger_suite):
    task = envs_ledger_suite["single_bug"]
    env = gymnasium.make("cargogym/RustRepo-v0", task=task)
    yield env, task
    env.close()


def tool_names(u) -> list[str]:
    return [t["name"] for t in u.tools()]


def test_reviewer_role_gets_its_prompt_tools_and_read_only_rule(single):
    env, task = single
    u = env.unwrapped
    obs, info = env.reset(seed=0, options={"task": task.instance_id, "role": "reviewer"})
    spec = u.roles_cfg.roles["reviewer"]
    assert info["role"] == u.active_role() == "reviewer" and info["depth"] == 0
    assert tool_names(u) == ["run_tests", "cargo_check", "read_file", "list_files", "search"]  # no submit: verdict role
    msgs = u.messages()
    assert [m["role"] for m in msgs] == ["system", "developer", "user"]
    assert msgs[1]["content"] == spec.prompt and "You are the REVIEWER" in obs
    assert u.active_frame().edit_denial("src/money.rs") == "role"
    # editing is refused as a role violation and changes nothing
    obs, _, term, trunc, info = env.step({"tool": "apply_patch", "arguments": {"diff": task.patch}})
    assert obs.startswith("error:") and "reviewer role may not use apply_patch" in obs
    assert info["violation"] and not (term or trunc) and u.current_diff() == ""
    # the default is unchanged: the all-tools agent with agent_prompt and no edit rule
    _, info = env.reset(seed=0)
    assert info["role"] == "agent" and u.active_frame().may_edit is None
    assert set(tool_names(u)) == {"apply_patch", "run_tests", "cargo_check", "read_file", "list_files", "search",
                                  "submit", "delegate_subtask"}
    assert u.messages()[1]["content"] == u.cfg.agent_prompt


def test_snapshot_and_context_are_in_place_before_the_first_observation(single):
    env, task = single
    u = env.unwrapped
    fixed = read_crate(crate_path("ledger"))["src/money.rs"]
    obs, info = env.reset(seed=1, options={"task": task.instance_id, "role": "coder", "context": CONTEXT,
                                           "snapshot": {"./src//money.rs": fixed, "notes/REVIEW.md": "looks fine\n"}})
    assert u.workspace.read_text("src/money.rs") == fixed and u.workspace.read_text("notes/REVIEW.md") == "looks fine\n"
    assert u.workspace.snapshot() == {"src/money.rs": fixed, "notes/REVIEW.md": "looks fine\n"}
    assert FIXED_LINE in u.current_diff()         # the start state stays the broken one
    user = u.messages()[2]["content"]
    assert user.startswith(task.problem_statement) and user.endswith(CONTEXT) and CONTEXT in obs
    assert info["role"] == "coder" and "submit" in tool_names(u) and "apply_patch" in tool_names(u)
    assert u.messages()[1]["content"] == u.roles_cfg.roles["coder"].prompt
    obs, reward, term, _, info = env.step({"tool": "submit", "arguments": {"summary": "already fixed"}})
    assert term and info["grading"]["resolution"] == "FULL" and reward > 0   # cargo graded the restored state
    assert info["rewards_by_role"].keys() == {"coder"}
    # a deleted file (None); the new reset starts from the broken state, not the previous episode's
    env.reset(seed=2, options={"snapshot": {"src/error.rs": None}})
    assert not (u.workspace.path / "src/error.rs").exists() and not (u.workspace.path / "notes").exists()
    assert u.workspace.snapshot() == {"src/error.rs": None}
    assert u.workspace.read_text("src/money.rs") == u.workspace.start_files()["src/money.rs"] != fixed


@pytest.mark.parametrize("options, message", [
    ({"rol": "reviewer"}, "unknown reset option(s) 'rol'; known: " + ", ".join(RESET_OPTIONS)),
    ({"role": "auditor"}, "unknown role 'auditor'; known: agent, planner, coder, reviewer, tester"),
    ({"role": 3}, "options['role'] must be a role name (str), got int"),
    ({"context": ["x"]}, "options['context'] must be text (str), got list"),
    ({"snapshot": "src/money.rs"}, "options['snapshot'] must be a dict"),
    ({"snapshot": {"src/money.rs": b"bytes"}}, "options['snapshot']['src/money.rs'] must be the file text or None"),
    ({"snapshot": {"../outside.rs": "x"}}, "escapes the workspace"),
    ({"snapshot": {"/etc/passwd": "x"}}, "is absolute"),
    ({"snapshot": {"target/debug/x": "x"}}, "inside target/"),
    ({"snapshot": {"src/a.rs": "x", "./src/a.rs": "y"}}, "names src/a.rs again with a different text"),
    ({"snapshot": {"src": "not a file"}}, "options['snapshot'] could not be restored: path 'src' is a directory"),
    ("reviewer", "reset options must be a dict, got str"),
])
def test_bad_options_raise_clear_errors_and_leave_the_episode_intact(single, options, message):
    env, task = single
    u = env.unwrapped
    env.reset(seed=0, options={"role": "reviewer", "snapshot": {"src/lib.rs": "// kept\n"}})
    ws, before = u.workspace, u.workspace.current_files()
    n_open = len(ws.manager.open_workspaces())
    with pytest.raises(EnvUsageError) as err:
        env.reset(seed=0, options=options)
    assert message in str(err.value) and isinstance(err.value, CargogymError)
    # the previous episode is untouched and no half-restored workspace is left behind
    assert u.workspace is ws and not ws.closed and ws.current_files() == before
    assert u.active_role() == "reviewer" and len(ws.manager.open_workspaces()) == n_open


def test_root_messages_stay_the_root_conversation_during_delegation(envs_ledger_suite):
    task = envs_ledger_suite["multi_bug"]
    env = gymnasium.make("cargogym/RustRepo-v0", task=task)
    u = env.unwrapped
    try:
        assert u.root_messages() == []
        env.reset(seed=0, options={"context": CONTEXT})
        root_before = u.root_messages()
        assert root_before == u.messages() and root_before[2]["content"].endswith(CONTEXT)
        _, _, _, _, info = env.step({"tool": "delegate_subtask", "arguments": {
            "role": "coder", "context_files": ["src/account.rs"],
            "instructions": "Fix `natural_balance` in src/account.rs: credit-normal accounts must flip the sign."}})
        assert info["depth"] == 1 and u.messages() != u.root_messages()
        root = u.root_messages()
        assert root[:3] == root_before and root[-1]["recipient"] == "functions.delegate_subtask"
        assert CONTEXT not in u.messages()[2]["content"]          # the child does not see the root's context
        env.step({"final": "natural_balance flips the sign for credit-normal accounts now."})
        assert u.active_frame().depth == 0 and u.root_messages() == u.messages()
        assert u.root_messages()[-1]["name"] == "functions.delegate_subtask"
    finally:
        env.close()


def test_multi_role_env_starts_in_the_given_phase(envs_ledger_suite):
    task = envs_ledger_suite["single_bug"]
    env = gymnasium.make("cargogym/MultiRoleRust-v0", task=task)
    u = env.unwrapped
    try:
        _, info = env.reset(seed=0)
        assert info["phase"] == "planner"
        _, info = env.reset(seed=0, options={"role": "coder", "context": CONTEXT})
        assert info["phase"] == info["role"] == "coder" and "apply_patch" in tool_names(u)
        assert u.messages()[2]["content"].startswith(task.problem_statement) and CONTEXT in u.messages()[2]["content"]
        with pytest.raises(EnvUsageError, match="unknown role 'agent'; known: planner, coder, reviewer, tester"):
            env.reset(seed=0, options={"role": "agent"})
    finally:
        env.close()


class ListFiles:
    """A scripted policy that only lists files (the episode ends by its step budget, ungraded)."""

    def act(self, u):
        return {"tool": "list_files", "arguments": {}}


def test_rollout_worker_and_scripted_episode_pass_reset_options(envs_ledger_suite):
    from cargogym.rollouts.episode import make_env, play_scripted_episode
    from cargogym.rollouts.worker import EnvWorkerImpl

    task = envs_ledger_suite["single_bug"].to_dict()
    kwargs = {"grade_on_truncation": False, "max_steps": 1}
    worker = EnvWorkerImpl("RustRepo-v0", kwargs)
    try:
        view = worker.reset(0, {"episode_key": "k#0", "task": task, "seed": 0,
                                "reset_options": {"role": "reviewer", "context": CONTEXT, "task": "ignored"}})
        assert view["role"] == "reviewer" and "apply_patch" not in [t["name"] for t in view["tools"]]
        assert view["messages"][2]["content"].endswith(CONTEXT)
        assert worker.reset(1, {"episode_key": "k#1", "task": task, "seed": 0})["role"] == "agent"  # key absent
        with pytest.raises(EnvUsageError, match="unknown role 'auditor'"):
            worker.reset(2, {"episode_key": "k#2", "task": task, "seed": 0, "reset_options": {"role": "auditor"}})
        assert 2 not in worker.envs                                   # a failed reset leaves no env behind
    finally:
        worker.shutdown()
    env = make_env("RustRepo-v0", task, kwargs)
    try:
        record = play_scripted_episode(env, ListFiles(), {"episode_key": "k#3", "task": task, "seed": 0,
                                                          "reset_options": {"role": "tester"}})
        assert record["frames"][0]["role"] == "tester" and record["truncated"] and record["grading"] is None
        assert record["turns"][0]["error"] is None                     # list_files is a tester tool
    finally:
        env.close()
