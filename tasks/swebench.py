"""Load (and export) SWE-bench-format instances whose ``repo`` is a local crate.

A SWE-bench instance carries ``instance_id, repo, base_commit, patch, test_patch,
problem_statement, FAIL_TO_PASS, PASS_TO_PASS`` (the two test lists often as JSON strings). Here
``repo`` is a path to a crate folder — relative paths are resolved against the instance file's
folder — optionally a git repository, in which case ``base_commit`` must name a commit of it (the
workspace is its ``git archive``: no history). The repository at ``base_commit`` is the broken
state, so ``setup_patch`` is empty; the grader applies ``test_patch`` before grading. Test names
should be qualified by binary (``lib::...``, ``test:<stem>::...``); bare names are kept but listed
in ``extra["unqualified_tests"]``.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any, Iterable

from cargogym.jsonl import numbered_json_lines
from cargogym.tasks.record import FAMILIES, Task, TaskFormatError, atomic_write_text

_QUALIFIED = re.compile(r"^(lib::|doc::|(test|bin|bench|example):[^:]+::)")
_SWEBENCH_REQUIRED = ("instance_id", "repo", "base_commit", "patch", "problem_statement", "FAIL_TO_PASS",
                      "PASS_TO_PASS")


def is_qualified(test_name: str) -> bool:
    return bool(_QUALIFIED.match(test_name))


def _read_records(path: Path) -> list[dict[str, Any]]:
    from cargogym.sandbox.exec import hide_from_sandboxes

    hide_from_sandboxes(path.resolve().parent, path)  # gold patches: never readable by test code
    text = path.read_text(encoding="utf-8")
    stripped = text.lstrip()
    if stripped.startswith("["):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            raise TaskFormatError(f"{path}: not valid JSON ({e})") from e
        if not all(isinstance(d, dict) for d in data):
            raise TaskFormatError(f"{path}: expected a list of instance objects")
        return data
    records = []
    for lineno, rec in numbered_json_lines(text.splitlines(), str(path), TaskFormatError):
        if not isinstance(rec, dict):
            raise TaskFormatError(f"{path}:{lineno}: expected a JSON object")
        records.append(rec)
    return records


def _git_commit_exists(repo: Path, commit: str) -> bool:
    try:
        res = subprocess.run(["git", "-C", str(repo), "rev-parse", "--verify", "--quiet", f"{commit}^{{commit}}"],
                             capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return False
    return res.returncode == 0


def _check_diff(iid: str, field: str, diff: str) -> None:
    if not diff.strip():
        return
    from cargogym.sandbox.patch import PatchError, parse_patch

    try:
        if not parse_patch(diff):
            raise PatchError("no file in the diff")
    except PatchError as e:
        raise TaskFormatError(f"instance {iid!r}: {field} is not a unified diff: {e}") from e


def from_swebench(raw: dict[str, Any], base_dir: str | Path = ".", check_repo: bool = True) -> Task:
    """One SWE-bench record → :class:`Task` (``repo`` made absolute; ``TaskFormatError`` when the
    repo is not a crate, ``base_commit`` is not a commit of it, or a diff does not parse)."""
    if not isinstance(raw, dict):
        raise TaskFormatError(f"an instance must be a JSON object, got {type(raw).__name__}")
    iid = raw.get("instance_id", "?")
    missing = [k for k in _SWEBENCH_REQUIRED if k not in raw]
    if missing:
        raise TaskFormatError(f"instance {iid!r} is missing field(s): {', '.join(missing)}")
    data = dict(raw)
    repo = str(data["repo"])
    if repo.startswith("builtin:"):
        task = Task.from_dict(data)
    else:
        p = Path(repo).expanduser()
        if not p.is_absolute():
            p = (Path(base_dir) / p).resolve()
        if check_repo:
            if not (p / "Cargo.toml").is_file():
                raise TaskFormatError(f"instance {iid!r}: repo {repo!r} ({p}) is not a crate folder (no Cargo.toml)")
            commit = str(data.get("base_commit") or "")
            if (p / ".git").exists() and commit and not _git_commit_exists(p, commit):
                raise TaskFormatError(f"instance {iid!r}: base_commit {commit!r} is not a commit of {p}")
        data["repo"] = str(p)
        data.setdefault("family", "single_bug")
        if data["family"] not in FAMILIES:
            raise TaskFormatError(f"instance {iid!r}: unknown family {data['family']!r}")
        task = Task.from_dict(data)
    for field in ("patch", "test_patch", "setup_patch"):
        _check_diff(iid, field, getattr(task, field) or "")
    if not task.files and task.patch:
        from cargogym.sandbox.patch import parse_patch

        task.files = sorted({f.display for f in parse_patch(task.patch) if f.display != "?"})
    bare = [t for t in task.FAIL_TO_PASS + task.PASS_TO_PASS if not is_qualified(t)]
    if bare:
        task.extra["unqualified_tests"] = bare
    return task


def load_swebench(source: str | Path | Iterable[dict[str, Any]], base_dir: str | Path | None = None,
                  check_repo: bool = True) -> list[Task]:
    """Instances from a JSONL / JSON-list file (or an iterable of dicts); relative ``repo`` paths
    resolve against the file's folder (or ``base_dir``). Duplicate instance ids are an error."""
    if isinstance(source, (str, Path)):
        path = Path(source)
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no such instance file")
        records = _read_records(path)
        base = Path(base_dir) if base_dir is not None else path.resolve().parent
    else:
        records = list(source)
        base = Path(base_dir) if base_dir is not None else Path.cwd()
    tasks, seen = [], set()
    for i, rec in enumerate(records):
        try:
            t = from_swebench(rec, base, check_repo)
        except TaskFormatError as e:
            raise TaskFormatError(f"instance #{i + 1}: {e}") from e
        if t.instance_id in seen:
            raise TaskFormatError(f"duplicate instance_id {t.instance_id!r}")
        seen.add(t.instance_id)
        tasks.append(t)
    return tasks


def to_swebench(task: Task) -> dict[str, Any]:
    """A task as a SWE-bench record (test lists as JSON strings, as SWE-bench ships them)."""
    d = task.to_dict()
    d["FAIL_TO_PASS"] = json.dumps(task.FAIL_TO_PASS)
    d["PASS_TO_PASS"] = json.dumps(task.PASS_TO_PASS)
    return d


def write_swebench(path: str | Path, tasks: Iterable[Task]) -> int:
    lines = [json.dumps(to_swebench(t), ensure_ascii=False) for t in tasks]
    atomic_write_text(path, "".join(line + "\n" for line in lines))
    return len(lines)
