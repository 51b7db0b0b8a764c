"""Multi-role and delegation trajectories (the seed's schemas) as Harmony training conversations.

Multi-role schema::

    {"task": str, "roles": [str, ...],
     "trajectory": [{"role": str, "thinking": str | None,
                     "tool_calls": [{"name": str, "arguments": dict}], "tool_results": [str],
                     "response": str | None}, ...]}

Delegation schema: the same, where a tool call ``{"name": "delegate_subtask", "arguments":
{"role", "instructions", "context_files"}, "child": {"role": str, "trajectory": [steps]}}`` carries
the helper's own steps; its tool result is the helper's answer (ReDel DelegateOne).

:func:`format_harmony_multi_agent` makes one sample per role segment (consecutive steps of one
role) and per delegated child: the role is stated in the developer message (seed option A, the
prompts of ``configs/multi_agent_roles.yaml``), delegation is an ordinary tool call (option C), and
a child's conversation starts from its instructions only. Later segments see the task plus a
``## Handoff`` section with earlier roles' responses. :func:`parse_harmony_multi_agent` rebuilds
the trajectory from the samples' rendered text (parsed with the formatter's parser — openai-harmony
by default) and their ``frame_id``/``parent_id``/``call_index`` links.

A step is rendered as: analysis (thinking), each call with its result, final (response). Parsing
starts a new step at a thinking message, or at a call/response that follows a response, so the
round trip is exact for steps that open with thinking (:func:`canonical_trajectory` merges the
others the same way).
"""

from __future__ import annotations

import copy
import functools
import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cargogym.errors import CargogymError

HANDOFF = "\n\n## Handoff\n"
CONTEXT = "\n\nContext files: "
DELEGATE = "delegate_subtask"


class TrajectoryFormatError(CargogymError, ValueError):
    """A trajectory that does not follow the multi-role / delegation schema."""


@functools.lru_cache(maxsize=1)
def role_definitions() -> dict[str, dict[str, Any]]:
    """role -> {"prompt", "tools"} from ``configs/multi_agent_roles.yaml`` (read-only)."""
    import yaml

    path = Path(__file__).resolve().parent.parent / "configs" / "multi_agent_roles.yaml"
    try:
        data = yaml.safe_load(path.read_text()) or {}
        roles = data.get("roles") or {}
        return {r: {"prompt": (d or {}).get("prompt", ""), "tools": list((d or {}).get("tools") or [])}
                for r, d in roles.items()}
    except (OSError, yaml.YAMLError):
        return {}


def role_prompt(role: str, prompts: dict[str, str] | None = None) -> str:
    """Developer prompt of ``role`` (explicit ``prompts`` first, then the roles config)."""
    if prompts and role in prompts:
        return prompts[role]
    d = role_definitions().get(role)
    return d["prompt"] if d and d["prompt"] else f"You are the {role.upper()}."


def role_of_prompt(text: str, prompts: dict[str, str] | None = None) -> str:
    """Inverse of :func:`role_prompt` (matches the known prompts, then "You are the X")."""
    known = {**{r: d["prompt"] for r, d in role_definitions().items()}, **(prompts or {})}
    for role, p in known.items():
        if p and text.startswith(p):
            return role
    m = re.search(r"You are the (\w+)", text)
    if not m:
        raise TrajectoryFormatError(f"cannot tell the role from the developer message {text[:60]!r}")
    return m.group(1).lower()


def _tool_defs(role: str, names: set[str], tools: Any) -> list[dict]:
    if isinstance(tools, dict):
        return list(tools.get(role, []))
    if isinstance(tools, list):
        return tools
    try:
        from cargogym.envs.tools import TOOL_SPECS, tool_definitions
    except ImportError:  # envs not installed: minimal definitions
        return [{"name": n, "description": "", "parameters": {"type": "object"}} for n in sorted(names)]
    allowed = set(role_definitions().get(role, {}).get("tools", [])) | names
    defs = tool_definitions(sorted(n for n in allowed if n in TOOL_SPECS))
    extra = sorted(n for n in names if n not in TOOL_SPECS)
    return defs + [{"name": n, "description": "", "parameters": {"type": "object"}} for n in extra]


def _check_steps(steps: Any, where: str) -> list[dict]:
    if not isinstance(steps, list):
        raise TrajectoryFormatError(f"{where}: 'trajectory' must be a list of steps")
    for i, s in enumerate(steps):
        if not isinstance(s, dict) or not isinstance(s.get("role"), str):
            raise TrajectoryFormatError(f"{where}: step #{i} needs a 'role'")
        calls, results = s.get("tool_calls") or [], s.get("tool_results") or []
        if len(calls) != len(results):
            raise TrajectoryFormatError(f"{where}: step #{i} has {len(calls)} tool calls but {len(results)} results")
        for c in calls:
            if not isinstance(c, dict) or not c.get("name") or not isinstance(c.get("arguments", {}), dict):
                raise TrajectoryFormatError(f"{where}: step #{i}: a tool call needs 'name' and dict 'arguments'")
    return steps


def _step_messages(step: dict) -> list[dict]:
    out = []
    if step.get("thinking"):
        out.append({"role": "assistant", "channel": "analysis", "content": step["thinking"]})
    for call, result in zip(step.get("tool_calls") or [], step.get("tool_results") or []):
        out.append({"role": "assistant", "channel": "commentary", "recipient": f"functions.{call['name']}",
                    "content_type": "json", "content": json.dumps(call.get("arguments") or {}, ensure_ascii=False)})
        out.append({"role": "tool", "name": f"functions.{call['name']}", "channel": "commentary",
                    "content": str(result)})
    if step.get("response") is not None:
        out.append({"role": "assistant", "channel": "final", "content": step["response"]})
    return out


def _segments(steps: list[dict]) -> list[list[int]]:
    segs: list[list[int]] = []
    for i, s in enumerate(steps):
        if segs and steps[segs[-1][-1]]["role"] == s["role"]:
            segs[-1].append(i)
        else:
            segs.append([i])
    return segs


def _user_text(task: str, handoffs: list[tuple[str, str]]) -> str:
    if not handoffs:
        return task
    return task + HANDOFF + "\n".join(f"[{r}] {t}" for r, t in handoffs)


def format_harmony_multi_agent(trajectory: dict, tools: Any = None, role_prompts: dict[str, str] | None = None,
                               formatter: str = "harmony") -> list[dict]:
    """Training samples ``{"frame_id", "parent_id", "call_index", "depth", "role", "role_prompt",
    "messages", "tools", "text"}`` of a multi-role / delegation trajectory (see module docstring).

    ``tools``: None (env definitions allowed for each role plus those the steps call), one list for
    all roles, or role -> list. ``call_index`` numbers the parent's tool calls within its frame.
    """
    from cargogym.harmony.formatters import get_formatter

    if not isinstance(trajectory, dict) or not isinstance(trajectory.get("task"), str):
        raise TrajectoryFormatError("a trajectory needs a 'task' string and a 'trajectory' list")
    fmt = get_formatter(formatter)
    samples: list[dict] = []

    def frame(steps: list[dict], task: str, handoffs: list[tuple[str, str]], depth: int,
              parent_id: int | None, call_index: int | None, where: str) -> None:
        steps = _check_steps(steps, where)
        for seg in _segments(steps):
            role = steps[seg[0]]["role"]
            msgs: list[dict] = [{"role": "user", "content": _user_text(task, handoffs)}]
            names: set[str] = set()
            children: list[tuple[int, dict, dict]] = []
            n_calls = 0
            for i in seg:
                msgs += _step_messages(steps[i])
                for call in steps[i].get("tool_calls") or []:
                    names.add(call["name"])
                    if call["name"] == DELEGATE and call.get("child") is not None:
                        children.append((n_calls, call, call["child"]))
                    n_calls += 1
            defs = _tool_defs(role, names, tools)
            rp = role_prompt(role, role_prompts)
            frame_id = len(samples)
            samples.append({"frame_id": frame_id, "parent_id": parent_id, "call_index": call_index,
                            "depth": depth, "role": role, "role_prompt": rp, "messages": msgs,
                            "tools": defs, "text": fmt.render_text(msgs, defs, rp)})
            for k, call, child in children:
                args = call.get("arguments") or {}
                child_task = str(args.get("instructions", ""))
                if args.get("context_files"):
                    child_task += CONTEXT + ", ".join(args["context_files"])
                child_steps = [dict(s, role=s.get("role", child.get("role", args.get("role", "coder"))))
                               for s in child.get("trajectory") or []]
                frame(child_steps, child_task, [], depth + 1, frame_id, k, f"{where}/child{k}")
            responses = [steps[i]["response"] for i in seg if steps[i].get("response")]
            if responses:
                handoffs = handoffs + [(role, responses[-1])]

    frame(trajectory.get("trajectory"), trajectory["task"], [], 0, None, None, "trajectory")
    return samples


def steps_from_messages(msgs: list[dict], role: str) -> list[dict]:
    """Steps (multi-role schema) of assistant/tool messages, all given ``role``; see the module
    docstring for where a step starts."""
    steps: list[dict] = []

    def new() -> dict:
        steps.append({"role": role, "thinking": None, "tool_calls": [], "tool_results": [], "response": None})
        return steps[-1]

    cur: dict | None = None
    for m in msgs:
        if m["role"] == "assistant" and m.get("recipient"):
            if cur is None or cur["response"] is not None:
                cur = new()
            name = m["recipient"].split(".", 1)[1] if m["recipient"].startswith("functions.") else m["recipient"]
            try:
                args = json.loads(m["content"]) if m["content"].strip() else {}
            except json.JSONDecodeError as e:
                raise TrajectoryFormatError(f"tool call to {name}: arguments are not JSON ({e.msg})") from None
            cur["tool_calls"].append({"name": name, "arguments": args})
        elif m["role"] == "tool":
            if cur is None or len(cur["tool_results"]) >= len(cur["tool_calls"]):
                raise TrajectoryFormatError("a tool result without a preceding call")
            cur["tool_results"].append(m["content"])
        elif m["role"] == "assistant" and m.get("channel") == "analysis":
            cur = new()
            cur["thinking"] = m["content"]
        elif m["role"] == "assistant":
            if cur is None or cur["response"] is not None:
                cur = new()
            cur["response"] = m["content"]
    return steps


def parse_harmony_multi_agent(samples: Sequence[dict], role_prompts: dict[str, str] | None = None,
                              formatter: str = "harmony") -> dict:
    """The trajectory (multi-role / delegation schema) rebuilt from the samples' ``text``."""
    from cargogym.harmony.formatters import get_formatter

    fmt = get_formatter(formatter)
    frames: list[dict] = []
    for s in samples:
        msgs = fmt.parse_text(s["text"])
        dev = next((m["content"] for m in msgs if m["role"] == "developer"), "")
        if dev.startswith("# Instructions\n\n"):
            dev = dev[len("# Instructions\n\n"):]
        role = role_of_prompt(dev, role_prompts)
        user = next((m["content"] for m in msgs if m["role"] == "user"), None)
        if user is None:
            raise TrajectoryFormatError(f"sample {s.get('frame_id')}: no user message")
        convo = [m for m in msgs if m["role"] in ("assistant", "tool")]
        frames.append({"sample": s, "role": role, "task": user.split(HANDOFF)[0],
                       "steps": steps_from_messages(convo, role)})
    by_id = {f["sample"]["frame_id"]: f for f in frames}
    for f in frames:  # attach children to their parent's delegate call
        pid = f["sample"].get("parent_id")
        if pid is None:
            continue
        parent = by_id[pid]
        calls = [c for st in parent["steps"] for c in st["tool_calls"]]
        call = calls[f["sample"]["call_index"]]
        call["child"] = {"role": f["role"], "trajectory": f["steps"]}
    roots = [f for f in frames if f["sample"].get("parent_id") is None]
    if not roots:
        raise TrajectoryFormatError("no top-level samples")
    steps = [st for f in roots for st in f["steps"]]
    roles = list(dict.fromkeys(f["role"] for f in frames))
    return {"task": roots[0]["task"], "roles": roles, "trajectory": steps}


def canonical_trajectory(trajectory: dict) -> dict:
    """The form :func:`parse_harmony_multi_agent` returns: full step keys, steps split/merged by
    the parsing rule, ``roles`` = roles in order of first appearance (children included)."""
    t = copy.deepcopy(trajectory)
    roles: list[str] = []

    def canon(steps: list[dict]) -> list[dict]:
        out: list[dict] = []
        for seg in _segments(steps):
            role = steps[seg[0]]["role"]
            if role not in roles:
                roles.append(role)
            msgs: list[dict] = []
            calls: list[dict] = []
            for i in seg:
                msgs += _step_messages(steps[i])
                calls += steps[i].get("tool_calls") or []
            new = steps_from_messages(
                [dict(m, recipient=m.get("recipient")) for m in msgs], role)
            flat = [c for st in new for c in st["tool_calls"]]
            for c_new, c_old in zip(flat, calls):
                if c_old.get("child") is not None:
                    child = c_old["child"]
                    cs = [dict(s, role=s.get("role", child.get("role"))) for s in child.get("trajectory") or []]
                    kids = canon(cs)
                    c_new["child"] = {"role": kids[0]["role"] if kids else child.get("role"), "trajectory": kids}
            out += new
        return out

    steps = canon(t["trajectory"])
    return {"task": t["task"], "roles": roles, "trajectory": steps}
