"""MALT tree sampling as real env episodes on Ray actors, each child starting from its parent's state."""

from __future__ import annotations

import shutil

import pytest

from cargogym.training.malt import MaltConfig, MaltError, check_policy_kwargs, node_context, sample_trees
from cargogym.training.trees import assign_values, read_trees, write_trees

pytestmark = pytest.mark.skipif(shutil.which("cargo") is None, reason="cargo not on PATH")


def test_malt_tree_on_ray_branches_from_parent_state(ray_session, training_minicrate_tasks, tmp_path):
    task = training_minicrate_tasks[0]
    # p_judge=1: a verifier's verdict is decided by the diff it finds in its workspace at start;
    # p_refine=1: a refiner under REQUEST_CHANGES applies the gold patch (which only applies to the
    # broken crate). Seed 6 makes generator 1 fix (p_fix=0.5) and its sibling generator 2 not.
    cfg = MaltConfig(branching=[2, 1, 2], workers=2, max_steps=4, seed=6, env_kwargs={"reward": "resolved"},
                     policy_kwargs={"p_fix": 0.5, "p_judge": 1.0, "p_refine": 1.0})
    levels = []
    trees = sample_trees([task], cfg, on_level=lambda lvl, n, s: levels.append((lvl, n)))
    assert levels == [(0, 2), (1, 2), (2, 4)]
    tree = trees[0]
    nodes = tree["nodes"]
    assert [n["role"] for n in nodes].count("refiner") == 4
    assert all(n["status"] == "ok" for n in nodes[1:]), [n.get("error") for n in nodes]
    by_id = {n["node_id"]: n for n in nodes}
    kids = lambda nid: [n for n in nodes if n["parent"] == nid]  # noqa: E731
    fixer, idle = by_id[1], by_id[2]
    # the precondition that makes this test meaningful: one generator changed the workspace, one did not
    assert fixer["snapshot"] and fixer["grading"]["resolved"] and fixer["output"].strip(), fixer["turns"]
    assert idle["snapshot"] == {} and not idle["grading"]["resolved"] and not idle["output"].strip()
    (v_fix,), (v_idle,) = kids(1), kids(2)
    # the verifier under the fixer starts from the fixer's state: it finds the fix, approves, cannot edit
    assert v_fix["output"].startswith("APPROVE"), v_fix["output"]
    assert v_fix["snapshot"] == fixer["snapshot"] and v_fix["grading"]["resolved"]
    assert fixer["output"].strip() in next(m["content"] for m in v_fix["messages"] if m["role"] == "user")
    for r in kids(v_fix["node_id"]):
        # already fixed at start: no patch applied, same files as the generator left, resolved
        assert not any(t["tool"] == "apply_patch" for t in r["turns"]), r["turns"]
        assert r["snapshot"] == fixer["snapshot"] and r["grading"]["resolved"]
        assert v_fix["output"].strip() in next(m["content"] for m in r["messages"] if m["role"] == "user")
    # the sibling generator's subtree never sees the fixer's state: broken crate, REQUEST_CHANGES ...
    assert v_idle["output"].startswith("REQUEST_CHANGES") and v_idle["snapshot"] == {}
    assert not v_idle["grading"]["resolved"]
    for r in kids(v_idle["node_id"]):
        # ... and the gold patch still applies there (it would not on the fixed crate)
        (patch_turn,) = [t for t in r["turns"] if t["tool"] == "apply_patch"]
        assert not patch_turn["error"], patch_turn
        assert r["snapshot"] == fixer["snapshot"] and r["grading"]["resolved"]
    for n in nodes[1:]:
        assert n["grading"] is not None                                   # every node graded by cargo
        if n["role"] == "verifier":
            assert n["grading"]["resolution"] == by_id[n["parent"]]["grading"]["resolution"]
    assign_values(trees)
    leaves = [n for n in nodes if n["role"] == "refiner"]
    assert all(n["value"] == n["reward"] for n in leaves)
    for v in (n for n in nodes if n["role"] == "verifier"):
        vals = [n["value"] for n in leaves if n["parent"] == v["node_id"]]
        assert v["value"] == pytest.approx(sum(vals) / len(vals))
    path = tmp_path / "trees.jsonl"
    write_trees(path, trees)
    assert read_trees(path)[0]["nodes"][3]["value"] == nodes[3]["value"]


def test_context_and_config_errors():
    ctx = node_context("refiner", [{"role": "generator", "output": "diff X"},
                                   {"role": "verifier", "output": "REQUEST_CHANGES: no"}], {})
    assert "diff X" in ctx and "REQUEST_CHANGES: no" in ctx and "final fix" in ctx
    with pytest.raises(MaltError, match="levels"):
        MaltConfig(branching=[2, 2]).level_branching()
    with pytest.raises(MaltError, match=">= 1"):
        MaltConfig(branching=0).level_branching()
    with pytest.raises(MaltError, match="p_fixx"):
        check_policy_kwargs("malt-scripted", {"p_fixx": 1.0})
    with pytest.raises(MaltError, match="probability"):
        check_policy_kwargs("malt-scripted", {"p_fix": 2})
    with pytest.raises(MaltError, match="only used by"):
        check_policy_kwargs("oracle", {"p_fix": 1.0})
