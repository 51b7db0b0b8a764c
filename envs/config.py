"""Environment settings: ``configs/env.yaml`` loaded into :class:`EnvConfig`.

Constructor keyword arguments of the envs with the same names override the file; an unknown key
raises :class:`cargogym.config.ConfigError` naming it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cargogym.config import ConfigError, from_dict, read_config


@dataclass
class EnvConfig:
    reward: str = "default"
    sandbox: str = "local"
    workspace_mode: str = "auto"
    roles: str = "multi_agent_roles"
    max_steps: int = 40
    max_frame_steps: int = 16
    token_budget: int = 120000      # 0: no token budget
    max_depth: int = 2
    similarity_threshold: float = 0.8
    max_action_chars: int = 60000
    max_observation_chars: int = 16000
    read_max_lines: int = 400
    search_max_results: int = 60
    test_timeout: float = 120.0
    check_timeout: float = 120.0
    step_shaping: bool = True
    grade_on_truncation: bool = True
    system_prompt: str = "You are an expert Rust engineer working inside a sandboxed Cargo crate."
    agent_prompt: str = "Fix the task described by the user, then call submit."

    def __post_init__(self) -> None:
        for name in ("max_steps", "max_frame_steps", "max_action_chars", "max_observation_chars",
                     "read_max_lines", "search_max_results"):
            if getattr(self, name) < 1:
                raise ConfigError(f"env config: {name} must be >= 1, got {getattr(self, name)}")
        if self.token_budget < 0:
            raise ConfigError(f"env config: token_budget must be >= 0 (0 = no token budget), got {self.token_budget}")
        if self.max_depth < 0:
            raise ConfigError(f"env config: max_depth must be >= 0, got {self.max_depth}")
        if not 0.0 < self.similarity_threshold <= 1.0:
            raise ConfigError(f"env config: similarity_threshold must be in (0, 1], got {self.similarity_threshold}")


def load_env_config(name_or_path: str | Path | None = "env", overrides: dict[str, Any] | None = None) -> EnvConfig:
    """``configs/<name>.yaml`` (or a path, or None for defaults) with keyword ``overrides`` on top."""
    data, source = read_config(name_or_path)
    data.update(overrides or {})
    known = {f.name for f in dataclasses.fields(EnvConfig)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConfigError(f"unknown env option(s) {', '.join(map(repr, unknown))} ({source} or keyword "
                          f"arguments); known: {', '.join(sorted(known))}")
    return from_dict(EnvConfig, data, source)


__all__ = ["EnvConfig", "load_env_config"]
