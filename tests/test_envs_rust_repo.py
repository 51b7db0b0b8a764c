"""RustRepoEnv on real tasks with real cargo: env checker, oracle vs no-op per family, records."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import gymnasium
import pytest
from gymnasium.utils.env_checker import check_env

import cargogym.envs  # noqa: F401  (registers the ids)
from cargogym.envs.rust_repo import EnvUsageError
from cargogym.tasks.record import read_tasks

TASKS_JSONL = Path(cargogym.envs.__file__).resolve().parent.parent / "tasks" / "builtin_tasks.jsonl"


def call(tool: str, **args) -> str:
    """A raw GPT-OSS completion calling ``tool`` (the channel-first header the model samples)."""
    return (f"<|channel|>analysis<|message|>Next: {tool}.<|end|><|start|>assistant<|channel|>commentary "
            f"to=functions.{tool} <|constrain|>json<|message|>{json.dumps(args)}<|call|>")


def final(text: str) -> str:
    return f"<|channel|>final<|message|>{text}<|return|>"


def oracle_actions(task) -> list:
    if task.family == "review":
        verdict = "REQUEST_CHANGES" if task.review["label"] == "buggy" else "APPROVE"
        return [call("read_file", path=task.files[0]), final(f"{verdict}: checked the rounding branch.")]
    return [call("list_files"), call("apply_patch", diff=task.patch), call("submit", summary="applied the fix")]


def play(env, actions, **reset_kw):
    obs, info = env.reset(**reset_kw)
    out = []
    for a in actions:
        out.append(env.step(a))
        if out[-1][2] or out[-1][3]:
            break
    return out


@pytest.mark.parametrize("env_id", ["cargogym/RustRepo-v0", "cargogym/MultiRoleRust-v0"])
def test_check_env_passes(env_id, envs_ledger_suite):
    env = gymnasium.make(env_id, task=envs_ledger_suite["single_bug"])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check_env(env.unwrapped)
    assert not [str(w.message) for w in caught if "WARN" in str(w.message)]  # gymnasium.logger.warn
    env.close()


@pytest.mark.parametrize("family", ["single_bug", "multi_bug", "implement", "compile_error",
                                    "review_buggy", "review_clean"])
def test_oracle_gets_full_reward_and_noop_none(family, envs_ledger_suite):
    task = envs_ledger_suite[family]
    env = gymnasium.make("cargogym/RustRepo-v0", task=task, max_steps=3, reward="resolved")
    steps = play(env, oracle_actions(task), seed=1)
    obs, reward, terminated, truncated, info = steps[-1]
    assert terminated and not truncated, obs
    assert info["grading"]["resolution"] == "FULL" and info["grading"]["resolved"], obs
    oracle_return = sum(s[1] for s in steps)
    assert oracle_return == pytest.approx(env.unwrapped.trajectory()["reward"])
    assert oracle_return == 1.0 and info["reward_terms"] == {"resolved": 1.0}

    # no-op: submit untouched code (review: no verdict at all, until the step budget truncates)
    noop = [call("submit")] * 3
    steps = play(env, noop, seed=1)
    obs, reward, terminated, truncated, info = steps[-1]
    assert terminated or truncated
    assert info["grading"]["resolution"] == "NO" and not info["grading"]["resolved"]
    if task.family == "review":
        assert truncated and "APPROVE or REQUEST_CHANGES" in steps[0][0]
    assert sum(s[1] for s in steps) == 0.0 and info["reward_terms"] == {"resolved": 0.0}
    if task.family == "review":  # a bare verdict is refused (comments are part of the answer); the episode goes on
        verdict = "REQUEST_CHANGES" if task.review["label"] == "buggy" else "APPROVE"
        obs, reward, terminated, truncated, info = play(env, [final(f"**{verdict}**.")], seed=1)[-1]
        assert obs.startswith(f"error: {verdict} needs comments") and not (terminated or truncated)
        assert not info["violation"] and env.unwrapped.trajectory()["review_verdict"] is None
    env.close()


def generated_task_sample(tasks) -> dict[str, object]:
    """One task per family (review: one buggy, one clean), each from a different crate while
    crates last: group i takes the first task of the i-th crate (rotating) that has one."""
    groups: dict[str, dict[str, list]] = {}
    for t in tasks:
        group = f"review_{t.review['label']}" if t.family == "review" else t.family
        groups.setdefault(group, {}).setdefault(t.crate, []).append(t)
    crates = sorted({t.crate for t in tasks})
    sample = {}
    for i, group in enumerate(sorted(groups)):
        order = crates[i % len(crates):] + crates[:i % len(crates)]
        crate = next(c for c in order if c in groups[group])
        sample[group] = groups[group][crate][0]
    return sample


def test_generated_tasks_of_every_family():
    """The synthesiser's tasks (tasks/builtin_tasks.jsonl), one per family from different crates
    (review: a buggy and a clean change): the oracle earns 1.0 and the no-op 0.0 (reward "resolved")."""
    if not TASKS_JSONL.is_file():
        pytest.skip("tasks/builtin_tasks.jsonl not generated yet")
    sample = generated_task_sample(read_tasks(TASKS_JSONL))
    assert set(sample) == {"single_bug", "multi_bug", "implement", "compile_error", "review_buggy", "review_clean"}
    assert len({t.crate for t in sample.values()}) == len(sample)
    env = gymnasium.make("cargogym/RustRepo-v0", task=str(TASKS_JSONL), max_steps=3, reward="resolved")
    for group, task in sorted(sample.items()):
        steps = play(env, oracle_actions(task), seed=0, options={"task": task.instance_id})
        obs, reward, terminated, truncated, info = steps[-1]
        assert terminated and info["grading"]["resolution"] == "FULL", (group, task.instance_id, obs)
        assert sum(s[1] for s in steps) == 1.0 and info["reward_terms"] == {"resolved": 1.0}, group
        steps = play(env, [call("submit")] * 3, seed=0, options={"task": task.instance_id})
        obs, reward, terminated, truncated, info = steps[-1]
        assert info["grading"]["resolution"] == "NO", (group, task.instance_id, obs)
        assert sum(s[1] for s in steps) == 0.0 and info["reward_terms"] == {"resolved": 0.0}, group
    env.close()


def test_episode_record_and_views(envs_ledger_suite):
    from cargogym.harmony.render import encode, render_prompt

    task = envs_ledger_suite["single_bug"]
    env = gymnasium.make("cargogym/RustRepo-v0", task=task, policy="oracle")
    obs, info = env.reset(seed=7)
    u = env.unwrapped
    assert "### user" in obs and "apply_patch(diff: string)" in obs and task.problem_statement in obs
    initial, initial_tools = u.messages(), u.tools()
    assert [m["role"] for m in initial] == ["system", "developer", "user"]
    assert [t["name"] for t in u.tools()] == ["apply_patch", "run_tests", "cargo_check", "read_file",
                                              "list_files", "search", "submit", "delegate_subtask"]
    assert render_prompt(u.messages(), u.tools())  # the views render with openai-harmony
    text = call("run_tests", filter="money")
    ids = encode(text)
    obs, r, term, trunc, info = env.step({"completion": text, "token_ids": ids, "logprobs": [-0.25] * len(ids)})
    assert "1 failed" in obs and "FAILED lib::money::tests::apply_rate_rounds_half_away_from_zero" in obs
    assert info["result"]["counts"]["failed"] == 1 and "log" in info["result"]
    assert (info["tool"], info["turn_id"], info["frame_id"], info["depth"], info["role"]) == ("run_tests", 0, 0, 0, "agent")
    msgs = u.messages()
    assert [m["role"] for m in msgs[3:]] == ["assistant", "assistant", "tool"]
    assert msgs[-1]["name"] == "functions.run_tests" and msgs[-1]["content"] == obs
    env.step({"tool": "apply_patch", "arguments": {"diff": task.patch}})
    obs, r, term, trunc, info = env.step(final("Fixed the rounding of halves."))
    assert term and info["grading"]["resolved"] and info["delegations"] == 0 and info["status"] == "ok"
    # the default spec: resolved + partial credit - a small cost per turn
    terms = info["reward_terms"]
    assert terms["resolved"] == 1.0 and terms["f2p_fraction"] == 0.2 and terms["step_penalty"] < 0
    assert r == pytest.approx(sum(terms.values()))
    rec = u.trajectory()
    json.dumps(rec)  # JSON-serialisable
    assert rec["env"] == "RustRepo-v0" and rec["policy"] == "oracle" and rec["seed"] == 7
    assert rec["status"] == "ok" and rec["terminated"] and rec["steps"] == 3
    assert rec["task"]["family"] == "single_bug" and rec["task"]["FAIL_TO_PASS"] == task.FAIL_TO_PASS
    t0, t1, t2 = rec["turns"]
    assert t0["token_ids"] == ids and t0["logprobs"] == [-0.25] * len(ids) and t0["completion"] == text
    assert t0["prompt_messages"] == 3 and t1["prompt_messages"] == 6 and t1["completion"] is None
    assert t2["tool"] is None and t2["final"] == "Fixed the rounding of halves." and t2["reward"] == rec["reward"]
    assert rec["frames"][0]["parent_id"] is None and rec["frames"][0]["edited_files"] == ["src/money.rs"]
    # the record alone rebuilds each turn's prompt (for training): frame messages[:prompt_messages]
    frame_msgs = rec["frames"][0]["messages"]
    assert frame_msgs[:3] == initial and rec["frames"][0]["tools"] == initial_tools
    assert frame_msgs[t1["prompt_messages"]]["recipient"] == "functions.apply_patch"
    assert render_prompt(frame_msgs[:t1["prompt_messages"]], rec["frames"][0]["tools"])
    assert "messages" not in info["frames"][0] and info["frames"][0]["steps"] == 3
    assert rec["grading"]["f2p_passed"] == 1 and rec["rewards_by_role"].keys() == {"agent"}
    env.close()


def test_task_selection_and_workspace_lifecycle(envs_ledger_suite, tmp_path):
    from cargogym.tasks.record import write_tasks

    path = tmp_path / "tasks.jsonl"
    write_tasks(path, [envs_ledger_suite["single_bug"], envs_ledger_suite["implement"]])
    env = gymnasium.make("cargogym/RustRepo-v0", task=str(path), render_mode="ansi")
    env.reset(options={"task": "ledger__hm_implement"})
    u = env.unwrapped
    assert u.task.family == "implement"
    first = u.workspace.path
    assert "todo!" in u.workspace.read_text("src/money.rs")
    assert "### user" in env.render()
    env.reset(options={"task": 0})
    assert u.task.instance_id == "ledger__hm_single_bug" and not first.exists()
    picks = set()
    for seed in range(6):
        env.reset(seed=seed)
        picks.add(u.task.instance_id)
    assert picks == {"ledger__hm_single_bug", "ledger__hm_implement"}
    with pytest.raises(EnvUsageError, match="no task with instance_id"):
        env.reset(options={"task": "missing"})
    second = u.workspace.path if u.workspace else None
    env.close()
    assert second is None or not second.exists()
    env.close()  # idempotent


def test_inspection_tools_and_patch_formats(envs_ledger_suite):
    task = envs_ledger_suite["compile_error"]
    env = gymnasium.make("cargogym/RustRepo-v0", task=task)
    env.reset(seed=0)

    def step(tool, **args):
        obs, r, term, trunc, info = env.step({"tool": tool, "arguments": args})
        assert not term and not trunc
        return obs, info

    obs, info = step("list_files", dir="src")
    assert "src/money.rs" in obs.splitlines() and "tests/ledger.rs" not in obs and not info["error"]
    obs, _ = step("search", pattern=r"fn apply_\w+")
    assert obs.startswith("src/money.rs:") and "pub fn apply_rate" in obs
    obs, info = step("search", pattern="group_thousands(", path="src/money.rs")
    assert "plain text" in obs and info["result"]["literal"] and "src/lib.rs" not in obs
    obs, _ = step("read_file", path="src/money.rs", start=99, end=101)
    assert obs.startswith("src/money.rs (lines 99-101 of") and "pub fn format_cents" in obs
    obs, info = step("cargo_check")
    assert obs.startswith("cargo check: ") and "error" in obs and info["result"]["ok"] is False
    obs, _ = step("run_tests")
    assert "failed to compile" in obs
    begin_patch = ("*** Begin Patch\n*** Update File: src/money.rs\n@@ pub fn format_cents(amount: Cents) -> String {\n"
                   "-    let frac = abs % 100\n+    let frac = abs % 100;\n*** End Patch\n")
    obs, info = step("apply_patch", diff=begin_patch)
    assert obs == "patch applied: changed src/money.rs" and info["result"]["files_changed"] == ["src/money.rs"]
    obs, info = step("cargo_check")
    assert obs == "cargo check: ok" and info["result"]["ok"]
    env.close()
