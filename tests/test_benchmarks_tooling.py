"""Benchmark tooling (not the benchmarks): the README table's formatting and goal verdicts, the
bench command's config and --set, and a smoke run of the teacher-data benchmark on one task."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from cargogym.benchmarks import readme_table
from cargogym.benchmarks.readme_table import MET, MISSED, NO_GOAL, Goal, Row, ratio, render
from cargogym.cli import app
from cargogym.config import ConfigError


def test_ratios_print_three_decimals_and_goal_is_judged_unrounded():
    assert ratio(1.6964) == "1.696" and ratio(1.70) == "1.700"
    goal = Goal(">=", 1.7, "≥ 1.7")
    assert Row("rollouts", "speed-up", ratio(1.6964), goal, 1.6964).status == MISSED
    assert Row("rollouts", "speed-up", ratio(1.7), goal, 1.7).status == MET
    assert Row("sandbox", "reset", "21.7 ms", Goal("<=", 0.05, "≤ 50 ms"), 0.0217).status == MET
    assert Row("sandbox", "reset", "51.0 ms", Goal("<=", 0.05, "≤ 50 ms"), 0.051).status == MISSED
    assert Row("env", "overhead", "+1 ms", "small vs cargo").status == NO_GOAL
    table = render([Row("rollouts", "speed-up 2 vs 1 workers", ratio(1.6964), goal, 1.6964)])
    assert table.splitlines()[0] == "| benchmark | measure | median | goal | goal met |"
    assert table.splitlines()[2] == "| rollouts | speed-up 2 vs 1 workers | 1.696 | ≥ 1.7 | missed |"


def test_table_rows_from_result_files(tmp_path, monkeypatch):
    (tmp_path / "rollouts.json").write_text(json.dumps({"rows": [
        {"metric": "speed-up 2 vs 1 workers (goal >= 1.7)", "value": 1.6964},
        {"metric": "oracle episodes/s, 1 worker", "value": 0.65688}]}))
    (tmp_path / "datagen.json").write_text(json.dumps({"goal_trajectories": 100, "grounded_multi_role_trajectories": 104,
                                                       "wall_s": 540.0, "episodes": 104, "workers": 2}))
    monkeypatch.setattr(readme_table, "RESULTS", tmp_path)
    rows = {r.measure: r for r in readme_table._rows()}
    speed = rows["speed-up 2 vs 1 workers (goal >= 1.7)"]
    assert (speed.shown, speed.status) == ("1.696", MISSED)
    assert rows["oracle episodes/s, 1 worker"].shown == "0.657"
    (data,) = [r for r in rows.values() if r.bench == "datagen"]
    assert data.shown == "104 in 9.0 min" and data.goal_text == "≥ 100" and data.status == MET


def test_bench_config_plans_runs_and_rejects_unknown_names(tmp_path):
    from cargogym.benchmarks.cli import available, load_bench_config

    assert "datagen" in available()        # bench_datagen.py is registered by its file name
    cfg = load_bench_config("bench", ["all=[tasks, datagen]", 'args={datagen: ["--workers", 1]}'])
    assert cfg.plan("all", ["--x"]) == [("tasks", ["--x"]), ("datagen", ["--workers", "1", "--x"])]
    assert [n for n, _ in load_bench_config().plan("all", [])] == available()
    with pytest.raises(ConfigError, match="unknown benchmark.*'nope'"):
        load_bench_config("bench", ["all=[nope]"])
    with pytest.raises(ConfigError, match="args.tasks must be a list"):
        load_bench_config("bench", ["args={tasks: 3}"])
    r = CliRunner().invoke(app, ["bench", "run", "--set", "all=[nope]", "all"])
    assert isinstance(r.exception, ConfigError)         # printed as one line by cargogym.cli.main
    r = CliRunner().invoke(app, ["bench", "run", "nope"])
    assert r.exit_code == 2 and "unknown benchmark 'nope'" in r.output


@pytest.mark.slow
def test_bench_datagen_smoke(tmp_path):
    """One multi_bug task, one grounded multi-role trajectory wanted: the real teacher in the real env."""
    from cargogym.benchmarks.bench_datagen import main

    out = tmp_path / "datagen.json"
    result = main(["--min-trajectories", "1", "--tasks-limit", "1", "--workers", "1", "--results", str(out)])
    saved = json.loads(out.read_text())
    assert saved["grounded_multi_role_trajectories"] == result["grounded_multi_role_trajectories"] == 1
    assert saved["met"] is True and saved["episodes"] == 1 and saved["wall_s"] > 0
    assert saved["per_variant"] == {"multi_role": 1} and saved["samples"] >= 3
    assert {r["metric"] for r in saved["rows"]} >= {"grounded multi-role trajectories", "wall time, s"}


def test_grounded_means_resolved_multi_role_with_env_observations():
    from cargogym.benchmarks.bench_datagen import is_grounded_multi_role

    ok = {"variant": "multi_role", "status": "ok", "grading": {"resolved": True},
          "turns": [{"observation": "3 passed", "error": None}]}
    assert is_grounded_multi_role(ok)
    assert not is_grounded_multi_role(dict(ok, variant="solo"))
    assert not is_grounded_multi_role(dict(ok, grading={"resolved": False}))
    assert not is_grounded_multi_role(dict(ok, turns=[{"observation": None, "error": None}]))
    assert not is_grounded_multi_role(dict(ok, turns=[{"observation": "x", "error": "bad path"}]))
    assert not is_grounded_multi_role(dict(ok, turns=[]))
