"""Teacher data runs: tasks × variants × episodes in worker processes -> episodes.jsonl + samples.jsonl.

Output folder: ``episodes.jsonl`` (every episode record, with each frame's conversation),
``samples.jsonl`` (SFT samples of resolved episodes unless ``keep_unresolved``; validated with
the formatter's parser when ``validate``) and ``summary.json``. Each worker process keeps one env
per env id and reuses it across episodes. An episode that raises is recorded with
``status="infra_error"`` and the run goes on.
"""

from __future__ import annotations

import json
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

from cargogym.datagen.config import DataConfig

_ENVS: dict[str, Any] = {}


def plan_jobs(tasks: list[Any], cfg: DataConfig) -> list[dict]:
    """One job per (task, variant, episode) the variant applies to; seeds are distinct and stable."""
    from cargogym.datagen.teacher import applicable

    jobs = []
    variants = ["endpoint"] if cfg.endpoint else list(cfg.variants)
    for ti, task in enumerate(tasks):
        for v in variants:
            if v != "endpoint" and not applicable(task, v):
                continue
            for k in range(cfg.episodes_per_task):
                jobs.append({"task": task.to_dict(), "variant": v, "seed": cfg.seed + 1000 * ti + k,
                             "env_kwargs": cfg.env_kwargs, "max_steps": cfg.max_steps,
                             "endpoint": cfg.endpoint, "endpoint_env": cfg.endpoint_env})
    return jobs


def _env(env_id: str, task: dict, env_kwargs: dict) -> Any:
    from cargogym.rollouts.episode import make_env

    if env_id not in _ENVS:
        _ENVS[env_id] = make_env(env_id, task, env_kwargs)
    return _ENVS[env_id]


def run_job(job: dict) -> dict:
    """Play one job (in a worker process); never raises."""
    from cargogym.tasks.record import Task

    task = Task.from_dict(job["task"])
    try:
        if job["variant"] == "endpoint":
            from cargogym.datagen.openai_teacher import parse_endpoint, run_endpoint_episode
            from cargogym.policies.openai_compat import OpenAICompatiblePolicy

            url, model = parse_endpoint(job["endpoint"])
            env = _env(job["endpoint_env"], job["task"], job["env_kwargs"])
            rec = run_endpoint_episode(task, OpenAICompatiblePolicy(url, model=model), seed=job["seed"],
                                       max_steps=job["max_steps"], env=env)
            rec["variant"] = "endpoint"
            return rec
        from cargogym.datagen.teacher import ENV_OF, run_teacher_episode

        env = _env(ENV_OF[job["variant"]], job["task"], job["env_kwargs"])
        return run_teacher_episode(task, job["variant"], seed=job["seed"], max_steps=job["max_steps"], env=env)
    except Exception as e:  # noqa: BLE001 - one bad episode must not stop the run
        return {"episode_id": f"failed-{task.instance_id}-{job['variant']}-{job['seed']}",
                "instance_id": task.instance_id, "variant": job["variant"], "status": "infra_error",
                "error": f"{type(e).__name__}: {e}", "task": {"family": task.family}, "grading": None,
                "reward": 0.0, "frames": [], "turns": [], "delegations": 0}


def records_to_samples(records: list[dict], cfg: DataConfig) -> tuple[list[dict], Counter]:
    """SFT samples of the records (see module docstring) and counts of skipped records by reason."""
    from cargogym.datagen.records import episode_samples
    from cargogym.datagen.samples import validate_sample

    skipped: Counter = Counter()
    out: list[dict] = []
    for rec in records:
        if rec.get("status") != "ok":
            skipped[rec.get("status", "unknown")] += 1
            continue
        if not (rec.get("grading") or {}).get("resolved") and not cfg.keep_unresolved:
            skipped["unresolved"] += 1
            continue
        source = "openai_teacher" if rec.get("variant") == "endpoint" else "teacher"
        samples = episode_samples(rec, source=source, formatter=cfg.formatter)
        for s in samples:
            s["variant"] = rec.get("variant")
            if cfg.validate:
                validate_sample(s)
        out += samples
    return out, skipped


def generate(tasks: list[Any], cfg: DataConfig, out_dir: str | Path,
             on_episode: Callable[[dict], None] | None = None) -> dict:
    """Run the teacher over ``tasks``; writes the output folder and returns the summary."""
    from cargogym.datagen.samples import write_jsonl

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    jobs = plan_jobs(tasks, cfg)
    t0 = time.time()
    records: list[dict] = []
    if cfg.workers <= 1 or len(jobs) <= 1:
        for job in jobs:
            records.append(run_job(job))
            if on_episode:
                on_episode(records[-1])
    else:
        import multiprocessing as mp

        with ProcessPoolExecutor(max_workers=cfg.workers, mp_context=mp.get_context("spawn")) as pool:
            futures = [pool.submit(run_job, job) for job in jobs]
            for fut in as_completed(futures):
                records.append(fut.result())
                if on_episode:
                    on_episode(records[-1])
    records.sort(key=lambda r: (r.get("instance_id", ""), r.get("variant", ""), r.get("seed") or 0))
    wall = time.time() - t0
    samples, skipped = records_to_samples(records, cfg)
    write_jsonl(out / "episodes.jsonl", records)
    write_jsonl(out / "samples.jsonl", samples)
    per_variant: dict[str, dict[str, Any]] = defaultdict(lambda: {"episodes": 0, "resolved": 0, "infra_error": 0,
                                                                 "steps": 0, "delegations": 0})
    for r in records:
        v = per_variant[r.get("variant", "?")]
        v["episodes"] += 1
        v["resolved"] += int(bool((r.get("grading") or {}).get("resolved")))
        v["infra_error"] += int(r.get("status") == "infra_error")
        v["steps"] += int(r.get("steps") or 0)
        v["delegations"] += int(r.get("delegations") or 0)
    summary = {"out": str(out), "tasks": len(tasks), "episodes": len(records), "wall_s": round(wall, 2),
               "episodes_per_min": round(60 * len(records) / wall, 2) if wall > 0 else None,
               "per_variant": dict(per_variant), "samples": len(samples),
               "samples_by_kind": dict(Counter(s["kind"] for s in samples)),
               "multi_role_trajectories": sum(1 for r in records if r.get("variant") == "multi_role"
                                              and (r.get("grading") or {}).get("resolved")),
               "skipped_records": dict(skipped), "validated": cfg.validate, "formatter": cfg.formatter}
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    return summary
