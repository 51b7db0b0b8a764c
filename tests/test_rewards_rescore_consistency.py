"""Rescoring a stored episode with the spec the env used reproduces the env's reward exactly;
another spec changes it without re-running cargo."""

from __future__ import annotations

import pytest

from cargogym.rewards.rescore import rescore_episode
from cargogym.rewards.spec import RewardSpec
from cargogym.rollouts.episode import make_env, play_scripted_episode
from cargogym.policies.registry import make_scripted_policy


@pytest.mark.parametrize("spec_name", ["default", "shaped"])
@pytest.mark.parametrize("policy", ["oracle", "random"])
def test_rescore_with_same_spec_reproduces_env_reward(envs_ledger_suite, spec_name, policy):
    task = envs_ledger_suite["single_bug"]
    env = make_env("RustRepo-v0", task.to_dict(), {"reward": spec_name, "max_steps": 8})
    try:
        rec = play_scripted_episode(env, make_scripted_policy(policy, seed=3),
                                    {"episode_key": "k", "task": task.to_dict(), "seed": 3})
    finally:
        env.close()
    assert rec["reward_spec"] == spec_name
    again = rescore_episode(rec, RewardSpec.load(spec_name))
    assert again["reward"] == pytest.approx(rec["reward"], abs=1e-9)
    binary = rescore_episode(rec, RewardSpec.load("resolved"))
    resolved = bool(rec["grading"] and rec["grading"]["resolved"])
    assert binary["reward"] == pytest.approx(1.0 if resolved else 0.0, abs=1e-9)


@pytest.mark.parametrize("family", ["single_bug", "multi_bug", "compile_error"])
def test_doing_nothing_earns_nothing_under_the_default_spec(envs_ledger_suite, family):
    """Keeping PASS_TO_PASS green is free for a no-op: the default spec must not pay for it."""
    task = envs_ledger_suite[family]
    env = make_env("RustRepo-v0", task.to_dict(), {"reward": "default"})
    try:
        rec = play_scripted_episode(env, make_scripted_policy("noop"),
                                    {"episode_key": "k", "task": task.to_dict(), "seed": 0})
    finally:
        env.close()
    assert rec["grading"]["resolution"] == "NO"
    assert rec["reward"] <= 0.0
