"""Learning shown: env → Ray rollouts → MALT values → GRPO lifts a tiny GPT-OSS from chance to ≥ 0.9."""

from __future__ import annotations

import json
import shutil

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.skipif(shutil.which("cargo") is None, reason="cargo not on PATH")]


def test_tiny_gpt_oss_reward_rises_to_target(ray_session, training_minicrate_tasks, tmp_path):
    from cargogym.tasks.record import write_tasks
    from cargogym.training.learn import LearnConfig, learn

    tasks = tmp_path / "tasks.jsonl"
    write_tasks(tasks, training_minicrate_tasks)
    cfg = LearnConfig(tasks=str(tasks), n_tasks=4, k=4, group=8, iterations=40, workers=2,
                      time_budget_s=600, out=str(tmp_path / "learn"))
    result = learn(cfg)
    curve = result["curve"]
    assert all(p["infra_errors"] == 0 for p in curve)
    assert all(p["episodes"] == 32 for p in curve)
    # the rewards are the env's binary cargo grade: only the gold candidate can resolve a task, and
    # (up to a rare grading flake) every gold pick does
    assert all(p["mean_reward"] <= p["gold_pick_rate"] for p in curve)
    assert sum(p["gold_pick_rate"] - p["mean_reward"] for p in curve) * 32 <= 2
    assert curve[0]["mean_reward"] <= 0.5            # near chance (1/4) at the start
    assert result["reached"], [round(p["mean_reward"], 2) for p in curve]
    assert curve[-1]["mean_reward"] >= 0.9 and curve[-2]["mean_reward"] >= 0.9
    saved = json.loads((tmp_path / "learn" / "curve.json").read_text())
    assert saved["curve"] == json.loads(json.dumps(curve))
    assert (tmp_path / "learn" / "curve.png").stat().st_size > 1000
    # the curve cargogym eval reads (RUN_DIR/learning_curve.json)
    from cargogym.eval.runs import parse_learning_curve

    lc = parse_learning_curve(json.loads((tmp_path / "learn" / "learning_curve.json").read_text()))
    assert lc.steps == [float(p["iteration"]) for p in curve]
    assert lc.mean_reward == [p["mean_reward"] for p in curve]
