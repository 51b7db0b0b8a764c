"""Decompose single-agent trajectories into planner / coder / reviewer / tester phases (seed strategy 2),
each phase shown exactly as MultiRoleRust-v0 shows it.

Input: one single-agent root frame conversation (system, developer, the user task, then the
agent's turns with their real tool results), what grading said, and optionally the task (for the
exact diff). Output: one ``kind="multi_role"`` sample per phase:

- planner (injected): analysis, then a JSON plan with one subtask per file the agent's applied
  patches changed;
- coder: the agent's turns up to its last applied patch (and any later call the tester may not
  make, e.g. ``cargo_check``), then an injected ``submit`` with a templated summary;
- reviewer (injected): analysis, the agent's first full test run after its last patch when there
  is one (a real result for the very code under review), then ``APPROVE`` when grading resolved
  the task, else ``REQUEST_CHANGES`` naming the tests grading saw fail;
- tester: the agent's remaining turns (test runs, submit) when the verdict leads there. After
  ``REQUEST_CHANGES`` the env returns to the coder, so unresolved episodes keep all the agent's
  turns in the coder phase (ended by its own submit) and have no tester phase.

Each phase's conversation is built like the env builds it, with the same functions and configs:
:func:`cargogym.envs.prompts.phase_messages` / :func:`~cargogym.envs.prompts.phase_text` /
:func:`~cargogym.envs.prompts.phase_tool_names` over ``configs/env.yaml`` (system prompt, max_depth)
and the roles file (role prompts, tools, phase machine): system prompt; the role's prompt as the
developer message; the user message with the task, ``## Plan``, each earlier role's
``## <role> (<event>)`` hand-off and the current diff; the role's tools. The diff is the env's
(``make_diff`` against the task's starting state, the agent's patches re-applied) when the task is
given; otherwise the agent's own patch texts stand in (samples then carry ``diff_exact=False``).
Injected turns are recorded as the env records structured actions; a phase-ending ``submit``
gets no tool result (the env gives none). Every tool result is one the agent really got.

Episodes the env would not have played this way give no samples: no applied patch, a phase over
``phase_step_budget`` turns, more than ``max_steps`` turns in all, or a roles file whose phase
machine does not go planner → coder → reviewer.
"""

from __future__ import annotations

import json
import re
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_PLUS = re.compile(r"^\+\+\+ b/(\S+)", re.M)
_BEGIN = re.compile(r"^\*\*\* (?:Update|Add) File: (\S+)", re.M)
PLANNER, CODER, REVIEWER, TESTER = "planner", "coder", "reviewer", "tester"


@dataclass
class Phase:
    """One phase of a multi-role episode: what the role said and got, and how the phase ended."""

    role: str
    messages: list[dict]      # the role's assistant turns and their tool results (after the opening)
    event: str                # the phase event that ended it: done, approve, request_changes, green, red, budget
                              # (a decomposed tester: "done", the env's own test run after it is not known)
    handoff: str              # what later phases hear (final message or submit summary; the plan JSON)


def patched_files(diff: str) -> list[str]:
    """Files a unified diff (or ``*** Begin Patch``) writes, in order of appearance."""
    return list(dict.fromkeys(_PLUS.findall(diff) + _BEGIN.findall(diff)))


def _norm(m: dict) -> dict:
    return {"role": m["role"], "content": m.get("content") or "", "channel": m.get("channel"),
            "recipient": m.get("recipient"), "name": m.get("name"), "content_type": m.get("content_type")}


def _tool(m: dict) -> str | None:
    """Tool name of an assistant tool call message, else None."""
    r = m.get("recipient") if m.get("role") == "assistant" else None
    return r.split(".", 1)[1] if r and r.startswith("functions.") else r or None


def _args(m: dict) -> dict:
    try:
        args = json.loads(m.get("content") or "{}")
    except json.JSONDecodeError:
        return {}
    return args if isinstance(args, dict) else {}


def _result_after(msgs: Sequence[dict], i: int) -> str | None:
    """The tool result answering the call at ``msgs[i]`` (None when there is none)."""
    nxt = msgs[i + 1] if i + 1 < len(msgs) else None
    return nxt["content"] if nxt is not None and nxt["role"] == "tool" else None


def _ok(result: str | None) -> bool:
    """A tool result that is not an env error (those start with ``error:``)."""
    return result is not None and not result.startswith("error:")


def applied_patches(msgs: Sequence[dict]) -> list[str]:
    """Diffs of the ``apply_patch`` calls in ``msgs`` that the env applied (result not an error)."""
    return [_args(m).get("diff", "") for i, m in enumerate(msgs)
            if _tool(m) == "apply_patch" and _ok(_result_after(msgs, i))]


def count_turns(msgs: Iterable[dict]) -> int:
    """Env steps the messages stand for: one per tool call or final message."""
    return sum(1 for m in msgs if m["role"] == "assistant" and (_tool(m) or m.get("channel") == "final"))


def _call(tool: str, arguments: dict) -> dict:
    from cargogym.envs.actions import tool_call_message

    return tool_call_message(tool, arguments)


def _analysis(text: str) -> dict:
    return {"role": "assistant", "content": text, "channel": "analysis", "recipient": None, "name": None,
            "content_type": None}


def _final(text: str) -> dict:
    from cargogym.envs.actions import final_message

    return final_message(text)


def _ending(msgs: list[dict]) -> tuple[list[dict], str | None]:
    """``msgs`` without a trailing ``submit`` result, and the hand-off text when the last turn
    ends a phase (a submit call or a final message), else None."""
    if len(msgs) >= 2 and msgs[-1]["role"] == "tool" and _tool(msgs[-2]) == "submit":
        msgs = msgs[:-1]
    last = msgs[-1] if msgs else None
    if last is not None and _tool(last) == "submit":
        return msgs, str(_args(last).get("summary", ""))
    if last is not None and last["role"] == "assistant" and last.get("channel") == "final" and not _tool(last):
        return msgs, last["content"]
    return msgs, None


# ----------------------------------------------------------------------------- the env's phase openings
def _configs(env_cfg: Any = None, roles_cfg: Any = None) -> tuple[Any, Any]:
    from cargogym.envs.config import load_env_config
    from cargogym.envs.roles import load_roles

    env_cfg = env_cfg if env_cfg is not None else load_env_config("env")
    roles_cfg = roles_cfg if roles_cfg is not None else load_roles(env_cfg.roles)
    return env_cfg, roles_cfg


def phase_conversations(task_text: str, phases: Sequence[Phase], diffs: Sequence[str], env_cfg: Any = None,
                        roles_cfg: Any = None) -> list[dict]:
    """``[{"role", "messages", "tools"}]``: each phase's conversation as MultiRoleRust-v0 records it
    (``frames[i]["messages"]`` / ``["tools"]``), given the task text (the user message of the task),
    the phases in order and ``diffs[i]``, the workspace diff against the starting state when phase
    ``i`` opens. ``env_cfg`` / ``roles_cfg`` default to ``configs/env.yaml`` and its roles file."""
    from cargogym.envs import prompts
    from cargogym.envs.roles import parse_plan
    from cargogym.envs.tools import tool_definitions

    env_cfg, roles_cfg = _configs(env_cfg, roles_cfg)
    plan: dict | None = None
    history: list[dict] = []
    out = []
    for ph, diff in zip(phases, diffs, strict=True):
        spec = roles_cfg.roles[ph.role]
        text = prompts.phase_text(task_text, ph.role, roles_cfg.roles, plan, history, diff)
        names = prompts.phase_tool_names(spec.tools, env_cfg.max_depth)
        out.append({"role": ph.role,
                    "messages": prompts.phase_messages(env_cfg.system_prompt, spec.prompt, text)
                    + [_norm(m) for m in ph.messages],
                    "tools": tool_definitions(names, roles=roles_cfg.delegate_roles)})
        if spec.output == "plan":
            plan = parse_plan(ph.handoff, list(roles_cfg.roles))
        history.append({"role": ph.role, "event": ph.event, "text": ph.handoff.strip(), "index": len(history)})
    return out


def task_change_diffs(task: Any, patch_groups: Sequence[Sequence[str]]) -> list[str] | None:
    """The env's ``current_diff()`` (``make_diff`` against the task's starting state: crate source
    plus ``setup_patch``) after each cumulative group of patches, re-applied with the env's own
    ``apply_patch`` in a scratch folder; None when the crate or a patch cannot be used here."""
    import shutil

    from cargogym.sandbox.patch import PatchError, apply_patch, make_diff, normalize_rel, parse_patch
    from cargogym.sandbox.workspace import WorkspaceError, crate_source_dir

    def touched(diff: str) -> set[str]:
        return {normalize_rel(p) for f in parse_patch(diff) for p in (f.old_path, f.new_path) if p}

    def read(root: Path, paths: set[str]) -> dict[str, str]:
        return {p: (root / p).read_text(encoding="utf-8") for p in paths if (root / p).is_file()}

    try:
        src = crate_source_dir(task)
        setup = task.setup_patch if (task.setup_patch or "").strip() else ""
        paths = touched(setup) if setup else set()
        for group in patch_groups:
            for d in group:
                paths |= touched(d)
        with tempfile.TemporaryDirectory(prefix="cargogym-decompose-") as tmp:
            root = Path(tmp)
            for p in paths:
                if (src / p).is_file():
                    (root / p).parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(src / p, root / p)
            if setup:
                apply_patch(root, setup)
            start = read(root, paths)
            out = []
            for group in patch_groups:
                for d in group:
                    apply_patch(root, d)
                now = read(root, paths)
                changed = sorted(p for p in set(now) | set(start) if now.get(p) != start.get(p))
                out.append(make_diff({p: start[p] for p in changed if p in start},
                                     {p: now[p] for p in changed if p in now}))
            return out
    except (PatchError, WorkspaceError, OSError, UnicodeError, ValueError):
        return None


def opening_diffs(phases: Sequence[Phase], task: Any = None) -> tuple[list[str], bool]:
    """The diff each phase opens with (patches applied by the earlier phases) and whether it is the
    env's exact diff (``task`` given and the patches re-apply) or the agent's patch texts."""
    groups = [applied_patches(ph.messages) for ph in phases]
    if not any(groups[:-1]):
        return [""] * len(phases), True
    if task is not None:
        exact = task_change_diffs(task, [[]] + groups[:-1])    # one diff per phase opening
        if exact is not None:
            return exact, True
    approx, done = [], []
    for g in groups:
        approx.append("".join(d.rstrip("\n") + "\n" for d in done))
        done += g
    return approx, False


# ----------------------------------------------------------------------------- decomposition
def _split_index(msgs: list[dict], tester_tools: set[str]) -> int | None:
    """Index after the coder's part: through the result of the last applied patch or the last call
    the tester may not make; None when no patch was applied."""
    last_patch = None
    cut = 0
    for i, m in enumerate(msgs):
        tool = _tool(m)
        if tool is None:
            continue
        res = _result_after(msgs, i)
        end = i + (2 if res is not None else 1)
        if tool == "apply_patch" and _ok(res):
            last_patch, cut = i, max(cut, end)
        elif tool not in tester_tools or tool == "apply_patch":
            cut = max(cut, end)
    return None if last_patch is None else cut


def _review_run(msgs: list[dict]) -> list[dict]:
    """The first full ``run_tests`` call (no filter) and its real result in ``msgs``, else []."""
    for i, m in enumerate(msgs):
        res = _result_after(msgs, i)
        if _tool(m) == "run_tests" and not _args(m).get("filter") and _ok(res):
            return [_norm(m), _norm(msgs[i + 1])]
    return []


def decompose_phases(messages: list[dict], resolved: bool, failing_tests: Sequence[str] | None = None,
                     roles_cfg: Any = None, family: str | None = None, max_turns: tuple[int, int] | None = None
                     ) -> tuple[str, list[Phase]] | None:
    """``(task_text, phases)`` of one single-agent conversation (see the module docstring), or None
    when it cannot be decomposed. ``max_turns``: (per-phase budget, episode step limit)."""
    if roles_cfg is None:
        _, roles_cfg = _configs()
    task = next((m["content"] for m in messages if m["role"] == "user"), None)
    if task is None or not all(r in roles_cfg.roles for r in (PLANNER, CODER, REVIEWER, TESTER)):
        return None
    machine = roles_cfg.phases
    fam = family or ""
    if machine.first(fam) != PLANNER or machine.next(PLANNER, "done", fam, {PLANNER: 1}) != CODER \
            or machine.next(CODER, "done", fam, {PLANNER: 1, CODER: 1}) != REVIEWER:
        return None
    first_user = next(i for i, m in enumerate(messages) if m["role"] == "user")
    agent = [_norm(m) for m in messages[first_user + 1:] if m["role"] in ("assistant", "tool", "user")]
    cut = _split_index(agent, set(roles_cfg.roles[TESTER].tools))
    if cut is None:
        return None
    patches = applied_patches(agent[:cut])
    files = list(dict.fromkeys(f for d in patches for f in patched_files(d)))
    verdict = "approve" if resolved else "request_changes"
    visits = {PLANNER: 1, CODER: 1, REVIEWER: 1}
    to_tester = machine.next(REVIEWER, verdict, fam, visits) == TESTER and resolved
    coder_msgs, rest = (agent[:cut], agent[cut:]) if to_tester else (agent, [])
    coder_msgs, handoff = _ending(coder_msgs)
    if handoff is None:
        handoff = f"Changed {', '.join(files) or 'the code'} with apply_patch; ready for review."
        coder_msgs = coder_msgs + [_call("submit", {"summary": handoff})]

    subtasks = [{"description": f"Fix the faulty code in {f} so the failing tests pass.", "files": [f],
                 "role": CODER} for f in files] or [
        {"description": "Fix the code so the failing tests pass.", "files": [], "role": CODER}]
    plan_json = json.dumps({"subtasks": subtasks, "order": list(range(len(subtasks)))})
    planner = Phase(PLANNER, [_analysis(f"The task needs changes in {len(files)} file(s): "
                                        f"{', '.join(files) or 'unknown'}. One subtask per file, in that order; "
                                        "the coder verifies with the tests."), _final(plan_json)], "done", plan_json)
    if resolved:
        text = ("APPROVE: the change is limited to " + ", ".join(files)
                + " and addresses the failing behaviour; the tests confirm it.")
    else:
        failing = ", ".join(list(failing_tests or [])[:6]) or "the target tests"
        text = f"REQUEST_CHANGES: the change does not fix everything yet; still failing: {failing}."
    review = [_analysis(f"Review the diff against the task. Files touched: {', '.join(files) or 'none'}.")]
    review += _review_run(agent[cut:]) + [_final(text)]
    phases = [planner, Phase(CODER, coder_msgs, "done", handoff), Phase(REVIEWER, review, verdict, text)]
    if rest and any(m["role"] == "assistant" for m in rest):
        rest, tester_end = _ending(rest)
        phases.append(Phase(TESTER, rest, "done" if tester_end is not None else "budget", tester_end or ""))
    if max_turns is not None:
        budget, limit = max_turns
        turns = [count_turns(ph.messages) for ph in phases]
        if max(turns) > budget or sum(turns) > limit:
            return None
    return task, phases


def _failing(grading: dict) -> list[str]:
    return sorted(n for n, st in (grading.get("tests") or {}).items() if st != "passed")


def decompose_sample(sample: dict, grading: dict | None = None, include_unresolved: bool = False,
                     formatter: str = "harmony", task: Any = None, env_cfg: Any = None,
                     roles_cfg: Any = None) -> list[dict]:
    """Multi-role samples (one per phase) from one single-agent sample; empty when it cannot be
    decomposed. ``task``: the episode's Task, for the env's exact diff (see module docstring)."""
    from cargogym.datagen.samples import make_sample

    grading = grading or {}
    resolved = bool(grading.get("resolved", sample.get("resolved")))
    if not resolved and not include_unresolved:
        return []
    env_cfg, roles_cfg = _configs(env_cfg, roles_cfg)
    got = decompose_phases(sample["messages"], resolved, _failing(grading), roles_cfg, sample.get("family"),
                           (roles_cfg.phases.phase_step_budget, env_cfg.max_steps))
    if got is None:
        return []
    task_text, phases = got
    diffs, exact = opening_diffs(phases, task)
    out = []
    for i, (ph, conv) in enumerate(zip(phases, phase_conversations(task_text, phases, diffs, env_cfg, roles_cfg))):
        out.append(make_sample(
            id=f"{sample['id']}:decomp:{i}", messages=conv["messages"], tools=conv["tools"], source="decompose",
            kind="multi_role", formatter=formatter, instance_id=sample.get("instance_id"),
            family=sample.get("family"), episode_id=sample.get("episode_id"), frame_id=i,
            parent_id=None, depth=0, role=ph.role, resolved=resolved, reward=sample.get("reward"),
            decomposed_from=sample["id"], phase_event=ph.event, diff_exact=exact))
    return out


def _task_index(tasks: Any) -> dict[str, Any]:
    from cargogym.tasks.record import Task

    if tasks is None:
        return {}
    if isinstance(tasks, Mapping):
        return {k: v if isinstance(v, Task) else Task.from_dict(v) for k, v in tasks.items()}
    out = {}
    for t in tasks:
        t = t if isinstance(t, Task) else Task.from_dict(t)
        out[t.instance_id] = t
    return out


def decompose_records(records: list[dict[str, Any]], include_unresolved: bool = False,
                      formatter: str = "harmony", tasks: Any = None, env_cfg: Any = None) -> list[dict]:
    """Decompose the root frame of every single-agent episode record (no delegation) into samples.

    ``tasks``: the episodes' Tasks (instance_id -> Task, or an iterable of Tasks / task dicts) for
    the env's exact diff; ``env_cfg``: an ``EnvConfig`` (default ``configs/env.yaml``)."""
    from cargogym.datagen.records import episode_samples

    index = _task_index(tasks)
    env_cfg, roles_cfg = _configs(env_cfg, None)
    out = []
    for rec in records:
        if (rec.get("delegations") or 0) > 0 or str(rec.get("env", "")).startswith("MultiRole"):
            continue
        if rec.get("status", "ok") != "ok":
            continue
        roots = [s for s in episode_samples(rec, source="rollout") if s["depth"] == 0]
        for s in roots:
            out += decompose_sample(s, rec.get("grading"), include_unresolved, formatter,
                                    index.get(rec.get("instance_id")), env_cfg, roles_cfg)
    return out
