"""ReDel-style delegation inside RustRepoEnv: child frames, ownership, depth, similarity, budgets."""

from __future__ import annotations

import json
import re

import gymnasium
import pytest

import cargogym.envs  # noqa: F401


def call(tool: str, **args) -> str:
    return f"<|channel|>commentary to=functions.{tool} <|constrain|>json<|message|>{json.dumps(args)}<|call|>"


def final(text: str) -> str:
    return f"<|channel|>final<|message|>{text}<|return|>"


def per_file(diff: str) -> dict[str, str]:
    """Split a git-style diff into one diff per file."""
    blocks = re.split(r"(?m)^(?=diff --git )", diff)
    out = {}
    for b in blocks:
        m = re.match(r"diff --git a/(\S+) b/", b)
        if m:
            out[m.group(1)] = b
    return out


FIX_MONEY = "Fix `apply_rate` in src/money.rs: a remainder of exactly half must round away from zero."
FIX_ACCOUNT = "Fix `natural_balance` in src/account.rs: credit-normal accounts must flip the sign."


@pytest.fixture()
def multi(envs_ledger_suite):
    task = envs_ledger_suite["multi_bug"]
    env = gymnasium.make("cargogym/RustRepo-v0", task=task)
    env.reset(seed=0)
    yield env, task, per_file(task.patch)
    env.close()


def test_two_children_fix_their_bugs_and_parent_submits_full(multi):
    env, task, fixes = multi
    u = env.unwrapped
    assert set(fixes) == {"src/money.rs", "src/account.rs"} and task.should_delegate

    obs, r, term, trunc, info = env.step(call("delegate_subtask", role="coder", instructions=FIX_MONEY,
                                              context_files=["src/money.rs"], return_artifacts=True))
    assert (info["frame_id"], info["depth"], info["role"]) == (1, 1, "coder") and info["error"] is None
    child_msgs = u.messages()
    assert [m["role"] for m in child_msgs] == ["system", "developer", "user"]
    assert FIX_MONEY in child_msgs[2]["content"] and "pub fn apply_rate" in child_msgs[2]["content"]
    assert task.problem_statement not in child_msgs[2]["content"]  # not the parent's conversation
    assert "### user" in obs and FIX_MONEY in obs
    assert "delegate_subtask" in [t["name"] for t in u.tools()]  # depth 1 < max depth 2

    obs, *_, info = env.step(call("apply_patch", diff=fixes["src/money.rs"]))
    assert obs.startswith("patch applied") and info["frame_id"] == 1
    obs, r, term, trunc, info = env.step(call("submit", summary="apply_rate now rounds halves away from zero"))
    assert (info["frame_id"], info["depth"], info["role"]) == (0, 0, "agent")
    assert "apply_rate now rounds halves away from zero" in obs and "edited: src/money.rs" in obs
    assert "diff:\n" in obs and "+    if remainder.abs() * 2 >= 10_000 {" in obs  # return_artifacts
    parent_msgs = u.messages()
    assert parent_msgs[-1]["role"] == "tool" and parent_msgs[-1]["name"] == "functions.delegate_subtask"
    assert parent_msgs[-1]["content"] == obs and parent_msgs[-2]["recipient"] == "functions.delegate_subtask"

    env.step({"tool": "delegate_subtask", "arguments": {"role": "coder", "instructions": FIX_ACCOUNT,
                                                        "context_files": ["src/account.rs"]}})
    assert u.active_role() == "coder" and u.active_frame().frame_id == 2
    env.step({"tool": "apply_patch", "arguments": {"diff": fixes["src/account.rs"]}})
    obs, *_, info = env.step(final("natural_balance negates credit-side balances again."))
    assert info["frame_id"] == 0 and "natural_balance negates" in obs and "diff:" not in obs

    obs, reward, term, trunc, info = env.step(call("submit", summary="both bugs fixed by helpers"))
    assert term and info["grading"]["resolution"] == "FULL" and reward > 0
    assert info["delegations"] == 2 and info["conflicts"] == 0
    rec = u.trajectory()
    frames = rec["frames"]
    assert [(f["frame_id"], f["parent_id"], f["depth"], f["role"]) for f in frames] == \
        [(0, None, 0, "agent"), (1, 0, 1, "coder"), (2, 0, 1, "coder")]
    assert frames[1]["owned_files"] == ["src/money.rs"] and frames[1]["edited_files"] == ["src/money.rs"]
    assert frames[1]["parent_turn_id"] == 0 and frames[2]["parent_turn_id"] == 3
    assert frames[1]["result"] == "apply_rate now rounds halves away from zero" and frames[1]["steps"] == 2
    assert [t["frame_id"] for t in rec["turns"]] == [0, 1, 1, 0, 2, 2, 0]
    assert frames[0]["edited_files"] == []


def test_child_edits_outside_its_files_are_conflicts(multi):
    env, task, fixes = multi
    u = env.unwrapped
    env.step(call("delegate_subtask", role="coder", instructions=FIX_MONEY, context_files=["src/money.rs"]))
    before = u.workspace.read_text("src/account.rs")
    obs, r, term, trunc, info = env.step(call("apply_patch", diff=fixes["src/account.rs"]))
    assert obs.startswith("error: edit rejected: src/account.rs is outside the files you own")
    assert info["conflict"] and not info["violation"] and info["frame_id"] == 1
    assert u.workspace.read_text("src/account.rs") == before
    both = fixes["src/money.rs"] + fixes["src/account.rs"]
    obs, *_ = env.step(call("apply_patch", diff=both))  # atomic: the allowed half is not applied either
    assert "outside the files you own" in obs and "remainder.abs() * 2 > 10_000" in u.workspace.read_text("src/money.rs")
    obs, *_, info = env.step(final("could not fix account.rs"))
    assert "rejected edits outside its files: 2" in obs
    obs, *_, info = env.step(call("submit"))
    assert info["conflicts"] == 2 and u.trajectory()["frames"][1]["conflicts"] == 2


def test_similarity_guard_refuses_restating_the_task(multi):
    env, task, _ = multi
    own = env.unwrapped.messages()[2]["content"]
    obs, r, term, trunc, info = env.step(call("delegate_subtask", role="coder", instructions=own,
                                              context_files=["src/money.rs"]))
    assert obs.startswith("error: delegation refused") and "similar to your own task" in obs
    assert info["frame_id"] == 0 and info["similarity"] >= 0.8
    obs, *_ = env.step(call("delegate_subtask", role="coder", instructions=task.problem_statement + " Please.",
                            context_files=["src/money.rs"]))
    assert obs.startswith("error: delegation refused")
    env.step(call("delegate_subtask", role="coder", instructions=FIX_MONEY, context_files=["src/money.rs"]))
    # the child may not hand its own instructions down again
    obs, *_, info = env.step(call("delegate_subtask", role="coder", instructions=FIX_MONEY.replace("`", ""),
                                  context_files=["src/money.rs"]))
    assert obs.startswith("error: delegation refused") and info["frame_id"] == 1
    rec = env.unwrapped.trajectory()
    assert rec["delegations"] == 1 and rec["refused_delegations"] == 3


def test_depth_limit_removes_the_tool(envs_ledger_suite):
    env = gymnasium.make("cargogym/RustRepo-v0", task=envs_ledger_suite["multi_bug"])  # max_depth 2
    u = env.unwrapped
    env.reset(seed=0)
    env.step(call("delegate_subtask", role="coder", instructions=FIX_MONEY, context_files=["src/money.rs", "src/lib.rs"]))
    env.step(call("delegate_subtask", role="coder", instructions="Check which modules src/lib.rs re-exports.",
                  context_files=["src/lib.rs"]))
    assert u.active_frame().depth == 2 and u.active_role() == "coder"
    assert "delegate_subtask" not in [t["name"] for t in u.tools()]
    obs, r, term, trunc, info = env.step(call("delegate_subtask", role="coder", instructions="Read lib.rs and summarise.",
                                              context_files=["src/lib.rs"]))
    assert "not available at depth 2 (maximum depth 2)" in obs and not info["violation"]
    # a tester never delegates, whatever the depth: that is a role violation
    env.step(final("lib.rs re-exports every module"))
    env.step(call("delegate_subtask", role="tester", instructions="Add a test for apply_rate rounding at exactly half.",
                  context_files=["tests/ledger.rs"]))
    obs, r, term, trunc, info = env.step(call("delegate_subtask", role="coder", instructions="Read lib.rs and summarise.",
                                              context_files=["src/lib.rs"]))
    assert "the tester role may not use delegate_subtask" in obs and info["violation"]
    env.close()

    shallow = gymnasium.make("cargogym/RustRepo-v0", task=envs_ledger_suite["multi_bug"], max_depth=1)
    shallow.reset(seed=0)
    shallow.step(call("delegate_subtask", role="coder", instructions=FIX_MONEY, context_files=["src/money.rs"]))
    assert shallow.unwrapped.active_frame().depth == 1
    assert "delegate_subtask" not in [t["name"] for t in shallow.unwrapped.tools()]
    shallow.close()
    none = gymnasium.make("cargogym/RustRepo-v0", task=envs_ledger_suite["multi_bug"], max_depth=0)
    none.reset(seed=0)
    assert "delegate_subtask" not in [t["name"] for t in none.unwrapped.tools()]
    none.close()


def test_child_role_permissions_and_frame_budget(envs_ledger_suite):
    env = gymnasium.make("cargogym/RustRepo-v0", task=envs_ledger_suite["multi_bug"], max_frame_steps=3)
    u = env.unwrapped
    env.reset(seed=0)
    env.step(call("delegate_subtask", role="reviewer", instructions="Check whether apply_rate rounds halves correctly.",
                  context_files=["src/money.rs"]))
    obs, r, term, trunc, info = env.step(call("apply_patch", diff="--- a/src/money.rs\n+++ b/src/money.rs\n"))
    assert "the reviewer role may not use apply_patch" in obs and info["violation"]
    env.step(call("read_file", path="src/money.rs", start=140, end=150))
    obs, r, term, trunc, info = env.step(call("search", pattern="fn apply_rate"))
    # third turn used the child's budget: control returns to the parent
    assert info["frame_id"] == 0 and "used its budget of 3 turns" in obs
    assert u.messages()[-1]["content"] == obs
    rec = u.trajectory()
    assert rec["role_violations"] == 1 and rec["frames"][1]["ended_by"] == "budget"
    env.close()
