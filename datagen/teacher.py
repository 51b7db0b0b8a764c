"""The scripted teacher: solves tasks knowing the gold patch, every tool result from the real env.

:class:`TeacherPolicy` implements the scripted-policy interface (``begin_episode(env)``,
``act(env) -> action``) and answers with Harmony completion text, so each action goes through
the same parser as a model's. Variants (``VARIANTS``):

- ``multi_role`` (MultiRoleRust-v0): planner writes a JSON plan (one subtask per bug) → coder runs
  the tests, reads and patches each file with the gold hunks (on multi_bug tasks it delegates each
  bug to a helper coder via ``delegate_subtask``), re-runs the tests → reviewer runs the tests and
  approves (or requests changes when they are red) → tester runs the tests and reports.
- ``solo`` (RustRepo-v0): the same work without roles or delegation.
- ``delegate`` (RustRepo-v0, multi_bug only): one helper per bug, then the parent integrates
  (re-runs the tests, answers).
- ``solo_partial`` (RustRepo-v0, multi_bug only): fixes only the first bug (a worse real episode,
  the rejected side of preference pairs).

It differs from ``policies/scripted.py``'s oracle (structured actions, no reasoning, whole-patch
apply, ``submit``) in what training data needs: reasoning, reading before editing, answers grounded
in the observed test counts, final messages; it reuses the oracle's gold-patch splitter.

Review tasks: the reviewer reads the changed file and answers from the task's label. Reasoning
text is templated (seeded choice among phrasings); observations are never invented. Episodes end
with a final message, so training targets end in ``<|return|>``.

:func:`run_teacher_episode` plays one episode and returns its record with each frame's exact
conversation (``frames[i]["messages"]``, ``frames[i]["tools"]``) attached.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Callable
from typing import Any

from cargogym.errors import CargogymError

VARIANTS = ("multi_role", "solo", "delegate", "solo_partial")
ENV_OF = {"multi_role": "MultiRoleRust-v0", "solo": "RustRepo-v0", "delegate": "RustRepo-v0",
          "solo_partial": "RustRepo-v0"}
_COUNTS = re.compile(r"cargo test(?: \(filter .*?\))?: (\d+) passed, (\d+) failed")


class TeacherError(CargogymError):
    """The teacher cannot play this task/variant (message says why)."""


# ----------------------------------------------------------------------------- gold patch


def split_patch(diff: str) -> dict[str, str]:
    """Per-file sections of a gold diff (the oracle policy's splitter, reused)."""
    from cargogym.policies.scripted import split_patch_by_file

    return split_patch_by_file(diff or "")


def bug_groups(task: Any) -> list[dict[str, Any]]:
    """``[{"files", "diff", "tests"}]``: one entry per bug (sub_tasks) or one for the whole patch."""
    pieces = split_patch(task.patch or "")
    groups = []
    for st in task.sub_tasks or []:
        files = [f for f in st.files if f in pieces]
        if files:
            groups.append({"files": files, "diff": "".join(pieces[f] for f in files),
                           "tests": list(st.FAIL_TO_PASS)})
    covered = {f for g in groups for f in g["files"]}
    rest = [f for f in pieces if f not in covered]
    if rest:
        groups.append({"files": rest, "diff": "".join(pieces[f] for f in rest), "tests": list(task.FAIL_TO_PASS)})
    return groups


# ----------------------------------------------------------------------------- completions


def call_text(thinking: str, tool: str, args: dict[str, Any]) -> str:
    """A Harmony completion: analysis, then a JSON tool call (the library's header order)."""
    body = json.dumps(args, ensure_ascii=False)
    return (f"<|channel|>analysis<|message|>{thinking}<|end|>"
            f"<|start|>assistant to=functions.{tool}<|channel|>commentary <|constrain|>json<|message|>{body}<|call|>")


def final_text(thinking: str, answer: str) -> str:
    return (f"<|channel|>analysis<|message|>{thinking}<|end|>"
            f"<|start|>assistant<|channel|>final<|message|>{answer}<|return|>")


def parse_test_counts(observation: str) -> tuple[int, int] | None:
    """``(passed, failed)`` from a run_tests observation, None when the crate did not build."""
    m = _COUNTS.search(observation or "")
    return (int(m.group(1)), int(m.group(2))) if m else None


def _test_path(name: str) -> str:
    """``lib::a::tests::b`` -> ``a::tests::b`` (cargo's filter matches the in-binary path)."""
    for prefix in ("lib::", "test:", "doc::", "bin::"):
        if name.startswith(prefix):
            rest = name[len(prefix):]
            return rest.split("::", 1)[1] if prefix == "test:" and "::" in rest else rest
    return name


Step = Callable[[Any], str]


class TeacherPolicy:
    """Scripted teacher (see module docstring). ``act`` returns a Harmony completion string."""

    def __init__(self, variant: str = "multi_role", seed: int | None = 0) -> None:
        if variant not in VARIANTS:
            raise TeacherError(f"unknown teacher variant {variant!r}; choose one of {VARIANTS}")
        self.variant = variant
        self.name = f"teacher-{variant}"
        self.seed = seed or 0
        self.begin_episode(None)

    # -- episode state -------------------------------------------------------------------------
    def begin_episode(self, env: Any) -> None:
        self.queues: dict[int, list[Step]] = {}
        self.frames: dict[int, Any] = {}
        self.visits: dict[str, int] = {}
        self.rng = random.Random(self.seed)

    def act(self, env: Any) -> str:
        env = getattr(env, "unwrapped", env)
        frame = env.active_frame()
        if frame is None:
            return final_text("The episode is over.", "Done.")
        self.frames[frame.frame_id] = frame
        if frame.frame_id not in self.queues:
            self.visits[frame.role] = self.visits.get(frame.role, 0) + 1
            self.queues[frame.frame_id] = self._plan(env, frame)
        queue = self.queues[frame.frame_id]
        if not queue:
            return final_text("Nothing is left to do here.", "Done.")
        return queue.pop(0)(env)

    def _pick(self, *options: str) -> str:
        return self.rng.choice(options)

    # -- plans per frame -------------------------------------------------------------------------
    def _plan(self, env: Any, frame: Any) -> list[Step]:
        task = env.task
        if task.family == "review":
            return self._review(task)
        if frame.depth > 0:
            return self._child(task, frame)
        role = frame.role
        if role == "planner":
            return [lambda e: self._planner_answer(task)]
        if role == "reviewer":
            return self._reviewer(task)
        if role == "tester":
            return self._tester()
        if role == "coder" and self.visits.get("coder", 0) > 1:
            return [self._run_tests("Back after review: check the current state."),
                    lambda e: self._report(e, "coder")]
        groups = bug_groups(task)
        delegate = (self.variant in ("delegate", "multi_role") and task.family == "multi_bug"
                    and len(groups) > 1 and "delegate_subtask" in frame.tools)
        if self.variant == "solo_partial":
            if task.family != "multi_bug" or len(groups) < 2:
                raise TeacherError(f"solo_partial needs a multi_bug task with ≥ 2 bugs ({task.instance_id})")
            groups = groups[:1]
        steps: list[Step] = [self._run_tests(self._pick(
            "Start by running the test suite to see what fails.",
            "First, run the tests to see the failures.",
            "Let me reproduce the failures with the test suite."))]
        if delegate:
            for g in groups:
                steps.append(self._delegate(g))
        else:
            for g in groups:
                for f in g["files"]:
                    steps.append(self._read(f))
                steps.append(self._patch(g))
        steps.append(self._run_tests(self._pick(
            "Re-run the whole suite to confirm the fix and check for regressions.",
            "Run all tests again to verify.",
            "Verify with a full test run.")))
        steps.append(lambda e: self._report(e, frame.role))
        return steps

    # -- single actions ----------------------------------------------------------------------------
    def _run_tests(self, thinking: str, test_filter: str | None = None) -> Step:
        args = {"filter": test_filter} if test_filter else {}
        return lambda e: call_text(thinking, "run_tests", args)

    def _read(self, path: str) -> Step:
        thinking = self._pick(f"The failing behaviour points to {path}; read it.",
                              f"Open {path} to find the faulty code.",
                              f"Let me look at {path}.")
        return lambda e: call_text(thinking, "read_file", {"path": path})

    def _patch(self, g: dict[str, Any]) -> Step:
        files = ", ".join(g["files"])
        tests = ", ".join(g["tests"][:3]) or "the failing tests"
        thinking = self._pick(
            f"The code in {files} is wrong; this is what breaks {tests}. Patch it.",
            f"Found the bug in {files}. Fix it with a minimal patch so {tests} pass.",
            f"I see the defect in {files}; apply the fix.")
        return lambda e: call_text(thinking, "apply_patch", {"diff": g["diff"]})

    def _delegate(self, g: dict[str, Any]) -> Step:
        files = ", ".join(g["files"])
        tests = ", ".join(g["tests"][:4])
        instructions = (f"Fix the bug in {files}." + (f" These tests must pass: {tests}." if tests else "")
                        + " Change only the listed file(s) and report what you changed.")
        thinking = self._pick(
            f"The bugs are independent; hand the one in {files} to a helper coder.",
            f"Delegate the fix in {files} so each bug is handled separately.",
            f"{files} is a self-contained part: delegate it.")
        return lambda e: call_text(thinking, "delegate_subtask",
                                   {"role": "coder", "instructions": instructions, "context_files": g["files"]})

    def _last_observation(self, env: Any) -> str:
        msgs = env.messages()
        return msgs[-1]["content"] if msgs and msgs[-1]["role"] == "tool" else ""

    def _report(self, env: Any, role: str) -> str:
        obs = self._last_observation(env)
        counts = parse_test_counts(obs)
        if counts is None:
            return final_text("The test run did not report results.", "The change is in place; the test run "
                              "did not report results.")
        passed, failed = counts
        touched = sorted({f for fr in self.frames.values() for f in getattr(fr, "edited_files", [])})
        where = ", ".join(touched) or "the crate"
        if failed == 0:
            return final_text(self._pick("All tests pass now.", "The suite is green.", "Everything passes."),
                              f"Fixed the bug(s) in {where}. cargo test: {passed} passed, 0 failed.")
        failing = [ln[len("FAILED "):] for ln in obs.splitlines() if ln.startswith("FAILED ")]
        return final_text("Some tests still fail.",
                          f"Changed {where}; {failed} test(s) still fail: {', '.join(failing[:5])}.")

    # -- roles --------------------------------------------------------------------------------------
    def _planner_answer(self, task: Any) -> str:
        groups = bug_groups(task)
        plan = {"subtasks": [{"description": f"Fix the bug in {', '.join(g['files'])} that breaks "
                                             f"{', '.join(g['tests'][:3]) or 'the failing tests'}.",
                              "files": g["files"], "role": "coder"} for g in groups],
                "order": list(range(len(groups)))}
        n = len(groups)
        thinking = self._pick(
            f"The failing tests point to {n} independent change(s); one subtask each.",
            f"Split the work by file: {n} subtask(s), done in order.",
            f"There {'is one bug' if n == 1 else f'are {n} bugs'}; plan one subtask per bug.")
        return final_text(thinking, json.dumps(plan))

    def _reviewer(self, task: Any) -> list[Step]:
        def verdict(env: Any) -> str:
            counts = parse_test_counts(self._last_observation(env))
            if counts is not None and counts[1] == 0:
                return final_text("The diff is minimal and the tests are green.",
                                  f"APPROVE: the change fixes the reported failures; cargo test: {counts[0]} "
                                  "passed, 0 failed.")
            return final_text("The tests are still red.",
                              "REQUEST_CHANGES: tests still fail after the change; see the test output.")
        return [self._run_tests(self._pick("Check the change by running the tests.",
                                           "Review: first confirm the tests pass.")), verdict]

    def _tester(self) -> list[Step]:
        return [self._run_tests(self._pick("Run the full suite as the tester.", "Run all tests.")),
                lambda e: self._report(e, "tester")]

    def _child(self, task: Any, frame: Any) -> list[Step]:
        owned = list(frame.owned_files or [])
        groups = [g for g in bug_groups(task) if set(g["files"]) <= set(owned)] or \
                 [{"files": owned, "diff": "".join(split_patch(task.patch or "").get(f, "") for f in owned),
                   "tests": []}]
        g = {"files": owned, "diff": "".join(x["diff"] for x in groups),
             "tests": [t for x in groups for t in x["tests"]]}
        steps = [self._patch(g)]
        if g["tests"]:
            steps.append(self._run_tests(f"Check my part: run {g['tests'][0]}.", _test_path(g["tests"][0])))

        def done(env: Any) -> str:
            counts = parse_test_counts(self._last_observation(env))
            status = (f"; {counts[0]} selected test(s) pass" if counts and counts[1] == 0 else "")
            return final_text("My part is done.", f"Fixed the bug in {', '.join(owned)}{status}.")
        return steps + [done]

    def _review(self, task: Any) -> list[Step]:
        review = task.review or {}
        files = list(split_patch(review.get("diff", "")).keys()) or list(task.files)
        steps: list[Step] = [self._read(f) for f in files[:2]]
        if review.get("label") == "buggy":
            broken = ", ".join(task.FAIL_TO_PASS[:4]) or "existing tests"
            answer = (f"REQUEST_CHANGES: the change to {', '.join(files)} introduces a bug; it breaks {broken}.")
            thinking = "Comparing the diff with the code: the new logic is wrong."
        else:
            answer = f"APPROVE: the change to {', '.join(files)} keeps the behaviour correct."
            thinking = "The diff preserves the behaviour; nothing breaks."
        return steps + [lambda e: final_text(thinking, answer)]


# ----------------------------------------------------------------------------- episodes


def attach_conversations(record: dict, frames: dict[int, Any], env: Any) -> dict:
    """The record with each frame's exact conversation and tool definitions added."""
    from cargogym.envs.tools import tool_definitions

    roles = getattr(getattr(env, "roles_cfg", None), "delegate_roles", None)
    for fr in record.get("frames") or []:
        obj = frames.get(fr["frame_id"])
        if obj is not None:
            fr["messages"] = [dict(m) for m in obj.messages]
            fr["tools"] = tool_definitions(list(obj.tools), roles=roles)
    return record


def run_teacher_episode(task: Any, variant: str, seed: int = 0, env_kwargs: dict | None = None,
                        max_steps: int = 80, env: Any = None) -> dict:
    """Play one teacher episode on ``task`` (a Task) and return its record (with conversations).

    Pass ``env`` to reuse one env (same env id as the variant's) across episodes."""
    from cargogym.rollouts.episode import make_env

    own = env is None
    if own:
        env = make_env(ENV_OF[variant], task.to_dict(), env_kwargs)
    policy = TeacherPolicy(variant, seed=seed)
    try:
        u = env.unwrapped
        env.reset(seed=seed, options={"task": task})
        policy.begin_episode(u)
        for _ in range(max_steps):
            _, _, terminated, truncated, _ = env.step(policy.act(u))
            if terminated or truncated:
                break
        record = attach_conversations(dict(u.trajectory()), policy.frames, u)
        record["policy"] = policy.name
        record["variant"] = variant
        return record
    finally:
        if own:
            env.close()


def applicable(task: Any, variant: str) -> bool:
    """Whether ``variant`` makes sense for ``task`` (delegate/solo_partial need ≥ 2 bugs)."""
    if variant in ("delegate", "solo_partial"):
        return task.family == "multi_bug" and len(bug_groups(task)) > 1
    return True
