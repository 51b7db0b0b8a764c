"""MultiRoleRustEnv: one policy plays planner → coder → reviewer → tester on one crate."""

from __future__ import annotations

from typing import Any

from cargogym.envs import handlers, prompts
from cargogym.envs.frames import Frame
from cargogym.envs.roles import END, PlanError, parse_plan, review_answer
from cargogym.envs.rust_repo import Outcome, RustRepoEnv
from cargogym.envs.tools import TOOL_ORDER

DIFF_LIMIT = 8000


class MultiRoleRustEnv(RustRepoEnv):
    """One policy plays several roles in turn on one task (MALT-style), with enforced permissions.

    Everything of :class:`~cargogym.envs.rust_repo.RustRepoEnv` applies (task selection, action
    and observation spaces, tools, delegation inside a phase, budgets, episode record), except:

    **Phases**: the episode is a sequence of phase frames (each a fresh conversation whose
    developer message states the role in force, seed option A) driven by the phase machine of
    ``configs/multi_agent_roles.yaml``. Default: planner (no tools; its final message must be a
    JSON plan ``{"subtasks": [{"description", "files", "role"}], "order": [...]}``) → coder
    (apply_patch, run_tests, cargo_check, read/list/search, delegate_subtask, submit) → reviewer
    (read-only; final message starting APPROVE or REQUEST_CHANGES followed by comments — a bare
    verdict gets an error observation, not a violation, and the phase stays open) → tester (edits only test
    files, runs tests, submit). REQUEST_CHANGES, or red tests after the tester, send the episode
    back to the coder (a role is visited at most ``max_visits`` times). Review tasks start at the
    reviewer, whose verdict ends the episode. Each phase frame hears what the earlier phases said
    (plan, summaries, review comments, test report) and the current diff.

    **Reset options**: as RustRepoEnv (task, role, context, snapshot), except that ``role`` names
    the phase the machine starts in (any role of the roles file; default ``phases.start``, or
    ``start_by_family``) and ``context`` is part of the task text every phase frame hears.

    **Permissions**: a tool the role may not use, or an edit outside the role's files (the tester:
    test files only), gives an error observation and counts as a role violation; nothing changes.
    A phase has ``phase_step_budget`` turns, after which the machine moves on (event ``budget``).

    **Episode end**: ``terminated`` when the machine reaches ``end`` (the workspace is graded),
    ``truncated`` on the step or token budget. **Reward**: as RustRepoEnv; ``info`` and the record
    also carry ``rewards_by_role`` (the reward spec computed per role) for MALT/GRPO credit,
    ``plan`` and ``review_verdict``.
    """

    env_name = "MultiRoleRust-v0"

    # ------------------------------------------------------------------ phases
    def _start_episode(self) -> None:
        self._visits: dict[str, int] = {}
        self._graded = None                          # (snapshot, GradingReport) of the last green check
        self._history: list[dict[str, Any]] = []     # one entry per finished phase
        self._open_phase(self._start_role or self.roles_cfg.phases.first(self._task.family))

    def _reset_roles(self) -> list[str]:
        return list(self.roles_cfg.roles)

    def _phase_tools(self, role: str) -> list[str]:
        names = set(self.roles_cfg.roles[role].tools)
        if self.cfg.max_depth < 1:
            names.discard("delegate_subtask")
        return [t for t in TOOL_ORDER if t in names]

    def _role_tools(self, role: str) -> list[str]:
        spec = self.roles_cfg.roles.get(role)
        return list(spec.tools) + ["submit"] if spec else []

    def _open_phase(self, role: str) -> Frame:
        self._visits[role] = self._visits.get(role, 0) + 1
        spec = self.roles_cfg.roles[role]
        messages = [prompts.msg("system", self.cfg.system_prompt), prompts.msg("developer", spec.prompt),
                    prompts.msg("user", self._phase_text(role))]
        return self._stack.open(role=role, instructions=self._task_text, messages=messages,
                                tools=self._phase_tools(role), phase=role,
                                step_budget=self.roles_cfg.phases.phase_step_budget,
                                may_edit=self.roles_cfg.edit_rule(role))

    def _phase_text(self, role: str) -> str:
        return prompts.phase_text(self._task_message(), role, self.roles_cfg.roles, self._plan, self._history, self.current_diff, DIFF_LIMIT)

    # ------------------------------------------------------------------ phase end
    def _frame_budget(self, frame: Frame) -> int | None:
        return frame.step_budget

    def _root_done(self, frame: Frame, text: str, via: str) -> Outcome:
        spec = self.roles_cfg.roles[frame.role]
        tool = "submit" if via == "submit" else None
        if spec.output == "plan":
            try:
                self._plan = parse_plan(text, list(self.roles_cfg.roles))
            except PlanError as e:
                return self._error_outcome(f"{e}", tool=tool)
            return self._advance(frame, "done", text)
        if spec.output == "verdict":
            verdict, problem = review_answer(text)
            if verdict is None:   # no verdict or no comments: the phase stays open (not a violation)
                return self._error_outcome(problem, tool=tool)
            self._review_verdict = verdict
            return self._advance(frame, verdict.lower(), text)
        table = self.roles_cfg.phases.transitions_by_family.get(self._task.family, {}).get(frame.role) \
            or self.roles_cfg.phases.transitions.get(frame.role, {})
        if "green" in table or "red" in table:
            ok, report = self._tests_green()
            return self._advance(frame, "green" if ok else "red",
                                 f"{text.strip()}\n\nTest run after the {frame.role}:\n{report}")
        return self._advance(frame, "done", text)

    def _tests_green(self) -> tuple[bool, str]:
        """(green, test report) at a green/red phase end: the workspace's tests (with the tester's
        new ones) must pass, and so must the graded view (``grade``: the task's tests as they were
        at the start, so weakened tests cannot make it green). That report is kept and reused by
        the episode's end when the workspace has not changed since."""
        res = handlers.run_tests(self._get_sandbox(), self._ws, None, self.cfg.test_timeout)
        failed = (res.result or {}).get("counts", {}).get("failed", 0)
        if failed or (res.result or {}).get("exit_code") != 0:
            return False, res.observation
        from cargogym.rewards.grading import grade

        snapshot = self._ws.snapshot()
        report = grade(self._task, self._ws, self._get_sandbox(), timeout=self.cfg.test_timeout)
        self._graded = (snapshot, report)
        if report.resolved:
            return True, res.observation
        bad = [n for n in self._task.FAIL_TO_PASS + self._task.PASS_TO_PASS if report.tests.get(n) != "passed"]
        lines = [res.observation, "", "but the graded run (the task's tests as they were at the start; changes "
                 f"to tests do not count) is not green: {len(bad)} failed"]
        lines += [f"FAILED {n}" for n in bad[:10]] + [f"note: {p}" for p in report.problems[:3]]
        return False, "\n".join(lines)

    def _grade_report(self, verdict: str | None):
        graded, self._graded = getattr(self, "_graded", None), None
        if graded is not None and self._task.family != "review" and graded[0] == self._ws.snapshot():
            return graded[1]
        return super()._grade_report(verdict)

    def _advance(self, frame: Frame, event: str, text: str) -> Outcome:
        """Close the phase frame and open the next phase (or request the end of the episode)."""
        self._history.append({"role": frame.role, "event": event, "text": text.strip(), "index": len(self._history),
                              "frame_id": frame.frame_id})
        self._stack.close_active(text, event)
        nxt = self.roles_cfg.phases.next(frame.role, event, self._task.family, self._visits)
        if nxt == END:
            verdict = self._review_verdict if self._task.family == "review" else None
            self._finish_request = verdict or ""
            return Outcome(observation=f"[{frame.role}: {event}; the episode ends]", tool=None, reply=None,
                           result={"phase_event": event, "next_phase": END})
        new = self._open_phase(nxt)
        obs = f"[{frame.role}: {event}; next phase: {nxt}]\n\n{self._frame_observation(new)}"
        return Outcome(observation=obs, tool=None, reply=None, result={"phase_event": event, "next_phase": nxt})

    def _on_frame_budget(self, frame: Frame, observation: str) -> str:
        if frame.depth > 0:
            return super()._on_frame_budget(frame, observation)
        out = self._advance(frame, "budget", f"(the {frame.role} used its budget of {frame.step_budget} turns)")
        if self._finish_request is not None:
            verdict = self._finish_request
            self._finish_request = None
            return f"{out.observation}\n{self._finish(verdict=verdict or None, truncated=False)}"
        return out.observation
