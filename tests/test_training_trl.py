"""TRL 1.16's GRPOTrainer trains a tiny GPT-OSS on cargo-graded env rewards (rollout_func)."""

from __future__ import annotations

import shutil

import pytest

pytestmark = pytest.mark.skipif(shutil.which("cargo") is None, reason="cargo not on PATH")


def test_trl_grpo_trainer_learns_from_cargo_graded_rollouts(training_minicrate_tasks, tmp_path):
    torch = pytest.importorskip("torch")
    trl = pytest.importorskip("trl")
    from cargogym.policies.hf import build_tiny_gpt_oss
    from cargogym.rewards.trl import make_report_reward
    from cargogym.training.choice import make_choice_tasks
    from cargogym.training.trl_integration import CargoRollout, make_tokenizer

    choice = make_choice_tasks(training_minicrate_tasks[:2], k=4, seed=0)
    rollout = CargoRollout(choice, env_kwargs={"reward": "resolved"}, seed=0)
    model = build_tiny_gpt_oss(seed=0)
    gold_before = _gold_logprobs(model, choice)
    args = trl.GRPOConfig(output_dir=str(tmp_path), use_cpu=True, bf16=False, num_generations=4,
                          per_device_train_batch_size=4, max_completion_length=1, max_steps=2,
                          learning_rate=1e-2, beta=0.0, report_to=[], logging_steps=1, save_strategy="no",
                          seed=0)
    trainer = trl.GRPOTrainer(model=model, reward_funcs=[make_report_reward("resolved")], args=args,
                              train_dataset=rollout.dataset(), processing_class=make_tokenizer(),
                              rollout_func=rollout)
    try:
        trainer.train()
    finally:
        rollout.close()
    # 2 steps × 4 generations, each a real RustRepo-v0 episode graded by cargo
    assert len(rollout.history) == 8
    assert all(h["status"] == "ok" for h in rollout.history)
    for h in rollout.history:   # the binary reward is 1 exactly when the gold candidate was applied
        assert h["reward"] == (1.0 if h["choice"] == h["gold"] else 0.0)
        assert h["resolved"] == (h["choice"] == h["gold"])
    logged = [e["reward"] for e in trainer.state.log_history if "reward" in e]
    assert len(logged) == 2
    for step, value in enumerate(logged):
        batch = rollout.history[4 * step:4 * step + 4]
        assert value == pytest.approx(sum(h["reward"] for h in batch) / 4)
    # direction: on a prompt whose group had mixed rewards, the rewarded (gold) letter's
    # log-probability rises; a prompt whose group all scored the same gets no push of its own
    gold_after = _gold_logprobs(model, choice)
    mixed = {rollout.history[4 * s]["instance_id"] for s in range(2)
             if 0.0 < sum(h["reward"] for h in rollout.history[4 * s:4 * s + 4]) < 4}
    assert mixed, "seed 0 gives at least one group with mixed rewards (else this test proves nothing)"
    for iid in mixed:
        assert gold_after[iid] > gold_before[iid], (iid, gold_before[iid], gold_after[iid])


def _gold_logprobs(model, choice) -> dict:
    """Log-probability of each task's gold letter among the K letters (the sampled distribution)."""
    import torch

    from cargogym.training.choice import letter_ids

    ids = letter_ids(len(choice[0].candidates))
    out = {}
    with torch.no_grad():
        for c in choice:
            logits = model(input_ids=torch.tensor([c.prompt_ids()]), use_cache=False).logits[0, -1, ids]
            out[c.instance_id] = float(torch.log_softmax(logits.float(), -1)[c.gold])
    return out
