"""Durable trajectory storage: one JSON line per finished episode.

An episode counts as done only once its line is written, flushed and fsynced, so killing a worker
or the driver loses at most the episodes in flight. ``episode_key`` (``<instance_id>#<k>``)
identifies an episode across runs: ``--resume`` skips the keys already stored, and a key is
never written twice. A torn last line (a crash mid-write) is ignored on read and overwritten.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Iterator

TRAJECTORIES = "trajectories.jsonl"


def episode_key(instance_id: str, k: int) -> str:
    return f"{instance_id}#{k}"


def iter_records(path: str | os.PathLike) -> Iterator[dict[str, Any]]:
    """Episode records from a JSONL file; corrupt or torn lines are skipped."""
    p = Path(path)
    if not p.exists():
        return
    with p.open(encoding="utf-8") as fh:
        for line in fh:
            line = line.strip()
            if not line:
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(rec, dict):
                yield rec


def read_records(path: str | os.PathLike) -> list[dict[str, Any]]:
    return list(iter_records(path))


class TrajectoryWriter:
    """Append-only, fsynced JSONL writer that refuses duplicate episode keys."""

    def __init__(self, path: str | os.PathLike, fsync: bool = True):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.fsync = fsync
        self._repair_torn_tail()
        self.done: set[str] = {r["episode_key"] for r in iter_records(self.path) if "episode_key" in r}
        self._fh = self.path.open("a", encoding="utf-8")

    def _repair_torn_tail(self) -> None:
        if not self.path.exists() or self.path.stat().st_size == 0:
            return
        data = self.path.read_bytes()
        if data.endswith(b"\n"):
            return
        cut = data.rfind(b"\n") + 1  # drop the partial last line
        with self.path.open("r+b") as fh:
            fh.truncate(cut)

    def write(self, record: dict[str, Any]) -> bool:
        """Append ``record``; returns False (and writes nothing) when its key is already stored."""
        key = record.get("episode_key")
        if key is not None and key in self.done:
            return False
        try:
            line = json.dumps(record, ensure_ascii=False, default=_jsonable)
            line.encode("utf-8")
        except UnicodeEncodeError:  # lone surrogates: escape them (still valid JSON) rather than fail
            line = json.dumps(record, ensure_ascii=True, default=_jsonable)
        self._fh.write(line + "\n")
        self._fh.flush()
        if self.fsync:
            os.fsync(self._fh.fileno())
        if key is not None:
            self.done.add(key)
        return True

    def close(self) -> None:
        if not self._fh.closed:
            self._fh.close()

    def __enter__(self) -> "TrajectoryWriter":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _jsonable(obj: Any) -> Any:
    if hasattr(obj, "to_dict"):
        return obj.to_dict()
    if hasattr(obj, "tolist"):
        return obj.tolist()
    if isinstance(obj, (set, tuple)):
        return list(obj)
    if isinstance(obj, Path):
        return str(obj)
    return str(obj)
