"""A live rich progress bar for rollouts: episodes done / total, mean reward, resolved rate,
episodes/s and ETA.

On ``--resume`` the episodes already stored count as done from the start (the bar's total is all
episodes of the run), while the rate and the ETA use only the episodes settled by this call.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterator

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn


def format_eta(seconds: float | None) -> str:
    """``H:MM:SS``, or ``-:--:--`` while unknown."""
    if seconds is None:
        return "-:--:--"
    s = max(0, int(round(seconds)))
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


def progress_fields(result: Any, remaining_total: int) -> dict[str, Any]:
    """Pure: the bar's state for a ``RolloutResult`` of a call that runs ``remaining_total``
    episodes: ``completed`` / ``total`` (resumed episodes included), ``reward``, ``resolved``,
    ``eps`` (episodes written per second) and ``eta`` (text; from this call's settle rate)."""
    settled = result.written + result.failed + result.errors
    left = max(0, remaining_total - settled)
    rate = settled / result.wall_time if result.wall_time > 0 else 0.0
    eta = 0.0 if left == 0 else (left / rate if rate > 0 else None)
    return {"completed": result.skipped + settled, "total": result.skipped + remaining_total,
            "reward": result.mean_reward, "resolved": result.resolved_rate, "eps": result.episodes_per_s,
            "eta": format_eta(eta)}


@contextmanager
def rollout_progress(total: int, description: str = "rollouts", console: Console | None = None) -> Iterator:
    """Yields ``on_episode(record, result, remaining_total)`` for :func:`run_rollouts`; ``total``
    is the initial estimate (all episodes), replaced once the runner reports its plan."""
    progress = Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
        TextColumn("reward {task.fields[reward]:.3f}"), TextColumn("resolved {task.fields[resolved]:.0%}"),
        TextColumn("{task.fields[eps]:.2f} ep/s"), TimeElapsedColumn(), TextColumn("ETA {task.fields[eta]}"),
        console=console or Console(stderr=True), transient=False,
    )
    with progress:
        task_id = progress.add_task(description, total=total, reward=0.0, resolved=0.0, eps=0.0,
                                    eta=format_eta(None))

        def on_episode(record, result, remaining_total) -> None:
            fields = progress_fields(result, remaining_total)
            progress.update(task_id, **fields)

        yield on_episode
