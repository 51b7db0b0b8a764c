"""``cargogym malt`` and ``cargogym train grpo|sft|dpo`` end to end (real cargo, real tiny GPT-OSS)."""

from __future__ import annotations

import json
import shutil

import pytest

from cargogym.cli import main
from cargogym.training.trees import make_node, read_trees, write_trees


def _run(argv: list[str]) -> int:
    try:
        main(argv)
    except SystemExit as e:
        return int(e.code or 0)
    return 0


def _hand_trees(path):
    def msgs(text):
        return [{"role": "system", "content": "You are a Rust engineer."}, {"role": "developer", "content": "Fix it."},
                {"role": "user", "content": "add is wrong"},
                {"role": "assistant", "content": text, "channel": "final"}]

    nodes = [make_node(0, -1, None, sample=False)]
    for g, r in enumerate([1.0, 0.0, 1.0]):
        nodes.append(make_node(len(nodes), 0, "generator", reward=r, messages=msgs(f"answer {g}"), prompt_len=3,
                               turns=[{"prompt_ids": [200006, 1428, 200008, 42 + g], "completion_ids": [100 + g, 200002],
                                       "logprobs": [-3.0, -4.0]}]))
    write_trees(path, [{"tree_id": "t0", "instance_id": "minicrate-add", "nodes": nodes}])


def test_train_sft_dpo_grpo_from_trees(tmp_path):
    trees = tmp_path / "trees.jsonl"
    _hand_trees(trees)
    assert _run(["train", "sft", "--trees", str(trees), "--out", str(tmp_path / "sft")]) == 0
    rows = [json.loads(x) for x in (tmp_path / "sft" / "sft_generator.jsonl").read_text().splitlines()]
    assert len(rows) == 2 and all(len(r["input_ids"]) == len(r["completion_mask"]) for r in rows)
    assert all(sum(r["completion_mask"]) > 0 for r in rows)
    assert _run(["train", "dpo", "--trees", str(trees), "--out", str(tmp_path / "dpo"), "-o", "dpo.roles=[generator]"]) == 0
    pairs = [json.loads(x) for x in (tmp_path / "dpo" / "dpo_generator.jsonl").read_text().splitlines()]
    assert len(pairs) == 2 and all("answer 1" in p["rejected"] and "answer 1" not in p["chosen"] for p in pairs)
    assert pairs[0]["prompt"].startswith("<|start|>system")
    out = tmp_path / "grpo"
    assert _run(["train", "grpo", "--trees", str(trees), "--policy", "tiny-gpt-oss", "--out", str(out),
                 "-o", "save=false", "-o", "batch_size=3"]) == 0
    metrics = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    assert len(metrics) == 1 and metrics[0]["samples"] == 3
    summary = json.loads((out / "summary.json").read_text())
    assert summary["samples"] == 3 and summary["policy"] == "tiny-gpt-oss"


def test_train_errors_are_one_line(tmp_path, capsys):
    assert _run(["train", "grpo", "--out", str(tmp_path / "x")]) == 2
    assert "--trees" in capsys.readouterr().err
    bad = tmp_path / "bad.jsonl"
    bad.write_text("{oops\n")
    assert _run(["train", "sft", "--trees", str(bad)]) == 2
    assert "bad.jsonl:1" in capsys.readouterr().err
    assert _run(["malt", "-o", "branching=[1,2]", "--limit", "1"]) == 2
    assert _run(["malt", "-o", "policy_kwargs.p_fix=2", "--limit", "1"]) == 2
    assert "p_fix" in capsys.readouterr().err


def test_train_learn_reads_its_yaml_config(tmp_path, capsys):
    """`train learn` loads configs/learn.yaml (or --config PATH), then -o overrides."""
    from dataclasses import asdict

    from cargogym.config import load_config
    from cargogym.training.learn import LearnConfig

    assert asdict(load_config(LearnConfig, "learn", [])) == asdict(LearnConfig())
    cfg = tmp_path / "learn.yaml"
    cfg.write_text("iterations: 0\n")
    assert _run(["train", "learn", "--config", str(cfg), "--out", str(tmp_path / "l")]) == 2
    assert "iterations and group must be >= 1 (got 0, 8)" in capsys.readouterr().err
    assert _run(["train", "learn", "-o", "group=0", "--out", str(tmp_path / "l")]) == 2
    assert "(got 40, 0)" in capsys.readouterr().err
    assert _run(["train", "learn", "--config", str(tmp_path / "missing.yaml")]) == 2


@pytest.mark.skipif(shutil.which("cargo") is None, reason="cargo not on PATH")
def test_malt_command_writes_valued_trees(training_minicrate_tasks, tmp_path):
    from cargogym.tasks.record import write_tasks

    tasks = tmp_path / "tasks.jsonl"
    write_tasks(tasks, training_minicrate_tasks[:1])
    out = tmp_path / "trees.jsonl"
    code = _run(["malt", "--tasks", str(tasks), "--branching", "2", "--workers", "0", "--out", str(out),
                 "-o", "roles=[generator,refiner]", "-o", "env_kwargs.reward=resolved", "-o", "max_steps=3"])
    assert code == 0
    (tree,) = read_trees(out)
    roles = [n["role"] for n in tree["nodes"]]
    assert roles.count("generator") == 2 and roles.count("refiner") == 4
    assert all(n["value"] is not None for n in tree["nodes"])
    assert all(n["grading"] is not None for n in tree["nodes"][1:])


def test_sft_and_dpo_run_with_trl(tmp_path):
    """--run trains the per-role sets with TRL's SFTTrainer / DPOTrainer (tiny GPT-OSS, CPU)."""
    trees = tmp_path / "trees.jsonl"
    _hand_trees(trees)
    assert _run(["train", "sft", "--trees", str(trees), "--out", str(tmp_path / "sft"), "--run"]) == 0
    sft = json.loads((tmp_path / "sft" / "sft_summary.json").read_text())
    assert sft["trained"]["generator"]["rows"] == 2 and sft["trained"]["generator"]["train_loss"] > 0
    assert (tmp_path / "sft" / "model_generator" / "config.json").is_file()
    assert _run(["train", "dpo", "--trees", str(trees), "--out", str(tmp_path / "dpo"), "--run",
                 "-o", "dpo.roles=[generator]"]) == 0
    dpo = json.loads((tmp_path / "dpo" / "dpo_summary.json").read_text())
    assert dpo["trained"]["generator"]["rows"] == 2
    assert abs(dpo["trained"]["generator"]["train_loss"] - 0.693) < 0.1   # ≈ log 2 at the start


@pytest.mark.skipif(shutil.which("cargo") is None, reason="cargo not on PATH")
def test_malt_then_train_grpo_on_scripted_trees(training_minicrate_tasks, tmp_path, capsys):
    """The README sequence: `cargogym malt` (default policy malt-scripted: no token ids) then
    `cargogym train grpo` re-tokenises the nodes' conversations and takes a GRPO step."""
    from cargogym.tasks.record import write_tasks

    tasks = tmp_path / "tasks.jsonl"
    write_tasks(tasks, training_minicrate_tasks[:1])
    trees = tmp_path / "trees.jsonl"
    # seed 6: one of the two generators fixes the bug, the other does not (values differ)
    assert _run(["malt", "--tasks", str(tasks), "--branching", "2", "--workers", "0", "--out", str(trees),
                 "-o", "seed=6", "-o", "env_kwargs.reward=resolved", "-o", "max_steps=3", "-o", "grade_cache=true"]) == 0
    (tree,) = read_trees(trees)
    assert tree["policy"] == "malt-scripted" and len(tree["nodes"]) == 1 + 2 + 4 + 8
    assert not any(t.get("completion_ids") for n in tree["nodes"] for t in n["turns"])
    out = tmp_path / "grpo"
    assert _run(["train", "grpo", "--trees", str(trees), "--policy", "tiny-gpt-oss", "--out", str(out),
                 "-o", "save=false", "-o", "batch_size=1000", "-o", "roles=[generator]"]) == 0
    metrics = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    summary = json.loads((out / "summary.json").read_text())
    assert len(metrics) == 1 and summary["steps"] == 1 and summary["samples"] == metrics[0]["samples"] > 0
    assert metrics[0]["model_tokens"] > 0 and metrics[0]["loss"] == metrics[0]["loss"]   # finite, not NaN
    curve = json.loads((out / "learning_curve.json").read_text())
    assert curve["steps"] == [0] and 0.0 <= curve["mean_reward"][0] <= 1.0
    # every leaf scoring the same: no signal, said in one line (no traceback)
    for n in tree["nodes"]:
        n["reward"] = 1.0
    write_trees(trees, [tree])
    capsys.readouterr()
    assert _run(["train", "grpo", "--trees", str(trees), "--out", str(tmp_path / "flat"), "-o", "save=false"]) == 2
    err = capsys.readouterr().err
    assert "advantage 0" in err and "same value" in err and "Traceback" not in err
    assert _run(["train", "grpo", "--trees", str(trees), "--out", str(tmp_path / "flat"), "-o", "retokenize=false",
                 "-o", "skip_zero_advantage=false"]) == 2
    assert "retokenize=true" in capsys.readouterr().err
