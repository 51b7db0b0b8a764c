"""Defensive accessors for episode records (the trajectory JSONL shape in docs/CONTRACTS.md).

Every accessor returns ``None`` for a missing field or a field of the wrong type instead of
raising, so one odd record never breaks an evaluation: the metric that needs the field simply
does not count that episode.
"""

from __future__ import annotations

import math
from typing import Any

REQUEST_CHANGES = "REQUEST_CHANGES"
APPROVE = "APPROVE"


def as_int(x: Any) -> int | None:
    if isinstance(x, bool):
        return None
    if isinstance(x, int):
        return x
    if isinstance(x, float) and math.isfinite(x) and x.is_integer():
        return int(x)
    return None


def as_float(x: Any) -> float | None:
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def as_bool(x: Any) -> bool | None:
    return x if isinstance(x, bool) else None


def as_dict(x: Any) -> dict[str, Any] | None:
    return x if isinstance(x, dict) else None


def as_list(x: Any) -> list[Any] | None:
    return x if isinstance(x, list) else None


def str_list(x: Any) -> list[str] | None:
    """A list of strings (non-strings dropped), or None when ``x`` is not a list."""
    if not isinstance(x, list):
        return None
    return [s for s in x if isinstance(s, str)]


def norm_path(p: str) -> str:
    """Normalise a crate-relative path for comparisons: strip spaces, ``./`` and slashes at the ends."""
    p = p.strip().replace("\\", "/")
    while p.startswith("./"):
        p = p[2:]
    return p.strip("/")


def task_of(ep: dict[str, Any]) -> dict[str, Any]:
    return as_dict(ep.get("task")) or {}


def family_of(ep: dict[str, Any]) -> str | None:
    f = task_of(ep).get("family")
    return f if isinstance(f, str) and f else None


def crate_of(ep: dict[str, Any]) -> str | None:
    c = task_of(ep).get("crate")
    return c if isinstance(c, str) and c else None


def status_of(ep: dict[str, Any]) -> str | None:
    s = ep.get("status")
    return s if isinstance(s, str) else None


def grading_of(ep: dict[str, Any]) -> dict[str, Any] | None:
    return as_dict(ep.get("grading"))


def is_infra_error(ep: dict[str, Any]) -> bool:
    return status_of(ep) == "infra_error"


def is_agent_error(ep: dict[str, Any]) -> bool:
    return status_of(ep) == "agent_error"


def task_files(ep: dict[str, Any]) -> list[str]:
    """Files the task's fix touches: ``task.files``, else the union of ``task.sub_tasks[].files``."""
    task = task_of(ep)
    files = str_list(task.get("files")) or []
    if not files:
        for st in as_list(task.get("sub_tasks")) or []:
            files.extend(str_list(as_dict(st) and st.get("files")) or [])
    seen: dict[str, None] = {}
    for f in files:
        if norm_path(f):
            seen.setdefault(norm_path(f), None)
    return list(seen)


def task_sub_bugs(ep: dict[str, Any]) -> list[set[str]]:
    """The task's sub-bugs as file sets: ``task.sub_tasks[].files`` when present, else one per file."""
    subs = []
    for st in as_list(task_of(ep).get("sub_tasks")) or []:
        files = {norm_path(f) for f in (str_list(as_dict(st) and st.get("files")) or []) if norm_path(f)}
        if files:
            subs.append(files)
    if subs:
        return subs
    return [{f} for f in task_files(ep)]


def should_delegate_label(ep: dict[str, Any]) -> bool | None:
    """The delegation label of an eligible task, None when the task is not in the delegation set.

    Eligible: ``multi_bug`` over >= 2 distinct files (label True) and ``single_bug`` (label False).
    ``task.should_delegate`` wins when it is a bool; the family decides eligibility.
    """
    family = family_of(ep)
    if family == "single_bug":
        derived = False
    elif family == "multi_bug" and len(task_files(ep)) >= 2:
        derived = True
    else:
        return None
    label = as_bool(task_of(ep).get("should_delegate"))
    return derived if label is None else label


def delegated(ep: dict[str, Any]) -> bool | None:
    """Whether the episode delegated: ``delegations > 0``, else any frame with a parent."""
    n = as_int(ep.get("delegations"))
    if n is not None:
        return n > 0
    frames = as_list(ep.get("frames"))
    if frames is None:
        return None
    return any(isinstance(f, dict) and f.get("parent_id") is not None for f in frames)


def roles_in_play(ep: dict[str, Any]) -> set[str]:
    roles: set[str] = set()
    for key in ("frames", "turns"):
        for item in as_list(ep.get(key)) or []:
            if isinstance(item, dict) and isinstance(item.get("role"), str):
                roles.add(item["role"])
    return roles


def review_label(ep: dict[str, Any]) -> str | None:
    lab = task_of(ep).get("review_label")
    if isinstance(lab, str) and lab.strip().lower() in ("buggy", "clean"):
        return lab.strip().lower()
    return None


def review_verdict(ep: dict[str, Any]) -> str | None:
    """``APPROVE`` / ``REQUEST_CHANGES`` from the record (or its grading), else None."""
    for v in (ep.get("review_verdict"), (grading_of(ep) or {}).get("review_verdict")):
        if isinstance(v, str):
            s = v.strip().upper().replace("-", "_").replace(" ", "_")
            if s.startswith(REQUEST_CHANGES):
                return REQUEST_CHANGES
            if s.startswith(APPROVE):
                return APPROVE
    return None


def resolved(ep: dict[str, Any]) -> bool | None:
    """Episode solved: FULL resolution (``grading.resolution``, else ``grading.resolved``); for review
    tasks ``grading.review_correct``, else the verdict matched against the label. An ``agent_error``
    episode without grading is unresolved; otherwise no grading → None."""
    g = grading_of(ep)
    if family_of(ep) == "review":
        if g is not None and as_bool(g.get("review_correct")) is not None:
            return g["review_correct"]
        lab = review_label(ep)
        if lab is None:
            return False if is_agent_error(ep) else None
        verdict = review_verdict(ep)
        return verdict is not None and (verdict == REQUEST_CHANGES) == (lab == "buggy")
    if g is None:
        return False if is_agent_error(ep) else None
    res = g.get("resolution")
    if isinstance(res, str) and res:
        return res.upper() == "FULL"
    return as_bool(g.get("resolved"))
