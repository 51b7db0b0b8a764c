"""Recompute the rewards of stored trajectories from their grading reports (no cargo runs).

Reads the episode files of a run folder (``trajectories*.jsonl``; else every ``*.jsonl`` but
failures/rescored files), recomputes ``reward`` / ``reward_terms`` / ``rewards_by_role`` with a new
:class:`RewardSpec` exactly as the env computes them (:func:`rescore_episode`), overwrites
``reward_spec`` with the new spec's name, and reports old vs new means. Episodes without a grading
report (not graded: infrastructure error, or truncated without grading) get 0 from the spec, as in
the env, plus their per-step shaping. ``cargogym rescore`` reads its defaults from
``configs/rescore.yaml`` (:class:`RescoreConfig`).
"""

from __future__ import annotations

import json
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from cargogym.errors import CargogymError
from cargogym.jsonl import numbered_json_lines
from cargogym.rewards.spec import RewardSpec


class RescoreError(CargogymError):
    pass


@dataclass
class RescoreConfig:
    """``configs/rescore.yaml``: the reward spec (a name under configs/rewards or a YAML path) and
    an optional JSONL to write the rescored episodes to."""

    reward: str = "default"
    output: str | None = None


def episode_files(run_dir: str | Path) -> list[Path]:
    p = Path(run_dir)
    if p.is_file():
        return [p]
    if not p.is_dir():
        raise RescoreError(f"{p}: no such run folder or trajectory file")
    files = sorted(p.rglob("trajectories*.jsonl"))
    if not files:
        files = [f for f in sorted(p.rglob("*.jsonl")) if "failures" not in f.name and "rescored" not in f.name]
    if not files:
        raise RescoreError(f"{p}: no trajectory JSONL files found")
    return files


def iter_episodes(files: list[Path]) -> Iterator[tuple[Path, int, dict[str, Any]]]:
    for f in files:
        with f.open(encoding="utf-8") as fh:
            for lineno, ep in numbered_json_lines(fh, str(f), RescoreError):
                if isinstance(ep, dict) and ("grading" in ep or "reward" in ep):
                    yield f, lineno, ep


def rescore_episode(ep: dict[str, Any], spec: RewardSpec) -> dict[str, Any]:
    """A copy of the episode record with reward, reward_terms and rewards_by_role recomputed.

    Mirrors the env exactly: the episode reward is the sum of the per-step shaping of every turn
    (when the record says shaping was on, the env's default) plus the spec's total of the grading
    report (0 when the episode was not graded). Rescoring with the spec the env used therefore
    reproduces the stored reward.
    """
    out = dict(ep)
    report = ep.get("grading")
    shaping = bool(ep.get("step_shaping", True))
    turns = ep.get("turns") or []
    step_part = sum(spec.step_reward(t) for t in turns) if shaping else 0.0
    if report is None:
        total, terms = 0.0, {}
    else:
        total, terms = spec.compute(report, ep)
    out["reward"] = float(step_part + total)
    out["reward_terms"] = terms
    roles = list((ep.get("rewards_by_role") or {}).keys())
    if roles:
        out["rewards_by_role"] = {r: (spec.compute(report, ep, role=r)[0] if report is not None else 0.0)
                                  for r in roles}
    out["reward_spec"] = spec.name  # overwrites the env's (or a previous rescore's) spec name
    return out


@dataclass
class RescoreResult:
    spec: str
    episodes: int
    old_mean: float | None
    new_mean: float
    by_role_old: dict[str, float] = field(default_factory=dict)
    by_role_new: dict[str, float] = field(default_factory=dict)
    term_means: dict[str, float] = field(default_factory=dict)
    output: str | None = None


def rescore_run(run_dir: str | Path, spec: RewardSpec | str, output: str | Path | None = None) -> RescoreResult:
    """Rescore every episode under ``run_dir`` with ``spec``; old/new means (overall, per role,
    per term); ``output``: also write the rescored records there (JSONL)."""
    s = RewardSpec.coerce(spec)
    files = episode_files(run_dir)
    old: list[float] = []
    new: list[float] = []
    roles_old: dict[str, list[float]] = {}
    roles_new: dict[str, list[float]] = {}
    terms: dict[str, list[float]] = {}
    rescored: list[dict[str, Any]] = []
    for _, _, ep in iter_episodes(files):
        r = rescore_episode(ep, s)
        if isinstance(ep.get("reward"), (int, float)):
            old.append(float(ep["reward"]))
        new.append(r["reward"])
        for role, v in (ep.get("rewards_by_role") or {}).items():
            if isinstance(v, (int, float)):
                roles_old.setdefault(role, []).append(float(v))
        for role, v in (r.get("rewards_by_role") or {}).items():
            roles_new.setdefault(role, []).append(float(v))
        for k, v in r["reward_terms"].items():
            terms.setdefault(k, []).append(v)
        if output is not None:
            rescored.append(r)
    if not new:
        raise RescoreError(f"{run_dir}: no episodes with rewards or grading reports")
    if output is not None:
        from cargogym.tasks.record import atomic_write_text

        atomic_write_text(output, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rescored))
    mean = statistics.fmean
    return RescoreResult(
        spec=s.name, episodes=len(new), old_mean=mean(old) if old else None, new_mean=mean(new),
        by_role_old={k: mean(v) for k, v in roles_old.items()},
        by_role_new={k: mean(v) for k, v in roles_new.items()},
        term_means={k: mean(v) for k, v in terms.items()},
        output=str(output) if output is not None else None)
