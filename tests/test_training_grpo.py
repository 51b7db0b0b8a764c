"""GRPO update on a real tiny GptOssForCausalLM (CPU, eager attention) and the pure loss."""

from __future__ import annotations

import math

import pytest

torch = pytest.importorskip("torch")

from cargogym.policies.hf import build_tiny_gpt_oss  # noqa: E402
from cargogym.training.grpo import (  # noqa: E402
    GRPOConfig,
    GRPOError,
    GRPOSample,
    GRPOUpdater,
    collate,
    grpo_loss,
)


def _samples(seed: int = 0, n_prompts: int = 2, k: int = 2, c_len: int = 6) -> list[GRPOSample]:
    g = torch.Generator().manual_seed(seed)
    out = []
    for p in range(n_prompts):
        prompt = torch.randint(200, 8000, (5 + p,), generator=g).tolist()
        for j in range(k):
            comp = torch.randint(200, 8000, (c_len - j,), generator=g).tolist()
            out.append(GRPOSample(prompt, comp, 1.0 if j % 2 == 0 else -1.0))
    return out


def _seq_logp(updater: GRPOUpdater, samples) -> list[float]:
    return [sum(lp) for lp in updater.logprobs(samples)]


@pytest.fixture(scope="module")
def small_config(tmp_path_factory):
    """configs/policies/tiny-gpt-oss.yaml with an 8,192-token vocabulary: the same GptOssForCausalLM
    (experts, sinks, sliding window) at a tenth of the step time; one test below uses the real vocab."""
    import yaml

    from cargogym.policies.hf import DEFAULT_TINY_CONFIG

    spec = yaml.safe_load(DEFAULT_TINY_CONFIG.read_text())
    spec["model"]["vocab_size"] = 8192
    path = tmp_path_factory.mktemp("cfg") / "tiny-small-vocab.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


@pytest.fixture(scope="module")
def tiny_state(small_config):
    model = build_tiny_gpt_oss(small_config, seed=0)
    return small_config, {k: v.clone() for k, v in model.state_dict().items()}


def _fresh(tiny_state):
    path, state = tiny_state
    model = build_tiny_gpt_oss(path, seed=0)
    model.load_state_dict(state)
    return model


def test_one_step_direction_with_the_real_vocabulary():
    model = build_tiny_gpt_oss(seed=0)   # 201,088-token Harmony vocabulary
    assert model.config.vocab_size == 201088
    up = GRPOUpdater(model, GRPOConfig(learning_rate=3e-3, router_aux_loss_coef=0.01))
    samples = _samples(seed=5, n_prompts=1)
    before = _seq_logp(up, samples)
    up.step(samples)
    after = _seq_logp(up, samples)
    assert after[0] > before[0] and after[1] < before[1]


@pytest.mark.parametrize("loss_type, level", [("dapo", "token"), ("grpo", "sequence"), ("dr_grpo", "token")])
def test_one_step_raises_positive_and_lowers_negative(tiny_state, loss_type, level):
    model = _fresh(tiny_state)
    cfg = GRPOConfig(learning_rate=3e-3, loss_type=loss_type, importance_sampling=level,
                     router_aux_loss_coef=0.0)
    up = GRPOUpdater(model, cfg)
    samples = _samples()
    before = _seq_logp(up, samples)
    metrics = up.step(samples)
    after = _seq_logp(up, samples)
    assert math.isfinite(metrics["loss"])
    for s, b, a in zip(samples, before, after):
        if s.advantage > 0:
            assert a > b, (loss_type, level, b, a)
        else:
            assert a < b, (loss_type, level, b, a)


def test_old_logprobs_from_sampler_match_current_policy(tiny_state):
    """The env stores sampler log-probs; with an unchanged policy the ratio is 1 (no clipping)."""
    model = _fresh(tiny_state)
    up = GRPOUpdater(model, GRPOConfig(router_aux_loss_coef=0.0))
    samples = _samples(seed=1)
    for s, lp in zip(samples, up.logprobs(samples)):
        s.old_logprobs = lp
    metrics = up.step(samples)
    assert metrics["ratio_mean"] == pytest.approx(1.0, abs=1e-4)
    assert metrics["clip_ratio"] == 0.0


def test_env_tokens_are_masked_out_of_the_loss():
    logps = torch.zeros(1, 4, requires_grad=True)
    old = torch.zeros(1, 4)
    adv = torch.ones(1, 4)
    mask = torch.tensor([[1.0, 0.0, 0.0, 1.0]])  # tokens 1-2: a tool result inside the completion
    loss, m = grpo_loss(logps, old, adv, mask, GRPOConfig(loss_type="dapo"))
    loss.backward()
    assert logps.grad[0, 1] == 0 and logps.grad[0, 2] == 0
    assert logps.grad[0, 0] < 0 and logps.grad[0, 3] < 0
    assert m["model_tokens"] == 2.0
    batch = collate([GRPOSample([5, 6], [7, 8, 9], 1.0, env_mask=[1, 0, 1])])
    assert batch.loss_mask.tolist() == [[1.0, 0.0, 1.0]]


def test_clipping_token_and_sequence_level_by_hand():
    old = torch.zeros(1, 2)
    logps = torch.log(torch.tensor([[1.5, 1.0]])).requires_grad_(True)
    adv = torch.ones(1, 2)
    mask = torch.ones(1, 2)
    loss, _ = grpo_loss(logps, old, adv, mask, GRPOConfig(loss_type="grpo", epsilon=0.2))
    assert float(loss.detach()) == pytest.approx(-(1.2 + 1.0) / 2)       # token 0 clipped at 1 + eps
    loss.backward()
    assert logps.grad[0, 0] == 0 and logps.grad[0, 1] != 0
    logps2 = torch.log(torch.tensor([[1.5, 1.0]])).requires_grad_(True)
    loss2, _ = grpo_loss(logps2, old, adv, mask, GRPOConfig(loss_type="grpo", importance_sampling="sequence",
                                                                         epsilon=0.3))
    w = math.exp(math.log(1.5) / 2)                              # geometric mean of the ratios
    assert float(loss2) == pytest.approx(-w)                     # 1.22 < 1.3: not clipped
    loss2b, _ = grpo_loss(logps2.detach(), old, adv, mask, GRPOConfig(loss_type="grpo", importance_sampling="sequence"))
    assert float(loss2b) == pytest.approx(-1.2)                  # 1.22 > 1.2: clipped
    loss3, _ = grpo_loss(logps.detach(), old, adv, mask, GRPOConfig(loss_type="grpo", epsilon=0.2, epsilon_high=0.6))
    assert float(loss3) == pytest.approx(-(1.5 + 1.0) / 2)      # clip-higher lets 1.5 through


def test_loss_aggregations_by_hand():
    logps = torch.zeros(2, 3)
    adv = torch.tensor([[1.0] * 3, [-2.0] * 3])
    mask = torch.tensor([[1.0, 1.0, 1.0], [1.0, 0.0, 0.0]])
    l_grpo, _ = grpo_loss(logps, None, adv, mask, GRPOConfig(loss_type="grpo"))
    l_dapo, _ = grpo_loss(logps, None, adv, mask, GRPOConfig(loss_type="dapo"))
    l_dr, _ = grpo_loss(logps, None, adv, mask, GRPOConfig(loss_type="dr_grpo"), max_completion_length=10)
    assert float(l_grpo) == pytest.approx((-1.0 + 2.0) / 2)
    assert float(l_dapo) == pytest.approx((-3.0 + 2.0) / 4)
    assert float(l_dr) == pytest.approx((-3.0 + 2.0) / (2 * 10))


def test_router_aux_loss_is_added(tiny_state):
    samples = _samples(seed=2)
    for s in samples:
        s.advantage = 0.0  # policy loss has zero gradient: only the router loss can move weights
    grads = {}
    for coef in (0.0, 0.5):
        model = _fresh(tiny_state)
        up = GRPOUpdater(model, GRPOConfig(router_aux_loss_coef=coef, max_grad_norm=None))
        metrics = up.step(samples)
        router = next(m for n, m in model.named_modules() if type(m).__name__.endswith("TopKRouter"))
        grads[coef] = float(router.weight.grad.abs().sum())
        if coef:
            assert metrics["aux_loss"] > 0
    assert grads[0.0] == 0.0
    assert grads[0.5] > 0.0


def test_kl_reference_is_the_adapter_disabled_lora_model(tiny_state):
    peft = pytest.importorskip("peft")
    base = _fresh(tiny_state)
    model = peft.get_peft_model(base, peft.LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"]))
    up = GRPOUpdater(model, GRPOConfig(beta=0.1, learning_rate=1e-2, router_aux_loss_coef=0.0))
    assert up.ref_model is None  # no copy: the reference is the base under the adapter
    samples = _samples(seed=3)
    start = up.logprobs(samples)
    m1 = up.step(samples)
    assert m1["kl"] == pytest.approx(0.0, abs=1e-6)  # LoRA B starts at zero: policy == reference
    m2 = up.step(samples)
    assert m2["kl"] > 0
    batch = collate(samples, up.pad_id)
    ref = up.reference_logprobs(batch)
    for i, s in enumerate(samples):
        assert ref[i, :len(s.completion_ids)].tolist() == pytest.approx(start[i], abs=1e-5)
    assert up.logprobs(samples)[0] != pytest.approx(start[0], abs=1e-5)


def test_bad_samples_raise_clear_errors():
    with pytest.raises(GRPOError, match="env_mask"):
        collate([GRPOSample([1], [2, 3], 1.0, env_mask=[1])])
    with pytest.raises(GRPOError, match="empty completion"):
        collate([GRPOSample([1], [], 1.0)])
    with pytest.raises(GRPOError, match="loss_type"):
        GRPOConfig(loss_type="ppo").validate()
