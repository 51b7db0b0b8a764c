"""Offline training from stored MALT trees: GRPO updates, per-role SFT and DPO sets.

``train_grpo(cfg)``: values and sibling advantages over the trees, one GRPO sample per generated
turn (prompt ids, completion ids and sampler log-probs exactly as stored), ``epochs`` passes of
``batch_size`` samples through :class:`~cargogym.training.grpo.GRPOUpdater`; metrics go to
``OUT/metrics.jsonl``, the per-step curve to ``OUT/learning_curve.json`` and the model to ``OUT/model``.
Trees sampled by a scripted or API policy (``cargogym malt`` defaults to ``malt-scripted``) have
no token ids: with ``retokenize: true`` (default) those nodes' turns are re-tokenised from their
stored conversations with the Harmony training renderer
(:func:`~cargogym.training.trees.turns_from_messages`). They carry no sampler log-probs, so the
behaviour log-probs are the trained policy's own, taken before each batch's first update (the
importance ratio starts at 1: the data are treated as on-policy).
``export_sft(cfg)`` / ``export_dpo(cfg)``: per-role JSONL sets (``OUT/sft_<role>.jsonl`` with
Harmony ``input_ids`` + ``completion_mask``, as TRL's SFTTrainer takes pre-tokenised data;
``OUT/dpo_<role>.jsonl`` with Harmony-text ``prompt`` / ``chosen`` / ``rejected``), and with
``run: true`` a TRL SFTTrainer / DPOTrainer pass per role.
"""

from __future__ import annotations

import json
import random
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

from cargogym.errors import CargogymError
from cargogym.training.grpo import GRPOConfig
from cargogym.training.malt import ValueConfig


class TrainError(CargogymError):
    pass


@dataclass
class LoraSection:
    enabled: bool = False
    r: int = 8
    alpha: int = 16
    target_modules: list = field(default_factory=lambda: ["q_proj", "k_proj", "v_proj", "o_proj"])


@dataclass
class SFTSection:
    run: bool = False
    epochs: int = 1
    learning_rate: float = 1e-4
    max_length: int = 4096


@dataclass
class DPOSection:
    run: bool = False
    roles: list = field(default_factory=lambda: ["verifier", "refiner"])
    beta: float = 0.1
    epochs: int = 1
    learning_rate: float = 1e-5
    max_length: int = 4096


@dataclass
class TrainConfig:
    policy: str = "tiny-gpt-oss"
    trees: str | None = None
    out: str | None = None
    seed: int = 0
    roles: list = field(default_factory=list)
    epochs: int = 1
    batch_size: int = 16
    skip_zero_advantage: bool = True
    retokenize: bool = True           # turns without token ids: re-tokenise the node's messages (Harmony)
    save: bool = True
    value: ValueConfig = field(default_factory=ValueConfig)
    grpo: GRPOConfig = field(default_factory=GRPOConfig)
    lora: LoraSection = field(default_factory=LoraSection)
    sft: SFTSection = field(default_factory=SFTSection)
    dpo: DPOSection = field(default_factory=DPOSection)

    def out_dir(self, kind: str) -> Path:
        return Path(self.out or f"runs/{kind}-{time.strftime('%Y%m%d-%H%M%S')}")


def _load_valued_trees(cfg: TrainConfig):
    from cargogym.training.trees import assign_values, read_trees

    if not cfg.trees:
        raise TrainError("no trees given: pass --trees TREES.jsonl (made by `cargogym malt`)")
    trees = read_trees(cfg.trees)
    if not trees:
        raise TrainError(f"{cfg.trees} holds no trees")
    return assign_values(trees, cfg.value.op, cfg.value.temperature, cfg.value.scale)


def no_samples_reason(tv, cfg: TrainConfig) -> str:
    """Why ``grpo_samples`` gave nothing, in one line for the user."""
    from cargogym.training.trees import grpo_samples

    roles = cfg.roles or None
    every = grpo_samples(tv, roles=roles, skip_zero=False, retokenize=cfg.retokenize)
    where = f"{cfg.trees}: no trainable GRPO samples: "
    if every:
        groups = sum(1 for t in tv.trees for n in t["nodes"] if n.get("parent", -1) >= 0 and n.get("role")
                     and (not roles or n["role"] in roles))
        return (where + f"all {len(every)} turns of the {groups} sampled nodes have advantage 0, because in every "
                "sibling group all siblings have the same value (e.g. every leaf scored the same). GRPO learns "
                "only from differences between siblings: sample more branching or tasks whose outcomes vary.")
    if not cfg.retokenize:
        return (where + "no turn has token ids (trees from a scripted or API policy); set retokenize=true "
                "to re-tokenise the nodes' conversations, or sample with a model policy (--policy tiny-gpt-oss).")
    return where + (f"no sampled node of roles {cfg.roles} has generated turns or messages" if roles
                    else "no sampled node has generated turns or messages")


def write_learning_curve(path: Path, steps: list[float], mean_reward: list[float], **extra: Any) -> None:
    """``{"steps": [...], "mean_reward": [...]}`` (the schema ``cargogym eval`` reads as
    ``RUN_DIR/learning_curve.json``) plus ``extra`` keys."""
    path.write_text(json.dumps({"steps": list(steps), "mean_reward": list(mean_reward), **extra}, indent=2,
                               default=str))


def wrap_lora(model, lora: LoraSection):
    if not lora.enabled:
        return model
    import peft

    return peft.get_peft_model(model, peft.LoraConfig(r=lora.r, lora_alpha=lora.alpha,
                                                      target_modules=list(lora.target_modules)))


def train_grpo(cfg: TrainConfig, on_step: Callable[[int, dict], None] | None = None) -> dict[str, Any]:
    """GRPO over the samples of ``cfg.trees``; returns a summary (also written to OUT/summary.json)."""
    import torch

    from cargogym.training.grpo import GRPOUpdater, samples_from_records
    from cargogym.training.model import load_model
    from cargogym.training.trees import grpo_samples

    tv = _load_valued_trees(cfg)
    roles = cfg.roles or None
    records = grpo_samples(tv, roles=roles, skip_zero=cfg.skip_zero_advantage, retokenize=cfg.retokenize)
    if not records:
        raise TrainError(no_samples_reason(tv, cfg))
    if cfg.batch_size < 1 or cfg.epochs < 1:
        raise TrainError(f"batch_size and epochs must be >= 1 (got {cfg.batch_size}, {cfg.epochs})")
    samples = samples_from_records(records)
    total_steps = cfg.epochs * -(-len(samples) // cfg.batch_size)
    torch.manual_seed(cfg.seed)
    model, name = load_model(cfg.policy, seed=cfg.seed)
    model = wrap_lora(model, cfg.lora)
    updater = GRPOUpdater(model, cfg.grpo)
    out = cfg.out_dir("train-grpo")
    out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(cfg.seed)
    step = 0
    history = []
    with (out / "metrics.jsonl").open("w", encoding="utf-8") as fh:
        for epoch in range(cfg.epochs):
            order = list(range(len(samples)))
            rng.shuffle(order)
            for i in range(0, len(order), cfg.batch_size):
                batch = [samples[j] for j in order[i:i + cfg.batch_size]]
                m = updater.step(batch)
                values = [samples[j].meta.get("value") for j in order[i:i + cfg.batch_size]]
                values = [v for v in values if isinstance(v, (int, float))]
                m.update(step=step, total_steps=total_steps, epoch=epoch, samples=len(batch),
                         data_value=sum(values) / len(values) if values else None)
                fh.write(json.dumps(m) + "\n")
                history.append(m)
                if on_step:
                    on_step(step, m)
                step += 1
    if cfg.save:
        target = model.merge_and_unload() if cfg.lora.enabled else model
        target.save_pretrained(out / "model")
    summary = {"policy": name, "trees": len(tv.trees), "samples": len(samples), "steps": step,
               "mean_loss": sum(h["loss"] for h in history) / max(len(history), 1),
               "mean_step_time": sum(h["step_time"] for h in history) / max(len(history), 1),
               "out": str(out), "config": asdict(cfg)}
    (out / "summary.json").write_text(json.dumps(summary, indent=2, default=str))
    curve = [(h["step"], h["data_value"]) for h in history if h.get("data_value") is not None]
    write_learning_curve(out / "learning_curve.json", [c[0] for c in curve], [c[1] for c in curve],
                         loss=[h["loss"] for h in history if h.get("data_value") is not None],
                         note="offline GRPO: mean_reward is the mean value of the tree nodes each step trained "
                              "on (the sampling policy's cargo-graded reward), not a new evaluation of the "
                              "trained policy")
    return summary


def export_sft(cfg: TrainConfig) -> dict[str, Any]:
    """Per-role SFT sets (positives, V > threshold) as pre-tokenised Harmony JSONL; optionally train."""
    from cargogym.harmony.render import render_training
    from cargogym.training.trees import sft_sets

    tv = _load_valued_trees(cfg)
    sets = sft_sets(tv, cfg.value.threshold)
    out = cfg.out_dir("train-sft")
    out.mkdir(parents=True, exist_ok=True)
    counts = {}
    for role, rows in sets.items():
        if cfg.roles and role not in cfg.roles:
            continue
        path = out / f"sft_{role}.jsonl"
        with path.open("w", encoding="utf-8") as fh:
            for r in rows:
                ids, mask = render_training(r["messages"], r.get("tools") or [])
                fh.write(json.dumps({"input_ids": ids, "completion_mask": mask, "tree_id": r["tree_id"],
                                     "node_id": r["node_id"], "role": role, "value": r["value"]}) + "\n")
        counts[role] = len(rows)
    result: dict[str, Any] = {"out": str(out), "counts": counts}
    if cfg.sft.run:
        result["trained"] = {role: _run_trl_sft(cfg, out / f"sft_{role}.jsonl", out / f"model_{role}")
                             for role in counts if counts[role]}
    (out / "sft_summary.json").write_text(json.dumps(result, indent=2))
    return result


def export_dpo(cfg: TrainConfig) -> dict[str, Any]:
    """Per-role sibling preference pairs as Harmony text JSONL; optionally train with TRL DPO."""
    from cargogym.harmony.render import render_prompt, render_training, decode
    from cargogym.training.trees import dpo_pairs

    tv = _load_valued_trees(cfg)
    pairs = dpo_pairs(tv, cfg.value.threshold)
    out = cfg.out_dir("train-dpo")
    out.mkdir(parents=True, exist_ok=True)
    roles = cfg.roles or cfg.dpo.roles
    counts = {}
    for role, rows in pairs.items():
        if roles and role not in roles:
            continue
        path = out / f"dpo_{role}.jsonl"
        with path.open("w", encoding="utf-8") as fh:
            for r in rows:
                tools = r.get("tools") or []
                prompt_ids = render_prompt(r["prompt"], tools)
                chosen = render_training(r["prompt"] + r["chosen"], tools)[0][len(prompt_ids) - 2:]
                rejected = render_training(r["prompt"] + r["rejected"], tools)[0][len(prompt_ids) - 2:]
                fh.write(json.dumps({"prompt": decode(prompt_ids[:-2]), "chosen": decode(chosen),
                                     "rejected": decode(rejected), "tree_id": r["tree_id"], "role": role,
                                     "chosen_value": r["chosen_value"], "rejected_value": r["rejected_value"]}) + "\n")
        counts[role] = len(rows)
    result: dict[str, Any] = {"out": str(out), "counts": counts}
    if cfg.dpo.run:
        result["trained"] = {role: _run_trl_dpo(cfg, out / f"dpo_{role}.jsonl", out / f"model_{role}")
                             for role in counts if counts[role]}
    (out / "dpo_summary.json").write_text(json.dumps(result, indent=2))
    return result


def _run_trl_sft(cfg: TrainConfig, data: Path, out: Path) -> dict[str, Any]:
    from datasets import load_dataset
    from trl import SFTConfig, SFTTrainer

    from cargogym.harmony.tokenizer import build_hf_tokenizer
    from cargogym.training.model import load_model

    model, _ = load_model(cfg.policy, seed=cfg.seed)
    ds = load_dataset("json", data_files=str(data), split="train").select_columns(["input_ids", "completion_mask"])
    args = SFTConfig(output_dir=str(out), num_train_epochs=cfg.sft.epochs, learning_rate=cfg.sft.learning_rate,
                     per_device_train_batch_size=2, max_length=cfg.sft.max_length, completion_only_loss=True,
                     use_cpu=True, bf16=False, report_to=[], save_strategy="no", logging_steps=1)
    trainer = SFTTrainer(model=model, args=args, train_dataset=ds, processing_class=build_hf_tokenizer())
    res = trainer.train()
    trainer.save_model(str(out))
    return {"train_loss": float(res.training_loss), "rows": len(ds)}


def _run_trl_dpo(cfg: TrainConfig, data: Path, out: Path) -> dict[str, Any]:
    from datasets import load_dataset
    from trl import DPOConfig, DPOTrainer

    from cargogym.harmony.tokenizer import build_hf_tokenizer
    from cargogym.training.model import load_model

    model, _ = load_model(cfg.policy, seed=cfg.seed)
    ref_model, _ = load_model(cfg.policy, seed=cfg.seed)   # the frozen reference (not a hub id)
    ds = load_dataset("json", data_files=str(data), split="train").select_columns(["prompt", "chosen", "rejected"])
    args = DPOConfig(output_dir=str(out), num_train_epochs=cfg.dpo.epochs, learning_rate=cfg.dpo.learning_rate,
                     beta=cfg.dpo.beta, per_device_train_batch_size=2, max_length=cfg.dpo.max_length,
                     use_cpu=True, bf16=False, report_to=[], save_strategy="no", logging_steps=1)
    trainer = DPOTrainer(model=model, ref_model=ref_model, args=args, train_dataset=ds,
                         processing_class=build_hf_tokenizer())
    res = trainer.train()
    trainer.save_model(str(out))
    return {"train_loss": float(res.training_loss), "rows": len(ds)}
