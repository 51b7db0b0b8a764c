"""Training samples: one conversation (cargogym message dicts + tool definitions) plus provenance.

A sample (one JSONL line)::

    {"id": str, "source": "teacher"|"decompose"|"rollout"|"openai_teacher", "kind": KIND,
     "instance_id": str|None, "family": str|None, "episode_id": str|None, "frame_id": int|None,
     "parent_id": int|None, "depth": int, "role": str|None, "resolved": bool|None, "reward": float|None,
     "formatter": "harmony"|"seed", "messages": [...], "tools": [...], "text": str}

``kind`` is one of :data:`KINDS` (the mix's categories). ``text`` is the formatter's training
rendering (for Harmony it ends with ``<|return|>`` when the last message is a final answer).
:func:`validate_sample` parses ``text`` back (openai-harmony for Harmony) and compares it with
``messages``; :func:`sample_tokens` gives ``input_ids`` and ``assistant_masks`` for TRL.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from cargogym.errors import CargogymError
from cargogym.jsonl import numbered_json_lines

KINDS = ("single_agent", "multi_role", "delegation")
SOURCES = ("teacher", "decompose", "rollout", "openai_teacher")


class SampleError(CargogymError, ValueError):
    """A sample that is malformed or does not parse back (message names sample and problem)."""


def make_sample(*, id: str, messages: Sequence[dict], tools: Sequence[dict] | None, source: str, kind: str,
                formatter: str = "harmony", **meta: Any) -> dict:
    """A sample dict with ``text`` rendered by ``formatter`` (see module docstring for keys)."""
    from cargogym.harmony.formatters import get_formatter

    if kind not in KINDS:
        raise SampleError(f"sample {id}: kind must be one of {KINDS}, got {kind!r}")
    if not any(m.get("role") == "assistant" for m in messages):
        raise SampleError(f"sample {id}: no assistant message to train on")
    row = {"id": id, "source": source, "kind": kind, "instance_id": None, "family": None, "episode_id": None,
           "frame_id": None, "parent_id": None, "depth": 0, "role": None, "resolved": None, "reward": None}
    row.update(meta)
    msgs = [_norm(m) for m in messages]
    row.update({"formatter": formatter, "messages": msgs, "tools": list(tools or []),
                "text": get_formatter(formatter).render_text(msgs, list(tools or []))})
    return row


def _norm(m: dict) -> dict:
    return {"role": m["role"], "content": m.get("content") or "", "channel": m.get("channel"),
            "recipient": m.get("recipient"), "name": m.get("name"), "content_type": m.get("content_type")}


def validate_sample(sample: dict) -> None:
    """Raise :class:`SampleError` unless ``text`` parses back into ``messages``."""
    from cargogym.harmony.formatters import FormatValidationError, get_formatter

    for key in ("id", "kind", "messages", "text"):
        if key not in sample:
            raise SampleError(f"sample {sample.get('id', '?')}: missing {key!r}")
    try:
        get_formatter(sample.get("formatter", "harmony")).validate(sample["text"], sample["messages"])
    except FormatValidationError as e:
        raise SampleError(f"sample {sample['id']}: {e}") from None


def sample_tokens(sample: dict) -> tuple[list[int], list[int]]:
    """``(input_ids, assistant_masks)`` of a Harmony sample (render_training of its messages)."""
    from cargogym.harmony.render import render_training

    if sample.get("formatter", "harmony") != "harmony":
        raise SampleError(f"sample {sample['id']}: token ids are only defined for the harmony formatter")
    return render_training(sample["messages"], sample.get("tools") or [])


def write_jsonl(path: str | os.PathLike, rows: Iterable[dict]) -> int:
    """Write rows atomically (temp file + rename); returns the count."""
    from cargogym.tasks.record import atomic_write_text

    lines = [json.dumps(r, ensure_ascii=False, sort_keys=True) for r in rows]
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, "".join(line + "\n" for line in lines))
    return len(lines)


def iter_jsonl(path: str | os.PathLike) -> Iterator[dict]:
    """Rows of a JSONL file; a bad line -> :class:`SampleError` naming file and line."""
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"{p}: no such file")
    with p.open(encoding="utf-8") as f:
        for n, row in numbered_json_lines(f, str(p), SampleError):
            if not isinstance(row, dict):
                raise SampleError(f"{p}:{n}: each line must be a JSON object")
            yield row


def read_jsonl(path: str | os.PathLike) -> list[dict]:
    return list(iter_jsonl(path))
