"""Reading a run directory (what ``cargogym rollout`` writes) robustly.

Layout::

    RUN_DIR/trajectories.jsonl   episode records, one JSON object per line (docs/CONTRACTS.md)
    RUN_DIR/learning_curve.json  optional: {"steps": [...], "mean_reward": [...]}
                                 or [{"step": s, "mean_reward": r}, ...]
    RUN_DIR/**/curve.json        used when learning_curve.json is absent: what ``cargogym train
                                 learn`` / GRPO write, {"curve": [{"iteration": i, "mean_reward": r}, ...]}
                                 (the shallowest one; ties by path order)
    RUN_DIR/trees.jsonl          optional: MALT trees (only counted here)
    RUN_DIR/run.json             optional metadata (policy, env, config, ...)

Contract: a line that is not a JSON object (truncated write, garbage) is skipped and counted in
``Run.corrupt_lines``; an episode whose identity (``episode_key`` = ``<instance_id>#<k>`` as the
rollouts write it, else ``episode_id``) repeats an earlier one replaces it (a resumed or retried
rollout) and is counted in ``Run.duplicates``. Records are kept as plain
dicts; metrics read them defensively. A missing directory, a missing or empty trajectories file
raises :class:`EvalInputError` (one line, meant for the user).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cargogym.errors import CargogymError

TRAJECTORIES = "trajectories.jsonl"
LEARNING_CURVE = "learning_curve.json"
TRAINING_CURVE = "curve.json"
TREES = "trees.jsonl"
RUN_META = "run.json"


class EvalInputError(CargogymError):
    """A run directory or file that cannot be evaluated."""


@dataclass
class LearningCurve:
    steps: list[float]
    mean_reward: list[float]
    source: str = ""   # the file it came from, relative to the run directory


@dataclass
class Run:
    """One run: its episode records plus what else the directory holds."""

    path: Path
    episodes: list[dict[str, Any]]
    corrupt_lines: int = 0
    duplicates: int = 0
    meta: dict[str, Any] = field(default_factory=dict)
    learning_curve: LearningCurve | None = None
    n_trees: int | None = None
    notes: list[str] = field(default_factory=list)  # non-fatal problems, shown in the report

    @property
    def name(self) -> str:
        return self.path.name or str(self.path)


def parse_jsonl(text: str) -> tuple[list[dict[str, Any]], int]:
    """Objects of a JSONL text and the number of non-blank lines that were not JSON objects."""
    records: list[dict[str, Any]] = []
    corrupt = 0
    for line in text.splitlines():
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except (json.JSONDecodeError, RecursionError):
            corrupt += 1
            continue
        if isinstance(obj, dict):
            records.append(obj)
        else:
            corrupt += 1
    return records, corrupt


def _identity(rec: dict[str, Any]) -> str | None:
    for key in ("episode_key", "episode_id"):
        v = rec.get(key)
        if isinstance(v, str) and v:
            return f"{key}:{v}"
    return None


def dedupe_episodes(records: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], int]:
    """Keep the last record of each episode identity (records without one are all kept), in order."""
    last: dict[str, int] = {}
    for i, rec in enumerate(records):
        ident = _identity(rec)
        if ident is not None:
            last[ident] = i
    out = []
    for i, rec in enumerate(records):
        ident = _identity(rec)
        if ident is not None and last[ident] != i:
            continue
        out.append(rec)
    return out, len(records) - len(out)


def _finite(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def parse_learning_curve(data: Any) -> LearningCurve:
    """``{"steps": [...], "mean_reward": [...]}``, a list of ``{"step"|"iteration", "mean_reward"}``,
    or the training format ``{"curve": [that list]}``.

    Points with a non-numeric step or reward are dropped; ValueError when nothing usable is left.
    """
    pairs: list[tuple[float, float]] = []
    if isinstance(data, dict) and "curve" in data and "steps" not in data:
        data = data["curve"]
        if not isinstance(data, list):
            raise ValueError('expected "curve" to be a list of points')
    if isinstance(data, dict):
        steps, rewards = data.get("steps"), data.get("mean_reward")
        if not isinstance(steps, list) or not isinstance(rewards, list):
            raise ValueError('expected lists "steps" and "mean_reward"')
        if len(steps) != len(rewards):
            raise ValueError(f'"steps" has {len(steps)} entries but "mean_reward" has {len(rewards)}')
        pairs = [(s, r) for s, r in zip(steps, rewards) if _finite(s) and _finite(r)]
    elif isinstance(data, list):
        for p in data:
            if not isinstance(p, dict):
                continue
            step = p.get("step", p.get("iteration"))
            if _finite(step) and _finite(p.get("mean_reward")):
                pairs.append((step, p["mean_reward"]))
    else:
        raise ValueError("expected an object or a list")
    if not pairs:
        raise ValueError("no usable (step, mean_reward) points")
    pairs.sort(key=lambda p: p[0])
    return LearningCurve([float(s) for s, _ in pairs], [float(r) for _, r in pairs])


def find_learning_curves(run_dir: Path) -> list[Path]:
    """Candidate curve files: ``RUN_DIR/learning_curve.json`` if present, else every
    ``RUN_DIR/**/curve.json``, shallowest first (ties by path)."""
    top = run_dir / LEARNING_CURVE
    if top.is_file():
        return [top]
    found = [p for p in run_dir.rglob(TRAINING_CURVE) if p.is_file()]
    return sorted(found, key=lambda p: (len(p.relative_to(run_dir).parts), str(p)))


def load_run(path: str | Path) -> Run:
    """Load a run directory (or a ``.jsonl`` file of episode records directly)."""
    path = Path(path)
    if path.is_file():
        traj, run_dir = path, path.parent
    elif path.is_dir():
        traj, run_dir = path / TRAJECTORIES, path
    else:
        raise EvalInputError(f"run directory {str(path)!r} does not exist")
    if not traj.is_file():
        raise EvalInputError(f"{str(traj)!r} not found: no episode records in run directory {str(run_dir)!r}")
    try:
        text = traj.read_text(encoding="utf-8", errors="replace")
    except OSError as e:
        raise EvalInputError(f"cannot read {str(traj)!r}: {e.strerror or e}") from e
    records, corrupt = parse_jsonl(text)
    if not records:
        detail = f" ({corrupt} corrupt line(s) skipped)" if corrupt else ""
        raise EvalInputError(f"{str(traj)!r} holds no episode records{detail}")
    episodes, dups = dedupe_episodes(records)
    run = Run(path=run_dir if path.is_dir() else traj, episodes=episodes, corrupt_lines=corrupt, duplicates=dups)
    if corrupt:
        run.notes.append(f"{corrupt} corrupt line(s) in {traj.name} skipped")
    if dups:
        run.notes.append(f"{dups} duplicate episode record(s) replaced by a later one")

    meta_path = run_dir / RUN_META
    if meta_path.is_file():
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
            if isinstance(meta, dict):
                run.meta = meta
            else:
                run.notes.append(f"{RUN_META} is not a JSON object; ignored")
        except (OSError, json.JSONDecodeError, UnicodeDecodeError) as e:
            run.notes.append(f"{RUN_META} unreadable ({e.__class__.__name__}); ignored")

    curves = find_learning_curves(run_dir)
    if curves:
        lc_path, rel = curves[0], str(curves[0].relative_to(run_dir))
        try:
            run.learning_curve = parse_learning_curve(json.loads(lc_path.read_text(encoding="utf-8")))
            run.learning_curve.source = rel
        except (OSError, json.JSONDecodeError, UnicodeDecodeError, ValueError) as e:
            run.notes.append(f"{rel} unusable ({e}); no learning curve")
        if len(curves) > 1:
            run.notes.append(f"{len(curves)} curve.json files under the run; the learning curve is {rel}")

    trees_path = run_dir / TREES
    if trees_path.is_file():
        try:
            trees, bad = parse_jsonl(trees_path.read_text(encoding="utf-8", errors="replace"))
            run.n_trees = len(trees)
            if bad:
                run.notes.append(f"{bad} corrupt line(s) in {TREES} skipped")
        except OSError as e:
            run.notes.append(f"{TREES} unreadable ({e.strerror or e})")
    return run
