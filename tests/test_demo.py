"""The main job runs end to end (tiny settings): every stage ok, results where it says."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest


@pytest.mark.slow
def test_demo_runs_every_stage(tmp_path):
    out = tmp_path / "run"
    overrides = [
        'per_family={"single_bug": 1, "multi_bug": 1, "review": 1}',
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
