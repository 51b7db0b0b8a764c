"""Episode records (docs/CONTRACTS.md, one JSONL line per episode) -> per-frame conversations -> samples.

Each frame (the root agent, a role phase, a delegated child) becomes one training conversation.
Its messages come from ``frame["messages"]`` when the record carries them (exact; what the env
showed the agent), else they are rebuilt from the turns: the frame's developer role prompt and
``instructions`` as the user message, each turn's completion parsed with openai-harmony (or the
structured tool call), and each tool observation as a ``functions.X`` tool result. Rebuilt
samples are marked ``"rebuilt": True``.
"""

from __future__ import annotations

import json
from typing import Any

from cargogym.datagen.samples import make_sample


def _tool_defs(names: list[str], roles: list[str] | None = None) -> list[dict]:
    try:
        from cargogym.envs.tools import TOOL_SPECS, tool_definitions
    except ImportError:
        return [{"name": n, "description": "", "parameters": {"type": "object"}} for n in names]
    defs = tool_definitions([n for n in names if n in TOOL_SPECS], roles)
    return defs + [{"name": n, "description": "", "parameters": {"type": "object"}}
                   for n in names if n not in TOOL_SPECS]


def _all_tools() -> list[str]:
    """What a single-agent root frame is offered (all env tools)."""
    try:
        from cargogym.envs.tools import TOOL_ORDER
    except ImportError:
        return []
    return list(TOOL_ORDER)


def _turn_messages(turn: dict) -> list[dict]:
    from cargogym.harmony.parse import HarmonyParseError, parse_completion

    out: list[dict] = []
    if turn.get("completion"):
        try:
            out = [dict(m) for m in parse_completion(turn["completion"]).messages]
        except HarmonyParseError:
            out = []
    if not out and turn.get("tool"):
        out = [{"role": "assistant", "channel": "commentary", "recipient": f"functions.{turn['tool']}",
                "content_type": "json", "content": json.dumps(turn.get("arguments") or {}, ensure_ascii=False)}]
    if turn.get("tool") and turn.get("observation") is not None:
        out.append({"role": "tool", "name": f"functions.{turn['tool']}", "channel": "commentary",
                    "content": turn["observation"]})
    return out


def frame_conversations(record: dict) -> list[dict]:
    """``[{"frame_id", "parent_id", "depth", "role", "messages", "tools", "rebuilt", "clean"}]``.

    ``clean`` is False when a turn of the frame had an error or role violation (such frames are
    poor SFT targets).
    """
    from cargogym.harmony.multi_agent import role_definitions, role_prompt

    frames = record.get("frames") or [{"frame_id": 0, "parent_id": None, "depth": 0, "role": "agent",
                                       "instructions": ""}]
    turns = record.get("turns") or []
    out = []
    for fr in frames:
        fid = fr.get("frame_id", 0)
        fturns = [t for t in turns if t.get("frame_id", 0) == fid]
        clean = not any(t.get("error") or t.get("violation") for t in fturns)
        if fr.get("messages"):
            msgs = [dict(m) for m in fr["messages"]]
            names = fr.get("tools") or sorted({t["tool"] for t in fturns if t.get("tool")})
            rebuilt = False
        else:
            role = fr.get("role") or "agent"
            msgs = []
            if role in role_definitions():
                msgs.append({"role": "developer", "content": role_prompt(role)})
            msgs.append({"role": "user", "content": fr.get("instructions") or ""})
            for t in fturns:
                msgs += _turn_messages(t)
            offered = role_definitions().get(role, {}).get("tools") if role in role_definitions() else _all_tools()
            names = fr.get("tools") or sorted(set(offered) | {t["tool"] for t in fturns if t.get("tool")})
            rebuilt = True
        tools = [n if isinstance(n, dict) else None for n in names]
        defs = [t for t in tools if t] or _tool_defs([n for n in names if isinstance(n, str)])
        out.append({"frame_id": fid, "parent_id": fr.get("parent_id"), "depth": fr.get("depth", 0),
                    "role": fr.get("role"), "messages": msgs, "tools": defs, "rebuilt": rebuilt, "clean": clean})
    return out


def _delegates(messages: list[dict]) -> bool:
    return any(m.get("role") == "assistant" and str(m.get("recipient") or "").endswith("delegate_subtask")
               for m in messages)


def episode_kind(record: dict, frame: dict | None = None) -> str:
    """Mix category of a frame: ``delegation`` for a child frame or a frame that delegated (for
    ``frame=None``: an episode with delegations), ``multi_role`` for the other frames of
    MultiRoleRust-v0 episodes, else ``single_agent``."""
    if frame is None:
        if (record.get("delegations") or 0) > 0:
            return "delegation"
    elif (frame.get("depth") or 0) > 0 or _delegates(frame.get("messages") or []):
        return "delegation"
    if str(record.get("env", "")).startswith("MultiRole"):
        return "multi_role"
    return "single_agent"


def episode_samples(record: dict, source: str = "rollout", formatter: str = "harmony",
                    require_clean: bool = False) -> list[dict]:
    """One sample per frame that has assistant messages (see :mod:`cargogym.datagen.samples`)."""
    grading = record.get("grading") or {}
    task = record.get("task") or {}
    eid = record.get("episode_id") or record.get("episode_key") or "episode"
    out = []
    for fr in frame_conversations(record):
        if not any(m.get("role") == "assistant" for m in fr["messages"]):
            continue
        if require_clean and not fr["clean"]:
            continue
        out.append(make_sample(
            id=f"{eid}:f{fr['frame_id']}", messages=fr["messages"], tools=fr["tools"], source=source,
            kind=episode_kind(record, fr), formatter=formatter, instance_id=record.get("instance_id"),
            family=task.get("family"), episode_id=eid, frame_id=fr["frame_id"], parent_id=fr["parent_id"],
            depth=fr["depth"], role=fr["role"], resolved=grading.get("resolved"), reward=record.get("reward"),
            rebuilt=fr["rebuilt"], policy=record.get("policy")))
    return out
