"""Group-relative advantages (GRPO, arXiv 2402.03300; Dr. GRPO, arXiv 2503.20783).

A group is k samples of the same prompt (in a MALT tree: the sample children of one node).
``grpo``: ``A = (V - mean(group)) / (std(group) + eps)``; ``dr_grpo``: ``A = V - mean(group)``
(no std scaling, which biases towards easy/hard groups). ``std`` is the unbiased sample std
(ddof=1), as TRL computes it; groups of one sample get advantage 0. NaN values (missing) are
left out of their group's statistics and get advantage 0.
"""

from __future__ import annotations

import numpy as np

from cargogym.training.values import Forest, TreeError, group_ids

SCALINGS = ("grpo", "dr_grpo")


def group_advantages(values: np.ndarray, groups: np.ndarray, scale: str = "grpo",
                     eps: float = 1e-4) -> np.ndarray:
    """Advantage per entry; ``groups[i]`` is entry i's group id (>= 0), -1 for none (→ 0)."""
    if scale not in SCALINGS:
        raise TreeError(f"unknown advantage scaling {scale!r}; expected one of {SCALINGS}")
    values = np.asarray(values, dtype=np.float64)
    groups = np.asarray(groups, dtype=np.int64)
    if values.shape != groups.shape:
        raise TreeError(f"values {values.shape} and groups {groups.shape} differ in shape")
    ok = (groups >= 0) & ~np.isnan(values)
    out = np.zeros_like(values)
    if not ok.any():
        return out
    g = groups[ok]
    v = values[ok]
    n_groups = int(g.max()) + 1
    cnt = np.bincount(g, minlength=n_groups).astype(np.float64)
    mean = np.bincount(g, weights=v, minlength=n_groups) / np.maximum(cnt, 1)
    dev = v - mean[g]
    if scale == "grpo":
        var = np.bincount(g, weights=dev * dev, minlength=n_groups) / np.maximum(cnt - 1, 1)
        denom = np.sqrt(var)[g] + eps
        with np.errstate(invalid="ignore", divide="ignore"):
            adv = np.where(denom > 0, dev / denom, 0.0)
    else:
        adv = dev
    adv = np.where(cnt[g] > 1, adv, 0.0)
    out[ok] = adv
    return out


def tree_advantages(forest: Forest, values: np.ndarray, scale: str = "grpo",
                    eps: float = 1e-4) -> np.ndarray:
    """Advantages of every node against its sample siblings (0 for roots / structural nodes)."""
    return group_advantages(values, group_ids(forest), scale=scale, eps=eps)
