"""The main job runs end to end (tiny settings): every stage ok, results where it says."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from cargogym.demo import LEARN_CURVE_LABEL, learn_curve_summary, pick_per_family


def test_review_tasks_are_balanced_by_label():
    """The shipped set lists buggy review tasks first; the demo still picks half clean ones."""
    from cargogym.rollouts.config import select_tasks

    tasks = select_tasks(None)
    reviews = [t for t in tasks if t.family == "review"]
    assert [t.review["label"] for t in reviews[:4]] == ["buggy"] * 4   # the old first-4 pick: no clean diff
    picked = pick_per_family(tasks, {"single_bug": 2, "review": 4})
    labels = [t.review["label"] for t in picked if t.family == "review"]
    assert sorted(labels) == ["buggy", "buggy", "clean", "clean"]
    assert [t.family for t in picked].count("single_bug") == 2
    assert [t.review["label"] for t in pick_per_family(tasks, {"review": 3}) if t.family == "review"].count("buggy") == 2
    only_buggy = [t for t in reviews if t.review["label"] == "buggy"][:3] + [t for t in reviews if t.review["label"] == "clean"][:1]
    topped = pick_per_family(only_buggy, {"review": 4})   # one clean task only: buggy tops up
    assert len(topped) == 4 and sum(t.review["label"] == "clean" for t in topped) == 1


def test_demo_takes_set_and_o_overrides(tmp_path):
    from typer.testing import CliRunner

    from cargogym.cli import app

    r = CliRunner().invoke(app, ["demo", "--out", str(tmp_path / "run"), "--set", "stages=[]", "-o", "workers=3"])
    assert r.exit_code == 0, r.output
    summary = json.loads((tmp_path / "run" / "demo_summary.json").read_text())
    assert summary["config"]["stages"] == [] and summary["config"]["workers"] == 3
    assert {s["summary"] for s in summary["stages"]} == {"not selected"}


def test_learn_curve_is_reported_under_its_own_label(tmp_path):
    assert learn_curve_summary(tmp_path / "learn") is None
    (tmp_path / "learn").mkdir()
    (tmp_path / "learn" / "curve.json").write_text(json.dumps(
        {"curve": [{"iteration": 0, "mean_reward": 0.25}, {"iteration": 1, "mean_reward": 0.75}]}))
    lc = learn_curve_summary(tmp_path / "learn")
    assert lc["source"] == "learn/curve.json" and lc["label"] == LEARN_CURVE_LABEL
    assert (lc["points"], lc["first_mean_reward"], lc["last_mean_reward"]) == (2, 0.25, 0.75)


@pytest.mark.slow
def test_demo_runs_every_stage(tmp_path):
    out = tmp_path / "run"
    overrides = [
        'per_family={"single_bug": 2, "multi_bug": 2, "review": 4}',
        "synthesize.crates=codec", "synthesize.per_crate=1", 'synthesize.families=["single_bug"]',
        "tiny.tasks=1", "tiny.max_steps=2", "tiny.max_new_tokens=16",
        "malt.tasks=1", "malt.branching=1", "data.tasks=2",
        "learn.n_tasks=2", "learn.time_budget_s=20",
    ]
    args = [sys.executable, "-m", "cargogym.cli", "demo", "--out", str(out)]
    for o in overrides:
        args += ["-o", o]
    res = subprocess.run(args, capture_output=True, text=True, timeout=1200)
    assert res.returncode == 0, (res.stdout + res.stderr)[-4000:]
    summary = json.loads((out / "demo_summary.json").read_text())
    assert [s["status"] for s in summary["stages"]] == ["ok"] * 6, summary["stages"]
    for rel in ("tasks.jsonl", "oracle/trajectories.jsonl", "noop/trajectories.jsonl",
                "tiny-gpt-oss/trajectories.jsonl", "malt/trees.jsonl", "oracle/eval/report.md"):
        assert (out / rel).exists(), rel
    assert list((out / "oracle" / "eval").glob("*.png")), "plots written"
    gates = {row["run"]: row["gates"] for row in summary["evaluation"]}
    assert gates["oracle"] == "PASS" and gates["noop"] == "FAIL"
    oracle = json.loads((out / "oracle" / "eval" / "summary.json").read_text())
    assert oracle["metrics"]["review_false_alarm_rate"]["measured"], "clean review tasks were picked"
    assert oracle["metrics"]["review_bug_catch_rate"]["n"] == 2
    # the learn stage's curve is not attached to the tiny-gpt-oss rollout run; it is labelled on its own
    assert not (out / "tiny-gpt-oss" / "learning_curve.json").exists()
    assert summary["learning_curve"]["source"].startswith("learn/")
