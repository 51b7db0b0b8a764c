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


def test_local_checkpoint_loads_by_name_and_generates_the_same(policy, tmp_path):
    """``hf:DIR`` on a saved tiny GPT-OSS: no MXFP4 config is forced on a plain checkpoint, and the
    reloaded model samples what the in-memory one samples (same seed), with router records."""
    from cargogym.policies.registry import make_policy

    policy.model.save_pretrained(tmp_path / "ckpt")
    loaded = make_policy(f"hf:{tmp_path / 'ckpt'}", dtype="float32")
    assert type(loaded.model).__name__ == "GptOssForCausalLM" and loaded.name == "hf:ckpt"
    assert getattr(loaded.model.config, "quantization_config", None) is None
    sampling = Sampling(max_new_tokens=8, seed=7)
    (got,) = loaded.generate(CONVS[:1], sampling, tools=[TOOLS])
    (want,) = policy.generate(CONVS[:1], sampling, tools=[TOOLS])
    assert got.token_ids == want.token_ids
    assert torch.allclose(torch.tensor(got.logprobs), torch.tensor(want.logprobs), atol=1e-4)
    assert got.router == want.router and len(got.router) == loaded.model.config.num_hidden_layers


def test_mxfp4_dequantisation_only_for_mxfp4_checkpoints():
    from cargogym.policies.hf import load_kwargs, quant_method

    mxfp4 = {"quantization_config": {"quant_method": "mxfp4", "modules_to_not_convert": ["router"]}}
    kw = load_kwargs(mxfp4, dtype="bfloat16")
    assert quant_method(mxfp4) == "mxfp4" and kw["quantization_config"].dequantize is True
    for plain in ({}, {"quantization_config": None}, {"quantization_config": {"quant_method": "bitsandbytes"}}):
        assert "quantization_config" not in load_kwargs(plain)
    assert "quantization_config" not in load_kwargs(mxfp4, dequantize_mxfp4=False)
    assert load_kwargs({}, cuda=True)["device_map"] == "auto" and "device_map" not in load_kwargs({})


def test_missing_checkpoint_is_a_clear_error(tmp_path):
    from cargogym.errors import CargogymError
    from cargogym.policies.registry import make_policy

    with pytest.raises(CargogymError, match="not a directory"):
        make_policy(f"hf:{tmp_path / 'nope'}")
    (tmp_path / "empty").mkdir()
    with pytest.raises(CargogymError, match="config"):
        make_policy(f"hf:{tmp_path / 'empty'}")
