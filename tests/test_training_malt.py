"""MALT tree sampling as real env episodes on Ray actors, each child starting from its parent's state."""

from __future__ import annotations

import shutil

import pytest

from cargogym.training.malt import MaltConfig, MaltError, node_context, sample_trees
from cargogym.training.trees import assign_values, read_trees, write_trees

pytestmark = pytest.mark.skipif(shutil.which("cargo") is None, reason="cargo not on PATH")


def test_malt_tree_on_ray_branches_from_parent_state(ray_session, training_minicrate_tasks, tmp_path):
    task = training_minicrate_tasks[0]
    cfg = MaltConfig(branching=[2, 1, 2], workers=2, max_steps=4, seed=3, env_kwargs={"reward": "resolved"})
    levels = []
    trees = sample_trees([task], cfg, on_level=lambda lvl, n, s: levels.append((lvl, n)))
    assert levels == [(0, 2), (1, 2), (2, 4)]
    tree = trees[0]
    nodes = tree["nodes"]
    assert [n["role"] for n in nodes].count("refiner") == 4
    assert all(n["status"] == "ok" for n in nodes[1:]), [n.get("error") for n in nodes]
    by_id = {n["node_id"]: n for n in nodes}
    for n in nodes[1:]:
        parent = by_id[n["parent"]]
        assert n["grading"] is not None                                   # every node graded by cargo
        if n["role"] == "verifier":
            # a verifier cannot edit: it is graded on exactly its generator's saved state
            assert n["grading"]["resolution"] == parent["grading"]["resolution"]
            assert n["output"].startswith(("APPROVE", "REQUEST_CHANGES"))
            assert n["snapshot"] == parent["snapshot"]
            user = next(m["content"] for m in n["messages"] if m["role"] == "user")
            assert parent["output"].strip() in user or "(no change)" in user
        if n["role"] == "refiner":
            gen = by_id[parent["parent"]]
            user = next(m["content"] for m in n["messages"] if m["role"] == "user")
            assert parent["output"].strip() in user                       # the critique is in its prompt
            if gen["grading"]["resolved"]:
                # started from the fixed state: resolved without touching the code again
                assert n["grading"]["resolved"]
                assert not any(t["tool"] == "apply_patch" for t in n["turns"])
    assign_values(trees)
    leaves = [n for n in nodes if n["role"] == "refiner"]
    assert all(n["value"] == n["reward"] for n in leaves)
    for v in (n for n in nodes if n["role"] == "verifier"):
        kids = [n["value"] for n in leaves if n["parent"] == v["node_id"]]
        assert v["value"] == pytest.approx(sum(kids) / len(kids))
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
