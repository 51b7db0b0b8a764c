"""Multi-role and delegation trajectories <-> Harmony samples, round trips through openai-harmony."""

from __future__ import annotations

import pytest

from cargogym.harmony.formatters import get_formatter
from cargogym.harmony.multi_agent import (
    TrajectoryFormatError,
    canonical_trajectory,
    format_harmony_multi_agent,
    parse_harmony_multi_agent,
)
from cargogym.harmony.render import render_training

MULTI_ROLE = {
    "task": "Fix `mean` in src/stats.rs: it divides by len + 1. Test: lib::stats::tests::mean_of_three.",
    "roles": ["planner", "coder", "reviewer", "tester"],
    "trajectory": [
        {"role": "planner", "thinking": "One bug in stats.rs.", "tool_calls": [], "tool_results": [],
         "response": '{"subtasks": [{"description": "fix mean", "files": ["src/stats.rs"], "role": "coder"}], "order": [0]}'},
        {"role": "coder", "thinking": "Read the file first.",
         "tool_calls": [{"name": "read_file", "arguments": {"path": "src/stats.rs"}}],
         "tool_results": ["1: pub fn mean(xs: &[f64]) -> f64 { xs.iter().sum::<f64>() / (xs.len() + 1) as f64 }"],
         "response": None},
        {"role": "coder", "thinking": "Divide by len.",
         "tool_calls": [{"name": "apply_patch", "arguments": {"diff": "--- a/src/stats.rs\n+++ b/src/stats.rs\n"}},
                        {"name": "run_tests", "arguments": {}}],
         "tool_results": ["applied: src/stats.rs", "12 passed, 0 failed"], "response": None},
        {"role": "coder", "thinking": "Done.", "tool_calls": [{"name": "submit", "arguments": {"summary": "fixed mean"}}],
         "tool_results": ["submitted"], "response": None},
        {"role": "reviewer", "thinking": "The diff is minimal — ✓ ünïcode.", "tool_calls": [], "tool_results": [],
         "response": "APPROVE: divides by len now."},
        {"role": "tester", "thinking": "Run the suite.", "tool_calls": [{"name": "run_tests", "arguments": {}}],
         "tool_results": ["12 passed, 0 failed"], "response": "All green."},
    ],
}

DELEGATION = {
    "task": "Two bugs: `mean` in src/stats.rs and `median` in src/order.rs.",
    "roles": ["coder"],
    "trajectory": [
        {"role": "coder", "thinking": "Delegate each bug.",
         "tool_calls": [
             {"name": "delegate_subtask",
              "arguments": {"role": "coder", "instructions": "Fix mean in src/stats.rs", "context_files": ["src/stats.rs"]},
              "child": {"role": "coder", "trajectory": [
                  {"role": "coder", "thinking": "Patch mean.",
                   "tool_calls": [{"name": "apply_patch", "arguments": {"diff": "d1"}}],
                   "tool_results": ["applied"], "response": None},
                  {"role": "coder", "thinking": "Submit.", "tool_calls": [{"name": "submit", "arguments": {"summary": "mean fixed"}}],
                   "tool_results": ["submitted"], "response": None}]}},
             {"name": "delegate_subtask",
              "arguments": {"role": "tester", "instructions": "Check median in src/order.rs", "context_files": ["src/order.rs"]},
              "child": {"role": "tester", "trajectory": [
                  {"role": "tester", "thinking": "Run tests.", "tool_calls": [{"name": "run_tests", "arguments": {"filter": "median"}}],
                   "tool_results": ["1 failed"], "response": "median still fails"}]}},
         ],
         "tool_results": ["mean fixed", "median still fails"], "response": None},
        {"role": "coder", "thinking": "Fix median myself.",
         "tool_calls": [{"name": "apply_patch", "arguments": {"diff": "d2"}}, {"name": "submit", "arguments": {}}],
         "tool_results": ["applied", "graded: FULL"], "response": None},
    ],
}


@pytest.mark.parametrize("formatter", ["harmony", "seed"])
@pytest.mark.parametrize("traj", [MULTI_ROLE, DELEGATION], ids=["multi_role", "delegation"])
def test_round_trip(traj, formatter):
    samples = format_harmony_multi_agent(traj, formatter=formatter)
    back = parse_harmony_multi_agent(samples, formatter=formatter)
    assert back == canonical_trajectory(traj)
    # teacher-style steps (each opens with thinking) round-trip exactly, modulo 'roles' order
    assert back["trajectory"] == traj["trajectory"]
    for s in samples:
        get_formatter(formatter).validate(s["text"], s["messages"])


def test_multi_role_samples_state_role_and_handoff():
    samples = format_harmony_multi_agent(MULTI_ROLE)
    assert [s["role"] for s in samples] == ["planner", "coder", "reviewer", "tester"]
    assert "You are the PLANNER" in samples[0]["text"] and "namespace functions" not in samples[0]["text"]
    coder = samples[1]
    assert "You are the CODER" in coder["text"] and "type apply_patch" in coder["text"]
    assert "## Handoff\n[planner] {\"subtasks\"" in coder["messages"][0]["content"]
    assert "[coder]" not in samples[2]["messages"][0]["content"]  # coder gave no final response
    ids, mask = render_training(coder["messages"], coder["tools"], coder["role_prompt"])
    last_target = max(i for i, m in enumerate(mask) if m)
    assert ids[last_target] == 200012  # the submit call; its tool result is context only
    assert samples[-1]["messages"][-1]["channel"] == "final"
    assert render_training(samples[-1]["messages"], samples[-1]["tools"])[0][-1] == 200002


def test_delegation_children_start_from_instructions_only():
    samples = format_harmony_multi_agent(DELEGATION)
    assert [(s["frame_id"], s["parent_id"], s["depth"], s["role"]) for s in samples] == [
        (0, None, 0, "coder"), (1, 0, 1, "coder"), (2, 0, 1, "tester")]
    child = samples[1]
    assert child["messages"][0]["content"] == "Fix mean in src/stats.rs\n\nContext files: src/stats.rs"
    assert "Two bugs" not in child["text"]
    assert "to=functions.delegate_subtask" in samples[0]["text"]
    assert "You are the TESTER" in samples[2]["text"]


@pytest.mark.parametrize("bad, needle", [
    ({"trajectory": []}, "needs a 'task'"),
    ({"task": "t", "trajectory": [{"thinking": "x"}]}, "needs a 'role'"),
    ({"task": "t", "trajectory": [{"role": "coder", "tool_calls": [{"name": "run_tests", "arguments": {}}],
                                   "tool_results": []}]}, "1 tool calls but 0 results"),
])
def test_bad_trajectories_raise(bad, needle):
    with pytest.raises(TrajectoryFormatError, match=needle):
        format_harmony_multi_agent(bad)
