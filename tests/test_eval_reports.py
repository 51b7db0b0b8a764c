"""Run loading, promotion gates, reports, comparison and the eval/gates commands."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cargogym.cli import app
from cargogym.config import ConfigError
from cargogym.eval.gates import Gate, check_gate, load_stage, load_stages
from cargogym.eval.metrics import METRICS, MetricResult, evaluate
from cargogym.eval.runs import EvalInputError, load_run

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
SEED_GATES = {"cargo_check_pass_rate": 0.85, "cargo_test_pass_rate": 0.70, "delegation_accuracy": 0.70,
              "plan_completeness": 0.75, "role_adherence_rate": 0.80, "review_bug_catch_rate": 0.50,
              "multi_file_consistency": 0.80, "no_conflict_rate": 0.95}


def episode(i: int, family: str = "multi_bug", good: bool = True) -> dict:
    """A multi-role episode record in the contract's shape; ``good`` ones pass every seed gate."""
    files = ["src/a.rs", "src/b.rs"] if family == "multi_bug" else ["src/a.rs"]
    deleg = len(files) if family == "multi_bug" else 0
    frames = [{"frame_id": 0, "parent_id": None, "depth": 0, "role": "planner", "owned_files": None,
               "edited_files": [], "conflicts": 0, "steps": 1}]
    frames += [{"frame_id": k + 1, "parent_id": 0, "depth": 1, "role": "coder", "owned_files": [f],
                "edited_files": [f], "conflicts": 0 if good else 1, "steps": 3} for k, f in enumerate(files)]
    verdict = "REQUEST_CHANGES" if good else "APPROVE"
    return {
        "episode_id": f"ep{i}", "episode_key": f"{family}-{i % 4}#{i}", "instance_id": f"{family}-{i % 4}",
        "env": "MultiRoleRust-v0", "policy": "scripted", "seed": i,
        "task": {"family": family, "crate": "graphs" if i % 2 else "ledger", "files": files, "n_bugs": len(files),
                 "should_delegate": family == "multi_bug", "review_label": "buggy" if family == "review" else None,
                 "FAIL_TO_PASS": ["lib::a::f"], "PASS_TO_PASS": ["lib::a::p"]},
        "status": "ok", "error": None, "reward": 1.0 if good else 0.0,
        "grading": {"resolution": "FULL" if good else "NO", "resolved": good, "compile_ok": good,
                    "f2p_passed": int(good), "f2p_total": 1, "p2p_passed": int(good), "p2p_total": 1,
                    "clippy_available": True, "clippy_warnings": 0, "review_verdict": verdict if family == "review" else None},
        "steps": 5 + i % 3, "wall_time": 1.0 + i, "delegations": deleg, "conflicts": 0, "role_violations": 0,
        "plan": {"subtasks": [{"description": "fix", "files": [f], "role": "coder"} for f in files], "order": []},
        "review_verdict": verdict if family == "review" else None,
        "frames": frames,
        "turns": [{"turn_id": t, "frame_id": 0, "role": "coder", "violation": not good and t == 0} for t in range(3)],
        "router": {"planner": [[4, 0, 1, 0], [2, 2, 0, 1]], "coder": [[0, 3, 1, 4], [1, 0, 5, 2]]},
    }


def write_run(path: Path, episodes: list, extra_lines: list[str] = (), curve=None) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    lines = [json.dumps(e) for e in episodes] + list(extra_lines)
    (path / "trajectories.jsonl").write_text("\n".join(lines) + "\n")
    (path / "run.json").write_text(json.dumps({"policy": "scripted", "env": "MultiRoleRust-v0"}))
    if curve is not None:
        (path / "learning_curve.json").write_text(json.dumps(curve))
    return path


def good_run(path: Path, n: int = 12) -> Path:
    fams = ["multi_bug", "single_bug", "review"]
    return write_run(path, [episode(i, fams[i % 3]) for i in range(n)],
                     curve={"steps": [0, 10, 20], "mean_reward": [0.1, 0.4, 0.8]})


# -- run loading -----------------------------------------------------------------------------

def test_load_run_skips_corrupt_lines_and_replaces_duplicates(tmp_path):
    eps = [episode(0), episode(1), dict(episode(1), reward=0.25)]
    run = load_run(write_run(tmp_path / "r", eps, ['{"torn": ', "[1, 2]", "", "not json"],
                             curve=[{"step": 2, "mean_reward": 0.5}, {"step": 1, "mean_reward": 0.1}, {"step": "x"}]))
    assert len(run.episodes) == 2 and run.corrupt_lines == 3 and run.duplicates == 1
    assert run.episodes[1]["reward"] == 0.25
    assert run.learning_curve.steps == [1.0, 2.0] and run.learning_curve.mean_reward == [0.1, 0.5]
    assert run.meta["policy"] == "scripted"
    assert any("corrupt" in n for n in run.notes)
    assert len(load_run(tmp_path / "r" / "trajectories.jsonl").episodes) == 2   # the file itself


def test_load_run_bad_inputs(tmp_path):
    with pytest.raises(EvalInputError, match="does not exist"):
        load_run(tmp_path / "missing")
    (tmp_path / "nodata").mkdir()
    with pytest.raises(EvalInputError, match="trajectories.jsonl"):
        load_run(tmp_path / "nodata")
    write_run(tmp_path / "empty", [])
    with pytest.raises(EvalInputError, match="no episode records"):
        load_run(tmp_path / "empty")
    write_run(tmp_path / "garbage", [], ["{{{", "12"])
    with pytest.raises(EvalInputError, match="2 corrupt"):
        load_run(tmp_path / "garbage")
    run = load_run(write_run(tmp_path / "badcurve", [episode(0)], curve={"steps": [1, 2], "mean_reward": [1]}))
    assert run.learning_curve is None and any("learning_curve.json" in n for n in run.notes)


def test_learning_curve_found_in_training_output(tmp_path):
    """No learning_curve.json: the shallowest RUN_DIR/**/curve.json (what training writes) is used;
    learning_curve.json at the top wins when both exist."""
    run_dir = write_run(tmp_path / "r", [episode(0)])
    learn = {"curve": [{"iteration": 1, "mean_reward": 0.5, "loss": 0.1}, {"iteration": 0, "mean_reward": 0.25},
                       {"iteration": 2, "mean_reward": None}], "reached": False}
    (run_dir / "learn").mkdir()
    (run_dir / "learn" / "curve.json").write_text(json.dumps(learn))
    (run_dir / "learn" / "deeper").mkdir()
    (run_dir / "learn" / "deeper" / "curve.json").write_text(json.dumps({"curve": [{"iteration": 0, "mean_reward": 9}]}))
    run = load_run(run_dir)
    assert run.learning_curve.steps == [0.0, 1.0] and run.learning_curve.mean_reward == [0.25, 0.5]
    assert run.learning_curve.source == "learn/curve.json"
    assert any("2 curve.json files" in n for n in run.notes)
    r = CliRunner().invoke(app, ["eval", str(run_dir), "--set", "bootstrap_resamples=50"])
    assert r.exit_code == 0, r.output
    summary = json.loads((run_dir / "eval" / "summary.json").read_text())
    assert summary["learning_curve"]["source"] == "learn/curve.json" and summary["learning_curve"]["points"] == 2
    assert "learning_curve.png" in summary["plots"]
    assert "From `learn/curve.json`: 2 points" in (run_dir / "eval" / "report.md").read_text()

    (run_dir / "learning_curve.json").write_text(json.dumps({"steps": [0, 1, 2], "mean_reward": [0, 0, 1]}))
    run = load_run(run_dir)
    assert run.learning_curve.source == "learning_curve.json" and len(run.learning_curve.steps) == 3
    (run_dir / "learning_curve.json").unlink()
    (run_dir / "learn" / "curve.json").write_text('{"curve": 3}')
    run = load_run(run_dir)
    assert run.learning_curve is None and any("learn/curve.json unusable" in n for n in run.notes)


# -- gates -----------------------------------------------------------------------------------

def test_seed_stage_has_the_issue_thresholds():
    stage = load_stage("grpo_to_production_multiagent")
    assert {g.metric: g.threshold for g in stage.gates} == SEED_GATES
    assert all(g.direction == "min" and g.use == "value" for g in stage.gates)


def _result(value, n=10, ci=(0.0, 1.0)):
    return MetricResult("cargo_check_pass_rate", value, n if value is not None else 0, ci if value is not None else None)


def test_check_gate_rules():
    g = Gate("cargo_check_pass_rate", 0.85)
    assert check_gate(g, _result(0.85)).status == "pass"
    assert check_gate(g, _result(17 / 20)).passed
    assert check_gate(g, _result(0.84)).status == "fail"
    assert check_gate(g, _result(None)).status == "not measured"
    assert check_gate(g, None).status == "not measured"
    assert check_gate(Gate("cargo_check_pass_rate", 0.85, min_n=20), _result(0.9, n=19)).status == "not measured"
    assert check_gate(Gate("cargo_check_pass_rate", 0.85, use="ci_low"), _result(0.9, ci=(0.8, 0.95))).status == "fail"
    assert check_gate(Gate("review_false_alarm_rate", 0.2, direction="max"), _result(0.1)).passed
    assert not check_gate(Gate("review_false_alarm_rate", 0.2, direction="max"), _result(0.3)).passed


def test_gates_file_validation(tmp_path):
    f = tmp_path / "gates.yaml"
    f.write_text("stages:\n  s1:\n    gates:\n      cargo_check_pass_rate: 0.5\n"
                 "      review_false_alarm_rate: {max: 0.3, min_n: 5, use: ci_high}\n")
    g = load_stages(f)["s1"].gates
    assert g[1] == Gate("review_false_alarm_rate", 0.3, "max", 5, "ci_high")
    f.write_text("stages:\n  s1:\n    gates:\n      no_such_metric: 0.5\n")
    with pytest.raises(ConfigError, match="no_such_metric") as e:
        load_stages(f)
    assert str(f) in str(e.value)
    f.write_text("stages:\n  s1:\n    gates:\n      cargo_check_pass_rate: {min: 0.5, max: 0.9}\n")
    with pytest.raises(ConfigError, match="exactly one"):
        load_stages(f)
    f.write_text("stages:\n  s1:\n    gates:\n      cargo_check_pass_rate: high\n")
    with pytest.raises(ConfigError, match="expected a number"):
        load_stages(f)
    with pytest.raises(ConfigError, match="unknown stage 'nope'"):
        load_stage("nope")


def test_one_label_class_is_not_evidence_for_delegation_accuracy(tmp_path):
    """2 single_bug episodes score delegation_accuracy 1.0, but the seed gates need >= 2 episodes of
    each label, so the gate is not measured (fails); with both classes present it passes."""
    stage = load_stage("grpo_to_production_multiagent")
    gate = next(g for g in stage.gates if g.metric == "delegation_accuracy")
    assert gate.min_per_label == 2
    one_class = evaluate([episode(i, "single_bug") for i in range(2)], ["delegation_accuracy"], resamples=50)
    r = one_class["delegation_accuracy"]
    assert r.value == 1.0 and r.label_counts() == {"should_delegate": 0, "should_not_delegate": 2}
    res = check_gate(gate, r)
    assert res.status == "not measured" and "should_delegate n=0" in res.reason
    both = evaluate([episode(i, f) for i in range(2) for f in ("single_bug", "multi_bug")], ["delegation_accuracy"],
                    resamples=50)
    assert check_gate(gate, both["delegation_accuracy"]).status == "pass"
    three_one = [episode(i, "single_bug") for i in range(3)] + [episode(9, "multi_bug")]
    assert check_gate(gate, evaluate(three_one, ["delegation_accuracy"], resamples=50)["delegation_accuracy"]).status \
        == "not measured"


def test_review_gates_need_two_labelled_review_episodes(tmp_path):
    stage = load_stage("grpo_to_production_multiagent")
    gate = next(g for g in stage.gates if g.metric == "review_bug_catch_rate")
    assert gate.min_n == 2
    one = evaluate([episode(2, "review")], ["review_bug_catch_rate"], resamples=50)["review_bug_catch_rate"]
    assert one.value == 1.0 and check_gate(gate, one).status == "not measured"
    two = evaluate([episode(2, "review"), episode(5, "review")], ["review_bug_catch_rate"], resamples=50)
    assert check_gate(gate, two["review_bug_catch_rate"]).status == "pass"


def test_evidence_section_sets_floors_and_is_validated(tmp_path):
    f = tmp_path / "gates.yaml"
    f.write_text("evidence:\n  default: {min_n: 3}\n  delegation_accuracy: {min_per_label: 4}\n"
                 "stages:\n  s:\n    gates:\n      cargo_check_pass_rate: 0.5\n"
                 "      delegation_accuracy: {min: 0.5, min_per_label: 1, min_n: 10}\n")
    check, deleg = load_stages(f)["s"].gates
    assert (check.min_n, check.min_per_label) == (3, 0)
    assert (deleg.min_n, deleg.min_per_label) == (10, 4)        # the stricter of gate and floor
    assert "≥ 4 per label" in deleg.describe()
    for text, msg in (("evidence:\n  cargo_check_pass_rate: {min_per_label: 2}\n", "labelled metrics only"),
                      ("evidence:\n  default: {min_per_label: 2}\n", "unknown key"),
                      ("evidence:\n  nope: {min_n: 2}\n", "unknown metric"),
                      ("evidence:\n  default: {min_n: 0}\n", "min_n must be an integer >= 1"),
                      ("evidence: 3\n", "'evidence' must be a mapping")):
        f.write_text(text + "stages:\n  s:\n    gates:\n      cargo_check_pass_rate: 0.5\n")
        with pytest.raises(ConfigError, match=msg):
            load_stages(f)
    f.write_text("stages:\n  s:\n    gates:\n      mean_reward: {min: 0.5, min_per_label: 2}\n")
    with pytest.raises(ConfigError, match="labelled metrics only"):
        load_stages(f)


def test_gates_command_reports_one_class_run_as_not_measured(tmp_path):
    run = write_run(tmp_path / "one", [episode(i, "single_bug") for i in range(2)])
    r = CliRunner().invoke(app, ["gates", str(run), "--json"])
    assert r.exit_code == 1
    gates = {g["metric"]: g for g in json.loads(r.stdout)["gates"]}
    assert gates["delegation_accuracy"]["value"] == 1.0
    assert gates["delegation_accuracy"]["status"] == "not measured"
    assert "min_per_label=2" in gates["delegation_accuracy"]["reason"]


# -- commands --------------------------------------------------------------------------------

def test_gates_command_passes_and_fails(tmp_path):
    runner = CliRunner()
    good = good_run(tmp_path / "good")
    r = runner.invoke(app, ["gates", str(good), "--stage", "grpo_to_production_multiagent", "-c", "eval",
                            "--set", "bootstrap_resamples=100"])
    assert r.exit_code == 0, r.output
    assert "all gates passed" in r.output and "cargo_check_pass_rate" in r.output

    bad = write_run(tmp_path / "bad", [episode(i, ["multi_bug", "single_bug", "review"][i % 3], good=i % 4 == 0)
                                       for i in range(12)])
    r = runner.invoke(app, ["gates", str(bad), "--stage", "grpo_to_production_multiagent", "--json"])
    assert r.exit_code == 1
    data = json.loads(r.stdout)
    assert data["passed"] is False
    assert {g["metric"]: g["status"] for g in data["gates"]}["cargo_check_pass_rate"] == "fail"

    # single_bug only: no review/multi-file/conflict data -> not measured -> exit 1
    solo = write_run(tmp_path / "solo", [episode(i, "single_bug") for i in range(6)])
    r = runner.invoke(app, ["gates", str(solo), "--json"])
    assert r.exit_code == 1
    status = {g["metric"]: g["status"] for g in json.loads(r.stdout)["gates"]}
    assert status["review_bug_catch_rate"] == "not measured" and status["cargo_check_pass_rate"] == "pass"


def test_commands_report_bad_input_in_one_line(tmp_path):
    env = dict(os.environ)
    for args in (["gates", str(tmp_path / "missing")],
                 ["eval", str(write_run(tmp_path / "empty", []))],
                 ["gates", str(good_run(tmp_path / "g")), "--stage", "nope"]):
        p = subprocess.run([sys.executable, "-m", "cargogym.cli", *args], capture_output=True, text=True,
                           env=env, timeout=120)
        assert p.returncode == 2, (args, p.stdout, p.stderr)
        assert "Traceback" not in p.stderr + p.stdout
        lines = [ln for ln in p.stderr.splitlines() if ln.strip()]
        assert len(lines) == 1 and lines[0].startswith(f"cargogym {args[0]}:"), p.stderr


def test_eval_writes_report_summary_and_plots(tmp_path):
    run = good_run(tmp_path / "run")
    (run / "trajectories.jsonl").open("a").write('{"broken\n')
    r = CliRunner().invoke(app, ["eval", str(run), "--set", "bootstrap_resamples=200"])
    assert r.exit_code == 0, r.output
    out = run / "eval"
    summary = json.loads((out / "summary.json").read_text())
    expected = evaluate(load_run(run).episodes, resamples=200)
    for name in METRICS:
        assert summary["metrics"][name]["value"] == expected[name].value, name
        assert summary["metrics"][name]["n"] == expected[name].n, name
    assert summary["episodes"]["corrupt_lines"] == 1 and summary["episodes"]["total"] == 12
    assert summary["gates"]["grpo_to_production_multiagent"]["passed"] is True
    assert {r["group"] for r in summary["resolved_by_family"]} == {"multi_bug", "single_bug", "review"}
    assert summary["routing"]["roles"]["coder"]["load"][0] == [0.0, 0.375, 0.125, 0.5]
    for png in ("reward_distribution.png", "resolved_by_family.png", "resolved_by_crate.png",
                "learning_curve.png", "expert_load.png"):
        assert (out / png).read_bytes()[:8] == PNG_MAGIC, png
        assert png in summary["plots"]
    md = (out / "report.md").read_text()
    assert "## Promotion gates: grpo_to_production_multiagent — PASSED" in md
    assert "| cargo_check_pass_rate | 1.000 |" in md and "learning_curve.png" in md
    assert "1 corrupt line(s)" in md


def test_eval_of_unmeasurable_run_says_not_measured(tmp_path):
    run = write_run(tmp_path / "bare", [{"instance_id": "x", "status": "ok"}, {"instance_id": "y"}])
    out = tmp_path / "out"
    r = CliRunner().invoke(app, ["eval", str(run), "--out", str(out), "--no-plots"])
    assert r.exit_code == 0, r.output
    summary = json.loads((out / "summary.json").read_text())
    assert all(not m["measured"] for m in summary["metrics"].values())
    assert summary["gates"]["grpo_to_production_multiagent"]["passed"] is False
    assert "not measured" in (out / "report.md").read_text()
    assert not list(out.glob("*.png"))


def test_eval_compares_two_runs(tmp_path):
    a = good_run(tmp_path / "a")
    b = write_run(tmp_path / "b", [episode(i, ["multi_bug", "single_bug", "review"][i % 3], good=i % 2 == 0)
                                   for i in range(12)])
    out = tmp_path / "cmp"
    r = CliRunner().invoke(app, ["eval", str(a), str(b), "--out", str(out), "--set", "bootstrap_resamples=300"])
    assert r.exit_code == 0, r.output
    c = json.loads((out / "summary.json").read_text())
    rows = {row["metric"]: row for row in c["differences"]}
    check = rows["cargo_check_pass_rate"]
    assert check["a"] == 1.0 and check["b"] == 0.5 and check["diff"] == pytest.approx(0.5)
    assert check["diff_ci95"][0] > 0 and check["significant"] and check["better"] == "a"
    assert rows["routing_role_divergence"]["diff"] == pytest.approx(0.0)
    assert c["shared_instances"] == 12 and c["labels"] == ["a", "b"]
    assert c["matched_cost"]["steps"]["ratio_a_over_b"] == pytest.approx(1.0) and c["matched_cost"]["steps"]["n"] == 12
    assert (out / "compare_metrics.png").read_bytes()[:8] == PNG_MAGIC
    fam = {row["family"]: row for row in c["resolved_by_family"]}
    assert set(fam) == {"multi_bug", "single_bug", "review"}
    for row in fam.values():   # A resolves 4/4 per family, B 2/4: difference +0.5 with an interval
        assert (row["a"], row["b"], row["a_n"], row["b_n"]) == (1.0, 0.5, 4, 4)
        assert row["diff"] == pytest.approx(0.5)
        lo, hi = row["diff_ci95"]
        assert 0.0 <= lo <= 0.5 <= hi <= 1.0 and row["significant"] == (lo > 0)
    md = (out / "report.md").read_text()
    assert "| cargo_check_pass_rate | 1.000 (n=8) | 0.500 (n=8) | +0.500* |" in md
    assert "| family | a | b | A − B | 95% CI of A − B |" in md
    assert f"| multi_bug | 1.000 (n=4) | 0.500 (n=4) | +0.500{'*' if fam['multi_bug']['significant'] else ''} | " \
           f"[{fam['multi_bug']['diff_ci95'][0]:.3f}, {fam['multi_bug']['diff_ci95'][1]:.3f}] |" in md
    r = CliRunner().invoke(app, ["eval", str(a), str(b), str(a)])
    assert r.exit_code == 2


def test_family_difference_interval_is_significant_with_enough_episodes(tmp_path):
    from cargogym.eval.compare import family_differences
    from cargogym.eval.report import analyze
    from cargogym.eval.settings import EvalConfig

    cfg = EvalConfig(bootstrap_resamples=400, plots=False)
    good = analyze(load_run(write_run(tmp_path / "g", [episode(i, "single_bug") for i in range(40)])), cfg)
    bad = analyze(load_run(write_run(tmp_path / "b", [episode(i, "single_bug", good=i % 5 == 0) for i in range(40)])), cfg)
    (row,) = family_differences(good, bad)
    assert row["diff"] == pytest.approx(0.8) and row["significant"] and row["better"] == "a"
    assert 0.6 < row["diff_ci95"][0] < 0.8 < row["diff_ci95"][1] <= 1.0
    (same,) = family_differences(good, good)
    assert same["diff"] == 0.0 and not same["significant"]
