"""HFPolicy on a tiny randomly-initialised GptOssForCausalLM (the real MoE architecture)."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from cargogym.harmony.parse import HarmonyParseError, parse_completion
from cargogym.policies.base import Sampling
from cargogym.policies.hf import STOP_IDS, HFPolicy

CONVS = [
    [{"role": "system", "content": "You are a Rust coder."}, {"role": "user", "content": "Fix the failing test."}],
    [{"role": "system", "content": "You are a Rust coder."},
     {"role": "user", "content": "A longer task statement: the LRU cache evicts the wrong entry when full."}],
]
TOOLS = [{"name": "run_tests", "description": "Run cargo test", "parameters": {"type": "object", "properties": {}}}]


@pytest.fixture(scope="module")
def policy():
    return HFPolicy.from_config(seed=0)


def test_tiny_model_is_real_gpt_oss_moe(policy):
    cfg = policy.model.config
    assert type(policy.model).__name__ == "GptOssForCausalLM"
    assert cfg.num_local_experts == 4 and cfg.num_experts_per_tok == 2 and cfg.sliding_window == 8
    assert policy.num_layers_with_router == cfg.num_hidden_layers


def test_generate_batch_logprobs_match_a_forward_pass(policy):
    comps = policy.generate(CONVS, Sampling(temperature=1.0, max_new_tokens=12, seed=3), tools=[TOOLS, TOOLS])
    assert len(comps) == 2
    for c in comps:
        assert 1 <= len(c.token_ids) <= 12
        assert len(c.logprobs) == len(c.token_ids)
        assert all(lp <= 0.0 for lp in c.logprobs)
        if c.finish_reason == "stop":
            assert c.token_ids[-1] in STOP_IDS
        # recompute the completion's log-probs with one unpadded forward pass
        ids = torch.tensor([c.prompt_ids + c.token_ids])
        with torch.no_grad():
            logits = policy.model(input_ids=ids).logits[0, len(c.prompt_ids) - 1:-1].float()
        ref = torch.log_softmax(logits, -1).gather(-1, torch.tensor(c.token_ids)[:, None]).squeeze(-1)
        assert torch.allclose(ref, torch.tensor(c.logprobs), atol=1e-3), (ref, c.logprobs)
        # router records: per layer, num_experts counts, top-k per routed completion token
        assert c.router is not None and len(c.router) == policy.model.config.num_hidden_layers
        for layer in c.router:
            assert len(layer) == 4 and sum(layer) == 2 * (len(c.token_ids) - 1)


def test_same_seed_same_sample(policy):
    a = policy.generate(CONVS[:1], Sampling(max_new_tokens=6, seed=11))[0]
    b = policy.generate(CONVS[:1], Sampling(max_new_tokens=6, seed=11))[0]
    assert a.token_ids == b.token_ids


def test_completion_parses_or_raises_typed_error(policy):
    c = policy.generate(CONVS[:1], Sampling(max_new_tokens=16, seed=5))[0]
    try:
        parsed = parse_completion(c.token_ids)
        assert parsed is not None
    except HarmonyParseError as e:
        assert str(e)
