"""Build a policy from a name (CLI and config friendly).

- ``oracle`` / ``random`` / ``noop``: scripted policies (policies/scripted.py), acting via ``act(env)``.
- ``tiny-gpt-oss``: a tiny random GPT-OSS (configs/policies/tiny-gpt-oss.yaml); ``tiny-gpt-oss:PATH.yaml`` another config.
- ``hf:PATH``: a local transformers checkpoint (gpt-oss-20b: MXFP4 dequantised to bf16 on GPU).
- ``openai:BASE_URL[@MODEL]``: an OpenAI-compatible server, e.g. ``openai:http://localhost:8000/v1@openai/gpt-oss-20b``.
"""

from __future__ import annotations

from typing import Any

from cargogym.errors import CargogymError

SCRIPTED_POLICIES = ("oracle", "random", "noop")


class UnknownPolicyError(CargogymError):
    pass


def make_scripted_policy(name: str, seed: int | None = None):
    from cargogym.policies import scripted

    classes = {"oracle": scripted.OraclePolicy, "random": scripted.RandomPolicy, "noop": scripted.NoopPolicy}
    if name not in classes:
        raise UnknownPolicyError(f"unknown scripted policy {name!r}; choose one of {', '.join(classes)}")
    return classes[name](seed=seed)


def make_policy(name: str, **kwargs: Any):
    if name in SCRIPTED_POLICIES:
        return make_scripted_policy(name, seed=kwargs.get("seed"))
    if name == "tiny-gpt-oss" or name.startswith("tiny-gpt-oss:"):
        from cargogym.policies.hf import DEFAULT_TINY_CONFIG, HFPolicy

        path = name.split(":", 1)[1] if ":" in name else DEFAULT_TINY_CONFIG
        return HFPolicy.from_config(path, **kwargs)
    if name.startswith("hf:"):
        from cargogym.policies.hf import HFPolicy

        return HFPolicy.from_pretrained(name[3:], **kwargs)
    if name.startswith("openai:"):
        from cargogym.policies.openai_compat import OpenAICompatiblePolicy

        target = name[len("openai:"):]
        url, _, model = target.partition("@")
        return OpenAICompatiblePolicy(url, model=model or "openai/gpt-oss-20b", **kwargs)
    raise UnknownPolicyError(
        f"unknown policy {name!r}; use one of {', '.join(SCRIPTED_POLICIES)}, tiny-gpt-oss, hf:PATH, openai:URL[@MODEL]")
