"""Value iteration, pairs, SFT sets and advantages checked against hand-computed trees."""

from __future__ import annotations

import math

import numpy as np
import pytest

from cargogym.training.advantages import group_advantages, tree_advantages
from cargogym.training.values import (
    Forest,
    TreeError,
    binarise,
    preference_pairs,
    pairs_by_role,
    sft_indices,
    value_iteration,
)

NAN = float("nan")

# 0 task
# ├─1 gen ─┬─3 ver ─┬─6 ref r=1
# │        │        └─7 ref r=0
# │        └─4 ver ───8 ref r=1
# └─2 gen ───5 ver r=0        (a leaf one level up: any depth per branch)
UNEVEN = dict(
    parent=[-1, 0, 0, 1, 1, 2, 3, 3, 4],
    reward=[NAN, NAN, NAN, NAN, NAN, 0, 1, 0, 1],
    role=[None, "generator", "generator", "verifier", "verifier", "verifier", "refiner", "refiner", "refiner"],
)


def uneven() -> Forest:
    return Forest.from_parents(**UNEVEN)


def test_mean_values_match_hand_computation():
    v = value_iteration(uneven(), "mean")
    expected = [0.375, 0.75, 0.0, 0.5, 1.0, 0.0, 1.0, 0.0, 1.0]
    np.testing.assert_allclose(v, expected)


def test_max_values_match_hand_computation():
    v = value_iteration(uneven(), "max")
    np.testing.assert_allclose(v, [1.0, 1.0, 0.0, 1.0, 1.0, 0.0, 1.0, 0.0, 1.0])


def test_softmax_values_match_hand_computation():
    tau = 0.5
    v = value_iteration(uneven(), "softmax", temperature=tau)

    def sm(xs):
        w = [math.exp(x / tau) for x in xs]
        return sum(wi * x for wi, x in zip(w, xs)) / sum(w)

    v3 = sm([1.0, 0.0])
    v1 = sm([v3, 1.0])
    v0 = sm([v1, 0.0])
    np.testing.assert_allclose(v[[3, 4, 1, 2, 0]], [v3, 1.0, v1, 0.0, v0])
    assert v1 > 0.75  # softmax sits between mean and max


def test_full_malt_tree_27_leaves():
    # leaf i is correct iff i % 3 == 0 or i >= 18: generator 2's subtree is all correct
    leaves = np.array([1.0 if (i % 3 == 0 or i >= 18) else 0.0 for i in range(27)])
    f = Forest.full_tree(3, leaves)
    assert f.size == 40
    v = value_iteration(f)
    gens, vers = np.arange(1, 4), np.arange(4, 13)
    np.testing.assert_allclose(v[vers], [1 / 3] * 6 + [1.0] * 3)
    np.testing.assert_allclose(v[gens], [1 / 3, 1 / 3, 1.0])
    np.testing.assert_allclose(v[0], (1 / 3 + 1 / 3 + 1) / 3)
    sft = sft_indices(f, v)
    assert sft["generator"].tolist() == [3]
    assert sft["verifier"].tolist() == [10, 11, 12]
    assert len(sft["refiner"]) == int(leaves.sum())
    pairs = pairs_by_role(f, preference_pairs(f, v))
    # generator: 3 beats 1 and 2; verifiers: none differ across the 0.5 line within a parent
    assert sorted(map(tuple, pairs["generator"].tolist())) == [(3, 1), (3, 2)]
    assert len(pairs["verifier"]) == 0
    # refiner: 6 groups with one correct of three → 2 pairs each; 3 groups all correct → 0
    assert len(pairs["refiner"]) == 12


def test_branching_per_level_and_depth():
    f = Forest.full_tree([2, 1, 4, 2], np.arange(16) % 2, roles=("a", "b", "c", "d"))
    v = value_iteration(f)
    assert f.depth().max() == 4
    np.testing.assert_allclose(v[0], 0.5)
    assert set(sft_indices(f, v)) == {"a", "b", "c", "d"}


def test_sibling_pairs_and_threshold():
    f = uneven()
    v = value_iteration(f)
    pairs = {tuple(p) for p in preference_pairs(f, v).tolist()}
    assert pairs == {(1, 2), (4, 3), (6, 7)}  # V3 = 0.5 is not above the threshold
    assert binarise(v, 0.5).tolist() == [False, True, False, False, True, False, True, False, True]
    pairs_low = {tuple(p) for p in preference_pairs(f, v, threshold=0.4).tolist()}
    assert (4, 3) not in pairs_low and (1, 2) in pairs_low
    pairs_margin = {tuple(p) for p in preference_pairs(f, v, margin=0.5).tolist()}
    assert pairs_margin == {(1, 2), (4, 3), (6, 7)}


def test_missing_leaves_are_left_out():
    f = Forest.from_parents([-1, 0, 0, 0, 1, 1, 2, 2], [NAN, NAN, NAN, 0.0, 1.0, NAN, NAN, NAN],
                            ["t", "g", "g", "g", "r", "r", "r", "r"])
    v = value_iteration(f)
    assert v[1] == 1.0          # mean over the one graded child
    assert np.isnan(v[2])       # all children missing → missing
    assert v[0] == pytest.approx(0.5)   # mean of v1=1 and v3=0, v2 left out
    adv = tree_advantages(f, v)
    assert adv[2] == 0.0
    assert {tuple(p) for p in preference_pairs(f, v).tolist()} == {(1, 3)}


def test_delegation_value_flows_into_tool_call():
    # 0 frame (fixed reward 1) with two delegate tool calls 1 and 2 → child frames 3 (0.0) and 4 (1.0)
    f = Forest.from_parents(
        parent=[-1, 0, 0, 1, 2], reward=[1.0, NAN, NAN, 0.0, 1.0],
        role=["coder", "coder", "coder", "coder", "coder"],
        sample=[False] * 5, fixed=[True, False, False, True, True],
    )
    v = value_iteration(f)
    np.testing.assert_allclose(v, [1.0, 0.0, 1.0, 0.0, 1.0])
    assert len(preference_pairs(f, v)) == 0          # structural siblings are never compared
    assert tree_advantages(f, v).tolist() == [0.0] * 5


def test_concat_and_tile_equal_per_tree_values():
    a = uneven()
    b = Forest.full_tree(2, [1.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 0.0])
    both = Forest.concat([a, b, a])
    v = value_iteration(both)
    np.testing.assert_allclose(v, np.concatenate([value_iteration(a), value_iteration(b), value_iteration(a)]))
    assert both.tree_index().tolist() == [0] * 9 + [1] * 15 + [2] * 9
    rewards = np.where(np.isnan(b.reward), np.nan, 1.0)[None, :].repeat(4, 0)
    rewards[2, b.is_leaf()] = 0.0
    tiled = b.tile(4, rewards)
    vt = value_iteration(tiled)
    roots = np.flatnonzero(tiled.parent < 0)
    assert vt[roots].tolist() == [1.0, 1.0, 0.0, 1.0]


def test_advantages_hand_computed():
    v = np.array([1.0, 0.0, 0.0, 0.5, 0.5, 7.0])
    g = np.array([0, 0, 0, 1, 1, -1])
    std = math.sqrt(((2 / 3) ** 2 + 2 * (1 / 3) ** 2) / 2)  # unbiased
    np.testing.assert_allclose(group_advantages(v, g, "grpo", eps=0.0)[:3],
                               [(2 / 3) / std, -(1 / 3) / std, -(1 / 3) / std])
    np.testing.assert_allclose(group_advantages(v, g, "dr_grpo"), [2 / 3, -1 / 3, -1 / 3, 0, 0, 0])
    assert group_advantages(v, g)[3:].tolist() == [0.0, 0.0, 0.0]  # equal values / no group


@pytest.mark.parametrize("parent, message", [
    ([-1, 5], "outside"),
    ([1, 0], "cycle"),
    ([-1, 1], "own parent"),
])
def test_bad_trees_raise_clear_errors(parent, message):
    with pytest.raises(TreeError, match=message):
        Forest.from_parents(parent)


def test_unknown_operator():
    with pytest.raises(TreeError, match="operator"):
        value_iteration(uneven(), "median")
