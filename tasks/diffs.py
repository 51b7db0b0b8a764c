"""Git-style unified diffs between two file sets (what ``git diff`` prints, ``git apply`` accepts)."""

from __future__ import annotations

import difflib


def _lines(text: str) -> list[str]:
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n\\ No newline at end of file\n"
    return lines


def file_diff(rel: str, old: str | None, new: str | None, context: int = 3) -> str:
    """The diff of one file; ``None`` for a file that does not exist on that side."""
    if old == new:
        return ""
    a = f"a/{rel}" if old is not None else "/dev/null"
    b = f"b/{rel}" if new is not None else "/dev/null"
    head = f"diff --git a/{rel} b/{rel}\n"
    if old is None:
        head += "new file mode 100644\n"
    elif new is None:
        head += "deleted file mode 100644\n"
    body = difflib.unified_diff(_lines(old or ""), _lines(new or ""), a, b, n=context)
    out = "".join(body)
    if not out:
        return ""
    # difflib writes "--- a/x\n+++ b/x\n" with no trailing tab/date: exactly git's form
    return head + out


def make_diff(old: dict[str, str], new: dict[str, str], context: int = 3) -> str:
    """Diff of every file that differs between ``old`` and ``new`` (rel path → text), sorted by path."""
    parts = [file_diff(rel, old.get(rel), new.get(rel), context) for rel in sorted(set(old) | set(new))]
    return "".join(p for p in parts if p)


def changed_files(old: dict[str, str], new: dict[str, str]) -> list[str]:
    return sorted(rel for rel in set(old) | set(new) if old.get(rel) != new.get(rel))
