"""Preference pairs (seed strategy 3) in TRL's DPO format: ``{"prompt", "chosen", "rejected"}``.

For each multi_bug task: chosen = a real episode that delegated (``delegations > 0``) and resolved
it; rejected = a real solo episode (``delegations == 0``) of the same task with a worse outcome
(not resolved, or lower reward). Both are the root frame of their episode rendered by the
formatter: ``prompt`` is the text up to the agent's first turn (ending ``<|start|>assistant`` for
Harmony), ``chosen``/``rejected`` the rest of the frame (``scope="episode"``) or only the first
assistant turn (``scope="first_turn"``: the decision to delegate or not). The two root prompts must
be identical (same env, tools and task; episodes are paired only within one env), else the
candidate pair is skipped.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from cargogym.errors import CargogymError

SCOPES = ("episode", "first_turn")


@dataclass
class PairStats:
    tasks: int = 0
    pairs: int = 0
    skipped: dict[str, int] = field(default_factory=dict)

    def skip(self, why: str) -> None:
        self.skipped[why] = self.skipped.get(why, 0) + 1


def _root(record: dict) -> dict | None:
    from cargogym.datagen.records import frame_conversations

    frames = [f for f in frame_conversations(record) if f["parent_id"] is None]
    return frames[0] if frames else None


def _split(frame: dict, scope: str, formatter: str) -> tuple[str, str] | None:
    from cargogym.harmony.formatters import get_formatter

    fmt = get_formatter(formatter)
    msgs = frame["messages"]
    first = next((i for i, m in enumerate(msgs) if m["role"] == "assistant"), None)
    if first is None:
        return None
    end = len(msgs)
    if scope == "first_turn":
        end = next((i for i in range(first, len(msgs)) if msgs[i]["role"] != "assistant"), len(msgs))
    prompt = fmt.render_prompt_text(msgs[:first], frame["tools"])
    full = fmt.render_text(msgs[:end], frame["tools"])
    if not full.startswith(prompt):
        return None
    return prompt, full[len(prompt):]


def _outcome(record: dict) -> tuple[int, float]:
    g = record.get("grading") or {}
    return (1 if g.get("resolved") else 0, float(record.get("reward") or 0.0))


def build_pairs(records: list[dict[str, Any]], scope: str = "episode", formatter: str = "harmony",
                max_pairs_per_task: int = 4) -> tuple[list[dict], PairStats]:
    """DPO rows (plus provenance columns) and counts of what was skipped and why."""
    if scope not in SCOPES:
        raise CargogymError(f"scope must be one of {SCOPES}, got {scope!r}")
    by_task: dict[tuple[str, str], list[dict]] = defaultdict(list)  # pairs only within one env
    for r in records:
        if r.get("status", "ok") == "ok" and (r.get("task") or {}).get("family") == "multi_bug":
            by_task[(r.get("instance_id", ""), r.get("env", ""))].append(r)
    stats = PairStats(tasks=len({k[0] for k in by_task}))
    rows: list[dict] = []
    for iid, env in sorted(by_task):
        recs = sorted(by_task[(iid, env)], key=lambda r: str(r.get("episode_id")))
        chosen = [r for r in recs if (r.get("delegations") or 0) > 0 and (r.get("grading") or {}).get("resolved")]
        solo = [r for r in recs if not (r.get("delegations") or 0)]
        if not chosen:
            stats.skip("no resolved delegating episode")
            continue
        n = 0
        for c in chosen:
            worse = [s for s in solo if _outcome(s) < _outcome(c)]
            if not worse:
                stats.skip("no worse solo episode")
                continue
            for s in worse:
                if n >= max_pairs_per_task:
                    break
                cf, sf = _root(c), _root(s)
                a = _split(cf, scope, formatter) if cf else None
                b = _split(sf, scope, formatter) if sf else None
                if a is None or b is None:
                    stats.skip("episode without an assistant turn")
                    continue
                if a[0] != b[0]:
                    stats.skip("prompts differ (env, tools or task text)")
                    continue
                rows.append({"prompt": a[0], "chosen": a[1], "rejected": b[1], "instance_id": iid,
                             "chosen_episode": c.get("episode_id"), "rejected_episode": s.get("episode_id"),
                             "chosen_reward": float(c.get("reward") or 0.0),
                             "rejected_reward": float(s.get("reward") or 0.0),
                             "chosen_resolution": (c.get("grading") or {}).get("resolution"),
                             "rejected_resolution": (s.get("grading") or {}).get("resolution"),
                             "scope": scope, "formatter": formatter})
                n += 1
    stats.pairs = len(rows)
    return rows, stats


def validate_pair(row: dict) -> None:
    """Raise :class:`~cargogym.datagen.samples.SampleError` unless prompt+chosen and prompt+rejected
    parse (openai-harmony for Harmony) and chosen != rejected."""
    from cargogym.datagen.samples import SampleError
    from cargogym.harmony.formatters import get_formatter

    fmt = get_formatter(row.get("formatter", "harmony"))
    if row["chosen"] == row["rejected"]:
        raise SampleError(f"pair {row.get('instance_id')}: chosen equals rejected")
    for side in ("chosen", "rejected"):
        try:
            msgs = fmt.parse_text(row["prompt"] + row[side])
        except Exception as e:  # noqa: BLE001 — reported as a sample error
            raise SampleError(f"pair {row.get('instance_id')} ({side}) does not parse: {e}") from None
        if not any(m["role"] == "assistant" for m in msgs):
            raise SampleError(f"pair {row.get('instance_id')} ({side}): no assistant message")
