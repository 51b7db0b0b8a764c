"""MultiRoleRustEnv: the planner → coder → reviewer → tester machine and role enforcement."""

from __future__ import annotations

import json

import gymnasium
import pytest

import cargogym.envs  # noqa: F401

PLAN = json.dumps({"subtasks": [{"description": "fix half-way rounding in apply_rate", "files": ["src/money.rs"],
                                 "role": "coder"}], "order": [0]})
NEW_TEST = ("--- a/tests/ledger.rs\n+++ b/tests/ledger.rs\n@@ -1,3 +1,8 @@\n+#[test]\n+fn apply_rate_half_cent_rounds_up() {\n"
            "+    assert_eq!(ledger::apply_rate(50, 100), 1);\n+}\n+\n use ledger::{\n")


def call(tool: str, **args) -> str:
    return f"<|channel|>commentary to=functions.{tool} <|constrain|>json<|message|>{json.dumps(args)}<|call|>"


def final(text: str) -> str:
    return f"<|channel|>final<|message|>{text}<|return|>"


@pytest.fixture()
def single(envs_ledger_suite):
    task = envs_ledger_suite["single_bug"]
    env = gymnasium.make("cargogym/MultiRoleRust-v0", task=task)
    env.reset(seed=0)
    yield env, task
    env.close()


def test_full_pass_through_all_phases(single):
    env, task = single
    u = env.unwrapped
    assert u.active_role() == "planner" and u.tools() == []
    assert "PLANNER" in u.messages()[1]["content"]
    obs, r, term, trunc, info = env.step(final("Here is my plan:\n" + PLAN))
    assert info["role"] == "coder" and info["phase"] == "coder" and "[planner: done; next phase: coder]" in obs
    coder_user = u.messages()[2]["content"]
    assert "## Plan" in coder_user and "fix half-way rounding" in coder_user
    env.step(call("apply_patch", diff=task.patch))
    obs, r, term, trunc, info = env.step(call("submit", summary="made halves round away from zero"))
    assert info["role"] == "reviewer" and "apply_patch" not in [t["name"] for t in u.tools()]
    reviewer_user = u.messages()[2]["content"]
    assert "made halves round away from zero" in reviewer_user and "+    if remainder.abs() * 2 >= 10_000 {" in reviewer_user
    env.step(call("read_file", path="src/money.rs", start=140, end=152))
    obs, r, term, trunc, info = env.step(final("APPROVE: the boundary case is now handled."))
    assert info["role"] == "tester"
    obs, *_ = env.step(call("apply_patch", diff=NEW_TEST))
    assert obs.startswith("patch applied"), obs
    obs, r, term, trunc, info = env.step(call("submit", summary="added a half-cent test"))
    assert term and not trunc and "[tester: green; the episode ends]" in obs
    assert info["grading"]["resolution"] == "FULL" and r > 0
    assert set(info["rewards_by_role"]) == {"planner", "coder", "reviewer", "tester"}
    assert info["role_violations"] == 0
    rec = u.trajectory()
    assert rec["env"] == "MultiRoleRust-v0" and rec["review_verdict"] == "APPROVE"
    assert rec["plan"]["subtasks"][0]["files"] == ["src/money.rs"]
    assert [(f["role"], f["ended_by"]) for f in rec["frames"]] == \
        [("planner", "done"), ("coder", "done"), ("reviewer", "approve"), ("tester", "green")]
    assert [t["phase"] for t in rec["turns"]] == ["planner", "coder", "coder", "reviewer", "reviewer", "tester", "tester"]


def test_role_permissions_are_enforced(single):
    env, task = single
    u = env.unwrapped
    obs, r, term, trunc, info = env.step(call("read_file", path="src/money.rs"))
    assert "the planner role may not use read_file" in obs and info["violation"] and info["role"] == "planner"
    obs, *_, info = env.step(final("I think we should fix money.rs"))
    assert "no JSON object found" in obs and info["role"] == "planner"
    env.step(final(PLAN))
    env.step(call("submit", summary="nothing yet"))          # coder hands over without fixing
    assert u.active_role() == "reviewer"
    before = u.workspace.read_text("src/money.rs")
    obs, *_, info = env.step(call("apply_patch", diff=task.patch))
    assert "the reviewer role may not use apply_patch" in obs and info["violation"]
    obs, *_, info = env.step(final("Looks fine to me"))
    assert "starts with APPROVE or REQUEST_CHANGES" in obs and info["role"] == "reviewer"
    # a bare verdict is not an answer: error, not a violation, and the reviewer phase stays open
    obs, *_, info = env.step(final("REQUEST_CHANGES"))
    assert obs.startswith("error: REQUEST_CHANGES needs comments") and info["role"] == "reviewer"
    assert not info["violation"] and u.trajectory()["review_verdict"] is None
    env.step(final("APPROVE: nothing to object to."))
    assert u.active_role() == "tester"
    obs, *_, info = env.step(call("apply_patch", diff=task.patch))
    assert "your role may not edit src/money.rs" in obs and info["violation"] and not info["conflict"]
    assert u.workspace.read_text("src/money.rs") == before
    # the tester's submit runs the tests: red, so the coder gets another round
    obs, r, term, trunc, info = env.step(call("submit", summary="tests done"))
    assert "[tester: red; next phase: coder]" in obs and info["role"] == "coder"
    assert "Test run after the tester" in u.messages()[2]["content"] and "1 failed" in u.messages()[2]["content"]
    assert u.trajectory()["role_violations"] == 3


def test_request_changes_returns_to_coder_and_visits_are_bounded(envs_ledger_suite):
    env = gymnasium.make("cargogym/MultiRoleRust-v0", task=envs_ledger_suite["single_bug"], max_steps=30)
    u = env.unwrapped
    env.reset(seed=0)
    env.step(final(PLAN))
    roles = []
    for round_ in range(3):
        env.step(call("submit", summary=f"attempt {round_}"))
        obs, r, term, trunc, info = env.step(final("REQUEST_CHANGES: apply_rate still truncates halves."))
        roles.append(info["role"])
        if term:
            break
        assert "## reviewer (request_changes)\nREQUEST_CHANGES: apply_rate" in u.messages()[2]["content"]
    # coder visited max_visits (3) times; the third REQUEST_CHANGES ends the episode
    assert roles == ["coder", "coder", None] and term
    assert info["grading"]["resolution"] == "NO"
    assert "REQUEST_CHANGES: apply_rate still truncates halves." in u.trajectory()["frames"][-1]["result"]
    env.close()


def test_review_task_goes_straight_to_the_reviewer(envs_ledger_suite):
    env = gymnasium.make("cargogym/MultiRoleRust-v0", task=envs_ledger_suite["review_buggy"])
    obs, info = env.reset(seed=0)
    assert info["role"] == "reviewer" and "```diff" in obs
    obs, r, term, trunc, info = env.step(final("REQUEST_CHANGES: `>` drops the exact half case."))
    assert term and info["grading"]["resolution"] == "FULL" and info["review_verdict"] == "REQUEST_CHANGES"
    assert set(info["rewards_by_role"]) == {"reviewer"}
    env.reset(seed=0)
    obs, r, term, trunc, info = env.step(final("APPROVE"))
    assert not term and obs.startswith("error: APPROVE needs comments") and info["role"] == "reviewer"
    obs, r, term, trunc, info = env.step(final("APPROVE: the rounding change looks right."))
    assert term and info["grading"]["resolution"] == "NO" and info["role_violations"] == 0
    env.close()


def test_phase_budget_moves_on(envs_ledger_suite):
    env = gymnasium.make("cargogym/MultiRoleRust-v0", task=envs_ledger_suite["single_bug"], max_steps=40)
    u = env.unwrapped
    env.reset(seed=0)
    budget = u.roles_cfg.phases.phase_step_budget
    for _ in range(budget):
        obs, r, term, trunc, info = env.step(final("no plan, just words"))
    assert info["role"] == "coder" and "[planner: budget; next phase: coder]" in obs
    assert u.trajectory()["plan"] is None
    env.close()


# -- a configurable phase machine: custom roles files drive real episodes ------------------------
CODER_ONLY = """\
roles:
  coder:
    tools: [apply_patch, run_tests, read_file, submit]
    edits: all
    prompt: You are the ONLY CODER. Fix the crate, then submit.
phases:
  start: coder
  transitions:
    coder: {done: end, budget: end}
"""


def test_custom_phase_table_coder_only_ends_after_the_coder(envs_ledger_suite, tmp_path):
    path = tmp_path / "coder_only.yaml"
    path.write_text(CODER_ONLY)
    task = envs_ledger_suite["single_bug"]
    env = gymnasium.make("cargogym/MultiRoleRust-v0", roles=str(path), task=task, reward="resolved")
    u = env.unwrapped
    obs, info = env.reset(seed=0)
    assert info["role"] == info["phase"] == "coder" and "ONLY CODER" in obs
    assert [t["name"] for t in u.tools()] == ["apply_patch", "run_tests", "read_file", "submit"]
    obs, r, term, trunc, info = env.step(call("apply_patch", diff=task.patch))
    assert obs.startswith("patch applied") and not term and info["phase"] == "coder"
    obs, r, term, trunc, info = env.step(call("submit", summary="fixed the rounding"))
    assert term and not trunc and "[coder: done; the episode ends]" in obs
    assert info["result"] == {"phase_event": "done", "next_phase": "end"} and info["phase"] is None
    assert info["grading"]["resolution"] == "FULL" and r == 1.0 and set(info["rewards_by_role"]) == {"coder"}
    rec = u.trajectory()
    assert [(f["role"], f["ended_by"]) for f in rec["frames"]] == [("coder", "done")]
    assert rec["plan"] is None and rec["review_verdict"] is None
    env.close()


def test_custom_phase_table_without_reviewer_keeps_its_order(envs_ledger_suite, tmp_path):
    import yaml

    from cargogym.config import CONFIG_DIR

    data = yaml.safe_load((CONFIG_DIR / "multi_agent_roles.yaml").read_text())
    data["phases"] = {"start": "planner", "max_visits": 2, "phase_step_budget": 6,
                      "transitions": {"planner": {"done": "coder", "budget": "coder"},
                                      "coder": {"done": "tester", "budget": "tester"},
                                      "tester": {"green": "end", "red": "coder", "budget": "end"}}}
    path = tmp_path / "no_reviewer.yaml"
    path.write_text(yaml.safe_dump(data))
    task = envs_ledger_suite["single_bug"]
    env = gymnasium.make("cargogym/MultiRoleRust-v0", roles=str(path), task=task, max_steps=20)
    u = env.unwrapped
    obs, info = env.reset(seed=0)
    phases = [info["phase"]]
    events = []
    # a coder that hands over an unfixed crate: the tester's run is red, back to the coder, which fixes it
    script = [final(PLAN), call("submit", summary="nothing yet"), call("submit", summary="tests as they are"),
              call("apply_patch", diff=task.patch), call("submit", summary="fixed"), call("submit", summary="green now")]
    for action in script:
        obs, r, term, trunc, info = env.step(action)
        phases.append(info["phase"])
        if (info["result"] or {}).get("phase_event"):
            events.append((info["result"]["phase_event"], info["result"]["next_phase"]))
        if term or trunc:
            break
    assert term and not trunc and info["grading"]["resolution"] == "FULL"
    assert phases == ["planner", "coder", "tester", "coder", "coder", "tester", None]
    assert events == [("done", "coder"), ("done", "tester"), ("red", "coder"), ("done", "tester"), ("green", "end")]
    rec = u.trajectory()
    assert [(f["role"], f["ended_by"]) for f in rec["frames"]] == \
        [("planner", "done"), ("coder", "done"), ("tester", "red"), ("coder", "done"), ("tester", "green")]
    assert "reviewer" not in [t["phase"] for t in rec["turns"]] and rec["review_verdict"] is None
    assert u.roles_cfg.source == str(path) and u.roles_cfg.phases.phase_step_budget == 6
    env.close()
