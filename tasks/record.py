"""The task record: SWE-bench's instance fields plus cargogym's own.

A task is a Rust crate in a known-good state, a change that breaks it, and the tests the fix must
turn green. Field meanings follow SWE-bench:

- ``repo``: ``"builtin:<crate>"`` for a crate of the built-in corpus, else a local path to a crate
  (optionally a git repository, checked out at ``base_commit``).
- ``base_commit``: for built-in crates, a content hash of the broken state; for external
  instances, the git commit the workspace starts from.
- ``patch``: the gold fix, a git-style unified diff (``a/``, ``b/`` prefixes, paths relative to
  the crate root) that turns the broken state into the fixed one.
- ``test_patch``: a diff applied to test files before grading ("" when the tests already exist).
- ``FAIL_TO_PASS`` / ``PASS_TO_PASS``: test names qualified by test binary
  (``lib::cache::tests::evicts_oldest``, ``test:integration::parses_all``).

cargogym adds ``family`` (single_bug, multi_bug, implement, review, compile_error), ``bug_kinds``,
``files``, ``n_bugs``, ``sub_tasks`` (per bug: its files and F2P subset), ``difficulty``,
``created_at``, ``setup_patch`` (the diff that turns the pristine built-in crate into the broken
state; the reverse of ``patch``), and ``review`` (for review tasks: ``{"diff", "label"}`` with
label ``"buggy"`` or ``"clean"``). Unknown keys in a record are kept in ``extra``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Iterator

from cargogym.jsonl import numbered_json_lines

FAMILIES = ("single_bug", "multi_bug", "implement", "review", "compile_error")
BUILTIN_PREFIX = "builtin:"


class TaskFormatError(ValueError):
    """A task record that is missing fields or has fields of the wrong type."""


@dataclass
class SubTask:
    """One bug of a (multi-bug) task: where it lives and which tests it breaks."""

    bug_id: int
    files: list[str]
    FAIL_TO_PASS: list[str]
    kind: str = ""
    description: str = ""

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass
class Task:
    instance_id: str
    repo: str
    base_commit: str
    patch: str
    test_patch: str
    problem_statement: str
    FAIL_TO_PASS: list[str]
    PASS_TO_PASS: list[str]
    family: str = "single_bug"
    bug_kinds: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    n_bugs: int = 1
    sub_tasks: list[SubTask] = field(default_factory=list)
    difficulty: str = "easy"
    created_at: str = ""
    setup_patch: str = ""
    review: dict[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    # -- derived -----------------------------------------------------------------------------
    @property
    def is_builtin(self) -> bool:
        return self.repo.startswith(BUILTIN_PREFIX)

    @property
    def crate(self) -> str:
        """The built-in crate name, or the last path component of an external repo."""
        if self.is_builtin:
            return self.repo[len(BUILTIN_PREFIX):]
        return Path(self.repo).name

    @property
    def should_delegate(self) -> bool:
        """The delegation label: multi-bug tasks over at least two files."""
        return self.family == "multi_bug" and len(set(self.files)) >= 2

    # -- serialisation -----------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        d = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "extra"}
        d["sub_tasks"] = [s.to_dict() for s in self.sub_tasks]
        d.update(self.extra)
        return d

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Task":
        if not isinstance(data, dict):
            raise TaskFormatError(f"a task record must be a JSON object, got {type(data).__name__}")
        required = ("instance_id", "repo", "patch", "FAIL_TO_PASS", "PASS_TO_PASS")
        missing = [k for k in required if k not in data]
        if missing:
            raise TaskFormatError(
                f"task {data.get('instance_id', '?')!r} is missing field(s): {', '.join(missing)}"
            )
        known = {f.name for f in dataclasses.fields(cls)}
        kwargs: dict[str, Any] = {k: v for k, v in data.items() if k in known and k != "extra"}
        extra = {k: v for k, v in data.items() if k not in known}
        for key in ("FAIL_TO_PASS", "PASS_TO_PASS"):
            value = kwargs[key]
            if isinstance(value, str):  # SWE-bench ships these as JSON strings
                try:
                    value = json.loads(value)
                except json.JSONDecodeError as e:
                    raise TaskFormatError(f"{key} of {data['instance_id']!r} is not JSON: {e}") from e
            if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
                raise TaskFormatError(f"{key} of {data['instance_id']!r} must be a list of test names")
            kwargs[key] = value
        kwargs.setdefault("base_commit", "")
        kwargs.setdefault("test_patch", "")
        kwargs.setdefault("problem_statement", "")
        if kwargs.get("family", "single_bug") not in FAMILIES:
            raise TaskFormatError(f"unknown family {kwargs['family']!r}; expected one of {FAMILIES}")
        kwargs["sub_tasks"] = [
            s if isinstance(s, SubTask) else SubTask(**s) for s in kwargs.get("sub_tasks", []) or []
        ]
        return cls(**kwargs, extra=extra)


def content_hash(files: dict[str, str]) -> str:
    """A stable hash of a set of files (path → text); used as base_commit of built-in tasks."""
    h = hashlib.sha256()
    for path in sorted(files):
        h.update(path.encode())
        h.update(b"\0")
        h.update(files[path].encode())
        h.update(b"\0")
    return h.hexdigest()[:40]


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


# -- JSONL -------------------------------------------------------------------------------------
def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` to ``path`` atomically (temp file in the same folder, fsync, rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp creates 0600; give the file ordinary permissions
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_tasks(path: str | os.PathLike, tasks: Iterable[Task]) -> int:
    """Write tasks as JSONL atomically; returns the number written."""
    lines = [json.dumps(t.to_dict(), ensure_ascii=False) for t in tasks]
    atomic_write_text(path, "".join(line + "\n" for line in lines))
    return len(lines)


def resolve_repo(task: Task, base_dir: str | os.PathLike) -> Task:
    """Make a relative local ``repo`` path absolute against ``base_dir`` (the folder of the file
    the task came from, as :func:`cargogym.tasks.swebench.load_swebench` does); built-in repos and
    absolute paths are left alone."""
    if task.repo and not task.is_builtin:
        p = Path(task.repo).expanduser()
        if not p.is_absolute():
            task.repo = str((Path(base_dir) / p).resolve())
    return task


def iter_tasks(path: str | os.PathLike) -> Iterator[Task]:
    """Read tasks from JSONL; a bad line raises :class:`TaskFormatError` naming file and line.
    A relative local ``repo`` resolves against the file's folder (:func:`resolve_repo`), so a
    SWE-bench JSONL of local crates reads the same here as through ``load_swebench``. The file
    and its folder (gold patches) are hidden from sandboxed commands from now on."""
    from cargogym.sandbox.exec import hide_from_sandboxes

    base = Path(path).resolve().parent
    hide_from_sandboxes(base, path)
    with open(path, encoding="utf-8") as fh:
        for lineno, data in numbered_json_lines(fh, str(path), TaskFormatError):
            try:
                yield resolve_repo(Task.from_dict(data), base)
            except TaskFormatError as e:
                raise TaskFormatError(f"{path}:{lineno}: {e}") from e


def read_tasks(path: str | os.PathLike) -> list[Task]:
    return list(iter_tasks(path))


def load_task(spec: "Task | dict[str, Any] | str | os.PathLike", instance_id: str | None = None) -> Task:
    """Accept a Task, a dict in record form, or a JSONL path (+ optional instance_id)."""
    if isinstance(spec, Task):
        return spec
    if isinstance(spec, dict):
        return Task.from_dict(spec)
    tasks = read_tasks(spec)
    if not tasks:
        raise TaskFormatError(f"{spec}: no tasks")
    if instance_id is None:
        return tasks[0]
    for t in tasks:
        if t.instance_id == instance_id:
            return t
    raise TaskFormatError(f"{spec}: no task with instance_id {instance_id!r}")
