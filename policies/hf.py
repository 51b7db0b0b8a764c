"""HFPolicy: any transformers causal LM, first of all GPT-OSS (``GptOssForCausalLM``, MoE).

- ``HFPolicy.from_config("configs/policies/tiny-gpt-oss.yaml")`` builds a tiny randomly initialised
  GPT-OSS of the real architecture (experts with top-k routing, attention sinks, sliding window)
  for CPU tests and the demo.
- ``HFPolicy.from_pretrained(path)`` (``make_policy("hf:PATH")``) loads a local checkpoint; when
  the checkpoint's config says ``quantization_config.quant_method == "mxfp4"`` (gpt-oss-20b) the
  weights are dequantised to bf16 (``Mxfp4Config(dequantize=True)``); other checkpoints load as saved.

Prompts are rendered with openai-harmony (``cargogym.harmony.render.render_prompt``) so the token
ids are exactly what gpt-oss-20b sees. ``generate`` samples a batch with left padding and returns,
per conversation, the completion token ids as produced (never re-rendered: GRPO needs the same
ids), their log-probabilities under the model at temperature 1, and — when ``record_router`` is on
— per-layer expert counts over the completion tokens, which eval/ reports as expert load per role.

Router decisions are read with forward hooks on the ``*TopKRouter`` modules, not with
``output_router_logits``: ``generate`` does not return router logits (they exist per forward
call, for the auxiliary loss), and counting from logits would re-derive the top-k the router
already took. A hook sees every forward of cached generation — the prefill, then one call per
decoded token — and its output holds the expert indices actually used, so each completion
token's routing is counted exactly (see ``_router_counts``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from cargogym.policies.base import Completion, Sampling

# Harmony special tokens (ids equal openai-harmony's o200k_harmony encoding).
RETURN_ID = 200002
CALL_ID = 200012
END_ID = 200007
PAD_ID = 199999  # <|endoftext|>
STOP_IDS = (RETURN_ID, CALL_ID)

DEFAULT_TINY_CONFIG = Path(__file__).resolve().parent.parent / "configs" / "policies" / "tiny-gpt-oss.yaml"


def build_tiny_gpt_oss(config_path: str | Path = DEFAULT_TINY_CONFIG, seed: int | None = None):
    """A randomly initialised ``GptOssForCausalLM`` from a YAML config (see configs/policies/)."""
    import torch
    from transformers import GptOssConfig, GptOssForCausalLM

    spec = yaml.safe_load(Path(config_path).read_text())
    model_kwargs = dict(spec.get("model", {}))
    cfg = GptOssConfig(**model_kwargs)
    cfg._attn_implementation = spec.get("attn_implementation", "eager")
    torch.manual_seed(spec.get("seed", 0) if seed is None else seed)
    model = GptOssForCausalLM(cfg)
    dtype = getattr(torch, spec.get("dtype", "float32"))
    return model.to(dtype).eval()


def quant_method(config: Any) -> str | None:
    """``quantization_config.quant_method`` of a transformers config (object or dict), or None."""
    q = config.get("quantization_config") if isinstance(config, dict) else getattr(config, "quantization_config", None)
    if q is None:
        return None
    method = q.get("quant_method") if isinstance(q, dict) else getattr(q, "quant_method", None)
    return str(getattr(method, "value", method)).lower() if method is not None else None


def load_kwargs(config: Any, dtype: str = "bfloat16", dequantize_mxfp4: bool = True, cuda: bool = False) -> dict[str, Any]:
    """``from_pretrained`` keyword arguments for a checkpoint with ``config``: its dtype, local files
    only, ``Mxfp4Config(dequantize=True)`` only for an MXFP4 checkpoint, ``device_map="auto"`` on GPU."""
    import torch
    import transformers
    from packaging.version import Version

    dtype_key = "dtype" if Version(transformers.__version__) >= Version("4.56") else "torch_dtype"
    kw: dict[str, Any] = {dtype_key: getattr(torch, dtype), "local_files_only": True}
    if dequantize_mxfp4 and quant_method(config) == "mxfp4":
        from transformers import Mxfp4Config

        kw["quantization_config"] = Mxfp4Config(dequantize=True)
    if cuda:
        kw["device_map"] = "auto"
    return kw


class HFPolicy:
    """Batched sampling from a transformers causal LM over Harmony-rendered prompts."""

    def __init__(self, model, name: str = "hf", device: str | None = None, record_router: bool = True,
                 max_prompt_tokens: int = 8192, cpu_threads: int | None = 1):
        import torch

        if cpu_threads and not torch.cuda.is_available():
            # On a small shared CPU (Ray workers run cargo beside the driver) one intra-op thread is
            # ~3.5x faster for the tiny model than two contending ones (measured on 2 cores).
            torch.set_num_threads(cpu_threads)

        self.model = model
        self.name = name
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        self.model.to(self.device)
        self.record_router = record_router
        self.max_prompt_tokens = max_prompt_tokens
        self._router_modules = self._find_routers()

    # -- construction ------------------------------------------------------------------------
    @classmethod
    def from_config(cls, config_path: str | Path = DEFAULT_TINY_CONFIG, seed: int | None = None, **kw) -> "HFPolicy":
        return cls(build_tiny_gpt_oss(config_path, seed=seed), name=kw.pop("name", "tiny-gpt-oss"), **kw)

    @classmethod
    def from_pretrained(cls, path: str | Path, dtype: str = "bfloat16", dequantize_mxfp4: bool = True, **kw) -> "HFPolicy":
        """Load a local checkpoint (e.g. gpt-oss-20b). Needs the weights on disk; no hub access."""
        import torch
        from transformers import AutoConfig, AutoModelForCausalLM

        from cargogym.errors import CargogymError

        if not Path(path).is_dir():
            raise CargogymError(f"hf:{path}: not a directory holding a transformers checkpoint (config.json + weights)")
        try:
            config = AutoConfig.from_pretrained(str(path), local_files_only=True)
        except (OSError, ValueError) as e:
            raise CargogymError(f"hf:{path}: cannot read the checkpoint's config: {e}") from e
        load_kw = load_kwargs(config, dtype, dequantize_mxfp4, cuda=torch.cuda.is_available())
        model = AutoModelForCausalLM.from_pretrained(str(path), **load_kw).eval()
        return cls(model, name=kw.pop("name", f"hf:{Path(path).name}"), **kw)

    # -- router recording --------------------------------------------------------------------
    def _find_routers(self) -> list:
        return [m for n, m in self.model.named_modules() if type(m).__name__.endswith("TopKRouter")]

    @property
    def num_layers_with_router(self) -> int:
        return len(self._router_modules)

    # -- generation --------------------------------------------------------------------------
    def encode_prompt(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None) -> list[int]:
        from cargogym.harmony.render import render_prompt

        ids = render_prompt(messages, tools or [])
        if len(ids) > self.max_prompt_tokens:  # keep the head (system/developer/task) and the tail
            head = self.max_prompt_tokens // 4
            ids = ids[:head] + ids[-(self.max_prompt_tokens - head):]
        return ids

    def generate(self, conversations, sampling: Sampling, tools=None) -> list[Completion]:
        tools = tools or [None] * len(conversations)
        prompts = [self.encode_prompt(c, t) for c, t in zip(conversations, tools)]
        return self.generate_from_ids(prompts, sampling)

    def generate_from_ids(self, prompts: list[list[int]], sampling: Sampling) -> list[Completion]:
        import torch

        if not prompts:
            return []
        width = max(len(p) for p in prompts)
        input_ids = torch.full((len(prompts), width), PAD_ID, dtype=torch.long)
        attention = torch.zeros((len(prompts), width), dtype=torch.long)
        for i, p in enumerate(prompts):  # left padding
            input_ids[i, width - len(p):] = torch.tensor(p, dtype=torch.long)
            attention[i, width - len(p):] = 1
        input_ids, attention = input_ids.to(self.device), attention.to(self.device)

        calls: list[list[torch.Tensor]] = [[] for _ in self._router_modules]
        hooks = []
        if self.record_router:
            for li, module in enumerate(self._router_modules):
                hooks.append(module.register_forward_hook(
                    lambda _m, _inp, out, li=li: calls[li].append(out[2].detach().to("cpu"))))
        if sampling.seed is not None:
            torch.manual_seed(sampling.seed)
        do_sample = sampling.temperature > 0
        gen_kw: dict[str, Any] = dict(
            max_new_tokens=sampling.max_new_tokens, do_sample=do_sample, pad_token_id=PAD_ID,
            eos_token_id=list(STOP_IDS), return_dict_in_generate=True, output_logits=True,
        )
        if do_sample:
            gen_kw.update(temperature=sampling.temperature, top_p=sampling.top_p, top_k=0)
        try:
            with torch.no_grad():
                out = self.model.generate(input_ids=input_ids, attention_mask=attention, **gen_kw)
        finally:
            for h in hooks:
                h.remove()

        new_tokens = out.sequences[:, width:].to("cpu")
        logits = torch.stack(out.logits, dim=1).float().to("cpu")  # (batch, steps, vocab)
        logp = torch.log_softmax(logits, dim=-1).gather(-1, new_tokens.unsqueeze(-1)).squeeze(-1)
        completions = []
        for i in range(len(prompts)):
            ids = new_tokens[i].tolist()
            n = len(ids)
            finish = "length"
            for j, t in enumerate(ids):
                if t in STOP_IDS:
                    n, finish = j + 1, "stop"
                    break
            ids = ids[:n]
            router = self._router_counts(calls, i, len(prompts), n) if self.record_router else None
            completions.append(Completion(
                text=self._decode(ids), token_ids=ids, logprobs=logp[i, :n].tolist(),
                prompt_ids=prompts[i], router=router, finish_reason=finish,
            ))
        return completions

    def _router_counts(self, calls, row: int, batch: int, n_tokens: int) -> list[list[int]] | None:
        """Expert counts per layer over the completion tokens of one row (decode steps only)."""
        num_experts = getattr(self.model.config, "num_local_experts", None)
        if not num_experts or not calls or not calls[0]:
            return None
        counts = []
        for layer_calls in calls:
            c = [0] * num_experts
            # call 0 is the prompt prefill; call k (k >= 1) decodes completion token k.
            # completion token 0 is produced by the prefill's last position, which routes the
            # prompt's last token; its own routing happens in call 1, so tokens 0..n-2 map to calls 1..n-1.
            for step in range(1, min(n_tokens, len(layer_calls))):
                idx = layer_calls[step].view(batch, -1)[row]
                for e in idx.tolist():
                    c[e] += 1
            counts.append(c)
        return counts

    def _decode(self, ids: list[int]) -> str:
        from cargogym.harmony.render import decode

        return decode(ids)
