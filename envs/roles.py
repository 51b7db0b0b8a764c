"""Roles, their permissions and the multi-role phase machine (``configs/multi_agent_roles.yaml``).

Pure helpers for role outputs live here too: :func:`parse_plan` (the planner's JSON plan),
:func:`parse_verdict` (a reviewer's APPROVE / REQUEST_CHANGES) and :func:`review_answer` (a
verdict followed by comments, as the envs require).
"""

from __future__ import annotations

import fnmatch
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from cargogym.config import ConfigError, read_yaml, resolve_config_path
from cargogym.envs.tools import TOOL_SPECS

EDIT_MODES = ("all", "none", "tests")
OUTPUTS = ("free", "plan", "verdict")
EVENTS = ("done", "approve", "request_changes", "green", "red", "budget")
END = "end"


@dataclass
class RoleSpec:
    name: str
    prompt: str
    tools: list[str]
    edits: str = "all"
    output: str = "free"


@dataclass
class PhaseMachine:
    start: str
    transitions: dict[str, dict[str, str]]
    start_by_family: dict[str, str] = field(default_factory=dict)
    transitions_by_family: dict[str, dict[str, dict[str, str]]] = field(default_factory=dict)
    max_visits: int = 3
    phase_step_budget: int = 12

    def first(self, family: str) -> str:
        return self.start_by_family.get(family, self.start)

    def next(self, role: str, event: str, family: str, visits: dict[str, int]) -> str:
        """The role after ``role`` ends with ``event`` (``"end"`` when none or over ``max_visits``)."""
        table = self.transitions_by_family.get(family, {}).get(role) or self.transitions.get(role, {})
        target = table.get(event, END)
        if target != END and visits.get(target, 0) >= self.max_visits:
            return END
        return target


@dataclass
class RolesConfig:
    roles: dict[str, RoleSpec]
    phases: PhaseMachine
    delegate_roles: list[str]
    test_files: list[str]
    source: str = ""

    def is_test_file(self, rel: str) -> bool:
        return any(fnmatch.fnmatchcase(rel, pat) for pat in self.test_files)

    def edit_rule(self, role: str) -> Callable[[str], bool] | None:
        """None when the role may edit anything, else a predicate over relative paths."""
        mode = self.roles[role].edits if role in self.roles else "all"
        if mode == "all":
            return None
        if mode == "none":
            return lambda rel: False
        return self.is_test_file


def _str_list(value: Any, where: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where}: expected a list of strings")
    return list(value)


def load_roles(name_or_path: str | Path = "multi_agent_roles") -> RolesConfig:
    """Load and check a roles file; problems raise :class:`ConfigError` naming file and key."""
    path = resolve_config_path(name_or_path)
    data = read_yaml(path)
    src = str(path)
    unknown = sorted(set(data) - {"roles", "phases", "delegate_roles", "test_files"})
    if unknown:
        raise ConfigError(f"{src}: unknown key(s) {', '.join(unknown)}")
    raw_roles = data.get("roles")
    if not isinstance(raw_roles, dict) or not raw_roles:
        raise ConfigError(f"{src}: 'roles' must be a non-empty mapping")
    roles: dict[str, RoleSpec] = {}
    for name, spec in raw_roles.items():
        where = f"{src}: roles.{name}"
        if not isinstance(spec, dict):
            raise ConfigError(f"{where}: expected a mapping")
        bad = sorted(set(spec) - {"prompt", "tools", "edits", "output"})
        if bad:
            raise ConfigError(f"{where}: unknown key(s) {', '.join(bad)}")
        tools = _str_list(spec.get("tools"), f"{where}.tools")
        unknown_tools = [t for t in tools if t not in TOOL_SPECS]
        if unknown_tools:
            raise ConfigError(f"{where}.tools: unknown tool(s) {', '.join(unknown_tools)}")
        edits = spec.get("edits", "all")
        if edits not in EDIT_MODES:
            raise ConfigError(f"{where}.edits: must be one of {EDIT_MODES}, got {edits!r}")
        output = spec.get("output", "free")
        if output not in OUTPUTS:
            raise ConfigError(f"{where}.output: must be one of {OUTPUTS}, got {output!r}")
        if not isinstance(spec.get("prompt", ""), str):
            raise ConfigError(f"{where}.prompt: expected a string")
        roles[name] = RoleSpec(name=name, prompt=spec.get("prompt", ""), tools=tools, edits=edits, output=output)
    delegate_roles = _str_list(data.get("delegate_roles", list(roles)), f"{src}: delegate_roles")
    for r in delegate_roles:
        if r not in roles:
            raise ConfigError(f"{src}: delegate_roles names unknown role {r!r}")
    test_files = _str_list(data.get("test_files", ["tests/*"]), f"{src}: test_files")
    phases = _load_phases(data.get("phases") or {}, roles, src)
    return RolesConfig(roles=roles, phases=phases, delegate_roles=delegate_roles, test_files=test_files, source=src)


def _check_table(table: Any, roles: dict[str, RoleSpec], where: str) -> dict[str, dict[str, str]]:
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: expected a mapping role -> {{event: next role}}")
    out: dict[str, dict[str, str]] = {}
    for role, events in table.items():
        if role not in roles:
            raise ConfigError(f"{where}: unknown role {role!r}")
        if not isinstance(events, dict):
            raise ConfigError(f"{where}.{role}: expected a mapping event -> next role")
        for ev, target in events.items():
            if ev not in EVENTS:
                raise ConfigError(f"{where}.{role}: unknown event {ev!r} (known: {', '.join(EVENTS)})")
            if target != END and target not in roles:
                raise ConfigError(f"{where}.{role}.{ev}: unknown role {target!r}")
        out[role] = dict(events)
    return out


def _load_phases(data: dict[str, Any], roles: dict[str, RoleSpec], src: str) -> PhaseMachine:
    where = f"{src}: phases"
    bad = sorted(set(data) - {"start", "start_by_family", "transitions", "transitions_by_family",
                              "max_visits", "phase_step_budget"})
    if bad:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(bad)}")
    start = data.get("start", next(iter(roles)))
    if start not in roles:
        raise ConfigError(f"{where}.start: unknown role {start!r}")
    start_by_family = data.get("start_by_family") or {}
    for fam, role in start_by_family.items():
        if role not in roles:
            raise ConfigError(f"{where}.start_by_family.{fam}: unknown role {role!r}")
    transitions = _check_table(data.get("transitions") or {}, roles, f"{where}.transitions")
    by_family = {fam: _check_table(t, roles, f"{where}.transitions_by_family.{fam}")
                 for fam, t in (data.get("transitions_by_family") or {}).items()}
    max_visits = data.get("max_visits", 3)
    budget = data.get("phase_step_budget", 12)
    for key, value in (("max_visits", max_visits), ("phase_step_budget", budget)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ConfigError(f"{where}.{key}: expected an integer >= 1, got {value!r}")
    return PhaseMachine(start=start, transitions=transitions, start_by_family=dict(start_by_family),
                        transitions_by_family=by_family, max_visits=max_visits, phase_step_budget=budget)


# ---------------------------------------------------------------------------------- role outputs

from cargogym.rewards.grading import parse_verdict  # noqa: E402,F401  (one definition, re-exported)


_VERDICT_WORD = re.compile(r"APPROVE|REQUEST[ _-]CHANGES", re.IGNORECASE)
NO_VERDICT = ("answer with a final message that starts with APPROVE or REQUEST_CHANGES, "
              "followed by your comments")


def review_answer(text: str | None) -> tuple[str | None, str | None]:
    """``(verdict, None)`` for a review answer that starts with APPROVE / REQUEST_CHANGES
    (:func:`parse_verdict`) and goes on with comments (some letter or digit after the verdict
    word); else ``(None, error)``, the error fit to show the reviewer."""
    verdict = parse_verdict(text)
    if verdict is None:
        return None, NO_VERDICT
    word = _VERDICT_WORD.search(text or "")     # the first one is the verdict parse_verdict read
    rest = text[word.end():] if word else ""
    if not re.search(r"[^\W_]", rest):
        what = ("what you checked and why it is correct" if verdict == "APPROVE"
                else "what must change and why (file, line, reason)")
        return None, (f"{verdict} needs comments: answer again with {verdict} followed by {what}")
    return verdict, None


class PlanError(ValueError):
    """A planner answer that is not a usable JSON plan (message fit to show the agent)."""


def _json_candidate(text: str) -> str:
    fenced = re.search(r"```(?:json)?\s*(.*?)```", text, re.DOTALL)
    if fenced:
        return fenced.group(1).strip()
    start, end = text.find("{"), text.rfind("}")
    if start < 0 or end <= start:
        raise PlanError("no JSON object found; answer with {\"subtasks\": [...], \"order\": [...]}")
    return text[start:end + 1]


def parse_plan(text: str, known_roles: list[str] | None = None) -> dict[str, Any]:
    """``{"subtasks": [{"description", "files", "role"}], "order": [...]}`` from a planner answer."""
    try:
        data = json.loads(_json_candidate(text))
    except json.JSONDecodeError as e:
        raise PlanError(f"the plan is not valid JSON ({e.msg} at char {e.pos})") from None
    if not isinstance(data, dict) or not isinstance(data.get("subtasks"), list) or not data["subtasks"]:
        raise PlanError("the plan needs a non-empty list \"subtasks\"")
    subtasks = []
    for i, st in enumerate(data["subtasks"]):
        if not isinstance(st, dict) or not isinstance(st.get("description"), str) or not st["description"].strip():
            raise PlanError(f"subtask {i} needs a non-empty \"description\" string")
        files = st.get("files", [])
        if not isinstance(files, list) or not all(isinstance(f, str) for f in files):
            raise PlanError(f"subtask {i}: \"files\" must be a list of paths")
        role = st.get("role", "coder")
        if not isinstance(role, str) or (known_roles and role not in known_roles):
            raise PlanError(f"subtask {i}: unknown role {role!r}" + (f" (one of {', '.join(known_roles)})" if known_roles else ""))
        subtasks.append({"description": st["description"].strip(), "files": list(files), "role": role})
    order = data.get("order", list(range(len(subtasks))))
    if not isinstance(order, list) or not all(isinstance(o, int) and not isinstance(o, bool) and 0 <= o < len(subtasks) for o in order):
        raise PlanError(f"\"order\" must list subtask indices 0..{len(subtasks) - 1}")
    return {"subtasks": subtasks, "order": list(order)}
