"""The policy protocol shared by model-backed and scripted policies.

A policy turns conversations (lists of cargogym message dicts, see docs/CONTRACTS.md) into
completions. Model policies return the generated text with its token ids and per-token
log-probabilities (GRPO needs them); policies that talk to a server with native tool calling may
also return ``action`` — a structured ``{"tool", "arguments"}`` dict the env accepts directly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable


@dataclass
class Sampling:
    """Sampling parameters for one generate call."""

    temperature: float = 1.0
    top_p: float = 1.0
    max_new_tokens: int = 256
    seed: int | None = None


@dataclass
class Completion:
    """One generated completion.

    ``logprobs[i]`` is the policy's log-probability of ``token_ids[i]`` under the model's
    distribution at temperature 1 (the quantity importance ratios need), so
    ``len(logprobs) == len(token_ids)`` always holds for model policies.
    """

    text: str
    token_ids: list[int] = field(default_factory=list)
    logprobs: list[float] = field(default_factory=list)
    prompt_ids: list[int] | None = None
    action: dict[str, Any] | None = None
    router: list[list[int]] | None = None  # per layer: expert counts over the completion tokens
    finish_reason: str = "stop"

    def to_action(self) -> Any:
        """What to pass to ``env.step``: structured action, or the raw completion with ids."""
        if self.action is not None:
            return self.action
        return {"completion": self.text, "token_ids": self.token_ids, "logprobs": self.logprobs}


@runtime_checkable
class Policy(Protocol):
    """Batched generation: one completion per conversation."""

    name: str

    def generate(
        self,
        conversations: list[list[dict[str, Any]]],
        sampling: Sampling,
        tools: list[list[dict[str, Any]]] | None = None,
    ) -> list[Completion]: ...
