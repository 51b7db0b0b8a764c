"""Policies: HF transformers models (GPT-OSS first), OpenAI-compatible servers, scripted baselines.

``make_policy(name, **kwargs)`` builds one by name: ``tiny-gpt-oss`` / ``hf:<path>``,
``openai:<base_url>``, ``oracle``, ``random``, ``noop``.
"""

from cargogym.policies.base import Completion, Policy, Sampling
from cargogym.policies.registry import make_policy

__all__ = ["Completion", "Policy", "Sampling", "make_policy"]
