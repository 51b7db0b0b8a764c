"""The GRPO update for a Hugging Face causal LM (first of all ``GptOssForCausalLM``, MoE).

One sample = prompt token ids + completion token ids (as generated: never re-rendered) + an
advantage (one per sample, or one per completion token) + an optional ``env_mask`` over the
completion (1 = a token the policy produced, 0 = an environment token such as a tool result in a
multi-turn completion; env tokens never enter the loss) + optional behaviour-policy log-probs
(``old_logprobs``; when absent the ratio is taken against the current policy, i.e. 1 on the
first update of a batch).

Loss, per completion token t of sample i (as in TRL 1.16's GRPOTrainer):

- importance weight ``w``: token level ``exp(logp - old)``, or sequence level (GSPO,
  arXiv 2507.18071) ``exp(mean_t(logp - old))`` over the sample's model tokens;
- ``-min(w * A, clip(w, 1 - epsilon, 1 + epsilon_high) * A)``;
- plus ``beta * KL`` with the k3 estimator ``exp(ref - logp) - (ref - logp) - 1`` when
  ``beta > 0``; the reference is ``ref_model``, or, for a peft LoRA model, the same model with
  its adapter disabled, or a frozen copy of the initial model;
- aggregation: ``grpo`` (mean over each sample's tokens, then over samples), ``dr_grpo`` (sum over
  all tokens / (samples × max_completion_length)), ``dapo`` (sum / number of model tokens);
- plus ``router_aux_loss_coef * aux_loss``: GPT-OSS's router load-balancing loss over the
  non-padding tokens (``output_router_logits``), when the coefficient is > 0.
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field
from typing import Any, Sequence

from cargogym.errors import CargogymError

LOSS_TYPES = ("grpo", "dr_grpo", "dapo")
IS_LEVELS = ("token", "sequence")


class GRPOError(CargogymError, ValueError):
    """A GRPO batch or config that cannot be used."""


@dataclass
class GRPOConfig:
    """Hyper-parameters of the update (configs/train.yaml ``grpo:`` section)."""

    learning_rate: float = 1e-3
    weight_decay: float = 0.0
    epsilon: float = 0.2
    epsilon_high: float | None = None       # DAPO clip-higher; None → epsilon
    importance_sampling: str = "token"      # token | sequence (GSPO)
    beta: float = 0.0                       # KL coefficient; 0 → no reference model
    loss_type: str = "dapo"                 # grpo | dr_grpo | dapo
    max_completion_length: int | None = None  # dr_grpo's constant; None → longest in batch
    router_aux_loss_coef: float | None = None  # None → the model config's value
    temperature: float = 1.0                # logits / temperature, matching the sampler
    num_iterations: int = 1                 # updates per batch (old log-probs fixed before the first)
    max_grad_norm: float | None = 1.0
    micro_batch_size: int = 8               # samples per forward (gradient accumulation)

    def validate(self) -> None:
        if self.loss_type not in LOSS_TYPES:
            raise GRPOError(f"unknown loss_type {self.loss_type!r}; expected one of {LOSS_TYPES}")
        if self.importance_sampling not in IS_LEVELS:
            raise GRPOError(f"unknown importance_sampling {self.importance_sampling!r}; expected one of {IS_LEVELS}")
        if self.epsilon < 0 or (self.epsilon_high is not None and self.epsilon_high < 0):
            raise GRPOError("epsilon must be >= 0")
        if self.temperature <= 0:
            raise GRPOError("temperature must be > 0")
        if self.num_iterations < 1 or self.micro_batch_size < 1:
            raise GRPOError("num_iterations and micro_batch_size must be >= 1")


@dataclass
class GRPOSample:
    """One completion to learn from; see the module docstring."""

    prompt_ids: list[int]
    completion_ids: list[int]
    advantage: float | list[float]
    env_mask: list[int] | None = None
    old_logprobs: list[float] | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def check(self, i: int) -> None:
        n = len(self.completion_ids)
        if not self.prompt_ids:
            raise GRPOError(f"sample {i}: empty prompt")
        if n == 0:
            raise GRPOError(f"sample {i}: empty completion")
        for name in ("env_mask", "old_logprobs"):
            v = getattr(self, name)
            if v is not None and len(v) != n:
                raise GRPOError(f"sample {i}: {name} has {len(v)} entries for {n} completion tokens")
        if isinstance(self.advantage, (list, tuple)) and len(self.advantage) != n:
            raise GRPOError(f"sample {i}: {len(self.advantage)} per-token advantages for {n} tokens")


@dataclass
class GRPOBatch:
    """Padded tensors: prompts left-padded, completions right-padded, so completions align at the end."""

    input_ids: Any        # (B, P + C)
    attention_mask: Any   # (B, P + C)
    position_ids: Any     # (B, P + C)
    completion_ids: Any   # (B, C)
    loss_mask: Any        # (B, C) float: completion model tokens
    advantages: Any       # (B, C) float
    old_logprobs: Any     # (B, C) float or None
    has_old: Any          # (B,) bool: rows whose old log-probs came from the sampler

    @property
    def completion_length(self) -> int:
        return int(self.completion_ids.shape[1])


def collate(samples: Sequence[GRPOSample], pad_id: int = 0) -> GRPOBatch:
    """Pad ``samples`` into a :class:`GRPOBatch`."""
    import torch

    if not samples:
        raise GRPOError("empty GRPO batch")
    for i, s in enumerate(samples):
        s.check(i)
    b = len(samples)
    p_len = max(len(s.prompt_ids) for s in samples)
    c_len = max(len(s.completion_ids) for s in samples)
    ids = torch.full((b, p_len + c_len), pad_id, dtype=torch.long)
    attn = torch.zeros((b, p_len + c_len), dtype=torch.long)
    comp = torch.full((b, c_len), pad_id, dtype=torch.long)
    mask = torch.zeros((b, c_len), dtype=torch.float32)
    adv = torch.zeros((b, c_len), dtype=torch.float32)
    old = torch.zeros((b, c_len), dtype=torch.float32)
    has_old = torch.zeros(b, dtype=torch.bool)
    for i, s in enumerate(samples):
        p, c = len(s.prompt_ids), len(s.completion_ids)
        ids[i, p_len - p:p_len] = torch.tensor(s.prompt_ids)
        ids[i, p_len:p_len + c] = torch.tensor(s.completion_ids)
        attn[i, p_len - p:p_len + c] = 1
        comp[i, :c] = torch.tensor(s.completion_ids)
        m = torch.ones(c) if s.env_mask is None else torch.tensor(s.env_mask, dtype=torch.float32)
        mask[i, :c] = m
        if isinstance(s.advantage, (list, tuple)):
            adv[i, :c] = torch.tensor(s.advantage, dtype=torch.float32)
        else:
            adv[i, :c] = float(s.advantage)
        if s.old_logprobs is not None:
            old[i, :c] = torch.tensor(s.old_logprobs, dtype=torch.float32)
            has_old[i] = True
    pos = (attn.cumsum(-1) - 1).clamp(min=0)
    return GRPOBatch(ids, attn, pos, comp, mask, adv, old if has_old.any() else None, has_old)


def _slice(batch: GRPOBatch, rows: slice) -> GRPOBatch:
    old = None if batch.old_logprobs is None else batch.old_logprobs[rows]
    return GRPOBatch(batch.input_ids[rows], batch.attention_mask[rows], batch.position_ids[rows],
                     batch.completion_ids[rows], batch.loss_mask[rows], batch.advantages[rows], old,
                     batch.has_old[rows])


def completion_logprobs(model, batch: GRPOBatch, temperature: float = 1.0,
                        router_logits: bool = False) -> tuple[Any, Any]:
    """Per-token log-probs ``(B, C)`` of the completions, and the router aux loss (or None).

    Only the last ``C + 1`` positions get logits (``logits_to_keep``), and the log-softmax is
    taken one row at a time: GPT-OSS's 201k vocabulary makes full logits the memory peak.
    """
    import torch

    c = batch.completion_length
    device = next(model.parameters()).device
    kw: dict[str, Any] = dict(input_ids=batch.input_ids.to(device), attention_mask=batch.attention_mask.to(device),
                              position_ids=batch.position_ids.to(device), logits_to_keep=c + 1, use_cache=False)
    if router_logits:
        kw["output_router_logits"] = True
    out = model(**kw)
    logits = out.logits[:, :-1, :]
    if temperature != 1.0:
        logits = logits / temperature
    targets = batch.completion_ids.to(device)
    rows = []
    for row_logits, row_ids in zip(logits, targets):  # one row at a time bounds the peak memory
        row = row_logits.float()
        rows.append(row.gather(-1, row_ids.unsqueeze(-1)).squeeze(-1) - torch.logsumexp(row, dim=-1))
    aux = getattr(out, "aux_loss", None) if router_logits else None
    return torch.stack(rows), aux


def grpo_loss(logps, old_logps, advantages, mask, cfg: GRPOConfig, ref_logps=None,
              max_completion_length: int | None = None) -> tuple[Any, dict[str, float]]:
    """The clipped policy loss (pure torch; see the module docstring). Returns loss and metrics."""
    import torch

    if old_logps is None:
        old_logps = logps.detach()
    log_ratio = logps - old_logps
    tokens = mask.sum(-1)
    if cfg.importance_sampling == "token":
        log_w = log_ratio
    else:
        log_w = ((log_ratio * mask).sum(-1) / tokens.clamp(min=1.0)).unsqueeze(-1)
    w = torch.exp(log_w)
    eps_low = cfg.epsilon
    eps_high = cfg.epsilon if cfg.epsilon_high is None else cfg.epsilon_high
    w_clip = torch.clamp(w, 1 - eps_low, 1 + eps_high)
    per_token = -torch.min(w * advantages, w_clip * advantages)
    kl = None
    if cfg.beta != 0.0:
        if ref_logps is None:
            raise GRPOError("beta > 0 needs reference log-probs")
        d = ref_logps - logps
        kl = torch.exp(d) - d - 1
        per_token = per_token + cfg.beta * kl
    n_tokens = mask.sum()
    if cfg.loss_type == "grpo":
        loss = ((per_token * mask).sum(-1) / tokens.clamp(min=1.0)).mean()
    elif cfg.loss_type == "dr_grpo":
        length = max_completion_length or cfg.max_completion_length or logps.shape[1]
        loss = (per_token * mask).sum() / (logps.shape[0] * length)
    else:
        loss = (per_token * mask).sum() / n_tokens.clamp(min=1.0)
    with torch.no_grad():
        wm = w.expand_as(mask) if w.shape != mask.shape else w
        clipped = (((wm < 1 - eps_low) & (advantages < 0)) | ((wm > 1 + eps_high) & (advantages > 0))).float()
        denom = float(n_tokens.clamp(min=1.0))
        metrics = {
            "clip_ratio": float((clipped * mask).sum()) / denom,
            "ratio_mean": float((wm * mask).sum()) / denom,
            "model_tokens": float(n_tokens),
        }
        if kl is not None:
            metrics["kl"] = float((kl * mask).sum()) / denom
    return loss, metrics


def is_peft_model(model) -> bool:
    return hasattr(model, "disable_adapter") and hasattr(model, "peft_config")


class GRPOUpdater:
    """Holds the model, optimiser and (when ``beta > 0``) the reference; ``step(samples)`` updates.

    The reference: ``ref_model`` if given; else, for a peft model, the model with its adapter
    disabled; else a frozen deep copy of the model as it was at construction.
    """

    def __init__(self, model, cfg: GRPOConfig | None = None, ref_model=None, optimizer=None,
                 pad_id: int | None = None):
        import torch

        self.model = model
        self.cfg = cfg or GRPOConfig()
        self.cfg.validate()
        params = [p for p in model.parameters() if p.requires_grad]
        if not params:
            raise GRPOError("the model has no trainable parameters")
        self.optimizer = optimizer or torch.optim.AdamW(params, lr=self.cfg.learning_rate,
                                                        weight_decay=self.cfg.weight_decay)
        self.params = params
        config = getattr(model, "config", None)
        if pad_id is None:
            pad_id = getattr(config, "pad_token_id", None)
            pad_id = 0 if pad_id is None else int(pad_id)
        self.pad_id = pad_id
        coef = self.cfg.router_aux_loss_coef
        if coef is None:
            coef = float(getattr(config, "router_aux_loss_coef", 0.0) or 0.0) if hasattr(config, "num_local_experts") \
                or hasattr(config, "num_experts") else 0.0
        self.router_coef = coef
        self.ref_model = ref_model
        if self.cfg.beta != 0.0 and ref_model is None and not is_peft_model(model):
            self.ref_model = copy.deepcopy(model).eval()
            for p in self.ref_model.parameters():
                p.requires_grad_(False)
        self.steps = 0

    # -- pieces ------------------------------------------------------------------------------
    def _logps(self, batch: GRPOBatch, grad: bool, model=None, router: bool = False):
        import torch

        m = model or self.model
        if grad:
            return completion_logprobs(m, batch, self.cfg.temperature, router)
        with torch.no_grad():
            return completion_logprobs(m, batch, self.cfg.temperature, False)

    def reference_logprobs(self, batch: GRPOBatch):
        """Per-token log-probs under the reference (no grad)."""
        if self.ref_model is not None:
            return self._logps(batch, grad=False, model=self.ref_model)[0]
        if is_peft_model(self.model):
            with self.model.disable_adapter():
                return self._logps(batch, grad=False)[0]
        raise GRPOError("no reference model")

    def logprobs(self, samples: Sequence[GRPOSample]):
        """Current per-token log-probs (no grad), as a list of lists (for tests and eval)."""
        batch = collate(samples, self.pad_id)
        lp = self._logps(batch, grad=False)[0]
        return [lp[i, :len(s.completion_ids)].tolist() for i, s in enumerate(samples)]

    # -- the update --------------------------------------------------------------------------
    def step(self, samples: Sequence[GRPOSample]) -> dict[str, float]:
        """``num_iterations`` optimiser steps on ``samples``; returns averaged metrics."""
        import torch

        start = time.perf_counter()
        batch = collate(samples, self.pad_id)
        mb = self.cfg.micro_batch_size
        chunks = [slice(i, min(i + mb, len(samples))) for i in range(0, len(samples), mb)]
        # behaviour log-probs: the sampler's where given, else the current policy's (fixed now)
        old_parts, ref_parts = [], []
        need_old = self.cfg.num_iterations > 1 or batch.old_logprobs is None or not bool(batch.has_old.all())
        for ch in chunks:
            sub = _slice(batch, ch)
            if need_old:
                cur = self._logps(sub, grad=False)[0]
                if sub.old_logprobs is not None:
                    cur = torch.where(sub.has_old.unsqueeze(-1), sub.old_logprobs, cur)
                old_parts.append(cur)
            else:
                old_parts.append(sub.old_logprobs)
            if self.cfg.beta != 0.0:
                ref_parts.append(self.reference_logprobs(sub))
        self.model.train()
        length = self.cfg.max_completion_length or batch.completion_length
        total_tokens = float(batch.loss_mask.sum().clamp(min=1.0))
        metrics: dict[str, float] = {}
        for _ in range(self.cfg.num_iterations):
            self.optimizer.zero_grad(set_to_none=True)
            agg: dict[str, float] = {"loss": 0.0, "aux_loss": 0.0}
            for k, ch in enumerate(chunks):
                sub = _slice(batch, ch)
                logps, aux = self._logps(sub, grad=True, router=self.router_coef > 0)
                loss, m = grpo_loss(logps, old_parts[k], sub.advantages, sub.loss_mask, self.cfg,
                                    ref_parts[k] if ref_parts else None, length)
                # re-weight micro-batch losses so the sum equals the full-batch aggregation
                rows = ch.stop - ch.start
                if self.cfg.loss_type == "grpo" or self.cfg.loss_type == "dr_grpo":
                    scale = rows / len(samples)
                else:
                    scale = float(sub.loss_mask.sum()) / total_tokens
                total = loss * scale
                if aux is not None and self.router_coef > 0:
                    total = total + self.router_coef * aux * (rows / len(samples))
                    agg["aux_loss"] += float(aux.detach()) * rows / len(samples)
                total.backward()
                agg["loss"] += float(loss.detach()) * scale
                for key, val in m.items():
                    agg[key] = agg.get(key, 0.0) + val * rows / len(samples)
            if self.cfg.max_grad_norm:
                agg["grad_norm"] = float(torch.nn.utils.clip_grad_norm_(self.params, self.cfg.max_grad_norm))
            self.optimizer.step()
            self.steps += 1
            metrics = agg
        self.model.eval()
        metrics["step_time"] = time.perf_counter() - start
        adv = batch.advantages[:, 0]
        metrics["advantage_abs_mean"] = float(adv.abs().mean())
        return metrics


def samples_from_records(records: Sequence[dict[str, Any]]) -> list[GRPOSample]:
    """GRPO samples from dicts with ``prompt_ids, completion_ids, advantage`` (+ optional keys)."""
    out = []
    for i, r in enumerate(records):
        try:
            out.append(GRPOSample(list(r["prompt_ids"]), list(r["completion_ids"]), r["advantage"],
                                  r.get("env_mask"), r.get("old_logprobs"),
                                  {k: v for k, v in r.items() if k not in
                                   ("prompt_ids", "completion_ids", "advantage", "env_mask", "old_logprobs")}))
        except KeyError as e:
            raise GRPOError(f"record {i} has no {e.args[0]!r}") from None
    return out

