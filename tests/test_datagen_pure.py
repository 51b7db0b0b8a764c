"""Datagen's pure pieces on hand-made episode records in the CONTRACTS.md schema."""

from __future__ import annotations

import json

import pytest

from cargogym.datagen.decompose import decompose_records, decompose_sample, patched_files
from cargogym.datagen.mix import MixConfig, build_mix, mix_counts, to_dataset
from cargogym.datagen.pairs import build_pairs, validate_pair
from cargogym.datagen.records import episode_samples
from cargogym.datagen.samples import SampleError, make_sample, read_jsonl, validate_sample, write_jsonl

DIFF_A = "--- a/src/stats.rs\n+++ b/src/stats.rs\n@@ -1 +1 @@\n-    s / (n + 1)\n+    s / n\n"
DIFF_B = "--- a/src/order.rs\n+++ b/src/order.rs\n@@ -1 +1 @@\n-    v[n]\n+    v[n / 2]\n"
TASK = "Two tests fail: lib::stats::tests::mean and lib::order::tests::median. Fix the crate."


def _call(tool: str, args: dict, thinking: str) -> str:
    return (f"<|channel|>analysis<|message|>{thinking}<|end|><|start|>assistant<|channel|>commentary "
            f"to=functions.{tool} <|constrain|>json<|message|>{json.dumps(args)}<|call|>")


def _turn(tid, fid, tool, args, obs, thinking="next", role="agent"):
    return {"turn_id": tid, "frame_id": fid, "role": role, "phase": None, "prompt_messages": 0,
            "completion": _call(tool, args, thinking), "token_ids": None, "logprobs": None, "tool": tool,
            "arguments": args, "observation": obs, "error": None, "violation": False, "reward": 0.0,
            "duration": 0.1}


def _record(eid, turns, frames=None, delegations=0, resolved=True, reward=1.0, family="multi_bug",
            failing=(), instr=TASK):
    tests = {"lib::stats::tests::mean": "passed", "lib::order::tests::median": "passed"}
    tests.update({t: "failed" for t in failing})
    return {
        "episode_id": eid, "instance_id": "stats-multi-1", "env": "RustRepo-v0", "policy": "teacher", "seed": 0,
        "task": {"family": family, "crate": "stats", "files": ["src/stats.rs", "src/order.rs"], "n_bugs": 2,
                 "should_delegate": True, "review_label": None, "FAIL_TO_PASS": list(tests), "PASS_TO_PASS": []},
        "status": "ok", "error": None, "reward": reward, "reward_terms": {}, "rewards_by_role": {},
        "grading": {"resolved": resolved, "resolution": "FULL" if resolved else "PARTIAL", "tests": tests},
        "terminated": True, "truncated": False, "steps": len(turns), "wall_time": 1.0,
        "delegations": delegations, "conflicts": 0, "role_violations": 0, "plan": None, "review_verdict": None,
        "frames": frames or [{"frame_id": 0, "parent_id": None, "depth": 0, "role": "agent", "instructions": instr,
                              "owned_files": None, "result": None, "steps": len(turns), "conflicts": 0,
                              "edited_files": [], "parent_turn_id": None}],
        "turns": turns, "router": None,
    }


def solo_record(eid="solo-full", partial=False):
    turns = [_turn(0, 0, "run_tests", {}, "2 failed: mean, median", "Run the tests first."),
             _turn(1, 0, "apply_patch", {"diff": DIFF_A}, "applied src/stats.rs", "Fix mean.")]
    if not partial:
        turns.append(_turn(2, 0, "apply_patch", {"diff": DIFF_B}, "applied src/order.rs", "Fix median."))
    turns += [_turn(len(turns), 0, "run_tests", {}, "1 failed" if partial else "all 12 passed", "Check."),
              _turn(len(turns) + 1, 0, "submit", {}, "graded", "Submit.")]
    return _record(eid, turns, resolved=not partial, reward=0.4 if partial else 1.0,
                   failing=("lib::order::tests::median",) if partial else ())


def delegating_record(eid="deleg"):
    child = [{"frame_id": 1, "parent_id": 0, "depth": 1, "role": "coder", "instructions": "Fix median in src/order.rs",
              "owned_files": ["src/order.rs"], "result": "fixed median", "steps": 2, "conflicts": 0,
              "edited_files": ["src/order.rs"], "parent_turn_id": 1}]
    root = {"frame_id": 0, "parent_id": None, "depth": 0, "role": "agent", "instructions": TASK,
            "owned_files": None, "result": None, "steps": 3, "conflicts": 0, "edited_files": ["src/stats.rs"],
            "parent_turn_id": None}
    turns = [_turn(0, 0, "run_tests", {}, "2 failed: mean, median", "Run the tests first."),
             _turn(1, 0, "delegate_subtask", {"role": "coder", "instructions": "Fix median in src/order.rs",
                                              "context_files": ["src/order.rs"]}, "fixed median", "Delegate median."),
             _turn(2, 1, "apply_patch", {"diff": DIFF_B}, "applied src/order.rs", "Patch median.", role="coder"),
             _turn(3, 1, "submit", {"summary": "fixed median"}, "returned", "Done.", role="coder"),
             _turn(4, 0, "apply_patch", {"diff": DIFF_A}, "applied src/stats.rs", "Fix mean myself."),
             _turn(5, 0, "submit", {}, "graded", "Submit.")]
    # the child's turns are reported in order; its observation for delegate comes after the child ends
    return _record(eid, turns, frames=[root] + child, delegations=1)


def test_episode_samples_single_and_delegation():
    s = episode_samples(solo_record())
    assert len(s) == 1 and s[0]["kind"] == "single_agent" and s[0]["rebuilt"] is True
    validate_sample(s[0])
    msgs = s[0]["messages"]
    assert msgs[0] == {"role": "user", "content": TASK, "channel": None, "recipient": None, "name": None,
                       "content_type": None}
    assert [m["content"] for m in msgs if m["role"] == "tool"][:2] == ["2 failed: mean, median", "applied src/stats.rs"]
    assert s[0]["text"].endswith("<|start|>functions.submit to=assistant<|channel|>commentary<|message|>graded<|end|>")
    d = episode_samples(delegating_record())
    assert [(x["frame_id"], x["kind"], x["role"]) for x in d] == [(0, "delegation", "agent"), (1, "delegation", "coder")]
    assert "You are the CODER" in d[1]["text"] and d[1]["messages"][1]["content"] == "Fix median in src/order.rs"
    assert "type apply_patch" in d[1]["text"] and "to=functions.delegate_subtask" in d[0]["text"]
    for x in d:
        validate_sample(x)


def test_validate_sample_catches_tampering(tmp_path):
    s = episode_samples(solo_record())[0]
    bad = dict(s, text=s["text"].replace("applied src/stats.rs", "applied src/other.rs"))
    with pytest.raises(SampleError, match="differs"):
        validate_sample(bad)
    with pytest.raises(SampleError, match="not valid Harmony"):
        validate_sample(dict(s, text=s["text"].replace("<|message|>", "", 1)))
    path = tmp_path / "s.jsonl"
    write_jsonl(path, [s])
    assert read_jsonl(path) == [s]
    path.write_text("{not json\n")
    with pytest.raises(SampleError, match=r"s.jsonl:1"):
        read_jsonl(path)


def _env_roles():
    from cargogym.envs.config import load_env_config
    from cargogym.envs.roles import load_roles

    cfg = load_env_config("env")
    return cfg, load_roles(cfg.roles)


def _check_env_opening(s, cfg, roles):
    """The sample opens as MultiRoleRust-v0 opens the phase: system prompt, role prompt, role tools."""
    from cargogym.envs.tools import TOOL_ORDER

    system, dev, user = s["messages"][:3]
    assert (system["role"], system["content"]) == ("system", cfg.system_prompt)
    assert (dev["role"], dev["content"]) == ("developer", roles.roles[s["role"]].prompt)
    assert user["role"] == "user" and user["content"].startswith(TASK) and "## Handoff" not in user["content"]
    assert [t["name"] for t in s["tools"]] == [t for t in TOOL_ORDER if t in roles.roles[s["role"]].tools]


def test_decompose_single_agent_into_roles():
    cfg, roles = _env_roles()
    rec = solo_record()
    out = decompose_records([rec, delegating_record()])
    assert [s["role"] for s in out] == ["planner", "coder", "reviewer", "tester"]
    assert all(s["kind"] == "multi_role" and s["source"] == "decompose" for s in out)
    for s in out:
        validate_sample(s)
        _check_env_opening(s, cfg, roles)
    planner, coder, reviewer, tester = out
    assert not planner["tools"] and "delegate_subtask" in [t["name"] for t in coder["tools"]]
    assert "cargo_check" in [t["name"] for t in reviewer["tools"]]
    assert not {"cargo_check", "delegate_subtask"} & {t["name"] for t in tester["tools"]}
    plan = json.loads(planner["messages"][-1]["content"])
    assert [st["files"] for st in plan["subtasks"]] == [["src/stats.rs"], ["src/order.rs"]]
    # the coder ends its phase with submit (no tool result: the env gives none), which the next phases hear
    assert coder["messages"][-1]["recipient"] == "functions.submit" and coder["phase_event"] == "done"
    summary = json.loads(coder["messages"][-1]["content"])["summary"]
    review_prompt = reviewer["messages"][2]["content"]
    assert f"## Plan\n0. [coder] {plan['subtasks'][0]['description']}" in review_prompt
    assert f"## coder (done)\n{summary}\n\n## Current change (diff against the starting state)\n" in review_prompt
    assert DIFF_A.rstrip() in review_prompt and DIFF_B.rstrip() in review_prompt  # no task: the agent's patches
    assert review_prompt.endswith("You are now the REVIEWER.") and not reviewer["diff_exact"]
    assert reviewer["messages"][-1]["content"].startswith("APPROVE") and reviewer["phase_event"] == "approve"
    assert [m["content"] for m in reviewer["messages"] if m["role"] == "tool"] == ["all 12 passed"]  # a real run
    verdict = reviewer["messages"][-1]["content"]
    assert f"## reviewer (approve)\n{verdict}" in tester["messages"][2]["content"]
    # every tool result in the decomposition is one the agent really got
    real = {t["observation"] for t in rec["turns"]}
    assert {m["content"] for s in out for m in s["messages"] if m["role"] == "tool"} <= real
    assert [m["content"] for m in tester["messages"] if m["role"] == "tool"] == ["all 12 passed"]
    assert tester["messages"][-1]["recipient"] == "functions.submit"


def test_decompose_unresolved_requests_changes():
    cfg, roles = _env_roles()
    s = episode_samples(solo_record("p", partial=True))[0]
    rec = solo_record("p", partial=True)
    assert decompose_sample(s, rec["grading"]) == []
    out = decompose_sample(s, rec["grading"], include_unresolved=True)
    # REQUEST_CHANGES sends the env back to the coder: the agent's turns all stay with the coder, no tester
    assert [x["role"] for x in out] == ["planner", "coder", "reviewer"]
    for x in out:
        _check_env_opening(x, cfg, roles)
    coder, reviewer = out[1], out[2]
    assert [m["content"] for m in coder["messages"] if m["role"] == "tool"] == \
        ["2 failed: mean, median", "applied src/stats.rs", "1 failed"]
    assert coder["messages"][-1]["recipient"] == "functions.submit"
    assert "## coder (done)\n(no message)" in reviewer["messages"][2]["content"]  # submit without a summary
    verdict = reviewer["messages"][-1]["content"]
    assert verdict.startswith("REQUEST_CHANGES") and "lib::order::tests::median" in verdict
    assert reviewer["phase_event"] == "request_changes"
    assert patched_files(DIFF_A + DIFF_B) == ["src/stats.rs", "src/order.rs"]


def test_decompose_skips_what_the_env_would_cut_short():
    """A coder phase over the env's phase_step_budget would have ended by budget: no samples."""
    _, roles = _env_roles()
    budget = roles.phases.phase_step_budget
    reads = [_turn(i, 0, "read_file", {"path": "src/stats.rs"}, "fn mean() {}", "Read.") for i in range(budget)]
    n = len(reads)
    turns = reads + [_turn(n, 0, "apply_patch", {"diff": DIFF_A}, "applied src/stats.rs", "Fix."),
                     _turn(n + 1, 0, "submit", {}, "graded", "Submit.")]
    assert decompose_records([_record("long", turns)]) == []
    assert len(decompose_records([_record("short", turns[-2:])])) == 4


def test_pairs_in_trl_dpo_format():
    from cargogym.harmony.tokenizer import build_hf_tokenizer

    recs = [delegating_record(), solo_record("solo-partial", partial=True), solo_record("solo-full")]
    rows, stats = build_pairs(recs)
    assert stats.pairs == 1 and len(rows) == 1
    r = rows[0]
    assert r["chosen_episode"] == "deleg" and r["rejected_episode"] == "solo-partial"
    assert r["prompt"].endswith("<|start|>assistant") and r["chosen"].startswith("<|channel|>analysis")
    assert "delegate_subtask" in r["chosen"] and "delegate_subtask" not in r["rejected"]
    assert r["chosen"].endswith("<|end|>")
    validate_pair(r)
    tok = build_hf_tokenizer()
    assert tok(r["prompt"])["input_ids"] + tok(r["chosen"])["input_ids"] == tok(r["prompt"] + r["chosen"])["input_ids"]
    first, _ = build_pairs(recs, scope="first_turn")
    assert first[0]["chosen"].endswith("<|call|>") and "fixed median" not in first[0]["chosen"]
    # a solo run with another task text gives a different prompt: skipped, not paired
    other = solo_record("solo-other", partial=True)
    other["frames"][0]["instructions"] = "something else"
    rows2, stats2 = build_pairs([delegating_record(), other])
    assert rows2 == [] and stats2.skipped == {"prompts differ (env, tools or task text)": 1}


def _fake_pool(kind, n):
    msgs = [{"role": "user", "content": f"{kind} task"}, {"role": "assistant", "channel": "final", "content": "ok"}]
    return [make_sample(id=f"{kind}-{i:03d}", messages=msgs, tools=[], source="teacher", kind=kind, resolved=True)
            for i in range(n)]


def test_mix_ratios_determinism_and_dataset():
    pool = _fake_pool("single_agent", 30) + _fake_pool("multi_role", 20) + _fake_pool("delegation", 6)
    mix, summary = build_mix(pool, MixConfig(seed=3))
    assert summary["taken"] == {"single_agent": 24, "multi_role": 10, "delegation": 6} and len(mix) == 40
    again, _ = build_mix(list(reversed(pool)), MixConfig(seed=3))
    assert [s["id"] for s in again] == [s["id"] for s in mix]
    other, _ = build_mix(pool, MixConfig(seed=4))
    assert [s["id"] for s in other] != [s["id"] for s in mix]
    assert mix_counts({"single_agent": 1, "multi_role": 1, "delegation": 1},
                      {"single_agent": .6, "multi_role": .25, "delegation": .15}, 20, allow_repeats=True) == \
        {"single_agent": 12, "multi_role": 5, "delegation": 3}
    with pytest.raises(SampleError, match="delegation: need 15, have 6"):
        build_mix(pool, MixConfig(total=100))
    ds = to_dataset(mix[:5])
    assert set(ds.column_names) == {"input_ids", "assistant_masks", "id", "kind"}
    row = ds[0]
    assert len(row["input_ids"]) == len(row["assistant_masks"]) and row["input_ids"][-1] == 200002
    assert to_dataset(mix[:2], tokenized=False).column_names == ["text", "id", "kind"]
