"""The SFT mix: 60% single-agent / 25% multi-role / 15% delegation by default
(``configs/training_mix.yaml``), deterministic selection and shuffle, JSONL and ``datasets.Dataset``.

Counts: with ``total=None`` the largest total every pool can fill at its ratio without repeats;
per-kind counts by largest remainder (ties broken by kind order). Selection: each pool sorted by
``id``, shuffled with ``random.Random(f"{seed}:{kind}")``, first ``n`` taken (cycled when
``allow_repeats``); the union shuffled with ``random.Random(seed)``. Same inputs + seed -> same mix.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from cargogym.config import ConfigError
from cargogym.datagen.samples import KINDS, SampleError, sample_tokens, validate_sample


@dataclass
class MixConfig:
    ratios: dict[str, float] = field(default_factory=lambda: {"single_agent": 0.6, "multi_role": 0.25,
                                                               "delegation": 0.15})
    total: int | None = None
    allow_repeats: bool = False
    seed: int = 0
    require_resolved: bool = True
    validate: bool = True

    def __post_init__(self) -> None:
        bad = sorted(set(self.ratios) - set(KINDS))
        if bad:
            raise ConfigError(f"training mix: unknown kind(s) {bad} in ratios; kinds are {list(KINDS)}")
        if any(v < 0 for v in self.ratios.values()) or sum(self.ratios.values()) <= 0:
            raise ConfigError("training mix: ratios must be >= 0 with a positive sum")
        if self.total is not None and self.total < 0:
            raise ConfigError("training mix: total must be >= 0")


def load_mix_config(name_or_path: str = "training_mix", overrides: list[str] | None = None) -> MixConfig:
    from cargogym.config import load_config

    return load_config(MixConfig, name_or_path, overrides)


def mix_counts(available: dict[str, int], ratios: dict[str, float], total: int | None = None,
               allow_repeats: bool = False) -> dict[str, int]:
    """Samples to take per kind (see module docstring)."""
    s = sum(ratios.values())
    weights = {k: ratios.get(k, 0.0) / s for k in KINDS if ratios.get(k, 0.0) > 0}
    if total is None:
        total = min(int(math.floor(available.get(k, 0) / w + 1e-9)) for k, w in weights.items())
    raw = {k: total * w for k, w in weights.items()}
    counts = {k: int(math.floor(v)) for k, v in raw.items()}
    rest = total - sum(counts.values())
    for k in sorted(raw, key=lambda k: (-(raw[k] - counts[k]), KINDS.index(k)))[:rest]:
        counts[k] += 1
    if not allow_repeats:
        short = {k: (n, available.get(k, 0)) for k, n in counts.items() if n > available.get(k, 0)}
        if short:
            detail = ", ".join(f"{k}: need {n}, have {a}" for k, (n, a) in short.items())
            raise SampleError(f"not enough samples for a mix of {total} ({detail}); lower total or allow_repeats")
    for k in KINDS:
        counts.setdefault(k, 0)
    return counts


def build_mix(samples: Sequence[dict], cfg: MixConfig | None = None) -> tuple[list[dict], dict[str, Any]]:
    """The mixed, shuffled samples and a summary (available / taken per kind, dropped)."""
    cfg = cfg or MixConfig()
    pools: dict[str, list[dict]] = {k: [] for k in KINDS}
    dropped: dict[str, int] = {}
    seen: set[str] = set()
    for s in samples:
        why = None
        if s.get("kind") not in pools:
            why = "unknown kind"
        elif s["id"] in seen:
            why = "duplicate id"
        elif cfg.require_resolved and s.get("resolved") is False:
            why = "unresolved"
        else:
            try:
                if cfg.validate:
                    validate_sample(s)
            except SampleError:
                why = "does not parse back"
        if why:
            dropped[why] = dropped.get(why, 0) + 1
            continue
        seen.add(s["id"])
        pools[s["kind"]].append(s)
    available = {k: len(v) for k, v in pools.items()}
    counts = mix_counts(available, cfg.ratios, cfg.total, cfg.allow_repeats)
    chosen: list[dict] = []
    for k in KINDS:
        pool = sorted(pools[k], key=lambda s: s["id"])
        random.Random(f"{cfg.seed}:{k}").shuffle(pool)
        n = counts[k]
        if n and not pool:
            raise SampleError(f"no {k} samples for the mix")
        chosen += [pool[i % len(pool)] for i in range(n)]
    random.Random(cfg.seed).shuffle(chosen)
    summary = {"available": available, "taken": counts, "total": len(chosen), "dropped": dropped,
               "seed": cfg.seed}
    return chosen, summary


def dataset_is_tokenized(rows: Sequence[dict]) -> bool:
    """Token ids are only defined for Harmony samples: True when every row is Harmony."""
    return all(r.get("formatter", "harmony") == "harmony" for r in rows)


def to_dataset(rows: Sequence[dict], tokenized: bool | None = None):
    """A ``datasets.Dataset`` for TRL's SFTTrainer.

    ``tokenized=True`` (Harmony only): ``input_ids`` + ``assistant_masks`` (loss on the agent's
    tokens only; TRL folds the mask into ``labels``) plus ``id``/``kind``. ``False``: ``text``
    (language modelling on the rendered text) plus ``id``/``kind``. ``None`` (default): tokenized
    when every row is Harmony, else text (seed-dialect samples have no token ids).
    """
    from datasets import Dataset

    if tokenized is None:
        tokenized = dataset_is_tokenized(rows)
    if tokenized:
        other = sorted({str(r.get("formatter")) for r in rows if r.get("formatter", "harmony") != "harmony"})
        if other:
            raise SampleError(f"token ids are only defined for Harmony samples, but the mix holds {', '.join(other)} "
                              "samples; save them as text instead (tokenized=False, `data mix --text`)")
        cols: dict[str, list] = {"input_ids": [], "assistant_masks": [], "id": [], "kind": []}
        for r in rows:
            ids, mask = sample_tokens(r)
            cols["input_ids"].append(ids)
            cols["assistant_masks"].append(mask)
            cols["id"].append(r["id"])
            cols["kind"].append(r["kind"])
        return Dataset.from_dict(cols)
    return Dataset.from_dict({"text": [r["text"] for r in rows], "id": [r["id"] for r in rows],
                              "kind": [r["kind"] for r in rows]})
