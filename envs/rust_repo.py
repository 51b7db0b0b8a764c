"""RustRepoEnv: one agent fixes (or reviews) a Rust crate through tools, rewarded by cargo."""

from __future__ import annotations

import copy
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gymnasium as gym

from cargogym.envs import handlers, prompts
from cargogym.envs.actions import Action, parse_action
from cargogym.envs.config import EnvConfig, load_env_config
from cargogym.envs.frames import Frame, FrameStack, PathError, normalize_rel, similarity
from cargogym.envs.handlers import ToolOutcome
from cargogym.envs.roles import RolesConfig, load_roles, review_answer
from cargogym.envs.spaces import UnicodeText
from cargogym.envs.tools import TOOL_ORDER, TOOL_SPECS, ToolArgumentError, tool_definitions, validate_arguments
from cargogym.errors import CargogymError
from cargogym.sandbox.patch import PatchError
from cargogym.tasks.record import Task, TaskFormatError, load_task, read_tasks

OBSERVATION_MAX = 1_000_000
DEFAULT_TASKS = Path(__file__).resolve().parent.parent / "tasks" / "builtin_tasks.jsonl"
MAX_CONTEXT_FILES = 24


class EnvUsageError(CargogymError):
    """The env was used in a way it cannot serve (no task, unknown instance id, bad reset options, ...)."""


RESET_OPTIONS = ("task", "role", "context", "snapshot")


@dataclass(frozen=True)
class ResetOptions:
    """Checked ``reset(options=...)``: see :class:`RustRepoEnv` (all fields optional)."""

    task: Any = None
    role: str | None = None                       # None: the env's default root role
    context: str = ""                             # appended to the task (user) message
    snapshot: dict[str, str | None] = field(default_factory=dict)   # normalised rel path -> text | None


def parse_reset_options(options: Any, roles: list[str]) -> ResetOptions:
    """Check ``options`` (pure: nothing is touched); problems raise :class:`EnvUsageError`.

    ``roles``: the role names ``options["role"]`` may take. Snapshot paths are normalised
    (``./src//a.rs`` -> ``src/a.rs``); absolute, escaping, ``target/`` and ``.git/`` paths are refused."""
    if options is None:
        return ResetOptions()
    if not isinstance(options, Mapping):
        raise EnvUsageError(f"reset options must be a dict, got {type(options).__name__}")
    unknown = sorted(str(k) for k in options if k not in RESET_OPTIONS)
    if unknown:
        raise EnvUsageError(f"unknown reset option(s) {', '.join(map(repr, unknown))}; "
                            f"known: {', '.join(RESET_OPTIONS)}")
    role = options.get("role")
    if role is not None:
        if not isinstance(role, str):
            raise EnvUsageError(f"options['role'] must be a role name (str), got {type(role).__name__}")
        if role not in roles:
            raise EnvUsageError(f"options['role']: unknown role {role!r}; known: {', '.join(roles)}")
    context = options.get("context")
    if context is None:
        context = ""
    if not isinstance(context, str):
        raise EnvUsageError(f"options['context'] must be text (str), got {type(context).__name__}")
    return ResetOptions(task=options.get("task"), role=role, context=context.strip(),
                        snapshot=_check_snapshot(options.get("snapshot")))


def _check_snapshot(snapshot: Any) -> dict[str, str | None]:
    from cargogym.sandbox.patch import PatchError, normalize_rel as patch_rel

    if snapshot is None:
        return {}
    if not isinstance(snapshot, Mapping):
        raise EnvUsageError("options['snapshot'] must be a dict {relative path: text or None (deleted)}, "
                            f"got {type(snapshot).__name__}")
    out: dict[str, str | None] = {}
    for rel, text in snapshot.items():
        if not isinstance(rel, str):
            raise EnvUsageError(f"options['snapshot']: paths must be str, got {type(rel).__name__} {rel!r}")
        if text is not None and not isinstance(text, str):
            raise EnvUsageError(f"options['snapshot'][{rel!r}] must be the file text or None (deleted), "
                                f"got {type(text).__name__}")
        try:
            norm = patch_rel(rel)
        except PatchError as e:
            raise EnvUsageError(f"options['snapshot']: {e}") from None
        if norm in out and out[norm] != text:
            raise EnvUsageError(f"options['snapshot']: {rel!r} names {norm} again with a different text")
        out[norm] = text
    return out


@dataclass
class Outcome:
    """What one step did: the observation for the next actor and bookkeeping for the record."""

    observation: str
    tool: str | None = None
    result: dict[str, Any] | None = None
    error: str | None = None
    violation: bool = False
    conflict: bool = False
    reply: str | None = "tool"       # how the acting frame hears back: "tool", "user", or None
    extra: dict[str, Any] = field(default_factory=dict)


def _as_tasks(source: Any) -> list[Task]:
    if source is None:
        return read_tasks(DEFAULT_TASKS) if DEFAULT_TASKS.is_file() else []
    if isinstance(source, (Task, dict)):
        return [load_task(source)]
    if isinstance(source, (list, tuple)):
        return [load_task(t) for t in source]
    return read_tasks(source)


class RustRepoEnv(gym.Env):
    """An LLM agent repairs a Rust crate (or reviews a change to it) by calling tools.

    **Task**: ``task=`` is a :class:`~cargogym.tasks.record.Task`, a dict in the JSONL record form,
    a list of those, or a path to a tasks JSONL (default: ``tasks/builtin_tasks.jsonl``).
    ``reset(seed=..., options={"task": instance_id | Task | dict | index})`` picks one; without
    the option the seeded RNG picks. Each reset materialises a fresh workspace (the previous one
    is closed).

    **Reset options** (all optional; :data:`RESET_OPTIONS`):
    ``options={"task": ..., "role": "reviewer", "context": "...", "snapshot": {rel_path: text | None}}``.
    ``role`` makes the root frame play a role of ``configs/multi_agent_roles.yaml`` (its prompt as
    the developer message, its tools — ``submit`` added unless the role answers with a verdict,
    ``delegate_subtask`` dropped when ``max_depth`` is 0 — and its edit rule; e.g. ``reviewer`` is
    read-only); the default is ``"agent"`` (all tools, ``agent_prompt``). ``context`` is appended
    to the task's user message. ``snapshot`` (``Workspace.snapshot()`` form: changed file texts,
    ``None`` = deleted) is restored into the fresh workspace before the first observation; the
    episode's starting state (``current_diff()``, frame edits) stays the task's broken state, so
    the snapshot shows up as already-made changes. Bad options (unknown key or role, wrong types,
    paths outside the crate, a snapshot that cannot be written) raise :class:`EnvUsageError`
    before anything changes: the previous episode, if any, stays as it was.

    **Action space**: :class:`~cargogym.envs.spaces.UnicodeText` (``max_action_chars``): a raw
    Harmony completion. ``step`` also accepts ``{"tool": name, "arguments": {...}}``,
    ``{"final": text}`` and ``{"completion": str, "token_ids": [...], "logprobs": [...]}``.
    Tools: apply_patch, run_tests, cargo_check, read_file, list_files, search, submit,
    delegate_subtask (see :mod:`cargogym.envs.tools`). Bad actions (unparsable Harmony, bad JSON,
    arguments that are not plain JSON — a generator, a set, non-string names, NaN, a 65-bit int,
    nesting deeper than 32 —, unknown tool, wrong arguments, over-long text, forbidden tool) produce
    an ``error: …`` observation and change nothing.

    **Observation space**: :class:`~cargogym.envs.spaces.UnicodeText` (up to 1,000,000 characters,
    any Unicode). ``reset`` returns the rendered conversation (system/developer/user messages and
    tool definitions); ``step`` returns the tool result text (cut to ``max_observation_chars``),
    or the rendered conversation of a newly opened child frame. ``env.unwrapped.messages()`` and
    ``env.unwrapped.tools()`` give the active frame's conversation and tools as structured data;
    ``env.unwrapped.root_messages()`` the root frame's conversation (also while a child acts).

    **Delegation** (ReDel DelegateOne): ``delegate_subtask(role, instructions, context_files,
    return_artifacts?)`` opens a child frame (a fresh conversation: the role's prompt, the
    instructions and the listed files). Following steps act for the child until it answers with
    a final message or ``submit(summary)``; that answer becomes the parent's tool result. A child
    may edit only its ``context_files`` (other edits are rejected and counted as conflicts); the
    tool is not offered at ``max_depth``; instructions at least ``similarity_threshold`` similar to
    the frame's own task are refused; a child has ``max_frame_steps`` turns.

    **Reward**: at episode end the crate is graded (:func:`cargogym.rewards.grading.grade`) and
    scored by the reward spec (``reward=``, default ``"default"``); with ``step_shaping`` the spec's
    ``step_reward(turn)`` is added every step.

    **Episode end**: ``terminated`` when the root agent calls ``submit`` or answers on the final
    channel (for review tasks, a message starting APPROVE or REQUEST_CHANGES followed by comments;
    a bare verdict gets an error observation and the episode goes on); ``truncated`` when
    ``max_steps`` turns or ``token_budget`` tokens are used (``token_budget=0``: no token budget;
    graded too, with ``grade_on_truncation``). A step after the end returns an error observation.

    **Info**: ``instance_id, frame_id, depth, role, phase`` (the frame that acts next; None after
    the end), ``tool, result, error, turn_id, violation, conflict, steps, tokens`` (+ ``similarity``
    on a refused delegation); ``reset`` adds ``sandbox`` (the sandbox's ``info()``: the isolation
    untrusted code gets); at the end also ``grading, reward_terms, rewards_by_role, delegations,
    conflicts, role_violations, frames, status, review_verdict, episode_reward`` (the sum of the
    episode's step rewards). ``env.unwrapped.trajectory()`` is the episode record of docs/CONTRACTS.md.
    """

    metadata = {"render_modes": ["ansi"], "render_fps": 1}
    env_name = "RustRepo-v0"
    root_role = "agent"

    def __init__(self, task: Any = None, reward: Any = None, sandbox: Any = None, config: str | Path | None = "env",
                 render_mode: str | None = None, policy: str = "", **options: Any) -> None:
        overrides = dict(options)
        self._reward_spec_obj = None
        self._sandbox_obj = None
        if isinstance(reward, (str, Path)):
            overrides["reward"] = str(reward)
        elif reward is not None:
            self._reward_spec_obj = reward
        if isinstance(sandbox, str):
            overrides["sandbox"] = sandbox
        elif sandbox is not None:
            self._sandbox_obj = sandbox
        self.cfg: EnvConfig = load_env_config(config, overrides)
        self.roles_cfg: RolesConfig = load_roles(self.cfg.roles)
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise EnvUsageError(f"render_mode {render_mode!r} not supported (use one of {self.metadata['render_modes']})")
        self.render_mode = render_mode
        self.policy_name = policy
        self._tasks: list[Task] = _as_tasks(task)
        self.observation_space = UnicodeText(OBSERVATION_MAX)
        self.action_space = UnicodeText(self.cfg.max_action_chars, min_length=1)
        self._manager = None
        self._sandbox = None
        self._spec = None
        self._ws = None
        self._task: Task | None = None
        self._start_role: str | None = None
        self._context = ""
        self._stack = FrameStack()
        self._done = False
        self._terminated = False
        self._truncated = False
        self._seed: int | None = None
        self._last_observation = ""

    # ------------------------------------------------------------------ resources (lazy)
    def _workspace_manager(self):
        if self._manager is None:
            from cargogym.sandbox.workspace import WorkspaceManager

            self._manager = WorkspaceManager(mode=self.cfg.workspace_mode)
        return self._manager

    def _get_sandbox(self):
        if self._sandbox_obj is not None:
            return self._sandbox_obj
        if self._sandbox is None:
            from cargogym.sandbox.exec import make_sandbox

            self._sandbox = make_sandbox(self.cfg.sandbox)
        return self._sandbox

    def _reward_spec(self):
        if self._reward_spec_obj is not None:
            return self._reward_spec_obj
        if self._spec is None:
            from cargogym.rewards.spec import RewardSpec

            self._spec = RewardSpec.load(self.cfg.reward)
        return self._spec

    def _close_workspace(self) -> None:
        ws, self._ws = self._ws, None
        if ws is not None:
            try:
                ws.close()
            except Exception:
                pass

    def close(self) -> None:
        """Close the workspace, the workspace manager and the sandbox (idempotent)."""
        self._close_workspace()
        for attr in ("_manager", "_sandbox"):
            obj = getattr(self, attr, None)
            setattr(self, attr, None)
            if obj is not None:
                try:
                    obj.close()
                except Exception:
                    pass
        super().close()

    # ------------------------------------------------------------------ task selection
    def _pick_task(self, choice: Any) -> Task:
        if isinstance(choice, (Task, dict)):
            return load_task(choice)
        if not self._tasks:
            raise EnvUsageError("no task: pass task= (a Task, a record dict or a tasks JSONL) to the env, "
                                "or reset(options={'task': <Task or record>})")
        if choice is None:
            if len(self._tasks) == 1:
                return self._tasks[0]
            return self._tasks[int(self.np_random.integers(len(self._tasks)))]
        if isinstance(choice, int) and not isinstance(choice, bool):
            if not 0 <= choice < len(self._tasks):
                raise EnvUsageError(f"task index {choice} out of range (0..{len(self._tasks) - 1})")
            return self._tasks[choice]
        if isinstance(choice, str):
            for t in self._tasks:
                if t.instance_id == choice:
                    return t
            raise EnvUsageError(f"no task with instance_id {choice!r} among the env's {len(self._tasks)} task(s)")
        raise EnvUsageError(f"options['task'] must be an instance id, index, Task or record dict; got {type(choice).__name__}")

    # ------------------------------------------------------------------ gymnasium API
    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[str, dict[str, Any]]:
        """Start an episode; ``options``: task, role, context, snapshot (see the class docstring)."""
        super().reset(seed=seed)
        opts = parse_reset_options(options, self._reset_roles())
        try:
            task = self._pick_task(opts.task)
        except TaskFormatError as e:
            raise EnvUsageError(str(e)) from None
        ws = self._workspace_manager().create(task)
        if opts.snapshot:
            self._restore_snapshot(ws, opts.snapshot)
        self._close_workspace()
        self._task = task
        self._seed = seed
        self._ws = ws
        self._start_role = opts.role
        self._context = opts.context
        start = getattr(self._ws, "start_files", None)
        self._start_files = start() if callable(start) else self._read_all()
        self._stack = FrameStack()
        self._turns: list[dict[str, Any]] = []
        self._frame_start: dict[int, dict[str, str | None]] = {}
        self._steps = 0
        self._tokens = 0
        self._done = False
        self._terminated = False
        self._truncated = False
        self._delegations = 0
        self._refused = 0
        self._conflicts = 0
        self._violations = 0
        self._grading: dict[str, Any] | None = None
        self._reward = 0.0
        self._reward_terms: dict[str, float] = {}
        self._rewards_by_role: dict[str, float] = {}
        self._review_verdict: str | None = None
        self._plan: dict[str, Any] | None = None
        self._status = "ok"
        self._error: str | None = None
        self._infra_errors: list[str] = []
        self._episode_id = uuid.uuid4().hex
        self._started = time.time()
        self._ended: float | None = None
        self._current_turn: int | None = None
        self._finish_request: str | None = None
        self._task_text = prompts.task_text(task, sorted(self._start_files))
        self._start_episode()
        obs = self._frame_observation(self._stack.active)
        self._last_observation = obs
        info = self._info(None)
        try:  # what isolation this machine gives untrusted code (network, jail, limits), said plainly
            info["sandbox"] = self._get_sandbox().info()
        except Exception as e:  # noqa: BLE001 — reporting must not break reset
            info["sandbox"] = {"error": f"{type(e).__name__}: {e}"}
        return obs, info

    def _reset_roles(self) -> list[str]:
        """Role names ``reset(options={"role": ...})`` accepts."""
        return [self.root_role, *self.roles_cfg.roles]

    @staticmethod
    def _restore_snapshot(ws: Any, snapshot: dict[str, str | None]) -> None:
        """Restore ``snapshot`` into the fresh ``ws``; on failure close ``ws`` and raise EnvUsageError."""
        from cargogym.sandbox.patch import PatchError
        from cargogym.sandbox.workspace import WorkspaceError

        try:
            ws.restore(snapshot)
            return
        except (PatchError, WorkspaceError, OSError, UnicodeError, ValueError) as e:
            problem = f"{e}"
        try:
            ws.close()
        except Exception:  # noqa: BLE001 — the restore error is the one to report
            pass
        raise EnvUsageError(f"options['snapshot'] could not be restored: {problem}")

    def step(self, action: Any) -> tuple[str, float, bool, bool, dict[str, Any]]:
        if self._task is None or self._done:
            why = "call reset() first" if self._task is None else "the episode has ended; call reset()"
            info = self._info(None)
            info.update(error=why, tool=None)
            return f"error: {why}", 0.0, self._task is None or self._terminated, self._truncated, info
        t0 = time.perf_counter()
        frame = self._stack.active
        prompt_len = len(frame.messages)
        act = parse_action(action, self.cfg.max_action_chars)
        turn_id = len(self._turns)
        self._current_turn = turn_id
        frame.messages.extend(copy.deepcopy(act.messages))
        try:
            out = self._dispatch(frame, act)
        except (PathError, PatchError) as e:  # a path the agent named that the workspace refuses
            out = self._error_outcome(str(e), tool=act.tool if act.tool in TOOL_SPECS else None)
        except Exception as e:  # an env bug or infrastructure failure: never crash the caller
            self._note_infra(f"{type(e).__name__}: {e}")
            out = Outcome(observation=f"error: internal error ({type(e).__name__}: {e})",
                          tool=act.tool, error=f"internal error: {e}")
        observation = prompts.clip(out.observation, self.cfg.max_observation_chars) \
            if out.reply is not None else out.observation
        if out.reply == "tool" and out.tool:
            frame.messages.append(prompts.tool_result(out.tool, observation))
        elif out.reply == "user" or (out.reply == "tool" and not out.tool):
            frame.messages.append(prompts.msg("user", observation))
        frame.steps += 1
        self._steps += 1
        if out.violation:
            frame.violations += 1
            self._violations += 1
        if out.conflict:
            frame.conflicts += 1
            self._conflicts += 1
        self._tokens += act.n_tokens + len(observation) // 4
        turn = {"turn_id": turn_id, "frame_id": frame.frame_id, "role": frame.role, "phase": frame.phase,
                "prompt_messages": prompt_len, "completion": act.completion, "token_ids": act.token_ids,
                "logprobs": act.logprobs, "tool": act.tool if act.kind != "final" else None,
                "arguments": copy.deepcopy(act.arguments), "observation": observation, "error": out.error,
                "violation": out.violation, "conflict": out.conflict, "reward": 0.0, "duration": 0.0}
        if act.kind == "final":
            turn["final"] = act.final
        self._turns.append(turn)
        if self._finish_request is not None:
            verdict = self._finish_request
            self._finish_request = None
            summary = self._finish(verdict=verdict or None, truncated=False)
            observation = f"{observation}\n\n{summary}" if observation else summary
        elif not self._done:
            observation = self._check_budgets(frame, observation)
        turn["observation"] = observation
        reward = self._step_reward(turn)
        if self._done:
            reward += self._reward
        turn["reward"] = reward
        turn["duration"] = time.perf_counter() - t0
        self._last_observation = observation
        info = self._info(out)
        return observation, float(reward), self._terminated, self._truncated, info

    def render(self) -> str | None:
        if self.render_mode != "ansi":
            return None
        return self._last_observation

    # ------------------------------------------------------------------ views (CONTRACTS.md)
    def messages(self) -> list[dict[str, Any]]:
        """The active frame's conversation (a copy of the message dicts)."""
        if not self._stack.path:
            return copy.deepcopy(self._stack.frames[-1].messages) if self._stack.frames else []
        return copy.deepcopy(self._stack.active.messages)

    def root_messages(self) -> list[dict[str, Any]]:
        """The root frame's conversation (a copy), also while a delegated child acts.

        The root is the bottom of the active frame path (MultiRoleRustEnv: the current phase);
        after the episode's end, the last root frame opened. ``[]`` before the first reset."""
        frames = self._stack.frames
        if not frames:
            return []
        if self._stack.path:
            return copy.deepcopy(frames[self._stack.path[0]].messages)
        return copy.deepcopy(next(f for f in reversed(frames) if f.parent_id is None).messages)

    def tools(self) -> list[dict[str, Any]]:
        """Tool definitions offered to the active frame."""
        if not self._stack.path:
            return []
        return tool_definitions(self._stack.active.tools, roles=self.roles_cfg.delegate_roles)

    def active_role(self) -> str | None:
        return self._stack.active.role if self._stack.path else None

    def active_frame(self) -> Frame | None:
        return self._stack.active if self._stack.path else None

    @property
    def task(self) -> Task | None:
        return self._task

    @property
    def workspace(self):
        return self._ws

    def trajectory(self) -> dict[str, Any]:
        """The episode record (docs/CONTRACTS.md, Episode record)."""
        t = self._task
        if t is None:
            raise EnvUsageError("no episode yet: call reset() first")
        end = self._ended if self._ended is not None else time.time()
        return {
            "episode_id": self._episode_id, "instance_id": t.instance_id, "env": self.env_name,
            "policy": self.policy_name, "seed": self._seed,
            "task": {"family": t.family, "crate": t.crate, "files": list(t.files), "n_bugs": t.n_bugs,
                     "should_delegate": t.should_delegate,
                     "review_label": (t.review or {}).get("label") if t.review else None,
                     "FAIL_TO_PASS": list(t.FAIL_TO_PASS), "PASS_TO_PASS": list(t.PASS_TO_PASS),
                     "sub_tasks": [s.to_dict() for s in t.sub_tasks]},
            "status": self._status, "error": self._error,
            "reward": float(sum(turn["reward"] for turn in self._turns)),
            "reward_spec": self._reward_spec_name(), "step_shaping": bool(self.cfg.step_shaping),
            "reward_terms": dict(self._reward_terms), "rewards_by_role": dict(self._rewards_by_role),
            "grading": copy.deepcopy(self._grading),
            "terminated": self._terminated, "truncated": self._truncated, "steps": self._steps,
            "tokens": self._tokens, "wall_time": end - self._started,
            "delegations": self._delegations, "refused_delegations": self._refused,
            "conflicts": self._conflicts, "role_violations": self._violations,
            "plan": copy.deepcopy(self._plan), "review_verdict": self._review_verdict,
            "frames": self._frame_records(), "turns": copy.deepcopy(self._turns), "router": None,
        }

    def _frame_records(self) -> list[dict[str, Any]]:
        """Frame records with each frame's conversation and tool definitions (for training)."""
        recs = self._stack.records(with_messages=True)
        for rec in recs:
            rec["tools"] = tool_definitions(rec["tools"], roles=self.roles_cfg.delegate_roles)
        return recs

    # ------------------------------------------------------------------ episode structure (hooks)
    def _start_episode(self) -> None:
        """Open the root frame in the reset's role (MultiRoleRustEnv opens its first phase instead)."""
        role = self._start_role or self.root_role
        if role == self.root_role:
            names, prompt, may_edit = set(TOOL_ORDER), self.cfg.agent_prompt, None
        else:
            spec = self.roles_cfg.roles[role]
            names = set(spec.tools) | ({"submit"} if spec.output != "verdict" else set())
            prompt, may_edit = spec.prompt, self.roles_cfg.edit_rule(role)
        tools = [t for t in TOOL_ORDER if t in names and (t != "delegate_subtask" or self.cfg.max_depth > 0)]
        messages = [prompts.msg("system", self.cfg.system_prompt), prompts.msg("developer", prompt),
                    prompts.msg("user", self._task_message())]
        self._stack.open(role=role, instructions=self._task_text, messages=messages, tools=tools,
                         step_budget=self.cfg.max_steps, may_edit=may_edit)

    def _task_message(self) -> str:
        """The task text plus the reset's ``context`` (the root's user message)."""
        return f"{self._task_text}\n\n{self._context}" if self._context else self._task_text

    def _root_done(self, frame: Frame, text: str, via: str) -> Outcome:
        """The root frame finished (``via`` = "final" or "submit"): grade and end the episode."""
        verdict = None
        if self._task.family == "review":
            verdict, problem = review_answer(text)
            if verdict is None:
                return self._error_outcome(problem, tool="submit" if via == "submit" else None)
            self._review_verdict = verdict
        self._stack.close_active(text, via)
        self._finish_request = verdict or ""
        return Outcome(observation="", tool="submit" if via == "submit" else None, reply=None)

    def _frame_budget(self, frame: Frame) -> int | None:
        return frame.step_budget if frame.depth > 0 else None

    def _on_frame_budget(self, frame: Frame, observation: str) -> str:
        """A child ran out of turns: return to its parent with a note."""
        out = self._return_to_parent(frame, f"(stopped: the subtask used its budget of {frame.step_budget} turns)",
                                     "budget")
        return out.observation

    # ------------------------------------------------------------------ dispatch
    def _error_outcome(self, error: str, tool: str | None = None, **kw: Any) -> Outcome:
        return Outcome(observation=f"error: {error}", tool=tool, error=error, reply="tool" if tool else "user", **kw)

    def _dispatch(self, frame: Frame, act: Action) -> Outcome:
        if act.kind == "invalid":
            return self._error_outcome(act.error or "invalid action",
                                       tool=act.tool if act.tool in TOOL_SPECS else None)
        if act.kind == "final":
            return self._on_final(frame, act.final or "")
        tool = act.tool or ""
        if tool not in TOOL_SPECS:
            offered = ", ".join(frame.tools) or "none (answer on the final channel)"
            return self._error_outcome(f"unknown tool {tool!r}; your tools: {offered}", tool=None)
        if tool not in frame.tools:
            return self._not_offered(frame, tool)
        try:
            args = validate_arguments(tool, act.arguments, roles=self.roles_cfg.delegate_roles)
        except ToolArgumentError as e:
            return self._error_outcome(str(e), tool=tool)
        return self._run_tool(frame, tool, args)

    def _not_offered(self, frame: Frame, tool: str) -> Outcome:
        role_tools = self._role_tools(frame.role)
        if tool == "delegate_subtask" and tool in role_tools and frame.depth >= self.cfg.max_depth:
            return self._error_outcome(f"delegate_subtask is not available at depth {frame.depth} "
                                       f"(maximum depth {self.cfg.max_depth}); do the work yourself", tool=tool)
        offered = ", ".join(frame.tools) or "none (answer on the final channel)"
        return self._error_outcome(f"the {frame.role} role may not use {tool}; your tools: {offered}",
                                   tool=tool, violation=True)

    def _role_tools(self, role: str) -> list[str]:
        if role == self.root_role:
            return list(TOOL_ORDER)
        spec = self.roles_cfg.roles.get(role)
        return list(spec.tools) + ["submit"] if spec else []

    def _on_final(self, frame: Frame, text: str) -> Outcome:
        if frame.depth > 0 and frame.parent_id is not None:
            return self._return_to_parent(frame, text, "final")
        return self._root_done(frame, text, "final")

    def _run_tool(self, frame: Frame, tool: str, args: dict[str, Any]) -> Outcome:
        if tool == "submit":
            summary = args.get("summary", "")
            if frame.depth > 0 and frame.parent_id is not None:
                return self._return_to_parent(frame, summary, "submit")
            return self._root_done(frame, summary, "submit")
        if tool == "delegate_subtask":
            return self._delegate(frame, args)
        ws, cfg = self._ws, self.cfg
        if tool == "apply_patch":
            res = handlers.apply_patch(ws, args["diff"], self._stack.edit_denial)
            frame.note_edits(res.edited)
        elif tool == "run_tests":
            res = handlers.run_tests(self._get_sandbox(), ws, args.get("filter"), cfg.test_timeout)
        elif tool == "cargo_check":
            res = handlers.cargo_check(self._get_sandbox(), ws, cfg.check_timeout)
        elif tool == "read_file":
            res = handlers.read_file(ws, args["path"], args.get("start"), args.get("end"), cfg.read_max_lines)
        elif tool == "list_files":
            res = handlers.list_files(ws, args.get("dir"))
        elif tool == "search":
            res = handlers.search(ws, args["pattern"], args.get("path"), cfg.search_max_results)
        else:  # pragma: no cover - TOOL_SPECS and this switch agree
            res = ToolOutcome.fail(f"tool {tool} is not implemented")
        return Outcome(observation=res.observation, tool=tool, result=res.result, error=res.error,
                       violation=res.violation, conflict=res.conflict)

    # ------------------------------------------------------------------ delegation
    def _child_tools(self, role: str, depth: int) -> list[str]:
        names = set(self._role_tools(role))
        if depth >= self.cfg.max_depth:
            names.discard("delegate_subtask")
        return [t for t in TOOL_ORDER if t in names]

    def _delegate(self, parent: Frame, args: dict[str, Any]) -> Outcome:
        tool = "delegate_subtask"
        if parent.depth >= self.cfg.max_depth:
            return self._error_outcome(f"maximum delegation depth {self.cfg.max_depth} reached", tool=tool)
        role = args["role"]
        instructions = args["instructions"].strip()
        if not instructions:
            return self._error_outcome("delegate_subtask: instructions are empty", tool=tool)
        own = [parent.instructions] + ([self._task_text, self._task.problem_statement] if parent.parent_id is None else [])
        sim = max(similarity(instructions, text) for text in own if text)
        if sim >= self.cfg.similarity_threshold:
            self._refused += 1
            return self._error_outcome(
                f"delegation refused: the instructions are {sim:.0%} similar to your own task "
                f"(limit {self.cfg.similarity_threshold:.0%}); delegate a smaller, specific part",
                tool=tool, extra={"similarity": sim})
        files: list[str] = []
        for p in args["context_files"]:
            try:
                rel = normalize_rel(p)
            except PathError as e:
                return self._error_outcome(f"delegate_subtask: {e}", tool=tool)
            if rel == "." or (self._ws.path / rel).is_dir():
                return self._error_outcome(f"delegate_subtask: {rel} is a folder; list files", tool=tool)
            if rel not in files:
                files.append(rel)
        if len(files) > MAX_CONTEXT_FILES:
            return self._error_outcome(f"delegate_subtask: at most {MAX_CONTEXT_FILES} context files", tool=tool)
        contents: dict[str, str | None] = {}
        for rel in files:
            try:
                contents[rel] = self._ws.read_text(rel) if (self._ws.path / rel).is_file() else None
            except (OSError, UnicodeDecodeError, ValueError):
                contents[rel] = None
        spec = self.roles_cfg.roles[role]
        depth = parent.depth + 1
        tools = self._child_tools(role, depth)
        editable = [f for f in files if self._would_allow(parent, role, f)]
        user = prompts.child_text(instructions, contents, editable, self.cfg.max_observation_chars)
        messages = [prompts.msg("system", self.cfg.system_prompt), prompts.msg("developer", spec.prompt),
                    prompts.msg("user", user)]
        child = self._stack.open(role=role, instructions=instructions, messages=messages, tools=tools, parent=parent,
                                 owned_files=files, step_budget=self.cfg.max_frame_steps, phase=parent.phase,
                                 parent_turn_id=self._current_turn,
                                 return_artifacts=bool(args.get("return_artifacts", False)),
                                 may_edit=self.roles_cfg.edit_rule(role))
        self._frame_start[child.frame_id] = contents
        self._delegations += 1
        return Outcome(observation=self._frame_observation(child), tool=tool, reply=None,
                       result={"child_frame": child.frame_id, "role": role, "depth": depth,
                               "context_files": files, "similarity": round(sim, 4)})

    def _would_allow(self, parent: Frame, role: str, rel: str) -> bool:
        rule = self.roles_cfg.edit_rule(role)
        if rule is not None and not rule(rel):
            return False
        return self._stack.edit_denial(rel) is None

    def _return_to_parent(self, child: Frame, text: str, ended_by: str) -> Outcome:
        """Close ``child``; its answer becomes the parent's ``delegate_subtask`` result."""
        body = text.strip() or "(no message)"
        lines = [f"[{child.role} subtask, frame {child.frame_id}, {ended_by}]", body]
        if child.edited_files:
            lines.append("edited: " + ", ".join(child.edited_files))
        else:
            lines.append("edited: nothing")
        if child.conflicts:
            lines.append(f"rejected edits outside its files: {child.conflicts}")
        if child.return_artifacts and child.edited_files:
            diff = self._diff_since(self._frame_start.get(child.frame_id, {}), child.edited_files)
            if diff:
                lines.append(f"diff:\n{diff}")
        result = "\n".join(lines)
        result = prompts.clip(result, self.cfg.max_observation_chars)
        parent = self._stack.close_active(body, ended_by)
        if parent is not None:
            parent.messages.append(prompts.tool_result("delegate_subtask", result))
        return Outcome(observation=result, tool="submit" if ended_by == "submit" else None, reply=None,
                       result={"returned_frame": child.frame_id, "to_frame": parent.frame_id if parent else None,
                               "edited_files": list(child.edited_files)})

    # ------------------------------------------------------------------ budgets, end, reward
    def _check_budgets(self, acted: Frame, observation: str) -> str:
        if self._steps >= self.cfg.max_steps or (self.cfg.token_budget and self._tokens >= self.cfg.token_budget):
            why = (f"step budget of {self.cfg.max_steps} turns" if self._steps >= self.cfg.max_steps
                   else f"token budget of {self.cfg.token_budget} tokens")
            summary = self._finish(verdict=self._review_verdict, truncated=True)
            return f"{observation}\n\n[episode truncated: {why} used up]\n{summary}"
        if self._stack.path and self._stack.active is acted:
            budget = self._frame_budget(acted)
            if budget is not None and acted.steps >= budget:
                return self._on_frame_budget(acted, observation)
        return observation

    def _finish(self, verdict: str | None, truncated: bool) -> str:
        """Grade the workspace, compute the reward, end the episode; returns a one-paragraph summary."""
        while self._stack.path:
            self._stack.close_active(self._stack.active.result or "", "episode_end")
        self._done = True
        self._terminated = not truncated
        self._truncated = truncated
        self._ended = time.time()
        report = None
        if not truncated or self.cfg.grade_on_truncation:
            try:
                report = self._grade_report(verdict)
                self._grading = report.to_dict()
            except Exception as e:
                self._note_infra(f"grading failed: {type(e).__name__}: {e}")
        self._compute_rewards()
        if not any(t["error"] is None for t in self._turns) and self._status == "ok":
            self._status = "agent_error"
            self._error = "no valid action in the episode"
        return self._summary(truncated)

    def _grade_report(self, verdict: str | None):
        """Grade the workspace now (:func:`cargogym.rewards.grading.grade`)."""
        from cargogym.rewards.grading import grade

        return grade(self._task, self._ws, self._get_sandbox(), review_verdict=verdict, timeout=self.cfg.test_timeout)

    def _roles_played(self) -> list[str]:
        return list(dict.fromkeys(f.role for f in self._stack.frames))

    def _compute_rewards(self) -> None:
        if self._grading is None:
            self._reward, self._reward_terms = 0.0, {}
            self._rewards_by_role = {r: 0.0 for r in self._roles_played()}
            return
        try:
            spec = self._reward_spec()
            traj = self.trajectory()
            total, terms = spec.compute(self._grading, traj)
            self._reward, self._reward_terms = float(total), {k: float(v) for k, v in terms.items()}
            self._rewards_by_role = {r: float(spec.compute(self._grading, traj, role=r)[0])
                                     for r in self._roles_played()}
        except Exception as e:
            self._note_infra(f"reward failed: {type(e).__name__}: {e}")
            self._reward, self._reward_terms = 0.0, {}

    def _reward_spec_name(self) -> str | None:
        try:
            return getattr(self._reward_spec(), "name", None)
        except Exception:  # noqa: BLE001 — a broken spec is reported where it is used
            return None

    def _step_reward(self, turn: dict[str, Any]) -> float:
        if not self.cfg.step_shaping:
            return 0.0
        try:
            return float(self._reward_spec().step_reward(turn))
        except Exception as e:
            self._note_infra(f"step reward failed: {type(e).__name__}: {e}")
            return 0.0

    def _summary(self, truncated: bool) -> str:
        g = self._grading
        head = "episode truncated" if truncated else "submitted"
        if g is None:
            return f"{head}; not graded" + (f" ({self._error})" if self._error else "")
        parts = [f"{head}: resolution {g.get('resolution')}",
                 f"compile {'ok' if g.get('compile_ok') else 'failed'}",
                 f"FAIL_TO_PASS {g.get('f2p_passed')}/{g.get('f2p_total')}",
                 f"PASS_TO_PASS {g.get('p2p_passed')}/{g.get('p2p_total')}"]
        if g.get("review_verdict") is not None or self._task.family == "review":
            parts.append(f"verdict {g.get('review_verdict')} ({'correct' if g.get('review_correct') else 'incorrect'})")
        parts.append(f"reward {self._reward:.3f}")
        return "; ".join(parts)

    def _note_infra(self, message: str) -> None:
        self._infra_errors.append(message)
        self._status = "infra_error"
        self._error = "; ".join(self._infra_errors)[:2000]

    # ------------------------------------------------------------------ helpers
    def _read_all(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for rel in self._ws.list_files("."):
            try:
                out[rel] = self._ws.read_text(rel)
            except (OSError, UnicodeDecodeError, ValueError):
                continue
        return out

    def _current_files(self, paths: list[str]) -> dict[str, str]:
        out = {}
        for rel in paths:
            if (self._ws.path / rel).is_file():
                try:
                    out[rel] = self._ws.read_text(rel)
                except (OSError, UnicodeDecodeError, ValueError):
                    pass
        return out

    def _diff_since(self, start: dict[str, str | None], paths: list[str]) -> str:
        from cargogym.sandbox.patch import make_diff

        old = {p: t for p, t in start.items() if p in paths and t is not None}
        for p in paths:
            if p not in start and p in self._start_files:
                old[p] = self._start_files[p]
        return make_diff(old, self._current_files(paths))

    def current_diff(self) -> str:
        """Diff of the workspace against the episode's starting (broken) state."""
        from cargogym.sandbox.patch import make_diff

        now = self._read_all()
        changed = sorted(p for p in set(now) | set(self._start_files) if now.get(p) != self._start_files.get(p))
        return make_diff({p: self._start_files[p] for p in changed if p in self._start_files},
                         {p: now[p] for p in changed if p in now})

    def _frame_observation(self, frame: Frame) -> str:
        text = prompts.render_conversation(frame.messages, tool_definitions(frame.tools, self.roles_cfg.delegate_roles))
        return prompts.clip(text, OBSERVATION_MAX)

    def _info(self, out: Outcome | None) -> dict[str, Any]:
        active = self._stack.active if self._stack.path else None
        info: dict[str, Any] = {
            "instance_id": self._task.instance_id if self._task else None,
            "frame_id": active.frame_id if active else None,
            "depth": active.depth if active else None,
            "role": active.role if active else None,
            "phase": active.phase if active else None,
            "tool": out.tool if out else None,
            "result": copy.deepcopy(out.result) if out else None,
            "error": out.error if out else None,
            "turn_id": self._current_turn if out else None,
            "violation": out.violation if out else False,
            "conflict": out.conflict if out else False,
            "steps": getattr(self, "_steps", 0),
            "tokens": getattr(self, "_tokens", 0),
        }
        if out is not None and out.extra:
            info.update(copy.deepcopy(out.extra))
        if self._done:
            info.update({
                "grading": copy.deepcopy(self._grading), "reward_terms": dict(self._reward_terms),
                "rewards_by_role": dict(self._rewards_by_role), "delegations": self._delegations,
                "conflicts": self._conflicts, "role_violations": self._violations,
                "frames": [{k: v for k, v in r.items() if k != "tools"} for r in self._stack.records(False)],
                "status": self._status, "review_verdict": self._review_verdict,
                "episode_reward": float(sum(t["reward"] for t in self._turns)),
            })
        return info
