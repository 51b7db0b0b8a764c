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


def _delegating_tree(child_reward: float) -> dict:
    """task → 2 generators (leaves, rewards 1 and 0); generator 1's episode delegated once:
    turns 0 (read, root), 1 (delegate_subtask, root) → frame 1 (turn 2), then 3 (submit, root)."""
    def turn(tid, frame, tool, cid):
        return {"turn_id": tid, "frame_id": frame, "tool": tool, "prompt_ids": [1, 2, tid], "completion_ids": [cid],
                "logprobs": None}

    nodes = [make_node(0, -1, None, sample=False)]
    turns = [turn(0, 0, "read_file", 30), turn(1, 0, "delegate_subtask", 31), turn(2, 1, "apply_patch", 32),
             turn(3, 0, "submit", 33)]
    delegation = {"reward": 1.0, "rewards_by_role": {"coder": 1.0},
                  "frames": [{"frame_id": 0, "parent_id": None, "role": "coder", "parent_turn_id": None},
                             {"frame_id": 1, "parent_id": 0, "role": "coder", "parent_turn_id": 1,
                              "reward": child_reward}],
                  "turns": [{k: t[k] for k in ("turn_id", "frame_id", "tool")} for t in turns]}
    nodes.append(make_node(1, 0, "generator", reward=1.0, turns=turns, delegation=delegation))
    nodes.append(make_node(2, 0, "generator", reward=0.0, turns=[turn(0, 0, "submit", 40)]))
    return {"tree_id": "d", "instance_id": "task-d", "nodes": nodes}


def test_grpo_samples_credit_a_failed_delegation_negatively():
    tv = assign_values([_delegating_tree(child_reward=0.0)])
    adv = {(s["node_id"], s["turn"]): s["advantage"] for s in grpo_samples(tv)}
    node_adv = tv.trees[0]["nodes"][1]["advantage"]
    assert node_adv > 0                                             # the node succeeded against its sibling
    assert adv[(1, 0)] == adv[(1, 3)] == pytest.approx(node_adv)    # its own turns keep the node's advantage
    # the delegate call and the child frame's turn: the failed frame's value (0) against the
    # sibling group (mean 0.5, std 0.707) → the same magnitude as the failing sibling, negative
    assert adv[(1, 1)] < 0 and adv[(1, 2)] < 0
    assert adv[(1, 1)] == pytest.approx(tv.trees[0]["nodes"][2]["advantage"])
    assert adv[(2, 0)] < 0
    # a successful delegation is credited like the node
    tv = assign_values([_delegating_tree(child_reward=1.0)])
    adv = {(s["node_id"], s["turn"]): s["advantage"] for s in grpo_samples(tv)}
    assert adv[(1, 1)] == pytest.approx(adv[(1, 0)]) and adv[(1, 2)] > 0
    # dr_grpo: plain difference to the group mean
    tv = assign_values([_delegating_tree(child_reward=0.0)], scale="dr_grpo")
    adv = {(s["node_id"], s["turn"]): s["advantage"] for s in grpo_samples(tv)}
    assert adv[(1, 0)] == pytest.approx(0.5) and adv[(1, 1)] == pytest.approx(-0.5)


def test_delegation_credit_in_a_tied_group_is_the_plain_difference():
    t = _delegating_tree(child_reward=0.0)
    t["nodes"][2]["reward"] = 1.0                                   # both generators score 1: no spread
    tv = assign_values([t])
    samples = grpo_samples(tv)
    # the node's own turns carry no signal (skipped); the failed delegation still does, bounded
    assert sorted((s["node_id"], s["turn"], s["advantage"]) for s in samples) == [(1, 1, -1.0), (1, 2, -1.0)]


def test_grpo_samples_retokenize_scripted_turns():
    from cargogym.harmony.render import ASSISTANT_TOKEN, RETURN, START, decode

    tools = [{"name": "submit", "description": "Submit.", "parameters": {"type": "object", "properties": {}}}]

    def node(nid, reward, answer):
        msgs = [{"role": "system", "content": "sys"}, {"role": "user", "content": "fix it"},
                {"role": "assistant", "channel": "commentary", "recipient": "functions.submit", "content": "{}"},
                {"role": "tool", "name": "functions.submit", "content": "submitted"},
                {"role": "assistant", "channel": "final", "content": answer}]
        return make_node(nid, 0, "generator", reward=reward, messages=msgs, prompt_len=2, tools=tools,
                         turns=[{"tool": "submit", "turn_id": 0, "frame_id": 0}, {"final": answer, "turn_id": 1,
                                                                                 "frame_id": 0}])

    tree = {"tree_id": "s", "instance_id": "task-s",
            "nodes": [make_node(0, -1, None, sample=False), node(1, 1.0, "fixed"), node(2, 0.0, "gave up")]}
    tv = assign_values([tree])
    assert grpo_samples(tv) == []                                   # no token ids: nothing without retokenize
    samples = grpo_samples(tv, retokenize=True)
    assert [(s["node_id"], s["turn"]) for s in samples] == [(1, 0), (1, 1), (2, 0), (2, 1)]
    for s in samples:
        assert s["prompt_ids"][-2:] == [START, ASSISTANT_TOKEN] and "old_logprobs" not in s
    first, last = samples[0], samples[1]
    assert "submitted" in decode(last["prompt_ids"]) and "submitted" not in decode(last["completion_ids"])
    assert decode(first["completion_ids"]) == " to=functions.submit<|channel|>commentary<|message|>{}<|call|>"
    assert decode(last["completion_ids"]) == "<|channel|>final<|message|>fixed<|return|>"
    assert last["completion_ids"][-1] == RETURN
    assert last["prompt_ids"][:len(first["prompt_ids"]) - 2] == first["prompt_ids"][:-2]
