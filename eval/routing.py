"""Expert routing per role, from HFPolicy's ``router`` records.

An episode's ``router`` is ``{role: [[count of tokens routed to expert e] for each layer]}``.
Over a run, counts are summed per role; the *load* of a role is, per layer, the share of that
role's routed tokens each expert received (each layer's row sums to 1).

Role divergence: for two roles, the Jensen–Shannon divergence (base 2, so in [0, 1]) between
their loads, averaged over layers; ``routing_role_divergence`` is the mean over all role pairs.
0 = every role uses the experts identically; 1 = roles use disjoint experts. Its bootstrap
resamples episodes (see :mod:`cargogym.eval.bootstrap`).

Episodes whose router shape (layers × experts) differs from the run's most common shape are
skipped and counted, never guessed at.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any

import numpy as np

from cargogym.eval.bootstrap import Sample


@dataclass
class RouterData:
    roles: list[str]                       # sorted
    counts: np.ndarray                     # (episodes, roles, layers, experts)
    skipped: int = 0                       # episodes with a malformed or odd-shaped router record
    notes: list[str] = field(default_factory=list)

    @property
    def n_episodes(self) -> int:
        return int(self.counts.shape[0])


def _role_matrix(x: Any) -> np.ndarray | None:
    try:
        arr = np.asarray(x, dtype=float)
    except (TypeError, ValueError):
        return None
    if arr.ndim != 2 or arr.size == 0 or not np.all(np.isfinite(arr)) or np.any(arr < 0):
        return None
    return arr


def collect(episodes: list[dict[str, Any]]) -> RouterData | None:
    """Per-episode router counts stacked into one array; None when no episode has router data."""
    parsed: list[dict[str, np.ndarray]] = []
    bad = 0
    for ep in episodes:
        router = ep.get("router")
        if router is None:
            continue
        if not isinstance(router, dict) or not router:
            bad += 1
            continue
        mats = {r: _role_matrix(m) for r, m in router.items() if isinstance(r, str)}
        if not mats or any(m is None for m in mats.values()):
            bad += 1
            continue
        if len({m.shape for m in mats.values()}) != 1:
            bad += 1
            continue
        parsed.append(mats)  # type: ignore[arg-type]
    if not parsed:
        return None
    shape = Counter(next(iter(p.values())).shape for p in parsed).most_common(1)[0][0]
    kept = [p for p in parsed if next(iter(p.values())).shape == shape]
    bad += len(parsed) - len(kept)
    roles = sorted({r for p in kept for r in p})
    counts = np.zeros((len(kept), len(roles), *shape))
    for i, p in enumerate(kept):
        for j, r in enumerate(roles):
            if r in p:
                counts[i, j] = p[r]
    data = RouterData(roles, counts, skipped=bad)
    if bad:
        data.notes.append(f"{bad} episode router record(s) malformed or of another shape; skipped")
    return data


def loads(totals: np.ndarray) -> np.ndarray:
    """Per-layer expert shares from summed counts ``(..., layers, experts)``; nan rows where a layer saw no tokens."""
    s = totals.sum(axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(s > 0, totals / np.where(s > 0, s, 1.0), np.nan)


def js_divergence(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Jensen–Shannon divergence (base 2) along the last axis of two distributions."""
    m = 0.5 * (p + q)

    def kl(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        with np.errstate(invalid="ignore", divide="ignore"):
            terms = np.where(a > 0, a * np.log2(np.where(a > 0, a, 1.0) / np.where(b > 0, b, 1.0)), 0.0)
        return terms.sum(axis=-1)

    out = 0.5 * kl(p, m) + 0.5 * kl(q, m)
    bad = np.isnan(p).any(axis=-1) | np.isnan(q).any(axis=-1)
    return np.where(bad, np.nan, np.clip(out, 0.0, 1.0))


def pairwise_divergence(load: np.ndarray, roles: list[str]) -> dict[str, float | None]:
    """``"a|b"`` → mean over layers of JS(load[a], load[b]) for ``load`` of shape (roles, layers, experts)."""
    out: dict[str, float | None] = {}
    for i, j in combinations(range(len(roles)), 2):
        js = js_divergence(load[i], load[j])
        v = float(np.nanmean(js)) if np.isfinite(js).any() else None
        out[f"{roles[i]}|{roles[j]}"] = v
    return out


def divergence_sample(data: RouterData) -> Sample:
    """Mean pairwise role divergence as a bootstrap statistic of episode weights."""
    e, r, layers, x = data.counts.shape
    flat = data.counts.reshape(e, -1)
    pairs = list(combinations(range(r), 2))

    def stat(w: np.ndarray) -> np.ndarray:
        load = loads((w @ flat).reshape(w.shape[0], r, layers, x))
        if not pairs:
            return np.full(w.shape[0], np.nan)
        js = np.stack([js_divergence(load[:, i], load[:, j]) for i, j in pairs], axis=1)  # (B, pairs, L)
        with np.errstate(invalid="ignore"):
            finite = np.isfinite(js)
            total = np.where(finite, js, 0.0).sum(axis=(1, 2))
            cnt = finite.sum(axis=(1, 2))
            return np.where(cnt > 0, total / np.maximum(cnt, 1), np.nan)

    return Sample(e, stat)


def normalized_entropy(load: np.ndarray) -> np.ndarray:
    """Entropy of each layer's load divided by log(experts): 1 = perfectly balanced."""
    x = load.shape[-1]
    if x < 2:
        return np.full(load.shape[:-1], np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        h = -np.where(load > 0, load * np.log(np.where(load > 0, load, 1.0)), 0.0).sum(axis=-1)
    return np.where(np.isnan(load).any(axis=-1), np.nan, h / np.log(x))


def summary(data: RouterData) -> dict[str, Any]:
    """JSON-ready routing summary: per-role per-layer load, balance, tokens, and pairwise divergence."""
    totals = data.counts.sum(axis=0)  # (roles, layers, experts)
    load = loads(totals)
    ent = normalized_entropy(load)
    per_role = {}
    for j, role in enumerate(data.roles):
        per_role[role] = {
            "episodes": int((data.counts[:, j].sum(axis=(1, 2)) > 0).sum()),
            "tokens_routed": float(totals[j].sum()),
            "load": [[None if np.isnan(v) else round(float(v), 6) for v in row] for row in load[j]],
            "balance_per_layer": [None if np.isnan(v) else round(float(v), 6) for v in ent[j]],
            "max_expert_share": None if np.isnan(load[j]).all() else float(np.nanmax(load[j])),
        }
    return {
        "layers": int(data.counts.shape[2]),
        "experts": int(data.counts.shape[3]),
        "episodes": data.n_episodes,
        "skipped": data.skipped,
        "roles": per_role,
        "pairwise_divergence": pairwise_divergence(load, data.roles),
    }
