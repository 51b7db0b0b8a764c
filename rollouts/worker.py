"""The Ray actors of a rollout: ``EnvWorker`` (owns environments) and ``PolicyActor`` (serves a
model policy).

Each ``EnvWorker`` holds up to ``slots`` live environments (its sandbox / workspace pool). Scripted
policies run whole episodes inside the worker (``run_episode``); model policies generate where
``policy_placement`` puts them — on the driver, in a ``PolicyActor`` (``num_gpus`` from the
config), or behind a server (``openai:URL``) — and drive the workers' environments step by step
(``reset`` / ``step`` / ``finish``), so generation is batched across all workers' episodes.

Workers are created with ``max_restarts`` / ``max_task_retries``: a worker killed mid-episode is
restarted (its envs are lost; a call on a lost slot raises :class:`SlotLostError`) and the driver
re-runs the interrupted episodes from scratch.
"""

from __future__ import annotations

import os
import time
import traceback
from pathlib import Path
from typing import Any

from cargogym.errors import CargogymError
from cargogym.rollouts.episode import finalize_record, make_env, play_scripted_episode, reset_options


class SlotLostError(CargogymError):
    """A step/finish named a slot that holds no episode: the worker restarted and lost it
    (infrastructure; the driver re-runs the episode)."""


class EnvWorkerImpl:
    """Plain-Python implementation (wrapped by ``ray.remote`` in runner.py; testable without Ray)."""

    def __init__(self, env_id: str, env_kwargs: dict[str, Any] | None = None, worker_index: int = 0,
                 fault: dict[str, Any] | None = None, cargo_jobs: int | None = None,
                 hidden: list[str] | None = None):
        os.environ.setdefault("CARGOGYM_WORKER", str(worker_index))
        if hidden:
            from cargogym.sandbox.exec import hide_from_sandboxes

            hide_from_sandboxes(*hidden)
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
    # fault = {"marker": PATH, "crash_after_steps": N, "repeat": bool, "attempts_log": PATH}:
    # exit the worker process after N steps — once (while MARKER does not exist) or, with
    # "repeat", in every life of the worker; "attempts_log" gets one line per episode attempt.
    def _maybe_crash(self) -> None:
        marker = self.fault.get("marker")
        after = self.fault.get("crash_after_steps")
        if marker and after is not None and self.steps_taken >= int(after):
            if self.fault.get("repeat") or not Path(marker).exists():
                with Path(marker).open("a") as fh:
                    fh.write(f"worker {self.worker_index} crashed on purpose\n")
                os._exit(1)

    def _log_attempt(self, spec: dict[str, Any]) -> None:
        log = self.fault.get("attempts_log")
        if log:
            with Path(log).open("a") as fh:
                fh.write(f"{spec['episode_key']} {spec.get('attempt', 0)}\n")

    def pid(self) -> int:
        return os.getpid()

    # -- whole episodes (scripted policies) ----------------------------------------------------
    def run_episode(self, spec: dict[str, Any]) -> dict[str, Any]:
        from cargogym.policies.registry import make_scripted_policy

        self._log_attempt(spec)
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
        self._log_attempt(spec)
        env = make_env(self.env_id, spec["task"], self.env_kwargs)
        self.envs[slot], self.specs[slot], self.started[slot] = env, spec, time.time()
        try:
            env.reset(seed=spec.get("seed"), options=reset_options(spec))
        except Exception:
            self.close_slot(slot)
            raise
        return self._view(slot, done=False)

    def _env(self, slot: int):
        if slot not in self.envs:
            raise SlotLostError(f"worker {self.worker_index} (pid {os.getpid()}) holds no episode in slot {slot}; "
                                "it was restarted")
        return self.envs[slot]

    def step(self, slot: int, action: Any) -> dict[str, Any]:
        env = self._env(slot)
        obs, reward, terminated, truncated, info = env.step(action)
        self.steps_taken += 1
        self._maybe_crash()
        return self._view(slot, done=bool(terminated or truncated))

    def finish(self, slot: int, extra: dict[str, Any] | None = None) -> dict[str, Any]:
        env, spec = self._env(slot), self.specs[slot]
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


class PolicyActorImpl:
    """Builds a model policy from its name (``make_policy(spec, **kwargs)``) inside the actor's
    process and serves ``generate`` (wrapped by ``ray.remote`` in runner.py with the configured
    ``num_gpus``); the driver talks to it through :class:`RemotePolicy`."""

    def __init__(self, spec: str, kwargs: dict[str, Any] | None = None):
        from cargogym.policies.registry import make_policy

        self.policy, self.error = None, None
        try:
            self.policy = make_policy(spec, **(kwargs or {}))
        except Exception as e:  # noqa: BLE001 — reported by info() as one line, not a creation traceback
            self.error = f"{type(e).__name__}: {e}"
        self.name = getattr(self.policy, "name", spec)

    def info(self) -> dict[str, Any]:
        return {"name": self.name, "pid": os.getpid(), "error": self.error,
                "device": str(getattr(self.policy, "device", "n/a"))}

    def generate(self, conversations, sampling, tools=None):
        return self.policy.generate(conversations, sampling, tools)


class RemotePolicy:
    """Driver-side stand-in for a policy served by a ``PolicyActor``: same ``name`` and
    ``generate``; errors inside the actor come back as Ray errors whose ``cause`` is the policy's."""

    def __init__(self, actor):
        import ray

        self.actor = actor
        self.info = ray.get(actor.info.remote())
        if self.info["error"]:
            raise CargogymError(f"the policy actor could not build policy {self.info['name']!r}: {self.info['error']}")
        self.name = self.info["name"]

    def generate(self, conversations, sampling, tools=None):
        import ray

        return ray.get(self.actor.generate.remote(conversations, sampling, tools))
