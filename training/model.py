"""Load the policy model to train from a policy spec (the names the policy registry uses).

- ``tiny-gpt-oss`` / ``tiny-gpt-oss:CONFIG.yaml``: a tiny randomly initialised ``GptOssForCausalLM``
  (``configs/policies/tiny-gpt-oss.yaml``; :func:`cargogym.policies.hf.build_tiny_gpt_oss`).
- ``hf:PATH`` or a bare directory: a local transformers checkpoint (e.g. one saved by
  ``cargogym train grpo``), loaded without hub access.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cargogym.errors import CargogymError


class ModelSpecError(CargogymError):
    pass


def load_model(spec: str, dtype: str = "float32", seed: int | None = None) -> tuple[Any, str]:
    """``(model, name)`` for ``spec``; the model is in train mode-agnostic eval state, on CPU."""
    import torch

    if spec == "tiny-gpt-oss" or spec.startswith("tiny-gpt-oss:"):
        from cargogym.policies.hf import DEFAULT_TINY_CONFIG, build_tiny_gpt_oss

        path = spec.split(":", 1)[1] if ":" in spec else DEFAULT_TINY_CONFIG
        if not Path(path).is_file():
            raise ModelSpecError(f"policy config {path} does not exist")
        return build_tiny_gpt_oss(path, seed=seed), "tiny-gpt-oss"
    path = spec[3:] if spec.startswith("hf:") else spec
    if not Path(path).is_dir():
        raise ModelSpecError(f"unknown policy {spec!r}: use tiny-gpt-oss[:CONFIG.yaml] or hf:PATH "
                             "(a local transformers checkpoint directory)")
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(path, dtype=getattr(torch, dtype), local_files_only=True)
    if getattr(model.config, "model_type", "") == "gpt_oss":
        model.config._attn_implementation = "eager"
    return model.eval(), f"hf:{Path(path).name}"
