"""Rollouts: Ray actors own environments, policies run batched where they live, episodes are
stored durably as JSONL (see runner.py, worker.py, storage.py)."""

from cargogym.rollouts.storage import TrajectoryWriter, read_records

__all__ = ["TrajectoryWriter", "read_records", "run_rollouts"]


def run_rollouts(*args, **kwargs):
    from cargogym.rollouts.runner import run_rollouts as _run

    return _run(*args, **kwargs)
