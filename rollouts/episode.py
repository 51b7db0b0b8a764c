"""One episode: build the env, play it, turn it into an episode record (docs/CONTRACTS.md)."""

from __future__ import annotations

import time
from typing import Any, Callable

ENV_IDS = {"RustRepo-v0", "MultiRoleRust-v0"}


def make_env(env_id: str, task: dict[str, Any], env_kwargs: dict[str, Any] | None = None):
    """``gymnasium.make`` of a cargogym env on one task (the env checker is run by tests, not here)."""
    import gymnasium

    import cargogym.envs  # noqa: F401  (registers the ids)

    full_id = env_id if env_id.startswith("cargogym/") else f"cargogym/{env_id}"
    return gymnasium.make(full_id, task=task, disable_env_checker=True, **(env_kwargs or {}))


def reset_options(spec: dict[str, Any]) -> dict[str, Any]:
    """``env.reset`` options of an episode spec: ``spec["reset_options"]`` (optional; role, context,
    snapshot — see RustRepoEnv) with ``"task"`` set to the spec's task id."""
    extra = spec.get("reset_options") or {}
    if not isinstance(extra, dict):
        from cargogym.envs.rust_repo import EnvUsageError

        raise EnvUsageError(f"spec['reset_options'] must be a dict, got {type(extra).__name__}")
    return {**extra, "task": spec["task"]["instance_id"]}


def finalize_record(env, spec: dict[str, Any], wall_time: float, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """The env's trajectory plus the rollout's identity fields."""
    record = dict(env.unwrapped.trajectory())
    record.update({
        "episode_key": spec["episode_key"],
        "policy": spec.get("policy_name", spec.get("policy")),
        "seed": spec.get("seed"),
        "attempt": spec.get("attempt", 0),
        "rollout_wall_time": wall_time,
    })
    record.setdefault("status", "ok")
    if extra:
        record.update(extra)
    return record


def play_scripted_episode(env, policy, spec: dict[str, Any], on_step: Callable[[], None] | None = None,
                          max_steps: int | None = None) -> dict[str, Any]:
    """Run ``policy.act(env)`` until the episode ends; returns the episode record."""
    start = time.time()
    env.reset(seed=spec.get("seed"), options=reset_options(spec))
    if hasattr(policy, "begin_episode"):
        policy.begin_episode(env.unwrapped)
    limit = max_steps or spec.get("max_steps", 200)
    for _ in range(limit):
        action = policy.act(env.unwrapped)
        _, _, terminated, truncated, _ = env.step(action)
        if on_step is not None:
            on_step()
        if terminated or truncated:
            break
    return finalize_record(env, spec, time.time() - start)
