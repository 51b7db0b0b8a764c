"""Parallel rollouts on Ray.

``run_rollouts`` spreads episodes over ``EnvWorker`` actors (local Ray by default,
``address=`` joins an existing cluster), appends each finished episode durably to
``OUT/trajectories.jsonl`` before counting it done, and with ``resume=True`` runs exactly the
episodes whose keys are missing. Scripted policies run whole episodes in the actors; model
policies generate batched on the driver (``policy_placement="driver"``) or in a ``PolicyActor``
(``"actor"``, with ``policy_gpus`` GPUs) and step the actors' envs in lockstep.

Failures (each ends up as one line of ``OUT/failures.jsonl``, ``{"episode_key", "attempts",
"kind", "error", "traceback"?}``, and is not counted done, so a later ``--resume`` tries it again):

- ``kind="infra"``: the machinery failed — a worker died (``os._exit``, OOM; Ray restarts it,
  ``max_restarts``), an object or node was lost, the sandbox/workspace/jail could not run, the
  OS refused (``OSError``), or the model server failed after its own retries
  (``PolicyServerError``). The episode is re-run from scratch (or, for a failed ``generate``,
  the generation is repeated), at most ``max_attempts`` times in all, then recorded.
- ``kind="episode_error"``: any other exception raised while playing the episode (a bad
  ``env_kwargs``, a task the env refuses, a bug in a policy or the env). It would fail the same
  way again, so it is recorded at once and never retried.

What the agent does wrong is never a failure at all: the env turns it into error observations
and grading, inside the episode record.
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
PLACEMENTS = ("driver", "actor")
FAILURES = "failures.jsonl"


@dataclass
class RolloutResult:
    out_dir: Path
    written: int = 0
    skipped: int = 0
    failed: int = 0      # infrastructure failures beyond max_attempts
    errors: int = 0      # episodes that raised (episode_error), not retried
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
    def settled(self) -> int:
        """Episodes of this call that are over: written or recorded as failed."""
        return self.written + self.failed + self.errors

    @property
    def episodes_per_s(self) -> float:
        return self.written / self.wall_time if self.wall_time > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"out_dir": str(self.out_dir), "written": self.written, "skipped": self.skipped,
                "failed": self.failed, "errors": self.errors, "retries": self.retries, "mean_reward": self.mean_reward,
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


def worker_factory(n: int, env_id: str, env_kwargs: dict[str, Any], fault: dict[str, Any] | None = None,
                   max_restarts: int = 3, max_task_retries: int = 0) -> Callable[[int], Any]:
    """``spawn(i)`` → a new ``EnvWorker`` actor with index ``i`` (one of ``n``)."""
    import ray

    from cargogym.rollouts.worker import EnvWorkerImpl

    Actor = ray.remote(num_cpus=1, max_restarts=max_restarts, max_task_retries=max_task_retries)(EnvWorkerImpl)
    # cargo's parallel codegen would have each worker's builds use every core; split the cores
    # between the workers instead (measured on 2 cores: see benchmarks/bench_rollouts.py).
    jobs = max(1, (os.cpu_count() or 1) // max(1, n))
    # paths the driver hid from sandboxed code (tasks files, imported repos) are hidden in the
    # workers too, whenever Ray was started
    from cargogym.sandbox.exec import registered_hidden

    hidden = registered_hidden()
    return lambda i: Actor.remote(env_id, env_kwargs, i, fault, jobs, hidden)


def make_workers(n: int, env_id: str, env_kwargs: dict[str, Any], fault: dict[str, Any] | None = None,
                 max_restarts: int = 3, max_task_retries: int = 0):
    spawn = worker_factory(n, env_id, env_kwargs, fault, max_restarts, max_task_retries)
    return [spawn(i) for i in range(n)]


def revive_worker(actors: list, i: int, spawn: Callable[[int], Any], timeout: float = 300.0) -> None:
    """After an infrastructure error on ``actors[i]``: wait until Ray has restarted it (a call sent
    while it restarts would fail at once and waste an attempt), or replace it with a fresh actor
    when it is dead for good (its restarts spent) or does not come back within ``timeout``."""
    import ray
    import ray.exceptions as rex

    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            ray.get(actors[i].pid.remote(), timeout=max(1.0, deadline - time.time()))
            return
        except rex.ActorUnavailableError:  # restarting
            time.sleep(0.5)
        except (rex.RayActorError, rex.GetTimeoutError):
            break
    try:
        ray.kill(actors[i])
    except Exception:  # noqa: BLE001 — already gone
        pass
    actors[i] = spawn(i)


def make_policy_actor(spec: str, num_gpus: float = 0.0, kwargs: dict[str, Any] | None = None):
    """A ``PolicyActor`` (``num_gpus`` GPUs, one CPU) serving ``make_policy(spec, **kwargs)``;
    returns its driver-side :class:`~cargogym.rollouts.worker.RemotePolicy`."""
    import ray

    from cargogym.rollouts.worker import PolicyActorImpl, RemotePolicy

    Actor = ray.remote(num_cpus=1, num_gpus=num_gpus, max_restarts=1)(PolicyActorImpl)
    actor = Actor.remote(spec, kwargs or {})
    try:
        return RemotePolicy(actor)
    except Exception:
        ray.kill(actor)
        raise


def _infra_cause_types() -> tuple[type[BaseException], ...]:
    from cargogym.policies.openai_compat import PolicyServerError
    from cargogym.rollouts.worker import SlotLostError
    from cargogym.sandbox.exec import SandboxError
    from cargogym.sandbox.jail import JailError
    from cargogym.sandbox.workspace import WorkspaceError

    return (SandboxError, WorkspaceError, JailError, PolicyServerError, SlotLostError, OSError, MemoryError)


def is_infra_error(e: BaseException) -> bool:
    """True when ``e`` is a failure of the machinery (worth a retry), False when the episode itself
    raised (retrying would fail the same way); see the module docstring for the two lists."""
    import ray.exceptions as rex

    if isinstance(e, (rex.RayActorError, rex.WorkerCrashedError, rex.ObjectLostError, rex.NodeDiedError,
                      rex.OutOfMemoryError, rex.RaySystemError, rex.LocalRayletDiedError)):
        return True
    if isinstance(e, rex.RayTaskError):  # an exception raised inside an actor: judge its cause
        e = getattr(e, "cause", None) or e
        if isinstance(e, rex.RayTaskError):
            return False
    from cargogym.sandbox.workspace import TaskSetupError

    return isinstance(e, _infra_cause_types()) and not isinstance(e, TaskSetupError)


def error_summary(e: BaseException) -> str:
    """``"Type: message"`` of the exception (of its cause, for one raised inside an actor)."""
    import ray.exceptions as rex

    cause = getattr(e, "cause", None) if isinstance(e, rex.RayTaskError) else None
    err = cause if isinstance(cause, BaseException) else e
    text = str(err).strip().splitlines()
    return f"{type(err).__name__}: {text[0] if text else ''}"[:500]


def run_rollouts(tasks: list[Task], policy: str | Any, out_dir: str | Path, *, workers: int = 2,
                 episodes_per_task: int = 1, env_id: str = "RustRepo-v0",
                 env_kwargs: dict[str, Any] | None = None, resume: bool = False, address: str | None = None,
                 sampling: Sampling | None = None, base_seed: int = 0, max_attempts: int = 3,
                 max_steps: int = 200, slots_per_worker: int = 2, fault: dict[str, Any] | None = None,
                 policy_placement: str = "driver", policy_gpus: float = 0.0,
                 on_episode: Callable[[dict[str, Any] | None, RolloutResult, int], None] | None = None) -> RolloutResult:
    """Run the episodes of ``tasks`` × ``episodes_per_task``; see the module docstring.

    ``on_episode(record, result, total)`` is called once with ``record=None`` when the plan is
    known (``result.skipped`` set), then after every settled episode with its stored record or its
    failures.jsonl record; ``total`` is the number of episodes this call runs (skipped excluded)."""
    from cargogym.errors import CargogymError

    if policy_placement not in PLACEMENTS:
        raise CargogymError(f"policy_placement must be one of {', '.join(PLACEMENTS)}, got {policy_placement!r}")
    if policy_placement == "actor" and not isinstance(policy, str):
        raise CargogymError("policy_placement='actor' builds the policy inside the actor: pass its name "
                            "(e.g. 'tiny-gpt-oss', 'hf:PATH'), not a policy object")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    writer = TrajectoryWriter(out / TRAJECTORIES)
    if writer.done and not resume:
        writer.close()
        raise CargogymError(f"{out / TRAJECTORIES} already holds {len(writer.done)} episodes; "
                            "pass --resume to complete the run or choose another --out")
    policy_name = policy if isinstance(policy, str) else getattr(policy, "name", "policy")
    specs = plan_episodes(tasks, episodes_per_task, policy_name, base_seed, writer.done, max_steps)
    result = RolloutResult(out_dir=out, skipped=len(tasks) * episodes_per_task - len(specs))
    total = len(specs)
    _write_run_meta(out, policy_name, env_id, workers, episodes_per_task, len(tasks), base_seed)
    start = time.time()
    if on_episode:
        on_episode(None, result, total)
    if not specs:
        writer.close()
        return result
    scripted = isinstance(policy, str) and policy in SCRIPTED
    extra_cpu = 1 if policy_placement == "actor" and not scripted else 0
    ray = ensure_ray(num_cpus=max(workers, 1) + extra_cpu, address=address)
    _update_run_meta(out, ray_address=ray.get_runtime_context().gcs_address)
    spawn = worker_factory(workers, env_id, env_kwargs or {}, fault)
    actors = [spawn(i) for i in range(workers)]
    helpers = []
    try:
        if scripted:
            _run_scripted(actors, spawn, specs, writer, result, max_attempts, total, start, on_episode)
        else:
            if policy_placement == "actor":
                model = make_policy_actor(policy, num_gpus=policy_gpus)
                helpers.append(model.actor)
            elif isinstance(policy, str):
                from cargogym.policies.registry import make_policy

                model = make_policy(policy)
            else:
                model = policy
            _run_model(actors, spawn, specs, model, sampling or Sampling(), writer, result, max_attempts,
                       slots_per_worker, total, start, on_episode)
    finally:
        writer.close()
        import ray

        for a in actors + helpers:
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


def failure_record(spec: dict[str, Any], e: BaseException, attempts: int) -> dict[str, Any]:
    """The failures.jsonl line for an episode that ``e`` ended after ``attempts`` attempts."""
    rec = {"episode_key": spec["episode_key"], "attempts": attempts,
           "kind": "infra" if is_infra_error(e) else "episode_error", "error": error_summary(e)}
    detail = str(e)
    if detail and detail not in rec["error"]:
        rec["traceback"] = detail[-4000:]
    return rec


def _record_failure(spec, e, attempts, writer, result, total, start, on_episode) -> None:
    rec = failure_record(spec, e, attempts)
    if rec["kind"] == "infra":
        result.failed += 1
    else:
        result.errors += 1
    with (writer.path.parent / FAILURES).open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(rec) + "\n")
    result.wall_time = time.time() - start
    if on_episode:
        on_episode(rec, result, total)


def _run_scripted(actors, spawn, specs, writer, result, max_attempts, total, start, on_episode) -> None:
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
            except Exception as e:  # noqa: BLE001 — classified by is_infra_error
                if is_infra_error(e):
                    revive_worker(actors, i, spawn)
                if is_infra_error(e) and spec["attempt"] + 1 < max_attempts:
                    result.retries += 1
                    queue.append({**spec, "attempt": spec["attempt"] + 1})
                else:
                    _record_failure(spec, e, spec["attempt"] + 1, writer, result, total, start, on_episode)
                continue
            _record_done(rec, writer, result, total, start, on_episode)


def generate_each(policy, views: list[dict[str, Any]], sampling: Sampling) -> list[Any]:
    """One completion — or the exception that prevented it — per view: the batch in one
    ``generate`` call, or, when that raises, one call per view, so that one conversation the
    policy cannot serve does not fail the others."""
    try:
        comps = policy.generate([v["messages"] for v in views], sampling, [v["tools"] for v in views])
        if len(comps) != len(views):
            raise RuntimeError(f"policy {getattr(policy, 'name', policy)!r} returned {len(comps)} "
                               f"completions for {len(views)} conversations")
        return list(comps)
    except Exception as e:  # noqa: BLE001 — reported per episode by the caller
        if len(views) == 1:
            return [e]
    out: list[Any] = []
    for v in views:
        try:
            out.append(policy.generate([v["messages"]], sampling, [v["tools"]])[0])
        except Exception as e:  # noqa: BLE001
            out.append(e)
    return out


def _run_model(actors, spawn, specs, policy, sampling, writer, result, max_attempts, slots_per_worker,
               total, start, on_episode) -> None:
    """Lockstep: reset free slots, generate one batch for all live episodes, step them all.

    An infrastructure error of an env call re-runs the episode from scratch; one of ``generate``
    repeats the generation (the env is untouched); both at most ``max_attempts`` times in all."""
    import ray

    queue = list(specs)
    live: dict[tuple[int, int], dict[str, Any]] = {}  # (actor, slot) -> {"spec", "view", "router", "gen_failures"}
    slots = [(a, s) for s in range(slots_per_worker) for a in range(len(actors))]
    suspect: set[int] = set()  # workers that raised an infrastructure error this round

    def give_up(key, spec, e, attempts) -> None:
        live.pop(key, None)
        actors[key[0]].close_slot.remote(key[1])  # fire and forget: frees the workspace
        _record_failure(spec, e, attempts, writer, result, total, start, on_episode)

    def fail(key, spec, e) -> None:
        live.pop(key, None)
        if is_infra_error(e):
            suspect.add(key[0])
        if is_infra_error(e) and spec["attempt"] + 1 < max_attempts:
            result.retries += 1
            queue.append({**spec, "attempt": spec["attempt"] + 1})
        else:
            _record_failure(spec, e, spec["attempt"] + 1, writer, result, total, start, on_episode)

    while queue or live:
        for a in sorted(suspect):
            revive_worker(actors, a, spawn)
        suspect.clear()
        starting = []
        for key in slots:
            if key not in live and queue:
                spec = queue.pop(0)
                live[key] = {"spec": spec, "router": {}, "gen_failures": 0}
                starting.append((key, actors[key[0]].reset.remote(key[1], spec)))
        for key, ref in starting:
            try:
                live[key]["view"] = ray.get(ref)
            except Exception as e:  # noqa: BLE001
                fail(key, live[key]["spec"], e)
        batch = [k for k, v in live.items() if not v["view"]["done"]]
        if batch:
            comps = generate_each(policy, [live[k]["view"] for k in batch], sampling)
            refs = []
            for k, c in zip(batch, comps):
                entry = live[k]
                if isinstance(c, BaseException):
                    entry["gen_failures"] += 1
                    tries = entry["spec"]["attempt"] + entry["gen_failures"]
                    if is_infra_error(c) and tries < max_attempts:
                        result.retries += 1  # generate again next round; the env waits
                    else:
                        give_up(k, entry["spec"], c, tries)
                    continue
                _accumulate_router(entry["router"], entry["view"].get("role") or "agent", c.router)
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


def _update_run_meta(out: Path, **fields: Any) -> None:
    """Set ``fields`` in run.json (e.g. ``ray_address``: the GCS address of the cluster the
    latest call ran on)."""
    meta_path = out / "run.json"
    try:
        meta = json.loads(meta_path.read_text())
    except (OSError, json.JSONDecodeError):
        meta = {}
    meta_path.write_text(json.dumps({**meta, **fields}, indent=2))


def _write_run_meta(out: Path, policy: str, env_id: str, workers: int, k: int, n_tasks: int, seed: int) -> None:
    """run.json; on a resume the first start is kept and ``resumed`` added."""
    meta_path = out / "run.json"
    meta = {"policy": policy, "env": env_id, "workers": workers, "episodes_per_task": k,
            "n_tasks": n_tasks, "base_seed": seed, "started": time.strftime("%Y-%m-%dT%H:%M:%S")}
    if meta_path.exists():
        try:
            meta = {**json.loads(meta_path.read_text()), "resumed": meta["started"]}
        except json.JSONDecodeError:
            pass
    meta_path.write_text(json.dumps(meta, indent=2))
