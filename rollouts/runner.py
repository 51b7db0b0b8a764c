"""Parallel rollouts on Ray.

``run_rollouts`` spreads episodes over ``EnvWorker`` actors (local Ray by default,
``address=`` joins an existing cluster), appends each finished episode durably to
``OUT/trajectories.jsonl`` before counting it done, and with ``resume=True`` runs exactly the
episodes whose keys are missing. Scripted policies run whole episodes in the actors; model
policies generate batched on the driver and step the actors' envs in lockstep.

Failures: a worker that dies (``os._exit``, OOM) is restarted by Ray (``max_restarts``) and the
episodes it held are re-run from scratch, at most ``max_attempts`` times; an episode that still
fails is written to ``OUT/failures.jsonl`` (infrastructure) and not counted as done, so a later
``--resume`` tries it again. What the agent does wrong is never an infrastructure failure: it is
in the episode record (error observations, grading).
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

from cargogym.policies.base import Sampling
from cargogym.rollouts.storage import TRAJECTORIES, TrajectoryWriter, episode_key
from cargogym.tasks.record import Task

SCRIPTED = {"oracle", "random", "noop"}


@dataclass
class RolloutResult:
    out_dir: Path
    written: int = 0
    skipped: int = 0
    failed: int = 0
    retries: int = 0
    rewards: list[float] = field(default_factory=list)
    resolved: list[bool] = field(default_factory=list)
    wall_time: float = 0.0

    @property
    def mean_reward(self) -> float:
        return sum(self.rewards) / len(self.rewards) if self.rewards else 0.0

    @property
    def resolved_rate(self) -> float:
        return sum(self.resolved) / len(self.resolved) if self.resolved else 0.0

    @property
    def episodes_per_s(self) -> float:
        return self.written / self.wall_time if self.wall_time > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"out_dir": str(self.out_dir), "written": self.written, "skipped": self.skipped,
                "failed": self.failed, "retries": self.retries, "mean_reward": self.mean_reward,
                "resolved_rate": self.resolved_rate, "episodes_per_s": self.episodes_per_s,
                "wall_time": self.wall_time}


def episode_seed(base_seed: int, instance_id: str, k: int) -> int:
    digest = hashlib.sha256(f"{base_seed}:{instance_id}:{k}".encode()).digest()
    return int.from_bytes(digest[:4], "little")


def plan_episodes(tasks: Iterable[Task], episodes_per_task: int, policy: str, base_seed: int = 0,
                  done: set[str] | None = None, max_steps: int = 200) -> list[dict[str, Any]]:
    """The episode specs still to run (keys in ``done`` are skipped)."""
    specs = []
    for task in tasks:
        for k in range(episodes_per_task):
            key = episode_key(task.instance_id, k)
            if done and key in done:
                continue
            specs.append({"episode_key": key, "task": task.to_dict(), "policy": policy,
                          "seed": episode_seed(base_seed, task.instance_id, k), "attempt": 0,
                          "max_steps": max_steps})
    return specs


def ensure_ray(num_cpus: int | None = None, address: str | None = None):
    import ray

    if not ray.is_initialized():
        env_vars = {k: os.environ[k] for k in ("TIKTOKEN_ENCODINGS_BASE", "CARGOGYM_CACHE") if k in os.environ}
        kw: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False,
                              "runtime_env": {"env_vars": env_vars} if env_vars else None}
        if address:
            ray.init(address=address, **kw)
        else:
            ray.init(num_cpus=num_cpus or os.cpu_count(), **kw)
    return ray


def make_workers(n: int, env_id: str, env_kwargs: dict[str, Any], fault: dict[str, Any] | None = None,
                 max_restarts: int = 3, max_task_retries: int = 0):
    import ray

    from cargogym.rollouts.worker import EnvWorkerImpl

    Actor = ray.remote(num_cpus=1, max_restarts=max_restarts, max_task_retries=max_task_retries)(EnvWorkerImpl)
    # cargo's parallel codegen would have each worker's builds use every core; split the cores
    # between the workers instead (measured on 2 cores: see benchmarks/bench_rollouts.py).
    jobs = max(1, (os.cpu_count() or 1) // max(1, n))
    return [Actor.remote(env_id, env_kwargs, i, fault, jobs) for i in range(n)]


def _is_infra_error(e: BaseException) -> bool:
    import ray.exceptions as rex

    return isinstance(e, (rex.RayActorError, rex.WorkerCrashedError, rex.ActorUnavailableError,
                          rex.ObjectLostError, rex.RayTaskError))


def run_rollouts(tasks: list[Task], policy: str | Any, out_dir: str | Path, *, workers: int = 2,
                 episodes_per_task: int = 1, env_id: str = "RustRepo-v0",
                 env_kwargs: dict[str, Any] | None = None, resume: bool = False, address: str | None = None,
                 sampling: Sampling | None = None, base_seed: int = 0, max_attempts: int = 3,
                 max_steps: int = 200, slots_per_worker: int = 2, fault: dict[str, Any] | None = None,
                 on_episode: Callable[[dict[str, Any], RolloutResult, int], None] | None = None) -> RolloutResult:
    """Run the episodes of ``tasks`` × ``episodes_per_task``; see the module docstring."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    writer = TrajectoryWriter(out / TRAJECTORIES)
    if writer.done and not resume:
        writer.close()
        from cargogym.errors import CargogymError

        raise CargogymError(f"{out / TRAJECTORIES} already holds {len(writer.done)} episodes; "
                            "pass --resume to complete the run or choose another --out")
    policy_name = policy if isinstance(policy, str) else getattr(policy, "name", "policy")
    specs = plan_episodes(tasks, episodes_per_task, policy_name, base_seed, writer.done, max_steps)
    result = RolloutResult(out_dir=out, skipped=len(tasks) * episodes_per_task - len(specs))
    total = len(specs)
    _write_run_meta(out, policy_name, env_id, workers, episodes_per_task, len(tasks), base_seed)
    start = time.time()
    if not specs:
        writer.close()
        return result
    ensure_ray(num_cpus=max(workers, 1), address=address)
    actors = make_workers(workers, env_id, env_kwargs or {}, fault)
    try:
        if isinstance(policy, str) and policy in SCRIPTED:
            _run_scripted(actors, specs, writer, result, max_attempts, total, start, on_episode)
        else:
            from cargogym.policies.registry import make_policy

            model = make_policy(policy) if isinstance(policy, str) else policy
            _run_model(actors, specs, model, sampling or Sampling(), writer, result, max_attempts,
                       slots_per_worker, total, start, on_episode)
    finally:
        writer.close()
        import ray

        for a in actors:
            try:
                ray.kill(a)
            except Exception:
                pass
    result.wall_time = time.time() - start
    return result


def _record_done(rec, writer, result, total, start, on_episode) -> None:
    if writer.write(rec):
        result.written += 1
        result.rewards.append(float(rec.get("reward", 0.0)))
        result.resolved.append(bool((rec.get("grading") or {}).get("resolved", False)))
        result.wall_time = time.time() - start
        if on_episode:
            on_episode(rec, result, total)


def _record_failure(out: Path, spec: dict[str, Any], error: str) -> None:
    with (out / "failures.jsonl").open("a", encoding="utf-8") as fh:
        fh.write(json.dumps({"episode_key": spec["episode_key"], "attempts": spec["attempt"] + 1,
                             "error": error[-2000:]}) + "\n")


def _run_scripted(actors, specs, writer, result, max_attempts, total, start, on_episode) -> None:
    import ray

    queue = list(specs)
    inflight: dict[Any, tuple[int, dict[str, Any]]] = {}
    free = list(range(len(actors)))
    while queue or inflight:
        while queue and free:
            i = free.pop()
            spec = queue.pop(0)
            inflight[actors[i].run_episode.remote(spec)] = (i, spec)
        ready, _ = ray.wait(list(inflight), num_returns=1)
        for ref in ready:
            i, spec = inflight.pop(ref)
            free.append(i)
            try:
                rec = ray.get(ref)
            except Exception as e:  # noqa: BLE001 — classify below
                if _is_infra_error(e) and spec["attempt"] + 1 < max_attempts:
                    result.retries += 1
                    queue.append({**spec, "attempt": spec["attempt"] + 1})
                else:
                    result.failed += 1
                    _record_failure(writer.path.parent, spec, repr(e))
                continue
            _record_done(rec, writer, result, total, start, on_episode)


def _run_model(actors, specs, policy, sampling, writer, result, max_attempts, slots_per_worker,
               total, start, on_episode) -> None:
    """Lockstep: reset free slots, generate one batch for all live episodes, step them all."""
    import ray

    queue = list(specs)
    live: dict[tuple[int, int], dict[str, Any]] = {}  # (actor, slot) -> {"spec", "view", "router"}
    slots = [(a, s) for s in range(slots_per_worker) for a in range(len(actors))]

    def fail(key, spec, e) -> None:
        live.pop(key, None)
        if _is_infra_error(e) and spec["attempt"] + 1 < max_attempts:
            result.retries += 1
            queue.append({**spec, "attempt": spec["attempt"] + 1})
        else:
            result.failed += 1
            _record_failure(writer.path.parent, spec, repr(e))

    while queue or live:
        starting = []
        for key in slots:
            if key not in live and queue:
                spec = queue.pop(0)
                live[key] = {"spec": spec, "router": {}}
                starting.append((key, actors[key[0]].reset.remote(key[1], spec)))
        for key, ref in starting:
            try:
                live[key]["view"] = ray.get(ref)
            except Exception as e:  # noqa: BLE001
                fail(key, live[key]["spec"], e)
        batch = [k for k, v in live.items() if not v["view"]["done"]]
        if batch:
            comps = policy.generate([live[k]["view"]["messages"] for k in batch], sampling,
                                    [live[k]["view"]["tools"] for k in batch])
            refs = []
            for k, c in zip(batch, comps):
                _accumulate_router(live[k]["router"], live[k]["view"].get("role") or "agent", c.router)
                refs.append((k, actors[k[0]].step.remote(k[1], c.to_action())))
            for k, ref in refs:
                try:
                    live[k]["view"] = ray.get(ref)
                except Exception as e:  # noqa: BLE001
                    fail(k, live[k]["spec"], e)
        for k in [k for k, v in live.items() if v.get("view", {}).get("done")]:
            entry = live[k]
            try:
                rec = ray.get(actors[k[0]].finish.remote(k[1], {"router": entry["router"] or None,
                                                               "policy": getattr(policy, "name", "model")}))
            except Exception as e:  # noqa: BLE001
                fail(k, entry["spec"], e)
                continue
            live.pop(k)
            _record_done(rec, writer, result, total, start, on_episode)


def _accumulate_router(acc: dict[str, list[list[int]]], role: str, counts: list[list[int]] | None) -> None:
    if not counts:
        return
    if role not in acc:
        acc[role] = [list(layer) for layer in counts]
        return
    for layer_acc, layer in zip(acc[role], counts):
        for e, c in enumerate(layer):
            layer_acc[e] += c


def _write_run_meta(out: Path, policy: str, env_id: str, workers: int, k: int, n_tasks: int, seed: int) -> None:
    meta_path = out / "run.json"
    meta = {"policy": policy, "env": env_id, "workers": workers, "episodes_per_task": k,
            "n_tasks": n_tasks, "base_seed": seed, "started": time.strftime("%Y-%m-%dT%H:%M:%S")}
    if meta_path.exists():
        try:
            meta = {**json.loads(meta_path.read_text()), "resumed": meta["started"]}
        except json.JSONDecodeError:
            pass
    meta_path.write_text(json.dumps(meta, indent=2))
