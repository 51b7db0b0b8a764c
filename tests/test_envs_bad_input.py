"""Bad actions give a clear error observation, never a crash and never a changed workspace."""

from __future__ import annotations

import json

import gymnasium
import pytest

import cargogym.envs  # noqa: F401


def call(tool: str, raw_args: str) -> str:
    return f"<|channel|>commentary to=functions.{tool} <|constrain|>json<|message|>{raw_args}<|call|>"


def nested(depth: int) -> dict:
    value: object = "src/lib.rs"
    for _ in range(depth):
        value = {"path": value}
    return value  # type: ignore[return-value]


def snapshot(env) -> dict[str, str]:
    ws = env.unwrapped.workspace
    return {rel: ws.read_text(rel) for rel in ws.list_files(".")}


GOOD_MONEY_HUNK = ("--- a/src/money.rs\n+++ b/src/money.rs\n@@ -1,1 +1,1 @@\n"
                   "-//! Integer-cent amounts: parsing, formatting, allocation and rates.\n+//! MONEY\n")

BAD_ACTIONS = [
    ("malformed JSON", call("read_file", '{"path": "src/lib.rs"'), "not valid JSON"),
    ("arguments not an object", call("apply_patch", '"--- a"'), "must be a JSON object"),
    ("unknown tool", call("rm_rf", "{}"), "unknown tool 'rm_rf'"),
    ("unknown tool (dict)", {"tool": "shell", "arguments": {"cmd": "ls"}}, "unknown tool 'shell'"),
    ("missing argument", {"tool": "read_file", "arguments": {}}, "missing required argument(s) path"),
    ("mistyped argument", {"tool": "read_file", "arguments": {"path": ["src/lib.rs"]}}, "'path' must be string"),
    ("extra argument", {"tool": "run_tests", "arguments": {"filter": "x", "jobs": 4}}, "unknown argument(s) jobs"),
    ("no tool call", "<|channel|>analysis<|message|>I will think about it.<|end|>", "no tool call"),
    ("plain prose", "Let me fix the bug by editing money.rs", "not valid Harmony"),
    ("empty", "", "empty completion"),
    ("over-long", call("apply_patch", json.dumps({"diff": "x" * 70000})), "action too long"),
    ("wrong action type", 42, "must be a completion string or a dict"),
    ("bad token ids", {"token_ids": [1, "a"]}, "list of integers"),
    ("token id out of range", {"token_ids": [200, 10**30]}, "integers in 0..2147483647"),
    ("logprob overflow", {"completion": "x", "logprobs": [10**400]}, "'logprobs' must be a list of numbers"),
    # Python values a JSON action cannot hold: refused before anything copies or records them
    ("generator argument", {"tool": "read_file", "arguments": {"path": (c for c in "src/lib.rs")}},
     "a generator value is not JSON in argument 'path'"),
    ("set argument", {"tool": "search", "arguments": {"pattern": {"fn"}}}, "a set value is not JSON in argument 'pattern'"),
    ("int argument name", {"tool": "read_file", "arguments": {"path": "src/lib.rs", 1: "x"}},
     "argument names must be strings, got int 1"),
    ("tuple argument name", {"tool": "read_file", "arguments": {("a", 1): "x"}},
     "argument names must be strings, got tuple"),
    ("huge integer", {"tool": "read_file", "arguments": {"path": "src/lib.rs", "start": 10**5000}},
     "an integer beyond 64 bits in argument 'start'"),
    ("NaN argument", {"tool": "read_file", "arguments": {"path": "src/lib.rs", "start": float("nan")}},
     "nan is not a JSON number in argument 'start'"),
    ("deeply nested arguments", {"tool": "read_file", "arguments": nested(5000)}, "arguments nest deeper than 32 levels"),
    ("deeply nested final", {"final": nested(5000)}, "'final' must be a string"),
    ("bytes action", b"<|channel|>final<|message|>done<|return|>", "must be a completion string or a dict, got bytes"),
    ("None action", None, "must be a completion string or a dict, got NoneType"),
    ("non-str tool name", {"tool": b"read_file", "arguments": {"path": "src/lib.rs"}}, "'tool' must be a non-empty string"),
    ("path escape", {"tool": "read_file", "arguments": {"path": "../../etc/passwd"}}, "leaves the crate"),
    ("absolute path", {"tool": "read_file", "arguments": {"path": "/etc/passwd"}}, "relative to the crate root"),
    ("missing file", {"tool": "read_file", "arguments": {"path": "src/nope.rs"}}, "no such file"),
    ("empty diff", {"tool": "apply_patch", "arguments": {"diff": "  "}}, "diff is empty"),
    ("patch outside", {"tool": "apply_patch", "arguments": {"diff": "--- a/../x.rs\n+++ b/../x.rs\n@@ -1 +1 @@\n-a\n+b\n"}},
     "patch not applied"),
    # the first file's hunk matches, the second file's does not: nothing is applied (atomic)
    ("half-failing patch", {"tool": "apply_patch", "arguments": {"diff": GOOD_MONEY_HUNK + (
        "--- a/src/account.rs\n+++ b/src/account.rs\n@@ -1,1 +1,1 @@\n-this line does not exist\n+x\n")}},
     "patch not applied (nothing was changed): hunk #1 of src/account.rs (@@ -1,1 +1,1 @@) does not apply"),
    ("half-failing patch, one file", {"tool": "apply_patch", "arguments": {"diff": GOOD_MONEY_HUNK + (
        "@@ -3,1 +3,1 @@\n-use std::fmt::Nope;\n+x\n")}},
     "hunk #2 of src/money.rs (@@ -3,1 +3,1 @@) does not apply"),
]


@pytest.fixture(scope="module")
def env(envs_ledger_suite):
    e = gymnasium.make("cargogym/RustRepo-v0", task=envs_ledger_suite["single_bug"], max_steps=100)
    yield e
    e.close()


@pytest.mark.parametrize("name,action,fragment", BAD_ACTIONS, ids=[b[0] for b in BAD_ACTIONS])
def test_bad_action_gives_error_observation(env, name, action, fragment):
    env.reset(seed=0)
    before = snapshot(env)
    n_msgs = len(env.unwrapped.messages())
    obs, reward, terminated, truncated, info = env.step(action)
    assert obs.startswith("error: ") and fragment in obs, obs
    assert info["error"] and fragment in info["error"]
    assert not terminated and not truncated and reward == 0.0
    assert snapshot(env) == before
    msgs = env.unwrapped.messages()
    assert len(msgs) > n_msgs and msgs[-1]["content"] == obs  # the agent hears about it
    turn = env.unwrapped.trajectory()["turns"][-1]
    assert turn["error"] == info["error"] and turn["observation"] == obs
    # the episode goes on: a valid call still works
    obs, *_ = env.step({"tool": "read_file", "arguments": {"path": "src/lib.rs", "start": 1, "end": 2}})
    assert obs.startswith("src/lib.rs (lines 1-2")


def test_half_failing_patch_is_atomic(env):
    """The good hunk of a half-failing patch applies on its own, but not together with a bad one."""
    env.reset(seed=0)
    start = env.unwrapped.workspace.read_text("src/money.rs")
    bad = next(action for name, action, _ in BAD_ACTIONS if name == "half-failing patch, one file")
    obs, *_ = env.step(bad)
    assert obs.startswith("error: patch not applied") and "hunk #2 of src/money.rs" in obs
    assert env.unwrapped.workspace.read_text("src/money.rs") == start and env.unwrapped.current_diff() == ""
    obs, *_ = env.step({"tool": "apply_patch", "arguments": {"diff": GOOD_MONEY_HUNK}})
    assert obs.startswith("patch applied"), obs
    assert env.unwrapped.workspace.read_text("src/money.rs").startswith("//! MONEY\n")


def test_step_after_end_and_before_reset(envs_ledger_suite):
    from cargogym.envs.rust_repo import RustRepoEnv

    raw = RustRepoEnv(task=envs_ledger_suite["single_bug"])
    obs, reward, terminated, truncated, info = raw.step({"tool": "submit", "arguments": {}})
    assert obs == "error: call reset() first" and terminated and reward == 0.0
    raw.reset(seed=0)
    obs, reward, terminated, truncated, info = raw.step({"tool": "submit", "arguments": {}})
    assert terminated and info["grading"]["resolution"] == "NO"
    steps = raw.trajectory()["steps"]
    obs, reward, terminated, truncated, info = raw.step({"tool": "apply_patch", "arguments": {"diff": "x"}})
    assert obs == "error: the episode has ended; call reset()" and terminated and not truncated and reward == 0.0
    assert raw.trajectory()["steps"] == steps
    raw.close()


def test_error_only_episode_truncates_as_agent_error(envs_ledger_suite):
    env = gymnasium.make("cargogym/RustRepo-v0", task=envs_ledger_suite["single_bug"], max_steps=3,
                         grade_on_truncation=False)
    env.reset(seed=0)
    for i in range(3):
        obs, reward, terminated, truncated, info = env.step("garbage")
    assert truncated and not terminated and "episode truncated: step budget of 3 turns" in obs
    rec = env.unwrapped.trajectory()
    assert rec["status"] == "agent_error" and rec["grading"] is None and rec["truncated"]
    env.close()


def test_token_budget_truncates(envs_ledger_suite):
    env = gymnasium.make("cargogym/RustRepo-v0", task=envs_ledger_suite["single_bug"], token_budget=50,
                         grade_on_truncation=False)
    env.reset(seed=0)
    obs, reward, terminated, truncated, info = env.step({"tool": "read_file", "arguments": {"path": "src/money.rs"}})
    assert truncated and "token budget of 50 tokens" in obs
    env.close()


def test_token_budget_zero_means_none_and_negative_is_refused(envs_ledger_suite):
    from cargogym.config import ConfigError

    env = gymnasium.make("cargogym/RustRepo-v0", task=envs_ledger_suite["single_bug"], token_budget=0, max_steps=5)
    env.reset(seed=0)
    for _ in range(3):
        obs, reward, terminated, truncated, info = env.step({"tool": "read_file", "arguments": {"path": "src/money.rs"}})
        assert not truncated and "episode truncated" not in obs
    assert info["tokens"] > 50
    env.close()
    with pytest.raises(ConfigError, match="token_budget must be >= 0"):
        gymnasium.make("cargogym/RustRepo-v0", task=envs_ledger_suite["single_bug"], token_budget=-1)
