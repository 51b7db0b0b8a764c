"""Reading JSON Lines files strictly: one reader for every format cargogym stores as JSONL
(tasks, SWE-bench instances, trajectories to rescore, MALT trees, training samples).

Readers that must survive torn writes (``rollouts.storage``, ``eval.runs``) skip bad lines
instead and do not use this.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any


def numbered_json_lines(lines: Iterable[str], where: str, error: type[Exception]) -> Iterator[tuple[int, Any]]:
    """``(line number, parsed value)`` of each non-blank line of ``lines``; a line that is not
    JSON raises ``error("<where>:<n>: not valid JSON (<reason>)")``. Pure."""
    for lineno, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as e:
            raise error(f"{where}:{lineno}: not valid JSON ({e.msg}, column {e.colno})") from None
        yield lineno, value
