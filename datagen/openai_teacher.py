"""An OpenAI-compatible model server as the teacher (any server: vLLM with gpt-oss, others).

:func:`run_endpoint_episode` plays one env episode with
:class:`~cargogym.policies.openai_compat.OpenAICompatiblePolicy`: each step sends the active
frame's conversation and tools, and steps the env with the answer (a native tool call or the
Harmony text). The record carries each frame's exact conversation like the scripted teacher's;
samples from it are ``source="openai_teacher"`` and, by default, only resolved episodes are kept.
"""

from __future__ import annotations

from typing import Any

from cargogym.datagen.teacher import attach_conversations


def parse_endpoint(spec: str) -> tuple[str, str]:
    """``"http://host:8000/v1@openai/gpt-oss-20b"`` -> (base_url, model); model defaults to gpt-oss-20b."""
    url, _, model = spec.partition("@")
    return url, model or "openai/gpt-oss-20b"


def run_endpoint_episode(task: Any, policy: Any, env_id: str = "RustRepo-v0", seed: int = 0,
                         sampling: Any = None, env_kwargs: dict | None = None, max_steps: int = 40,
                         env: Any = None) -> dict:
    """Play one episode of ``task`` with a ``Policy`` (``generate``); returns the record with
    ``frames[i]["messages"]``/``["tools"]`` attached."""
    from cargogym.policies.base import Sampling
    from cargogym.rollouts.episode import make_env

    sampling = sampling or Sampling(temperature=0.7, max_new_tokens=2048, seed=seed)
    own = env is None
    if own:
        env = make_env(env_id, task.to_dict(), env_kwargs)
    frames: dict[int, Any] = {}
    try:
        u = env.unwrapped
        env.reset(seed=seed, options={"task": task})
        for _ in range(max_steps):
            frame = u.active_frame()
            if frame is None:
                break
            frames[frame.frame_id] = frame
            completion = policy.generate([u.messages()], sampling, [u.tools()])[0]
            _, _, terminated, truncated, _ = env.step(completion.to_action())
            if terminated or truncated:
                break
        record = attach_conversations(dict(u.trajectory()), frames, u)
        record["policy"] = getattr(policy, "name", "openai")
        return record
    finally:
        if own:
            env.close()
