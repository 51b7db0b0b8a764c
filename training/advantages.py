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


def group_stats(values: np.ndarray, groups: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per entry: its group's mean, unbiased std and size over the non-NaN members (as
    :func:`group_advantages` uses them); NaN / 0 for entries in no group."""
    values = np.asarray(values, dtype=np.float64)
    groups = np.asarray(groups, dtype=np.int64)
    mean = np.full(values.shape, np.nan)
    std = np.full(values.shape, np.nan)
    size = np.zeros(values.shape, dtype=np.int64)
    ok = (groups >= 0) & ~np.isnan(values)
    if not ok.any():
        return mean, std, size
    n_groups = int(groups.max()) + 1
    g = groups[ok]
    cnt = np.bincount(g, minlength=n_groups).astype(np.float64)
    m = np.bincount(g, weights=values[ok], minlength=n_groups) / np.maximum(cnt, 1)
    dev = values[ok] - m[g]
    s = np.sqrt(np.bincount(g, weights=dev * dev, minlength=n_groups) / np.maximum(cnt - 1, 1))
    member = groups >= 0
    mean[member], std[member], size[member] = m[groups[member]], s[groups[member]], cnt[groups[member]]
    return mean, std, size


def relative_advantage(value: float, mean: float, std: float, size: int, scale: str = "grpo",
                       eps: float = 1e-4) -> float:
    """The advantage of ``value`` against a group's statistics (same formula as
    :func:`group_advantages`), for values that are not themselves group members (delegated frames).

    0 for groups of one and NaN values. ``grpo`` with ``std == 0`` (a group whose members all
    scored the same) falls back to the plain difference ``value - mean``: dividing by ``eps`` would
    blow a bounded reward difference up by 10⁴."""
    if scale not in SCALINGS:
        raise TreeError(f"unknown advantage scaling {scale!r}; expected one of {SCALINGS}")
    if size <= 1 or np.isnan(value) or np.isnan(mean):
        return 0.0
    dev = float(value) - float(mean)
    if scale == "grpo" and std > 0:
        return dev / (float(std) + eps)
    return dev
