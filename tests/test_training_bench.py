"""Smoke run of benchmarks/bench_training.py at tiny sizes: the result fields exist (no timing checks)."""

from __future__ import annotations

import json

from cargogym.benchmarks import bench_training, common


def test_bench_training_main_writes_its_fields(tmp_path, monkeypatch):
    monkeypatch.setattr(common, "RESULTS_DIR", tmp_path)      # never touch benchmarks/results/
    result = bench_training.main(["--trees", "20", "--repeats", "1", "--batch", "2", "--prompt", "8",
                                  "--completion", "4"])
    saved = json.loads((tmp_path / "training.json").read_text())
    assert saved["benchmark"] == "training" and saved["wall_s"] > 0
    assert saved["values"] == json.loads(json.dumps(result["values"]))
    whats = [r["what"] for r in saved["values"]]
    assert whats == ["mean: VI+pairs+adv+SFT", "softmax: VI+pairs+adv+SFT", "dicts→forest (I/O)"]
    for row in saved["values"]:
        assert row["trees"] == 20 and row["nodes"] == 20 * 40
        assert {"median_s", "min_s", "pairs", "sft_nodes", "goal_s", "ok"} <= set(row)
    assert saved["values"][0]["pairs"] > 0 and saved["values"][0]["sft_nodes"] > 0
    losses = {r["loss"] for r in saved["grpo"] if r["device"] == "cpu"}
    assert losses == {"dapo/token", "grpo/sequence"}
    for row in saved["grpo"]:
        assert (row["batch"], row["prompt_tokens"], row["completion_tokens"]) == (2, 8, 4)
        assert row["median_step_s"] > 0 and row["tokens_per_s"] > 0
    assert saved["rows"] == saved["values"] + saved["grpo"]
    skipped = bench_training.main(["--trees", "5", "--repeats", "1", "--skip-grpo"])
    assert skipped["grpo"] == [] and json.loads((tmp_path / "training.json").read_text())["grpo"] == []
