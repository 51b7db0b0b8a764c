"""Reward terms, YAML specs, TRL wrappers and `cargogym rescore`."""

from __future__ import annotations

import json

import pytest

from cargogym.config import ConfigError
from cargogym.rewards.spec import RewardSpec
from cargogym.rewards.terms import REWARD_TERMS

REPORT = {"instance_id": "x", "resolution": "PARTIAL", "resolved": False, "compile_ok": True,
          "f2p_passed": 1, "f2p_total": 4, "p2p_passed": 9, "p2p_total": 10, "tests": {},
          "clippy_available": True, "clippy_warnings": 0, "valid": True, "problems": []}
TRAJ = {"steps": 4, "delegations": 2, "role_violations": 1, "conflicts": 0, "frames": [],
        "turns": [{"role": "coder"}, {"role": "coder"}, {"role": "planner", "violation": True}, {"role": "reviewer"}]}


def test_registry_has_the_required_terms():
    required = {"resolved", "f2p_fraction", "p2p_kept", "compile_ok", "clippy_clean", "step_penalty",
                "delegation_cost", "role_adherence"}
    assert required <= set(REWARD_TERMS)
    t = {n: REWARD_TERMS[n](REPORT, TRAJ) for n in required}
    assert t == {"resolved": 0.0, "f2p_fraction": 0.25, "p2p_kept": 0.9, "compile_ok": 1.0, "clippy_clean": 1.0,
                 "step_penalty": -4.0, "delegation_cost": -2.0, "role_adherence": 0.75}
    invalid = dict(REPORT, valid=False, resolved=True)
    assert REWARD_TERMS["resolved"](invalid, None) == 0.0 and REWARD_TERMS["f2p_fraction"](invalid, None) == 0.0
    assert REWARD_TERMS["resolved"](None, None) == 0.0


@pytest.mark.parametrize("name", ["default", "resolved", "shaped"])
def test_shipped_specs_load_and_compute(name):
    s = RewardSpec.load(name)
    total, parts = s.compute(REPORT, TRAJ)
    assert set(parts) == set(s.terms) and isinstance(total, float)
    if s.clip:
        assert s.clip[0] <= total <= s.clip[1]
    full = dict(REPORT, resolved=True, resolution="FULL", f2p_passed=4, p2p_passed=10)
    assert s.compute(full, TRAJ)[0] > total


def test_weighted_sum_clip_roles_and_step():
    s = RewardSpec.from_dict({"terms": {"resolved": 1.0, "f2p_fraction": 2.0, "step_penalty": 0.5},
                              "clip": [-1.0, 0.2], "roles": {"planner": {"terms": {"role_adherence": 1.0}}},
                              "step": {"per_step": -0.01, "error": -0.1}})
    total, parts = s.compute(REPORT, TRAJ)
    assert parts == {"resolved": 0.0, "f2p_fraction": 0.5, "step_penalty": -2.0} and total == -1.0
    assert s.compute(REPORT, TRAJ, role="planner") == (0.0, {"role_adherence": 0.0})
    assert s.compute(REPORT, TRAJ, role="coder")[1]["step_penalty"] == -1.0  # coder's two turns
    assert s.step_reward({"error": "bad patch"}) == pytest.approx(-0.11) and s.step_reward({}) == -0.01
    assert RewardSpec.load("resolved").step_reward({"error": "x"}) == 0.0


def test_bad_specs_name_the_problem(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("terms: {resolvd: 1.0}\n")
    with pytest.raises(ConfigError, match="unknown reward term 'resolvd'.*bad.yaml|bad.yaml.*resolvd"):
        RewardSpec.load(str(bad))
    bad.write_text("terms: {resolved: 1.0}\nweights: 3\n")
    with pytest.raises(ConfigError, match="weights"):
        RewardSpec.load(str(bad))
    with pytest.raises(ConfigError, match="not found"):
        RewardSpec.load("no-such-spec")
    with pytest.raises(ConfigError, match="clip"):
        RewardSpec.from_dict({"terms": {"resolved": 1}, "clip": [1, 0]})


def test_trl_report_and_term_functions():
    from cargogym.rewards.trl import make_report_reward, term_reward_funcs

    fn = make_report_reward("shaped")
    reps = [REPORT, dict(REPORT, resolved=True, f2p_passed=4, p2p_passed=10), None]
    vals = fn(prompts=["p"] * 3, completions=["c"] * 3, grading=[json.dumps(r) if r else "" for r in reps])
    assert len(vals) == 3 and vals[1] > vals[0] > vals[2]
    funcs, weights = term_reward_funcs("shaped")
    assert [f.__name__ for f in funcs] == list(RewardSpec.load("shaped").terms)
    per_term = [f(prompts=["p"], completions=["c"], grading=[REPORT])[0] for f in funcs]
    spec_total = RewardSpec.load("shaped").compute(REPORT, None)[0]
    assert sum(w * v for w, v in zip(weights, per_term)) == pytest.approx(spec_total)


def test_extract_patch_from_completions():
    from cargogym.rewards.trl import extract_patch

    diff = "--- a/src/x.rs\n+++ b/src/x.rs\n@@ -1 +1 @@\n-a\n+b\n"
    call = ('<|channel|>commentary to=functions.apply_patch <|constrain|>json<|message|>'
            + json.dumps({"diff": diff}) + "<|call|>")
    assert extract_patch(call) == diff
    assert extract_patch(f"Here:\n```diff\n{diff}```\nthanks") == diff
    assert extract_patch("*** Begin Patch\n*** Delete File: a\n*** End Patch trailing").endswith("*** End Patch")
    assert extract_patch("no patch here") is None


@pytest.mark.skipif(__import__("shutil").which("cargo") is None, reason="cargo not on PATH")
def test_trl_cargo_reward_grades_completions(sb_minicrate_task):
    from cargogym.rewards.trl import make_cargo_reward

    reward = make_cargo_reward("resolved", tasks=[sb_minicrate_task], workers=2)
    try:
        good = f"I fixed it.\n```diff\n{sb_minicrate_task.patch}```"
        vals = reward(prompts=["fix"] * 3, completions=[good, "no idea", [{"role": "assistant", "content": good}]],
                      instance_id=[sb_minicrate_task.instance_id] * 3)
        assert vals == [1.0, 0.0, 1.0]
        assert reward.last_reports[0]["resolution"] == "FULL"
    finally:
        reward.close()


def _write_run(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    eps = []
    for i, rep in enumerate([REPORT, dict(REPORT, resolved=True, resolution="FULL", f2p_passed=4, p2p_passed=10), None]):
        eps.append({"episode_id": str(i), "instance_id": "x", "reward": 0.5 * i, "grading": rep,
                    "rewards_by_role": {"coder": 0.1}, **TRAJ})
    (run / "trajectories.jsonl").write_text("".join(json.dumps(e) + "\n" for e in eps))
    return run


def test_rescore_recomputes_from_stored_reports(tmp_path):
    from cargogym.rewards.rescore import rescore_run

    run = _write_run(tmp_path)
    out = tmp_path / "rescored.jsonl"
    res = rescore_run(run, "resolved", output=out)
    assert res.episodes == 3 and res.old_mean == pytest.approx(0.5) and res.new_mean == pytest.approx(1 / 3)
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["reward"] for r in rows] == [0.0, 1.0, 0.0] and rows[1]["rewards_by_role"] == {"coder": 1.0}


def test_rescore_cli(tmp_path, capsys, monkeypatch):
    from cargogym.cli import main

    monkeypatch.setenv("COLUMNS", "300")
    run = _write_run(tmp_path)
    spec = tmp_path / "mine.yaml"
    spec.write_text("terms: {f2p_fraction: 1.0}\n")
    with pytest.raises(SystemExit) as e:
        main(["rescore", str(run), "--reward", str(spec)])
    assert e.value.code == 0
    out = capsys.readouterr().out
    cells = lambda what: [c.strip() for c in next(  # noqa: E731
        ln for ln in out.splitlines() if ln.startswith(f"│ {what} ")).strip("│ ").split("│")]
    # old: rewards 0, 0.5, 1.0; new: f2p_fraction 0.25, 1.0 and 0 for the ungraded episode
    assert cells("reward") == ["reward", "0.5000", "0.4167"]
    assert cells("role coder") == ["role coder", "0.1000", "0.4167"]
    with pytest.raises(SystemExit) as e:
        main(["rescore", str(tmp_path / "nothing"), "--reward", "default"])
    assert e.value.code == 2 and "no such run folder" in capsys.readouterr().err
