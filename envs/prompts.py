"""Conversation building blocks (pure): task prompts, child-frame prompts, hand-off notes, the
opening of a MultiRoleRust-v0 phase frame (:func:`phase_text`, :func:`phase_messages`,
:func:`phase_tool_names`; also used by ``datagen/decompose.py`` so that decomposed training
samples show exactly what the env shows), and the text rendering of a conversation used as the
initial observation."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from cargogym.envs.tools import TOOL_ORDER
from cargogym.tasks.record import Task

PHASE_DIFF_LIMIT = 8000     # characters of the current diff a phase frame shows (MultiRoleRustEnv.DIFF_LIMIT)
DIFF_TITLE = "Current change (diff against the starting state)"


def msg(role: str, content: str) -> dict[str, Any]:
    return {"role": role, "content": content, "channel": None, "recipient": None, "name": None,
            "content_type": None}


def tool_result(tool: str, content: str) -> dict[str, Any]:
    return {"role": "tool", "content": content, "channel": "commentary", "recipient": None,
            "name": f"functions.{tool}", "content_type": None}


def _file_list(files: list[str], limit: int = 80) -> str:
    shown = files[:limit]
    more = f"\n  … and {len(files) - limit} more" if len(files) > limit else ""
    return "\n".join(f"  {f}" for f in shown) + more


def task_text(task: Task, files: list[str]) -> str:
    """The user message that states ``task`` (the agent's own task; also the similarity baseline)."""
    parts = [task.problem_statement.strip() or f"Fix the crate {task.crate} so that its tests pass."]
    if task.family == "review":
        diff = (task.review or {}).get("diff", "")
        if diff and diff.strip() not in task.problem_statement:
            parts.append(f"The change to review:\n```diff\n{diff.rstrip()}\n```")
        parts.append("Answer with a final message that starts with APPROVE (the change is correct) or "
                     "REQUEST_CHANGES (it introduces a bug), followed by your comments.")
    parts.append(f"Crate `{task.crate}` is checked out at the workspace root. Files:\n{_file_list(files)}")
    return "\n\n".join(parts)


def child_text(instructions: str, files: dict[str, str | None], may_edit: list[str], max_chars: int) -> str:
    """The user message of a delegated child: instructions plus the listed files' contents."""
    parts = [instructions.strip()]
    budget = max_chars
    for path, text in files.items():
        if text is None:
            parts.append(f"--- {path} (does not exist yet)")
            continue
        body = text if len(text) <= budget else text[:max(0, budget)] + "\n… (truncated; use read_file)"
        budget -= len(body)
        parts.append(f"--- {path}\n{body.rstrip()}")
    scope = ", ".join(may_edit) if may_edit else "no files"
    parts.append(f"You may edit only: {scope}. When you are done, answer with a final message (or call "
                 "submit) that reports what you did; it is returned to the agent that asked you.")
    return "\n\n".join(parts)


def handoff_text(title: str, body: str) -> str:
    return f"## {title}\n{body.rstrip()}"


def plan_text(plan: dict[str, Any] | None) -> str:
    if not plan:
        return "(no plan)"
    lines = []
    for i in plan.get("order", range(len(plan["subtasks"]))):
        st = plan["subtasks"][i]
        files = ", ".join(st.get("files", [])) or "-"
        lines.append(f"{i}. [{st.get('role', 'coder')}] {st['description']} (files: {files})")
    return "\n".join(lines)


def phase_text(task: str, role: str, roles: Mapping[str, Any], plan: dict[str, Any] | None,
               history: Sequence[Mapping[str, Any]], diff: str | Callable[[], str] = "",
               diff_limit: int = PHASE_DIFF_LIMIT) -> str:
    """The user message of a MultiRoleRust-v0 phase frame for ``role``.

    ``task``: the task text (the single-agent user message); ``roles``: name -> RoleSpec (only
    ``.output`` is read); ``plan``: the parsed plan (:func:`cargogym.envs.roles.parse_plan`) or
    None; ``history``: the finished phases in order, ``{"role", "event", "text"}`` (``text``
    stripped; ``index`` optional, default the position); ``diff``: the workspace diff against the
    starting state, or a function computing it (called only when the role sees it).

    Parts: the task; ``## Plan`` (not for a planning role); for each earlier role its latest
    hand-off as ``## <role> (<event>)`` (planning roles left out); ``## Current change ...`` (the
    diff cut to ``diff_limit``; not for a planning role, omitted when empty); and, after the
    first phase, ``You are now the <ROLE>.``
    """
    def plans(r: str) -> bool:
        return roles[r].output == "plan"

    parts = [task]
    if plan is not None and not plans(role):
        parts.append(handoff_text("Plan", plan_text(plan)))
    latest: dict[str, tuple[int, Mapping[str, Any]]] = {}
    for i, h in enumerate(history):
        latest[h["role"]] = (h.get("index", i), h)
    for _, h in sorted(latest.values(), key=lambda x: x[0]):
        if plans(h["role"]):
            continue
        parts.append(handoff_text(f"{h['role']} ({h['event']})", h["text"] or "(no message)"))
    if not plans(role):
        text = diff() if callable(diff) else diff
        if text.strip():
            parts.append(handoff_text(DIFF_TITLE, clip(text, diff_limit)))
    if history:
        parts.append(f"You are now the {role.upper()}.")
    return "\n\n".join(parts)


def phase_messages(system_prompt: str, role_prompt: str, text: str) -> list[dict[str, Any]]:
    """The opening of a phase frame: system prompt, the role's prompt (developer), :func:`phase_text` (user)."""
    return [msg("system", system_prompt), msg("developer", role_prompt), msg("user", text)]


def phase_tool_names(role_tools: Iterable[str], max_depth: int) -> list[str]:
    """Tool names a phase frame is offered: the role's tools in ``TOOL_ORDER``, without
    ``delegate_subtask`` when ``max_depth`` is 0."""
    names = set(role_tools)
    if max_depth < 1:
        names.discard("delegate_subtask")
    return [t for t in TOOL_ORDER if t in names]


def render_conversation(messages: list[dict[str, Any]], tools: list[dict[str, Any]]) -> str:
    """A readable text form of a conversation and its tools (the initial observation)."""
    out = []
    for m in messages:
        head = m["role"]
        if m.get("name"):
            head += f" {m['name']}"
        if m.get("channel"):
            head += f" [{m['channel']}]"
        if m.get("recipient"):
            head += f" -> {m['recipient']}"
        out.append(f"### {head}\n{m.get('content', '')}")
    if tools:
        lines = []
        for t in tools:
            props = t["parameters"].get("properties", {})
            req = set(t["parameters"].get("required", []))
            args = ", ".join(f"{k}{'' if k in req else '?'}: {v.get('type', 'any')}" for k, v in props.items())
            lines.append(f"- {t['name']}({args}): {t['description']}")
        out.append("### tools\n" + "\n".join(lines))
    else:
        out.append("### tools\n(none: answer on the final channel)")
    return "\n\n".join(out)


def clip(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, keeping head and tail, with a note in between."""
    if len(text) <= limit:
        return text
    note = f"\n… [{len(text) - limit} characters cut] …\n"
    keep = limit - len(note)
    if keep < 20:
        return text[:limit]
    head = keep * 2 // 3
    return text[:head] + note + text[len(text) - (keep - head):]


def dumps(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, sort_keys=True)
