"""The rollout configuration (configs/rollout.yaml)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class SamplingConfig:
    temperature: float = 1.0
    top_p: float = 1.0
    max_new_tokens: int = 256


@dataclass
class RolloutConfig:
    policy: str = "oracle"
    tasks: str | None = None
    limit: int | None = None
    families: list = field(default_factory=list)
    env: str = "RustRepo-v0"
    env_kwargs: dict = field(default_factory=dict)
    workers: int = 2
    episodes_per_task: int = 1
    slots_per_worker: int = 2
    seed: int = 0
    max_steps: int = 200
    max_attempts: int = 3
    address: str | None = None
    out: str | None = None
    policy_placement: str = "driver"
    policy_gpus: float = 0.0
    sampling: SamplingConfig = field(default_factory=SamplingConfig)


def default_tasks_path():
    """The validated task set shipped with cargogym (tasks/builtin_tasks.jsonl)."""
    from pathlib import Path

    import cargogym.tasks

    return Path(cargogym.tasks.__file__).resolve().parent / "builtin_tasks.jsonl"


def select_tasks(path: str | None, limit: int | None = None, families: list | None = None) -> list[Any]:
    """Tasks from ``path`` (or the built-in set), filtered by family, first ``limit``."""
    from cargogym.tasks.record import read_tasks

    from cargogym.errors import CargogymError

    if path is None:
        path = str(default_tasks_path())
    tasks = read_tasks(path)
    if families:
        tasks = [t for t in tasks if t.family in families]
    if limit is not None:
        tasks = tasks[:limit]
    if not tasks:
        raise CargogymError(f"no tasks selected from {path} (families={families or 'all'}, limit={limit})")
    return tasks
