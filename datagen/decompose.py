"""Decompose single-agent trajectories into planner / coder / reviewer / tester segments (seed strategy 2).

Input: one single-agent frame conversation (``messages``: user task, then the agent's steps with
their real tool results) and what grading said. Output: a multi-role trajectory
(:mod:`cargogym.harmony.multi_agent` schema) and its samples (``kind="multi_role"``):

- planner (injected, no tools): templated reasoning and a JSON plan with one subtask per file the
  agent actually patched;
- coder: the agent's steps up to and including its last ``apply_patch``, with a templated hand-off
  that quotes the real diffs it applied;
- reviewer (injected, no tools): reads the hand-off; ``APPROVE`` when grading resolved the task,
  else ``REQUEST_CHANGES`` naming the tests grading saw fail;
- tester: the agent's steps after its last patch (test runs, submit), when there are any.

Every tool result is one the agent really got; only the injected turns' wording is templated.
"""

from __future__ import annotations

import json
import re
from typing import Any

from cargogym.harmony.multi_agent import format_harmony_multi_agent, steps_from_messages

_PLUS = re.compile(r"^\+\+\+ b/(\S+)", re.M)
_BEGIN = re.compile(r"^\*\*\* (?:Update|Add) File: (\S+)", re.M)


def patched_files(diff: str) -> list[str]:
    """Files a unified diff (or ``*** Begin Patch``) writes, in order of appearance."""
    return list(dict.fromkeys(_PLUS.findall(diff) + _BEGIN.findall(diff)))


def _diffs(steps: list[dict]) -> list[str]:
    return [c["arguments"].get("diff", "") for s in steps for c in s["tool_calls"] if c["name"] == "apply_patch"]


def decompose_messages(messages: list[dict], resolved: bool, failing_tests: list[str] | None = None,
                       edited_files: list[str] | None = None) -> dict | None:
    """The multi-role trajectory of one single-agent conversation, or None when it has no patch."""
    task = next((m["content"] for m in messages if m["role"] == "user"), None)
    if task is None:
        return None
    steps = steps_from_messages([m for m in messages if m["role"] in ("assistant", "tool")], "coder")
    last_patch = max((i for i, s in enumerate(steps) if any(c["name"] == "apply_patch" for c in s["tool_calls"])),
                     default=None)
    if last_patch is None:
        return None
    coder, tester = steps[: last_patch + 1], steps[last_patch + 1:]
    diffs = _diffs(coder)
    files = edited_files or list(dict.fromkeys(f for d in diffs for f in patched_files(d)))
    plan = {"subtasks": [{"description": f"Fix the faulty code in {f} so the failing tests pass.",
                          "files": [f], "role": "coder"} for f in files],
            "order": list(range(len(files)))}
    planner = {"role": "planner", "tool_calls": [], "tool_results": [],
               "thinking": (f"The task needs changes in {len(files)} file(s): {', '.join(files) or 'unknown'}. "
                            "One subtask per file, in that order; the coder verifies with the tests."),
               "response": json.dumps(plan)}
    coder = [dict(s) for s in coder]
    coder[-1] = dict(coder[-1], response=coder[-1].get("response") or
                     "Applied the following change:\n```diff\n" + "\n".join(d.rstrip() for d in diffs) + "\n```")
    if resolved:
        verdict = ("APPROVE: the change is limited to " + ", ".join(files)
                   + " and addresses the failing behaviour; the tests confirm it.")
    else:
        failing = ", ".join((failing_tests or [])[:6]) or "the target tests"
        verdict = f"REQUEST_CHANGES: the change does not fix everything yet; still failing: {failing}."
    reviewer = {"role": "reviewer", "tool_calls": [], "tool_results": [],
                "thinking": f"Review the diff against the task. Files touched: {', '.join(files) or 'none'}.",
                "response": verdict}
    tester = [dict(s, role="tester") for s in tester]
    return {"task": task, "roles": ["planner", "coder", "reviewer"] + (["tester"] if tester else []),
            "trajectory": [planner, *coder, reviewer, *tester]}


def _failing(grading: dict) -> list[str]:
    return sorted(n for n, st in (grading.get("tests") or {}).items() if st != "passed")


def decompose_sample(sample: dict, grading: dict | None = None, include_unresolved: bool = False,
                     formatter: str = "harmony") -> list[dict]:
    """Multi-role samples from one single-agent sample (empty when it cannot be decomposed)."""
    from cargogym.datagen.samples import make_sample

    grading = grading or {}
    resolved = bool(grading.get("resolved", sample.get("resolved")))
    if not resolved and not include_unresolved:
        return []
    traj = decompose_messages(sample["messages"], resolved, _failing(grading))
    if traj is None:
        return []
    tools = {"planner": [], "reviewer": [], "coder": sample.get("tools") or [],
             "tester": sample.get("tools") or []}
    out = []
    for s in format_harmony_multi_agent(traj, tools=tools, formatter=formatter):
        msgs = [{"role": "developer", "content": s["role_prompt"]}] + s["messages"]
        out.append(make_sample(
            id=f"{sample['id']}:decomp:{s['frame_id']}", messages=msgs, tools=s["tools"], source="decompose",
            kind="multi_role", formatter=formatter, instance_id=sample.get("instance_id"),
            family=sample.get("family"), episode_id=sample.get("episode_id"), frame_id=s["frame_id"],
            parent_id=None, depth=0, role=s["role"], resolved=resolved, reward=sample.get("reward"),
            decomposed_from=sample["id"]))
    return out


def decompose_records(records: list[dict[str, Any]], include_unresolved: bool = False,
                      formatter: str = "harmony") -> list[dict]:
    """Decompose the root frame of every single-agent episode record (no delegation) into samples."""
    from cargogym.datagen.records import episode_samples

    out = []
    for rec in records:
        if (rec.get("delegations") or 0) > 0 or str(rec.get("env", "")).startswith("MultiRole"):
            continue
        if rec.get("status", "ok") != "ok":
            continue
        roots = [s for s in episode_samples(rec, source="rollout") if s["depth"] == 0]
        for s in roots:
            out += decompose_sample(s, rec.get("grading"), include_unresolved, formatter)
    return out
