"""The Ray actor that owns environments: ``EnvWorker``.

Each actor holds up to ``slots`` live environments (its sandbox / workspace pool). Scripted
policies run whole episodes inside the actor (``run_episode``); model policies run where they
live (the driver, a GPU actor, a server) and drive the actor's environments step by step
(``reset`` / ``step`` / ``finish``), so generation is batched across all workers' episodes.

Actors are created with ``max_restarts`` / ``max_task_retries``: a worker killed mid-episode is
restarted (its envs are lost) and the driver re-runs the interrupted episodes from scratch.
"""

from __future__ import annotations

import os
import time
import traceback
from pathlib import Path
from typing import Any

from cargogym.rollouts.episode import finalize_record, make_env, play_scripted_episode, reset_options


class EnvWorkerImpl:
    """Plain-Python implementation (wrapped by ``ray.remote`` in runner.py; testable without Ray)."""

    def __init__(self, env_id: str, env_kwargs: dict[str, Any] | None = None, worker_index: int = 0,
                 fault: dict[str, Any] | None = None, cargo_jobs: int | None = None):
        os.environ.setdefault("CARGOGYM_WORKER", str(worker_index))
        if cargo_jobs and "CARGOGYM_CARGO_JOBS" not in os.environ:
            os.environ["CARGOGYM_CARGO_JOBS"] = str(cargo_jobs)
        self.env_id = env_id
        self.env_kwargs = dict(env_kwargs or {})
        self.worker_index = worker_index
        self.fault = fault or {}
        self.envs: dict[int, Any] = {}
        self.specs: dict[int, dict[str, Any]] = {}
        self.started: dict[int, float] = {}
        self.steps_taken = 0

    # -- fault injection (tests of crash recovery) -------------------------------------------
    def _maybe_crash(self) -> None:
        marker = self.fault.get("marker")
        after = self.fault.get("crash_after_steps")
        if marker and after is not None and self.steps_taken >= int(after):
            if not Path(marker).exists():
                Path(marker).write_text(f"worker {self.worker_index} crashed on purpose\n")
                os._exit(1)

    def pid(self) -> int:
        return os.getpid()

    # -- whole episodes (scripted policies) ----------------------------------------------------
    def run_episode(self, spec: dict[str, Any]) -> dict[str, Any]:
        from cargogym.policies.registry import make_scripted_policy

        env = make_env(self.env_id, spec["task"], self.env_kwargs)
        policy = make_scripted_policy(spec["policy"], seed=spec.get("seed"))
        try:
            def on_step() -> None:
                self.steps_taken += 1
                self._maybe_crash()

            return play_scripted_episode(env, policy, spec, on_step=on_step)
        finally:
            env.close()

    # -- step-wise episodes (model policies) ---------------------------------------------------
    def reset(self, slot: int, spec: dict[str, Any]) -> dict[str, Any]:
        """Start ``spec``'s episode in ``slot``; ``spec["reset_options"]`` (role, context, snapshot)
        go to ``env.reset`` with the task id (:func:`~cargogym.rollouts.episode.reset_options`)."""
        self.close_slot(slot)
        env = make_env(self.env_id, spec["task"], self.env_kwargs)
        self.envs[slot], self.specs[slot], self.started[slot] = env, spec, time.time()
        try:
            env.reset(seed=spec.get("seed"), options=reset_options(spec))
        except Exception:
            self.close_slot(slot)
            raise
        return self._view(slot, done=False)

    def step(self, slot: int, action: Any) -> dict[str, Any]:
        env = self.envs[slot]
        obs, reward, terminated, truncated, info = env.step(action)
        self.steps_taken += 1
        self._maybe_crash()
        return self._view(slot, done=bool(terminated or truncated))

    def finish(self, slot: int, extra: dict[str, Any] | None = None) -> dict[str, Any]:
        env, spec = self.envs[slot], self.specs[slot]
        record = finalize_record(env, spec, time.time() - self.started[slot], extra or {})
        self.close_slot(slot)
        return record

    def close_slot(self, slot: int) -> None:
        env = self.envs.pop(slot, None)
        self.specs.pop(slot, None)
        if env is not None:
            try:
                env.close()
            except Exception:  # closing must never take the worker down
                traceback.print_exc()

    def _view(self, slot: int, done: bool) -> dict[str, Any]:
        u = self.envs[slot].unwrapped
        if done:
            return {"done": True}
        role = getattr(u, "active_role", None)
        return {"done": False, "messages": u.messages(), "tools": u.tools(),
                "role": role() if callable(role) else role}

    def shutdown(self) -> None:
        for slot in list(self.envs):
            self.close_slot(slot)
