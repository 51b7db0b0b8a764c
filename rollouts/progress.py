"""A live rich progress bar for rollouts: episodes done / total, mean reward, resolved rate,
episodes/s and ETA."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn


@contextmanager
def rollout_progress(total: int, description: str = "rollouts", console: Console | None = None) -> Iterator:
    """Yields ``on_episode(record, result, total)`` for :func:`run_rollouts`."""
    progress = Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
        TextColumn("reward {task.fields[reward]:.3f}"), TextColumn("resolved {task.fields[resolved]:.0%}"),
        TextColumn("{task.fields[eps]:.2f} ep/s"), TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
        console=console or Console(stderr=True), transient=False,
    )
    with progress:
        task_id = progress.add_task(description, total=total, reward=0.0, resolved=0.0, eps=0.0)

        def on_episode(record, result, _total) -> None:
            progress.update(task_id, completed=result.written, reward=result.mean_reward,
                            resolved=result.resolved_rate, eps=result.episodes_per_s)

        yield on_episode
