"""Scripted policies: ``oracle`` (solves with the gold patch), ``random`` and ``noop`` baselines.

They act on the live environment (``act(env.unwrapped) -> action``) instead of generating text,
and return the env's structured actions (``{"tool", "arguments"}``) or a Harmony final message.

The oracle plays every role the env puts it in:

- planner: a JSON plan with one subtask per bug (files from the task's ``sub_tasks``);
- coder: on ``multi_bug`` tasks with ≥ 2 files it delegates one subtask per bug to a coder child
  that owns exactly that bug's files (when ``delegate_subtask`` is offered); a child applies the
  part of the gold patch for its files; otherwise it applies the whole gold patch; then it runs
  the tests and submits;
- reviewer: on review tasks, the verdict that matches the label; otherwise it runs the tests and
  approves;
- tester: runs the tests and submits.
"""

from __future__ import annotations

import json
import random
import re
from typing import Any

FINAL_TEMPLATE = "<|channel|>final<|message|>{text}<|return|>"


def final(text: str) -> str:
    """A Harmony final-channel message (what the model emits to answer without a tool)."""
    return FINAL_TEMPLATE.format(text=text)


def call(tool: str, **arguments: Any) -> dict[str, Any]:
    return {"tool": tool, "arguments": arguments}


_DIFF_HEADER = re.compile(r"^diff --git a/(\S+) b/(\S+)$", re.M)


def split_patch_by_file(patch: str) -> dict[str, str]:
    """A git-style multi-file diff → {path: the diff section for that path}."""
    starts = [(m.start(), m.group(2)) for m in _DIFF_HEADER.finditer(patch)]
    if not starts:  # plain unified diff without "diff --git" lines: split on "--- a/" headers
        sections: dict[str, str] = {}
        parts = re.split(r"(?m)^(?=--- )", patch)
        for part in parts:
            m = re.search(r"(?m)^\+\+\+ (?:b/)?(\S+)", part)
            if m:
                sections[m.group(1)] = part
        return sections
    out = {}
    for i, (pos, path) in enumerate(starts):
        end = starts[i + 1][0] if i + 1 < len(starts) else len(patch)
        out[path] = patch[pos:end]
    return out


def patch_for_files(patch: str, files: list[str]) -> str:
    sections = split_patch_by_file(patch)
    return "".join(sections[f] for f in files if f in sections)


def _episode_token(env: Any) -> Any:
    return getattr(env, "_episode_id", None) or id(getattr(env, "task", None))


class _FramePlanned:
    """Base: a queue of actions per frame, planned when the frame first becomes active."""

    name = "scripted"

    def __init__(self, seed: int | None = None):
        self.seed = seed
        self.rng = random.Random(seed)
        self._episode = None
        self._queues: dict[int, list[Any]] = {}

    def begin_episode(self, env: Any) -> None:
        self._episode = _episode_token(env)
        self._queues = {}

    def act(self, env: Any) -> Any:
        if _episode_token(env) != self._episode:
            self.begin_episode(env)
        frame = env.active_frame()
        if frame is None:
            return call("submit")
        queue = self._queues.setdefault(frame.frame_id, self.plan(env, frame))
        if queue:
            return queue.pop(0)
        return self.fallback(env, frame)

    def plan(self, env: Any, frame: Any) -> list[Any]:
        raise NotImplementedError

    def fallback(self, env: Any, frame: Any) -> Any:
        return call("submit", summary="done") if "submit" in frame.tools else final("done")


class OraclePolicy(_FramePlanned):
    name = "oracle"

    def plan(self, env: Any, frame: Any) -> list[Any]:
        task = env.task
        role = frame.role
        subs = [s for s in task.sub_tasks if s.files]
        if role == "planner":
            groups = [(s.files, f"Fix bug {s.bug_id}: make {', '.join(s.FAIL_TO_PASS[:3])} pass") for s in subs] \
                or [(task.files, "Fix the failing tests: " + ", ".join(task.FAIL_TO_PASS[:3]))]
            plan = {"subtasks": [{"description": d, "files": list(f), "role": "coder"} for f, d in groups],
                    "order": list(range(len(groups)))}
            return [final(json.dumps(plan))]
        if role == "reviewer":
            if task.family == "review" and task.review:
                if task.review.get("label") == "buggy":
                    broken = ", ".join(task.FAIL_TO_PASS[:3]) or "existing behaviour"
                    return [final(f"REQUEST_CHANGES: this diff introduces a bug; it breaks {broken}.")]
                return [final("APPROVE: behaviour-preserving change; tests still pass.")]
            return [call("run_tests"), final("APPROVE: the fix is minimal and the tests pass.")]
        if role == "tester":
            return [call("run_tests"), call("submit", summary="all tests pass")]
        # coder (and any other editing role)
        if task.family == "review" and task.review:
            verdict = "REQUEST_CHANGES: the diff breaks tests." if task.review.get("label") == "buggy" \
                else "APPROVE: the diff preserves behaviour."
            return [final(verdict)]
        if frame.depth > 0 and frame.owned_files:
            part = patch_for_files(task.patch, list(frame.owned_files))
            actions: list[Any] = [call("apply_patch", diff=part)] if part else []
            return actions + [call("submit", summary=f"fixed {', '.join(frame.owned_files)}")]
        if (task.family == "multi_bug" and len(subs) >= 2 and "delegate_subtask" in frame.tools
                and len({f for s in subs for f in s.files}) >= 2):
            actions = []
            for s in subs:
                tests = ", ".join(s.FAIL_TO_PASS[:4])
                actions.append(call("delegate_subtask", role="coder", context_files=list(s.files),
                                    instructions=f"Bug {s.bug_id} lives in {', '.join(s.files)}. "
                                                 f"Fix it so these tests pass: {tests}. Edit only your files."))
            return actions + [call("run_tests"), call("submit", summary="integrated the delegated fixes")]
        return [call("apply_patch", diff=task.patch), call("run_tests"), call("submit", summary="applied the fix")]


class NoopPolicy(_FramePlanned):
    """Does nothing useful: submits at once (or answers with an empty final message)."""

    name = "noop"

    def plan(self, env: Any, frame: Any) -> list[Any]:
        return [call("submit", summary="") if "submit" in frame.tools else final("")]


class RandomPolicy(_FramePlanned):
    """Uniformly random tool calls with plausible arguments; submits with probability 0.15 a step."""

    name = "random"
    WORDS = ("fn", "let", "if", "return", "len", "test", "impl", "match", "None", "Some")

    def plan(self, env: Any, frame: Any) -> list[Any]:
        return []

    def fallback(self, env: Any, frame: Any) -> Any:
        tools = [t for t in frame.tools if t != "delegate_subtask"]
        if not tools or self.rng.random() < 0.15:
            if "submit" in tools:
                return call("submit", summary="random")
            return final(self.rng.choice(["APPROVE: random", "REQUEST_CHANGES: random", "{}", ""]))
        tool = self.rng.choice(tools)
        files = list(env.task.files) or ["src/lib.rs"]
        if tool == "read_file":
            return call(tool, path=self.rng.choice(files))
        if tool == "search":
            return call(tool, pattern=self.rng.choice(self.WORDS))
        if tool == "apply_patch":
            f = self.rng.choice(files)
            return call(tool, diff=f"--- a/{f}\n+++ b/{f}\n@@ -1,1 +1,1 @@\n-{self.rng.choice(self.WORDS)}\n+x\n")
        if tool == "submit":
            return call(tool, summary="random")
        return call(tool)
