"""Delegation frames (ReDel's DelegateOne inside one env).

A :class:`Frame` is one agent conversation: the root agent, a delegated child, or one phase of
the multi-role env. Frames form a tree (``parent_id``); a :class:`FrameStack` keeps every frame
ever opened (for the episode record) and the path of active ones (the top acts next).
Edits a frame may make are the intersection of what every frame on its path allows.
"""

from __future__ import annotations

import copy
import difflib
import posixpath
import re
from dataclasses import dataclass, field
from typing import Any, Callable


class PathError(ValueError):
    """A path that leaves the workspace or is not a plain relative path."""


def normalize_rel(path: str) -> str:
    """``./src//lib.rs`` -> ``src/lib.rs``; absolute paths and ``..`` raise :class:`PathError`."""
    if not isinstance(path, str) or not path.strip():
        raise PathError("empty path")
    p = path.strip().replace("\\", "/")
    if p.startswith("/") or re.match(r"^[A-Za-z]:", p):
        raise PathError(f"{path!r}: use a path relative to the crate root")
    norm = posixpath.normpath(p)
    if norm == ".":
        return "."
    if norm.startswith("../") or norm == "..":
        raise PathError(f"{path!r} leaves the crate")
    return norm


def similarity(a: str, b: str) -> float:
    """Similarity in [0, 1] of two instructions (difflib ratio over normalised words)."""
    wa = " ".join(a.lower().split())[:4000]
    wb = " ".join(b.lower().split())[:4000]
    if not wa and not wb:
        return 1.0
    return difflib.SequenceMatcher(None, wa, wb, autojunk=False).ratio()


@dataclass
class Frame:
    frame_id: int
    parent_id: int | None
    depth: int
    role: str
    instructions: str
    messages: list[dict[str, Any]]
    tools: list[str]
    owned_files: list[str] | None = None     # None: no ownership limit from this frame
    step_budget: int | None = None
    phase: str | None = None
    parent_turn_id: int | None = None
    return_artifacts: bool = False
    may_edit: Callable[[str], bool] | None = None   # role-level edit rule (e.g. tests only)
    steps: int = 0
    conflicts: int = 0
    violations: int = 0
    edited_files: list[str] = field(default_factory=list)
    result: str | None = None
    ended_by: str | None = None               # "final" | "submit" | "budget" | "episode_end"

    def edit_denial(self, rel: str) -> str | None:
        """None when this frame lets ``rel`` be edited, else ``"role"`` or ``"ownership"``."""
        if self.may_edit is not None and not self.may_edit(rel):
            return "role"
        if self.owned_files is not None and rel not in self.owned_files:
            return "ownership"
        return None

    def note_edits(self, paths: list[str]) -> None:
        for p in paths:
            if p not in self.edited_files:
                self.edited_files.append(p)

    def record(self, with_messages: bool = True) -> dict[str, Any]:
        rec = {"frame_id": self.frame_id, "parent_id": self.parent_id, "depth": self.depth,
                "role": self.role, "instructions": self.instructions,
                "owned_files": list(self.owned_files) if self.owned_files is not None else None,
                "result": self.result, "steps": self.steps, "conflicts": self.conflicts,
                "edited_files": list(self.edited_files), "parent_turn_id": self.parent_turn_id,
                "phase": self.phase, "violations": self.violations, "ended_by": self.ended_by,
                "tools": list(self.tools)}
        if with_messages:
            rec["messages"] = copy.deepcopy(self.messages)
        return rec


class FrameStack:
    """All frames of an episode plus the active path (the last one acts)."""

    def __init__(self) -> None:
        self.frames: list[Frame] = []
        self.path: list[int] = []

    @property
    def active(self) -> Frame:
        return self.frames[self.path[-1]]

    def __len__(self) -> int:
        return len(self.path)

    def open(self, *, role: str, instructions: str, messages: list[dict[str, Any]], tools: list[str],
             parent: Frame | None = None, **kw: Any) -> Frame:
        """Open a frame: a child of ``parent`` (pushed on the active path) or a new root."""
        frame = Frame(frame_id=len(self.frames), parent_id=parent.frame_id if parent else None,
                      depth=parent.depth + 1 if parent else 0, role=role, instructions=instructions,
                      messages=messages, tools=tools, **kw)
        self.frames.append(frame)
        if parent is None:
            self.path = [frame.frame_id]
        else:
            self.path.append(frame.frame_id)
        return frame

    def close_active(self, result: str, ended_by: str) -> Frame | None:
        """End the active frame with ``result``; returns the new active frame (its parent) or None."""
        frame = self.active
        frame.result = result
        frame.ended_by = ended_by
        self.path.pop()
        return self.frames[self.path[-1]] if self.path else None

    def edit_denial(self, rel: str) -> str | None:
        """Why the active frame may not edit ``rel`` (``"role"`` / ``"ownership"``), None if it may.

        Every frame on the active path must allow the edit; a role rule is reported before
        ownership."""
        reasons = [self.frames[i].edit_denial(rel) for i in self.path]
        if "role" in reasons:
            return "role"
        return "ownership" if "ownership" in reasons else None

    def records(self, with_messages: bool = True) -> list[dict[str, Any]]:
        return [f.record(with_messages) for f in self.frames]
