"""MALT tree records: JSONL storage, value flow into the nodes, per-role SFT / DPO / GRPO exports."""

from __future__ import annotations

import json

import pytest

from cargogym.training.trees import (
    TreeFormatError,
    assign_values,
    delegation_credit,
    dpo_pairs,
    grpo_samples,
    make_node,
    read_trees,
    sft_sets,
    summarize,
    write_trees,
)


def _msgs(role: str, text: str) -> list[dict]:
    return [{"role": "system", "content": "sys"}, {"role": "developer", "content": role},
            {"role": "user", "content": "fix it"},
            {"role": "assistant", "content": text, "channel": "final"}]


def _tree(tree_id: str, leaf_rewards: list[float]) -> dict:
    """task → 2 generators → 1 verifier each → 2 refiners each (4 leaves)."""
    nodes = [make_node(0, -1, None, sample=False)]
    for g in range(2):
        gid = len(nodes)
        nodes.append(make_node(gid, 0, "generator", messages=_msgs("gen", f"g{g}"), prompt_len=3,
                               turns=[{"prompt_ids": [1, 2, 3], "completion_ids": [10 + g, 11], "logprobs": [-1.0, -2.0]}]))
        vid = len(nodes)
        nodes.append(make_node(vid, gid, "verifier", messages=_msgs("ver", f"v{g}"), prompt_len=3))
        for r in range(2):
            rid = len(nodes)
            nodes.append(make_node(rid, vid, "refiner", reward=leaf_rewards[2 * g + r],
                                   messages=_msgs("ref", f"r{g}{r}"), prompt_len=3,
                                   turns=[{"prompt_ids": [4, 5], "completion_ids": [20 + r], "logprobs": None}]))
    return {"tree_id": tree_id, "instance_id": f"task-{tree_id}", "nodes": nodes}


def test_jsonl_round_trip_and_values(tmp_path):
    trees = [_tree("a", [1.0, 1.0, 0.0, 1.0]), _tree("b", [0.0, 0.0, 0.0, 0.0])]
    path = tmp_path / "trees.jsonl"
    assert write_trees(path, trees) == 2
    back = read_trees(path)
    assert back == trees
    tv = assign_values(back)
    a = back[0]["nodes"]
    # generator 1 (node 1): refiners 1, 1 → 1.0; generator 2 (node 5): refiners 0, 1 → 0.5
    assert [a[i]["value"] for i in (1, 2, 5, 6)] == [1.0, 1.0, 0.5, 0.5]
    assert a[0]["value"] == pytest.approx(0.75)
    assert a[1]["advantage"] > 0 > a[5]["advantage"]
    assert a[1]["advantage"] == pytest.approx(-a[5]["advantage"])
    assert all(n["advantage"] == 0.0 for n in back[1]["nodes"])   # all-zero tree: no signal
    s = summarize(back)
    assert s["roles"]["refiner"] == {"nodes": 8, "mean_value": 0.375, "correct": 3}
    assert tv.forest.size == 18


def test_sft_dpo_and_grpo_exports():
    trees = [_tree("a", [1.0, 1.0, 0.0, 1.0])]
    tv = assign_values(trees)
    sft = sft_sets(tv)
    assert [r["node_id"] for r in sft["generator"]] == [1]
    assert [r["node_id"] for r in sft["refiner"]] == [3, 4, 8]
    assert "verifier" in sft and sft["verifier"][0]["messages"][-1]["content"] == "v0"
    pairs = dpo_pairs(tv)
    assert [(p["chosen_node"], p["rejected_node"]) for p in pairs["generator"]] == [(1, 5)]
    assert [(p["chosen_node"], p["rejected_node"]) for p in pairs["refiner"]] == [(8, 7)]
    p = pairs["refiner"][0]
    assert p["prompt"] == _msgs("ref", "")[:3]
    assert p["chosen"][0]["content"] == "r11" and p["rejected"][0]["content"] == "r10"
    samples = grpo_samples(tv)
    # generators 1 and 5 (±) and refiners 7, 8 (±); refiners 3, 4 tie → skipped; verifiers have no turns
    assert sorted((s["node_id"], s["advantage"] > 0) for s in samples) == [(1, True), (5, False), (7, False), (8, True)]
    gen = next(s for s in samples if s["node_id"] == 1)
    assert gen["old_logprobs"] == [-1.0, -2.0] and gen["completion_ids"] == [10, 11]
    assert "old_logprobs" not in next(s for s in samples if s["node_id"] == 7)
    assert len(grpo_samples(tv, roles=["refiner"])) == 2


def test_infra_error_leaves_are_missing_not_zero():
    t = _tree("a", [1.0, 0.0, 0.0, 0.0])
    t["nodes"][4]["status"] = "infra_error"          # the 0.0 sibling of generator 1's refiners
    assign_values([t])
    assert t["nodes"][2]["value"] == 1.0             # mean over the one graded refinement
    assert t["nodes"][4]["advantage"] == 0.0


def test_bad_tree_files_name_the_line(tmp_path):
    path = tmp_path / "bad.jsonl"
    good = json.dumps(_tree("a", [1, 0, 0, 1]))
    path.write_text(good + "\n{not json\n")
    with pytest.raises(TreeFormatError, match="bad.jsonl:2"):
        read_trees(path)
    t = _tree("a", [1, 0, 0, 1])
    t["nodes"][3]["parent"] = 99
    path.write_text(json.dumps(t) + "\n")
    with pytest.raises(TreeFormatError, match="node 3 has parent 99"):
        read_trees(path)
    with pytest.raises(FileNotFoundError):
        read_trees(tmp_path / "missing.jsonl")


def test_delegation_credit_flows_to_the_delegate_call():
    traj = {
        "reward": 1.0, "rewards_by_role": {"coder": 1.0},
        "frames": [
            {"frame_id": 0, "parent_id": None, "role": "agent", "parent_turn_id": None},
            {"frame_id": 1, "parent_id": 0, "role": "coder", "parent_turn_id": 2, "reward": 0.0},
            {"frame_id": 2, "parent_id": 0, "role": "coder", "parent_turn_id": 5, "reward": 1.0},
        ],
        "turns": [{"turn_id": i, "frame_id": f, "role": "agent" if f == 0 else "coder"}
                  for i, f in enumerate([0, 0, 0, 1, 1, 0, 2, 0])],
    }
    assert delegation_credit(traj) == {2: 0.0, 5: 1.0}
    del traj["frames"][1]["reward"]                   # no per-frame reward: the role's reward
    assert delegation_credit(traj) == {2: 1.0, 5: 1.0}
    assert delegation_credit({"frames": [{"frame_id": 0, "parent_id": None, "role": "agent"}], "turns": []}) == {}
