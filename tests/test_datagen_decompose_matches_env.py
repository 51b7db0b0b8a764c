"""Decomposed multi-role samples show exactly what the real MultiRoleRust-v0 shows each phase.

Real cargo, real envs, the scripted oracle: (1) the decomposer's phase renderer, given the phases an
oracle MultiRoleRust-v0 episode played, rebuilds every frame's conversation and tools; (2) the
decomposition of an oracle single-agent (RustRepo-v0) episode, replayed turn by turn in
MultiRoleRust-v0, gives frames equal to the samples (system/developer/user opening, tools, and
every turn and tool result)."""

from __future__ import annotations

import gymnasium as gym
import pytest

from cargogym.datagen.decompose import Phase, decompose_records, opening_diffs, phase_conversations
from cargogym.datagen.samples import validate_sample
from cargogym.policies.registry import make_scripted_policy

pytestmark = pytest.mark.slow


def _play(env_id: str, task, policy, max_steps: int = 60) -> dict:
    env = gym.make(env_id, task=[task])
    try:
        env.reset(seed=0, options={"task": task.instance_id})
        if hasattr(policy, "begin_episode"):
            policy.begin_episode(env.unwrapped)
        for _ in range(max_steps):
            _, _, terminated, truncated, _ = env.step(policy.act(env.unwrapped))
            if terminated or truncated:
                break
        return env.unwrapped.trajectory()
    finally:
        env.close()


@pytest.fixture(scope="module")
def single_bug(envs_ledger_suite):
    return envs_ledger_suite["single_bug"]


@pytest.fixture(scope="module")
def oracle_records(single_bug):
    """The oracle's episodes on one task in both envs."""
    return {"multi": _play("cargogym/MultiRoleRust-v0", single_bug, make_scripted_policy("oracle")),
            "single": _play("cargogym/RustRepo-v0", single_bug, make_scripted_policy("oracle"))}


def _opening(messages: list[dict]) -> list[dict]:
    return [m for m in messages[:3] if m["role"] in ("system", "developer", "user")]


def test_phase_renderer_rebuilds_oracle_multi_role_frames(oracle_records, single_bug):
    multi, single = oracle_records["multi"], oracle_records["single"]
    assert multi["status"] == "ok" and multi["grading"]["resolved"] and multi["role_violations"] == 0
    frames = multi["frames"]
    assert [f["role"] for f in frames] == ["planner", "coder", "reviewer", "tester"]
    phases = [Phase(f["role"], f["messages"][3:], f["ended_by"], f["result"] or "") for f in frames]
    diffs, exact = opening_diffs(phases, single_bug)
    assert exact and diffs[0] == diffs[1] == "" and diffs[2] == diffs[3] != ""
    task_text = next(m["content"] for m in single["frames"][0]["messages"] if m["role"] == "user")
    convs = phase_conversations(task_text, phases, diffs)
    for conv, frame in zip(convs, frames, strict=True):
        assert _opening(conv["messages"]) == _opening(frame["messages"]), frame["role"]
        assert len(_opening(frame["messages"])) == 3
        assert conv["tools"] == frame["tools"], frame["role"]


def _completion(messages: list[dict]) -> str:
    """Harmony completion text of one turn's assistant messages (analysis, then a call or a final)."""
    parts = []
    for m in messages:
        if m.get("recipient"):
            parts.append(f"<|channel|>commentary to={m['recipient']} <|constrain|>json<|message|>{m['content']}<|call|>")
        elif m["channel"] == "final":
            parts.append(f"<|channel|>final<|message|>{m['content']}<|return|>")
        else:
            parts.append(f"<|channel|>{m['channel']}<|message|>{m['content']}<|end|>")
    return "<|start|>assistant".join(parts)


def _turns(sample: dict) -> list[str]:
    """The sample's assistant turns as completions (a turn ends with a tool call or a final message)."""
    out, cur = [], []
    for m in sample["messages"][3:]:
        if m["role"] != "assistant":
            continue
        cur.append(m)
        if m.get("recipient") or m["channel"] == "final":
            out.append(_completion(cur))
            cur = []
    assert not cur, "a turn without a call or a final message"
    return out


class ReplayPolicy:
    """Plays each phase frame with the turns of the decomposed sample for that phase."""

    def __init__(self, samples: list[dict]):
        self.queues = {i: _turns(s) for i, s in enumerate(samples)}

    def act(self, env) -> str:
        frame = env.active_frame()
        return self.queues[frame.frame_id].pop(0)


def test_decomposed_oracle_episode_replays_identically_in_multi_role_env(oracle_records, single_bug):
    single = oracle_records["single"]
    assert single["status"] == "ok" and single["grading"]["resolved"]
    samples = decompose_records([single], tasks=[single_bug])
    assert [s["role"] for s in samples] == ["planner", "coder", "reviewer", "tester"]
    assert all(s["diff_exact"] for s in samples)
    for s in samples:
        validate_sample(s)
    policy = ReplayPolicy(samples)
    rec = _play("cargogym/MultiRoleRust-v0", single_bug, policy)
    assert all(not q for q in policy.queues.values())          # every decomposed turn was played
    assert rec["status"] == "ok" and rec["grading"]["resolved"] and rec["review_verdict"] == "APPROVE"
    assert not any(t["error"] or t["violation"] for t in rec["turns"])
    frames = rec["frames"]
    assert [f["role"] for f in frames] == [s["role"] for s in samples]
    assert [f["ended_by"] for f in frames[:3]] == [s["phase_event"] for s in samples[:3]]
    for s, frame in zip(samples, frames, strict=True):
        assert _opening(s["messages"]) == _opening(frame["messages"]), s["role"]    # system, developer, user
        assert s["tools"] == frame["tools"], s["role"]
        assert s["messages"] == frame["messages"], s["role"]                        # and every turn after
