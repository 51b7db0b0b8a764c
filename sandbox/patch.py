"""Apply agent patches to a workspace, safely; make git-style diffs.

Two input formats:

- **Unified diff**, git style (``diff --git a/x b/x``, ``--- a/x``/``+++ b/x``, ``/dev/null`` for
  created/deleted files, ``\\ No newline at end of file``) or plain ``---``/``+++`` pairs. Hunks
  must match the file **exactly** (no fuzz); the ``@@`` line number is a hint — a hunk that does
  not match there is searched for in the whole file and the nearest exact match is used. Line
  counts in ``@@`` headers are not trusted (models miscount); a hunk ends at the next header.
- **"*** Begin Patch"** (``*** Add File:``, ``*** Update File:`` [+ ``*** Move to:``],
  ``*** Delete File:``, ``@@ [anchor]`` chunks, ``*** End of File``, ``*** End Patch``): chunks
  are located by their context, exact first, then ignoring trailing whitespace.

Guarantees: atomic (everything is computed in memory first; nothing is written when any file or
hunk fails, and a failed write rolls back), paths confined to the root (no absolute paths, no
``..``, nothing reached through a symlink, no symlinks or binary patches created), ``may_edit``
consulted for every touched path. Errors are :class:`PatchError` naming the file and the hunk.
"""

from __future__ import annotations

import difflib
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Callable

FORBIDDEN_DIRS = ("target", ".git")


class PatchError(ValueError):
    """A patch that cannot be applied; the message names the failing file / hunk."""


@dataclass
class PatchResult:
    files_changed: list[str] = field(default_factory=list)
    files_created: list[str] = field(default_factory=list)
    files_deleted: list[str] = field(default_factory=list)

    @property
    def files(self) -> list[str]:
        return self.files_changed + self.files_created + self.files_deleted

    def summary(self) -> str:
        parts = []
        if self.files_changed:
            parts.append("modified " + ", ".join(self.files_changed))
        if self.files_created:
            parts.append("created " + ", ".join(self.files_created))
        if self.files_deleted:
            parts.append("deleted " + ", ".join(self.files_deleted))
        return "; ".join(parts) or "no changes"


# -- paths ---------------------------------------------------------------------------------------
def normalize_rel(path: str) -> str:
    """A clean relative POSIX path, or :class:`PatchError` for absolute / escaping paths."""
    p = path.strip()
    if not p or "\0" in p:
        raise PatchError(f"invalid path {path!r}")
    if p.startswith("/") or re.match(r"^[A-Za-z]:[\\/]", p) or p.startswith("~"):
        raise PatchError(f"path {path!r} is absolute; paths must be relative to the crate root")
    parts = [x for x in PurePosixPath(p.replace("\\", "/")).parts if x not in ("", ".")]
    if not parts:
        raise PatchError(f"invalid path {path!r}")
    if ".." in parts:
        raise PatchError(f"path {path!r} escapes the workspace ('..' is not allowed)")
    if parts[0] in FORBIDDEN_DIRS:
        raise PatchError(f"path {path!r} is inside {parts[0]}/, which patches may not touch")
    return "/".join(parts)


def confined_path(root: Path, rel: str) -> Path:
    """``root/rel`` after checking that no existing component is a symlink (so the write stays
    inside ``root``) and that the result is not a directory."""
    rel = normalize_rel(rel)
    cur = root
    for part in rel.split("/"):
        cur = cur / part
        try:
            st = os.lstat(cur)
        except FileNotFoundError:
            break
        if stat.S_ISLNK(st.st_mode):
            raise PatchError(f"path {rel!r} goes through a symlink ({cur.relative_to(root)}); not allowed")
    real_root = os.path.realpath(root)
    real = os.path.realpath(root / rel)
    if real != real_root and not real.startswith(real_root + os.sep):
        raise PatchError(f"path {rel!r} resolves outside the workspace")
    if (root / rel).is_dir():
        raise PatchError(f"path {rel!r} is a directory")
    return root / rel


# -- parsed form ---------------------------------------------------------------------------------
@dataclass
class Hunk:
    header: str
    old_start: int                       # 1-based hint (0 for empty old side)
    lines: list[tuple[str, str]]         # (' '|'-'|'+', text without newline)
    old_no_eol: bool = False
    new_no_eol: bool = False
    anchor: str | None = None            # V4A "@@ anchor"
    at_eof: bool = False                 # V4A "*** End of File"
    fuzzy_ws: bool = False               # V4A: trailing whitespace may differ

    @property
    def old(self) -> list[str]:
        return [t for k, t in self.lines if k in " -"]

    @property
    def new(self) -> list[str]:
        return [t for k, t in self.lines if k in " +"]


@dataclass
class FilePatch:
    old_path: str | None                 # None: file created
    new_path: str | None                 # None: file deleted
    hunks: list[Hunk] = field(default_factory=list)
    new_content: str | None = None       # V4A Add File

    @property
    def display(self) -> str:
        return self.new_path or self.old_path or "?"


# -- parsing: unified ----------------------------------------------------------------------------
_HUNK_RE = re.compile(r"^@@+ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@+(.*)$")


def _strip_prefix(path: str, prefix: str) -> str:
    path = path.split("\t")[0].strip()
    if path.startswith('"') and path.endswith('"') and len(path) >= 2:
        path = path[1:-1]
    if path == "/dev/null":
        return path
    if path.startswith(prefix):
        return path[len(prefix):]
    return path


def parse_unified(diff: str) -> list[FilePatch]:
    lines = diff.splitlines()
    files: list[FilePatch] = []
    cur: FilePatch | None = None
    hunk: Hunk | None = None
    last_kind = ""
    git_new = git_deleted = False
    i = 0
    n = len(lines)
    while i < n:
        line = lines[i]
        if line.startswith("diff --git "):
            cur, hunk = None, None
            git_new = git_deleted = False
            m = re.match(r"^diff --git (\S+) (\S+)$", line)
            files.append(FilePatch(None, None))
            cur = files[-1]
            if m:
                cur.old_path = _strip_prefix(m.group(1), "a/")
                cur.new_path = _strip_prefix(m.group(2), "b/")
            i += 1
            continue
        if line.startswith("--- ") and i + 1 < n and lines[i + 1].startswith("+++ "):
            old = _strip_prefix(line[4:], "a/")
            new = _strip_prefix(lines[i + 1][4:], "b/")
            if cur is None or cur.hunks or hunk is not None:
                files.append(FilePatch(None, None))
                cur = files[-1]
            cur.old_path = None if old == "/dev/null" else old
            cur.new_path = None if new == "/dev/null" else new
            if git_new:
                cur.old_path = None
            if git_deleted:
                cur.new_path = None
            hunk = None
            i += 2
            continue
        if cur is not None and hunk is None and not line.startswith("@@"):
            if line.startswith("new file mode"):
                git_new = True
                cur.old_path = None
                if re.search(r"\b1[26]0000\b", line):
                    raise PatchError(f"{cur.display}: creating symlinks or submodules is not allowed")
            elif line.startswith("deleted file mode"):
                git_deleted = True
                cur.new_path = None
            elif line.startswith(("new mode", "old mode")):
                if re.search(r"\b1[26]0000\b", line):
                    raise PatchError(f"{cur.display}: symlink modes are not allowed")
            elif line.startswith("rename from "):
                cur.old_path = line[len("rename from "):].strip()
            elif line.startswith("rename to "):
                cur.new_path = line[len("rename to "):].strip()
            elif line.startswith(("GIT binary patch", "Binary files")):
                raise PatchError(f"{cur.display}: binary patches are not allowed")
            i += 1
            continue
        m = _HUNK_RE.match(line)
        if m:
            if cur is None:
                raise PatchError(f"hunk {line!r} appears before any file header (--- a/FILE / +++ b/FILE)")
            hunk = Hunk(header=line, old_start=int(m.group(1)), lines=[])
            cur.hunks.append(hunk)
            last_kind = ""
            i += 1
            continue
        if hunk is not None:
            if line.startswith("\\"):
                if last_kind in ("-", " "):
                    hunk.old_no_eol = True
                if last_kind in ("+", " "):
                    hunk.new_no_eol = True
            elif line[:1] in (" ", "-", "+"):
                hunk.lines.append((line[0], line[1:]))
                last_kind = line[0]
            elif line == "":
                hunk.lines.append((" ", ""))  # blank context line whose space was stripped
                last_kind = " "
            else:
                hunk = None  # trailing garbage after a hunk ends it
            i += 1
            continue
        i += 1
    for f in files:
        # trailing blank "context" lines invented from a final empty line are not real context
        for h in f.hunks:
            while h.lines and h.lines[-1] == (" ", "") and _trailing_blank_is_artifact(h):
                h.lines.pop()
    files = [f for f in files if f.old_path or f.new_path]
    if not files:
        raise PatchError("no file changes found in the patch (expected a unified diff with "
                         "--- a/FILE and +++ b/FILE headers, or a *** Begin Patch block)")
    for f in files:
        if f.old_path is not None and f.new_path is not None and not f.hunks and f.old_path == f.new_path:
            raise PatchError(f"{f.display}: file header without any @@ hunk")
    return files


def _trailing_blank_is_artifact(h: Hunk) -> bool:
    m = _HUNK_RE.match(h.header)
    if not m:
        return False
    old_len = int(m.group(2)) if m.group(2) is not None else 1
    new_len = int(m.group(4)) if m.group(4) is not None else 1
    return len(h.old) > old_len and len(h.new) > new_len


# -- parsing: *** Begin Patch --------------------------------------------------------------------
def parse_begin_patch(text: str) -> list[FilePatch]:
    lines = text.splitlines()
    start = next((i for i, ln in enumerate(lines) if ln.strip() == "*** Begin Patch"), None)
    if start is None:
        raise PatchError("missing '*** Begin Patch'")
    files: list[FilePatch] = []
    cur: FilePatch | None = None
    hunk: Hunk | None = None
    ended = False
    for raw in lines[start + 1:]:
        line = raw
        if line.strip() == "*** End Patch":
            ended = True
            break
        if line.startswith("*** Add File: "):
            cur = FilePatch(None, line[len("*** Add File: "):].strip(), new_content="")
            files.append(cur)
            hunk = None
            continue
        if line.startswith("*** Delete File: "):
            cur = FilePatch(line[len("*** Delete File: "):].strip(), None)
            files.append(cur)
            hunk = None
            continue
        if line.startswith("*** Update File: "):
            p = line[len("*** Update File: "):].strip()
            cur = FilePatch(p, p)
            files.append(cur)
            hunk = None
            continue
        if line.startswith("*** Move to: "):
            if cur is None or cur.old_path is None or cur.new_content is not None:
                raise PatchError("'*** Move to:' must follow '*** Update File:'")
            cur.new_path = line[len("*** Move to: "):].strip()
            continue
        if line.strip() == "*** End of File":
            if hunk is not None:
                hunk.at_eof = True
            continue
        if cur is None:
            if line.strip():
                raise PatchError(f"unexpected line before any file operation: {line!r}")
            continue
        if cur.new_content is not None:  # Add File body
            if line.startswith("+"):
                cur.new_content += line[1:] + "\n"
            elif line.strip():
                raise PatchError(f"*** Add File: {cur.new_path}: every line must start with '+', got {line!r}")
            continue
        if cur.new_path is None:
            if line.strip():
                raise PatchError(f"*** Delete File: {cur.old_path}: unexpected content {line!r}")
            continue
        if line.startswith("@@"):
            anchor = line[2:].strip()
            hunk = Hunk(header=line, old_start=0, lines=[], anchor=anchor or None, fuzzy_ws=True)
            cur.hunks.append(hunk)
            continue
        if hunk is None:
            hunk = Hunk(header=f"chunk {len(cur.hunks) + 1}", old_start=0, lines=[], fuzzy_ws=True)
            cur.hunks.append(hunk)
        if line[:1] in (" ", "-", "+"):
            hunk.lines.append((line[0], line[1:]))
        elif line == "":
            hunk.lines.append((" ", ""))
        else:
            raise PatchError(f"*** Update File: {cur.old_path}: line {line!r} must start with ' ', '-' or '+'")
    if not ended:
        raise PatchError("missing '*** End Patch'")
    if not files:
        raise PatchError("the patch contains no file operations")
    for f in files:
        f.hunks = [h for h in f.hunks if h.lines]
        if f.old_path is not None and f.new_path is not None and not f.hunks and f.old_path == f.new_path:
            raise PatchError(f"*** Update File: {f.old_path}: no changes")
    return files


def parse_patch(text: str) -> list[FilePatch]:
    if not isinstance(text, str) or not text.strip():
        raise PatchError("empty patch")
    if "*** Begin Patch" in text:
        return parse_begin_patch(text)
    # tolerate a fenced code block around the diff
    fenced = re.search(r"```(?:diff|patch)?\n(.*?)```", text, re.S)
    if fenced and "@@" in fenced.group(1):
        text = fenced.group(1)
    return parse_unified(text)


# -- applying ------------------------------------------------------------------------------------
def _split(text: str) -> tuple[list[str], bool]:
    """(lines without newlines, ends_with_newline)."""
    if text == "":
        return [], True
    eol = text.endswith("\n")
    lines = text.split("\n")
    if eol:
        lines.pop()
    return lines, eol


def _join(lines: list[str], eol: bool) -> str:
    if not lines:
        return ""
    return "\n".join(lines) + ("\n" if eol else "")


def _matches(lines: list[str], at: int, old: list[str], fuzzy: bool) -> bool:
    if at < 0 or at + len(old) > len(lines):
        return False
    seg = lines[at:at + len(old)]
    if seg == old:
        return True
    return fuzzy and [s.rstrip() for s in seg] == [o.rstrip() for o in old]


def _find(lines: list[str], old: list[str], hint: int, lo: int, fuzzy: bool) -> int | None:
    """Position of ``old`` in ``lines`` (at or after ``lo``) nearest to ``hint``: exact matches
    first, then (when ``fuzzy``) trailing-whitespace-insensitive ones."""
    for fz in ([False, True] if fuzzy else [False]):
        if _matches(lines, hint, old, fz) and hint >= lo:
            return hint
        best = None
        for at in range(lo, len(lines) - len(old) + 1):
            if _matches(lines, at, old, fz):
                if best is None or abs(at - hint) < abs(best - hint):
                    best = at
        if best is not None:
            return best
    return None


def _hunk_name(f: FilePatch, idx: int, h: Hunk) -> str:
    return f"hunk #{idx + 1} of {f.display} ({h.header.strip()[:80]})"


def apply_hunks(text: str, f: FilePatch) -> str:
    """Apply ``f``'s hunks to ``text`` (pure)."""
    lines, eol = _split(text)
    offset = 0
    lo = 0
    for idx, h in enumerate(f.hunks):
        old, new = h.old, h.new
        if h.anchor is not None:
            a = next((i for i in range(lo, len(lines)) if lines[i].strip() == h.anchor.strip()), None)
            if a is None:
                a = next((i for i in range(len(lines)) if h.anchor.strip() in lines[i]), None)
            if a is None:
                raise PatchError(f"{_hunk_name(f, idx, h)} does not apply: anchor line {h.anchor!r} not found")
            lo = a + 1 if old else a + 1
        if h.at_eof:
            hint = len(lines) - len(old)
        elif h.old_start:
            hint = max(0, h.old_start - 1 + offset) if old else min(len(lines), h.old_start + offset)
        else:
            hint = lo
        if not old:  # pure insertion
            if h.fuzzy_ws:
                at = lo if h.anchor is not None else len(lines)
            else:
                at = hint
            at = min(max(at, 0), len(lines))
        else:
            at = _find(lines, old, max(0, hint), lo if h.anchor is not None or h.fuzzy_ws else 0, h.fuzzy_ws)
            if at is None:
                first = next((t for k, t in h.lines if k in " -"), "")
                raise PatchError(
                    f"{_hunk_name(f, idx, h)} does not apply: its context/removed lines were not "
                    f"found in the file (first expected line: {first!r}); re-read the file and "
                    f"make the patch match it exactly")
        touches_end = at + len(old) >= len(lines)
        lines[at:at + len(old)] = new
        offset += len(new) - len(old)
        lo = at + len(new)
        if touches_end and (h.old_no_eol or h.new_no_eol):
            eol = not h.new_no_eol
        elif touches_end and not lines:
            eol = True
    return _join(lines, eol)


def _is_text(data: bytes) -> bool:
    return b"\0" not in data[:8192]


def apply_patch(root: str | Path, diff: str, may_edit: Callable[[str], bool] | None = None) -> PatchResult:
    """Apply ``diff`` under ``root`` atomically; see the module docstring for formats and rules."""
    root = Path(root)
    files = parse_patch(diff)
    # phase 1: compute every new content in memory
    planned: dict[str, str | None] = {}       # rel -> new text (None: delete)
    originals: dict[str, str | None] = {}     # rel -> text before (None: did not exist)
    result = PatchResult()

    def current(rel: str) -> str | None:
        if rel in planned:
            return planned[rel]
        p = confined_path(root, rel)
        if os.path.lexists(p):
            if not p.is_file():
                raise PatchError(f"{rel}: not a regular file")
            data = p.read_bytes()
            if not _is_text(data):
                raise PatchError(f"{rel}: binary file; cannot patch")
            text = data.decode("utf-8", errors="surrogateescape")
            originals.setdefault(rel, text)
            return text
        originals.setdefault(rel, None)
        return None

    def check_allowed(rel: str) -> None:
        if may_edit is not None and not may_edit(rel):
            raise PatchError(f"editing {rel} is not allowed")

    for f in files:
        old_rel = normalize_rel(f.old_path) if f.old_path else None
        new_rel = normalize_rel(f.new_path) if f.new_path else None
        for rel in {r for r in (old_rel, new_rel) if r}:
            confined_path(root, rel)
            check_allowed(rel)
        if old_rel is None and new_rel is not None:  # create
            if current(new_rel) is not None:
                raise PatchError(f"cannot create {new_rel}: it already exists (use an update hunk)")
            text = f.new_content if f.new_content is not None else apply_hunks("", f)
            planned[new_rel] = text
            continue
        assert old_rel is not None
        text = current(old_rel)
        if text is None:
            raise PatchError(f"cannot {'delete' if new_rel is None else 'patch'} {old_rel}: no such file")
        if new_rel is None:  # delete
            planned[old_rel] = None
            continue
        new_text = apply_hunks(text, f) if f.hunks else text
        if new_rel != old_rel:
            if current(new_rel) is not None:
                raise PatchError(f"cannot move {old_rel} to {new_rel}: destination exists")
            planned[old_rel] = None
        planned[new_rel] = new_text
    # phase 2: write, rolling back on failure
    written: list[str] = []
    try:
        for rel, text in planned.items():
            p = confined_path(root, rel)
            if text is None:
                if os.path.lexists(p):
                    p.unlink()
                    written.append(rel)
                continue
            p.parent.mkdir(parents=True, exist_ok=True)
            confined_path(root, rel)  # parents created: re-check
            tmp = p.with_name(f".{p.name}.cargogym-tmp")
            tmp.write_bytes(text.encode("utf-8", errors="surrogateescape"))
            os.replace(tmp, p)
            written.append(rel)
    except OSError as e:
        for rel in written:
            old = originals.get(rel)
            p = root / rel
            try:
                if old is None:
                    p.unlink(missing_ok=True)
                else:
                    p.write_bytes(old.encode("utf-8", errors="surrogateescape"))
            except OSError:
                pass
        raise PatchError(f"writing {rel} failed: {e}") from e
    for rel, text in planned.items():
        before = originals.get(rel)
        if text is None:
            if before is not None:
                result.files_deleted.append(rel)
        elif before is None:
            result.files_created.append(rel)
        elif before != text:
            result.files_changed.append(rel)
    return result


# -- making diffs --------------------------------------------------------------------------------
def _diff_lines(text: str) -> list[str]:
    return text.splitlines(keepends=True)


def make_diff(old: dict[str, str | None], new: dict[str, str | None], context: int = 3) -> str:
    """Git-style unified diff turning ``old`` (path → text) into ``new``; a path missing from a side
    (or mapped to None) is a created / deleted file. Round-trips through :func:`apply_patch`."""
    out: list[str] = []
    for path in sorted(set(old) | set(new)):
        a, b = old.get(path), new.get(path)
        if a == b:
            continue
        out.append(f"diff --git a/{path} b/{path}\n")
        if a is None:
            out.append("new file mode 100644\n")
        elif b is None:
            out.append("deleted file mode 100644\n")
        from_name = f"a/{path}" if a is not None else "/dev/null"
        to_name = f"b/{path}" if b is not None else "/dev/null"
        body = list(difflib.unified_diff(_diff_lines(a or ""), _diff_lines(b or ""), from_name,
                                         to_name, n=context))
        if not body:  # e.g. both empty-ish
            out.append(f"--- {from_name}\n+++ {to_name}\n")
            continue
        for line in body:
            if line.startswith(("---", "+++")) and not line.endswith("\n"):
                line += "\n"
            if line.endswith("\n"):
                out.append(line)
            else:
                out.append(line + "\n\\ No newline at end of file\n")
    return "".join(out)
